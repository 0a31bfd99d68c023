/* window.c - energy of any interval of a finished run, and summaries (the
 * meter's outputs, JSON and the timeline CSV, are in outputs.c).
 *
 * A channel's cumulative energy E(t) is read off the timeline: for channels
 * with power readings, the trapezoid integral of power kept at every sample
 * (W), interpolated inside a sampling interval assuming power varies linearly,
 * times the channel's calibration factor k (so the run adds up to the counter);
 * for counter-only channels the counter itself, linearly interpolated. A
 * window's energy is E(t1) - E(t0). Formulas: docs/methodology.md.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/clock.h"
#include "meter/meter_internal.h"

#define USED_MEM_GROWTH_MB 64.0

size_t meter_upper_row(const aieb_meter *m, int64_t t_ns)
{
    size_t lo = 0, hi = m->stop_row + 1; /* answer in [lo, hi] */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (meter_row(m, mid)->t_ns <= t_ns)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The counter (minus its start value) at t, linear between the nearest rows
 * that read it. */
static double counter_at(const aieb_meter *m, int c, size_t j, int64_t t)
{
    const chan *ch = &m->ch[c];
    double ea = NAN, eb = NAN;
    int64_t ta = 0, tb = 0;
    for (size_t i = j; i-- > 0;) {
        const row *r = meter_row(m, i);
        if (!isnan(r->s[c].energy_j)) {
            ea = r->s[c].energy_j;
            ta = r->t_ns;
            break;
        }
    }
    for (size_t i = j; i <= m->stop_row; i++) {
        const row *r = meter_row(m, i);
        if (!isnan(r->s[c].energy_j)) {
            eb = r->s[c].energy_j;
            tb = r->t_ns;
            break;
        }
    }
    if (isnan(ea))
        return isnan(eb) ? 0 : eb - ch->e0;
    if (isnan(eb) || tb <= ta)
        return ea - ch->e0;
    return ea + (eb - ea) * (double)(t - ta) / (double)(tb - ta) - ch->e0;
}

