/* remote.c - metrics.remote in a run: after the run, each Prometheus source is
 * read once over the whole run (prom.h), and every window the summary needs
 * (the workload, the idle baseline, each phase and repetition, each request)
 * is answered from those samples. summary.json's energy.remote is built here.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/log.h"
#include "run/runner_internal.h"

#define J_PER_WH 3600.0
#define WAIT_MAX_S                                                                                 \
    60.0 /* bound on waiting for the scrape after the end; the fetch stops sooner (prom.h) */

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* The run's first and last instants (any phase). */
static void run_span(const runner *r, int64_t *t0, int64_t *t1)
{
    const int64_t starts[] = {r->t_base0, r->t_load0, r->t_warm0, r->t_work0};
    *t0 = 0;
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++)
        if (starts[i] && (!*t0 || starts[i] < *t0))
            *t0 = starts[i];
    *t1 = r->t_unload1 > r->t_work1 ? r->t_unload1 : r->t_work1;
}

void runner_remote_fetch(runner *r)
{
    const json_t *list = r->cfg->metrics.remote;
    size_t n = json_array_size(list);
    if (!n)
        return;
    r->remote = calloc(n, sizeof *r->remote);
    r->remote_errors = calloc(n, sizeof *r->remote_errors);
    if (!r->remote || !r->remote_errors) {
        runner_warn(r, "metrics.remote: out of memory; remote energy not read");
        return;
    }
    r->n_remote = n;
    int64_t t0, t1;
    run_span(r, &t0, &t1);
    double w0 = aieb_prom_clock_wall_s(&r->clk, t0), w1 = aieb_prom_clock_wall_s(&r->clk, t1);
    for (size_t i = 0; i < n; i++) {
        aieb_prom_opts o;
        aieb_err e = {0};
        int rc = aieb_prom_opts_from_json(json_array_get(list, i), &o, &e);
        if (!rc) {
            char shown_url[1024];
            AIEB_INFO("reading the run's energy from prometheus at %s",
                      aieb_url_redact(o.url, shown_url, sizeof shown_url));
            rc = aieb_prom_fetch(&o, w0, w1, WAIT_MAX_S, &r->remote[i], &e);
        }
        if (rc) {
            r->remote_errors[i] = strdup(e.msg);
            runner_warn(r, "metrics.remote: %s; no remote energy from this source", e.msg);
            continue;
        }
        r->n_remote_ok++;
        for (size_t k = 0; k < aieb_prom_n_notes(r->remote[i]); k++)
            runner_warn(r, "%s", aieb_prom_note(r->remote[i], k));
    }
}

void runner_remote_free(runner *r)
{
    for (size_t i = 0; i < r->n_remote; i++) {
        aieb_prom_free(r->remote[i]);
        free(r->remote_errors ? r->remote_errors[i] : NULL);
    }
    free(r->remote);
    free(r->remote_errors);
    r->remote = NULL;
    r->remote_errors = NULL;
    r->n_remote = 0;
}

/* The window [t0, t1] (CLOCK_MONOTONIC) over every source read. */
static void window(const runner *r, int64_t t0, int64_t t1, aieb_prom_window *w)
{
    memset(w, 0, sizeof *w);
    w->cpu_j = w->cpu_bound_j = NAN;
    double a = aieb_prom_clock_wall_s(&r->clk, t0), b = aieb_prom_clock_wall_s(&r->clk, t1);
    for (size_t i = 0; i < r->n_remote; i++) {
        if (!r->remote[i])
            continue;
        aieb_prom_window x;
        aieb_prom_window_energy(r->remote[i], a, b, &x, NULL, NULL);
        w->gpu_j += x.gpu_j;
        w->gpu_bound_j += x.gpu_bound_j;
        if (!isnan(x.cpu_j)) {
            w->cpu_j = (isnan(w->cpu_j) ? 0 : w->cpu_j) + x.cpu_j;
            w->cpu_bound_j = (isnan(w->cpu_bound_j) ? 0 : w->cpu_bound_j) + x.cpu_bound_j;
        }
        w->low_resolution |= x.low_resolution;
        w->n_uncovered += x.n_uncovered;
    }
}

