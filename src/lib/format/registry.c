/* registry.c - the reasoning-format registry: YAML schema -> rules, lookup by model. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aieb/fileio.h"
#include "aieb/format.h"
#include "format/ytree.h"
#include "util/embedded.h"

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

static int parse_type(pctx *c, const fmt_ynode *v, aieb_format_type *out)
{
    static const aieb_format_type all[] = {AIEB_FORMAT_NONE, AIEB_FORMAT_HARMONY,
                                           AIEB_FORMAT_SYSTEM_PROMPT, AIEB_FORMAT_PREFIX,
                                           AIEB_FORMAT_PARAMETER};
    if (fmt_ynode_is_null(v)) {
        *out = AIEB_FORMAT_NONE;
        return 0;
    }
    if (v->type == FMT_Y_SCALAR)
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            if (strcasecmp(v->str, aieb_format_type_name(all[i])) == 0) {
                *out = all[i];
                return 0;
            }
    return aieb_errf(c->err, AIEB_EINVAL,
                     "%s: line %zu: type must be harmony, system_prompt, prefix, parameter "
                     "or null, not '%s'",
                     c->origin, v->line, v->type == FMT_Y_SCALAR ? v->str : fmt_ynode_kind(v));
}

static int parse_bool(pctx *c, const char *key, const fmt_ynode *v, bool *out)
{
    if (v->type == FMT_Y_SCALAR && v->plain) {
        const char *s = v->str;
        if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on")) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off")) {
            *out = false;
            return 0;
        }
    }
    return aieb_errf(c->err, AIEB_EINVAL, "%s: line %zu: %s must be true or false", c->origin,
                     v->line, key);
}

/* A string key: text, or null (stored as NULL with its bit set). */
static int parse_text(pctx *c, const char *key, const fmt_ynode *v, char **out)
{
    if (fmt_ynode_is_null(v))
        return 0;
    if (v->type != FMT_Y_SCALAR)
        return aieb_errf(c->err, AIEB_EINVAL, "%s: line %zu: %s must be text or null, not %s",
                         c->origin, v->line, key, fmt_ynode_kind(v));
    free(*out);
    *out = strdup(v->str);
    if (!*out)
        return aieb_errf(c->err, AIEB_ENOMEM, "%s: out of memory", c->origin);
    return 0;
}

static int parse_effort(pctx *c, const fmt_ynode *v, char **out)
{
    int rc = parse_text(c, "reasoning_effort", v, out);
    if (rc || !*out)
        return rc;
    if (strcmp(*out, "low") && strcmp(*out, "medium") && strcmp(*out, "high"))
        return aieb_errf(c->err, AIEB_EINVAL,
                         "%s: line %zu: reasoning_effort must be low, medium or high, not '%s'",
                         c->origin, v->line, *out);
    return 0;
}

/* Reads one key of a rule into f. Returns 1 when key is not a rule key. */
static int parse_field(pctx *c, const char *key, const fmt_ynode *v, fields *f)
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

static int expect_map(pctx *c, const fmt_ynode *v, const char *what)
{
    if (v && v->type == FMT_Y_MAP)
        return 0;
    return aieb_errf(c->err, AIEB_EINVAL, "%s: line %zu: %s must be a mapping, not %s", c->origin,
                     v ? v->line : 0, what, fmt_ynode_kind(v));
}

static int key_text(pctx *c, const fmt_ynode *k, const char **out)
{
    if (k->type != FMT_Y_SCALAR)
        return aieb_errf(c->err, AIEB_EINVAL, "%s: line %zu: a key must be text, not %s", c->origin,
                         k->line, fmt_ynode_kind(k));
    *out = k->str;
    return 0;
}

/* A mapping of rule keys only (an override, a model entry, the default). */
static int parse_rule_map(pctx *c, const fmt_ynode *m, const char *what, fields *f)
{
    int rc = expect_map(c, m, what);
    for (size_t i = 0; !rc && i + 1 < m->n_kids; i += 2) {
        const char *key = NULL;
        if ((rc = key_text(c, m->kids[i], &key)) != 0)
            break;
        rc = parse_field(c, key, m->kids[i + 1], f);
        if (rc == 1)
            rc = aieb_errf(c->err, AIEB_EINVAL, "%s: line %zu: unknown key '%s' in %s", c->origin,
                           m->kids[i]->line, key, what);
    }
    return rc;
}

