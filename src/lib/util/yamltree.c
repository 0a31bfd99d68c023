/* yamltree.c - libyaml's event stream -> a small node tree, with caps.
 *
 * We build our own tree rather than use yaml_parser_load() so that every
 * growth is bounded as it happens: nesting depth, number of nodes counting each
 * alias as a full copy of what it names (the "billion laughs" bomb stops after
 * max_nodes, not after exhausting memory), number of anchors and aliases, and
 * scalar size. Aliases share the anchored node; the document keeps a list of
 * every node it allocated, so freeing never walks the (shared) tree.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "util/yamltree.h"

/* ==== Text checks ==== */

int yt_utf8_valid(const char *s, size_t len, size_t *bad)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        size_t n;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1, cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2, cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3, cp = c & 0x07;
        } else {
            *bad = i;
            return 0;
        }
        if (len - i - 1 < n) {
            *bad = i;
            return 0;
        }
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xC0) != 0x80) {
                *bad = i;
                return 0;
            }
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        /* overlong forms, UTF-16 surrogates, beyond U+10FFFF */
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF)) {
            *bad = i;
            return 0;
        }
        i += n + 1;
    }
    return 1;
}

/* 1-based line and column (in characters) of byte offset off. */
static void position_of(const char *data, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < off; i++) {
        if (data[i] == '\n')
            l++, c = 1;
        else if (((unsigned char)data[i] & 0xC0) != 0x80)
            c++;
    }
    *line = l;
    *col = c;
}

/* Rejects binary data and invalid UTF-8 with a position, before libyaml sees it. */
static int check_text(const char *file, const char *what, const char *data, size_t len,
                      aieb_diags *d)
{
    size_t bad;
    int line, col;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) {
            position_of(data, i, &line, &col);
            aieb_diags_add(d, AIEB_DIAG_ERROR, file, line, col, NULL,
                           "binary data (byte 0x%02x at offset %zu); %s must be YAML text "
                           "(UTF-8)",
                           c, i, what);
            return AIEB_EINVAL;
        }
    }
    if (!yt_utf8_valid(data, len, &bad)) {
        position_of(data, bad, &line, &col);
        aieb_diags_add(d, AIEB_DIAG_ERROR, file, line, col, NULL,
                       "invalid UTF-8 (byte 0x%02x at offset %zu); save the file as UTF-8",
                       (unsigned char)data[bad], bad);
        return AIEB_EINVAL;
    }
    return 0;
}

/* ==== Core words ==== */

int yt_word_is_null(const char *s)
{
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

int yt_word_bool(const char *s, int *b)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON",  NULL};
    static const char *const no[] = {"false", "False", "FALSE", "no",  "No",
                                     "NO",    "off",   "Off",   "OFF", NULL};
    for (int i = 0; yes[i]; i++)
        if (strcmp(s, yes[i]) == 0)
            return *b = 1, 1;
    for (int i = 0; no[i]; i++)
        if (strcmp(s, no[i]) == 0)
            return *b = 0, 1;
    return 0;
}

int yt_is_null(const yt_node *n)
{
    return n && n->kind == YT_SCALAR && n->plain && yt_word_is_null(n->text);
}

const char *yt_describe(const yt_node *n)
{
    if (!n)
        return "nothing";
    switch (n->kind) {
    case YT_MAP:
        return "a mapping";
    case YT_SEQ:
        return "a list";
    default:
        return yt_is_null(n) ? "null" : "text";
    }
}

/* ==== Tree building ==== */

typedef struct anchor {
    char *name;
    yt_node *node;
} anchor;

typedef struct builder {
    const char *file;
    const yt_limits *lim;
    size_t max_depth; /* lim->max_depth, at most YT_DEPTH_CEILING */
    yt_doc *doc;
    aieb_diags *d;
    yt_node *stack[YT_DEPTH_CEILING];
    char *stack_anchor[YT_DEPTH_CEILING]; /* anchor of each open container */
    size_t depth;
    anchor *anchors;
    size_t n_anchors;
    size_t n_aliases;
    size_t expanded; /* nodes so far, each alias counting as a copy of its target */
    int n_docs;
} builder;

