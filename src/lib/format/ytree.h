/* ytree.h - a small YAML document tree built from libyaml's event API, for the
 * reasoning-format registry. Internal to src/lib/format. */
#ifndef AIEB_FORMAT_YTREE_H
#define AIEB_FORMAT_YTREE_H

#include <stdbool.h>
#include <stddef.h>

#include "aieb/err.h"

/* Caps on a document: nesting depth and node count. */
#define FMT_YTREE_MAX_DEPTH 32
#define FMT_YTREE_MAX_NODES 100000

typedef enum { FMT_Y_SCALAR, FMT_Y_SEQ, FMT_Y_MAP } fmt_ytype;

typedef struct fmt_ynode {
    fmt_ytype type;
    char *str;               /* scalar text (NUL-terminated), NULL for collections */
    bool plain;              /* scalar written without quotes (so `null` and `~` mean null) */
    size_t line;             /* 1-based line where the node starts */
    struct fmt_ynode **kids; /* seq: items; map: key, value, key, value, ... */
    size_t n_kids;
} fmt_ynode;

/* Parses len bytes of YAML (one document; anchors and aliases are refused) into a
 * tree. An empty document gives *root == NULL. Errors (AIEB_EINVAL with origin and
 * line, AIEB_ETOOBIG past the caps, AIEB_ENOMEM) leave *root NULL. */
int fmt_ytree_parse(const char *yaml, size_t len, const char *origin, fmt_ynode **root,
                    aieb_err *err);

/* Frees a tree (NULL is fine). */
void fmt_ytree_free(fmt_ynode *n);

/* True when n is a plain scalar null ("null", "Null", "NULL", "~" or empty). */
bool fmt_ynode_is_null(const fmt_ynode *n);

/* Short name of a node's kind for messages: "a mapping", "a list", "text". */
const char *fmt_ynode_kind(const fmt_ynode *n);

#endif
