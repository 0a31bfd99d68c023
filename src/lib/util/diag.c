/* diag.c - the list of problems (diag.h): added, formatted, printed. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/diag.h"

void aieb_diags_init(aieb_diags *d)
{
    memset(d, 0, sizeof *d);
}

void aieb_diags_free(aieb_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->items[i].file);
        free(d->items[i].key);
        free(d->items[i].message);
    }
    free(d->items);
    aieb_diags_init(d);
}

static char *dup_or_null(const char *s, int *fail)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    if (!p)
        *fail = 1;
    return p;
}

void aieb_diags_add(aieb_diags *d, aieb_diag_severity sev, const char *file, int line, int col,
                    const char *key, const char *fmt, ...)
{
    if (sev == AIEB_DIAG_ERROR)
        d->n_errors++;
    else
        d->n_warnings++;
    if (d->n >= AIEB_DIAGS_MAX) {
        d->dropped++;
        return;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        aieb_diag *p = realloc(d->items, cap * sizeof *p);
        if (!p) {
            d->dropped++;
            return;
        }
        d->items = p;
        d->cap = cap;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    aieb_diag g = {.severity = sev, .line = line, .col = col};
    int fail = 0;
    g.file = dup_or_null(file, &fail);
    g.key = dup_or_null(key, &fail);
    g.message = dup_or_null(msg, &fail);
    if (fail) {
        free(g.file);
        free(g.key);
        free(g.message);
        d->dropped++;
        return;
    }
    d->items[d->n++] = g;
}

int aieb_diag_format(const aieb_diag *g, aieb_buf *out)
{
    int rc = 0;
    if (g->file) {
        rc = aieb_buf_puts(out, g->file);
        if (!rc && g->line > 0)
            rc = aieb_buf_printf(out, ":%d:%d", g->line, g->col > 0 ? g->col : 1);
        if (!rc)
            rc = aieb_buf_puts(out, ": ");
    }
    if (!rc && g->severity == AIEB_DIAG_WARNING)
        rc = aieb_buf_puts(out, "warning: ");
    if (!rc && g->key)
        rc = aieb_buf_printf(out, "%s: ", g->key);
    if (!rc)
        rc = aieb_buf_puts(out, g->message);
    return rc;
}

/* Sort key: file name (NULL first), then line, col, then insertion order. */
static int cmp_diag_ptr(const void *pa, const void *pb)
{
    const aieb_diag *a = *(const aieb_diag *const *)pa;
    const aieb_diag *b = *(const aieb_diag *const *)pb;
    const char *fa = a->file ? a->file : "", *fb = b->file ? b->file : "";
    int c = strcmp(fa, fb);
    if (c)
        return c;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    if (a->col != b->col)
        return a->col < b->col ? -1 : 1;
    return a < b ? -1 : (a > b);
}

void aieb_diags_print(const aieb_diags *d, FILE *fp, int skip_warnings)
{
    /* Sorted through an array of pointers; without memory, in insertion order. */
    const aieb_diag **order = d->n ? malloc(d->n * sizeof *order) : NULL;
    size_t n = 0;
    for (size_t i = 0; order && i < d->n; i++)
        order[n++] = &d->items[i];
    if (order)
        qsort(order, n, sizeof *order, cmp_diag_ptr);
    aieb_buf line;
    aieb_buf_init(&line, 0);
    for (size_t i = 0; i < d->n; i++) {
        const aieb_diag *g = order ? order[i] : &d->items[i];
        if (skip_warnings && g->severity == AIEB_DIAG_WARNING)
            continue;
        aieb_buf_reset(&line);
        if (aieb_diag_format(g, &line) == 0)
            fprintf(fp, "%s\n", line.data);
    }
    aieb_buf_free(&line);
    free(order);
    if (d->dropped)
        fprintf(fp, "... and %zu more problem%s not shown\n", d->dropped,
                d->dropped == 1 ? "" : "s");
}
