/* formatter.c - applies a reasoning-format rule to one prompt. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/buf.h"
#include "aieb/format.h"

/* Parameter path used when a parameter-type rule names none (vLLM, SGLang and
 * llama.cpp's server pass chat_template_kwargs to the model's chat template). */
#define DEFAULT_PARAMETER "chat_template_kwargs.enable_thinking"

/* Keys of the params object that the formatter consumes rather than copies. */
static const char *const consumed_keys[] = {"enable_thinking", "reasoning_effort",
                                            "thinking_budget", "system_prompt", "current_date"};

typedef struct opts {
    bool want;
    const char *effort; /* NULL unless given */
    const char *system; /* base system prompt or NULL */
    const char *date;   /* harmony "Current date:" or NULL */
} opts;

void aieb_formatted_free(aieb_formatted *f)
{
    if (!f)
        return;
    free(f->prompt);
    free(f->system_prompt);
    free(f->raw_prompt);
    free(f->note);
    json_decref(f->extra_params);
    memset(f, 0, sizeof *f);
}

static char *join3(const char *a, const char *b, const char *c)
{
    a = a ? a : "";
    b = b ? b : "";
    c = c ? c : "";
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb);
        memcpy(s + la + lb, c, lc + 1);
    }
    return s;
}

static int set_note(aieb_formatted *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int set_note(aieb_formatted *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return AIEB_ENOMEM;
    free(out->note);
    out->note = s;
    return 0;
}

static bool is_consumed(const char *key)
{
    for (size_t i = 0; i < sizeof consumed_keys / sizeof consumed_keys[0]; i++)
        if (strcmp(key, consumed_keys[i]) == 0)
            return true;
    return false;
}

/* Reads the caller's params into o and copies the free keys into extra. */
static int read_params(const json_t *params, bool enabled, opts *o, json_t *extra, aieb_err *err)
{
    memset(o, 0, sizeof *o);
    o->want = enabled;
    if (!params || json_is_null(params))
        return 0;
    if (!json_is_object(params))
        return aieb_errf(err, AIEB_EINVAL, "reasoning_params must be a mapping");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)params, key, v)
    {
        if (!is_consumed(key)) {
            if (json_object_set_new(extra, key, json_deep_copy(v)) != 0)
                return aieb_errf(err, AIEB_ENOMEM, "reasoning_params: out of memory");
        }
    }
    const json_t *t = json_object_get(params, "enable_thinking");
    if (t) {
        if (!json_is_boolean(t))
            return aieb_errf(err, AIEB_EINVAL,
                             "reasoning_params.enable_thinking must be "
                             "true or false");
        o->want = json_is_true(t);
    }
    t = json_object_get(params, "reasoning_effort");
    if (t) {
        const char *e = json_string_value(t);
        if (!e || (strcmp(e, "low") && strcmp(e, "medium") && strcmp(e, "high")))
            return aieb_errf(err, AIEB_EINVAL,
                             "reasoning_params.reasoning_effort must be low, medium or high");
        o->effort = e;
    }
    t = json_object_get(params, "thinking_budget");
    if (t) {
        if (!json_is_integer(t) || json_integer_value(t) < 0)
            return aieb_errf(err, AIEB_EINVAL,
                             "reasoning_params.thinking_budget must be a whole number >= 0");
        if (json_object_set_new(extra, "thinking_budget", json_integer(json_integer_value(t))))
            return aieb_errf(err, AIEB_ENOMEM, "reasoning_params: out of memory");
    }
    static const char *const texts[] = {"system_prompt", "current_date"};
    for (size_t i = 0; i < 2; i++) {
        t = json_object_get(params, texts[i]);
        if (t && !json_is_string(t))
            return aieb_errf(err, AIEB_EINVAL, "reasoning_params.%s must be text", texts[i]);
    }
    o->system = json_string_value(json_object_get(params, "system_prompt"));
    o->date = json_string_value(json_object_get(params, "current_date"));
    return 0;
}

/* Sets extra[path] = value, where path is dotted ("chat_template_kwargs.enable_thinking"),
 * creating or reusing objects along the way. Takes ownership of value. */
