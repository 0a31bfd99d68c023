/* load.c - the layers of a configuration: defaults < file < environment < --set.
 *
 * Each layer writes into the same typed struct through cfg_set_value() and
 * records its source per key; validation runs once on the final values, so a
 * bad value in the file that --set replaces is not reported.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aieb/fileio.h"
#include "config/internal.h"

/* ==== Allocation ==== */

static aieb_config *config_alloc(void)
{
    aieb_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return NULL;
    cfg->meta = calloc(1, sizeof *cfg->meta);
    if (cfg->meta)
        cfg->meta->src = calloc(cfg_n_keys, sizeof *cfg->meta->src);
    cfg->scenario.generate_kwargs.extra = json_object();
    if (!cfg->meta || !cfg->meta->src || !cfg->scenario.generate_kwargs.extra) {
        aieb_config_free(cfg);
        return NULL;
    }
    return cfg;
}

void aieb_config_free(aieb_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg_n_keys; i++)
        cfg_field_free(cfg, &cfg_keys[i]);
    json_decref(cfg->scenario.generate_kwargs.extra);
    if (cfg->meta) {
        free(cfg->meta->src);
        free(cfg->meta->file);
        free(cfg->meta);
    }
    free(cfg);
}

static cfg_node scalar_node(const char *text, int plain)
{
    cfg_node n = {.kind = CFG_SCALAR, .text = (char *)text, .len = strlen(text), .plain = plain};
    return n;
}

aieb_config *aieb_config_defaults(void)
{
    aieb_config *cfg = config_alloc();
    if (!cfg)
        return NULL;
    aieb_diags d;
    aieb_diags_init(&d);
    cfg_ctx c = {.cfg = cfg, .d = &d, .src = {.kind = CFG_SRC_DEFAULT}};
    snprintf(c.where, sizeof c.where, "default");
    for (size_t i = 0; i < cfg_n_keys && !c.oom; i++) {
        if (!cfg_keys[i].def)
            continue;
        cfg_node n = scalar_node(cfg_keys[i].def, 1);
        cfg_set_value(&c, (int)i, NULL, &n);
    }
    /* A default that does not parse is a bug in the table, caught by the tests. */
    int bad = c.oom || d.n_errors;
    aieb_diags_free(&d);
    if (bad) {
        aieb_config_free(cfg);
        return NULL;
    }
    return cfg;
}

/* ==== The file layer ==== */

static void list_section_keys(const char *prefix, aieb_buf *out)
{
    size_t plen = strlen(prefix);
    int first = 1;
    for (size_t i = 0; i < cfg_n_keys; i++) {
        const char *p = cfg_keys[i].path;
        if (plen && (strncmp(p, prefix, plen) != 0 || p[plen] != '.'))
            continue;
        const char *rest = plen ? p + plen + 1 : p;
        if (strchr(rest, '.'))
            continue;
        aieb_buf_printf(out, "%s%s", first ? "" : ", ", rest);
        first = 0;
    }
}

static void unknown_key(cfg_ctx *c, const cfg_node *key, const char *prefix, const char *path,
                        aieb_diag_severity sev, const char *what)
{
    const char *file;
    int line, col;
    cfg_ctx_where(c, key, &file, &line, &col);
    if (c->d->n >= AIEB_CONFIG_MAX_DIAGS) { /* no room to show it: skip the search */
        aieb_diags_add(c->d, sev, file, line, col, path, "%s", what);
        return;
    }
    char sug[256];
    if (cfg_suggest_key(path, sug, sizeof sug)) {
        aieb_diags_add(c->d, sev, file, line, col, path, "%s; did you mean %s?", what, sug);
        return;
    }
    aieb_buf known;
    aieb_buf_init(&known, 2048);
    list_section_keys(prefix, &known);
    aieb_diags_add(c->d, sev, file, line, col, path, "%s (known keys %s%s: %s)", what,
                   *prefix ? "under " : "at the top level", prefix, known.data ? known.data : "");
    aieb_buf_free(&known);
}

static const char *GEN_KWARGS = "scenario.generate_kwargs";

