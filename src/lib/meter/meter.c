/* meter.c - the sampler thread and its timeline.
 *
 * One thread per meter reads every source at the sampling interval, stamps the
 * readings with CLOCK_MONOTONIC and appends them to a timeline kept in chunks.
 * At every reading it also keeps running figures per channel (the integral of
 * power, counter changes), so whole-run totals never depend on what the
 * timeline kept. Windows over the timeline live in window.c.
 *
 * Slow counters (NVML's energy counter moves in ~100 ms steps) are pinned down
 * at both ends of the run: after start the sampler reads every 2 ms until each
 * such counter has moved once, and stop does the same after its reading. The
 * step instants found this way let the run's energy be taken between two known
 * counter values, with integrated power covering only the few ms before the
 * first step and after the last (docs/methodology.md, "Counter edges").
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aieb/clock.h"
#include "aieb/log.h"
#include "meter/meter_internal.h"

#define FINE_INTERVAL_NS (2 * AIEB_NS_PER_MS)
#define SLOW_COUNTER_NS  (20 * AIEB_NS_PER_MS)
#define MIN_ROWS         16
/* Between marks, costly counters are read about once a second (half a second
 * per such channel, at least 1 s: ~0.4% of a core per H100) and each read
 * becomes an anchor of the piecewise calibration. */
#define ANCHOR_MIN_NS         (1 * AIEB_NS_PER_S)
#define ANCHOR_NS_PER_CHANNEL (AIEB_NS_PER_S / 2)

void aieb_meter_opts_init(aieb_meter_opts *opts)
{
    memset(opts, 0, sizeof *opts);
}