static int set_path(json_t *extra, const char *path, json_t *value, aieb_err *err)
{
    json_t *obj = extra;
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char key[128];
        if (n == 0 || n >= sizeof key) {
            json_decref(value);
            return aieb_errf(err, AIEB_EINVAL, "reasoning format: bad parameter path '%s'", path);
        }
        memcpy(key, p, n);
        key[n] = '\0';
        if (!dot)
            return json_object_set_new(obj, key, value)
                       ? aieb_errf(err, AIEB_ENOMEM, "reasoning format: out of memory")
                       : 0;
        json_t *next = json_object_get(obj, key);
        if (!next) {
            next = json_object();
            if (!next || json_object_set_new(obj, key, next)) {
                json_decref(value);
                return aieb_errf(err, AIEB_ENOMEM, "reasoning format: out of memory");
            }
        } else if (!json_is_object(next)) {
            json_decref(value);
            return aieb_errf(err, AIEB_EINVAL,
                             "reasoning_params.%s is not a mapping, but the reasoning format "
                             "sets %s inside it",
                             key, path);
        }
        obj = next;
        p = dot + 1;
    }
}

/* ==== Harmony ================================================================ */

/* The Harmony prompt as gpt-oss's chat template renders it (OpenAI's "harmony
 * response format" guide): a system message carrying identity, knowledge cutoff,
 * optional date, "Reasoning: <effort>" and the channel list; the caller's system
 * prompt as developer instructions; the user message; then the assistant header. */
static char *render_harmony(const char *prompt, const char *effort, const opts *o)
{
    aieb_buf b;
    aieb_buf_init(&b, 0);
    int rc = aieb_buf_puts(&b, "<|start|>system<|message|>"
                               "You are ChatGPT, a large language model trained by OpenAI.\n"
                               "Knowledge cutoff: 2024-06\n");
    if (!rc && o->date)
        rc = aieb_buf_printf(&b, "Current date: %s\n", o->date);
    if (!rc)
        rc = aieb_buf_printf(&b,
                             "\nReasoning: %s\n\n"
                             "# Valid channels: analysis, commentary, final. "
                             "Channel must be included for every message.<|end|>",
                             effort);
    if (!rc && o->system && *o->system)
        rc = aieb_buf_printf(&b, "<|start|>developer<|message|># Instructions\n\n%s<|end|>",
                             o->system);
    if (!rc)
        rc = aieb_buf_printf(&b, "<|start|>user<|message|>%s<|end|><|start|>assistant", prompt);
    if (rc) {
        aieb_buf_free(&b);
        return NULL;
    }
    return aieb_buf_steal(&b);
}

static int apply_harmony(const aieb_format_rule *rule, const char *prompt, const opts *o,
                         aieb_formatted *out)
{
    const char *effort = o->effort;
    if (!effort)
        effort = o->want ? (rule->reasoning_effort ? rule->reasoning_effort : "medium") : "low";
    if (!o->want && set_note(out, "%s cannot switch reasoning off; reasoning_effort %s sent",
                             rule->name, effort))
        return AIEB_ENOMEM;
    if (json_object_set_new(out->extra_params, "reasoning_effort", json_string(effort)))
        return AIEB_ENOMEM;
    out->raw_prompt = render_harmony(prompt, effort, o);
    out->prompt = strdup(prompt);
    if (o->system && !(out->system_prompt = strdup(o->system)))
        return AIEB_ENOMEM;
    return out->raw_prompt && out->prompt ? 0 : AIEB_ENOMEM;
}

/* ==== The other types ======================================================== */

/* The note when the wanted direction has no text to send. */
static int note_unreachable(const aieb_format_rule *rule, bool want, aieb_formatted *out)
{
    if (want == rule->default_enabled)
        return 0; /* the model already goes that way by itself */
    if (rule->type == AIEB_FORMAT_NONE)
        return set_note(out, "%s: no reasoning switch known; prompt sent unchanged", rule->name);
    return set_note(out, "%s cannot switch reasoning %s; prompt sent without a switch", rule->name,
                    want ? "on" : "off");
}