static void walk(cfg_ctx *c, const cfg_node *map, const char *prefix)
{
    cfg_pair *pairs;
    size_t np;
    if (cfg_map_pairs(map, c->src.label, prefix, c->d, &pairs, &np)) {
        c->oom = 1;
        return;
    }
    aieb_buf path;
    aieb_buf_init(&path, 4096);
    for (size_t i = 0; i < np && !c->oom; i++) {
        const cfg_node *key = pairs[i].key, *val = pairs[i].value;
        aieb_buf_reset(&path);
        if (aieb_buf_printf(&path, "%s%s%s", prefix, *prefix ? "." : "", key->text) ==
            AIEB_ENOMEM) {
            c->oom = 1;
            break;
        }
        /* "x-" keys are the user's own (as in docker compose): a home for anchors */
        if (strncmp(key->text, "x-", 2) == 0)
            continue;
        const char *p = path.data ? path.data : "?"; /* a cut-short path is unknown anyway */
        int ki = cfg_key_index(p);
        if (ki < 0 && strcmp(prefix, GEN_KWARGS) == 0) {
            unknown_key(c, key, prefix, p, AIEB_DIAG_WARNING,
                        "not a key aieb uses; kept and passed to the pytorch backend's "
                        "generate() as is");
            if (cfg_set_extra(c, key->text, val))
                break;
            continue;
        }
        if (ki < 0) {
            c->d->n_unknown_keys++;
            if (c->lenient)
                unknown_key(c, key, prefix, p, AIEB_DIAG_WARNING, "unknown key, ignored");
            else
                unknown_key(c, key, prefix, p, AIEB_DIAG_ERROR, "unknown key");
            continue;
        }
        if (cfg_keys[ki].type != CFG_T_SECTION) {
            if (cfg_set_value(c, ki, NULL, val))
                break;
            continue;
        }
        if (val->kind == CFG_MAP) {
            walk(c, val, cfg_keys[ki].path);
        } else if (!(val->kind == CFG_SCALAR && val->plain && cfg_word_is_null(val->text))) {
            aieb_diags_add(c->d, AIEB_DIAG_ERROR, c->src.label, val->line, val->col, p,
                           "wrong type (expected a mapping of %s settings on the lines below, "
                           "got %s)",
                           p, val->kind == CFG_SEQ ? "a list" : "a single value");
        }
    }
    aieb_buf_free(&path);
    free(pairs);
}

static void apply_doc(cfg_ctx *c, const cfg_doc *doc)
{
    const cfg_node *root = doc->root;
    if (!root || (root->kind == CFG_SCALAR && root->plain && cfg_word_is_null(root->text))) {
        aieb_diags_add(c->d, AIEB_DIAG_ERROR, c->src.label, 0, 0, NULL,
                       "empty configuration (expected a YAML mapping with keys such as backend, "
                       "scenario and metrics; see configs/quickstart.yaml)");
        return;
    }
    if (root->kind != CFG_MAP) {
        aieb_diags_add(c->d, AIEB_DIAG_ERROR, c->src.label, root->line, root->col, NULL,
                       "the top level must be a mapping of keys such as backend: and scenario: "
                       "(got %s)",
                       root->kind == CFG_SEQ ? "a list" : "a single value");
        return;
    }
    walk(c, root, "");
}

/* ==== Environment and --set ==== */

static void apply_env(cfg_ctx *c)
{
    for (size_t i = 0; i < cfg_n_keys && !c->oom; i++) {
        const char *name = cfg_keys[i].env;
        const char *v = name ? getenv(name) : NULL;
        if (!v || !*v)
            continue;
        c->src = (cfg_src){.kind = CFG_SRC_ENV, .label = name};
        snprintf(c->where, sizeof c->where, "env %s", name);
        cfg_node n = scalar_node(v, 1);
        cfg_set_value(c, (int)i, NULL, &n);
    }
}

