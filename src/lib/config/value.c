/* value.c - one YAML node (from a file, an environment variable or --set) into
 * one typed field of aieb_config.
 *
 * Types come from the schema, not from how the YAML looks: "100" in quotes is
 * a fine num_samples (so that "${NUM_SAMPLES:-100}" works), and `name: 123`
 * is the string "123". Only plain (unquoted) scalars can be null.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/internal.h"

/* ==== Sources and places ==== */

void cfg_src_describe(const cfg_src *s, char *buf, size_t n)
{
    switch (s->kind) {
    case CFG_SRC_DEFAULT:
        snprintf(buf, n, "default");
        break;
    case CFG_SRC_FILE:
        snprintf(buf, n, "%s:%d", s->label ? s->label : "?", s->line);
        break;
    case CFG_SRC_ENV:
        snprintf(buf, n, "env %s", s->label ? s->label : "?");
        break;
    case CFG_SRC_SET:
        snprintf(buf, n, "--set");
        break;
    }
}

void cfg_ctx_where(const cfg_ctx *c, const cfg_node *n, const char **file, int *line, int *col)
{
    if (c->src.kind == CFG_SRC_FILE) {
        *file = c->src.label;
        *line = n ? n->line : 0;
        *col = n ? n->col : 0;
    } else {
        *file = c->where[0] ? c->where : NULL;
        *line = 0;
        *col = 0;
    }
}

static void record_source(cfg_ctx *c, int ki, const cfg_node *n)
{
    cfg_src s = c->src;
    if (s.kind == CFG_SRC_FILE && n) {
        s.line = n->line;
        s.col = n->col;
    }
    c->cfg->meta->src[ki] = s;
}

static const char *kind_name(const cfg_node *n)
{
    return n->kind == CFG_MAP ? "a mapping" : n->kind == CFG_SEQ ? "a list" : "a value";
}

/* Adds "<what> (expected <k's description>, got <got>)<tail>". */
static void type_error(cfg_ctx *c, const cfg_node *n, const char *key, const cfg_key *k,
                       const char *what, const char *got, const char *orig)
{
    aieb_buf exp;
    aieb_buf_init(&exp, 512);
    cfg_describe_expected(k, &exp);
    const char *file;
    int line, col;
    cfg_ctx_where(c, n, &file, &line, &col);
    char from[160] = "";
    if (orig)
        snprintf(from, sizeof from, " from \"%.120s\"", orig);
    aieb_diags_add(c->d, AIEB_DIAG_ERROR, file, line, col, key, "%s (expected %s, got %s%s)", what,
                   exp.data ? exp.data : "?", got, from);
    aieb_buf_free(&exp);
}

/* ==== Scalars ==== */

typedef struct scalar {
    char *text;       /* after interpolation; malloc'd */
    const char *orig; /* the text as written when interpolation changed it, else NULL */
    int is_null;
} scalar;

/* Gets n's text, interpolated when the layer wants it. Returns 0, or nonzero
 * after adding a diagnostic (or on OOM, with c->oom set). */
static int get_scalar(cfg_ctx *c, const cfg_node *n, const char *key, scalar *out)
{
    memset(out, 0, sizeof *out);
    size_t bad;
    const char *file;
    int line, col;
    cfg_ctx_where(c, n, &file, &line, &col);
    if (c->src.kind != CFG_SRC_FILE && !cfg_utf8_valid(n->text, n->len, &bad)) {
        aieb_diags_add(c->d, AIEB_DIAG_ERROR, file, line, col, key,
                       "invalid UTF-8 (byte 0x%02x at offset %zu); values must be UTF-8 text",
                       (unsigned char)n->text[bad], bad);
        return AIEB_EINVAL;
    }
    if (c->interpolate && memchr(n->text, '$', n->len)) {
        char why[512];
        size_t len;
        int expanded;
        int rc = cfg_interpolate(n->text, n->len, &out->text, &len, &expanded, why, sizeof why);
        if (rc == AIEB_ENOMEM) {
            c->oom = 1;
            return rc;
        }
        if (rc) {
            aieb_diags_add(c->d, AIEB_DIAG_ERROR, file, line, col, key, "%s", why);
            return rc;
        }
        if (strlen(out->text) != len) {
            free(out->text);
            out->text = NULL;
            aieb_diags_add(c->d, AIEB_DIAG_ERROR, file, line, col, key,
                           "a variable's value contains a NUL character");
            return AIEB_EINVAL;
        }
        if (expanded)
            out->orig = n->text;
    } else {
        out->text = strdup(n->text);
        if (!out->text) {
            c->oom = 1;
            return AIEB_ENOMEM;
        }
    }
    out->is_null = n->plain && cfg_word_is_null(out->text);
    return 0;
}

