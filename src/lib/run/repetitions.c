/* repetitions.c - the workload run N times after one load and warmup
 * (scenario.repetitions), each repetition measured apart: its energy from the
 * meter's window over [its first send, its last done], its latency and
 * throughput from its own requests. Over the repetitions every headline figure
 * gets a mean, a standard deviation and a 95% confidence interval (Student t,
 * n - 1 degrees of freedom): how much the figure moves from one run of the
 * same workload to the next, which the per-window error bounds do not say.
 */
#include <math.h>
#include <stdlib.h>

#include "aieb/stats.h"
#include "run/runner_internal.h"

#define J_PER_WH 3600.0

enum {
    F_ENERGY_WH,
    F_GPU_WH,
    F_CPU_WH,
    F_RAM_WH,
    F_TOTAL_WH,
    F_WH_PER_1000,
    F_J_PER_TOKEN,
    F_OUT_TOK_S,
    F_TTFT_MEDIAN,
    F_TPOT_MEDIAN,
    F_COUNT
};

static const char *const figure_names[F_COUNT] = {
    "energy_wh",       "gpu_energy_wh",       "cpu_energy_wh",      "ram_energy_wh",
    "total_energy_wh", "wh_per_1000_queries", "j_per_output_token", "output_tokens_per_s",
    "ttft_median_ms",  "tpot_median_ms",
};

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* The figures of repetition k into f[0..F_COUNT). */
static int one_repetition(runner *r, int k, double *f, aieb_err *err)
{
    for (int i = 0; i < F_COUNT; i++)
        f[i] = NAN;
    aieb_meter_summary ms;
    int rc = aieb_meter_summarize(r->meter, r->rep_t0[k], r->rep_t1[k], &ms, err);
    if (rc)
        return rc;
    size_t first = r->rep_first[k];
    size_t end = k + 1 < r->n_reps ? r->rep_first[k + 1] : r->n_results;
    aieb_latency_summary ls;
    rc = aieb_latency_summarize(r->results + first, end - first, NULL, &ls);
    if (rc) {
        aieb_meter_summary_free(&ms);
        return aieb_errf(err, rc, "repetition %d: cannot summarise its requests", k + 1);
    }
    int has_gpu = ms.has_domain[AIEB_DOMAIN_GPU];
    double gpu = has_gpu ? ms.window.energy_j[AIEB_DOMAIN_GPU] : 0.0;
    double cpu = ms.has_domain[AIEB_DOMAIN_CPU] ? ms.window.energy_j[AIEB_DOMAIN_CPU] : 0.0;
    double ram = runner_ram_j(&ms, ms.window.energy_j);
    double primary = runner_gpu_primary(r, &ms) ? gpu : cpu + ram;
    f[F_ENERGY_WH] = primary / J_PER_WH;
    f[F_GPU_WH] = has_gpu ? gpu / J_PER_WH : NAN;
    f[F_CPU_WH] = cpu / J_PER_WH;
    f[F_RAM_WH] = ram / J_PER_WH;
    f[F_TOTAL_WH] = (gpu + cpu + ram) / J_PER_WH;
    if (ls.n_ok)
        f[F_WH_PER_1000] = primary / J_PER_WH / (double)ls.n_ok * 1000.0;
    if (ls.completion_tokens > 0)
        f[F_J_PER_TOKEN] = primary / (double)ls.completion_tokens;
    f[F_OUT_TOK_S] = ls.duration_s > 0 ? ls.output_throughput : NAN;
    f[F_TTFT_MEDIAN] = ls.ttft_ms.n ? ls.ttft_ms.median : NAN;
    f[F_TPOT_MEDIAN] = ls.tpot_ms.n ? ls.tpot_ms.median : NAN;
    aieb_meter_summary_free(&ms);
    return 0;
}

json_t *runner_repetitions_json(runner *r, aieb_err *err)
{
    /* A repetition cut short (interrupt, fail-fast) is not the same workload:
     * with several planned, only whole ones count. */
    int planned = r->cfg->scenario.repetitions > 0 ? r->cfg->scenario.repetitions : 1;
    int n = 0, cut = 0;
    int *which = calloc((size_t)(r->n_reps > 0 ? r->n_reps : 1), sizeof *which);
    for (int k = 0; which && k < r->n_reps; k++) {
        size_t end = k + 1 < r->n_reps ? r->rep_first[k + 1] : r->n_results;
        if (planned > 1 && end - r->rep_first[k] < r->per_rep)
            cut++;
        else
            which[n++] = k;
    }
    double *vals = calloc((size_t)(n > 0 ? n : 1) * F_COUNT, sizeof *vals);
    json_t *o = json_object(), *figs = json_object();
    if (!which || !vals || !o || !figs) {
        free(which);
        free(vals);
        json_decref(o);
        json_decref(figs);
        aieb_errf(err, AIEB_ENOMEM, "out of memory");
        return NULL;
    }
    for (int k = 0; k < n; k++) {
        if (one_repetition(r, which[k], vals + (size_t)k * F_COUNT, err) != 0) {
            free(which);
            free(vals);
            json_decref(o);
            json_decref(figs);
            return NULL;
        }
    }
    for (int i = 0; i < F_COUNT; i++) {
        double *col = malloc((size_t)(n > 0 ? n : 1) * sizeof *col);
        json_t *values = json_array();
        if (!col || !values) {
            free(col);
            json_decref(values);
            continue;
        }
        for (int k = 0; k < n; k++) {
            col[k] = vals[(size_t)k * F_COUNT + (size_t)i];
            json_array_append_new(values, num(col[k]));
        }
        aieb_mean_ci ci;
        aieb_mean_ci95(col, (size_t)n, &ci);
        free(col);
        json_t *ci95 = isfinite(ci.lo) ? json_pack("[f, f]", ci.lo, ci.hi) : json_null();
        json_object_set_new(figs, figure_names[i],
                            json_pack("{s:o, s:o, s:o, s:o}", "mean", num(ci.mean), "std",
                                      num(ci.std), "ci95", ci95, "values", values));
    }
    free(vals);
    free(which);
    json_object_set_new(o, "n", json_integer(n));
    json_object_set_new(o, "planned", json_integer(planned));
    json_object_set_new(o, "cut_short", json_integer(cut));
    json_object_set_new(o, "figures", figs);
    return o;
}
