/* log.h - leveled logging to stderr.
 *
 * Logs go to stderr; results go to files and stdout. The level is a process-wide
 * setting (the one piece of mutable global state in libaieb): set it once at
 * start-up from -v/-q or LOG_LEVEL=DEBUG|INFO|WARNING|ERROR. Thread-safe: each
 * message is written with a single write(2).
 */
#ifndef AIEB_LOG_H
#define AIEB_LOG_H

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

#define AIEB_DEBUG(...) aieb_log(AIEB_LOG_DEBUG, __VA_ARGS__)
#define AIEB_INFO(...)  aieb_log(AIEB_LOG_INFO, __VA_ARGS__)
#define AIEB_WARN(...)  aieb_log(AIEB_LOG_WARNING, __VA_ARGS__)
#define AIEB_ERROR(...) aieb_log(AIEB_LOG_ERROR, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
