/* calibrate.c - whole-run totals once the meter has stopped.
 *
 * Channels with a slow counter and power readings are calibrated piecewise
 * between the counter's located steps (and anchor reads turned into steps);
 * other channels take their counter delta or integrated power. Also each
 * channel's update period, used to flag short windows (docs/methodology.md,
 * "Counter edges" and "Anchors").
 */
#include <math.h>
#include <stdlib.h>

#include "aieb/log.h"
#include "meter/meter_internal.h"

/* An anchor read is used only when no predicted counter step lies within this
 * much of it (the steps' scatter on an H100 was 2 ms RMS). */
#define ANCHOR_MARGIN_NS (10 * AIEB_NS_PER_MS)
/* How far a real counter's step may stray from its regular grid (2 ms RMS on
 * an H100; this is 2.5 sigma), for the uncertainty of a step placed there. */
#define STEP_SCATTER_NS (5 * AIEB_NS_PER_MS)

/* The highest power read in the sampling interval that holds t. */
static double power_around(const aieb_meter *m, int c, int64_t t)
{
    size_t j = meter_upper_row(m, t);
    double p = 0;
    for (size_t i = j > 0 ? j - 1 : 0; i <= j && i <= m->stop_row; i++) {
        double v = meter_row(m, i)->s[c].power_w;
        if (isfinite(v) && v > p)
            p = v;
    }
    return p;
}

/* Piecewise calibration of a channel with a slow counter and power: between
 * two consecutive located steps the counter's energy over the integrated power
 * is that segment's factor; before the first step the first segment's factor
 * applies, after the last the last one's (docs/methodology.md). Returns 0 when
 * fewer than two steps were located or power integrates to nothing between two. */
static int cmp_edge(const void *a, const void *b)
{
    const edge *x = a, *y = b;
    return (x->t_ns > y->t_ns) - (x->t_ns < y->t_ns);
}

/* Turns anchor reads into edges. Between two located steps t_a < t_b the steps
 * lie on a grid of period P = (t_b - t_a) / N, N = round((t_b - t_a) / the
 * source's period), when P is within 5% of that period (the update clock is
 * regular: 100.003 ms, 2 ms RMS on an H100). A read taken in [t0, t1] with no
 * predicted step within ANCHOR_MARGIN_NS of it saw the counter as it was at
 * the last step before t0. Keeps the edges sorted. */
static void anchors_to_edges(aieb_meter *m, int ci)
{
    chan *c = &m->ch[ci];
    double nominal = (double)c->info->counter_period_ns;
    int n_located = c->n_edges, used = 0;
    for (int i = 0; i + 1 < n_located; i++) {
        const edge a = c->edges[i], b = c->edges[i + 1];
        double span = (double)(b.t_ns - a.t_ns);
        long n_steps = lround(span / nominal);
        if (n_steps < 2)
            continue;
        double p = span / (double)n_steps;
        if (fabs(p - nominal) > 0.05 * nominal)
            continue;
        long last_step = 0;
        for (int k = 0; k < c->n_anchors; k++) {
            const anchor *an = &c->anchors[k];
            if (an->t0_ns <= a.t_ns || an->t1_ns >= b.t_ns)
                continue;
            long step = (long)floor((double)(an->t0_ns - a.t_ns) / p);
            double u = (double)a.t_ns + (double)step * p;
            if (step < 1 || step >= n_steps || step == last_step ||
                (double)an->t0_ns - u < ANCHOR_MARGIN_NS ||
                u + p - (double)an->t1_ns < ANCHOR_MARGIN_NS || an->e_j < a.e_j || an->e_j > b.e_j)
                continue;
            int64_t tu = (int64_t)llround(u);
            /* the grid is as sure as the located steps it was drawn between */
            int64_t half = (a.half_ns > b.half_ns ? a.half_ns : b.half_ns) + STEP_SCATTER_NS;
            meter_push_edge(c, tu, an->e_j, meter_raw_w_at(m, ci, tu), half,
                            power_around(m, ci, tu) * (double)half / 1e9);
            last_step = step;
            used++;
        }
    }
    if (used)
        qsort(c->edges, (size_t)c->n_edges, sizeof *c->edges, cmp_edge);
    AIEB_DEBUG("meter: %s: %d located steps, %d of %d anchor reads used", c->info->label, n_located,
               used, c->n_anchors);
}

