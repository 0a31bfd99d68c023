/* local.c - .jsonl, .json and .txt readers, and local files by extension. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jansson.h>

#include "aieb/buf.h"
#include "aieb/fileio.h"
#include "dataset/internal.h"

/* "a number", "an array", ... for messages. */
static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "text";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* Lists up to 8 keys of obj into b, comma-separated. */
static void list_keys(const json_t *obj, aieb_buf *b)
{
    const char *key;
    json_t *v;
    size_t n = 0;
    json_object_foreach((json_t *)obj, key, v)
    {
        if (n == 8) {
            aieb_buf_puts(b, ", ...");
            break;
        }
        aieb_buf_printf(b, "%s%s", n ? ", " : "", key);
        n++;
    }
    if (n == 0)
        aieb_buf_puts(b, "none");
}

int ds_add_json_row(ds_collect *c, const json_t *row, bool allow_string, size_t source_row,
                    const char *where, aieb_err *err)
{
    const char *col = c->opts->text_column;
    const json_t *v = row;
    if (json_is_object(row)) {
        v = json_object_get(row, col);
        if (!v) {
            aieb_buf keys;
            aieb_buf_init(&keys, 4096);
            list_keys(row, &keys);
            int rc = aieb_errf(err, AIEB_EINVAL, "%s: %s: no field '%s' (fields: %s)", c->origin,
                               where, col, keys.data ? keys.data : "none");
            aieb_buf_free(&keys);
            return rc;
        }
    } else if (!(allow_string && (json_is_string(row) || json_is_null(row)))) {
        return aieb_errf(err, AIEB_EINVAL, "%s: %s: expected a JSON object, found %s", c->origin,
                         where, json_kind(row));
    }
    if (json_is_null(v))
        return ds_collect_add(c, NULL, 0, source_row, where, err);
    if (!json_is_string(v))
        return aieb_errf(err, AIEB_EINVAL, "%s: %s: field '%s' is %s, expected text", c->origin,
                         where, col, json_kind(v));
    return ds_collect_add(c, json_string_value(v), json_string_length(v), source_row, where, err);
}

/* ==== JSON Lines ============================================================= */

static int jsonl_line(void *ctx, const char *line, size_t len, size_t lineno, aieb_err *err)
{
    ds_collect *c = ctx;
    size_t i = 0;
    while (i < len && strchr(" \t\r", line[i]))
        i++;
    if (i == len)
        return 0; /* blank lines are not rows */
    char where[48];
    snprintf(where, sizeof where, "line %zu", lineno);
    json_error_t jerr;
    json_t *row = json_loadb(line, len, 0, &jerr);
    if (!row)
        return aieb_errf(err, AIEB_EINVAL, "%s: line %zu: malformed JSON at column %d: %s",
                         c->origin, lineno, jerr.column, jerr.text);
    int rc = ds_add_json_row(c, row, false, lineno - 1, where, err);
    json_decref(row);
    return rc;
}

int ds_read_jsonl(ds_collect *c, const char *buf, size_t len, aieb_err *err)
{
    return ds_each_line(buf, len, c->origin, c->opts->max_line, jsonl_line, c, err);
}

/* ==== JSON =================================================================== */

int ds_read_json(ds_collect *c, const char *buf, size_t len, aieb_err *err)
{
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
        buf += 3;
        len -= 3;
    }
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, 0, &jerr);
    if (!root)
        return aieb_errf(err, AIEB_EINVAL, "%s: line %d: malformed JSON at column %d: %s",
                         c->origin, jerr.line, jerr.column, jerr.text);
    const json_t *rows = root;
    if (json_is_object(root))
        rows = json_object_get(root, "data");
    if (!json_is_array(rows)) {
        json_decref(root);
        return aieb_errf(err, AIEB_EINVAL,
                         "%s: expected an array of objects, or an object with a \"data\" array",
                         c->origin);
    }
    int rc = 0;
    size_t n = json_array_size(rows);
    if (n > c->opts->max_rows)
        rc = aieb_errf(err, AIEB_ETOOBIG, "%s: %zu elements, more than the %zu-row limit",
                       c->origin, n, c->opts->max_rows);
    for (size_t i = 0; !rc && i < n; i++) {
        char where[48];
        snprintf(where, sizeof where, "element %zu", i);
        rc = ds_add_json_row(c, json_array_get(rows, i), true, i, where, err);
    }
    json_decref(root);
    return rc < 0 ? rc : 0;
}

