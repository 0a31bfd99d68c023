/* registry.c - the reasoning-format registry: YAML schema -> rules, lookup by model. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aieb/fileio.h"
#include "aieb/format.h"
#include "util/embedded.h"
#include "util/yamltree.h"

#define EMBEDDED_NAME "reasoning_formats.yaml"

/* One set of keys, as written in a family, an override, a model entry or the
 * default. `set` has a bit per key present, so an override can also clear a key
 * (enable_flag: null). */
enum {
    F_TYPE = 1 << 0,
    F_ENABLE = 1 << 1,
    F_DISABLE = 1 << 2,
    F_DEFAULT_ON = 1 << 3,
    F_PREFIX = 1 << 4,
    F_SUFFIX = 1 << 5,
    F_PARAMETER = 1 << 6,
    F_EFFORT = 1 << 7,
    F_DESCRIPTION = 1 << 8,
};

typedef struct fields {
    unsigned set;
    aieb_format_type type;
    bool default_enabled;
    char *enable_flag, *disable_flag, *prefix, *suffix, *parameter, *effort, *description;
} fields;

typedef struct override {
    char *key;
    fields f;
} override;

typedef struct family {
    char *name;
    char **patterns;
    size_t n_patterns;
    fields f;
    override *overrides;
    size_t n_overrides;
} family;

typedef struct model_entry {
    char *name;
    fields f;
} model_entry;

struct aieb_format_registry {
    family *families;
    size_t n_families;
    model_entry *models;
    size_t n_models;
    fields dflt;
};

/* Parse context: where we are, for messages. */
typedef struct pctx {
    const char *origin;
    aieb_err *err;
} pctx;

/* ==== Freeing ================================================================ */

static void fields_free(fields *f)
{
    free(f->enable_flag);
    free(f->disable_flag);
    free(f->prefix);
    free(f->suffix);
    free(f->parameter);
    free(f->effort);
    free(f->description);
}

void aieb_format_registry_free(aieb_format_registry *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n_families; i++) {
        family *fa = &reg->families[i];
        free(fa->name);
        for (size_t j = 0; j < fa->n_patterns; j++)
            free(fa->patterns[j]);
        free(fa->patterns);
        fields_free(&fa->f);
        for (size_t j = 0; j < fa->n_overrides; j++) {
            free(fa->overrides[j].key);
            fields_free(&fa->overrides[j].f);
        }
        free(fa->overrides);
    }
    free(reg->families);
    for (size_t i = 0; i < reg->n_models; i++) {
        free(reg->models[i].name);
        fields_free(&reg->models[i].f);
    }
    free(reg->models);
    fields_free(&reg->dflt);
    free(reg);
}

/* ==== Reading the tree ======================================================= */

/* Caps of a registry file, for the shared YAML tree (util/yamltree.c). Anchors
 * and aliases are refused: a family is read on its own, and a registry that
 * shares keys through *name would hide which rule a model gets. */
static const yt_limits registry_limits = {
    .what = "a reasoning-format registry",
    .doc_noun = "registry",
    .max_file_bytes = AIEB_FORMAT_MAX_FILE_BYTES,
    .max_scalar_bytes = 64 * 1024,
    .max_depth = 32,
    .max_nodes = 100000,
    .max_aliases = 0,
};

/* Turns the first error in d into c->err as "origin: line L: key: message". */
static int diag_error(pctx *c, const aieb_diags *d, int rc)
{
    for (size_t i = 0; i < d->n; i++) {
        const aieb_diag *g = &d->items[i];
        if (g->severity != AIEB_DIAG_ERROR)
            continue;
        char at[32] = "";
        if (g->line > 0)
            snprintf(at, sizeof at, "line %d: ", g->line);
        return aieb_errf(c->err, rc, "%s: %s%s%s%s", c->origin, at, g->key ? g->key : "",
                         g->key ? ": " : "", g->message);
    }
    return aieb_errf(c->err, rc, "%s: %s", c->origin,
                     rc == AIEB_ENOMEM ? "out of memory" : "invalid YAML");
}

/* The pairs of mapping m (written under path, for messages), "<<" merges
 * resolved; a duplicate or non-text key is an error. Free *pairs afterwards. */