static int fail_at(builder *b, int rc, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_at(builder *b, int rc, const yaml_mark_t *m, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    aieb_diags_add(b->d, AIEB_DIAG_ERROR, b->file, (int)m->line + 1, (int)m->column + 1, NULL, "%s",
                   msg);
    return rc;
}

static int count_nodes(builder *b, size_t add, const yaml_mark_t *m)
{
    size_t max = b->lim->max_nodes;
    if (add > max || b->expanded > max - add)
        return fail_at(b, AIEB_ETOOBIG, m,
                       "too many YAML nodes (more than %zu, counting each alias as a copy of "
                       "what it names); is this an alias expansion bomb?",
                       max);
    b->expanded += add;
    return 0;
}

static yt_node *new_node(builder *b, yt_kind kind, const yaml_mark_t *m)
{
    yt_doc *doc = b->doc;
    if (doc->n_all == doc->cap_all) {
        size_t cap = doc->cap_all ? doc->cap_all * 2 : 64;
        yt_node **p = realloc(doc->all, cap * sizeof *p);
        if (!p)
            return NULL;
        doc->all = p;
        doc->cap_all = cap;
    }
    yt_node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->line = (int)m->line + 1;
    n->col = (int)m->column + 1;
    n->weight = 1;
    doc->all[doc->n_all++] = n;
    return n;
}

static int add_child(builder *b, yt_node *child)
{
    if (b->depth == 0) {
        b->doc->root = child;
        return 0;
    }
    yt_node *parent = b->stack[b->depth - 1];
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 8;
        yt_node **p = realloc(parent->kids, cap * sizeof *p);
        if (!p)
            return AIEB_ENOMEM;
        parent->kids = p;
        parent->cap = cap;
    }
    parent->kids[parent->n++] = child;
    return 0;
}

static int add_anchor(builder *b, const char *name, yt_node *node, const yaml_mark_t *m)
{
    if (b->lim->max_aliases == 0)
        return fail_at(b, AIEB_EINVAL, m,
                       "anchor &%s: YAML anchors and aliases are not supported in %s", name,
                       b->lim->what);
    if (b->n_anchors >= b->lim->max_aliases)
        return fail_at(b, AIEB_ETOOBIG, m, "too many anchors (more than %zu)", b->lim->max_aliases);
    if (b->n_anchors % 16 == 0) {
        anchor *p = realloc(b->anchors, (b->n_anchors + 16) * sizeof *p);
        if (!p)
            return AIEB_ENOMEM;
        b->anchors = p;
    }
    char *copy = strdup(name);
    if (!copy)
        return AIEB_ENOMEM;
    b->anchors[b->n_anchors].name = copy;
    b->anchors[b->n_anchors].node = node;
    b->n_anchors++;
    return 0;
}

static const char *STR_TAG = "tag:yaml.org,2002:str";

static int on_scalar(builder *b, const yaml_event_t *ev)
{
    const yaml_mark_t *m = &ev->start_mark;
    size_t len = ev->data.scalar.length;
    if (len > b->lim->max_scalar_bytes)
        return fail_at(b, AIEB_ETOOBIG, m,
                       "value too long (%zu bytes, more than the %zu-byte limit)", len,
                       b->lim->max_scalar_bytes);
    if (memchr(ev->data.scalar.value, '\0', len))
        return fail_at(b, AIEB_EINVAL, m, "a value contains a NUL character (\\0); remove it");
    int rc = count_nodes(b, 1, m);
    if (rc)
        return rc;
    yt_node *n = new_node(b, YT_SCALAR, m);
    if (!n)
        return AIEB_ENOMEM;
    n->text = malloc(len + 1);
    if (!n->text)
        return AIEB_ENOMEM;
    memcpy(n->text, ev->data.scalar.value, len);
    n->text[len] = '\0';
    n->len = len;
    const char *tag = (const char *)ev->data.scalar.tag;
    if (tag)
        n->plain = strcmp(tag, STR_TAG) != 0;
    else
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (ev->data.scalar.anchor && (rc = add_anchor(b, (const char *)ev->data.scalar.anchor, n, m)))
        return rc;
    return add_child(b, n);
}

