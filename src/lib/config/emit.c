/* emit.c - the resolved configuration as YAML (`aieb config show`).
 *
 * Every key is written, in schema order, so the output doubles as a complete
 * reference of what a run will use. It loads back to the same configuration:
 * strings that YAML would read as something else are quoted, "${" is written
 * as "$${" so it is not interpolated again, and reals keep a decimal point. The one
 * exception: a password in a URL (http://user:pass@host) is written as "***".
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aieb/log.h"
#include "config/internal.h"

/* ==== Scalars ==== */

static int plain_ok(const char *s)
{
    static const char *const words[] = {"y",    "n",     "yes",  "no",   "on",   "off",
                                        "true", "false", ".inf", ".nan", "null", NULL};
    if (!*s || !(isalnum((unsigned char)s[0]) || s[0] == '_' || s[0] == '.' || s[0] == '/'))
        return 0;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr("_./-+:?=@%", *p)))
            return 0;
    if (s[strlen(s) - 1] == ':')
        return 0;
    if (isdigit((unsigned char)s[0]) || (s[0] == '.' && isdigit((unsigned char)s[1])))
        return 0; /* could read as a number */
    for (int i = 0; words[i]; i++)
        if (strcasecmp(s, words[i]) == 0)
            return 0;
    return 1;
}

/* Decodes one UTF-8 sequence (input is known valid); returns its length. */
static size_t utf8_next(const unsigned char *p, unsigned *cp)
{
    if (p[0] < 0x80)
        return *cp = p[0], 1;
    if ((p[0] & 0xE0) == 0xC0)
        return *cp = ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu), 2;
    if ((p[0] & 0xF0) == 0xE0)
        return *cp = ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu), 3;
    *cp = ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
    return 4;
}

/* Double-quoted scalar. Values are interpolated when loaded, so in them "${"
 * becomes "$${"; keys are not (is_key). */
static int put_quoted(aieb_buf *out, const char *s, int is_key)
{
    int rc = aieb_buf_puts(out, "\"");
    const unsigned char *p = (const unsigned char *)s;
    while (!rc && *p) {
        unsigned cp;
        size_t n = utf8_next(p, &cp);
        if (cp == '"')
            rc = aieb_buf_puts(out, "\\\"");
        else if (cp == '\\')
            rc = aieb_buf_puts(out, "\\\\");
        else if (cp == '\n')
            rc = aieb_buf_puts(out, "\\n");
        else if (cp == '\t')
            rc = aieb_buf_puts(out, "\\t");
        else if (cp == '\r')
            rc = aieb_buf_puts(out, "\\r");
        else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
            rc = aieb_buf_printf(out, "\\x%02x", cp);
        else if (cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF)
            rc = aieb_buf_printf(out, "\\u%04x", cp);
        else if (cp == '$' && p[1] == '{' && !is_key)
            rc = aieb_buf_puts(out, "$$"); /* "${" -> "$${": not a variable */
        else
            rc = aieb_buf_append(out, p, n);
        p += n;
    }
    return rc ? rc : aieb_buf_puts(out, "\"");
}

/* A string value as a YAML scalar; flow contexts always quote. */
static int put_string(aieb_buf *out, const char *s, int flow)
{
    if (!s)
        return aieb_buf_puts(out, "null");
    if (aieb_url_has_userinfo(s)) { /* a URL's password is not shown (docs/configuration.md) */
        size_t cap = strlen(s) + 4;
        char *shown = malloc(cap);
        if (!shown)
            return AIEB_ENOMEM;
        aieb_url_redact(s, shown, cap);
        int rc = put_quoted(out, shown, 0);
        free(shown);
        return rc;
    }
    if (!flow && plain_ok(s))
        return aieb_buf_puts(out, s);
    return put_quoted(out, s, 0);
}

/* A mapping key (block context). */
static int put_key(aieb_buf *out, const char *s)
{
    return plain_ok(s) ? aieb_buf_puts(out, s) : put_quoted(out, s, 1);
}