/* ==== Plain text ============================================================= */

static int txt_line(void *ctx, const char *line, size_t len, size_t lineno, aieb_err *err)
{
    char where[48];
    snprintf(where, sizeof where, "line %zu", lineno);
    return ds_collect_add(ctx, line, len, lineno - 1, where, err);
}

int ds_read_txt(ds_collect *c, const char *buf, size_t len, aieb_err *err)
{
    return ds_each_line(buf, len, c->origin, c->opts->max_line, txt_line, c, err);
}

/* ==== Buffers and files ====================================================== */

int ds_parse_buffer(aieb_dataset_format format, const char *data, size_t len, const char *origin,
                    const ds_opts *opts, aieb_dataset *out, aieb_err *err)
{
    memset(out, 0, sizeof *out);
    if (!(out->source = strdup(origin)))
        return aieb_errf(err, AIEB_ENOMEM, "%s: out of memory", origin);
    ds_collect c;
    ds_collect_init(&c, opts, origin, out);
    int rc;
    switch (format) {
    case AIEB_DATASET_JSONL:
        rc = ds_read_jsonl(&c, data, len, err);
        break;
    case AIEB_DATASET_JSON:
        rc = ds_read_json(&c, data, len, err);
        break;
    case AIEB_DATASET_CSV:
        rc = ds_read_csv(&c, data, len, err);
        break;
    case AIEB_DATASET_TXT:
        rc = ds_read_txt(&c, data, len, err);
        break;
    default:
        rc = aieb_errf(err, AIEB_EINVAL, "%s: unknown dataset format %d", origin, (int)format);
    }
    if (!rc)
        rc = ds_collect_finish(&c, err);
    if (rc)
        aieb_dataset_free(out);
    return rc;
}

int aieb_dataset_parse_buffer(aieb_dataset_format format, const char *data, size_t len,
                              const char *origin, const aieb_dataset_options *opts,
                              aieb_dataset *out, aieb_err *err)
{
    ds_opts o;
    ds_opts_resolve(opts, &o);
    if (len > AIEB_DATASET_MAX_FILE_BYTES) {
        memset(out, 0, sizeof *out);
        return aieb_errf(err, AIEB_ETOOBIG, "%s: %zu bytes, larger than the %u-byte limit", origin,
                         len, AIEB_DATASET_MAX_FILE_BYTES);
    }
    return ds_parse_buffer(format, data ? data : "", data ? len : 0, origin ? origin : "(buffer)",
                           &o, out, err);
}

static const struct {
    const char *ext;
    aieb_dataset_format format;
} extensions[] = {
    {".jsonl", AIEB_DATASET_JSONL}, {".ndjson", AIEB_DATASET_JSONL}, {".json", AIEB_DATASET_JSON},
    {".csv", AIEB_DATASET_CSV},     {".txt", AIEB_DATASET_TXT},
};

/* The format for path's extension (case-insensitive); -1 when unknown. */
static int format_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (!dot)
        return -1;
    for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; i++)
        if (strcasecmp(dot, extensions[i].ext) == 0)
            return (int)extensions[i].format;
    return -1;
}

int ds_load_file(const char *path, const ds_opts *opts, aieb_dataset *out, aieb_err *err)
{
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(path, &st) != 0)
        return aieb_errf(err, errno == ENOENT ? AIEB_ENOTFOUND : AIEB_EIO, "%s: %s", path,
                         strerror(errno));
    if (S_ISDIR(st.st_mode))
        return aieb_errf(err, AIEB_EINVAL, "%s: is a directory, expected a dataset file", path);
    int format = format_of(path);
    if (format < 0)
        return aieb_errf(err, AIEB_EINVAL,
                         "%s: unsupported dataset file type (use .jsonl, .json, .csv or .txt)",
                         path);
    char *data = NULL;
    size_t len = 0;
    int rc = aieb_read_file(path, AIEB_DATASET_MAX_FILE_BYTES, &data, &len, err);
    if (rc)
        return rc;
    if (len == 0) {
        free(data);
        return aieb_errf(err, AIEB_EINVAL, "%s: the file is empty", path);
    }
    rc = ds_parse_buffer((aieb_dataset_format)format, data, len, path, opts, out, err);
    free(data);
    return rc;
}
