/* err.c - the aieb_err record: one place where user-facing error text is made. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "aieb/err.h"

int aieb_errf(aieb_err *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = code;
    return code;
}

int aieb_err_prefix(aieb_err *err, const char *fmt, ...)
{
    if (!err)
        return AIEB_EFAIL;
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[AIEB_ERR_MSG_MAX];
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    return err->code;
}

void aieb_err_clear(aieb_err *err)
{
    if (!err)
        return;
    err->code = 0;
    err->msg[0] = '\0';
}

const char *aieb_strerror(int code)
{
    switch (code) {
    case AIEB_OK:
        return "ok";
    case AIEB_EINVAL:
        return "invalid input";
    case AIEB_ENOMEM:
        return "out of memory";
    case AIEB_EIO:
        return "I/O error";
    case AIEB_ENOTFOUND:
        return "not found";
    case AIEB_EUNSUPPORTED:
        return "not supported";
    case AIEB_ETOOBIG:
        return "too big";
    case AIEB_EENV:
        return "environment not usable";
    case AIEB_ETIMEOUT:
        return "timed out";
    case AIEB_EINTR:
        return "interrupted";
    case AIEB_EFAIL:
        return "failed";
    default:
        return "unknown error";
    }
}

int aieb_exit_status(int code)
{
    switch (code) {
    case AIEB_OK:
        return 0;
    case AIEB_EINVAL:
    case AIEB_ETOOBIG:
    case AIEB_ENOTFOUND:
    case AIEB_EUNSUPPORTED:
        return 2;
    case AIEB_EENV:
        return 3;
    case AIEB_EINTR:
        return 130;
    default:
        return 1;
    }
}