double runner_remote_gpu_j(const runner *r, int64_t t0, int64_t t1, double *bound_j)
{
    aieb_prom_window w;
    window(r, t0, t1, &w);
    if (bound_j)
        *bound_j = w.gpu_bound_j;
    return w.gpu_j;
}

double runner_remote_baseline_w(const runner *r)
{
    if (!r->n_remote_ok || r->t_base1 <= r->t_base0)
        return NAN;
    double s = (double)(r->t_base1 - r->t_base0) / 1e9;
    return runner_remote_gpu_j(r, r->t_base0, r->t_base1, NULL) / s;
}

static json_t *window_json(const runner *r, int64_t t0, int64_t t1)
{
    aieb_prom_window w;
    window(r, t0, t1, &w);
    json_t *o = json_object();
    json_object_set_new(o, "duration_s", num((double)(t1 - t0) / 1e9));
    json_object_set_new(o, "energy_j", num(w.gpu_j));
    json_object_set_new(o, "uncertainty_j", num(w.gpu_bound_j));
    if (!isnan(w.cpu_j)) {
        json_object_set_new(o, "cpu_energy_j", num(w.cpu_j));
        json_object_set_new(o, "cpu_uncertainty_j", num(w.cpu_bound_j));
    }
    json_object_set_new(o, "low_resolution", json_boolean(w.low_resolution));
    return o;
}

/* ==== Requests ============================================================= */

typedef struct edge {
    int64_t t;
    int delta; /* +1 a request starts, -1 one ends */
} edge;

