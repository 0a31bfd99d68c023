/* err.h - error codes and the error record every libaieb function fills.
 *
 * Convention (as curl's CURLcode): functions return int, 0 on success or a
 * negative AIEB_E* code, and on failure write a message into an aieb_err that
 * says what failed, where, and what to do about it. Callers write
 *     if ((rc = aieb_foo(..., err)) != 0) return rc;
 * Nothing in libaieb calls exit().
 */
#ifndef AIEB_ERR_H
#define AIEB_ERR_H

#include <stddef.h>
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    AIEB_OK = 0,
    AIEB_EINVAL = -1,       /* bad input or configuration (usage error) */
    AIEB_ENOMEM = -2,       /* allocation failed */
    AIEB_EIO = -3,          /* file or device I/O failed */
    AIEB_ENOTFOUND = -4,    /* a file, key, model or symbol does not exist */
    AIEB_EUNSUPPORTED = -5, /* valid but not supported by this build or device */
    AIEB_ETOOBIG = -6,      /* outside input exceeded a documented cap */
    AIEB_EENV = -7,         /* environment not usable: server down, library missing */
    AIEB_ETIMEOUT = -8,     /* a deadline passed */
    AIEB_EINTR = -9,        /* interrupted by a signal or a stop request */
    AIEB_EFAIL = -10,       /* the work itself failed (requests failed, run aborted) */
};

#define AIEB_ERR_MSG_MAX 1024

typedef struct aieb_err {
    int code;                   /* last AIEB_E* code, 0 when none */
    char msg[AIEB_ERR_MSG_MAX]; /* human-readable, no trailing newline */
} aieb_err;

/* Records code and a printf-style message in err (err may be NULL) and returns
 * code, so that `return aieb_errf(err, AIEB_EIO, "...")` reads naturally.
 * Messages longer than AIEB_ERR_MSG_MAX-1 are truncated. This function can't fail. */
AIEB_API int aieb_errf(aieb_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to err's message, keeping its code; returns the code.
 * Used to add context as an error travels up. This function can't fail. */
AIEB_API int aieb_err_prefix(aieb_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Clears err to "no error". err may be NULL. */
AIEB_API void aieb_err_clear(aieb_err *err);

/* Returns a static short name for a code ("invalid input", ...). Can't fail. */
AIEB_API const char *aieb_strerror(int code);

/* Maps a code to the aieb command's exit status: 0 ok, 1 run failed,
 * 2 usage or config error, 3 environment not usable, 130 interrupted. */
AIEB_API int aieb_exit_status(int code);

#ifdef __cplusplus
}
#endif
#endif