static int pairs_of(pctx *c, const yt_node *m, const char *path, yt_pair **pairs, size_t *n)
{
    aieb_diags d;
    aieb_diags_init(&d);
    int rc = yt_map_pairs(m, c->origin, path, &d, pairs, n);
    if (rc) {
        rc = aieb_errf(c->err, rc, "%s: out of memory", c->origin);
    } else if (d.n_errors) {
        rc = diag_error(c, &d, AIEB_EINVAL);
        free(*pairs);
        *pairs = NULL;
        *n = 0;
    }
    aieb_diags_free(&d);
    return rc;
}

static int expect_map(pctx *c, const yt_node *v, const char *what)
{
    if (v && v->kind == YT_MAP)
        return 0;
    return aieb_errf(c->err, AIEB_EINVAL, "%s: line %d: %s must be a mapping, not %s", c->origin,
                     v ? v->line : 0, what, yt_describe(v));
}

/* ==== Schema ================================================================= */

const char *aieb_format_type_name(aieb_format_type type)
{
    switch (type) {
    case AIEB_FORMAT_HARMONY:
        return "harmony";
    case AIEB_FORMAT_SYSTEM_PROMPT:
        return "system_prompt";
    case AIEB_FORMAT_PREFIX:
        return "prefix";
    case AIEB_FORMAT_PARAMETER:
        return "parameter";
    default:
        return "null";
    }
}

static int parse_type(pctx *c, const yt_node *v, aieb_format_type *out)
{
    static const aieb_format_type all[] = {AIEB_FORMAT_NONE, AIEB_FORMAT_HARMONY,
                                           AIEB_FORMAT_SYSTEM_PROMPT, AIEB_FORMAT_PREFIX,
                                           AIEB_FORMAT_PARAMETER};
    if (yt_is_null(v)) {
        *out = AIEB_FORMAT_NONE;
        return 0;
    }
    if (v->kind == YT_SCALAR)
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            if (strcasecmp(v->text, aieb_format_type_name(all[i])) == 0) {
                *out = all[i];
                return 0;
            }
    return aieb_errf(c->err, AIEB_EINVAL,
                     "%s: line %d: type must be harmony, system_prompt, prefix, parameter "
                     "or null, not '%s'",
                     c->origin, v->line, v->kind == YT_SCALAR ? v->text : yt_describe(v));
}

/* true/false and the other YAML 1.1 words (yes/no, on/off), unquoted. */
static int parse_bool(pctx *c, const char *key, const yt_node *v, bool *out)
{
    int b = 0;
    if (v->kind == YT_SCALAR && v->plain && yt_word_bool(v->text, &b)) {
        *out = b != 0;
        return 0;
    }
    return aieb_errf(c->err, AIEB_EINVAL, "%s: line %d: %s must be true or false", c->origin,
                     v->line, key);
}

/* A string key: text, or null (stored as NULL with its bit set). */
static int parse_text(pctx *c, const char *key, const yt_node *v, char **out)
{
    if (yt_is_null(v))
        return 0;
    if (v->kind != YT_SCALAR)
        return aieb_errf(c->err, AIEB_EINVAL, "%s: line %d: %s must be text or null, not %s",
                         c->origin, v->line, key, yt_describe(v));
    free(*out);
    *out = strdup(v->text);
    if (!*out)
        return aieb_errf(c->err, AIEB_ENOMEM, "%s: out of memory", c->origin);
    return 0;
}

static int parse_effort(pctx *c, const yt_node *v, char **out)
{
    int rc = parse_text(c, "reasoning_effort", v, out);
    if (rc || !*out)
        return rc;
    if (strcmp(*out, "low") && strcmp(*out, "medium") && strcmp(*out, "high"))
        return aieb_errf(c->err, AIEB_EINVAL,
                         "%s: line %d: reasoning_effort must be low, medium or high, not '%s'",
                         c->origin, v->line, *out);
    return 0;
}