int meter_edge_after(const chan *c, int64_t t)
{
    int lo = 0, hi = c->n_edges;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (c->edges[mid].t_ns <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

double meter_calibrated(const chan *c, int64_t t, double w)
{
    int lo = meter_edge_after(c, t);
    const edge *e = &c->edges[lo > 0 ? lo - 1 : 0];
    return e->e_j + e->k * (w - e->w_j);
}

double meter_raw_w_at(const aieb_meter *m, int c, int64_t t)
{
    const chan *ch = &m->ch[c];
    size_t j = meter_upper_row(m, t); /* rows [0, j) are at or before t */
    if (j == 0)
        return 0;
    const row *a = meter_row(m, j - 1);
    double w = a->s[c].w_j;
    if (a->t_ns != t && j <= m->stop_row) {
        const row *b = meter_row(m, j);
        double wb = b->s[c].w_j;
        double span = (double)(b->t_ns - a->t_ns), tau = (double)(t - a->t_ns);
        double f = tau / span;
        double pa = a->s[c].power_w, pb = b->s[c].power_w;
        if (ch->info->has_power && isfinite(pa) && isfinite(pb) && pa + pb > 0)
            f = (pa * tau + (pb - pa) * tau * tau / (2 * span)) / ((pa + pb) * span / 2);
        w += (wb - w) * f;
    }
    return w;
}

double meter_energy_at(const aieb_meter *m, int c, int64_t t)
{
    const chan *ch = &m->ch[c];
    if (ch->mode == MODE_COUNTER)
        return counter_at(m, c, meter_upper_row(m, t), t);
    double w = meter_raw_w_at(m, c, t);
    if (ch->mode == MODE_EDGES)
        return meter_calibrated(ch, t, w) - ch->e_start;
    return ch->k * w;
}

/* ==== Windows ============================================================== */

static int check_window(const aieb_meter *m, int64_t t0, int64_t t1, aieb_err *err)
{
    if (m->state != ST_FINISHED)
        return aieb_errf(err, AIEB_EINVAL, "meter: windows need a stopped meter");
    if (t1 < t0 || t0 < m->t_start || t1 > m->t_stop)
        return aieb_errf(err, AIEB_EINVAL,
                         "meter: window [%.6f, %.6f] s is not inside the run [%.6f, %.6f] s "
                         "(CLOCK_MONOTONIC)",
                         aieb_ns_to_s(t0), aieb_ns_to_s(t1), aieb_ns_to_s(m->t_start),
                         aieb_ns_to_s(m->t_stop));
    return 0;
}

int aieb_meter_window(const aieb_meter *m, int64_t t0, int64_t t1, aieb_window *out,
                      aieb_window_channel *chans, aieb_err *err)
{
    int rc = check_window(m, t0, t1, err);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    out->t0_ns = t0;
    out->t1_ns = t1;
    out->duration_s = aieb_ns_to_s(t1 - t0);
    for (int d = 0; d < AIEB_N_DOMAINS; d++)
        out->net_energy_j[d] = m->has_baseline ? 0 : NAN;
    out->net_total_j = m->has_baseline ? 0 : NAN;
    for (int d = 0; d < AIEB_N_DOMAINS; d++)
        out->net_uncertainty_j[d] = out->net_u_span_j[d] = m->has_baseline ? 0 : NAN;
    out->net_total_uncertainty_j = m->has_baseline ? 0 : NAN;
    for (int c = 0; c < m->n_ch; c++) {
        const chan *ch = &m->ch[c];
        double e = t1 == t0 ? 0 : meter_energy_at(m, c, t1) - meter_energy_at(m, c, t0);
        double net = m->has_baseline ? e - ch->idle_power_w * out->duration_s : NAN;
        double ua = 0, ub = 0, us = 0;
        if (t1 > t0)
            meter_window_uncertainty(m, c, t0, t1, &ua, &ub, &us);
        double u = ua + ub + us, idle_u = m->has_baseline ? ch->idle_u_w * out->duration_s : NAN;
        /* too short to be seen: under one counter update, or under three
         * sampling intervals (the bound's intervals would be most of it) */
        int64_t resolution =
            ch->period_ns > 3 * m->interval_ns ? ch->period_ns : 3 * m->interval_ns;
        int short_w = t1 - t0 < resolution;
        if (chans)
            chans[c] = (aieb_window_channel){e, net, u, u + idle_u, short_w};
        if (aieb_ns_to_s(resolution) > out->max_period_s)
            out->max_period_s = aieb_ns_to_s(resolution);
        if (ch->info->informational)
            continue;
        aieb_domain d = ch->info->domain;
        out->short_window |= short_w;
        out->energy_j[d] += e;
        out->total_j += e;
        out->uncertainty_j[d] += u;
        out->total_uncertainty_j += u;
        out->u_start_j[d] += ua;
        out->u_end_j[d] += ub;
        out->u_span_j[d] += us;
        if (m->has_baseline) {
            out->net_energy_j[d] += net;
            out->net_total_j += net;
            out->net_uncertainty_j[d] += u + idle_u;
            out->net_total_uncertainty_j += u + idle_u;
            out->net_u_span_j[d] += us + idle_u;
        }
    }
    return 0;
}

int aieb_meter_set_baseline(aieb_meter *m, int64_t t0, int64_t t1, aieb_err *err)
{
    int rc = check_window(m, t0, t1, err);
    if (rc)
        return rc;
    if (t1 <= t0)
        return aieb_errf(err, AIEB_EINVAL, "meter: empty idle baseline");
    double dur = aieb_ns_to_s(t1 - t0);
    for (int c = 0; c < m->n_ch; c++) {
        double ua, ub, us;
        meter_window_uncertainty(m, c, t0, t1, &ua, &ub, &us);
        m->ch[c].idle_power_w = (meter_energy_at(m, c, t1) - meter_energy_at(m, c, t0)) / dur;
        m->ch[c].idle_u_w = (ua + ub + us) / dur;
    }
    m->b0 = t0;
    m->b1 = t1;
    m->has_baseline = 1;
    return 0;
}

/* ==== Summaries ============================================================ */

static void add_method(char *dst, size_t cap, const char *method)
{
    if (!method)
        return;
    size_t n = strlen(method);
    for (const char *p = dst; (p = strstr(p, method)) != NULL; p += n)
        if ((p == dst || p[-1] == '+') && (p[n] == '\0' || p[n] == '+'))
            return;
    size_t len = strlen(dst);
    snprintf(dst + len, cap - len, "%s%s", len ? "+" : "", method);
}

/* Walks the rows inside [t0, t1] for peaks, memory and utilisation. */
static void scan_rows(const aieb_meter *m, aieb_meter_summary *s, int64_t t0, int64_t t1)
{
    size_t first = meter_upper_row(m, t0);
    if (first > 0 && meter_row(m, first - 1)->t_ns == t0)
        first--;
    double *util_sum = calloc((size_t)m->n_ch + 1, sizeof *util_sum);
    int *util_n = calloc((size_t)m->n_ch + 1, sizeof *util_n);
    for (size_t i = first; i <= m->stop_row && meter_row(m, i)->t_ns <= t1; i++) {
        const row *r = meter_row(m, i);
        double dom[AIEB_N_DOMAINS] = {0};
        int dom_n[AIEB_N_DOMAINS] = {0};
        s->n_samples++;
        for (int c = 0; c < m->n_ch; c++) {
            aieb_meter_channel_summary *cs = &s->channels[c];
            const slot *sl = &r->s[c];
            double p = sl->power_w, mem = sl->mem_used_mb, u = sl->util_pct, temp = sl->temp_c;
            if (isfinite(p)) {
                if (isnan(cs->peak_power_w) || p > cs->peak_power_w)
                    cs->peak_power_w = p;
                if (!cs->info->informational) {
                    dom[cs->info->domain] += p;
                    dom_n[cs->info->domain]++;
                }
            }
            if (isfinite(mem)) {
                if (isnan(cs->mem_min_mb) || mem < cs->mem_min_mb)
                    cs->mem_min_mb = mem;
                if (isnan(cs->mem_max_mb) || mem > cs->mem_max_mb)
                    cs->mem_max_mb = mem;
            }
            if (isfinite(u) && util_sum) {
                util_sum[c] += u;
                util_n[c]++;
                if (isnan(cs->util_max_pct) || u > cs->util_max_pct)
                    cs->util_max_pct = u;
            }
            if (isfinite(temp) && (isnan(cs->temp_max_c) || temp > cs->temp_max_c))
                cs->temp_max_c = temp;
        }
        for (int d = 0; d < AIEB_N_DOMAINS; d++)
            if (dom_n[d] && (isnan(s->peak_power_w[d]) || dom[d] > s->peak_power_w[d]))
                s->peak_power_w[d] = dom[d];
    }
    for (int c = 0; util_sum && util_n && c < m->n_ch; c++)
        if (util_n[c])
            s->channels[c].util_avg_pct = util_sum[c] / util_n[c];
    free(util_sum);
    free(util_n);
}

/* Memory used at the last row at or before t (NAN if none read it). */
static double mem_at(const aieb_meter *m, int c, int64_t t)
{
    size_t j = meter_upper_row(m, t);
    for (size_t i = j; i-- > 0;) {
        float v = meter_row(m, i)->s[c].mem_used_mb;
        if (isfinite(v))
            return v;
    }
    return NAN;
}

int aieb_meter_summarize(const aieb_meter *m, int64_t t0, int64_t t1, aieb_meter_summary *s,
                         aieb_err *err)
{
    memset(s, 0, sizeof *s);
    if (m->state == ST_FINISHED && t0 == 0 && t1 == 0) {
        t0 = m->t_start;
        t1 = m->t_stop;
    }
    int rc = check_window(m, t0, t1, err);
    if (rc)
        return rc;
    s->channels = calloc((size_t)m->n_ch + 1, sizeof *s->channels);
    aieb_window_channel *wc = calloc((size_t)m->n_ch + 1, sizeof *wc);
    if (!s->channels || !wc) {
        free(wc);
        aieb_meter_summary_free(s);
        return aieb_errf(err, AIEB_ENOMEM, "meter: out of memory");
    }
    aieb_meter_window(m, t0, t1, &s->window, wc, err);
    s->n_channels = m->n_ch;
    s->has_baseline = m->has_baseline;
    s->baseline_s = m->has_baseline ? aieb_ns_to_s(m->b1 - m->b0) : 0;
    s->baseline_t0_ns = m->has_baseline ? m->b0 : 0;
    s->baseline_t1_ns = m->has_baseline ? m->b1 : 0;
    s->pue = m->opts.pue;
    aieb_meter_get_quality(m, &s->quality);
    s->ram_estimate_j = NAN;
    double dur = s->window.duration_s;
    for (int d = 0; d < AIEB_N_DOMAINS; d++) {
        s->peak_power_w[d] = NAN;
        s->avg_power_w[d] = dur > 0 ? s->window.energy_j[d] / dur : NAN;
    }
    for (int c = 0; c < m->n_ch; c++) {
        const chan *ch = &m->ch[c];
        aieb_meter_channel_summary *cs = &s->channels[c];
        cs->info = ch->info;
        cs->energy_j = wc[c].energy_j;
        cs->net_energy_j = wc[c].net_energy_j;
        cs->short_window = wc[c].short_window;
        cs->uncertainty_j = wc[c].uncertainty_j;
        cs->avg_power_w = dur > 0 ? cs->energy_j / dur : NAN;
        cs->idle_power_w = ch->idle_power_w;
        cs->peak_power_w = cs->mem_min_mb = cs->mem_max_mb = NAN;
        cs->util_avg_pct = cs->util_max_pct = cs->temp_max_c = NAN;
        cs->calibration = ch->mode == MODE_COUNTER ? NAN : ch->k;
        cs->period_s = aieb_ns_to_s(ch->period_ns);
        cs->mem_start_mb = mem_at(m, c, m->has_baseline && m->b0 < t0 ? m->b0 : t0);
        add_method(s->method[ch->info->domain], sizeof s->method[0], ch->info->method);
        if (ch->info->informational) {
            if (ch->info->domain == AIEB_DOMAIN_RAM)
                s->ram_estimate_j =
                    (isnan(s->ram_estimate_j) ? 0 : s->ram_estimate_j) + cs->energy_j;
        } else {
            s->has_domain[ch->info->domain] = 1;
        }
    }
    free(wc);
    scan_rows(m, s, t0, t1);
    for (int c = 0; c < m->n_ch; c++) {
        aieb_meter_channel_summary *cs = &s->channels[c];
        cs->used = -1;
        if (cs->info->domain != AIEB_DOMAIN_GPU)
            continue;
        int mem_grew = isfinite(cs->mem_start_mb) && isfinite(cs->mem_max_mb) &&
                       cs->mem_max_mb - cs->mem_start_mb >= USED_MEM_GROWTH_MB;
        double idle = cs->idle_power_w, margin = fmax(5.0, 0.1 * idle);
        int power_rose = isfinite(idle) && cs->avg_power_w >= idle + margin;
        cs->used = mem_grew || power_rose;
    }
    if (s->has_domain[AIEB_DOMAIN_RAM])
        s->ram_estimate_j = s->window.energy_j[AIEB_DOMAIN_RAM];
    return 0;
}

void aieb_meter_summary_free(aieb_meter_summary *s)
{
    if (!s)
        return;
    free(s->channels);
    s->channels = NULL;
    s->n_channels = 0;
}
