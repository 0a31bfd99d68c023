/* validate.c - ranges, choices and cross-field rules on the final values.
 *
 * Runs once after every layer is applied, and places each problem where the
 * offending value came from (file:line:col, env VAR or --set).
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/internal.h"

void cfg_diag_at_key(const aieb_config *cfg, aieb_diags *d, aieb_diag_severity sev, int ki,
                     const char *fmt, ...)
{
    const cfg_src *s = &cfg->meta->src[ki];
    char label[160];
    const char *file = NULL;
    int line = 0, col = 0;
    switch (s->kind) {
    case CFG_SRC_FILE:
        file = s->label, line = s->line, col = s->col;
        break;
    case CFG_SRC_ENV:
        snprintf(label, sizeof label, "env %s", s->label);
        file = label;
        break;
    case CFG_SRC_SET:
        file = "--set";
        break;
    case CFG_SRC_DEFAULT:
        file = "default";
        break;
    }
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    aieb_diags_add(d, sev, file, line, col, cfg_keys[ki].path, "%s", msg);
}

int aieb_config_diag_at(const aieb_config *cfg, aieb_diags *d, aieb_diag_severity sev,
                        const char *key, const char *fmt, ...)
{
    int ki = cfg_key_index(key);
    if (ki < 0)
        return AIEB_ENOTFOUND;
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cfg_diag_at_key(cfg, d, sev, ki, "%s", msg);
    return 0;
}

static void fmt_num(double v, char *buf, size_t n)
{
    if (isinf(v))
        snprintf(buf, n, "%s", v > 0 ? ".inf" : "-.inf");
    else
        snprintf(buf, n, "%.15g", v);
}

static int in_range(const cfg_key *k, double v)
{
    if (!isnan(k->min) && (v < k->min || ((k->flags & CFG_MIN_EXCL) && v == k->min)))
        return 0;
    if (!isnan(k->max) && v > k->max && !(isinf(v) && v > 0 && (k->flags & CFG_INF_OK)))
        return 0;
    return 1;
}

static void range_diag(const aieb_config *cfg, aieb_diags *d, int ki, const char *got)
{
    aieb_buf exp;
    aieb_buf_init(&exp, 512);
    cfg_describe_expected(&cfg_keys[ki], &exp);
    cfg_diag_at_key(cfg, d, AIEB_DIAG_ERROR, ki, "out of range (expected %s, got %s)",
                    exp.data ? exp.data : "?", got);
    aieb_buf_free(&exp);
}

/* "20GB", "512 MiB", "1.5GB", or a plain number of bytes, as accelerate takes. */
static int is_size(const char *s)
{
    static const char *const units[] = {"",    "B",   "KB",  "MB",  "GB", "TB",
                                        "KiB", "MiB", "GiB", "TiB", NULL};
    const char *p = s;
    int digits = 0;
    while (isdigit((unsigned char)*p))
        p++, digits++;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p))
            p++, digits++;
    }
    if (!digits)
        return 0;
    while (*p == ' ')
        p++;
    for (int i = 0; units[i]; i++)
        if (strcasecmp(p, units[i]) == 0)
            return 1;
    return 0;
}

