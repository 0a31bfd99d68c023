/* internal.h - pieces of the config module shared between its files.
 *
 *   yaml.c      the caps of a config file for the shared YAML tree (util/yamltree.c)
 *   schema.c    the table of every key: type, default, range, env override
 *   interp.c    ${VAR} and ${VAR:-default}
 *   value.c     one YAML node -> one typed field (strings, numbers, lists, maps)
 *   load.c      the layers: defaults < file < environment < --set
 *   validate.c  ranges and cross-field rules on the final values
 *   emit.c      the resolved config back to YAML
 *   diag.c      the problem list
 */
#ifndef AIEB_CONFIG_INTERNAL_H
#define AIEB_CONFIG_INTERNAL_H

#include <stddef.h>
#include <string.h>

#include "aieb/config.h"
#include "util/yamltree.h"

/* ==== YAML node tree (util/yamltree.h, with the config caps in yaml.c) ==== */

typedef yt_kind cfg_node_kind;
#define CFG_SCALAR YT_SCALAR
#define CFG_MAP    YT_MAP
#define CFG_SEQ    YT_SEQ
typedef yt_node cfg_node;
typedef yt_doc cfg_doc;
typedef yt_pair cfg_pair;

/* The limits of a config file (AIEB_CONFIG_MAX_*). */
extern const yt_limits cfg_yaml_limits;

/* Parses data[0..len) into doc under cfg_yaml_limits. Returns 0; or AIEB_EINVAL /
 * AIEB_ETOOBIG / AIEB_ENOMEM after adding one error to d (syntax error, invalid
 * UTF-8, binary data, a cap exceeded). doc must be zeroed first; free it with
 * cfg_doc_free whatever the result. */
static inline int cfg_yaml_parse(const char *file, const char *data, size_t len, cfg_doc *doc,
                                 aieb_diags *d)
{
    return yt_parse(file, data, len, &cfg_yaml_limits, doc, d);
}

static inline void cfg_doc_free(cfg_doc *doc)
{
    yt_doc_free(doc);
}

/* Resolves map's pairs with "<<" merges; duplicate and complex keys are reported
 * to d under path (see yt_map_pairs). Returns 0, or AIEB_ENOMEM. */
static inline int cfg_map_pairs(const cfg_node *map, const char *file, const char *path,
                                aieb_diags *d, cfg_pair **pairs, size_t *n)
{
    return yt_map_pairs(map, file, path, d, pairs, n);
}

/* YAML 1.1 core words for a plain scalar (see yt_word_is_null, yt_word_bool). */
static inline int cfg_word_is_null(const char *s)
{
    return yt_word_is_null(s);
}

static inline int cfg_word_bool(const char *s, int *b)
{
    return yt_word_bool(s, b);
}

/* Checks that s[0..len) is UTF-8 text; on failure writes the offset of the first
 * bad byte to *bad and returns 0. */
static inline int cfg_utf8_valid(const char *s, size_t len, size_t *bad)
{
    return yt_utf8_valid(s, len, bad);
}

/* ==== Schema (schema.c) ==== */

typedef enum {
    CFG_T_SECTION,   /* a mapping of keys below */
    CFG_T_STR,       /* char * */
    CFG_T_ENUM,      /* char *, one of choices */
    CFG_T_INT,       /* int */
    CFG_T_I64,       /* long long */
    CFG_T_DBL,       /* double */
    CFG_T_BOOL,      /* int 0/1 */
    CFG_T_TRI,       /* int 0/1, -1 = null */
    CFG_T_INT_LIST,  /* aieb_int_list */
    CFG_T_KV,        /* aieb_kv_list: string -> string map */
    CFG_T_JSON,      /* json_t * object: free-form map */
    CFG_T_JSON_LIST, /* json_t * array of objects, checked by the key's check */
} cfg_type;

#define CFG_NULLABLE 1u /* null is a valid value meaning unset */
#define CFG_INF_OK   2u /* .inf is accepted (DBL) */
#define CFG_MIN_EXCL 4u /* the lower bound is exclusive */
#define CFG_NONEMPTY 8u /* a string must not be empty */

struct cfg_key;
/* Extra check of a final value: returns 0 when fine, else writes "what is wrong
 * (expected ..., got ...)" to why. */
typedef int (*cfg_check_fn)(const struct cfg_key *k, const void *field, char *why, size_t n);

typedef struct cfg_key {
    const char *path; /* "scenario.generate_kwargs.max_new_tokens" */
    cfg_type type;
    size_t off;                 /* offset of the field in aieb_config */
    const char *def;            /* default as YAML scalar text; NULL for sections */
    unsigned flags;             /* CFG_* */
    double min, max;            /* numbers: range (NAN = no bound); lists: item range */
    long long null_int;         /* INT/I64 with CFG_NULLABLE: the value meaning unset */
    const char *const *choices; /* ENUM: NULL-terminated allowed values */
    cfg_check_fn check;         /* extra check, or NULL */
    const char *env;            /* environment override variable, or NULL */
} cfg_key;

extern const cfg_key cfg_keys[]; /* read-only table, schema order (sections first) */
extern const size_t cfg_n_keys;

/* Index of the key with exactly this path, or -1. */
int cfg_key_index(const char *path);

/* For a path below a CFG_T_KV or CFG_T_JSON key ("scenario.reasoning_params.x"),
 * returns that key's index and sets *sub to the rest ("x"); else -1. */