/* "got" text for messages: the value in quotes, shortened. */
static void got_text(const char *s, char *buf, size_t n)
{
    size_t len = strlen(s);
    if (len > 60)
        snprintf(buf, n, "\"%.57s...\"", s);
    else
        snprintf(buf, n, "\"%s\"", s);
}

/* Parses a whole base-10 integer (surrounding spaces allowed). Returns 1 ok,
 * 0 not an integer, -1 out of range. */
static int parse_ll(const char *s, long long *v)
{
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return 0;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (end == s)
        return 0;
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return 0;
    if (errno == ERANGE)
        return -1;
    *v = x;
    return 1;
}

static int is_inf_word(const char *s)
{
    if (*s == '+')
        s++;
    return strcmp(s, ".inf") == 0 || strcmp(s, ".Inf") == 0 || strcmp(s, ".INF") == 0 ||
           strcasecmp(s, "inf") == 0 || strcasecmp(s, "infinity") == 0;
}

/* Parses a finite decimal number (YAML style; no hex, no nan). 1 ok, 0 not a
 * number, -1 too large. */
static int parse_double(const char *s, double *v)
{
    while (isspace((unsigned char)*s))
        s++;
    if (!*s || strpbrk(s, "xXnN"))
        return 0;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s)
        return 0;
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return 0;
    if (!isfinite(x))
        return -1;
    *v = x;
    return 1;
}

static int parse_bool_loose(const char *s, int *b)
{
    if (cfg_word_bool(s, b))
        return 1;
    static const char *const yes[] = {"true", "yes", "on", "1", NULL};
    static const char *const no[] = {"false", "no", "off", "0", NULL};
    for (int i = 0; yes[i]; i++)
        if (strcasecmp(s, yes[i]) == 0)
            return *b = 1, 1;
    for (int i = 0; no[i]; i++)
        if (strcasecmp(s, no[i]) == 0)
            return *b = 0, 1;
    return 0;
}

/* Range message for a number below/above the key's bounds (used when a value
 * would collide with the key's "unset" marker, so validation can't see it). */
static void range_error(cfg_ctx *c, const cfg_node *n, const char *key, const cfg_key *k,
                        const char *got, const char *orig)
{
    type_error(c, n, key, k, "out of range", got, orig);
}

static void null_ignored(cfg_ctx *c, const cfg_node *n, const char *key, const cfg_key *k)
{
    aieb_buf exp;
    aieb_buf_init(&exp, 512);
    cfg_describe_expected(k, &exp);
    const char *file;
    int line, col;
    cfg_ctx_where(c, n, &file, &line, &col);
    aieb_diags_add(c->d, AIEB_DIAG_WARNING, file, line, col, key,
                   "empty value ignored; the key keeps its earlier value (expected %s)",
                   exp.data ? exp.data : "?");
    aieb_buf_free(&exp);
}

/* Servers and libraries people name as a backend type, and the type that runs them. */
static const char *backend_hint(const char *s)
{
    static const char *const servers[] = {"sglang",       "tgi",      "text-generation-inference",
                                          "ollama",       "llamacpp", "llama.cpp",
                                          "llama-cpp",    "lmstudio", "trtllm",
                                          "tensorrt-llm", "triton",   NULL};
    static const char *const torch[] = {"transformers", "huggingface", "hf", "torch", NULL};
    for (int i = 0; servers[i]; i++)
        if (strcasecmp(s, servers[i]) == 0)
            return "for any OpenAI-compatible server (SGLang, TGI, llama.cpp, Ollama, ...) use "
                   "type: openai";
    for (int i = 0; torch[i]; i++)
        if (strcasecmp(s, torch[i]) == 0)
            return "for Hugging Face transformers use type: pytorch";
    return NULL;
}

