/* fileio.h - reading files with a cap, writing them atomically, making dirs. */
#ifndef AIEB_FILEIO_H
#define AIEB_FILEIO_H

#include <stddef.h>

#include "aieb/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads the whole regular file at path into a malloc'd NUL-terminated buffer.
 * Fails with AIEB_ENOTFOUND (missing), AIEB_EINVAL (a directory or not a regular
 * file), AIEB_ETOOBIG (larger than max_len bytes), AIEB_EIO, or AIEB_ENOMEM; the
 * message names the path. On success *data is the caller's to free. */
int aieb_read_file(const char *path, size_t max_len, char **data, size_t *len, aieb_err *err);

/* Writes len bytes to path atomically: a temporary file in the same directory,
 * fsync, then rename over path. Readers see the old or the new file, never a
 * partial one. On error the temporary file is removed and path is untouched. */
int aieb_write_file_atomic(const char *path, const void *data, size_t len, aieb_err *err);

/* Creates a directory and its parents (mode 0755); an existing one is fine. */
int aieb_mkdir_p(const char *path, aieb_err *err);

/* Appends len bytes to path (created 0644 if absent) in one write with O_APPEND,
 * then fdatasync, so a line appended per finished request survives a crash. */
int aieb_append_file(const char *path, const void *data, size_t len, aieb_err *err);

#ifdef __cplusplus
}
#endif
#endif
