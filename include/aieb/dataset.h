/* dataset.h - prompts for a benchmark: the built-in set, local files, or a
 * Hugging Face dataset fetched through the dataset viewer API and cached.
 *
 * Sources (docs/datasets.md has the details):
 *   "builtin"          data/builtin_prompts.jsonl, embedded in the library
 *   a local path       .jsonl, .json, .csv, .txt (chosen by extension)
 *   "org/name"         a Hugging Face hub dataset (a name that is not an existing file)
 * Then, row by row: with truncation the text is cut to truncation_max_chars
 * characters (Unicode code points, never inside one); rows left empty or only
 * whitespace are dropped; the first num_samples remaining rows are kept.
 *
 * Every prompt must be valid UTF-8. Errors name the file (or dataset) and the line,
 * record or row.
 */
#ifndef AIEB_DATASET_H
#define AIEB_DATASET_H

#include <stdbool.h>
#include <stddef.h>

#include "aieb/err.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Caps on outside input; each one has a clear error past it. */
#define AIEB_DATASET_MAX_FILE_BYTES (256u * 1024 * 1024) /* a local file or cache file */
#define AIEB_DATASET_MAX_LINE_BYTES (4u * 1024 * 1024)   /* a .jsonl/.txt line, a CSV record */
#define AIEB_DATASET_MAX_ROWS       1000000u             /* rows read from any source */
#define AIEB_DATASET_MAX_PAGE_BYTES (64u * 1024 * 1024)  /* one dataset viewer response */
#define AIEB_DATASET_TRUNCATE_CHARS 4096u /* default truncation length, in characters */
#define AIEB_DATASET_HF_PAGE_ROWS   100u  /* rows per /rows request (the API's maximum) */
#define AIEB_DATASET_HF_DEFAULT_URL "https://datasets-server.huggingface.co"

typedef struct aieb_dataset_options {
    const char *name;            /* "builtin", a path, or "org/name"; NULL = "builtin" */
    const char *text_column;     /* field/column holding the prompt; NULL = "text" */
    const char *split;           /* hub split; NULL = "train" (ignored for local files) */
    const char *config;          /* hub config; NULL = the first config that has split */
    size_t num_samples;          /* keep the first n non-empty rows; 0 = all */
    bool truncation;             /* cut prompts to truncation_max_chars */
    size_t truncation_max_chars; /* 0 = AIEB_DATASET_TRUNCATE_CHARS */
    const char *cache_dir;       /* NULL = $XDG_CACHE_HOME/aieb/datasets or
                                    ~/.cache/aieb/datasets */
    const char *hf_endpoint;     /* dataset viewer base URL; NULL = $HF_ENDPOINT, else
                                    AIEB_DATASET_HF_DEFAULT_URL */
    const char *hf_token;        /* NULL = $HF_TOKEN; sent as "Authorization: Bearer" */
    bool offline;                /* never touch the network (also $HF_HUB_OFFLINE=1) */
    double hf_timeout_s;         /* per request; 0 = 60 */
    int hf_retries;              /* extra tries after a connection error, timeout, 429 or
                                    5xx, with backoff from hf_backoff_ms; < 0 = 0 */
    unsigned hf_backoff_ms;      /* first retry delay, doubled each time; 0 = 500 */
    size_t max_rows;             /* 0 = AIEB_DATASET_MAX_ROWS (lower it, never raise it) */
    size_t max_line_bytes;       /* 0 = AIEB_DATASET_MAX_LINE_BYTES (likewise) */
} aieb_dataset_options;

/* One prompt and where it came from. */
typedef struct aieb_prompt {
    char *text;        /* NUL-terminated UTF-8, non-empty */
    size_t source_row; /* 0-based row in the source: the line of a .txt/.jsonl, the record
                          after the header of a .csv, the element of a .json, the row_idx of
                          a hub row, the line of the built-in set */
    size_t chars;      /* length in characters (code points), after truncation */
    bool truncated;    /* cut by truncation */
} aieb_prompt;

typedef struct aieb_dataset {
    aieb_prompt *prompts;
    size_t n;
    char *source;       /* what was loaded, for logs: "builtin", a path, or
                           "hf:org/name (config c, split s)" */
    size_t rows_read;   /* rows seen before num_samples (empty ones included) */
    size_t rows_empty;  /* rows dropped as empty */
    size_t n_truncated; /* prompts cut by truncation */
    bool from_cache;    /* hub rows came from the cache, not the network */
    char *cache_path;   /* hub: the cache file used or written; else NULL */
} aieb_dataset;

/* Fills o with the defaults above (all pointers NULL, hf_retries 2). Can't fail. */
AIEB_API void aieb_dataset_options_init(aieb_dataset_options *o);

/* Loads prompts as described at the top of this file. On success out holds at least
 * one prompt (fewer than num_samples when the source has fewer; a warning is logged)
 * and is the caller's to free with aieb_dataset_free.
 * Fails with: AIEB_EINVAL (bad name, unsupported extension, malformed content, a
 * missing column, invalid UTF-8, no non-empty rows: the message names the file and
 * line), AIEB_ENOTFOUND (no such file; hub dataset, config or split not found),
 * AIEB_ETOOBIG (a cap above was exceeded), AIEB_EENV (hub not reachable, refused the
 * token, or answered errors, and nothing usable is cached: the message names the
 * cache path), AIEB_ETIMEOUT, AIEB_ENOMEM. out is empty after a failure. */
AIEB_API int aieb_dataset_load(const aieb_dataset_options *opts, aieb_dataset *out, aieb_err *err);

/* Input formats of aieb_dataset_parse_buffer. */
typedef enum {
    AIEB_DATASET_JSONL = 0, /* one JSON object a line, prompt in text_column */
    AIEB_DATASET_JSON,      /* an array of objects (or strings), or {"data": [...]} */
    AIEB_DATASET_CSV,       /* RFC 4180, header row, prompt in the column text_column */
    AIEB_DATASET_TXT,       /* one prompt a line */
} aieb_dataset_format;

/* Parses len bytes already in memory as format (same rules, caps and post-processing
 * as aieb_dataset_load); origin names the data in error messages. Same failures
 * as aieb_dataset_load, without the network ones. */
AIEB_API int aieb_dataset_parse_buffer(aieb_dataset_format format, const char *data, size_t len,
                                       const char *origin, const aieb_dataset_options *opts,
                                       aieb_dataset *out, aieb_err *err);

/* Frees the contents of ds (not ds) and zeroes it. NULL is fine. */
AIEB_API void aieb_dataset_free(aieb_dataset *ds);

/* The cache directory that load would use for opts (opts->cache_dir, or the XDG
 * default), malloc'd. Returns AIEB_ENOTFOUND when neither $XDG_CACHE_HOME nor $HOME
 * is set and opts gives none, or AIEB_ENOMEM. */
AIEB_API int aieb_dataset_cache_dir(const aieb_dataset_options *opts, char **dir, aieb_err *err);

#ifdef __cplusplus
}
#endif
#endif