static int set_scalar(cfg_ctx *c, int ki, const cfg_node *n, const char *key)
{
    const cfg_key *k = &cfg_keys[ki];
    aieb_config *cfg = c->cfg;
    if (n->kind != CFG_SCALAR) {
        type_error(c, n, key, k, "wrong type", kind_name(n), NULL);
        return 0;
    }
    scalar sc;
    int rc = get_scalar(c, n, key, &sc);
    if (rc)
        return c->oom ? AIEB_ENOMEM : 0;
    char got[96];
    got_text(sc.text, got, sizeof got);
    int ok = 0;
    if (sc.is_null && k->type != CFG_T_TRI && !(k->flags & CFG_NULLABLE)) {
        null_ignored(c, n, key, k);
        free(sc.text);
        return 0;
    }
    switch (k->type) {
    case CFG_T_STR: {
        char **f = CFG_FIELD(cfg, k, char *);
        free(*f);
        *f = sc.is_null ? NULL : sc.text;
        if (sc.is_null)
            free(sc.text);
        sc.text = NULL;
        ok = 1;
        break;
    }
    case CFG_T_ENUM: {
        const char *pick = NULL;
        for (size_t i = 0; k->choices[i]; i++)
            if (strcasecmp(sc.text, k->choices[i]) == 0)
                pick = k->choices[i];
        if (!pick) {
            char sug[64], what[160] = "unknown value";
            const char *hint =
                k->off == offsetof(aieb_config, backend.type) ? backend_hint(sc.text) : NULL;
            if (hint)
                snprintf(what, sizeof what, "unknown value; %s", hint);
            else if (cfg_suggest_word(sc.text, k->choices, sug, sizeof sug))
                snprintf(what, sizeof what, "unknown value; did you mean %s?", sug);
            type_error(c, n, key, k, what, got, sc.orig);
            break;
        }
        char *copy = strdup(pick);
        if (!copy) {
            c->oom = 1;
            break;
        }
        char **f = CFG_FIELD(cfg, k, char *);
        free(*f);
        *f = copy;
        if (k->off == offsetof(aieb_config, backend.type))
            for (int i = 0; k->choices[i]; i++)
                if (k->choices[i] == pick)
                    cfg->backend.kind = (aieb_cfg_backend)i;
        if (k->off == offsetof(aieb_config, scenario.method))
            cfg->scenario.energy_star = strcmp(pick, "energy_star") == 0;
        ok = 1;
        break;
    }
    case CFG_T_INT:
    case CFG_T_I64: {
        long long v = k->null_int;
        int r = sc.is_null ? 1 : parse_ll(sc.text, &v);
        if (r == 0) {
            double dv;
            type_error(c, n, key, k,
                       parse_double(sc.text, &dv) == 1 ? "not a whole number" : "not a number", got,
                       sc.orig);
            break;
        }
        if (r < 0 || (k->type == CFG_T_INT && (v < INT_MIN || v > INT_MAX)) ||
            (!sc.is_null && (k->flags & CFG_NULLABLE) && v == k->null_int)) {
            range_error(c, n, key, k, got, sc.orig);
            break;
        }
        if (k->type == CFG_T_INT)
            *CFG_FIELD(cfg, k, int) = (int)v;
        else
            *CFG_FIELD(cfg, k, long long) = v;
        ok = 1;
        break;
    }
    case CFG_T_DBL: {
        double v = NAN;
        int r = 1;
        if (!sc.is_null) {
            if (is_inf_word(sc.text) && (k->flags & CFG_INF_OK))
                v = INFINITY;
            else
                r = parse_double(sc.text, &v);
        }
        if (r == 0) {
            type_error(c, n, key, k, "not a number", got, sc.orig);
            break;
        }
        if (r < 0) {
            range_error(c, n, key, k, got, sc.orig);
            break;
        }
        cfg_set_dbl(cfg, k, v);
        ok = 1;
        break;
    }
    case CFG_T_BOOL:
    case CFG_T_TRI: {
        int b = -1;
        if (!(k->type == CFG_T_TRI && (sc.is_null || strcasecmp(sc.text, "auto") == 0)) &&
            !parse_bool_loose(sc.text, &b)) {
            type_error(c, n, key, k, "not a boolean", got, sc.orig);
            break;
        }
        *CFG_FIELD(cfg, k, int) = b;
        ok = 1;
        break;
    }
    default:
        break;
    }
    free(sc.text);
    if (ok)
        record_source(c, ki, n);
    return c->oom ? AIEB_ENOMEM : 0;
}

/* ==== Lists and maps ==== */