void aieb_meter_add_note(aieb_meter *m, int level, const char *fmt, ...)
{
    char msg[AIEB_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    aieb_log((aieb_log_level)level, "%s", msg);
    if (m->n_notes < AIEB_METER_MAX_NOTES) {
        char *copy = strdup(msg);
        if (copy)
            m->notes[m->n_notes++] = copy;
    }
}

/* ==== Opening and closing ================================================== */

static int check_opts(const aieb_meter_opts *o, aieb_err *err)
{
    if (o->sample_interval_ms != 0 && (o->sample_interval_ms < AIEB_METER_MIN_INTERVAL_MS ||
                                       o->sample_interval_ms > AIEB_METER_MAX_INTERVAL_MS))
        return aieb_errf(
            err, AIEB_EINVAL, "meter: sample interval %d ms is out of range (%d..%d ms)",
            o->sample_interval_ms, AIEB_METER_MIN_INTERVAL_MS, AIEB_METER_MAX_INTERVAL_MS);
    return 0;
}

static int init_channels(aieb_meter *m, aieb_err *err)
{
    for (int i = 0; i < m->n_src; i++)
        m->n_ch += m->src[i]->n_channels;
    m->src_base = calloc((size_t)m->n_src + 1, sizeof *m->src_base);
    m->src_err_count = calloc((size_t)m->n_src + 1, sizeof *m->src_err_count);
    m->src_read_t = calloc((size_t)m->n_src + 1, sizeof *m->src_read_t);
    m->src_cheap_counter = calloc((size_t)m->n_src + 1, sizeof *m->src_cheap_counter);
    m->ch = calloc((size_t)m->n_ch + 1, sizeof *m->ch);
    m->scratch = calloc((size_t)m->n_ch + 1, sizeof *m->scratch);
    if (!m->src_base || !m->src_err_count || !m->src_read_t || !m->src_cheap_counter || !m->ch ||
        !m->scratch)
        return aieb_errf(err, AIEB_ENOMEM, "meter: out of memory");
    int c = 0;
    for (int i = 0; i < m->n_src; i++) {
        aieb_source *s = m->src[i];
        m->src_base[i] = c;
        if (s->max_read_interval_ns > 0 && s->max_read_interval_ns < m->interval_ns) {
            AIEB_DEBUG("meter: %s must be read every %.3f s; sampling that often", s->name,
                       aieb_ns_to_s(s->max_read_interval_ns));
            m->interval_ns = s->max_read_interval_ns;
        }
        for (int j = 0; j < s->n_channels; j++, c++) {
            chan *ch = &m->ch[c];
            ch->info = &s->channels[j];
            ch->slow = ch->info->has_counter && ch->info->has_power &&
                       ch->info->counter_period_ns >= SLOW_COUNTER_NS;
            if (ch->info->has_counter && !ch->slow)
                m->src_cheap_counter[i] = 1; /* counter-only: needed at every tick */
            if (ch->slow) {
                m->n_slow++;
                if (ch->info->counter_period_ns > m->max_slow_period_ns)
                    m->max_slow_period_ns = ch->info->counter_period_ns;
            }
        }
    }
    m->interval_ms = (int)((m->interval_ns + AIEB_NS_PER_MS - 1) / AIEB_NS_PER_MS);
    m->anchor_ns = m->n_slow * ANCHOR_NS_PER_CHANNEL;
    if (m->anchor_ns < ANCHOR_MIN_NS)
        m->anchor_ns = ANCHOR_MIN_NS;
    m->fine_ns = FINE_INTERVAL_NS < m->interval_ns ? FINE_INTERVAL_NS : m->interval_ns;
    m->row_size = sizeof(row) + (size_t)m->n_ch * sizeof(slot);
    m->max_rows = m->opts.timeline_max_rows;
    if (m->max_rows == 0)
        m->max_rows = (size_t)AIEB_METER_DEFAULT_TIMELINE_MB * 1024 * 1024 / m->row_size;
    if (m->max_rows < MIN_ROWS)
        m->max_rows = MIN_ROWS;
    m->stride = 1;
    return 0;
}

int aieb_meter_open_with(aieb_meter **out, const aieb_meter_opts *opts, aieb_source **sources,
                         int n_sources, aieb_err *err)
{
    *out = NULL;
    aieb_meter_opts dflt;
    aieb_meter_opts_init(&dflt);
    if (!opts)
        opts = &dflt;
    int rc = check_opts(opts, err);
    aieb_meter *m = rc ? NULL : calloc(1, sizeof *m);
    if (!m || (m->src = calloc((size_t)n_sources + 1, sizeof *m->src)) == NULL) {
        for (int i = 0; i < n_sources; i++)
            if (sources[i])
                sources[i]->close(sources[i]);
        free(m);
        return rc ? rc : aieb_errf(err, AIEB_ENOMEM, "meter: out of memory");
    }
    for (int i = 0; i < n_sources; i++)
        if (sources[i])
            m->src[m->n_src++] = sources[i];
    m->opts = *opts;
    m->opts.gpu_ids = m->opts.nvml_library = m->opts.powercap_root = m->opts.proc_root = NULL;
    if (m->opts.pue <= 0)
        m->opts.pue = 1.0;
    m->interval_ms =
        opts->sample_interval_ms ? opts->sample_interval_ms : AIEB_METER_DEFAULT_INTERVAL_MS;
    m->interval_ns = m->interval_ms * AIEB_NS_PER_MS;
    pthread_mutex_init(&m->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cv, &ca);
    pthread_cond_init(&m->read_cv, &ca);
    pthread_condattr_destroy(&ca);
    rc = init_channels(m, err);
    if (rc) {
        aieb_meter_close(m);
        return rc;
    }
    *out = m;
    return 0;
}

static void stop_thread(aieb_meter *m)
{
    if (!m->thread_started)
        return;
    pthread_mutex_lock(&m->mu);
    m->stop_req = 1;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
    m->thread_started = 0;
}

void aieb_meter_close(aieb_meter *m)
{
    if (!m)
        return;
    stop_thread(m);
    for (int i = 0; i < m->n_src; i++)
        m->src[i]->close(m->src[i]);
    for (size_t i = 0; i < m->n_chunks; i++)
        free(m->chunks[i]);
    for (int i = 0; i < m->n_notes; i++)
        free(m->notes[i]);
    for (int i = 0; m->ch && i < m->n_ch; i++) {
        free(m->ch[i].edges);
        free(m->ch[i].anchors);
        free(m->ch[i].swing_pre);
    }
    free(m->chunks);
    free(m->src);
    free(m->src_base);
    free(m->src_err_count);
    free(m->src_read_t);
    free(m->src_cheap_counter);
    free(m->ch);
    free(m->scratch);
    pthread_cond_destroy(&m->cv);
    pthread_cond_destroy(&m->read_cv);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* ==== Reading and recording ================================================ */

int meter_fine_wanted(const aieb_meter *m, int64_t now)
{
    return now < m->fine_until_ns && meter_edges_pending(m);
}

void meter_read_all(aieb_meter *m, int64_t t_ns, int force, int counters)
{
    int64_t began = meter_now(m);
    for (int i = 0; i < m->n_src; i++) {
        aieb_source *s = m->src[i];
        aieb_channel_reading *out = &m->scratch[m->src_base[i]];
        if (!force && s->min_read_interval_ns > 0 &&
            t_ns - m->src_read_t[i] < s->min_read_interval_ns)
            continue;
        m->src_read_t[i] = t_ns;
        s->skip_counter = !counters && !m->src_cheap_counter[i];
        for (int j = 0; j < s->n_channels; j++)
            aieb_reading_clear(&out[j]);
        aieb_err e;
        aieb_err_clear(&e);
        if (s->read(s, t_ns, out, &e) != 0 && m->src_err_count[i]++ == 0)
            AIEB_WARN("meter: %s read failed: %s (further failures are counted, not logged)",
                      s->name, e.msg[0] ? e.msg : "unknown error");
    }
    int64_t took = meter_now(m) - began;
    meter_note_read(m, took);
    m->read_end_ns = t_ns + took; /* t_ns may be tick_at's own time */
}

/* Makes room for one more row. Under the lock. Returns 0, or -1 when memory
 * ran out (the sample is dropped; totals go on). */
static int grow_rows(aieb_meter *m)
{
    if (m->n_rows < m->n_chunks * ROWS_PER_CHUNK)
        return 0;
    if (m->n_chunks == m->chunks_cap) {
        size_t cap = m->chunks_cap ? m->chunks_cap * 2 : 16;
        unsigned char **p = realloc(m->chunks, cap * sizeof *p);
        if (!p)
            return -1;
        m->chunks = p;
        m->chunks_cap = cap;
    }
    unsigned char *chunk = malloc(ROWS_PER_CHUNK * m->row_size);
    if (!chunk)
        return -1;
    m->chunks[m->n_chunks++] = chunk;
    return 0;
}

/* The timeline is full: keep every other row (the start row stays) and from
 * now on store one running sample in twice as many. */
static void decimate(aieb_meter *m)
{
    size_t kept = 0;
    for (size_t i = 0; i < m->n_rows; i += 2)
        memcpy(meter_row(m, kept++), meter_row(m, i), m->row_size);
    m->n_rows = kept;
    size_t need = (kept + ROWS_PER_CHUNK - 1) / ROWS_PER_CHUNK;
    while (m->n_chunks > need + 1)
        free(m->chunks[--m->n_chunks]);
    m->stride *= 2;
    AIEB_INFO("meter: timeline reached %zu samples; keeping one in %d from now on "
              "(totals stay exact; windows coarsen)",
              m->max_rows, m->stride);
}

/* Records a located counter step. Past MAX_EDGES (or out of memory) steps are
 * not kept: calibration then spans longer segments. */
void meter_push_edge(chan *c, int64_t t, double e, double w, int64_t half_ns, double u_j)
{
    if (c->n_edges == c->cap_edges) {
        int cap = c->cap_edges ? c->cap_edges * 2 : 8;
        edge *p = cap <= MAX_EDGES ? realloc(c->edges, (size_t)cap * sizeof *p) : NULL;
        if (!p)
            return;
        c->edges = p;
        c->cap_edges = cap;
    }
    c->edges[c->n_edges++] =
        (edge){.t_ns = t, .e_j = e, .w_j = w, .k = NAN, .half_ns = half_ns, .u_j = u_j};
}

/* Keeps a counter read taken between marks. Past MAX_ANCHORS (or out of
 * memory) reads are not kept: calibration then spans longer segments. */
static void push_anchor(chan *c, int64_t t0, int64_t t1, double e)
{
    if (c->n_anchors == c->cap_anchors) {
        int cap = c->cap_anchors ? c->cap_anchors * 2 : 64;
        anchor *p = cap <= MAX_ANCHORS ? realloc(c->anchors, (size_t)cap * sizeof *p) : NULL;
        if (!p)
            return;
        c->anchors = p;
        c->cap_anchors = cap;
    }
    c->anchors[c->n_anchors++] = (anchor){t0, t1, e};
}

/* Updates channel c's running figures with reading r at t. Under the lock. */
static void update_channel(aieb_meter *m, chan *c, const aieb_channel_reading *r, int64_t t,
                           int phase, int is_anchor, slot *out)
{
    const aieb_channel_info *in = c->info;
    double w_before = c->w, dt = c->have_prev ? (double)(t - c->prev_t) / 1e9 : 0;
    double p_before = c->prev_p;
    double p_store = r->power_w;

    if (in->has_power) {
        double p = r->power_w;
        if (!isnan(c->prev_p) && c->have_prev)
            c->w += isnan(p) ? c->prev_p * dt : (c->prev_p + p) / 2 * dt; /* hold over gaps */
        else if (c->have_prev && !isnan(p))
            c->w += p * (double)(t - c->first_t) / 1e9; /* the first power, held back
                                                           to the first reading */
        if (!isnan(p))
            c->prev_p = p;
    }
    double e = r->energy_j;
    if (in->has_counter && !isnan(e)) {
        if (phase == PH_START)
            c->e0 = e;
        else if (isnan(c->e0) && !in->has_power)
            c->e0 = e; /* counter-only: count from the first readable value */
        if (!in->has_power) {
            if (!isnan(c->e_last) && t > c->e_last_t)
                p_store = (e - c->e_last) / ((double)(t - c->e_last_t) / 1e9);
            c->w = e - c->e0;
        }
        if (!isnan(c->e_last) && e != c->e_last) {
            int64_t tm = c->e_last_t + (t - c->e_last_t) / 2;
            if (c->n_changes++ == 0)
                c->first_change_t = tm;
            c->last_change_t = tm;
            if (c->edge_state == EDGE_ARMED) {
                double f = t > c->prev_t && tm > c->prev_t
                               ? (double)(tm - c->prev_t) / (double)(t - c->prev_t)
                               : 0;
                /* the step lies anywhere between the two readings: its
                 * energy is known within the power there x half their gap */
                int64_t half = (t - c->e_last_t) / 2;
                double p_max =
                    fmax(isnan(p_before) ? 0 : p_before, isnan(r->power_w) ? 0 : r->power_w);
                meter_push_edge(c, tm, e, w_before + (c->w - w_before) * f, half,
                                p_max * (double)half / 1e9);
                c->edge_state = EDGE_IDLE;
            }
        }
        if (c->edge_state == EDGE_ARM_NEXT)
            c->edge_state = EDGE_ARMED; /* this reading is the reference */
        if (is_anchor && c->slow && phase == PH_RUN)
            push_anchor(c, t, m->read_end_ns, e);
        c->e_last = e;
        c->e_last_t = t;
    }
    if (phase == PH_STOP) {
        c->w_stop = c->w;
        c->e_stop = in->has_counter ? e : NAN;
    }
    if (!c->have_prev)
        c->first_t = t;
    c->have_prev = 1;
    c->prev_t = t;
    if (out) {
        out->energy_j = e;
        out->w_j = c->w;
        out->power_w = (float)p_store;
        out->mem_used_mb = (float)r->mem_used_mb;
        out->util_pct = (float)r->util_pct;
        out->temp_c = (float)r->temp_c;
        out->sm_clock_mhz = (float)r->sm_clock_mhz;
    }
}

void meter_record(aieb_meter *m, int64_t t, int phase, int is_anchor)
{
    row *r = NULL;
    int store = phase != PH_RUN || ++m->since_store >= m->stride;
    if (store) {
        if (phase == PH_RUN && m->n_rows >= m->max_rows)
            decimate(m);
        if (grow_rows(m) == 0) {
            r = meter_row(m, m->n_rows++);
            r->t_ns = t;
        } else if (m->quality.dropped++ == 0) {
            AIEB_WARN("meter: out of memory for the timeline; samples are dropped (totals go "
                      "on)");
        }
        m->since_store = 0;
    }
    for (int c = 0; c < m->n_ch; c++)
        update_channel(m, &m->ch[c], &m->scratch[c], t, phase, is_anchor, r ? &r->s[c] : NULL);
    if (phase == PH_STOP && r)
        m->stop_row = m->n_rows - 1;
}

int meter_edges_pending(const aieb_meter *m)
{
    for (int c = 0; c < m->n_ch; c++)
        if (m->ch[c].slow && m->ch[c].edge_state != EDGE_IDLE)
            return 1;
    return 0;
}

void meter_arm_edges(aieb_meter *m, int state)
{
    for (int c = 0; c < m->n_ch; c++)
        if (m->ch[c].slow && (m->ch[c].edge_state == EDGE_IDLE || state == EDGE_ARMED))
            m->ch[c].edge_state = state;
}

int64_t meter_edge_wait_ns(const aieb_meter *m)
{
    return m->max_slow_period_ns * 5 / 2 + 20 * AIEB_NS_PER_MS;
}

/* ==== Start, stop, baseline ================================================ */

int aieb_meter_start_at(aieb_meter *m, int64_t t_ns, aieb_err *err)
{
    if (m->state != ST_OPEN)
        return aieb_errf(err, AIEB_EINVAL, "meter: already started");
    for (int c = 0; c < m->n_ch; c++) {
        chan *ch = &m->ch[c];
        ch->prev_p = ch->e0 = ch->e_last = ch->w_stop = ch->e_stop = NAN;
        ch->idle_power_w = NAN;
        ch->k = 1;
    }
    meter_read_all(m, t_ns, 1, 1);
    pthread_mutex_lock(&m->mu);
    meter_record(m, t_ns, PH_START, 0);
    meter_arm_edges(m, EDGE_ARMED); /* the start reading is the reference */
    m->fine_until_ns = t_ns + meter_edge_wait_ns(m);
    m->last_mark_ns = m->last_anchor_ns = t_ns;
    m->t_start = t_ns;
    meter_sched_init(m);
    m->state = ST_RUNNING;
    pthread_mutex_unlock(&m->mu);
    return 0;
}

int aieb_meter_start(aieb_meter *m, aieb_err *err)
{
    int rc = aieb_meter_start_at(m, meter_now(m), err);
    if (rc)
        return rc;
    m->stop_req = 0;
    rc = pthread_create(&m->thread, NULL, meter_sampler_main, m);
    if (rc != 0) {
        m->state = ST_OPEN;
        return aieb_errf(err, rc == EAGAIN ? AIEB_ENOMEM : AIEB_EIO,
                         "meter: cannot start the sampler thread: %s", strerror(rc));
    }
    m->thread_started = 1;
    return 0;
}

int aieb_meter_tick_at(aieb_meter *m, int64_t t_ns, aieb_err *err)
{
    int64_t last = m->n_rows ? meter_row(m, m->n_rows - 1)->t_ns : 0;
    if ((m->state != ST_RUNNING && m->state != ST_STOPPED) || m->thread_started || t_ns <= last)
        return aieb_errf(err, AIEB_EINVAL, "meter: tick out of order");
    int running = m->state == ST_RUNNING, fine = meter_fine_wanted(m, t_ns);
    int is_anchor = running && !fine && m->n_slow > 0 && t_ns - m->last_anchor_ns >= m->anchor_ns;
    if (is_anchor)
        m->last_anchor_ns = t_ns;
    meter_read_all(m, t_ns, 0, !running || fine || is_anchor);
    pthread_mutex_lock(&m->mu);
    meter_record(m, t_ns, running ? PH_RUN : PH_TAIL, is_anchor);
    pthread_mutex_unlock(&m->mu);
    return 0;
}

int aieb_meter_stop_at(aieb_meter *m, int64_t t_ns, aieb_err *err)
{
    if (m->state != ST_RUNNING)
        return aieb_errf(err, AIEB_EINVAL, "meter: not running");
    stop_thread(m);
    int64_t last = m->n_rows ? meter_row(m, m->n_rows - 1)->t_ns : 0;
    if (t_ns <= last) {
        t_ns = last + 1;
        m->quality.restamped++;
    }
    meter_read_all(m, t_ns, 1, 1);
    pthread_mutex_lock(&m->mu);
    meter_record(m, t_ns, PH_STOP, 0);
    meter_arm_edges(m, EDGE_ARMED); /* the stop reading is the reference */
    m->t_stop = t_ns;
    m->state = ST_STOPPED;
    pthread_mutex_unlock(&m->mu);
    return 0;
}

int aieb_meter_stop(aieb_meter *m, aieb_err *err)
{
    if (m->state != ST_RUNNING)
        return aieb_errf(err, AIEB_EINVAL, "meter: not running");
    /* the thread first: the stop reading's stamp must not wait on the join */
    stop_thread(m);
    int rc = aieb_meter_stop_at(m, meter_now(m), err);
    if (rc)
        return rc;
    /* Tail: read until every slow counter has moved once more. */
    while (meter_edges_pending(m)) {
        aieb_sleep_ns(m->fine_ns, NULL);
        int64_t t = meter_now(m);
        meter_read_all(m, t, 0, 1);
        pthread_mutex_lock(&m->mu);
        meter_record(m, t, PH_TAIL, 0);
        pthread_mutex_unlock(&m->mu);
        if (t - m->t_stop > meter_edge_wait_ns(m))
            break;
    }
    return aieb_meter_finish(m, err);
}

int aieb_meter_idle_baseline(aieb_meter *m, double seconds, const volatile sig_atomic_t *stop,
                             aieb_err *err)
{
    if (m->state != ST_RUNNING)
        return aieb_errf(err, AIEB_EINVAL, "meter: idle baseline needs a running meter");
    if (!(seconds > 0) || seconds > 86400)
        return aieb_errf(err, AIEB_EINVAL, "meter: idle baseline of %g s (want 0 < s <= 86400)",
                         seconds);
    int64_t b0 = aieb_now_ns();
    if (aieb_sleep_ns((int64_t)(seconds * 1e9), stop) != 0)
        return aieb_errf(err, AIEB_EINTR, "meter: idle baseline interrupted");
    m->b0 = b0;
    m->b1 = aieb_now_ns();
    m->has_baseline = 1;
    return aieb_meter_mark(m, err); /* pin the counters between idle and workload */
}

int aieb_meter_mark(aieb_meter *m, aieb_err *err)
{
    if (m->state != ST_RUNNING)
        return aieb_errf(err, AIEB_EINVAL, "meter: marks need a running meter");
    if (m->n_slow == 0)
        return 0;
    pthread_mutex_lock(&m->mu);
    meter_arm_edges(m, EDGE_ARM_NEXT);
    m->last_mark_ns = meter_now(m);
    m->fine_until_ns = m->last_mark_ns + meter_edge_wait_ns(m);
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    return 0;
}

int aieb_meter_read_now(aieb_meter *m, int64_t *t_ns, aieb_err *err)
{
    if (m->state != ST_RUNNING)
        return aieb_errf(err, AIEB_EINVAL, "meter: reading now needs a running meter");
    if (!m->thread_started) { /* a virtual clock drives it: read here */
        int64_t t = meter_now(m), last = m->n_rows ? meter_row(m, m->n_rows - 1)->t_ns : 0;
        if (t <= last)
            t = last + 1;
        meter_read_all(m, t, 1, 1);
        pthread_mutex_lock(&m->mu);
        meter_record(m, t, PH_RUN, 0);
        pthread_mutex_unlock(&m->mu);
        *t_ns = t;
        return 0;
    }
    pthread_mutex_lock(&m->mu);
    m->read_req = 1;
    pthread_cond_signal(&m->cv);
    while (m->read_req)
        pthread_cond_wait(&m->read_cv, &m->mu);
    *t_ns = m->read_t;
    pthread_mutex_unlock(&m->mu);
    return 0;
}

/* ==== Accessors ============================================================ */

int aieb_meter_n_channels(const aieb_meter *m)
{
    return m->n_ch;
}

const aieb_channel_info *aieb_meter_channel(const aieb_meter *m, int i)
{
    return i >= 0 && i < m->n_ch ? m->ch[i].info : NULL;
}

int aieb_meter_interval_ms(const aieb_meter *m)
{
    return m->interval_ms;
}

int aieb_meter_n_notes(const aieb_meter *m)
{
    return m->n_notes;
}

const char *aieb_meter_note(const aieb_meter *m, int i)
{
    return i >= 0 && i < m->n_notes ? m->notes[i] : NULL;
}

int64_t aieb_meter_start_ns(const aieb_meter *m)
{
    return m->t_start;
}

int64_t aieb_meter_stop_ns(const aieb_meter *m)
{
    return m->t_stop;
}

size_t aieb_meter_n_samples(const aieb_meter *m)
{
    aieb_meter *mm = (aieb_meter *)m; /* the lock is not part of the meter's value */
    pthread_mutex_lock(&mm->mu);
    size_t n = m->state >= ST_STOPPED ? m->stop_row + 1 : m->n_rows;
    pthread_mutex_unlock(&mm->mu);
    return n;
}

int aieb_meter_sample(const aieb_meter *m, size_t i, int64_t *t_ns, aieb_channel_reading *out,
                      aieb_err *err)
{
    aieb_meter *mm = (aieb_meter *)m;
    pthread_mutex_lock(&mm->mu);
    size_t n = m->state >= ST_STOPPED ? m->stop_row + 1 : m->n_rows;
    if (i >= n) {
        pthread_mutex_unlock(&mm->mu);
        return aieb_errf(err, AIEB_EINVAL, "meter: sample %zu of %zu", i, n);
    }
    const row *r = meter_row(m, i);
    if (t_ns)
        *t_ns = r->t_ns;
    for (int c = 0; out && c < m->n_ch; c++) {
        const slot *s = &r->s[c];
        out[c] = (aieb_channel_reading){.energy_j = s->energy_j,
                                        .power_w = s->power_w,
                                        .mem_used_mb = s->mem_used_mb,
                                        .util_pct = s->util_pct,
                                        .temp_c = s->temp_c,
                                        .sm_clock_mhz = s->sm_clock_mhz};
    }
    pthread_mutex_unlock(&mm->mu);
    return 0;
}
