/* rundir.c - a run directory's files read back for the reports (report.h). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aieb/fileio.h"
#include "aieb/report.h"

/* ==== timeseries.csv ======================================================= */

void aieb_timeseries_free(aieb_timeseries *ts)
{
    if (!ts)
        return;
    for (size_t i = 0; i < ts->n_cols; i++)
        free(ts->names[i]);
    free(ts->names);
    free(ts->values);
    memset(ts, 0, sizeof *ts);
    ts->t_col = -1;
}

int aieb_timeseries_column(const aieb_timeseries *ts, const char *name)
{
    for (size_t i = 0; i < ts->n_cols; i++)
        if (strcmp(ts->names[i], name) == 0)
            return (int)i;
    return -1;
}

double aieb_timeseries_at(const aieb_timeseries *ts, size_t row, int col)
{
    if (col < 0 || (size_t)col >= ts->n_cols || row >= ts->n_rows)
        return NAN;
    return ts->values[row * ts->n_cols + (size_t)col];
}

/* The line [p, end) without its trailing CR; *next is past its LF. */
static size_t line_len(const char *p, const char *end, const char **next)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *stop = nl ? nl : end;
    *next = nl ? nl + 1 : end;
    size_t n = (size_t)(stop - p);
    if (n && p[n - 1] == '\r')
        n--;
    return n;
}

static int parse_header(const char *p, size_t n, aieb_timeseries *ts, aieb_err *err)
{
    size_t cap = 0;
    const char *end = p + n;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        if (ts->n_cols == AIEB_REPORT_MAX_COLUMNS)
            return aieb_errf(err, AIEB_ETOOBIG, "timeseries.csv: more than %d columns",
                             AIEB_REPORT_MAX_COLUMNS);
        if (ts->n_cols == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(ts->names, cap * sizeof *nn);
            if (!nn)
                return aieb_errf(err, AIEB_ENOMEM, "timeseries.csv: out of memory");
            ts->names = nn;
        }
        char *name = strndup(p, (size_t)(stop - p));
        if (!name)
            return aieb_errf(err, AIEB_ENOMEM, "timeseries.csv: out of memory");
        ts->names[ts->n_cols++] = name;
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

/* One cell [p, q): empty is NAN, else a whole number (strtod must use it all). */
static int parse_cell(const char *p, const char *q, double *v)
{
    if (p == q) {
        *v = NAN;
        return 0;
    }
    char tmp[64];
    size_t n = (size_t)(q - p);
    if (n >= sizeof tmp)
        return -1;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    char *e;
    errno = 0;
    *v = strtod(tmp, &e);
    return *e == '\0' && errno != ERANGE ? 0 : -1;
}

int aieb_timeseries_parse(const char *text, size_t len, aieb_timeseries *out, aieb_err *err)
{
    memset(out, 0, sizeof *out);
    out->t_col = -1;
    const char *p = text, *end = text + len, *next;
    size_t n = line_len(p, end, &next);
    if (n == 0) /* an empty file is a timeline without samples */
        return 0;
    int rc = parse_header(p, n, out, err);
    if (rc) {
        aieb_timeseries_free(out);
        return rc;
    }
    out->t_col = aieb_timeseries_column(out, "t_s");
    size_t cap_rows = 0, line_no = 1;
    for (p = next; p < end; p = next) {
        line_no++;
        n = line_len(p, end, &next);
        if (n == 0)
            continue;
        if (out->n_rows == cap_rows) {
            cap_rows = cap_rows ? cap_rows * 2 : 256;
            double *nv = realloc(out->values, cap_rows * out->n_cols * sizeof *nv);
            if (!nv) {
                aieb_timeseries_free(out);
                return aieb_errf(err, AIEB_ENOMEM, "timeseries.csv: out of memory");
            }
            out->values = nv;
        }
        double *row = out->values + out->n_rows * out->n_cols;
        const char *c = p, *line_end = p + n;
        size_t k = 0;
        for (;;) {
            const char *comma = memchr(c, ',', (size_t)(line_end - c));
            const char *stop = comma ? comma : line_end;
            if (k == out->n_cols || parse_cell(c, stop, &row[k]) != 0) {
                rc = aieb_errf(err, AIEB_EINVAL,
                               k == out->n_cols
                                   ? "timeseries.csv:%zu: more cells than the header's %zu"
                                   : "timeseries.csv:%zu: cell %zu is not a number",
                               line_no, k == out->n_cols ? out->n_cols : k + 1);
                aieb_timeseries_free(out);
                return rc;
            }
            k++;
            if (!comma)
                break;
            c = comma + 1;
        }
        if (k != out->n_cols) {
            rc = aieb_errf(err, AIEB_EINVAL, "timeseries.csv:%zu: %zu cells, the header has %zu",
                           line_no, k, out->n_cols);
            aieb_timeseries_free(out);
            return rc;
        }
        out->n_rows++;
    }
    return 0;
}

/* ==== requests.jsonl ======================================================= */

static int by_index(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t i = json_integer_value(json_object_get(x, "index"));
    json_int_t j = json_integer_value(json_object_get(y, "index"));
    return (i > j) - (i < j);
}

static int parse_requests(const char *text, size_t len, json_t **out, aieb_err *err)
{
    json_t *arr = json_array();
    if (!arr)
        return aieb_errf(err, AIEB_ENOMEM, "requests.jsonl: out of memory");
    const char *p = text, *end = text + len, *next;
    size_t line_no = 0;
    for (; p < end; p = next) {
        line_no++;
        size_t n = line_len(p, end, &next);
        if (n == 0)
            continue;
        json_error_t je;
        json_t *o = json_loadb(p, n, 0, &je);
        if (!o || !json_is_object(o)) {
            json_decref(o);
            json_decref(arr);
            return aieb_errf(err, AIEB_EINVAL, "requests.jsonl:%zu: %s", line_no,
                             o ? "not a JSON object" : je.text);
        }
        json_array_append_new(arr, o);
    }
    /* Sort a copy of the pointers by index (the file is in completion order). */
    size_t k = json_array_size(arr);
    json_t **v = malloc((k + 1) * sizeof *v);
    json_t *sorted = json_array();
    if (!v || !sorted) {
        free(v);
        json_decref(sorted);
        json_decref(arr);
        return aieb_errf(err, AIEB_ENOMEM, "requests.jsonl: out of memory");
    }
    for (size_t i = 0; i < k; i++)
        v[i] = json_array_get(arr, i);
    qsort(v, k, sizeof *v, by_index);
    for (size_t i = 0; i < k; i++)
        json_array_append(sorted, v[i]);
    free(v);
    json_decref(arr);
    *out = sorted;
    return 0;
}

/* ==== The directory ======================================================== */

/* Reads dir/name; *found = 0 (and 0 returned) when it does not exist. */
static int read_member(const char *dir, const char *name, size_t cap, char **data, size_t *len,
                       int *found, aieb_err *err)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return aieb_errf(err, AIEB_EINVAL, "%s: path too long", dir);
    *data = NULL;
    *len = 0;
    int rc = aieb_read_file(path, cap, data, len, err);
    *found = rc != AIEB_ENOTFOUND;
    return rc == AIEB_ENOTFOUND ? 0 : rc;
}