static int apply_system_prompt(const aieb_format_rule *rule, const char *prompt, const opts *o,
                               aieb_formatted *out)
{
    const char *flag = o->want ? rule->enable_flag : rule->disable_flag;
    if (!(out->prompt = strdup(prompt)))
        return AIEB_ENOMEM;
    if (flag && *flag) {
        bool base = o->system && *o->system;
        out->system_prompt = join3(base ? o->system : NULL, base ? "\n" : NULL, flag);
        return out->system_prompt ? 0 : AIEB_ENOMEM;
    }
    if (o->system && !(out->system_prompt = strdup(o->system)))
        return AIEB_ENOMEM;
    return note_unreachable(rule, o->want, out);
}

static int apply_prefix(const aieb_format_rule *rule, const char *prompt, const opts *o,
                        aieb_formatted *out)
{
    const char *pre, *suf = NULL;
    if (o->want) {
        pre = rule->prefix ? rule->prefix : rule->enable_flag;
        suf = rule->suffix;
    } else {
        pre = rule->disable_flag;
    }
    if (!(out->prompt = join3(pre, prompt, suf)))
        return AIEB_ENOMEM;
    if (o->system && !(out->system_prompt = strdup(o->system)))
        return AIEB_ENOMEM;
    bool sent = (pre && *pre) || (suf && *suf);
    return sent ? 0 : note_unreachable(rule, o->want, out);
}

static int apply_parameter(const aieb_format_rule *rule, const char *prompt, const opts *o,
                           aieb_formatted *out, aieb_err *err)
{
    const char *path = rule->parameter ? rule->parameter : DEFAULT_PARAMETER;
    int rc = set_path(out->extra_params, path, json_boolean(o->want), err);
    if (rc)
        return rc;
    const char *flag = o->want ? rule->enable_flag : rule->disable_flag;
    out->prompt = flag && *flag ? join3(prompt, " ", flag) : strdup(prompt);
    if (!out->prompt)
        return AIEB_ENOMEM;
    if (o->system && !(out->system_prompt = strdup(o->system)))
        return AIEB_ENOMEM;
    return 0;
}

static int apply_none(const aieb_format_rule *rule, const char *prompt, const opts *o,
                      aieb_formatted *out)
{
    if (!(out->prompt = strdup(prompt)))
        return AIEB_ENOMEM;
    if (o->system && !(out->system_prompt = strdup(o->system)))
        return AIEB_ENOMEM;
    return note_unreachable(rule, o->want, out);
}

int aieb_format_apply(const aieb_format_rule *rule, const char *prompt, bool enabled,
                      const json_t *params, aieb_formatted *out, aieb_err *err)
{
    memset(out, 0, sizeof *out);
    if (!prompt)
        prompt = "";
    if (!(out->extra_params = json_object()))
        return aieb_errf(err, AIEB_ENOMEM, "reasoning format: out of memory");
    opts o;
    int rc = read_params(params, enabled, &o, out->extra_params, err);
    if (rc) {
        aieb_formatted_free(out);
        return rc;
    }
    switch (rule->type) {
    case AIEB_FORMAT_HARMONY:
        rc = apply_harmony(rule, prompt, &o, out);
        break;
    case AIEB_FORMAT_SYSTEM_PROMPT:
        rc = apply_system_prompt(rule, prompt, &o, out);
        break;
    case AIEB_FORMAT_PREFIX:
        rc = apply_prefix(rule, prompt, &o, out);
        break;
    case AIEB_FORMAT_PARAMETER:
        rc = apply_parameter(rule, prompt, &o, out, err);
        break;
    default:
        rc = apply_none(rule, prompt, &o, out);
        break;
    }
    if (rc) {
        if (rc == AIEB_ENOMEM)
            aieb_errf(err, rc, "reasoning format %s: out of memory", rule->name);
        aieb_formatted_free(out);
    }
    return rc;
}

int aieb_format_prompt(const aieb_format_registry *reg, const char *model, const char *prompt,
                       bool enabled, const json_t *params, aieb_formatted *out, aieb_err *err)
{
    aieb_format_rule rule;
    aieb_format_lookup(reg, model, &rule);
    return aieb_format_apply(&rule, prompt, enabled, params, out, err);
}
