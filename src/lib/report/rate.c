/* rate.c - AI Energy Score star ratings against a reference table (rate.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aieb/fileio.h"
#include "aieb/rate.h"

/* ==== A small RFC 4180 reader ============================================== */

typedef struct {
    const char *p, *end;
    size_t line;
} cursor;

/* Reads one record into fields (malloc'd strings, *nf of them, at most cap).
 * Returns 1 with a record, 0 at the end, or -1 (bad quoting, too many fields,
 * out of memory). */
static int next_record(cursor *c, char **fields, size_t cap, size_t *nf)
{
    *nf = 0;
    if (c->p >= c->end)
        return 0;
    for (;;) {
        size_t size = 64, len = 0;
        char *f = malloc(size);
        if (!f)
            return -1;
        int quoted = c->p < c->end && *c->p == '"';
        if (quoted)
            c->p++;
        for (;;) {
            if (c->p >= c->end) {
                if (quoted) { /* an unterminated quote */
                    free(f);
                    return -1;
                }
                break;
            }
            char ch = *c->p;
            if (quoted) {
                if (ch == '"') {
                    if (c->p + 1 < c->end && c->p[1] == '"') {
                        c->p += 2;
                    } else {
                        c->p++;
                        quoted = 0;
                        continue;
                    }
                } else {
                    if (ch == '\n')
                        c->line++;
                    c->p++;
                }
            } else {
                if (ch == ',' || ch == '\n' || ch == '\r')
                    break;
                c->p++;
            }
            if (len + 2 > size) {
                char *g = realloc(f, size *= 2);
                if (!g) {
                    free(f);
                    return -1;
                }
                f = g;
            }
            f[len++] = ch;
        }
        f[len] = '\0';
        if (*nf == cap) {
            free(f);
            return -1;
        }
        fields[(*nf)++] = f;
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == '\r')
            c->p++;
        if (c->p < c->end && *c->p == '\n')
            c->p++;
        c->line++;
        return 1;
    }
}

static void free_fields(char **f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(f[i]);
}

static char *trimmed(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    char *t = malloc(n + 1);
    if (t) {
        memcpy(t, s, n);
        t[n] = '\0';
    }
    return t;
}

/* ==== The reference table ================================================== */

#define MAX_FIELDS 256

int aieb_rate_table_parse(const char *name, const char *buf, size_t len, aieb_rate_table *out,
                          aieb_err *err)
{
    static const char *const want[] = {"model", "task", "class", "gpu_wh_per_1000_queries"};
    memset(out, 0, sizeof *out);
    cursor c = {buf, buf + len, 1};
    /* A UTF-8 byte order mark, as spreadsheet programs write. */
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        c.p += 3;
    char *f[MAX_FIELDS];
    size_t nf = 0;
    int rc = next_record(&c, f, MAX_FIELDS, &nf);
    if (rc <= 0)
        return aieb_errf(err, AIEB_EINVAL,
                         "%s: %s; expected a header line with the columns model, task, class, "
                         "gpu_wh_per_1000_queries",
                         name, rc == 0 ? "empty file" : "unreadable first line");
    int col[4] = {-1, -1, -1, -1};
    for (size_t i = 0; i < nf; i++) {
        char *h = trimmed(f[i]);
        for (int k = 0; h && k < 4; k++)
            if (strcasecmp(h, want[k]) == 0 && col[k] < 0)
                col[k] = (int)i;
        free(h);
    }
    free_fields(f, nf);
    for (int k = 0; k < 4; k++)
        if (col[k] < 0)
            return aieb_errf(err, AIEB_EINVAL,
                             "%s:1: no column \"%s\" in the header; a reference table needs the "
                             "columns model, task, class, gpu_wh_per_1000_queries",
                             name, want[k]);
    size_t cap = 0;
    for (;;) {
        size_t line = c.line;
        rc = next_record(&c, f, MAX_FIELDS, &nf);
        if (rc == 0)
            break;
        if (rc < 0) {
            aieb_rate_table_free(out);
            return aieb_errf(err, AIEB_EINVAL, "%s:%zu: unreadable line (a quote left open?)", name,
                             line);
        }
        if (nf == 1 && f[0][0] == '\0') { /* a blank line */
            free_fields(f, nf);
            continue;
        }
        int need = col[0] > col[1] ? col[0] : col[1];
        need = col[2] > need ? col[2] : need;
        need = col[3] > need ? col[3] : need;
        if ((int)nf <= need) {
            free_fields(f, nf);
            aieb_rate_table_free(out);
            return aieb_errf(err, AIEB_EINVAL, "%s:%zu: %zu field(s), the header has more", name,
                             line, nf);
        }
        char *end = NULL;
        errno = 0;
        double v = strtod(f[col[3]], &end);
        while (end && (*end == ' ' || *end == '\t'))
            end++;
        if (end == f[col[3]] || (end && *end) || errno || !isfinite(v) || v <= 0) {
            aieb_errf(err, AIEB_EINVAL,
                      "%s:%zu: gpu_wh_per_1000_queries \"%.40s\" is not a positive number", name,
                      line, f[col[3]]);
            free_fields(f, nf);
            aieb_rate_table_free(out);
            return AIEB_EINVAL;
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 32;
            aieb_rate_row *r = realloc(out->rows, cap * sizeof *r);
            if (!r) {
                free_fields(f, nf);
                aieb_rate_table_free(out);
                return aieb_errf(err, AIEB_ENOMEM, "out of memory");
            }
            out->rows = r;
        }
        aieb_rate_row *row = &out->rows[out->n];
        row->model = trimmed(f[col[0]]);
        row->task = trimmed(f[col[1]]);
        row->cls = trimmed(f[col[2]]);
        row->gpu_wh_per_1000_queries = v;
        free_fields(f, nf);
        if (!row->model || !row->task || !row->cls) {
            free(row->model), free(row->task), free(row->cls);
            aieb_rate_table_free(out);
            return aieb_errf(err, AIEB_ENOMEM, "out of memory");
        }
        out->n++;
    }
    if (!out->n)
        return aieb_errf(err, AIEB_EINVAL, "%s: no rows after the header", name);
    return 0;
}