/* Reads one key of a rule into f. Returns 1 when key is not a rule key. */
static int parse_field(pctx *c, const char *key, const yt_node *v, fields *f)
{
    static const struct {
        const char *key;
        unsigned bit;
        size_t off;
    } texts[] = {
        {"enable_flag", F_ENABLE, offsetof(fields, enable_flag)},
        {"disable_flag", F_DISABLE, offsetof(fields, disable_flag)},
        {"prefix", F_PREFIX, offsetof(fields, prefix)},
        {"suffix", F_SUFFIX, offsetof(fields, suffix)},
        {"parameter", F_PARAMETER, offsetof(fields, parameter)},
        {"description", F_DESCRIPTION, offsetof(fields, description)},
    };
    if (strcmp(key, "type") == 0) {
        f->set |= F_TYPE;
        return parse_type(c, v, &f->type);
    }
    if (strcmp(key, "default_enabled") == 0) {
        f->set |= F_DEFAULT_ON;
        return parse_bool(c, key, v, &f->default_enabled);
    }
    if (strcmp(key, "reasoning_effort") == 0) {
        f->set |= F_EFFORT;
        return parse_effort(c, v, &f->effort);
    }
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (strcmp(key, texts[i].key) == 0) {
            f->set |= texts[i].bit;
            return parse_text(c, key, v, (char **)((char *)f + texts[i].off));
        }
    return 1;
}

/* A mapping of rule keys only (an override, a model entry, the default), written
 * under path. */
static int parse_rule_map(pctx *c, const yt_node *m, const char *path, const char *what, fields *f)
{
    int rc = expect_map(c, m, what);
    yt_pair *p = NULL;
    size_t n = 0;
    if (!rc)
        rc = pairs_of(c, m, path, &p, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        const char *key = p[i].key->text;
        rc = parse_field(c, key, p[i].value, f);
        if (rc == 1)
            rc = aieb_errf(c->err, AIEB_EINVAL, "%s: line %d: unknown key '%s' in %s", c->origin,
                           p[i].key->line, key, what);
    }
    free(p);
    return rc;
}

static int parse_patterns(pctx *c, const yt_node *v, family *fa)
{
    if (v->kind == YT_SCALAR && !yt_is_null(v)) {
        fa->patterns = calloc(1, sizeof *fa->patterns);
        if (!fa->patterns || !(fa->patterns[0] = strdup(v->text)))
            return aieb_errf(c->err, AIEB_ENOMEM, "%s: out of memory", c->origin);
        fa->n_patterns = 1;
        return 0;
    }
    if (v->kind != YT_SEQ)
        return aieb_errf(c->err, AIEB_EINVAL,
                         "%s: line %d: patterns of family '%s' must be a list of text", c->origin,
                         v->line, fa->name);
    fa->patterns = calloc(v->n ? v->n : 1, sizeof *fa->patterns);
    if (!fa->patterns)
        return aieb_errf(c->err, AIEB_ENOMEM, "%s: out of memory", c->origin);
    for (size_t i = 0; i < v->n; i++) {
        const yt_node *p = v->kids[i];
        if (p->kind != YT_SCALAR || yt_is_null(p) || p->text[0] == '\0')
            return aieb_errf(c->err, AIEB_EINVAL,
                             "%s: line %d: a pattern of family '%s' must be non-empty text",
                             c->origin, p->line, fa->name);
        if (!(fa->patterns[fa->n_patterns] = strdup(p->text)))
            return aieb_errf(c->err, AIEB_ENOMEM, "%s: out of memory", c->origin);
        fa->n_patterns++;
    }
    return 0;
}

static int parse_overrides(pctx *c, const yt_node *v, const char *path, family *fa)
{
    if (yt_is_null(v))
        return 0;
    yt_pair *p = NULL;
    size_t n = 0;
    int rc = expect_map(c, v, "model_overrides");
    if (!rc)
        rc = pairs_of(c, v, path, &p, &n);
    if (!rc && !(fa->overrides = calloc(n + 1, sizeof *fa->overrides)))
        rc = aieb_errf(c->err, AIEB_ENOMEM, "%s: out of memory", c->origin);
    for (size_t i = 0; !rc && i < n; i++) {
        override *o = &fa->overrides[fa->n_overrides++];
        char sub[512];
        snprintf(sub, sizeof sub, "%s.%s", path, p[i].key->text);
        if (!(o->key = strdup(p[i].key->text)))
            rc = aieb_errf(c->err, AIEB_ENOMEM, "%s: out of memory", c->origin);
        else
            rc = parse_rule_map(c, p[i].value, sub, "a model override", &o->f);
    }
    free(p);
    return rc;
}

