/* csv.h - appending rows to CSV files that other tools also read (the earlier
 * tool's results CSV, CodeCarbon's emissions.csv): RFC 4180 quoting, the header
 * written once, and an existing file never damaged.
 */
#ifndef AIEB_CSV_H
#define AIEB_CSV_H

#include <stddef.h>

#include "aieb/buf.h"
#include "aieb/err.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Appends field to b, quoted per RFC 4180 when it holds a comma, quote, CR or
 * LF (quotes doubled). NULL is written as an empty field. Returns 0 or the
 * aieb_buf_append code. */
AIEB_API int aieb_csv_field(aieb_buf *b, const char *field);

/* Appends one row to the CSV file at path.
 * - When path does not exist (or is empty), writes the header cols[0..n) first.
 * - When its first line equals that header, appends the row only.
 * - Otherwise the old file is left untouched and the header and row go to the
 *   first free "<stem>.<k>.csv" beside it (k = 1, 2, ...); a warning is logged.
 * vals[i] may be NULL (empty field). On success *written (may be NULL) receives
 * a malloc'd copy of the path actually written. Fails with AIEB_EIO naming the
 * file, or AIEB_ENOMEM. */
AIEB_API int aieb_csv_append_row(const char *path, const char *const *cols, const char *const *vals,
                                 size_t n, char **written, aieb_err *err);

#ifdef __cplusplus
}
#endif
#endif