int aieb_rate_table_load(const char *path, aieb_rate_table *out, aieb_err *err)
{
    memset(out, 0, sizeof *out);
    char *buf = NULL;
    size_t len = 0;
    int rc = aieb_read_file(path, 16u << 20, &buf, &len, err);
    if (rc)
        return rc;
    rc = aieb_rate_table_parse(path, buf, len, out, err);
    free(buf);
    return rc;
}

void aieb_rate_table_free(aieb_rate_table *t)
{
    for (size_t i = 0; t && i < t->n; i++) {
        free(t->rows[i].model);
        free(t->rows[i].task);
        free(t->rows[i].cls);
    }
    if (t) {
        free(t->rows);
        t->rows = NULL;
        t->n = 0;
    }
}

/* ==== Classes, bins, stars ================================================= */

const char *aieb_rate_class(double n_params)
{
    if (!(n_params > 0))
        return NULL;
    if (n_params <= 20e9)
        return "A";
    return n_params <= 66e9 ? "B" : "C";
}

int aieb_rate_bins(const aieb_rate_table *t, const char *task, const char *cls, double edges[6],
                   aieb_err *err)
{
    double lo = INFINITY, hi = -INFINITY;
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const aieb_rate_row *r = &t->rows[i];
        if (strcasecmp(r->task, task) != 0)
            continue;
        if (cls && *cls && strcasecmp(r->cls, cls) != 0)
            continue;
        lo = fmin(lo, r->gpu_wh_per_1000_queries);
        hi = fmax(hi, r->gpu_wh_per_1000_queries);
        n++;
    }
    if (!(hi > lo))
        return aieb_errf(err, AIEB_ENOTFOUND,
                         "the reference has %s for task %s%s%s: a rating needs a range of at "
                         "least two different values",
                         n ? "a single value" : "no rows", task, cls && *cls ? " and class " : "",
                         cls && *cls ? cls : "");
    for (int k = 0; k <= 5; k++)
        edges[k] = lo + (hi - lo) * (double)k / 5.0;
    edges[5] = hi; /* exact, whatever the rounding */
    return 0;
}

int aieb_rate_stars(double value, const double edges[6])
{
    if (!isfinite(value))
        return 0;
    for (int k = 1; k <= 5; k++)
        if (value <= edges[k])
            return 6 - k;
    return 1;
}