static int int_item(cfg_ctx *c, const cfg_key *k, const cfg_node *n, const char *text,
                    const char *key, int *out)
{
    long long v;
    int r = parse_ll(text, &v);
    if (r != 1 || v < INT_MIN || v > INT_MAX) {
        char got[96];
        got_text(text, got, sizeof got);
        type_error(c, n, key, k, r == 0 ? "not an integer" : "out of range", got, NULL);
        return AIEB_EINVAL;
    }
    *out = (int)v;
    return 0;
}

static int set_int_list(cfg_ctx *c, int ki, const cfg_node *n, const char *key)
{
    const cfg_key *k = &cfg_keys[ki];
    aieb_int_list nl = {0};
    int bad = 0;
    if (n->kind == CFG_MAP) {
        type_error(c, n, key, k, "wrong type", "a mapping", NULL);
        return 0;
    }
    if (n->kind == CFG_SEQ) {
        nl.items = malloc((n->n ? n->n : 1) * sizeof *nl.items);
        if (!nl.items)
            return c->oom = 1, AIEB_ENOMEM;
        for (size_t i = 0; i < n->n && !bad; i++) {
            const cfg_node *it = n->kids[i];
            if (it->kind != CFG_SCALAR) {
                type_error(c, it, key, k, "wrong type in list", kind_name(it), NULL);
                bad = 1;
                break;
            }
            scalar sc;
            if (get_scalar(c, it, key, &sc)) {
                bad = 1;
                break;
            }
            bad = int_item(c, k, it, sc.text, key, &nl.items[nl.n]) != 0;
            free(sc.text);
            if (!bad)
                nl.n++;
        }
    } else {
        /* a scalar: null, "[]", "3", "0,1" or "[0, 1]" (environment and --set) */
        scalar sc;
        if (get_scalar(c, n, key, &sc))      /* nothing is allocated yet in this branch */
            return c->oom ? AIEB_ENOMEM : 0; // cppcheck-suppress memleak
        char *s = sc.text;
        size_t len = strlen(s);
        while (len && isspace((unsigned char)s[len - 1]))
            s[--len] = '\0';
        while (isspace((unsigned char)*s))
            s++, len--;
        if (len >= 2 && s[0] == '[' && s[len - 1] == ']')
            s[len - 1] = '\0', s++;
        int empty = sc.is_null;
        if (!empty) {
            const char *p = s;
            while (isspace((unsigned char)*p))
                p++;
            empty = *p == '\0';
        }
        if (!empty) {
            size_t commas = 1;
            for (const char *p = s; *p; p++)
                commas += *p == ',';
            nl.items = malloc(commas * sizeof *nl.items);
            if (!nl.items) {
                free(sc.text);
                return c->oom = 1, AIEB_ENOMEM;
            }
            for (char *tok = s; tok && !bad;) {
                char *comma = strchr(tok, ',');
                if (comma)
                    *comma = '\0';
                bad = int_item(c, k, n, tok, key, &nl.items[nl.n]) != 0;
                if (!bad)
                    nl.n++;
                tok = comma ? comma + 1 : NULL;
            }
        }
        free(sc.text);
    }
    if (bad) {
        free(nl.items);
        return c->oom ? AIEB_ENOMEM : 0;
    }
    aieb_int_list *f = CFG_FIELD(c->cfg, k, aieb_int_list);
    free(f->items);
    *f = nl;
    record_source(c, ki, n);
    return 0;
}

static void kv_clear(aieb_kv_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].key);
        free(l->items[i].value);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* Sets (or, with value NULL, removes) one entry; takes ownership of value. */
static int kv_put(aieb_kv_list *l, const char *key, char *value)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].key, key) == 0) {
            free(l->items[i].value);
            if (value) {
                l->items[i].value = value;
            } else {
                free(l->items[i].key);
                memmove(&l->items[i], &l->items[i + 1], (l->n - i - 1) * sizeof l->items[0]);
                l->n--;
            }
            return 0;
        }
    if (!value)
        return 0;
    aieb_kv *p = realloc(l->items, (l->n + 1) * sizeof *p);
    char *kc = strdup(key);
    if (!p || !kc) {
        if (p)
            l->items = p;
        free(kc);
        free(value);
        return AIEB_ENOMEM;
    }
    l->items = p;
    l->items[l->n].key = kc;
    l->items[l->n].value = value;
    l->n++;
    return 0;
}

