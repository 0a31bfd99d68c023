/* uncertainty.c - how sure a window's energy is, from what was measured.
 *
 * A window's error has two kinds of parts (docs/methodology.md, "Uncertainty"):
 *
 * - at its ends, for channels whose energy is pinned by a counter (located
 *   counter steps, or counter readings): the energy between two pinned
 *   instants is exact to the counter's resolution, so the error of E(t) is the
 *   error of the sampled part from t to the nearer pinned instant;
 * - along its span, for channels integrated from power alone: every sampling
 *   interval the window touches adds its own error.
 *
 * Both rest on one estimator: power changing at most once, monotonically,
 * within a sampling interval [a, b] puts the trapezoid off by at most
 * |p_b - p_a| x (b - a) / 2 (a step of that height at the worst instant).
 * Power that rises and falls again between two samples is not seen by any
 * sampler; that limit is the sampling interval's, stated in the docs.
 *
 * Parts add linearly (bounds, not standard deviations), so windows that share
 * an end (requests cut at each other's boundaries) can be combined exactly.
 */
#include <math.h>
#include <stdlib.h>

#include "meter/meter_internal.h"

/* One sampling interval's bound, |p_b - p_a| (b - a) / 2, between rows i and
 * i + 1 (0 where a reading is missing). */
static double interval_j(const aieb_meter *m, int c, size_t i)
{
    const row *a = meter_row(m, i), *b = meter_row(m, i + 1);
    double pa = a->s[c].power_w, pb = b->s[c].power_w;
    return isfinite(pa) && isfinite(pb) ? fabs(pb - pa) * (double)(b->t_ns - a->t_ns) / 2e9 : 0;
}

int meter_swing_build(aieb_meter *m)
{
    int rc = 0;
    for (int c = 0; c < m->n_ch; c++) {
        chan *ch = &m->ch[c];
        free(ch->swing_pre);
        ch->swing_pre = malloc((m->stop_row + 1) * sizeof *ch->swing_pre);
        if (!ch->swing_pre) {
            rc = AIEB_ENOMEM;
            continue;
        }
        ch->swing_pre[0] = 0;
        for (size_t i = 0; i < m->stop_row; i++)
            ch->swing_pre[i + 1] = ch->swing_pre[i] + interval_j(m, c, i);
    }
    return rc;
}

/* The part of interval i (rows i, i + 1) inside [t0, t1], as a bound:
 * |p_b - p_a| x min((b - a) / 2, the overlap). */
static double part_j(const aieb_meter *m, int c, size_t i, int64_t t0, int64_t t1)
{
    const row *a = meter_row(m, i), *b = meter_row(m, i + 1);
    int64_t lo = a->t_ns > t0 ? a->t_ns : t0, hi = b->t_ns < t1 ? b->t_ns : t1;
    if (hi <= lo)
        return 0;
    double half = (double)(b->t_ns - a->t_ns) / 2e9;
    return interval_j(m, c, i) / half * fmin(half, (double)(hi - lo) / 1e9);
}

/* The error bound of the trapezoid over [t0, t1]: every sampling interval
 * [a, b] it overlaps adds |p_b - p_a| x min((b - a) / 2, the overlap). A step
 * of height h inside [a, b] puts the running integral off by at most h (b - a)
 * / 2 at any instant of it, and a part of length L by at most h L. For
 * counter-only channels the power of an interval is its counter's average.
 * Whole intervals come from the prefix sums (meter_swing_build), so a window
 * costs two row searches whatever its length; NAN without them. */
static double swing_j(const aieb_meter *m, int c, int64_t t0, int64_t t1)
{
    const double *pre = m->ch[c].swing_pre;
    if (!pre)
        return NAN;
    if (t1 <= t0 || m->stop_row == 0)
        return 0;
    /* rows ia and ib are the last at or before t0 and t1 */
    size_t ia = meter_upper_row(m, t0), ib = meter_upper_row(m, t1);
    ia = ia > 0 ? ia - 1 : 0;
    ib = ib > 0 ? ib - 1 : 0;
    if (ia >= m->stop_row)
        return 0;
    if (ib >= m->stop_row)
        ib = m->stop_row; /* t1 at the stop reading: no interval after it */
    if (ia == ib)
        return part_j(m, c, ia, t0, t1);
    double sum = part_j(m, c, ia, t0, t1) + (pre[ib] - pre[ia + 1]);
    if (ib < m->stop_row)
        sum += part_j(m, c, ib, t0, t1);
    return sum;
}

/* The bound at one instant inside a sampling interval: |p_b - p_a| (b - a) / 2
 * (0 on a reading). */
