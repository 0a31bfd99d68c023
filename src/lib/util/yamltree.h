/* yamltree.h - libyaml's event stream -> a small node tree, with caps, positions
 * and diagnostics. Internal to the library; the one YAML reader shared by the
 * config module (src/lib/config) and the reasoning-format registry
 * (src/lib/format).
 *
 * Every growth is bounded as it happens (file size, scalar size, nesting depth,
 * nodes counting each alias as a full copy of what it names, anchors and alias
 * uses), so a hostile document fails with a clear diagnostic instead of
 * exhausting memory. Problems go to an aieb_diags list with file, line, column
 * and, where one applies, the dotted key path.
 */
#ifndef AIEB_UTIL_YAMLTREE_H
#define AIEB_UTIL_YAMLTREE_H

#include <stddef.h>

#include "aieb/diag.h"
#include "aieb/err.h"

/* Hard ceiling on yt_limits.max_depth (the builder's stack is this deep). */
#define YT_DEPTH_CEILING 64

typedef enum { YT_SCALAR, YT_MAP, YT_SEQ } yt_kind;

typedef struct yt_node yt_node;
struct yt_node {
    yt_kind kind;
    int line, col;  /* 1-based start position */
    char *text;     /* scalar contents, NUL-terminated (no NUL inside) */
    size_t len;     /* scalar length */
    int plain;      /* scalar: unquoted and untagged, so null/bool/number words resolve */
    yt_node **kids; /* map: key0, value0, key1, value1, ...; seq: items */
    size_t n, cap;  /* entries in kids */
    size_t weight;  /* nodes in this subtree, counting alias expansions */
};

typedef struct yt_doc {
    yt_node *root; /* NULL for an empty document */
    yt_node **all; /* every node allocated, for freeing (aliases share nodes) */
    size_t n_all, cap_all;
} yt_doc;

/* What one kind of document may hold. */
typedef struct yt_limits {
    const char *what;        /* the input in messages: "a config file" */
    const char *doc_noun;    /* "configuration": "keep one configuration per file" */
    size_t max_file_bytes;   /* whole input */
    size_t max_scalar_bytes; /* one scalar */
    size_t max_depth;        /* nested maps/sequences, at most YT_DEPTH_CEILING */
    size_t max_nodes;        /* nodes, counting each alias as a copy of its target */
    size_t max_aliases;      /* anchors, and alias uses, each; 0 refuses both */
} yt_limits;

/* Parses data[0..len) (one YAML document, UTF-8 text) into doc, naming it file in
 * diagnostics. Returns 0; or AIEB_EINVAL / AIEB_ETOOBIG / AIEB_ENOMEM after
 * adding one error to d (syntax error, invalid UTF-8, binary data, a second
 * document, an unknown alias, a cap of lim exceeded). doc must be zeroed first;
 * free it with yt_doc_free whatever the result (doc->root is NULL on failure). */
int yt_parse(const char *file, const char *data, size_t len, const yt_limits *lim, yt_doc *doc,
             aieb_diags *d);

/* Frees every node of doc and zeroes it. Can't fail. */
void yt_doc_free(yt_doc *doc);

/* One key/value pair of a mapping after "<<" merge keys are resolved. */
typedef struct yt_pair {
    const yt_node *key;
    const yt_node *value;
} yt_pair;

/* Resolves map's pairs: explicit keys in order, then keys brought in by "<<"
 * merges that are not given explicitly. Duplicate explicit keys are reported to
 * d (as errors naming both lines, under path; file names the document) and only
 * the first is kept; complex (non-scalar) keys and bad merges are reported and
 * skipped. d may be NULL to report nothing. Returns 0 and a malloc'd array in
 * *pairs (NULL when empty), or AIEB_ENOMEM. */
int yt_map_pairs(const yt_node *map, const char *file, const char *path, aieb_diags *d,
                 yt_pair **pairs, size_t *n);

/* YAML 1.1 core words for a plain scalar (PyYAML's set): null (~, null, Null,
 * NULL, empty), booleans (true, yes, on, ... in lower, title and upper case).
 * yt_word_bool returns 1 and sets *b for a boolean; 0 otherwise. Can't fail. */
int yt_word_is_null(const char *s);
int yt_word_bool(const char *s, int *b);

/* 1 when n is a plain scalar null word; 0 otherwise (n may be NULL). */
int yt_is_null(const yt_node *n);

/* Short name of a node's kind for messages: "a mapping", "a list", "null",
 * "text" ("nothing" for NULL). Can't fail. */
const char *yt_describe(const yt_node *n);

/* Checks that s[0..len) is UTF-8 text; on failure writes the offset of the first
 * bad byte to *bad and returns 0. */
int yt_utf8_valid(const char *s, size_t len, size_t *bad);

#endif
