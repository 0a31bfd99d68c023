/* clock.c - monotonic and wall clocks. */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "aieb/clock.h"
#include "aieb/err.h"

int64_t aieb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * AIEB_NS_PER_S + ts.tv_nsec;
}

int64_t aieb_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * AIEB_NS_PER_S + ts.tv_nsec;
}

int aieb_sleep_ns(int64_t ns, const volatile sig_atomic_t *stop)
{
    int64_t end = aieb_now_ns() + ns;
    for (;;) {
        if (stop && *stop)
            return AIEB_EINTR;
        int64_t left = end - aieb_now_ns();
        if (left <= 0)
            return 0;
        if (stop && left > 50 * AIEB_NS_PER_MS)
            left = 50 * AIEB_NS_PER_MS;
        struct timespec ts = {.tv_sec = left / AIEB_NS_PER_S, .tv_nsec = left % AIEB_NS_PER_S};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
            if (stop && *stop)
                return AIEB_EINTR;
        }
    }
}

char *aieb_format_utc(int64_t wall_ns, int compact, char *buf)
{
    time_t t = (time_t)(wall_ns / AIEB_NS_PER_S);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%S", &tm);
    return buf;
}