/* Shortest text that reads back as the same double; reals keep a '.' or 'e'. */
static int put_double(aieb_buf *out, double v, int force_real)
{
    if (isnan(v))
        return aieb_buf_puts(out, "null");
    if (isinf(v))
        return aieb_buf_puts(out, v > 0 ? ".inf" : "-.inf");
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    int rc = aieb_buf_puts(out, tmp);
    if (!rc && force_real && !strpbrk(tmp, ".e"))
        rc = aieb_buf_puts(out, ".0");
    return rc;
}

/* ==== JSON (free-form maps) ==== */

static int put_json_flow(aieb_buf *out, const json_t *j);

static int put_json_scalar(aieb_buf *out, const json_t *j, int flow)
{
    switch (json_typeof(j)) {
    case JSON_STRING:
        return put_string(out, json_string_value(j), flow);
    case JSON_INTEGER:
        return aieb_buf_printf(out, "%lld", (long long)json_integer_value(j));
    case JSON_REAL:
        return put_double(out, json_real_value(j), 1);
    case JSON_TRUE:
        return aieb_buf_puts(out, "true");
    case JSON_FALSE:
        return aieb_buf_puts(out, "false");
    case JSON_NULL:
        return aieb_buf_puts(out, "null");
    default:
        return put_json_flow(out, j);
    }
}

static int put_json_flow(aieb_buf *out, const json_t *j)
{
    int rc = 0;
    if (json_is_array(j)) {
        rc = aieb_buf_puts(out, "[");
        for (size_t i = 0; !rc && i < json_array_size(j); i++) {
            if (i)
                rc = aieb_buf_puts(out, ", ");
            if (!rc)
                rc = put_json_scalar(out, json_array_get(j, i), 1);
        }
        return rc ? rc : aieb_buf_puts(out, "]");
    }
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        int first = 1;
        rc = aieb_buf_puts(out, "{");
        json_object_foreach((json_t *)j, k, v)
        {
            if (!rc && !first)
                rc = aieb_buf_puts(out, ", ");
            first = 0;
            if (!rc)
                rc = put_quoted(out, k, 1);
            if (!rc)
                rc = aieb_buf_puts(out, ": ");
            if (!rc)
                rc = put_json_scalar(out, v, 1);
        }
        return rc ? rc : aieb_buf_puts(out, "}");
    }
    return put_json_scalar(out, j, 1);
}

static int put_comment(aieb_buf *out, const char *src)
{
    if (!src)
        return 0;
    int rc = aieb_buf_puts(out, "  # ");
    for (const char *p = src; !rc && *p; p++)
        rc = aieb_buf_append(out, (unsigned char)*p < 0x20 ? "?" : p, 1);
    return rc;
}

/* Writes a non-empty object as block mapping lines at indent. */
static int put_json_block(aieb_buf *out, const json_t *o, int indent)
{
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach((json_t *)o, k, v)
    {
        if (!rc)
            rc = aieb_buf_printf(out, "%*s", indent, "");
        if (!rc)
            rc = put_key(out, k);
        if (!rc && json_is_object(v) && json_object_size(v) > 0) {
            rc = aieb_buf_puts(out, ":\n");
            if (!rc)
                rc = put_json_block(out, v, indent + 2);
            continue;
        }
        if (!rc)
            rc = aieb_buf_puts(out, ": ");
        if (!rc)
            rc = json_is_object(v) ? aieb_buf_puts(out, "{}") : put_json_scalar(out, v, 0);
        if (!rc)
            rc = aieb_buf_puts(out, "\n");
    }
    return rc;
}

/* ==== Keys ==== */

