/* internal.h - pieces shared by the dataset readers. Internal to src/lib/dataset. */
#ifndef AIEB_DATASET_INTERNAL_H
#define AIEB_DATASET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "aieb/dataset.h"

/* Options with every default filled in. */
typedef struct ds_opts {
    const char *text_column;
    const char *split;
    size_t num_samples; /* 0 = all */
    bool truncation;
    size_t truncate_chars;
    size_t max_rows;
    size_t max_line;
} ds_opts;

void ds_opts_resolve(const aieb_dataset_options *o, ds_opts *out);

/* Collects rows into a dataset, applying the rules every source shares: valid UTF-8
 * without NUL bytes, empty rows dropped, num_samples, truncation, the row cap. */
typedef struct ds_collect {
    const ds_opts *opts;
    const char *origin; /* file path or dataset name, for messages */
    aieb_dataset *out;
    size_t cap;
} ds_collect;

void ds_collect_init(ds_collect *c, const ds_opts *opts, const char *origin, aieb_dataset *out);

/* Adds one row: len bytes of text (NULL for a null cell: an empty row). where says
 * where the row is ("line 12", "record 3 (line 7)"). Returns 0 to go on, 1 when
 * num_samples prompts are in (stop reading), or a negative AIEB_E* code. */
int ds_collect_add(ds_collect *c, const char *text, size_t len, size_t source_row,
                   const char *where, aieb_err *err);

/* Ends collection: fails with AIEB_EINVAL when no prompt is left; logs a warning
 * when fewer than num_samples were found. */
int ds_collect_finish(ds_collect *c, aieb_err *err);

/* True when s[0..len) is valid UTF-8; else *bad is the offset of the first bad byte. */
bool ds_utf8_valid(const char *s, size_t len, size_t *bad);

/* Splits buf into lines (LF or CRLF) and calls fn for each, with a cap on length;
 * skips a UTF-8 byte-order mark. fn returns 0 to go on, 1 to stop, < 0 on error. */
typedef int (*ds_line_fn)(void *ctx, const char *line, size_t len, size_t lineno, aieb_err *err);
int ds_each_line(const char *buf, size_t len, const char *origin, size_t max_line, ds_line_fn fn,
                 void *ctx, aieb_err *err);

/* Adds the prompt in row's text_column to c (a bare string or null too, when
 * allow_string); a missing field or a non-text value is an error naming where. */
int ds_add_json_row(ds_collect *c, const json_t *row, bool allow_string, size_t source_row,
                    const char *where, aieb_err *err);

/* Format readers over a buffer, appending to c. */
int ds_read_jsonl(ds_collect *c, const char *buf, size_t len, aieb_err *err);
int ds_read_json(ds_collect *c, const char *buf, size_t len, aieb_err *err);
int ds_read_txt(ds_collect *c, const char *buf, size_t len, aieb_err *err);
int ds_read_csv(ds_collect *c, const char *buf, size_t len, aieb_err *err);

/* Parses a buffer in the given format into out (empty on failure); no size check. */
int ds_parse_buffer(aieb_dataset_format format, const char *data, size_t len, const char *origin,
                    const ds_opts *opts, aieb_dataset *out, aieb_err *err);

/* The built-in prompt set. */
int ds_load_builtin(const ds_opts *opts, aieb_dataset *out, aieb_err *err);

/* A local file, format by extension. */
int ds_load_file(const char *path, const ds_opts *opts, aieb_dataset *out, aieb_err *err);

/* A hub dataset through the dataset viewer API, with the cache. */
int ds_load_hub(const char *name, const aieb_dataset_options *o, const ds_opts *opts,
                aieb_dataset *out, aieb_err *err);

/* True when name looks like a hub dataset id: "org/name" of [A-Za-z0-9._-]. */
bool ds_is_hub_name(const char *name);

#endif