static void check_key(const aieb_config *cfg, aieb_diags *d, int ki)
{
    const cfg_key *k = &cfg_keys[ki];
    char got[96], why[600];
    switch (k->type) {
    case CFG_T_STR:
    case CFG_T_ENUM: {
        const char *s = *CFG_CFIELD(cfg, k, char *);
        if ((k->flags & CFG_NONEMPTY) && s && !*s) {
            cfg_diag_at_key(cfg, d, AIEB_DIAG_ERROR, ki,
                            "empty (expected a non-empty string, got \"\")");
            return;
        }
        break;
    }
    case CFG_T_INT:
    case CFG_T_I64: {
        long long v =
            k->type == CFG_T_INT ? *CFG_CFIELD(cfg, k, int) : *CFG_CFIELD(cfg, k, long long);
        if ((k->flags & CFG_NULLABLE) && v == k->null_int)
            return;
        if (!in_range(k, (double)v)) {
            snprintf(got, sizeof got, "%lld", v);
            range_diag(cfg, d, ki, got);
            return;
        }
        break;
    }
    case CFG_T_DBL: {
        double v = cfg_get_dbl(cfg, k);
        if (isnan(v))
            return;
        if (!in_range(k, v)) {
            fmt_num(v, got, sizeof got);
            range_diag(cfg, d, ki, got);
            return;
        }
        break;
    }
    case CFG_T_INT_LIST: {
        const aieb_int_list *l = CFG_CFIELD(cfg, k, aieb_int_list);
        for (size_t i = 0; i < l->n; i++) {
            if (!in_range(k, l->items[i])) {
                snprintf(got, sizeof got, "%d", l->items[i]);
                range_diag(cfg, d, ki, got);
                return;
            }
            for (size_t j = 0; j < i; j++)
                if (l->items[j] == l->items[i]) {
                    cfg_diag_at_key(cfg, d, AIEB_DIAG_ERROR, ki,
                                    "%d is listed twice (expected each device once)", l->items[i]);
                    return;
                }
        }
        break;
    }
    case CFG_T_KV: {
        const aieb_kv_list *l = CFG_CFIELD(cfg, k, aieb_kv_list);
        for (size_t i = 0; i < l->n; i++)
            if (!is_size(l->items[i].value))
                cfg_diag_at_key(cfg, d, AIEB_DIAG_ERROR, ki,
                                "%s: not a memory size (expected e.g. 20GB or 512MiB, got "
                                "\"%.60s\")",
                                l->items[i].key, l->items[i].value);
        break;
    }
    default:
        break;
    }
    if (k->check && k->check(k, CFG_CFIELD(cfg, k, void), why, sizeof why))
        cfg_diag_at_key(cfg, d, AIEB_DIAG_ERROR, ki, "%s", why);
}

static int key(const char *path)
{
    return cfg_key_index(path);
}

static void check_reasoning_params(const aieb_config *cfg, aieb_diags *d)
{
    int ki = key("scenario.reasoning_params");
    const json_t *rp = cfg->scenario.reasoning_params;
    if (!rp || json_object_size(rp) == 0)
        return;
    if (!cfg->scenario.reasoning)
        cfg_diag_at_key(cfg, d, AIEB_DIAG_WARNING, ki,
                        "ignored while scenario.reasoning is false; set scenario.reasoning: "
                        "true to apply them");
    const json_t *v = json_object_get(rp, "reasoning_effort");
    if (v && !json_is_null(v)) {
        static const char *const efforts[] = {"minimal", "low", "medium", "high", NULL};
        const char *s = json_string_value(v);
        int known = 0;
        for (int i = 0; s && efforts[i]; i++)
            known |= strcmp(s, efforts[i]) == 0;
        if (!s)
            cfg_diag_at_key(cfg, d, AIEB_DIAG_ERROR, ki,
                            "reasoning_effort: wrong type (expected low, medium or high)");
        else if (!known)
            cfg_diag_at_key(cfg, d, AIEB_DIAG_WARNING, ki,
                            "reasoning_effort: unusual value \"%.40s\" (expected low, medium or "
                            "high); sent as given",
                            s);
    }
    v = json_object_get(rp, "enable_thinking");
    if (v && !json_is_null(v) && !json_is_boolean(v))
        cfg_diag_at_key(cfg, d, AIEB_DIAG_ERROR, ki,
                        "enable_thinking: wrong type (expected true or false)");
    v = json_object_get(rp, "thinking_budget");
    if (v && !json_is_null(v) && !(json_is_integer(v) && json_integer_value(v) >= 0))
        cfg_diag_at_key(cfg, d, AIEB_DIAG_ERROR, ki,
                        "thinking_budget: out of range (expected an integer >= 0, a number of "
                        "tokens)");
}

void aieb_config_dir_name(const aieb_config *cfg, char *buf, size_t size)
{
    const char *s = cfg->name && *cfg->name ? cfg->name : "benchmark";
    size_t max = size - 1 < 255 ? size - 1 : 255;
    size_t n = strlen(s);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--; /* do not cut a UTF-8 character in two */
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = (c < 0x20 || c == 0x7F || c == '/' || c == '\\' || (i == 0 && c == '.')) ? '_'
                                                                                          : (char)c;
    }
    buf[n] = '\0';
}

/* The energy_star method (docs/ratings.md) is defined for one request at a
 * time, batch size 1, greedy decoding and at least 2 new tokens (decode is
 * generate minus prefill, over N - 1 tokens). */