static int parse_family(pctx *c, const char *name, const yt_node *m, family *fa)
{
    if (!(fa->name = strdup(name)))
        return aieb_errf(c->err, AIEB_ENOMEM, "%s: out of memory", c->origin);
    char path[512], sub[600];
    snprintf(path, sizeof path, "families.%s", name);
    yt_pair *p = NULL;
    size_t n = 0;
    int rc = expect_map(c, m, "a family");
    if (!rc)
        rc = pairs_of(c, m, path, &p, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        const char *key = p[i].key->text;
        const yt_node *v = p[i].value;
        if (strcmp(key, "patterns") == 0) {
            rc = parse_patterns(c, v, fa);
        } else if (strcmp(key, "model_overrides") == 0) {
            snprintf(sub, sizeof sub, "%s.%s", path, key);
            rc = parse_overrides(c, v, sub, fa);
        } else if ((rc = parse_field(c, key, v, &fa->f)) == 1) {
            rc = aieb_errf(c->err, AIEB_EINVAL, "%s: line %d: unknown key '%s' in family '%s'",
                           c->origin, p[i].key->line, key, name);
        }
    }
    free(p);
    if (!rc && fa->n_patterns == 0)
        rc = aieb_errf(c->err, AIEB_EINVAL, "%s: line %d: family '%s' has no patterns", c->origin,
                       m->line, name);
    if (!rc && !(fa->f.set & F_TYPE))
        rc = aieb_errf(c->err, AIEB_EINVAL, "%s: line %d: family '%s' has no type", c->origin,
                       m->line, name);
    return rc;
}

static int parse_families(pctx *c, const yt_node *v, aieb_format_registry *reg)
{
    if (yt_is_null(v))
        return 0;
    yt_pair *p = NULL;
    size_t n = 0;
    int rc = expect_map(c, v, "families");
    if (!rc)
        rc = pairs_of(c, v, "families", &p, &n);
    if (!rc && !(reg->families = calloc(n + 1, sizeof *reg->families)))
        rc = aieb_errf(c->err, AIEB_ENOMEM, "%s: out of memory", c->origin);
    for (size_t i = 0; !rc && i < n; i++)
        rc = parse_family(c, p[i].key->text, p[i].value, &reg->families[reg->n_families++]);
    free(p);
    return rc;
}

static int parse_models(pctx *c, const yt_node *v, aieb_format_registry *reg)
{
    if (yt_is_null(v))
        return 0;
    yt_pair *p = NULL;
    size_t n = 0;
    int rc = expect_map(c, v, "models");
    if (!rc)
        rc = pairs_of(c, v, "models", &p, &n);
    if (!rc && !(reg->models = calloc(n + 1, sizeof *reg->models)))
        rc = aieb_errf(c->err, AIEB_ENOMEM, "%s: out of memory", c->origin);
    for (size_t i = 0; !rc && i < n; i++) {
        const char *name = p[i].key->text;
        model_entry *me = &reg->models[reg->n_models++];
        char path[512];
        snprintf(path, sizeof path, "models.%s", name);
        if (!(me->name = strdup(name)))
            rc = aieb_errf(c->err, AIEB_ENOMEM, "%s: out of memory", c->origin);
        else if ((rc = parse_rule_map(c, p[i].value, path, "a model entry", &me->f)) == 0 &&
                 !(me->f.set & F_TYPE))
            rc = aieb_errf(c->err, AIEB_EINVAL, "%s: line %d: model '%s' has no type", c->origin,
                           p[i].key->line, name);
    }
    free(p);
    return rc;
}

static int parse_root(pctx *c, const yt_node *root, aieb_format_registry *reg)
{
    if (!root || yt_is_null(root))
        return 0; /* an empty file: no families, default null */
    yt_pair *p = NULL;
    size_t n = 0;
    int rc = expect_map(c, root, "the registry");
    if (!rc)
        rc = pairs_of(c, root, "", &p, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        const char *key = p[i].key->text;
        const yt_node *v = p[i].value;
        if (strcmp(key, "families") == 0)
            rc = parse_families(c, v, reg);
        else if (strcmp(key, "models") == 0)
            rc = parse_models(c, v, reg);
        else if (strcmp(key, "default") == 0)
            rc = yt_is_null(v) ? 0 : parse_rule_map(c, v, "default", "default", &reg->dflt);
        else
            rc = aieb_errf(c->err, AIEB_EINVAL,
                           "%s: line %d: unknown top-level key '%s' (expected families, "
                           "models, default)",
                           c->origin, p[i].key->line, key);
    }
    free(p);
    return rc;
}

