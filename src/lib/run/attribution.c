/* attribution.c - energy of overlapping intervals by equal shares per piece. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/attribution.h"

typedef struct event {
    int64_t t_ns;
    size_t idx;
    int start; /* 1 start, 0 end */
} event;

static int cmp_event(const void *a, const void *b)
{
    const event *x = a, *y = b;
    if (x->t_ns != y->t_ns)
        return x->t_ns < y->t_ns ? -1 : 1;
    return x->start - y->start; /* ends before starts at the same instant */
}

/* What a share had in the piece before (its fraction, and the point bound at
 * that piece's end): the bound of E at a cut counts as much as the share
 * changed there, so a share that goes on unchanged adds nothing. */
typedef struct prev_share {
    double frac;
    double u_end[AIEB_N_DOMAINS];
} prev_share;

static void add_share(aieb_share *s, prev_share *pv, const aieb_window *w, double frac, int has_net)
{
    for (int d = 0; d < AIEB_N_DOMAINS; d++) {
        s->energy_j[d] += w->energy_j[d] * frac;
        double u = w->u_span_j[d] * frac + w->u_start_j[d] * fabs(frac - pv->frac);
        s->uncertainty_j[d] += u;
        if (has_net) {
            s->net_energy_j[d] += w->net_energy_j[d] * frac;
            s->net_uncertainty_j[d] +=
                w->net_u_span_j[d] * frac + w->u_start_j[d] * fabs(frac - pv->frac);
        }
        pv->u_end[d] = w->u_end_j[d];
    }
    pv->frac = frac;
}

/* The share leaves (its interval ended, or nothing more is attributed): the
 * point bound where it stopped, times what it had. */
static void close_share(aieb_share *s, prev_share *pv, int has_net)
{
    for (int d = 0; d < AIEB_N_DOMAINS; d++) {
        s->uncertainty_j[d] += pv->u_end[d] * pv->frac;
        if (has_net)
            s->net_uncertainty_j[d] += pv->u_end[d] * pv->frac;
    }
    pv->frac = 0;
}

static void init_share(aieb_share *s, int has_net)
{
    memset(s, 0, sizeof *s);
    for (int d = 0; d < AIEB_N_DOMAINS; d++)
        s->net_energy_j[d] = s->net_uncertainty_j[d] = has_net ? 0.0 : NAN;
}

int aieb_attribute(const aieb_meter *m, const aieb_interval *iv, size_t n, aieb_share *out,
                   aieb_share *unattributed, aieb_err *err)
{
    int64_t run0 = aieb_meter_start_ns(m), run1 = aieb_meter_stop_ns(m);
    if (!run0 || !run1)
        return aieb_errf(err, AIEB_EINVAL, "attribution needs a stopped meter");
    event *ev = malloc((2 * n + 1) * sizeof *ev);
    size_t *active = malloc((n + 1) * sizeof *active);
    prev_share *pv = calloc(n + 1, sizeof *pv), pu = {0};
    if (!ev || !active || !pv) {
        free(ev);
        free(active);
        free(pv);
        return aieb_errf(err, AIEB_ENOMEM, "out of memory attributing %zu intervals", n);
    }
    /* Probe once for a baseline: net values are NAN without one. */
    aieb_window probe;
    int has_net = 0;
    if (aieb_meter_window(m, run0, run1, &probe, NULL, err) == 0)
        has_net = !isnan(probe.net_total_j);
    double max_period_s = probe.max_period_s;

    size_t ne = 0;
    for (size_t i = 0; i < n; i++) {
        init_share(&out[i], has_net);
        int64_t a = iv[i].t0_ns < run0 ? run0 : iv[i].t0_ns;
        int64_t b = iv[i].t1_ns > run1 ? run1 : iv[i].t1_ns;
        if (!iv[i].t0_ns || !iv[i].t1_ns || b <= a)
            continue;
        out[i].short_window = (double)(b - a) / 1e9 < max_period_s;
        ev[ne++] = (event){a, i, 1};
        ev[ne++] = (event){b, i, 0};
    }
    if (unattributed)
        init_share(unattributed, has_net);
    qsort(ev, ne, sizeof *ev, cmp_event);

    int rc = 0;
    size_t n_active = 0;
    for (size_t k = 0; k < ne && !rc; k++) {
        if (ev[k].start) {
            active[n_active++] = ev[k].idx;
        } else {
            close_share(&out[ev[k].idx], &pv[ev[k].idx], has_net);
            for (size_t j = 0; j < n_active; j++)
                if (active[j] == ev[k].idx) {
                    active[j] = active[--n_active];
                    break;
                }
        }
        if (k + 1 == ne || ev[k + 1].t_ns == ev[k].t_ns)
            continue;
        aieb_window w;
        rc = aieb_meter_window(m, ev[k].t_ns, ev[k + 1].t_ns, &w, NULL, err);
        if (rc)
            break;
        if (n_active == 0) {
            if (unattributed)
                add_share(unattributed, &pu, &w, 1.0, has_net);
            continue;
        }
        if (unattributed && pu.frac > 0)
            close_share(unattributed, &pu, has_net);
        double frac = 1.0 / (double)n_active;
        for (size_t j = 0; j < n_active; j++)
            add_share(&out[active[j]], &pv[active[j]], &w, frac, has_net);
    }
    if (unattributed && pu.frac > 0)
        close_share(unattributed, &pu, has_net);
    free(ev);
    free(active);
    free(pv);
    return rc;
}