static int cmp_edge(const void *a, const void *b)
{
    const edge *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->delta - y->delta; /* ends before starts at the same instant */
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* A(t): energy per request in flight, accumulated over time; request i's share
 * is A(done) - A(sent). Between consecutive edges the energy is shared equally
 * by the requests in flight (as aieb_attribute shares the local timeline). */
int runner_remote_requests(runner *r, aieb_request_energy *energies)
{
    size_t n = r->n_results;
    if (!r->remote_primary || !n)
        return 0;
    edge *ev = malloc(2 * n * sizeof *ev);
    int64_t *ts = malloc(2 * n * sizeof *ts);
    double *acc = malloc(2 * n * sizeof *acc);
    if (!ev || !ts || !acc) {
        free(ev);
        free(ts);
        free(acc);
        return AIEB_ENOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const aieb_result *q = &r->results[i];
        if (!q->sent_ns || q->done_ns <= q->sent_ns)
            continue;
        ev[m++] = (edge){q->sent_ns, +1};
        ev[m++] = (edge){q->done_ns, -1};
    }
    qsort(ev, m, sizeof *ev, cmp_edge);
    int active = 0;
    double a = 0;
    for (size_t k = 0; k < m; k++) {
        if (k > 0 && active > 0 && ev[k].t > ev[k - 1].t)
            a += runner_remote_gpu_j(r, ev[k - 1].t, ev[k].t, NULL) / active;
        ts[k] = ev[k].t;
        acc[k] = a;
        active += ev[k].delta;
    }
    double res = NAN;
    for (size_t i = 0; i < r->n_remote && isnan(res); i++)
        if (r->remote[i])
            res = aieb_prom_resolution_s(r->remote[i]);
    for (size_t i = 0; i < n; i++) {
        const aieb_result *q = &r->results[i];
        aieb_request_energy *e = &energies[i];
        if (!q->sent_ns || q->done_ns <= q->sent_ns) {
            e->gpu_j = 0;
            e->gpu_u_j = 0;
            continue;
        }
        /* acc at the last edge with this time (ties: every edge at t has the same A) */
        int64_t key[2] = {q->sent_ns, q->done_ns};
        double at[2];
        for (int j = 0; j < 2; j++) {
            int64_t *hit = bsearch(&key[j], ts, m, sizeof *ts, cmp_i64);
            at[j] = hit ? acc[hit - ts] : NAN;
        }
        e->gpu_j = at[1] - at[0];
        double b0, b1;
        runner_remote_gpu_j(r, q->sent_ns, q->sent_ns, &b0);
        runner_remote_gpu_j(r, q->done_ns, q->done_ns, &b1);
        e->gpu_u_j = (b0 + b1) / 2; /* each edge's bound counts on both ends of a zero window */
        double dur = (double)(q->done_ns - q->sent_ns) / 1e9;
        e->short_window = isnan(res) || dur < 3 * res;
    }
    free(ev);
    free(ts);
    free(acc);
    return 0;
}

/* ==== energy.remote ======================================================== */

static json_t *source_json(const json_t *entry)
{
    const char *sel = json_string_value(json_object_get(entry, "selector"));
    const char *url = json_string_value(json_object_get(entry, "url"));
    char shown[1024];
    return json_pack("{s:s?, s:s}", "url", url ? aieb_url_redact(url, shown, sizeof shown) : NULL,
                     "selector", sel && *sel ? sel : "{}");
}

json_t *runner_remote_json(runner *r)
{
    if (!r->n_remote)
        return NULL;
    json_t *o = json_object();
    const json_t *list = r->cfg->metrics.remote;
    json_object_set_new(o, "source", source_json(json_array_get(list, 0)));
    if (r->n_remote > 1) {
        json_t *all = json_array();
        for (size_t i = 0; i < r->n_remote; i++)
            json_array_append_new(all, source_json(json_array_get(list, i)));
        json_object_set_new(o, "sources", all);
    }
    json_t *errors = json_array();
    for (size_t i = 0; i < r->n_remote; i++)
        if (r->remote_errors[i])
            json_array_append_new(errors, json_string(r->remote_errors[i]));
    json_object_set_new(o, "errors", errors);
    json_object_set_new(o, "primary", json_boolean(r->remote_primary));
    if (!r->n_remote_ok) {
        json_object_set_new(o, "error", json_string(r->remote_errors[0]));
        json_object_set_new(o, "method", json_null());
        json_object_set_new(o, "total_j", json_null());
        json_object_set_new(o, "gpu_wh", json_null());
        return o;
    }
    const char *method = NULL;
    double res = NAN;
    for (size_t i = 0; i < r->n_remote; i++) {
        if (!r->remote[i])
            continue;
        const char *m = aieb_prom_method(r->remote[i]);
        method = !method || strcmp(method, m) == 0 ? m : "mixed";
        double x = aieb_prom_resolution_s(r->remote[i]);
        res = isnan(res) || x > res ? x : res; /* the coarsest source limits the windows */
    }
    aieb_prom_window w;
    window(r, r->t_work0, r->t_work1, &w);
    json_object_set_new(o, "method", json_string(method));
    json_object_set_new(o, "resolution_s", num(res));
    json_object_set_new(o, "window", json_string("workload"));
    json_object_set_new(o, "duration_s", num((double)(r->t_work1 - r->t_work0) / 1e9));
    json_object_set_new(o, "total_j", num(w.gpu_j));
    json_object_set_new(o, "gpu_wh", num(w.gpu_j / J_PER_WH));
    json_object_set_new(o, "uncertainty_j", num(w.gpu_bound_j));
    json_object_set_new(o, "cpu_j", num(w.cpu_j));
    json_object_set_new(o, "cpu_uncertainty_j", num(w.cpu_bound_j));
    json_object_set_new(o, "low_resolution", json_boolean(w.low_resolution));
    json_object_set_new(o, "series_not_covering_window", json_integer(w.n_uncovered));

    /* Per series and per host, over the workload. */
    json_t *series = json_array(), *hosts = json_array();
    double a = aieb_prom_clock_wall_s(&r->clk, r->t_work0);
    double b = aieb_prom_clock_wall_s(&r->clk, r->t_work1);
    for (size_t s = 0; s < r->n_remote; s++) {
        aieb_prom *p = r->remote[s];
        if (!p)
            continue;
        size_t ns = aieb_prom_n_series(p);
        double *ej = calloc(2 * ns + 1, sizeof *ej), *ub = ej ? ej + ns : NULL;
        aieb_prom_window x;
        if (ej)
            aieb_prom_window_energy(p, a, b, &x, ej, ub);
        for (size_t i = 0; ej && i < ns; i++) {
            int cpu = aieb_prom_series_is_cpu(p, i);
            const char *host = aieb_prom_series_host(p, i);
            json_t *e = json_object();
            json_object_set_new(e, "labels", json_deep_copy(aieb_prom_series_labels(p, i)));
            json_object_set_new(e, "host", json_string(host));
            json_object_set_new(e, "kind", json_string(cpu ? "cpu" : "gpu"));
            json_object_set_new(e, "energy_j", num(ej[i]));
            json_object_set_new(e, "uncertainty_j", num(ub[i]));
            json_array_append_new(series, e);
            json_t *h = NULL;
            size_t k;
            json_t *it;
            json_array_foreach(hosts, k, it)
            {
                if (strcmp(json_string_value(json_object_get(it, "host")), host) == 0)
                    h = it;
            }
            if (!h) {
                h = json_pack("{s:s, s:f, s:i, s:n}", "host", host, "energy_j", 0.0, "gpus", 0,
                              "cpu_energy_j");
                json_array_append_new(hosts, h);
            }
            if (cpu) {
                json_t *c = json_object_get(h, "cpu_energy_j");
                json_object_set_new(h, "cpu_energy_j", json_real(json_number_value(c) + ej[i]));
            } else {
                json_object_set_new(
                    h, "energy_j",
                    json_real(json_number_value(json_object_get(h, "energy_j")) + ej[i]));
                json_object_set_new(
                    h, "gpus", json_integer(json_integer_value(json_object_get(h, "gpus")) + 1));
            }
        }
        free(ej);
    }
    json_object_set_new(o, "series", series);
    json_object_set_new(o, "hosts", hosts);

    /* The run's phases, each from the same samples. */
    json_t *ph = json_object();
    if (r->t_base1 > r->t_base0)
        json_object_set_new(ph, "idle_baseline", window_json(r, r->t_base0, r->t_base1));
    if (r->t_load1 > r->t_load0)
        json_object_set_new(ph, "model_load", window_json(r, r->t_load0, r->t_load1));
    if (r->t_warm1 > r->t_warm0)
        json_object_set_new(ph, "warmup", window_json(r, r->t_warm0, r->t_warm1));
    json_object_set_new(ph, "workload", window_json(r, r->t_work0, r->t_work1));
    if (r->t_unload1 > r->t_unload0)
        json_object_set_new(ph, "cleanup", window_json(r, r->t_unload0, r->t_unload1));
    json_t *reps = json_array();
    for (int k = 0; k < r->n_reps; k++)
        json_array_append_new(reps, window_json(r, r->rep_t0[k], r->rep_t1[k]));
    json_object_set_new(ph, "repetitions", reps);
    json_object_set_new(o, "phases", ph);
    double base_w = runner_remote_baseline_w(r);
    json_object_set_new(o, "idle_power_w", num(base_w));
    json_object_set_new(o, "net_total_j",
                        isnan(base_w)
                            ? json_null()
                            : num(w.gpu_j - base_w * (double)(r->t_work1 - r->t_work0) / 1e9));
    json_t *notes = json_array();
    for (size_t s = 0; s < r->n_remote; s++)
        for (size_t k = 0; r->remote[s] && k < aieb_prom_n_notes(r->remote[s]); k++)
            json_array_append_new(notes, json_string(aieb_prom_note(r->remote[s], k)));
    json_object_set_new(o, "notes", notes);
    return o;
}
