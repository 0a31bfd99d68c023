/* buf.c - growable byte buffer with a cap. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/buf.h"
#include "aieb/err.h"

void aieb_buf_init(aieb_buf *b, size_t max_len)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max_len = max_len ? max_len : SIZE_MAX / 2;
}

static int reserve(aieb_buf *b, size_t extra)
{
    if (b->max_len == 0)
        b->max_len = SIZE_MAX / 2;
    if (extra > b->max_len || b->len > b->max_len - extra)
        return AIEB_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 4 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return AIEB_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int aieb_buf_append(aieb_buf *b, const void *p, size_t n)
{
    int rc = reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int aieb_buf_puts(aieb_buf *b, const char *s)
{
    return aieb_buf_append(b, s, strlen(s));
}

int aieb_buf_vprintf(aieb_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return AIEB_EINVAL;
    int rc = reserve(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int aieb_buf_printf(aieb_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = aieb_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void aieb_buf_consume(aieb_buf *b, size_t n)
{
    if (n >= b->len) {
        aieb_buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

void aieb_buf_reset(aieb_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void aieb_buf_free(aieb_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *aieb_buf_steal(aieb_buf *b)
{
    char *s = b->data ? b->data : strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}
