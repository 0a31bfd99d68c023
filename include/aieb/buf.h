/* buf.h - a growable byte buffer with a size cap.
 *
 * Every buffer that grows from outside input (HTTP body, SSE line, YAML scalar)
 * has a cap; growing past it fails with AIEB_ETOOBIG instead of eating memory
 * (curl's dynbuf habit). data is always NUL-terminated when non-NULL.
 */
#ifndef AIEB_BUF_H
#define AIEB_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aieb_buf {
    char *data;     /* NUL-terminated contents, NULL until first append */
    size_t len;     /* bytes used, excluding the NUL */
    size_t cap;     /* bytes allocated */
    size_t max_len; /* growth past this fails with AIEB_ETOOBIG; 0 = SIZE_MAX/2 */
} aieb_buf;

/* Initialises an empty buffer with a cap (0 for effectively none). Can't fail. */
AIEB_API void aieb_buf_init(aieb_buf *b, size_t max_len);

/* Appends n bytes. Returns 0, AIEB_ETOOBIG (cap reached, buffer unchanged) or
 * AIEB_ENOMEM. */
AIEB_API int aieb_buf_append(aieb_buf *b, const void *p, size_t n);

/* Appends a NUL-terminated string; same returns as aieb_buf_append. */
AIEB_API int aieb_buf_puts(aieb_buf *b, const char *s);

/* Appends printf-formatted text; same returns as aieb_buf_append. */
AIEB_API int aieb_buf_printf(aieb_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
AIEB_API int aieb_buf_vprintf(aieb_buf *b, const char *fmt, va_list ap);

/* Drops the first n bytes (n > len drops all). Can't fail. */
AIEB_API void aieb_buf_consume(aieb_buf *b, size_t n);

/* Empties the buffer, keeping its memory. Can't fail. */
AIEB_API void aieb_buf_reset(aieb_buf *b);

/* Frees memory; the buffer is empty and reusable afterwards. */
AIEB_API void aieb_buf_free(aieb_buf *b);

/* Returns the contents and leaves the buffer empty; the caller frees the string.
 * Returns an allocated "" when empty, NULL only when out of memory. */
AIEB_API char *aieb_buf_steal(aieb_buf *b);

#ifdef __cplusplus
}
#endif
#endif