static int parse_patterns(pctx *c, const fmt_ynode *v, family *fa)
{
    if (v->type == FMT_Y_SCALAR && !fmt_ynode_is_null(v)) {
        fa->patterns = calloc(1, sizeof *fa->patterns);
        if (!fa->patterns || !(fa->patterns[0] = strdup(v->str)))
            return aieb_errf(c->err, AIEB_ENOMEM, "%s: out of memory", c->origin);
        fa->n_patterns = 1;
        return 0;
    }
    if (v->type != FMT_Y_SEQ)
        return aieb_errf(c->err, AIEB_EINVAL,
                         "%s: line %zu: patterns of family '%s' must be a list of text", c->origin,
                         v->line, fa->name);
    fa->patterns = calloc(v->n_kids ? v->n_kids : 1, sizeof *fa->patterns);
    if (!fa->patterns)
        return aieb_errf(c->err, AIEB_ENOMEM, "%s: out of memory", c->origin);
    for (size_t i = 0; i < v->n_kids; i++) {
        const fmt_ynode *p = v->kids[i];
        if (p->type != FMT_Y_SCALAR || fmt_ynode_is_null(p) || p->str[0] == '\0')
            return aieb_errf(c->err, AIEB_EINVAL,
                             "%s: line %zu: a pattern of family '%s' must be non-empty text",
                             c->origin, p->line, fa->name);
        if (!(fa->patterns[fa->n_patterns] = strdup(p->str)))
            return aieb_errf(c->err, AIEB_ENOMEM, "%s: out of memory", c->origin);
        fa->n_patterns++;
    }
    return 0;
}

static int parse_overrides(pctx *c, const fmt_ynode *v, family *fa)
{
    if (fmt_ynode_is_null(v))
        return 0;
    int rc = expect_map(c, v, "model_overrides");
    if (rc)
        return rc;
    fa->overrides = calloc(v->n_kids / 2 + 1, sizeof *fa->overrides);
    if (!fa->overrides)
        return aieb_errf(c->err, AIEB_ENOMEM, "%s: out of memory", c->origin);
    for (size_t i = 0; i + 1 < v->n_kids; i += 2) {
        const char *key = NULL;
        if ((rc = key_text(c, v->kids[i], &key)) != 0)
            return rc;
        override *o = &fa->overrides[fa->n_overrides++];
        if (!(o->key = strdup(key)))
            return aieb_errf(c->err, AIEB_ENOMEM, "%s: out of memory", c->origin);
        if ((rc = parse_rule_map(c, v->kids[i + 1], "a model override", &o->f)) != 0)
            return rc;
    }
    return 0;
}

static int parse_family(pctx *c, const char *name, const fmt_ynode *m, family *fa)
{
    if (!(fa->name = strdup(name)))
        return aieb_errf(c->err, AIEB_ENOMEM, "%s: out of memory", c->origin);
    int rc = expect_map(c, m, "a family");
    for (size_t i = 0; !rc && i + 1 < m->n_kids; i += 2) {
        const char *key = NULL;
        if ((rc = key_text(c, m->kids[i], &key)) != 0)
            break;
        const fmt_ynode *v = m->kids[i + 1];
        if (strcmp(key, "patterns") == 0)
            rc = parse_patterns(c, v, fa);
        else if (strcmp(key, "model_overrides") == 0)
            rc = parse_overrides(c, v, fa);
        else if ((rc = parse_field(c, key, v, &fa->f)) == 1)
            rc = aieb_errf(c->err, AIEB_EINVAL, "%s: line %zu: unknown key '%s' in family '%s'",
                           c->origin, m->kids[i]->line, key, name);
    }
    if (!rc && fa->n_patterns == 0)
        rc = aieb_errf(c->err, AIEB_EINVAL, "%s: line %zu: family '%s' has no patterns", c->origin,
                       m->line, name);
    if (!rc && !(fa->f.set & F_TYPE))
        rc = aieb_errf(c->err, AIEB_EINVAL, "%s: line %zu: family '%s' has no type", c->origin,
                       m->line, name);
    return rc;
}

