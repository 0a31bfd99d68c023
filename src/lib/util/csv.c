/* csv.c - RFC 4180 rows appended to CSV files with a header check. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/csv.h"
#include "aieb/fileio.h"
#include "aieb/log.h"

int aieb_csv_field(aieb_buf *b, const char *field)
{
    if (!field)
        return 0;
    if (!strpbrk(field, ",\"\r\n"))
        return aieb_buf_puts(b, field);
    int rc = aieb_buf_append(b, "\"", 1);
    for (const char *p = field; !rc && *p; p++)
        rc = *p == '"' ? aieb_buf_append(b, "\"\"", 2) : aieb_buf_append(b, p, 1);
    return rc ? rc : aieb_buf_append(b, "\"", 1);
}

static int make_line(aieb_buf *b, const char *const *fields, size_t n)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        if (i)
            rc = aieb_buf_append(b, ",", 1);
        if (!rc)
            rc = aieb_csv_field(b, fields[i]);
    }
    return rc ? rc : aieb_buf_append(b, "\n", 1);
}

/* 1: file absent or empty; 0: header matches; -1: differs; AIEB_EIO on error. */
static int header_state(const char *path, const char *header, aieb_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 1;
        return aieb_errf(err, AIEB_EIO, "%s: %s", path, strerror(errno));
    }
    size_t want = strlen(header);
    char *line = malloc(want + 2);
    if (!line) {
        fclose(f);
        return aieb_errf(err, AIEB_ENOMEM, "out of memory");
    }
    size_t got = fread(line, 1, want + 1, f);
    fclose(f);
    int state;
    if (got == 0)
        state = 1;
    else
        state = (got == want && memcmp(line, header, want) == 0) ? 0 : -1;
    if (state == -1 && got == want + 1 && memcmp(line, header, want) == 0)
        state = 0; /* header + first byte of the next row */
    free(line);
    return state;
}

int aieb_csv_append_row(const char *path, const char *const *cols, const char *const *vals,
                        size_t n, char **written, aieb_err *err)
{
    aieb_buf header, row;
    aieb_buf_init(&header, 0);
    aieb_buf_init(&row, 0);
    int rc = make_line(&header, cols, n);
    if (!rc)
        rc = make_line(&row, vals, n);
    if (rc) {
        aieb_buf_free(&header);
        aieb_buf_free(&row);
        return aieb_errf(err, AIEB_ENOMEM, "%s: out of memory formatting a row", path);
    }
    char target[PATH_MAX];
    snprintf(target, sizeof target, "%s", path);
    int state = header_state(target, header.data, err);
    if (state == -1) {
        /* Someone else's (or an older) format: keep it intact, write beside it. */
        const char *dot = strrchr(path, '.');
        const char *slash = strrchr(path, '/');
        size_t stem = (dot && (!slash || dot > slash)) ? (size_t)(dot - path) : strlen(path);
        for (int k = 1; k < 1000 && state == -1; k++) {
            snprintf(target, sizeof target, "%.*s.%d.csv", (int)stem, path, k);
            state = header_state(target, header.data, err);
        }
        if (state == -1)
            state = aieb_errf(err, AIEB_EIO, "%s: no free side file name", path);
        if (state >= 0)
            AIEB_WARN("%s has a different header; writing to %s instead", path, target);
    }
    if (state < -1) {
        rc = state;
    } else {
        if (state == 1)
            rc = aieb_append_file(target, header.data, header.len, err);
        if (!rc)
            rc = aieb_append_file(target, row.data, row.len, err);
    }
    aieb_buf_free(&header);
    aieb_buf_free(&row);
    if (!rc && written) {
        *written = strdup(target);
        if (!*written)
            rc = aieb_errf(err, AIEB_ENOMEM, "out of memory");
    }
    return rc;
}