static void apply_set(cfg_ctx *c, const char *arg)
{
    c->src = (cfg_src){.kind = CFG_SRC_SET};
    snprintf(c->where, sizeof c->where, "--set");
    size_t bad;
    if (!cfg_utf8_valid(arg, strlen(arg), &bad)) {
        aieb_diags_add(c->d, AIEB_DIAG_ERROR, "--set", 0, 0, NULL,
                       "invalid UTF-8 (byte 0x%02x at offset %zu); arguments must be UTF-8 text",
                       (unsigned char)arg[bad], bad);
        return;
    }
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        aieb_diags_add(c->d, AIEB_DIAG_ERROR, "--set", 0, 0, NULL,
                       "\"%.200s\": expected key.path=value, e.g. --set scenario.num_samples=5",
                       arg);
        return;
    }
    char *path = strndup(arg, (size_t)(eq - arg));
    if (!path) {
        c->oom = 1;
        return;
    }
    const char *sub = NULL;
    int ki = cfg_key_index(path);
    if (ki < 0)
        ki = cfg_key_map_prefix(path, &sub);
    const char *value = eq + 1;
    size_t vlen = strlen(value);
    int plain = 1;
    char *text = NULL;
    if (vlen >= 2 && (value[0] == '"' || value[0] == '\'') && value[vlen - 1] == value[0]) {
        text = strndup(value + 1, vlen - 2); /* --set 'name="null"' keeps the string */
        plain = 0;
    } else {
        text = strdup(value);
    }
    if (!text) {
        c->oom = 1;
        free(path);
        return;
    }
    cfg_node n = scalar_node(text, plain);
    size_t gk = strlen(GEN_KWARGS);
    if (ki < 0 && strncmp(path, GEN_KWARGS, gk) == 0 && path[gk] == '.' && path[gk + 1] &&
        !strchr(path + gk + 1, '.')) {
        cfg_set_extra(c, path + gk + 1, &n);
    } else if (ki < 0) {
        char sug[256];
        if (cfg_suggest_key(path, sug, sizeof sug))
            aieb_diags_add(c->d, AIEB_DIAG_ERROR, "--set", 0, 0, path,
                           "unknown key; did you mean %s?", sug);
        else
            aieb_diags_add(c->d, AIEB_DIAG_ERROR, "--set", 0, 0, path,
                           "unknown key (`aieb config show` lists every key)");
    } else if (cfg_keys[ki].type == CFG_T_SECTION) {
        aieb_diags_add(c->d, AIEB_DIAG_ERROR, "--set", 0, 0, path,
                       "a section, not a value; set one of its keys (e.g. --set %s.<key>=...)",
                       path);
    } else {
        cfg_type t = cfg_keys[ki].type;
        cfg_doc doc = {0};
        /* Lists and maps may be given in YAML flow style: [0, 1] or {0: 20GB}. */
        if (!sub && plain && (t == CFG_T_KV || t == CFG_T_JSON || t == CFG_T_JSON_LIST) &&
            (text[0] == '{' || text[0] == '[')) {
            if (cfg_yaml_parse("--set", text, strlen(text), &doc, c->d) == 0 && doc.root)
                cfg_set_value(c, ki, sub, doc.root);
        } else {
            cfg_set_value(c, ki, sub, &n);
        }
        cfg_doc_free(&doc);
    }
    free(text);
    free(path);
}

/* ==== Loading ==== */

static int load(const char *file, const char *data, size_t len, int have_data,
                const char *const *sets, size_t n_sets, unsigned flags, aieb_config **out,
                aieb_diags *diags, aieb_err *err)
{
    *out = NULL;
    size_t errors_before = diags->n_errors;
    aieb_config *cfg = aieb_config_defaults();
    if (!cfg || (file && !(cfg->meta->file = strdup(file)))) {
        aieb_config_free(cfg);
        return aieb_errf(err, AIEB_ENOMEM, "%s: out of memory", file ? file : "config");
    }
    cfg_ctx c = {.cfg = cfg, .d = diags, .lenient = (flags & AIEB_CONFIG_LENIENT) != 0};
    int parse_rc = 0;
    if (have_data) {
        cfg_doc doc = {0};
        c.src = (cfg_src){.kind = CFG_SRC_FILE, .label = cfg->meta->file};
        c.interpolate = 1;
        parse_rc = cfg_yaml_parse(cfg->meta->file, data, len, &doc, diags);
        if (parse_rc == 0)
            apply_doc(&c, &doc);
        cfg_doc_free(&doc);
    }
    c.interpolate = 0;
    apply_env(&c);
    c.interpolate = 1;
    for (size_t i = 0; i < n_sets && !c.oom; i++)
        apply_set(&c, sets[i]);
    /* The earlier tool passed the code to CodeCarbon, which takes any case. */
    for (char *p = cfg->metrics.country_iso_code; p && *p; p++)
        *p = (char)toupper((unsigned char)*p);
    if (parse_rc == 0 && !c.oom)
        cfg_validate(cfg, cfg->meta->file, diags);

    size_t errors = diags->n_errors - errors_before;
    if (!c.oom && parse_rc != AIEB_ENOMEM && errors == 0) {
        *out = cfg;
        return 0;
    }
    aieb_config_free(cfg);
    const char *what = file ? file : "configuration";
    if (c.oom || parse_rc == AIEB_ENOMEM)
        return aieb_errf(err, AIEB_ENOMEM, "%s: out of memory", what);
    int code = parse_rc == AIEB_ETOOBIG ? AIEB_ETOOBIG : AIEB_EINVAL;
    return aieb_errf(err, code, "%s: %zu problem%s", what, errors, errors == 1 ? "" : "s");
}