static int parse_families(pctx *c, const fmt_ynode *v, aieb_format_registry *reg)
{
    if (fmt_ynode_is_null(v))
        return 0;
    int rc = expect_map(c, v, "families");
    if (rc)
        return rc;
    reg->families = calloc(v->n_kids / 2 + 1, sizeof *reg->families);
    if (!reg->families)
        return aieb_errf(c->err, AIEB_ENOMEM, "%s: out of memory", c->origin);
    for (size_t i = 0; i + 1 < v->n_kids; i += 2) {
        const char *name = NULL;
        if ((rc = key_text(c, v->kids[i], &name)) != 0)
            return rc;
        rc = parse_family(c, name, v->kids[i + 1], &reg->families[reg->n_families++]);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_models(pctx *c, const fmt_ynode *v, aieb_format_registry *reg)
{
    if (fmt_ynode_is_null(v))
        return 0;
    int rc = expect_map(c, v, "models");
    if (rc)
        return rc;
    reg->models = calloc(v->n_kids / 2 + 1, sizeof *reg->models);
    if (!reg->models)
        return aieb_errf(c->err, AIEB_ENOMEM, "%s: out of memory", c->origin);
    for (size_t i = 0; i + 1 < v->n_kids; i += 2) {
        const char *name = NULL;
        if ((rc = key_text(c, v->kids[i], &name)) != 0)
            return rc;
        model_entry *me = &reg->models[reg->n_models++];
        if (!(me->name = strdup(name)))
            return aieb_errf(c->err, AIEB_ENOMEM, "%s: out of memory", c->origin);
        if ((rc = parse_rule_map(c, v->kids[i + 1], "a model entry", &me->f)) != 0)
            return rc;
        if (!(me->f.set & F_TYPE))
            return aieb_errf(c->err, AIEB_EINVAL, "%s: line %zu: model '%s' has no type", c->origin,
                             v->kids[i]->line, name);
    }
    return 0;
}

static int parse_root(pctx *c, const fmt_ynode *root, aieb_format_registry *reg)
{
    if (!root)
        return 0; /* an empty file: no families, default null */
    int rc = expect_map(c, root, "the registry");
    for (size_t i = 0; !rc && i + 1 < root->n_kids; i += 2) {
        const char *key = NULL;
        if ((rc = key_text(c, root->kids[i], &key)) != 0)
            break;
        const fmt_ynode *v = root->kids[i + 1];
        if (strcmp(key, "families") == 0)
            rc = parse_families(c, v, reg);
        else if (strcmp(key, "models") == 0)
            rc = parse_models(c, v, reg);
        else if (strcmp(key, "default") == 0)
            rc = fmt_ynode_is_null(v) ? 0 : parse_rule_map(c, v, "default", &reg->dflt);
        else
            rc = aieb_errf(c->err, AIEB_EINVAL,
                           "%s: line %zu: unknown top-level key '%s' (expected families, "
                           "models, default)",
                           c->origin, root->kids[i]->line, key);
    }
    return rc;
}

int aieb_format_registry_parse(const char *yaml, size_t len, const char *origin,
                               aieb_format_registry **out, aieb_err *err)
{
    *out = NULL;
    if (len > AIEB_FORMAT_MAX_FILE_BYTES)
        return aieb_errf(err, AIEB_ETOOBIG, "%s: %zu bytes, larger than the %d-byte limit", origin,
                         len, AIEB_FORMAT_MAX_FILE_BYTES);
    fmt_ynode *root = NULL;
    int rc = fmt_ytree_parse(yaml, len, origin, &root, err);
    if (rc)
        return rc;
    aieb_format_registry *reg = calloc(1, sizeof *reg);
    if (!reg) {
        fmt_ytree_free(root);
        return aieb_errf(err, AIEB_ENOMEM, "%s: out of memory", origin);
    }
    pctx c = {.origin = origin, .err = err};
    rc = parse_root(&c, root, reg);
    fmt_ytree_free(root);
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
