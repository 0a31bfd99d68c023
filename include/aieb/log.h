/* log.h - leveled logging to stderr.
 *
 * Logs go to stderr; results go to files and stdout. The level is a process-wide
 * setting (the one piece of mutable global state in libaieb): set it once at
 * start-up from -v/-q or LOG_LEVEL=DEBUG|INFO|WARNING|ERROR. Thread-safe: each
 * message is written with a single write(2).
 */
#ifndef AIEB_LOG_H
#define AIEB_LOG_H

#include <stddef.h>

#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    AIEB_LOG_DEBUG = 0,
    AIEB_LOG_INFO = 1,
    AIEB_LOG_WARNING = 2,
    AIEB_LOG_ERROR = 3,
    AIEB_LOG_SILENT = 4,
} aieb_log_level;

/* Sets the level; messages below it are dropped. */
AIEB_API void aieb_log_set_level(aieb_log_level level);
AIEB_API aieb_log_level aieb_log_get_level(void);

/* Parses "DEBUG", "INFO", "WARNING"/"WARN", "ERROR" (any case) into *out.
 * Returns 0, or AIEB_EINVAL for anything else (out untouched). */
AIEB_API int aieb_log_parse_level(const char *s, aieb_log_level *out);

/* Writes "aieb: <level>: <message>\n" to stderr when level is enabled. */
AIEB_API void aieb_log(aieb_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The password of a URL's user information replaced by "***"
 * ("http://user:pass@host:9090" shows as "http://user:***@host:9090"), or the whole
 * user information where it has no password (a token given as the user name:
 * "https://TOKEN@host" shows "***" in place of TOKEN): what outputs, logs and
 * reports may show of a URL that carries credentials. Other strings are copied as
 * they are. Writes at most cap bytes (NUL included) to buf, truncating, and returns
 * buf. */
AIEB_API const char *aieb_url_redact(const char *url, char *buf, size_t cap);

/* 1 when s is a URL with user information (scheme://...@host). */
AIEB_API int aieb_url_has_userinfo(const char *s);

#define AIEB_DEBUG(...) aieb_log(AIEB_LOG_DEBUG, __VA_ARGS__)
#define AIEB_INFO(...)  aieb_log(AIEB_LOG_INFO, __VA_ARGS__)
#define AIEB_WARN(...)  aieb_log(AIEB_LOG_WARNING, __VA_ARGS__)
#define AIEB_ERROR(...) aieb_log(AIEB_LOG_ERROR, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
