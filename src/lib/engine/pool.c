/* pool.c - persistent SPMD thread pool (see pool.h).
 *
 * Every wait (a worker for the next job, a barrier, the caller for the end of a job)
 * spins for a bounded time and then sleeps on a futex. Spinning keeps the hand-offs of
 * a decode step (tens of microseconds apart) cheap on an idle machine; sleeping keeps
 * a thread whose partner was descheduled by other work from burning the CPU that
 * partner needs. A waker makes the futex call only when someone sleeps.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "aieb/clock.h"
#include "engine/pool.h"

/* How long a wait spins before sleeping: inside a job (barriers, the end of a job)
 * and between jobs (a decode step's sampling and callback happen there). A barrier
 * may also yield the CPU between its spin and its sleep (BARRIER_YIELD_NS > SPIN);
 * measurements in docs/engine.md chose 50 us without it: waking a sleeper costs tens
 * of microseconds in a VM, which shorter spins paid on an idle machine. */
#define BARRIER_SPIN_NS  (50 * 1000)
#define BARRIER_YIELD_NS (50 * 1000)
#define IDLE_SPIN_NS     (300 * 1000)

typedef struct worker {
    pool *p;
    int ith;
} worker;

struct pool {
    int n;
    pthread_t *threads;
    worker *workers;
    pool_fn fn;
    void *arg;
    atomic_uint job;      /* incremented for each pool_run (futex word) */
    atomic_uint n_done;   /* workers finished with the current job (futex word) */
    atomic_uint bar_gen;  /* incremented when a barrier opens (futex word) */
    atomic_int bar_count; /* threads arrived at the current barrier */
    atomic_int job_sleepers, done_sleepers, bar_sleepers;
    atomic_int stop;
    int started; /* workers created (for cleanup after a failed create) */
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void futex_wait(atomic_uint *word, unsigned expected)
{
    /* returns at once when *word != expected, on a wake, or on a signal */
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake(atomic_uint *word, int n)
{
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* Waits until *word != value: spins up to spin_ns, then yields the CPU between checks
 * up to yield_ns (a descheduled partner on this CPU's run queue gets to finish), then
 * sleeps, counted in sleepers. */
static void wait_change(atomic_uint *word, unsigned value, atomic_int *sleepers, int64_t spin_ns,
                        int64_t yield_ns, const atomic_int *stop)
{
    int64_t t0 = 0;
    for (unsigned spins = 0; atomic_load(word) == value; spins++) {
        if (stop && atomic_load(stop))
            return;
        cpu_relax();
        if (spins % 64 != 63)
            continue;
        int64_t now = aieb_now_ns();
        if (!t0)
            t0 = now;
        else if (now - t0 > yield_ns)
            break;
        else if (now - t0 > spin_ns)
            sched_yield();
    }
    atomic_fetch_add(sleepers, 1);
    while (atomic_load(word) == value && !(stop && atomic_load(stop)))
        futex_wait(word, value);
    atomic_fetch_sub(sleepers, 1);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    pool *p = w->p;
    unsigned seen = 0;
    for (;;) {
        wait_change(&p->job, seen, &p->job_sleepers, IDLE_SPIN_NS, IDLE_SPIN_NS, &p->stop);
        if (atomic_load(&p->stop))
            return NULL;
        seen = atomic_load(&p->job);
        p->fn(p->arg, w->ith, p->n);
        if (atomic_fetch_add(&p->n_done, 1) + 1 == (unsigned)p->n - 1 &&
            atomic_load(&p->done_sleepers) > 0)
            futex_wake(&p->n_done, 1);
    }
}

int pool_create(int n_threads, pool **out, aieb_err *err)
{
    *out = NULL;
    if (n_threads < 1 || n_threads > 1024)
        return aieb_errf(err, AIEB_EINVAL, "engine: threads must be 1..1024, not %d", n_threads);
    pool *p = calloc(1, sizeof *p);
    if (!p)
        return aieb_errf(err, AIEB_ENOMEM, "engine: out of memory for the thread pool");
    p->n = n_threads;
    p->threads = calloc((size_t)n_threads, sizeof *p->threads);
    p->workers = calloc((size_t)n_threads, sizeof *p->workers);
    if (!p->threads || !p->workers) {
        free(p->threads);
        free(p->workers);
        free(p);
        return aieb_errf(err, AIEB_ENOMEM, "engine: out of memory for the thread pool");
    }
    for (int i = 1; i < n_threads; i++) {
        p->workers[i].p = p;
        p->workers[i].ith = i;
        int rc = pthread_create(&p->threads[i], NULL, worker_main, &p->workers[i]);
        if (rc != 0) {
            pool_destroy(p);
            return aieb_errf(err, AIEB_EFAIL, "engine: starting thread %d of %d: %s", i, n_threads,
                             strerror(rc));
        }
        p->started = i;
    }
    *out = p;
    return 0;
}

void pool_destroy(pool *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, 1);
    atomic_fetch_add(&p->job, 1);
    futex_wake(&p->job, INT_MAX);
    for (int i = 1; i <= p->started; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    free(p->workers);
    free(p);
}

int pool_size(const pool *p)
{
    return p->n;
}

void pool_run(pool *p, pool_fn fn, void *arg)
{
    if (p->n == 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store(&p->n_done, 0);
    atomic_fetch_add(&p->job, 1);
    if (atomic_load(&p->job_sleepers) > 0)
        futex_wake(&p->job, INT_MAX);
    fn(arg, 0, p->n);
    for (;;) {
        unsigned done = atomic_load(&p->n_done);
        if (done == (unsigned)p->n - 1)
            return;
        wait_change(&p->n_done, done, &p->done_sleepers, BARRIER_SPIN_NS, BARRIER_YIELD_NS, NULL);
    }
}

void pool_barrier(pool *p)
{
    if (p->n == 1)
        return;
    unsigned gen = atomic_load(&p->bar_gen);
    if (atomic_fetch_add(&p->bar_count, 1) == p->n - 1) {
        atomic_store(&p->bar_count, 0);
        atomic_fetch_add(&p->bar_gen, 1);
        if (atomic_load(&p->bar_sleepers) > 0)
            futex_wake(&p->bar_gen, INT_MAX);
        return;
    }
    wait_change(&p->bar_gen, gen, &p->bar_sleepers, BARRIER_SPIN_NS, BARRIER_YIELD_NS, NULL);
}
