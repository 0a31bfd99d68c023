/* log.c - leveled logging to stderr. */
#include <ctype.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "aieb/err.h"
#include "aieb/log.h"

/* Process-wide by design: see log.h. Atomic so the sampler thread may read it. */
static _Atomic int log_level = AIEB_LOG_INFO;

void aieb_log_set_level(aieb_log_level level)
{
    atomic_store(&log_level, (int)level);
}

aieb_log_level aieb_log_get_level(void)
{
    return (aieb_log_level)atomic_load(&log_level);
}

int aieb_log_parse_level(const char *s, aieb_log_level *out)
{
    static const struct {
        const char *name;
        aieb_log_level level;
    } names[] = {
        {"DEBUG", AIEB_LOG_DEBUG},  {"INFO", AIEB_LOG_INFO},   {"WARNING", AIEB_LOG_WARNING},
        {"WARN", AIEB_LOG_WARNING}, {"ERROR", AIEB_LOG_ERROR}, {"SILENT", AIEB_LOG_SILENT},
    };
    if (!s)
        return AIEB_EINVAL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return AIEB_EINVAL;
}

void aieb_log(aieb_log_level level, const char *fmt, ...)
{
    static const char *const tags[] = {"debug", "info", "warning", "error", ""};
    if ((int)level < atomic_load(&log_level) || level >= AIEB_LOG_SILENT)
        return;
    char line[2048];
    /* On a terminal, start by erasing the current line: a progress bar drawn
     * with carriage returns may be on it (it is redrawn at its next update). */
    int n = snprintf(line, sizeof line, "%saieb: %s: ", isatty(STDERR_FILENO) ? "\r\x1b[K" : "",
                     tags[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

/* ==== URLs with credentials =============================================== */

/* The user information of s: [*ui, *at) between "scheme://" and the '@' before the
 * host (RFC 3986: the authority ends at the first '/', '?' or '#'). 0 when none. */
static int userinfo(const char *s, const char **ui, const char **at)
{
    const char *p = strstr(s, "://");
    if (!p || p == s)
        return 0;
    for (const char *q = s; q < p; q++)
        if (!isalnum((unsigned char)*q) && *q != '+' && *q != '-' && *q != '.')
            return 0;
    p += 3;
    size_t auth = strcspn(p, "/?#");
    const char *a = NULL;
    for (size_t i = 0; i < auth; i++)
        if (p[i] == '@')
            a = p + i; /* the last '@' of the authority: passwords may hold '@' unescaped */
    if (!a)
        return 0;
    *ui = p;
    *at = a;
    return 1;
}

int aieb_url_has_userinfo(const char *s)
{
    const char *ui, *at;
    return s && userinfo(s, &ui, &at);
}

const char *aieb_url_redact(const char *url, char *buf, size_t cap)
{
    if (!cap)
        return buf;
    const char *ui, *at;
    if (!url || !userinfo(url, &ui, &at)) {
        snprintf(buf, cap, "%s", url ? url : "");
        return buf;
    }
    const char *colon = memchr(ui, ':', (size_t)(at - ui));
    const char *keep = colon ? colon + 1 : ui; /* the user name stays, with its ':' */
    snprintf(buf, cap, "%.*s***%s", (int)(keep - url), url, at);
    return buf;
}
