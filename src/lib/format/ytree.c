/* ytree.c - YAML text -> fmt_ynode tree with libyaml's event API. */
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "format/ytree.h"

typedef struct builder {
    const char *origin;
    size_t n_nodes;
    fmt_ynode *stack[FMT_YTREE_MAX_DEPTH + 1];
    size_t depth;
    fmt_ynode *root;
    aieb_err *err;
} builder;

void fmt_ytree_free(fmt_ynode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n_kids; i++)
        fmt_ytree_free(n->kids[i]);
    free(n->kids);
    free(n->str);
    free(n);
}

bool fmt_ynode_is_null(const fmt_ynode *n)
{
    if (!n || n->type != FMT_Y_SCALAR || !n->plain)
        return false;
    const char *s = n->str;
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

const char *fmt_ynode_kind(const fmt_ynode *n)
{
    if (!n)
        return "nothing";
    switch (n->type) {
    case FMT_Y_MAP:
        return "a mapping";
    case FMT_Y_SEQ:
        return "a list";
    default:
        return fmt_ynode_is_null(n) ? "null" : "text";
    }
}

static int add_child(builder *b, fmt_ynode *parent, fmt_ynode *kid)
{
    if ((parent->n_kids & (parent->n_kids - 1)) == 0) { /* 0, 1, 2, 4, ...: grow */
        size_t cap = parent->n_kids ? parent->n_kids * 2 : 1;
        fmt_ynode **k = realloc(parent->kids, cap * sizeof *k);
        if (!k)
            return aieb_errf(b->err, AIEB_ENOMEM, "%s: out of memory", b->origin);
        parent->kids = k;
    }
    parent->kids[parent->n_kids++] = kid;
    return 0;
}

/* Attaches a finished or opened node to the current collection (or makes it root). */
static int attach(builder *b, fmt_ynode *n)
{
    if (++b->n_nodes > FMT_YTREE_MAX_NODES) {
        fmt_ytree_free(n);
        return aieb_errf(b->err, AIEB_ETOOBIG, "%s: line %zu: more than %d YAML nodes", b->origin,
                         n->line, FMT_YTREE_MAX_NODES);
    }
    if (b->depth == 0) {
        b->root = n;
        return 0;
    }
    int rc = add_child(b, b->stack[b->depth - 1], n);
    if (rc)
        fmt_ytree_free(n);
    return rc;
}

static fmt_ynode *new_node(fmt_ytype t, size_t line)
{
    fmt_ynode *n = calloc(1, sizeof *n);
    if (n) {
        n->type = t;
        n->line = line;
    }
    return n;
}

static int on_event(builder *b, const yaml_event_t *ev)
{
    size_t line = ev->start_mark.line + 1;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        return aieb_errf(b->err, AIEB_EINVAL, "%s: line %zu: YAML aliases are not supported",
                         b->origin, line);
    case YAML_SCALAR_EVENT: {
        if (ev->data.scalar.anchor)
            return aieb_errf(b->err, AIEB_EINVAL, "%s: line %zu: YAML anchors are not supported",
                             b->origin, line);
        fmt_ynode *n = new_node(FMT_Y_SCALAR, line);
        if (n)
            n->str = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
        if (!n || !n->str) {
            fmt_ytree_free(n);
            return aieb_errf(b->err, AIEB_ENOMEM, "%s: out of memory", b->origin);
        }
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        return attach(b, n);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
        const yaml_char_t *anchor =
            seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor;
        if (anchor)
            return aieb_errf(b->err, AIEB_EINVAL, "%s: line %zu: YAML anchors are not supported",
                             b->origin, line);
        if (b->depth >= FMT_YTREE_MAX_DEPTH)
            return aieb_errf(b->err, AIEB_ETOOBIG, "%s: line %zu: nested deeper than %d levels",
                             b->origin, line, FMT_YTREE_MAX_DEPTH);
        fmt_ynode *n = new_node(seq ? FMT_Y_SEQ : FMT_Y_MAP, line);
        if (!n)
            return aieb_errf(b->err, AIEB_ENOMEM, "%s: out of memory", b->origin);
        int rc = attach(b, n);
        if (rc)
            return rc;
        b->stack[b->depth++] = n;
        return 0;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (b->depth > 0)
            b->depth--;
        return 0;
    default:
        return 0;
    }
}

int fmt_ytree_parse(const char *yaml, size_t len, const char *origin, fmt_ynode **root,
                    aieb_err *err)
{
    *root = NULL;
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return aieb_errf(err, AIEB_ENOMEM, "%s: cannot start the YAML parser", origin);
    yaml_parser_set_input_string(&p, (const unsigned char *)yaml, len);
    builder b = {.origin = origin, .err = err};
    int rc = 0, docs = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = aieb_errf(err, AIEB_EINVAL, "%s: line %zu: %s", origin,
                           (size_t)p.problem_mark.line + 1, p.problem ? p.problem : "invalid YAML");
            break;
        }
        yaml_event_type_t t = ev.type;
        if (t == YAML_DOCUMENT_START_EVENT && ++docs > 1)
            rc = aieb_errf(err, AIEB_EINVAL, "%s: line %zu: expected one YAML document", origin,
                           (size_t)ev.start_mark.line + 1);
        else
            rc = on_event(&b, &ev);
        yaml_event_delete(&ev);
        if (rc || t == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&p);
    if (rc) {
        fmt_ytree_free(b.root);
        return rc;
    }
    *root = b.root;
    return 0;
}