static int put_value(aieb_buf *out, const aieb_config *cfg, const cfg_key *k)
{
    switch (k->type) {
    case CFG_T_STR:
    case CFG_T_ENUM:
        return put_string(out, *CFG_CFIELD(cfg, k, char *), 0);
    case CFG_T_INT:
    case CFG_T_I64: {
        long long v =
            k->type == CFG_T_INT ? *CFG_CFIELD(cfg, k, int) : *CFG_CFIELD(cfg, k, long long);
        if ((k->flags & CFG_NULLABLE) && v == k->null_int)
            return aieb_buf_puts(out, "null");
        return aieb_buf_printf(out, "%lld", v);
    }
    case CFG_T_DBL:
        return put_double(out, cfg_get_dbl(cfg, k), 0);
    case CFG_T_BOOL:
        return aieb_buf_puts(out, *CFG_CFIELD(cfg, k, int) ? "true" : "false");
    case CFG_T_TRI: {
        int v = *CFG_CFIELD(cfg, k, int);
        return aieb_buf_puts(out, v < 0 ? "null" : v ? "true" : "false");
    }
    case CFG_T_INT_LIST: {
        const aieb_int_list *l = CFG_CFIELD(cfg, k, aieb_int_list);
        int rc = aieb_buf_puts(out, "[");
        for (size_t i = 0; !rc && i < l->n; i++)
            rc = aieb_buf_printf(out, "%s%d", i ? ", " : "", l->items[i]);
        return rc ? rc : aieb_buf_puts(out, "]");
    }
    default:
        return 0;
    }
}

int aieb_config_emit_yaml(const aieb_config *cfg, int with_sources, aieb_buf *out)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < cfg_n_keys; i++) {
        const cfg_key *k = &cfg_keys[i];
        int depth = 0;
        for (const char *p = k->path; *p; p++)
            depth += *p == '.';
        const char *name = strrchr(k->path, '.');
        name = name ? name + 1 : k->path;
        rc = aieb_buf_printf(out, "%*s%s:", depth * 2, "", name);
        if (rc)
            break;
        if (k->type == CFG_T_SECTION) {
            rc = aieb_buf_puts(out, "\n");
            continue;
        }
        char src[300] = "";
        if (with_sources)
            cfg_src_describe(&cfg->meta->src[i], src, sizeof src);
        const char *comment = with_sources ? src : NULL;
        if (k->type == CFG_T_KV) {
            const aieb_kv_list *l = CFG_CFIELD(cfg, k, aieb_kv_list);
            rc = aieb_buf_puts(out, l->n ? "" : " {}");
            if (!rc)
                rc = put_comment(out, comment);
            if (!rc)
                rc = aieb_buf_puts(out, "\n");
            for (size_t j = 0; !rc && j < l->n; j++) {
                rc = aieb_buf_printf(out, "%*s", depth * 2 + 2, "");
                if (!rc)
                    rc = put_key(out, l->items[j].key);
                if (!rc)
                    rc = aieb_buf_puts(out, ": ");
                if (!rc)
                    rc = put_string(out, l->items[j].value, 0);
                if (!rc)
                    rc = aieb_buf_puts(out, "\n");
            }
            continue;
        }
        if (k->type == CFG_T_JSON) {
            const json_t *o = *CFG_CFIELD(cfg, k, json_t *);
            int empty = !o || json_object_size(o) == 0;
            rc = aieb_buf_puts(out, empty ? " {}" : "");
            if (!rc)
                rc = put_comment(out, comment);
            if (!rc)
                rc = aieb_buf_puts(out, "\n");
            if (!rc && !empty)
                rc = put_json_block(out, o, depth * 2 + 2);
            continue;
        }
        if (k->type == CFG_T_JSON_LIST) {
            /* JSON is YAML's flow style: one line that loads back as written. */
            char *j = json_dumps(*CFG_CFIELD(cfg, k, json_t *), JSON_PRESERVE_ORDER);
            rc = j ? aieb_buf_printf(out, " %s", j) : AIEB_ENOMEM;
            free(j);
            if (!rc)
                rc = put_comment(out, comment);
            if (!rc)
                rc = aieb_buf_puts(out, "\n");
            continue;
        }
        rc = aieb_buf_puts(out, " ");
        if (!rc)
            rc = put_value(out, cfg, k);
        if (!rc)
            rc = put_comment(out, comment);
        if (!rc)
            rc = aieb_buf_puts(out, "\n");
        /* generate_kwargs keys aieb does not know, kept for the pytorch backend */
        const json_t *extra = cfg->scenario.generate_kwargs.extra;
        if (!rc && strcmp(k->path, "scenario.generate_kwargs.do_sample") == 0 && extra &&
            json_object_size(extra) > 0)
            rc = put_json_block(out, extra, depth * 2);
    }
    return rc;
}