/* A scalar standing for an empty map: null, "" or "{}". */
static int empty_map_scalar(cfg_ctx *c, const cfg_node *n, const char *key, int *is_empty)
{
    scalar sc;
    if (get_scalar(c, n, key, &sc))
        return c->oom ? AIEB_ENOMEM : AIEB_EINVAL;
    *is_empty = sc.is_null || strcmp(sc.text, "{}") == 0;
    free(sc.text);
    return 0;
}

static int set_kv(cfg_ctx *c, int ki, const char *sub, const cfg_node *n, const char *key)
{
    const cfg_key *k = &cfg_keys[ki];
    aieb_kv_list *f = CFG_FIELD(c->cfg, k, aieb_kv_list);
    if (sub) {
        if (n->kind != CFG_SCALAR) {
            type_error(c, n, key, k, "wrong type", kind_name(n), NULL);
            return 0;
        }
        scalar sc;
        if (get_scalar(c, n, key, &sc))
            return c->oom ? AIEB_ENOMEM : 0;
        if (sc.is_null) {
            free(sc.text);
            sc.text = NULL;
        }
        if (kv_put(f, sub, sc.text))
            return c->oom = 1, AIEB_ENOMEM;
        record_source(c, ki, n);
        return 0;
    }
    if (n->kind == CFG_SCALAR) {
        int empty = 0;
        int rc = empty_map_scalar(c, n, key, &empty);
        if (rc)
            return rc == AIEB_ENOMEM ? rc : 0;
        if (!empty) {
            type_error(c, n, key, k, "wrong type", "a single value", NULL);
            return 0;
        }
        kv_clear(f);
        record_source(c, ki, n);
        return 0;
    }
    if (n->kind == CFG_SEQ) {
        type_error(c, n, key, k, "wrong type", "a list", NULL);
        return 0;
    }
    const char *file;
    int line, col;
    cfg_ctx_where(c, n, &file, &line, &col);
    cfg_pair *pairs;
    size_t np;
    if (cfg_map_pairs(n, file, key, c->d, &pairs, &np))
        return c->oom = 1, AIEB_ENOMEM;
    aieb_kv_list nl = {0};
    int bad = 0;
    for (size_t i = 0; i < np && !bad && !c->oom; i++) {
        if (pairs[i].value->kind != CFG_SCALAR) {
            type_error(c, pairs[i].value, key, k, "wrong type", kind_name(pairs[i].value), NULL);
            bad = 1;
            break;
        }
        scalar sc;
        if (get_scalar(c, pairs[i].value, key, &sc)) {
            bad = 1;
            break;
        }
        if (sc.is_null) {
            free(sc.text);
            continue;
        }
        if (kv_put(&nl, pairs[i].key->text, sc.text))
            c->oom = 1;
    }
    free(pairs);
    if (bad || c->oom) {
        kv_clear(&nl);
        return c->oom ? AIEB_ENOMEM : 0;
    }
    kv_clear(f);
    *f = nl;
    record_source(c, ki, n);
    return 0;
}

json_t *cfg_plain_to_json(const char *s, int plain)
{
    if (!plain)
        return json_string(s);
    int b;
    long long v;
    double d;
    if (cfg_word_is_null(s))
        return json_null();
    if (cfg_word_bool(s, &b))
        return json_boolean(b);
    /* digits only (with a sign): an integer; a finite decimal: a real */
    const char *p = s + (*s == '-' || *s == '+');
    int digits = *p != '\0';
    for (; *p; p++)
        digits &= isdigit((unsigned char)*p) != 0;
    if (digits && parse_ll(s, &v) == 1)
        return json_integer(v);
    if (!isspace((unsigned char)s[0]) && !is_inf_word(s) && parse_double(s, &d) == 1 &&
        strpbrk(s, "0123456789"))
        return json_real(d);
    return json_string(s);
}

