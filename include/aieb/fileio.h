/* fileio.h - reading files with a cap, writing them atomically, making dirs. */
#ifndef AIEB_FILEIO_H
#define AIEB_FILEIO_H

#include <stddef.h>
#include <stdio.h>

#include "aieb/err.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads the whole regular file at path into a malloc'd NUL-terminated buffer.
 * Fails with AIEB_ENOTFOUND (missing), AIEB_EINVAL (a directory or not a regular
 * file), AIEB_ETOOBIG (larger than max_len bytes), AIEB_EIO, or AIEB_ENOMEM; the
 * message names the path. On success *data is the caller's to free. */
AIEB_API int aieb_read_file(const char *path, size_t max_len, char **data, size_t *len,
                            aieb_err *err);

/* Writes len bytes to path atomically: a temporary file in the same directory,
 * written, fsynced, made 0644, closed (checked), renamed over path, then the
 * directory fsynced so the rename survives a crash too. Readers see the old or
 * the new file, never a partial one. On error the temporary file is removed,
 * path is untouched, and AIEB_EIO names the path. Every output of a run goes
 * through this (or aieb_atomic_*), so all have the same permissions. */
AIEB_API int aieb_write_file_atomic(const char *path, const void *data, size_t len, aieb_err *err);

/* The same, streamed: aieb_atomic_open gives a FILE* on a temporary file beside
 * path; aieb_atomic_commit flushes, fsyncs, chmods 0644, closes (checked),
 * renames and fsyncs the directory; aieb_atomic_abort throws it away. Exactly
 * one of commit or abort must follow a successful open. */
typedef struct aieb_atomic_file {
    FILE *f;
    char *path, *tmp;
} aieb_atomic_file;

AIEB_API int aieb_atomic_open(aieb_atomic_file *af, const char *path, aieb_err *err);
/* Fails with AIEB_EIO naming path (a write error seen by ferror counts); the
 * temporary file is removed and path untouched then. */
AIEB_API int aieb_atomic_commit(aieb_atomic_file *af, aieb_err *err);
AIEB_API void aieb_atomic_abort(aieb_atomic_file *af);

/* Creates a directory and its parents (mode 0755); an existing one is fine. */
AIEB_API int aieb_mkdir_p(const char *path, aieb_err *err);

/* Appends len bytes to path (created 0644 if absent) in one write with O_APPEND,
 * then fdatasync, so a line appended per finished request survives a crash. */
AIEB_API int aieb_append_file(const char *path, const void *data, size_t len, aieb_err *err);

/* Appends lines to a file from a thread of its own: push() copies a line into a
 * queue and returns at once, the writer thread appends what is queued (one
 * O_APPEND write per batch, then fdatasync), so disk latency never delays the
 * caller (a backend's event loop stamping other streams' chunks). */
typedef struct aieb_line_writer aieb_line_writer;

/* Starts a writer for path (the file is created on the first write). Fails with
 * AIEB_ENOMEM or AIEB_EIO (no thread). */
AIEB_API int aieb_line_writer_open(const char *path, aieb_line_writer **out, aieb_err *err);

/* Queues len bytes (whole lines). Returns 0, or AIEB_ENOMEM (nothing queued). */
AIEB_API int aieb_line_writer_push(aieb_line_writer *w, const char *data, size_t len);

/* Writes everything queued, stops the thread and frees w (may be NULL).
 * Returns 0, or the first write error with err naming the path. */
AIEB_API int aieb_line_writer_close(aieb_line_writer *w, aieb_err *err);

#ifdef __cplusplus
}
#endif
#endif
