/* csv.c - CSV reader (RFC 4180): header row, comma separators, CRLF or LF record
 * ends, double-quoted fields that may hold commas, line breaks and doubled quotes.
 * A quote inside an unquoted field is kept as a literal character, as most CSV
 * writers in the wild produce such fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/buf.h"
#include "dataset/internal.h"

#define CSV_MAX_FIELDS 4096

typedef struct csv_reader {
    const char *p, *end;
    size_t line;        /* current line, 1-based */
    const char *origin; /* for messages */
    size_t max_record;  /* bytes of field data per record */
    aieb_buf data;      /* unescaped field bytes of the current record */
    size_t off[CSV_MAX_FIELDS + 1];
    size_t n_fields;
} csv_reader;

static int too_long(csv_reader *r, size_t start_line, aieb_err *err)
{
    return aieb_errf(err, AIEB_ETOOBIG,
                     "%s: record starting on line %zu is longer than the %zu-byte limit", r->origin,
                     start_line, r->max_record);
}

static int put(csv_reader *r, const char *s, size_t n, size_t start_line, aieb_err *err)
{
    int rc = aieb_buf_append(&r->data, s, n);
    if (rc == AIEB_ETOOBIG)
        return too_long(r, start_line, err);
    if (rc)
        return aieb_errf(err, rc, "%s: out of memory", r->origin);
    return 0;
}

/* Reads one record. Returns 1 with a record, 0 at the end of input, < 0 on error.
 * *start_line is the line the record starts on. */
static int next_record(csv_reader *r, size_t *start_line, aieb_err *err)
{
    aieb_buf_reset(&r->data);
    r->n_fields = 0;
    *start_line = r->line;
    if (r->p >= r->end)
        return 0;
    for (;;) { /* one field per pass */
        if (r->n_fields == CSV_MAX_FIELDS)
            return aieb_errf(err, AIEB_ETOOBIG, "%s: record on line %zu has more than %d fields",
                             r->origin, *start_line, CSV_MAX_FIELDS);
        r->off[r->n_fields] = r->data.len;
        int rc;
        if (r->p < r->end && *r->p == '"') {
            size_t open_line = r->line;
            r->p++;
            for (;;) {
                const char *q = memchr(r->p, '"', (size_t)(r->end - r->p));
                if (!q)
                    return aieb_errf(err, AIEB_EINVAL,
                                     "%s: line %zu: quoted field never closes (unterminated "
                                     "quote)",
                                     r->origin, open_line);
                for (const char *s = r->p; s < q; s++)
                    r->line += *s == '\n';
                if ((rc = put(r, r->p, (size_t)(q - r->p), *start_line, err)) != 0)
                    return rc;
                r->p = q + 1;
                if (r->p < r->end && *r->p == '"') { /* "" is one quote */
                    if ((rc = put(r, "\"", 1, *start_line, err)) != 0)
                        return rc;
                    r->p++;
                    continue;
                }
                break;
            }
            if (r->p < r->end && *r->p != ',' && *r->p != '\n' &&
                !(*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n') &&
                !(*r->p == '\r' && r->p + 1 == r->end))
                return aieb_errf(err, AIEB_EINVAL,
                                 "%s: line %zu: unexpected '%c' after a closing quote (a quote "
                                 "inside a quoted field must be doubled)",
                                 r->origin, r->line, *r->p);
        } else {
            const char *s = r->p;
            while (s < r->end && *s != ',' && *s != '\n')
                s++;
            size_t n = (size_t)(s - r->p);
            if (s < r->end && *s == '\n' && n > 0 && s[-1] == '\r')
                n--; /* CRLF */
            else if (s == r->end && n > 0 && s[-1] == '\r')
                n--;
            if ((rc = put(r, r->p, n, *start_line, err)) != 0)
                return rc;
            r->p += n;
            if (r->p < r->end && *r->p == '\r' && (r->p + 1 == r->end || r->p[1] == '\n'))
                r->p++;
        }
        r->n_fields++;
        if (r->p >= r->end)
            break;
        if (*r->p == '\r')
            r->p++;
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == '\n') {
            r->p++;
            r->line++;
        }
        break;
    }
    r->off[r->n_fields] = r->data.len;
    return 1;
}

static const char *field(const csv_reader *r, size_t i, size_t *len)
{
    *len = r->off[i + 1] - r->off[i];
    return r->data.data ? r->data.data + r->off[i] : "";
}

int ds_read_csv(ds_collect *c, const char *buf, size_t len, aieb_err *err)
{
    csv_reader *r = calloc(1, sizeof *r);
    if (!r)
        return aieb_errf(err, AIEB_ENOMEM, "%s: out of memory", c->origin);
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
        buf += 3;
        len -= 3;
    }
    r->p = buf;
    r->end = buf + len;
    r->line = 1;
    r->origin = c->origin;
    r->max_record = c->opts->max_line;
    aieb_buf_init(&r->data, r->max_record);

    size_t line = 0, col = 0, n_cols = 0;
    int rc = next_record(r, &line, err);
    if (rc == 0)
        rc = aieb_errf(err, AIEB_EINVAL, "%s: no header row (the file is empty)", c->origin);
    if (rc == 1) {
        n_cols = r->n_fields;
        col = n_cols;
        for (size_t i = 0; i < n_cols && col == n_cols; i++) {
            size_t n;
            const char *f = field(r, i, &n);
            if (n == strlen(c->opts->text_column) && memcmp(f, c->opts->text_column, n) == 0)
                col = i;
        }
        if (col == n_cols) {
            aieb_buf names;
            aieb_buf_init(&names, 2048);
            for (size_t i = 0; i < n_cols && i < 16; i++) {
                size_t n;
                const char *f = field(r, i, &n);
                aieb_buf_printf(&names, "%s%.*s", i ? ", " : "", (int)(n > 64 ? 64 : n), f);
            }
            rc = aieb_errf(err, AIEB_EINVAL,
                           "%s: line 1: no column '%s' in the header (columns: %s)", c->origin,
                           c->opts->text_column, names.data ? names.data : "");
            aieb_buf_free(&names);
        }
    }
    size_t record = 0;
    while (rc == 1) {
        rc = next_record(r, &line, err);
        if (rc != 1)
            break;
        size_t n;
        if (r->n_fields == 1 && n_cols > 1 && (field(r, 0, &n), n == 0))
            continue; /* a blank line between records is not a record */
        if (r->n_fields != n_cols) {
            rc = aieb_errf(err, AIEB_EINVAL,
                           "%s: line %zu: record has %zu fields, the header has %zu", c->origin,
                           line, r->n_fields, n_cols);
            break;
        }
        char where[64];
        snprintf(where, sizeof where, "line %zu", line);
        const char *f = field(r, col, &n);
        rc = ds_collect_add(c, f, n, record++, where, err);
        if (rc == 0)
            rc = 1;
        else if (rc == 1)
            rc = 0; /* enough samples */
    }
    aieb_buf_free(&r->data);
    free(r);
    return rc < 0 ? rc : 0;
}