static int calibrate_edges(aieb_meter *m, chan *c)
{
    if (c->n_edges < 2)
        return 0;
    anchors_to_edges(m, (int)(c - m->ch));
    for (int i = 0; i + 1 < c->n_edges; i++) {
        double dw = c->edges[i + 1].w_j - c->edges[i].w_j;
        if (!(dw > 0))
            return 0;
        c->edges[i].k = (c->edges[i + 1].e_j - c->edges[i].e_j) / dw;
    }
    c->edges[c->n_edges - 1].k = c->edges[c->n_edges - 2].k;
    c->mode = MODE_EDGES;
    c->e_start = meter_calibrated(c, m->t_start, 0);
    c->total_j = meter_calibrated(c, m->t_stop, c->w_stop) - c->e_start;
    c->k = c->total_j / c->w_stop;
    return 1;
}

/* Energy of a channel with a counter and power readings over the whole run. */
static void counter_and_power(aieb_meter *m, chan *c)
{
    const char *label = c->info->label;
    double raw = c->e_stop - c->e0;
    if (isnan(raw)) {
        aieb_meter_add_note(m, AIEB_LOG_WARNING,
                            "meter: %s: energy counter unreadable at start or stop; energy "
                            "from integrated power",
                            label);
    } else if (!(c->w_stop > 0)) {
        c->mode = MODE_COUNTER; /* power read zero: interpolate the counter */
        c->total_j = raw;
    } else if (c->slow && calibrate_edges(m, c)) {
        /* done */
    } else if (raw == 0) {
        /* the run fit between two counter steps: only power can tell */
    } else {
        if (c->slow)
            aieb_meter_add_note(m, AIEB_LOG_INFO,
                                "meter: %s: the energy counter's steps could not be located; "
                                "the run's energy is the raw counter delta (+- one update "
                                "period)",
                                label);
        c->k = raw / c->w_stop;
        c->total_j = raw;
    }
}

int aieb_meter_finish(aieb_meter *m, aieb_err *err)
{
    if (m->state != ST_STOPPED)
        return aieb_errf(err, AIEB_EINVAL, "meter: not stopped");
    if (meter_swing_build(m) != 0)
        AIEB_WARN("meter: out of memory for the error bounds; they are left unknown");
    for (int i = 0; i < m->n_ch; i++) {
        chan *c = &m->ch[i];
        const aieb_channel_info *in = c->info;
        c->mode = MODE_W;
        c->k = 1;
        c->total_j = c->w_stop;
        if (in->has_counter && in->has_power)
            counter_and_power(m, c);
        int64_t observed =
            c->n_changes >= 2 ? (c->last_change_t - c->first_change_t) / (c->n_changes - 1) : 0;
        /* Slow counters are read only around their steps, so their period is
         * the source's (NVML: 100 ms, measured on an H100: 96.8..103.1 ms). */
        if (c->slow && in->counter_period_ns > 0)
            observed = 0;
        c->period_ns = in->has_counter
                           ? (observed > in->counter_period_ns ? observed : in->counter_period_ns)
                           : m->interval_ns;
        if (c->period_ns <= 0)
            c->period_ns = m->interval_ns;
    }
    for (int i = 0; i < m->n_src; i++)
        if (m->src_err_count[i] > 1)
            AIEB_WARN("meter: %s: %d reads failed in this run", m->src[i]->name,
                      m->src_err_count[i]);
    pthread_mutex_lock(&m->mu);
    m->state = ST_FINISHED;
    pthread_mutex_unlock(&m->mu);
    if (m->has_baseline)
        return aieb_meter_set_baseline(m, m->b0, m->b1, err);
    return 0;
}