static void check_energy_star(const aieb_config *cfg, aieb_diags *d)
{
    if (cfg->scenario.max_concurrency > 1)
        cfg_diag_at_key(cfg, d, AIEB_DIAG_ERROR, key("scenario.max_concurrency"),
                        "scenario.method energy_star sends one request at a time (expected 1, "
                        "got %d); use method standard to measure concurrent serving",
                        cfg->scenario.max_concurrency);
    if (cfg->scenario.input_shapes.batch_size > 1)
        cfg_diag_at_key(cfg, d, AIEB_DIAG_ERROR, key("scenario.input_shapes.batch_size"),
                        "scenario.method energy_star runs batch size 1 (expected 1, got %d)",
                        cfg->scenario.input_shapes.batch_size);
    if (isfinite(cfg->scenario.request_rate))
        cfg_diag_at_key(cfg, d, AIEB_DIAG_ERROR, key("scenario.request_rate"),
                        "scenario.method energy_star sends each request when the previous one "
                        "is done (expected .inf, got %g)",
                        cfg->scenario.request_rate);
    if (cfg->scenario.generate_kwargs.do_sample == 1)
        cfg_diag_at_key(cfg, d, AIEB_DIAG_ERROR, key("scenario.generate_kwargs.do_sample"),
                        "scenario.method energy_star decodes greedily (expected false, got true)");
    if (cfg->scenario.generate_kwargs.max_new_tokens < 2)
        cfg_diag_at_key(cfg, d, AIEB_DIAG_ERROR, key("scenario.generate_kwargs.max_new_tokens"),
                        "scenario.method energy_star needs at least 2 new tokens: decode energy "
                        "is the generate pass minus the 1-token prefill pass (got %d)",
                        cfg->scenario.generate_kwargs.max_new_tokens);
}

void cfg_validate(const aieb_config *cfg, const char *file, aieb_diags *d)
{
    for (size_t i = 0; i < cfg_n_keys; i++)
        if (cfg_keys[i].type != CFG_T_SECTION)
            check_key(cfg, d, (int)i);

    int min_new = cfg->scenario.generate_kwargs.min_new_tokens;
    int max_new = cfg->scenario.generate_kwargs.max_new_tokens;
    if (min_new > max_new) {
        int a = key("scenario.generate_kwargs.min_new_tokens");
        int b = key("scenario.generate_kwargs.max_new_tokens");
        /* blame whichever was set last: the later layer, or the later line */
        const cfg_src *sa = &cfg->meta->src[a], *sb = &cfg->meta->src[b];
        int blame_b = sb->kind > sa->kind || (sb->kind == sa->kind && sb->line > sa->line);
        if (blame_b)
            cfg_diag_at_key(cfg, d, AIEB_DIAG_ERROR, b,
                            "smaller than min_new_tokens (expected >= %d, got %d)", min_new,
                            max_new);
        else
            cfg_diag_at_key(cfg, d, AIEB_DIAG_ERROR, a,
                            "larger than max_new_tokens (expected <= %d, got %d)", max_new,
                            min_new);
    }
    if (cfg->backend.load_in_8bit && cfg->backend.load_in_4bit)
        cfg_diag_at_key(cfg, d, AIEB_DIAG_ERROR, key("backend.load_in_4bit"),
                        "load_in_8bit and load_in_4bit are both true; choose one");
    if ((cfg->backend.kind == AIEB_CFG_BACKEND_VLLM ||
         cfg->backend.kind == AIEB_CFG_BACKEND_OPENAI) &&
        !cfg->backend.endpoint)
        cfg_diag_at_key(cfg, d, AIEB_DIAG_ERROR, key("backend.endpoint"),
                        "required for backend.type %s (expected an http(s) URL such as "
                        "http://localhost:8000/v1, got null)",
                        cfg->backend.type);
    if (cfg->scenario.energy_star)
        check_energy_star(cfg, d);
    check_reasoning_params(cfg, d);
    char dir[256];
    aieb_config_dir_name(cfg, dir, sizeof dir);
    if (cfg->name && strcmp(dir, cfg->name) != 0)
        cfg_diag_at_key(cfg, d, AIEB_DIAG_WARNING, key("name"),
                        "not usable as is for the run directory; it will be named \"%s\"", dir);
    (void)file;
}