static double swing_at_j(const aieb_meter *m, int c, int64_t t)
{
    size_t j = meter_upper_row(m, t);
    if (j == 0 || j > m->stop_row || meter_row(m, j - 1)->t_ns == t)
        return 0;
    return interval_j(m, c, j - 1);
}

/* Counter-pinned channels. Between two located steps a and b the counter gives
 * the segment's energy exactly, and E(t) = E(a) + k W(a, t) with k = counter /
 * W(a, b). With the sampled parts W1 = W(a, t) off by e1 (|e1| <= S1, the
 * swing bound) and W2 = W(t, b) off by e2, E(t) is off by
 * (e1 W2 - e2 W1) / (W1 + W2): at most k (S1 W2 + S2 W1) / (W1 + W2), never
 * more than the larger side. Each step is itself placed within half the gap
 * of the readings around it (u_a, u_b in J), which weighs in the same way.
 * Before the first step and after the last, E(t) extrapolates with the
 * nearest segment's k: the sampled part up to that step, plus its placing. */
static double edges_point_j(const aieb_meter *m, int c, int64_t t)
{
    const chan *ch = &m->ch[c];
    int lo = meter_edge_after(ch, t);
    double k = fabs(ch->edges[lo > 0 ? lo - 1 : 0].k);
    if (!isfinite(k) || ch->n_edges == 0)
        return 0;
    /* the steps' placing (u_j) is in sampled power's units too: x k */
    if (lo == 0)
        return k * (swing_j(m, c, t, ch->edges[0].t_ns) + ch->edges[0].u_j);
    if (lo == ch->n_edges)
        return k * (swing_j(m, c, ch->edges[lo - 1].t_ns, t) + ch->edges[lo - 1].u_j);
    const edge *a = &ch->edges[lo - 1], *b = &ch->edges[lo];
    double s1 = k * (swing_j(m, c, a->t_ns, t) + a->u_j);
    double s2 = k * (swing_j(m, c, t, b->t_ns) + b->u_j);
    double w = meter_raw_w_at(m, c, t), w1 = fmax(w - a->w_j, 0), w2 = fmax(b->w_j - w, 0);
    if (!(w1 + w2 > 0))
        return fmax(s1, s2);
    return (s1 * w2 + s2 * w1) / (w1 + w2);
}

/* Counter channels read at known rows (counter-only, or MODE_COUNTER): exact at
 * a reading; inside an interval between readings, the power swing around it
 * times the interval, halved (as for power); MODE_COUNTER, whose power reads
 * zero, can only say the counter's whole step. */
static double counter_point_j(const aieb_meter *m, int c, int64_t t)
{
    const chan *ch = &m->ch[c];
    size_t j = meter_upper_row(m, t); /* rows [0, j) are at or before t */
    if (j == 0 || j > m->stop_row)
        return 0;
    const row *a = NULL, *b = NULL;
    for (size_t i = j; i-- > 0;)
        if (!isnan(meter_row(m, i)->s[c].energy_j)) {
            a = meter_row(m, i);
            break;
        }
    for (size_t i = j; i <= m->stop_row; i++)
        if (!isnan(meter_row(m, i)->s[c].energy_j)) {
            b = meter_row(m, i);
            break;
        }
    if (!a || !b || a->t_ns == t)
        return 0;
    if (ch->mode == MODE_COUNTER)
        return fabs(b->s[c].energy_j - a->s[c].energy_j) / 2;
    return swing_at_j(m, c, t);
}

void meter_window_uncertainty(const aieb_meter *m, int c, int64_t t0, int64_t t1, double *u_start,
                              double *u_end, double *u_span)
{
    const chan *ch = &m->ch[c];
    *u_start = *u_end = *u_span = 0;
    if (ch->mode == MODE_EDGES) {
        *u_start = edges_point_j(m, c, t0);
        *u_end = edges_point_j(m, c, t1);
    } else if (ch->mode == MODE_COUNTER || !ch->info->has_power) {
        *u_start = counter_point_j(m, c, t0);
        *u_end = counter_point_j(m, c, t1);
    } else if (t1 > t0) {
        *u_span = fabs(ch->k) * swing_j(m, c, t0, t1);
    }
}

double meter_cumulative_uncertainty(const aieb_meter *m, int c, size_t i)
{
    const chan *ch = &m->ch[c];
    const row *r = meter_row(m, i);
    if (ch->mode == MODE_EDGES)
        return edges_point_j(m, c, m->t_start) + edges_point_j(m, c, r->t_ns);
    if (ch->mode == MODE_COUNTER || !ch->info->has_power)
        return counter_point_j(m, c, m->t_start) + counter_point_j(m, c, r->t_ns);
    return ch->swing_pre ? fabs(ch->k) * ch->swing_pre[i] : NAN;
}