int aieb_format_registry_parse(const char *yaml, size_t len, const char *origin,
                               aieb_format_registry **out, aieb_err *err)
{
    *out = NULL;
    pctx c = {.origin = origin, .err = err};
    yt_doc doc = {0};
    aieb_diags d;
    aieb_diags_init(&d);
    int rc = yt_parse(origin, yaml, len, &registry_limits, &doc, &d);
    if (rc)
        rc = diag_error(&c, &d, rc);
    aieb_diags_free(&d);
    aieb_format_registry *reg = NULL;
    if (!rc && !(reg = calloc(1, sizeof *reg)))
        rc = aieb_errf(err, AIEB_ENOMEM, "%s: out of memory", origin);
    if (!rc)
        rc = parse_root(&c, doc.root, reg);
    yt_doc_free(&doc);
    if (rc) {
        aieb_format_registry_free(reg);
        return rc;
    }
    *out = reg;
    return 0;
}

int aieb_format_registry_load(const char *path, aieb_format_registry **out, aieb_err *err)
{
    *out = NULL;
    if (!path) {
        const aieb_embedded_file *f = aieb_embedded_find(EMBEDDED_NAME);
        if (!f)
            return aieb_errf(err, AIEB_ENOTFOUND, "%s is not embedded in this build",
                             EMBEDDED_NAME);
        return aieb_format_registry_parse((const char *)f->data, f->len,
                                          "(built-in) " EMBEDDED_NAME, out, err);
    }
    char *data = NULL;
    size_t len = 0;
    int rc = aieb_read_file(path, AIEB_FORMAT_MAX_FILE_BYTES, &data, &len, err);
    if (rc)
        return rc;
    rc = aieb_format_registry_parse(data, len, path, out, err);
    free(data);
    return rc;
}

size_t aieb_format_registry_family_count(const aieb_format_registry *reg)
{
    return reg ? reg->n_families : 0;
}

/* ==== Lookup ================================================================= */

/* Glob (with * ? [) over the whole name, else substring; both ignore case. */
static bool pattern_matches(const char *pattern, const char *model)
{
    if (strpbrk(pattern, "*?["))
        return fnmatch(pattern, model, FNM_CASEFOLD) == 0;
    return strcasestr(model, pattern) != NULL;
}

static void apply_fields(const fields *f, aieb_format_rule *r)
{
    if (f->set & F_TYPE)
        r->type = f->type;
    if (f->set & F_DEFAULT_ON)
        r->default_enabled = f->default_enabled;
    if (f->set & F_ENABLE)
        r->enable_flag = f->enable_flag;
    if (f->set & F_DISABLE)
        r->disable_flag = f->disable_flag;
    if (f->set & F_PREFIX)
        r->prefix = f->prefix;
    if (f->set & F_SUFFIX)
        r->suffix = f->suffix;
    if (f->set & F_PARAMETER)
        r->parameter = f->parameter;
    if (f->set & F_EFFORT)
        r->reasoning_effort = f->effort;
    if (f->set & F_DESCRIPTION)
        r->description = f->description;
}

void aieb_format_lookup(const aieb_format_registry *reg, const char *model, aieb_format_rule *out)
{
    memset(out, 0, sizeof *out);
    out->name = "default";
    if (!reg)
        return;
    if (model && *model) {
        const char *slash = strrchr(model, '/');
        const char *base = slash ? slash + 1 : model;
        for (size_t i = 0; i < reg->n_models; i++) {
            const model_entry *me = &reg->models[i];
            if (strcasecmp(me->name, model) == 0 ||
                (!strchr(me->name, '/') && strcasecmp(me->name, base) == 0)) {
                out->matched_by = AIEB_FORMAT_BY_MODEL;
                out->name = me->name;
                apply_fields(&me->f, out);
                return;
            }
        }
        for (size_t i = 0; i < reg->n_families; i++) {
            const family *fa = &reg->families[i];
            for (size_t j = 0; j < fa->n_patterns; j++) {
                if (!pattern_matches(fa->patterns[j], model))
                    continue;
                out->matched_by = AIEB_FORMAT_BY_FAMILY;
                out->name = fa->name;
                out->pattern = fa->patterns[j];
                apply_fields(&fa->f, out);
                for (size_t k = 0; k < fa->n_overrides; k++)
                    if (pattern_matches(fa->overrides[k].key, model)) {
                        out->override_key = fa->overrides[k].key;
                        apply_fields(&fa->overrides[k].f, out);
                        break;
                    }
                return;
            }
        }
    }
    apply_fields(&reg->dflt, out);
}