json_t *cfg_node_to_json(cfg_ctx *c, const cfg_node *n, const char *path)
{
    if (n->kind == CFG_SCALAR) {
        scalar sc;
        if (get_scalar(c, n, path, &sc))
            return NULL;
        json_t *j = cfg_plain_to_json(sc.text, n->plain);
        free(sc.text);
        if (!j)
            c->oom = 1;
        return j;
    }
    if (n->kind == CFG_SEQ) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < n->n; i++) {
            json_t *item = cfg_node_to_json(c, n->kids[i], path);
            if (!item || json_array_append_new(a, item)) {
                json_decref(a);
                return NULL;
            }
        }
        if (!a)
            c->oom = 1;
        return a;
    }
    const char *file;
    int line, col;
    cfg_ctx_where(c, n, &file, &line, &col);
    cfg_pair *pairs;
    size_t np;
    if (cfg_map_pairs(n, file, path, c->d, &pairs, &np)) {
        c->oom = 1;
        return NULL;
    }
    json_t *o = json_object();
    aieb_buf sub;
    aieb_buf_init(&sub, 4096);
    for (size_t i = 0; o && i < np; i++) {
        aieb_buf_reset(&sub);
        aieb_buf_printf(&sub, "%s.%s", path, pairs[i].key->text);
        json_t *v = cfg_node_to_json(c, pairs[i].value, sub.data ? sub.data : path);
        if (!v || json_object_set_new(o, pairs[i].key->text, v)) {
            json_decref(o);
            o = NULL;
        }
    }
    aieb_buf_free(&sub);
    free(pairs);
    return o;
}

static int set_json(cfg_ctx *c, int ki, const char *sub, const cfg_node *n, const char *key)
{
    const cfg_key *k = &cfg_keys[ki];
    json_t **f = CFG_FIELD(c->cfg, k, json_t *);
    if (sub) {
        json_t *v = cfg_node_to_json(c, n, key);
        if (!v)
            return c->oom ? AIEB_ENOMEM : 0;
        if (json_object_set_new(*f, sub, v))
            return c->oom = 1, AIEB_ENOMEM;
        record_source(c, ki, n);
        return 0;
    }
    json_t *o = NULL;
    if (n->kind == CFG_SCALAR) {
        int empty = 0;
        int rc = empty_map_scalar(c, n, key, &empty);
        if (rc)
            return rc == AIEB_ENOMEM ? rc : 0;
        if (!empty) {
            type_error(c, n, key, k, "wrong type", "a single value", NULL);
            return 0;
        }
        o = json_object();
    } else if (n->kind == CFG_SEQ) {
        type_error(c, n, key, k, "wrong type", "a list", NULL);
        return 0;
    } else {
        o = cfg_node_to_json(c, n, key);
    }
    if (!o)
        return c->oom ? AIEB_ENOMEM : 0;
    json_decref(*f);
    *f = o;
    record_source(c, ki, n);
    return 0;
}

int cfg_set_value(cfg_ctx *c, int ki, const char *sub, const cfg_node *n)
{
    const cfg_key *k = &cfg_keys[ki];
    char key[512];
    if (sub)
        snprintf(key, sizeof key, "%s.%s", k->path, sub);
    else
        snprintf(key, sizeof key, "%s", k->path);
    switch (k->type) {
    case CFG_T_SECTION:
        return 0;
    case CFG_T_INT_LIST:
        return set_int_list(c, ki, n, key);
    case CFG_T_KV:
        return set_kv(c, ki, sub, n, key);
    case CFG_T_JSON:
        return set_json(c, ki, sub, n, key);
    default:
        return set_scalar(c, ki, n, key);
    }
}

int cfg_set_extra(cfg_ctx *c, const char *name, const cfg_node *n)
{
    char key[512];
    snprintf(key, sizeof key, "scenario.generate_kwargs.%s", name);
    json_t *v = cfg_node_to_json(c, n, key);
    if (!v)
        return c->oom ? AIEB_ENOMEM : 0;
    if (json_object_set_new(c->cfg->scenario.generate_kwargs.extra, name, v))
        return c->oom = 1, AIEB_ENOMEM;
    return 0;
}

void cfg_field_free(aieb_config *cfg, const cfg_key *k)
{
    switch (k->type) {
    case CFG_T_STR:
    case CFG_T_ENUM: {
        char **f = CFG_FIELD(cfg, k, char *);
        free(*f);
        *f = NULL;
        break;
    }
    case CFG_T_INT_LIST: {
        aieb_int_list *f = CFG_FIELD(cfg, k, aieb_int_list);
        free(f->items);
        f->items = NULL;
        f->n = 0;
        break;
    }
    case CFG_T_KV:
        kv_clear(CFG_FIELD(cfg, k, aieb_kv_list));
        break;
    case CFG_T_JSON: {
        json_t **f = CFG_FIELD(cfg, k, json_t *);
        json_decref(*f);
        *f = NULL;
        break;
    }
    default:
        break;
    }
}