int aieb_config_load_string_flags(const char *name, const char *data, size_t len,
                                  const char *const *sets, size_t n_sets, unsigned flags,
                                  aieb_config **out, aieb_diags *diags, aieb_err *err)
{
    return load(name ? name : "<string>", data, len, 1, sets, n_sets, flags, out, diags, err);
}

int aieb_config_load_string(const char *name, const char *data, size_t len, const char *const *sets,
                            size_t n_sets, aieb_config **out, aieb_diags *diags, aieb_err *err)
{
    return aieb_config_load_string_flags(name, data, len, sets, n_sets, 0, out, diags, err);
}

int aieb_config_load(const char *path, const char *const *sets, size_t n_sets, aieb_config **out,
                     aieb_diags *diags, aieb_err *err)
{
    return aieb_config_load_flags(path, sets, n_sets, 0, out, diags, err);
}

int aieb_config_load_flags(const char *path, const char *const *sets, size_t n_sets, unsigned flags,
                           aieb_config **out, aieb_diags *diags, aieb_err *err)
{
    *out = NULL;
    if (!path)
        return load(NULL, NULL, 0, 0, sets, n_sets, flags, out, diags, err);
    /* Opening a FIFO or a device would block or read forever: refuse them first. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        aieb_diags_add(diags, AIEB_DIAG_ERROR, path, 0, 0, NULL,
                       "not a regular file (a pipe, socket or device); give a YAML file");
        return aieb_errf(err, AIEB_EINVAL, "%s: not a regular file", path);
    }
    char *data = NULL;
    size_t len = 0;
    aieb_err rerr = {0};
    int rc = aieb_read_file(path, AIEB_CONFIG_MAX_FILE_BYTES, &data, &len, &rerr);
    if (rc) {
        /* aieb_read_file says "PATH: what"; the diagnostic carries PATH itself. */
        size_t plen = strlen(path);
        const char *what = strncmp(rerr.msg, path, plen) == 0 && rerr.msg[plen] == ':'
                               ? rerr.msg + plen + 2
                               : rerr.msg;
        const char *hint = rc == AIEB_ENOTFOUND ? " (check the path; examples are in configs/)"
                           : rc == AIEB_ETOOBIG ? " for a config file; is this the right file?"
                                                : "";
        aieb_diags_add(diags, AIEB_DIAG_ERROR, path, 0, 0, NULL, "%s%s", what, hint);
        return aieb_errf(err, rc, "%s: %s%s", path, what, hint);
    }
    rc = load(path, data, len, 1, sets, n_sets, flags, out, diags, err);
    free(data);
    return rc;
}

/* ==== Sources ==== */

int aieb_config_source(const aieb_config *cfg, const char *key, char *buf, size_t size)
{
    if (size)
        buf[0] = '\0';
    const char *sub;
    int ki = cfg_key_index(key);
    if (ki < 0)
        ki = cfg_key_map_prefix(key, &sub);
    if (ki < 0 || cfg_keys[ki].type == CFG_T_SECTION)
        return AIEB_ENOTFOUND;
    cfg_src_describe(&cfg->meta->src[ki], buf, size);
    return 0;
}
