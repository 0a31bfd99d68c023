/* sampler.c - the sampler's schedule, its thread, and its health.
 *
 * The schedule decides when the next reading is due: a tick every interval
 * (every 2 ms while a slow counter's step is being located), an anchor read of
 * the costly counters about once a second between ticks, and a periodic mark
 * once a minute. The same two steps, plan and take, run on the real thread
 * (waiting on a condition variable, woken early by marks and stop) and on a
 * virtual clock in tests (meter_run_until), where late wake-ups and slow reads
 * are scripted, so what the schedule does under load is tested exactly.
 *
 * Health: how late each reading woke after its planned time, how long reads
 * took, ticks skipped because the sampler fell behind, samples not stored,
 * readings re-stamped (summary.json meter.quality, docs/methodology.md).
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "aieb/clock.h"
#include "meter/meter_internal.h"

/* The sampler marks on its own this often, so a long run's calibration is
 * piecewise over segments of at most this length. Each mark reads the slow
 * counters back to back for up to ~130 ms (NVML: ~4 ms of CPU per read). */
#define AUTO_MARK_NS (60 * AIEB_NS_PER_S)

/* ==== Health =============================================================== */

/* Bucket of a duration: 0..3 for < 4 us, then 4 per octave of microseconds. */
static int hist_bucket(int64_t ns)
{
    uint64_t us = ns > 0 ? (uint64_t)ns / 1000 : 0;
    if (us < 4)
        return (int)us;
    int e = 63 - __builtin_clzll(us); /* >= 2 */
    int b = 4 * (e - 1) + (int)((us >> (e - 2)) & 3);
    return b < METER_HIST_N ? b : METER_HIST_N - 1;
}

/* The middle of bucket b, in ns. */
static double hist_mid_ns(int b)
{
    if (b < 4)
        return b * 1000.0 + 500.0;
    int e = b / 4 + 1, sub = b % 4;
    double lo = (double)((uint64_t)(4 + sub) << (e - 2)), width = (double)(1ULL << (e - 2));
    return (lo + width / 2) * 1000.0;
}

/* The q-quantile (0..1) of a histogram of n values, in ms; NAN when empty. */
static double hist_quantile_ms(const uint32_t *h, long n, double q)
{
    if (n <= 0)
        return NAN;
    double want = q * (double)n, seen = 0;
    for (int b = 0; b < METER_HIST_N; b++) {
        seen += h[b];
        if (seen >= want && h[b] > 0)
            return hist_mid_ns(b) / 1e6;
    }
    return hist_mid_ns(METER_HIST_N - 1) / 1e6;
}

void meter_note_read(aieb_meter *m, int64_t took_ns)
{
    meter_quality *q = &m->quality;
    q->read[hist_bucket(took_ns)]++;
    q->reads++;
    if (took_ns > q->read_max_ns)
        q->read_max_ns = took_ns;
}

static void note_late(aieb_meter *m, int64_t late_ns)
{
    meter_quality *q = &m->quality;
    if (late_ns < 0)
        late_ns = 0;
    q->late[hist_bucket(late_ns)]++;
    q->ticks++;
    if (late_ns > q->late_max_ns)
        q->late_max_ns = late_ns;
    if (2 * late_ns > m->interval_ns)
        q->late_half++;
}

int aieb_meter_get_quality(const aieb_meter *m, aieb_meter_quality *out)
{
    aieb_meter *mm = (aieb_meter *)m; /* the lock is not part of the meter's value */
    pthread_mutex_lock(&mm->mu);
    const meter_quality *q = &m->quality;
    memset(out, 0, sizeof *out);
    out->interval_ms = m->interval_ms;
    out->ticks = q->ticks;
    out->late_median_ms = hist_quantile_ms(q->late, q->ticks, 0.5);
    out->late_p95_ms = hist_quantile_ms(q->late, q->ticks, 0.95);
    out->late_max_ms = q->ticks ? (double)q->late_max_ns / 1e6 : NAN;
    out->late_over_half = q->late_half;
    out->reads = q->reads;
    out->read_median_ms = hist_quantile_ms(q->read, q->reads, 0.5);
    out->read_max_ms = q->reads ? (double)q->read_max_ns / 1e6 : NAN;
    out->missed_ticks = q->missed;
    out->dropped_samples = q->dropped;
    out->restamped_samples = q->restamped;
    out->decimation = m->stride;
    /* a sampler that is often late by half an interval no longer samples at
     * its interval: windows are coarser than the interval says */
    out->late_warning = q->ticks > 0 && out->late_p95_ms * 1e6 > (double)m->interval_ns / 2;
    pthread_mutex_unlock(&mm->mu);
    return 0;
}

/* ==== The schedule ========================================================= */

/* When the next anchor read is due: anchor_ns after the last one plus a phase
 * offset that walks the counter's update period by the golden ratio, so that
 * reads do not stay locked to the steps' phase (a 100 ms tick and NVML's 100 ms
 * steps would otherwise keep every read next to a step, where it is useless). */
static int64_t next_anchor(const aieb_meter *m, int64_t after, long k)
{
    double period = (double)m->max_slow_period_ns, frac = fmod(0.6180339887 * (double)k, 1.0);
    return after + m->anchor_ns + (int64_t)(frac * period);
}

