/* clock.h - the one clock that backends and meters share.
 *
 * Every timestamp in aieb is CLOCK_MONOTONIC in nanoseconds (the clock Python's
 * time.monotonic() reads, so worker timestamps line up). Wall-clock time is used
 * only for labels in result files.
 */
#ifndef AIEB_CLOCK_H
#define AIEB_CLOCK_H

#include <signal.h>
#include <stdint.h>
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AIEB_NS_PER_S  1000000000LL
#define AIEB_NS_PER_MS 1000000LL

/* CLOCK_MONOTONIC now, in ns. This function can't fail. */
AIEB_API int64_t aieb_now_ns(void);

/* CLOCK_REALTIME now, in ns since the Unix epoch. This function can't fail. */
AIEB_API int64_t aieb_wall_ns(void);

/* Sleeps for ns nanoseconds, resuming after signals, unless *stop becomes
 * non-zero (checked every 50 ms; stop may be NULL). Returns 0, or AIEB_EINTR
 * when stopped early. */
AIEB_API int aieb_sleep_ns(int64_t ns, const volatile sig_atomic_t *stop);

/* Formats wall-clock ns as UTC: "%Y-%m-%dT%H:%M:%S" (iso, with 'Z' when zulu) or
 * compact "%Y%m%dT%H%M%SZ". buf must hold 32 bytes. Returns buf. */
AIEB_API char *aieb_format_utc(int64_t wall_ns, int compact, char *buf);

/* Seconds as a double from ns. */
static inline double aieb_ns_to_s(int64_t ns)
{
    return (double)ns / 1e9;
}

#ifdef __cplusplus
}
#endif
#endif