void aieb_run_files_free(aieb_run_files *f)
{
    if (!f)
        return;
    free(f->dir);
    json_decref(f->summary);
    json_decref(f->requests);
    aieb_timeseries_free(&f->ts);
    memset(f, 0, sizeof *f);
    f->ts.t_col = -1;
}

int aieb_run_files_load(const char *dir, aieb_run_files *out, aieb_err *err)
{
    memset(out, 0, sizeof *out);
    out->ts.t_col = -1;
    struct stat st;
    if (stat(dir, &st) != 0)
        return aieb_errf(err, AIEB_ENOTFOUND, "%s: no such run directory", dir);
    if (!S_ISDIR(st.st_mode))
        return aieb_errf(err, AIEB_EINVAL, "%s: not a directory (give a run directory)", dir);
    char *data;
    size_t len;
    int found;
    int rc =
        read_member(dir, "summary.json", AIEB_REPORT_MAX_SUMMARY_BYTES, &data, &len, &found, err);
    if (rc)
        return rc;
    if (!found)
        return aieb_errf(err, AIEB_ENOTFOUND,
                         "%s: no summary.json (not a run directory, or the run did not finish)",
                         dir);
    json_error_t je;
    out->summary = json_loadb(data, len, 0, &je);
    free(data);
    if (!out->summary || !json_is_object(out->summary)) {
        rc = aieb_errf(err, AIEB_EINVAL, "%s/summary.json:%d: %s", dir, je.line,
                       out->summary ? "not a JSON object" : je.text);
        aieb_run_files_free(out);
        return rc;
    }
    out->dir = strdup(dir);
    if (!out->dir) {
        aieb_run_files_free(out);
        return aieb_errf(err, AIEB_ENOMEM, "out of memory");
    }

    rc = read_member(dir, "requests.jsonl", AIEB_REPORT_MAX_REQUESTS_BYTES, &data, &len, &found,
                     err);
    if (!rc && found) {
        out->has_requests = 1;
        rc = parse_requests(data, len, &out->requests, err);
        if (rc)
            aieb_err_prefix(err, "%s", dir);
    } else if (!rc) {
        out->requests = json_array();
        if (!out->requests)
            rc = aieb_errf(err, AIEB_ENOMEM, "out of memory");
    }
    free(data);
    if (!rc) {
        rc = read_member(dir, "timeseries.csv", AIEB_REPORT_MAX_TIMESERIES_BYTES, &data, &len,
                         &found, err);
        if (!rc && found) {
            out->has_timeseries = 1;
            rc = aieb_timeseries_parse(data, len, &out->ts, err);
            if (rc)
                aieb_err_prefix(err, "%s", dir);
        }
        free(data);
    }
    if (rc)
        aieb_run_files_free(out);
    return rc;
}