static int on_start(builder *b, const yaml_event_t *ev, yt_kind kind)
{
    const yaml_mark_t *m = &ev->start_mark;
    if (b->depth >= b->max_depth)
        return fail_at(b, AIEB_ETOOBIG, m, "nested too deeply (more than %zu levels)",
                       b->max_depth);
    int rc = count_nodes(b, 1, m);
    if (rc)
        return rc;
    yt_node *n = new_node(b, kind, m);
    if (!n)
        return AIEB_ENOMEM;
    const yaml_char_t *a =
        kind == YT_MAP ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    char *name = NULL;
    if (a && b->lim->max_aliases == 0) /* refused where it is written, not at the end */
        return add_anchor(b, (const char *)a, n, m);
    if (a && !(name = strdup((const char *)a)))
        return AIEB_ENOMEM;
    b->stack[b->depth] = n;
    b->stack_anchor[b->depth] = name;
    b->depth++;
    return 0;
}

static int on_end(builder *b, const yaml_event_t *ev)
{
    if (b->depth == 0)
        return AIEB_EINVAL; /* libyaml never does this */
    b->depth--;
    yt_node *n = b->stack[b->depth];
    char *name = b->stack_anchor[b->depth];
    b->stack_anchor[b->depth] = NULL;
    size_t w = 1;
    for (size_t i = 0; i < n->n; i++)
        w = w > SIZE_MAX - n->kids[i]->weight ? SIZE_MAX : w + n->kids[i]->weight;
    n->weight = w;
    int rc = 0;
    if (name)
        rc = add_anchor(b, name, n, &ev->start_mark);
    free(name);
    if (rc)
        return rc;
    return add_child(b, n);
}

static int on_alias(builder *b, const yaml_event_t *ev)
{
    const yaml_mark_t *m = &ev->start_mark;
    const char *name = (const char *)ev->data.alias.anchor;
    if (b->lim->max_aliases == 0)
        return fail_at(b, AIEB_EINVAL, m,
                       "alias *%s: YAML anchors and aliases are not supported in %s", name,
                       b->lim->what);
    if (++b->n_aliases > b->lim->max_aliases)
        return fail_at(b, AIEB_ETOOBIG, m, "too many aliases (more than %zu uses of *name)",
                       b->lim->max_aliases);
    yt_node *target = NULL;
    for (size_t i = b->n_anchors; i-- > 0;)
        if (strcmp(b->anchors[i].name, name) == 0) {
            target = b->anchors[i].node;
            break;
        }
    if (!target)
        return fail_at(b, AIEB_EINVAL, m,
                       "unknown alias *%s (define the anchor &name before using *name)", name);
    int rc = count_nodes(b, target->weight, m);
    if (rc)
        return rc;
    return add_child(b, target);
}

/* libyaml's own error, with a hint for the commonest cause (tab indentation). */
static int syntax_error(builder *b, const yaml_parser_t *p, const char *data, size_t len)
{
    int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
    const char *problem = p->problem ? p->problem : "unknown problem";
    char ctx[256] = "";
    if (p->context)
        snprintf(ctx, sizeof ctx, " (%s at line %d)", p->context, (int)p->context_mark.line + 1);
    /* Look at the offending line's indentation. */
    const char *hint = "";
    size_t i = 0;
    for (int l = 1; l < line && i < len; i++)
        if (data[i] == '\n')
            l++;
    for (; i < len && (data[i] == ' ' || data[i] == '\t'); i++)
        if (data[i] == '\t') {
            hint = "; YAML does not allow tabs for indentation: indent with spaces";
            break;
        }
    if (p->error == YAML_READER_ERROR)
        line = 0, col = 0;
    aieb_diags_add(b->d, AIEB_DIAG_ERROR, b->file, line, col, NULL, "YAML syntax error: %s%s%s",
                   problem, ctx, hint);
    return AIEB_EINVAL;
}

