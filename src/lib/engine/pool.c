/* pool.c - persistent SPMD thread pool (see pool.h). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/clock.h"
#include "engine/pool.h"

/* Spins this many rounds before yielding the CPU inside a job (barriers, join). */
#define SPIN_ROUNDS 4096
/* An idle worker spins this long for the next job before sleeping on the condvar:
 * longer than the gap between two decode steps, short enough to cost nothing idle. */
#define IDLE_SPIN_NS (2 * AIEB_NS_PER_MS)

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
    atomic_uint job;   /* incremented for each pool_run */
    atomic_int n_done; /* workers finished with the current job */
    atomic_int bar_count;
    atomic_uint bar_gen;
    atomic_int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int started; /* workers created (for cleanup after a failed create) */
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    pool *p = w->p;
    unsigned seen = 0;
    for (;;) {
        int64_t t0 = aieb_now_ns();
        unsigned spins = 0;
        while (atomic_load(&p->job) == seen && !atomic_load(&p->stop)) {
            cpu_relax();
            if (++spins % 1024 == 0 && aieb_now_ns() - t0 > IDLE_SPIN_NS) {
                pthread_mutex_lock(&p->mu);
                while (atomic_load(&p->job) == seen && !atomic_load(&p->stop))
                    pthread_cond_wait(&p->cv, &p->mu);
                pthread_mutex_unlock(&p->mu);
            }
        }
        if (atomic_load(&p->stop))
            return NULL;
        seen = atomic_load(&p->job);
        p->fn(p->arg, w->ith, p->n);
        atomic_fetch_add(&p->n_done, 1);
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
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
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
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i <= p->started; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
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
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->job, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    fn(arg, 0, p->n);
    unsigned spins = 0;
    while (atomic_load(&p->n_done) != p->n - 1) {
        cpu_relax();
        if (++spins > SPIN_ROUNDS)
            sched_yield();
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
        return;
    }
    unsigned spins = 0;
    while (atomic_load(&p->bar_gen) == gen) {
        cpu_relax();
        if (++spins > SPIN_ROUNDS)
            sched_yield();
    }
}