void meter_sched_init(aieb_meter *m)
{
    meter_sched *s = &m->sched;
    s->next = m->t_start;
    s->n_anchor = 0;
    s->anchor_at = next_anchor(m, m->t_start, 0);
    s->advance = 1;
}

/* Plans the next reading at now: returns when it is due, with *fine (steps are
 * being located) and *for_anchor (an anchor read between ticks). Under the lock. */
static int64_t plan(aieb_meter *m, int64_t now, int *fine, int *for_anchor)
{
    meter_sched *s = &m->sched;
    if (m->n_slow > 0 && now - m->last_mark_ns >= AUTO_MARK_NS) {
        /* a periodic mark: long runs are calibrated in segments */
        meter_arm_edges(m, EDGE_ARM_NEXT);
        m->fine_until_ns = now + meter_edge_wait_ns(m);
        m->last_mark_ns = now;
    }
    *fine = meter_fine_wanted(m, now);
    if (s->advance) {
        int64_t step = *fine ? m->fine_ns : m->interval_ns;
        s->next += step;
        if (s->next < now) {
            /* fell behind (slow reads, a busy machine): no burst of catch-up
             * samples; skipped ticks of the interval are counted (the 2 ms
             * ones that locate steps are best effort behind slow counter reads) */
            if (!*fine)
                m->quality.missed += (now - s->next) / step;
            s->next = now;
        }
        s->advance = 0;
    }
    /* an anchor read of its own between ticks, unless fine sampling reads the
     * counters anyway */
    *for_anchor = !*fine && m->n_slow > 0 && s->anchor_at < s->next;
    return *for_anchor ? (s->anchor_at > now ? s->anchor_at : now) : s->next;
}

/* Takes the reading planned for wake at t (woken: a mark cut the wait short).
 * Called and returns under the lock; the sources are read outside it. */
static void take(aieb_meter *m, int64_t wake, int64_t t, int for_anchor, int woken)
{
    meter_sched *s = &m->sched;
    int counters = meter_fine_wanted(m, t);
    int is_anchor = for_anchor && !woken && !counters;
    if (for_anchor && !woken)
        s->anchor_at = next_anchor(m, t, ++s->n_anchor);
    if (!woken)
        note_late(m, t - wake);
    pthread_mutex_unlock(&m->mu);
    meter_read_all(m, t, 0, counters || is_anchor);
    pthread_mutex_lock(&m->mu);
    meter_record(m, t, PH_RUN, is_anchor);
    s->advance = !(for_anchor && !woken); /* after an anchor read, the tick is still due */
    if (woken) {
        s->next = t;
        s->advance = 1;
    }
}

/* A reading asked for by aieb_meter_read_now: every channel, counters
 * included, now; the schedule of ticks is left as it was. Under the lock. */
static void take_requested(aieb_meter *m)
{
    int64_t t = meter_now(m);
    pthread_mutex_unlock(&m->mu);
    meter_read_all(m, t, 1, 1);
    pthread_mutex_lock(&m->mu);
    meter_record(m, t, PH_RUN, 0);
    m->read_t = t;
    m->read_req = 0;
    pthread_cond_broadcast(&m->read_cv);
}

/* ==== The real thread and the virtual clock =============================== */

void *meter_sampler_main(void *arg)
{
    aieb_meter *m = arg;
    pthread_mutex_lock(&m->mu);
    while (!m->stop_req) {
        int fine, for_anchor;
        int64_t wake = plan(m, meter_now(m), &fine, &for_anchor);
        struct timespec ts = {.tv_sec = wake / AIEB_NS_PER_S, .tv_nsec = wake % AIEB_NS_PER_S};
        int woken = 0;
        while (!m->stop_req && !woken && !m->read_req) {
            int rc = pthread_cond_timedwait(&m->cv, &m->mu, &ts);
            if (rc == ETIMEDOUT)
                break;
            /* a mark asked for fine sampling: read now rather than at the tick */
            woken = rc == 0 && !fine && meter_fine_wanted(m, meter_now(m));
        }
        if (m->stop_req)
            break;
        if (m->read_req) {
            take_requested(m);
            continue;
        }
        take(m, wake, meter_now(m), for_anchor, woken);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

void meter_set_clock(aieb_meter *m, const meter_clock *clock)
{
    m->clock = *clock;
}

int meter_run_until(aieb_meter *m, int64_t until_ns, aieb_err *err)
{
    if (m->state != ST_RUNNING || m->thread_started || !m->clock.now || !m->clock.sleep_until)
        return aieb_errf(err, AIEB_EINVAL,
                         "meter: a virtual run needs a virtual clock and a "
                         "meter started with aieb_meter_start_at");
    pthread_mutex_lock(&m->mu);
    for (;;) {
        int fine, for_anchor;
        int64_t wake = plan(m, meter_now(m), &fine, &for_anchor);
        if (wake >= until_ns)
            break; /* still due: the next run (or stop) takes it */
        pthread_mutex_unlock(&m->mu);
        m->clock.sleep_until(m->clock.ctx, wake);
        pthread_mutex_lock(&m->mu);
        int64_t t = meter_now(m);
        int64_t last = m->n_rows ? meter_row(m, m->n_rows - 1)->t_ns : 0;
        if (t <= last)
            t = last + 1; /* a clock that did not move: readings stay in order */
        take(m, wake, t, for_anchor, 0);
    }
    pthread_mutex_unlock(&m->mu);
    return 0;
}
