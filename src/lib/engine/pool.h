/* pool.h - a persistent pthread pool for SPMD work: every thread runs the same
 * function on its share, meeting at barriers.
 *
 * Threads are created once. Waiting is a short spin (the gaps between a decode
 * step's phases are microseconds) that falls back to sched_yield and, when the pool
 * is idle for longer, to a condition variable, so an idle engine costs no CPU.
 */
#ifndef AIEB_ENGINE_POOL_H
#define AIEB_ENGINE_POOL_H

#include "aieb/err.h"

typedef struct pool pool;

typedef void (*pool_fn)(void *arg, int ith, int nth);

/* Starts n_threads - 1 workers (the caller is thread 0). Returns 0, AIEB_EINVAL
 * (n_threads < 1 or > 1024) or AIEB_ENOMEM / AIEB_EFAIL (pthread_create failed). */
int pool_create(int n_threads, pool **out, aieb_err *err);

/* Stops and joins the workers; p may be NULL. */
void pool_destroy(pool *p);

int pool_size(const pool *p);

/* Runs fn(arg, ith, nth) on every thread (the caller as ith 0) and returns when all
 * have returned. Not reentrant. */
void pool_run(pool *p, pool_fn fn, void *arg);

/* Waits until every thread of the running job has reached this call. Must be called
 * the same number of times by all threads of a job. */
void pool_barrier(pool *p);

/* The [lo, hi) share of thread ith among nth for n items, in multiples of unit
 * (the last share takes the remainder). */
static inline void pool_share(int n, int unit, int ith, int nth, int *lo, int *hi)
{
    int units = (n + unit - 1) / unit;
    int a = (int)((long long)units * ith / nth), b = (int)((long long)units * (ith + 1) / nth);
    *lo = a * unit < n ? a * unit : n;
    *hi = b * unit < n ? b * unit : n;
}

#endif
