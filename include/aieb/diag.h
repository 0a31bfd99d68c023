/* diag.h - a list of problems, each placed where it came from
 * (FILE:LINE:COL: key: message), collected rather than returned one at a time
 * so that a user sees every problem at once. The configuration loader and the
 * YAML tree fill it; the tool prints it.
 */
#ifndef AIEB_DIAG_H
#define AIEB_DIAG_H

#include <stddef.h>
#include <stdio.h>

#include "aieb/buf.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AIEB_DIAGS_MAX 100 /* problems kept; the rest are counted */

typedef enum { AIEB_DIAG_ERROR = 0, AIEB_DIAG_WARNING = 1 } aieb_diag_severity;

/* One problem. file is the config file's name as given, or a label for other
 * origins ("env NUM_SAMPLES", "--set"); line/col are 1-based, 0 when unknown;
 * key is the dotted key path, or NULL when the problem is not about one key. */
typedef struct aieb_diag {
    aieb_diag_severity severity;
    char *file;
    int line, col;
    char *key;
    char *message; /* "what is wrong (expected ..., got ...); what to do" */
} aieb_diag;

typedef struct aieb_diags {
    aieb_diag *items;
    size_t n, cap;
    size_t n_errors, n_warnings; /* counted even when the item was dropped */
    size_t dropped;              /* past AIEB_DIAGS_MAX, or out of memory */
    size_t n_unknown_keys;       /* unknown keys met in files (errors, or lenient warnings) */
} aieb_diags;

/* Initialises an empty list. Can't fail. */
AIEB_API void aieb_diags_init(aieb_diags *d);

/* Frees every item; the list is empty and reusable afterwards. */
AIEB_API void aieb_diags_free(aieb_diags *d);

/* Adds a problem (file and key may be NULL). Past AIEB_DIAGS_MAX items,
 * or when out of memory, the item is dropped but still counted. Can't fail. */
AIEB_API void aieb_diags_add(aieb_diags *d, aieb_diag_severity sev, const char *file, int line,
                             int col, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Appends one diagnostic as a line without newline, in the form
 *   FILE:LINE:COL: key.path: message            (errors)
 *   FILE:LINE:COL: warning: key.path: message   (warnings)
 * (":LINE:COL" omitted when unknown). Returns 0 or the aieb_buf error. */
AIEB_API int aieb_diag_format(const aieb_diag *g, aieb_buf *out);

/* Writes every diagnostic to fp, one per line, sorted by file then position
 * (stable), warnings included unless skip_warnings, followed by a line saying how
 * many were dropped when any were. Can't fail (write errors are ignored). */
AIEB_API void aieb_diags_print(const aieb_diags *d, FILE *fp, int skip_warnings);

#ifdef __cplusplus
}
#endif
#endif