int cfg_key_map_prefix(const char *path, const char **sub);

/* Writes the closest known key to an unknown path into buf; returns 1 when one
 * is close enough to suggest, else 0. Last components and whole dotted paths
 * are compared by edit distance: a key of the same section within the typo
 * limit first, then one whose whole path is that close, then a key of the same
 * name in another section, then a typo of a name in another section. */
int cfg_suggest_key(const char *path, char *buf, size_t n);

/* Writes the closest of choices to s into buf; 1 when close enough. */
int cfg_suggest_word(const char *s, const char *const *choices, char *buf, size_t n);

/* Edit distance (optimal string alignment) between a and b, at most limit+1. */
size_t cfg_edit_distance(const char *a, const char *b, size_t limit);

/* Appends "an integer >= 1", "a number in (0, 1]", "true or false", ... */
void cfg_describe_expected(const cfg_key *k, aieb_buf *out);

/* ==== Sources (where each value came from) ==== */

typedef enum { CFG_SRC_DEFAULT = 0, CFG_SRC_FILE, CFG_SRC_ENV, CFG_SRC_SET } cfg_src_kind;

typedef struct cfg_src {
    cfg_src_kind kind;
    int line, col;     /* FILE */
    const char *label; /* FILE: the file name (owned by meta); ENV: the variable name */
} cfg_src;

struct aieb_config_meta {
    cfg_src *src; /* cfg_n_keys entries */
    char *file;   /* name of the loaded file, or NULL */
};

/* Writes "default", "FILE:LINE:COL", "env NAME" or "--set". */
void cfg_src_describe(const cfg_src *s, char *buf, size_t n);

/* ==== Setting values (value.c) ==== */

typedef struct cfg_ctx {
    aieb_config *cfg;
    aieb_diags *d;
    cfg_src src;     /* the layer being applied; FILE line/col are taken per node */
    int interpolate; /* expand ${VAR} in scalars (file and --set layers) */
    int lenient;     /* unknown keys in the file are warnings, not errors */
    int oom;         /* set when an allocation failed */
    char where[160]; /* label for diagnostics outside files: "env NUM_SAMPLES", "--set" */
} cfg_ctx;

/* Where a diagnostic about node n in the current layer is placed. */
void cfg_ctx_where(const cfg_ctx *c, const cfg_node *n, const char **file, int *line, int *col);

/* Sets key k from node n (scalar, map or sequence) in the current layer. On a
 * type error a diagnostic is added and the field keeps its value. When sub is
 * not NULL, k is a KV/JSON map and only the entry at sub is set. Returns 0, or
 * AIEB_ENOMEM (c->oom is set too). */
int cfg_set_value(cfg_ctx *c, int key_index, const char *sub, const cfg_node *n);

/* Adds an unknown generate_kwargs key to scenario.generate_kwargs.extra. */
int cfg_set_extra(cfg_ctx *c, const char *name, const cfg_node *n);

/* Converts a node to JSON: plain scalars resolve to null/bool/int/real/string,
 * quoted ones stay strings, maps and sequences recurse. Scalars are interpolated
 * when c->interpolate. Returns NULL after adding a diagnostic (or on OOM). */
json_t *cfg_node_to_json(cfg_ctx *c, const cfg_node *n, const char *path);

/* Resolves a plain scalar as the YAML core schema would: null, bool, int, real
 * (finite) or string. */
json_t *cfg_plain_to_json(const char *s, int plain);

/* Frees the field of key k inside cfg and zeroes it. */
void cfg_field_free(aieb_config *cfg, const cfg_key *k);

/* ==== Interpolation (interp.c) ==== */

/* Expands ${VAR}, ${VAR:-default} (defaults may nest, 8 levels) and $${ (a
 * literal "${") in in[0..len) into a new string (*out, *out_len); *expanded is
 * set to 1 when anything was substituted. The result is capped at
 * AIEB_CONFIG_MAX_SCALAR_BYTES. Returns 0, or AIEB_EINVAL / AIEB_ETOOBIG /
 * AIEB_ENOMEM with the reason in why. */
int cfg_interpolate(const char *in, size_t len, char **out, size_t *out_len, int *expanded,
                    char *why, size_t why_n);

/* ==== Validation (validate.c) ==== */

/* Checks every final value (ranges, choices, URLs, cross-field rules); adds a
 * diagnostic per problem at the place the value came from. */
void cfg_validate(const aieb_config *cfg, const char *file, aieb_diags *d);

/* Adds a diagnostic located at key k's source. */
void cfg_diag_at_key(const aieb_config *cfg, aieb_diags *d, aieb_diag_severity sev, int key_index,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ==== Field access ==== */

#define CFG_FIELD(cfg, k, type)  ((type *)((char *)(cfg) + (k)->off))
#define CFG_CFIELD(cfg, k, type) ((const type *)((const char *)(cfg) + (k)->off))

/* Doubles go through memcpy (a byte pointer cast to double * is what portability
 * checkers rightly distrust). */
static inline double cfg_get_dbl(const aieb_config *cfg, const cfg_key *k)
{
    double v;
    memcpy(&v, (const char *)cfg + k->off, sizeof v);
    return v;
}

static inline void cfg_set_dbl(aieb_config *cfg, const cfg_key *k, double v)
{
    memcpy((char *)cfg + k->off, &v, sizeof v);
}

#endif
