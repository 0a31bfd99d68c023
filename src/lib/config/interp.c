/* interp.c - ${VAR} and ${VAR:-default} in configuration scalars.
 *
 * The forms are the shell's (and docker compose's) that users already write:
 *   ${VAR}           the variable's value; an error when it is not set
 *   ${VAR:-default}  the value, or default when VAR is unset or empty; the
 *                    default may itself contain ${...} (up to 8 levels)
 *   $${              a literal "${"
 * A '$' followed by anything else is kept as is. Output is capped at
 * AIEB_CONFIG_MAX_SCALAR_BYTES so that no variable can blow a value up.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

#define MAX_NEST 8

typedef struct interp {
    aieb_buf out;
    int expanded;
    char *why;
    size_t why_n;
} interp;

static int too_big(interp *st)
{
    snprintf(st->why, st->why_n, "value longer than %d bytes after ${} interpolation",
             AIEB_CONFIG_MAX_SCALAR_BYTES);
    return AIEB_ETOOBIG;
}

static int put(interp *st, const char *p, size_t n)
{
    int rc = aieb_buf_append(&st->out, p, n);
    return rc == AIEB_ETOOBIG ? too_big(st) : rc;
}

/* Finds the '}' that closes a "${" whose body starts at s[i]; nested "${" count. */
static size_t find_close(const char *s, size_t len, size_t i)
{
    int depth = 0;
    for (; i < len; i++) {
        if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
            depth++;
            i++;
        } else if (s[i] == '}') {
            if (depth == 0)
                return i;
            depth--;
        }
    }
    return (size_t)-1;
}

static int expand(interp *st, const char *s, size_t len, int level)
{
    if (level > MAX_NEST) {
        snprintf(st->why, st->why_n, "${...} defaults nested more than %d deep", MAX_NEST);
        return AIEB_EINVAL;
    }
    size_t i = 0, lit = 0;
    int rc;
    while (i < len) {
        if (s[i] != '$') {
            i++;
            continue;
        }
        if (i + 2 < len && s[i + 1] == '$' && s[i + 2] == '{') { /* $${ -> ${ */
            if ((rc = put(st, s + lit, i - lit)) || (rc = put(st, "${", 2)))
                return rc;
            i += 3;
            lit = i;
            continue;
        }
        if (i + 1 >= len || s[i + 1] != '{') {
            i++;
            continue;
        }
        size_t body = i + 2;
        size_t close = find_close(s, len, body);
        if (close == (size_t)-1) {
            snprintf(st->why, st->why_n,
                     "unclosed ${ (expected ${VAR} or ${VAR:-default}; write $${ for a literal "
                     "${)");
            return AIEB_EINVAL;
        }
        size_t name_end = body;
        while (name_end < close && (isalnum((unsigned char)s[name_end]) || s[name_end] == '_'))
            name_end++;
        size_t name_len = name_end - body;
        int has_default = name_end + 1 < close && s[name_end] == ':' && s[name_end + 1] == '-';
        if (name_len == 0 || isdigit((unsigned char)s[body]) ||
            (name_end != close && !has_default)) {
            size_t show = close - i + 1;
            snprintf(st->why, st->why_n,
                     "unsupported interpolation \"%.*s\" (expected ${VAR} or ${VAR:-default}, "
                     "VAR made of letters, digits and _)",
                     (int)(show > 80 ? 80 : show), s + i);
            return AIEB_EINVAL;
        }
        if ((rc = put(st, s + lit, i - lit)))
            return rc;
        char name[256];
        if (name_len >= sizeof name) {
            snprintf(st->why, st->why_n, "variable name longer than %zu characters",
                     sizeof name - 1);
            return AIEB_EINVAL;
        }
        memcpy(name, s + body, name_len);
        name[name_len] = '\0';
        const char *val = getenv(name);
        st->expanded = 1;
        if (has_default) {
            if (val && *val)
                rc = put(st, val, strlen(val));
            else
                rc = expand(st, s + name_end + 2, close - (name_end + 2), level + 1);
        } else if (val) {
            rc = put(st, val, strlen(val));
        } else {
            snprintf(st->why, st->why_n,
                     "environment variable %s is not set (set it, or give a default: "
                     "${%s:-value})",
                     name, name);
            return AIEB_EINVAL;
        }
        if (rc)
            return rc;
        i = close + 1;
        lit = i;
    }
    return put(st, s + lit, len - lit);
}

int cfg_interpolate(const char *in, size_t len, char **out, size_t *out_len, int *expanded,
                    char *why, size_t why_n)
{
    interp st = {.why = why, .why_n = why_n};
    aieb_buf_init(&st.out, AIEB_CONFIG_MAX_SCALAR_BYTES);
    why[0] = '\0';
    *out = NULL;
    *out_len = 0;
    *expanded = 0;
    int rc = expand(&st, in, len, 0);
    if (rc == 0 && !st.out.data)
        rc = put(&st, "", 0);
    if (rc) {
        if (rc == AIEB_ENOMEM)
            snprintf(why, why_n, "out of memory");
        aieb_buf_free(&st.out);
        return rc;
    }
    *out_len = st.out.len;
    *out = st.out.data;
    *expanded = st.expanded;
    return 0;
}