int yt_parse(const char *file, const char *data, size_t len, const yt_limits *lim, yt_doc *doc,
             aieb_diags *d)
{
    if (len > lim->max_file_bytes) {
        aieb_diags_add(d, AIEB_DIAG_ERROR, file, 0, 0, NULL,
                       "%zu bytes, larger than the %zu-byte limit for %s; is this the right "
                       "file?",
                       len, lim->max_file_bytes, lim->what);
        return AIEB_ETOOBIG;
    }
    int rc = check_text(file, lim->what, data, len, d);
    if (rc)
        return rc;

    builder b = {.file = file, .lim = lim, .doc = doc, .d = d};
    b.max_depth = lim->max_depth < YT_DEPTH_CEILING ? lim->max_depth : YT_DEPTH_CEILING;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return AIEB_ENOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
    int done = 0;
    while (!done && rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = parser.error == YAML_MEMORY_ERROR ? AIEB_ENOMEM
                                                   : syntax_error(&b, &parser, data, len);
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++b.n_docs > 1)
                rc = fail_at(&b, AIEB_EINVAL, &ev.start_mark,
                             "more than one YAML document (a second '---'); keep one %s per "
                             "file",
                             lim->doc_noun);
            break;
        case YAML_SCALAR_EVENT:
            rc = on_scalar(&b, &ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
            rc = on_start(&b, &ev, YT_SEQ);
            break;
        case YAML_MAPPING_START_EVENT:
            rc = on_start(&b, &ev, YT_MAP);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            rc = on_end(&b, &ev);
            break;
        case YAML_ALIAS_EVENT:
            rc = on_alias(&b, &ev);
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    for (size_t i = 0; i < b.depth; i++)
        free(b.stack_anchor[i]);
    for (size_t i = 0; i < b.n_anchors; i++)
        free(b.anchors[i].name);
    free(b.anchors);
    if (rc == AIEB_ENOMEM)
        aieb_diags_add(d, AIEB_DIAG_ERROR, file, 0, 0, NULL, "out of memory while parsing");
    if (rc)
        doc->root = NULL;
    return rc;
}

void yt_doc_free(yt_doc *doc)
{
    for (size_t i = 0; i < doc->n_all; i++) {
        free(doc->all[i]->text);
        free(doc->all[i]->kids);
        free(doc->all[i]);
    }
    free(doc->all);
    memset(doc, 0, sizeof *doc);
}

/* ==== Mapping pairs with "<<" merges and duplicate detection ==== */

typedef struct cand {
    yt_pair p;
    size_t rank;  /* position in the resolved order */
    int explicit; /* written in this mapping (not merged in) */
    int keep;
} cand;

static int cmp_cand_key(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    int c = strcmp(a->p.key->text, b->p.key->text);
    if (c)
        return c;
    return a->rank < b->rank ? -1 : (a->rank > b->rank);
}

static int cmp_cand_rank(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    return a->rank < b->rank ? -1 : (a->rank > b->rank);
}

static int is_merge_key(const yt_node *k)
{
    return k->kind == YT_SCALAR && k->plain && strcmp(k->text, "<<") == 0;
}

static int push_cand(cand **c, size_t *n, size_t *cap, const yt_node *k, const yt_node *v,
                     int explicit)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        cand *p = realloc(*c, nc * sizeof *p);
        if (!p)
            return AIEB_ENOMEM;
        *c = p;
        *cap = nc;
    }
    (*c)[*n] = (cand){.p = {k, v}, .rank = *n, .explicit = explicit, .keep = 1};
    (*n)++;
    return 0;
}

static int merge_from(const yt_node *src, cand **c, size_t *n, size_t *cap)
{
    yt_pair *sub = NULL;
    size_t nsub = 0;
    int rc = yt_map_pairs(src, NULL, NULL, NULL, &sub, &nsub);
    for (size_t i = 0; rc == 0 && i < nsub; i++)
        rc = push_cand(c, n, cap, sub[i].key, sub[i].value, 0);
    free(sub);
    return rc;
}

int yt_map_pairs(const yt_node *map, const char *file, const char *path, aieb_diags *d,
                 yt_pair **pairs, size_t *n_out)
{
    *pairs = NULL;
    *n_out = 0;
    cand *c = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    const char *pfx = path && *path ? path : "";
    const char *dot = path && *path ? "." : "";
    /* explicit keys first, so that they win over merged ones */
    for (size_t i = 0; rc == 0 && i + 1 < map->n; i += 2) {
        const yt_node *k = map->kids[i];
        if (k->kind != YT_SCALAR) {
            if (d)
                aieb_diags_add(d, AIEB_DIAG_ERROR, file, k->line, k->col,
                               path && *path ? path : NULL, "a key must be a plain word, not a %s",
                               k->kind == YT_MAP ? "mapping" : "sequence");
            continue;
        }
        if (!is_merge_key(k))
            rc = push_cand(&c, &n, &cap, k, map->kids[i + 1], 1);
    }
    for (size_t i = 0; rc == 0 && i + 1 < map->n; i += 2) {
        const yt_node *k = map->kids[i], *v = map->kids[i + 1];
        if (!is_merge_key(k))
            continue;
        if (v->kind == YT_MAP) {
            rc = merge_from(v, &c, &n, &cap);
        } else if (v->kind == YT_SEQ) {
            for (size_t j = 0; rc == 0 && j < v->n; j++) {
                if (v->kids[j]->kind == YT_MAP)
                    rc = merge_from(v->kids[j], &c, &n, &cap);
                else if (d)
                    aieb_diags_add(d, AIEB_DIAG_ERROR, file, v->kids[j]->line, v->kids[j]->col,
                                   NULL, "'<<' (merge) takes mappings, e.g. <<: [*a, *b]");
            }
        } else if (d) {
            aieb_diags_add(d, AIEB_DIAG_ERROR, file, v->line, v->col, NULL,
                           "'<<' (merge) takes a mapping or a list of mappings, e.g. "
                           "<<: *defaults");
        }
    }
    if (rc) {
        free(c);
        return rc;
    }
    if (n > 1)
        qsort(c, n, sizeof *c, cmp_cand_key);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(c[i].p.key->text, c[i - 1].p.key->text) != 0)
            continue;
        size_t first = i - 1;
        while (!c[first].keep)
            first--;
        c[i].keep = 0;
        if (d && c[i].explicit && c[first].explicit) {
            char kp[512];
            snprintf(kp, sizeof kp, "%s%s%s", pfx, dot, c[i].p.key->text);
            aieb_diags_add(d, AIEB_DIAG_ERROR, file, c[i].p.key->line, c[i].p.key->col, kp,
                           "duplicate key (first given on line %d); remove one of them",
                           c[first].p.key->line);
        }
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (c[i].keep)
            c[kept++] = c[i];
    if (kept > 1)
        qsort(c, kept, sizeof *c, cmp_cand_rank);
    yt_pair *out = kept ? malloc(kept * sizeof *out) : NULL;
    if (kept && !out) {
        free(c);
        return AIEB_ENOMEM;
    }
    for (size_t i = 0; i < kept; i++)
        out[i] = c[i].p;
    free(c);
    *pairs = out;
    *n_out = kept;
    return 0;
}
