/* energy_star.c - summary.json's "energy_star": the figures of the method
 * AIEnergyScore's leaderboard uses (optimum-benchmark's energy_star scenario,
 * docs/ratings.md).
 *
 * Per repetition the runner made two passes over every prompt, one request at a
 * time: a prefill pass of exactly 1 new token, then a generate pass of exactly
 * N. Each pass's energy is the meter's window over the pass (gaps between
 * requests included, as the method measures the whole loop); decode = generate
 * - prefill, domain by domain. Over the repetitions: mean and 95% interval.
 * The leaderboard's figure is the generate pass's GPU energy per 1000 queries.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/stats.h"
#include "run/runner_internal.h"

#define J_PER_WH 3600.0

enum { P_PREFILL, P_GENERATE, P_DECODE, P_COUNT };
static const char *const pass_names[P_COUNT] = {"prefill", "generate", "decode"};

/* One figure per repetition and pass. */
enum { V_GPU, V_CPU, V_RAM, V_PRIMARY, V_U_PRIMARY, V_DURATION, V_TOKENS, V_QUERIES, V_COUNT };

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* Requests of pass p of repetition k: [first, end) in r->results. */
static void pass_range(const runner *r, int k, int p, size_t *first, size_t *end)
{
    size_t rep_end = k + 1 < r->n_reps ? r->rep_first[k + 1] : r->n_results;
    size_t gen_first = r->es_gen_first[k] ? r->es_gen_first[k] : rep_end;
    *first = p == P_PREFILL ? r->rep_first[k] : gen_first;
    *end = p == P_PREFILL ? gen_first : rep_end;
}

/* Whether both passes of repetition k ran every prompt. */
static int whole(const runner *r, int k)
{
    size_t a, b, c, d;
    pass_range(r, k, P_PREFILL, &a, &b);
    pass_range(r, k, P_GENERATE, &c, &d);
    return r->es_gen_t1[k] > 0 && b - a == r->n_workload && d - c == r->n_workload;
}

/* The figures of pass p (prefill or generate) of repetition k into v. */
static int one_pass(runner *r, int k, int p, int has_gpu, int gpu_primary, double *v, aieb_err *err)
{
    int64_t t0 = p == P_PREFILL ? r->rep_t0[k] : r->es_gen_t0[k];
    int64_t t1 = p == P_PREFILL ? r->es_pre_t1[k] : r->es_gen_t1[k];
    aieb_meter_summary ms;
    int rc = aieb_meter_summarize(r->meter, t0, t1, &ms, err);
    if (rc)
        return rc;
    const aieb_window *w = &ms.window;
    v[V_GPU] = has_gpu ? w->energy_j[AIEB_DOMAIN_GPU] : NAN;
    v[V_CPU] = ms.has_domain[AIEB_DOMAIN_CPU] ? w->energy_j[AIEB_DOMAIN_CPU] : 0.0;
    v[V_RAM] = runner_ram_j(&ms, w->energy_j);
    v[V_PRIMARY] = gpu_primary ? v[V_GPU] : v[V_CPU] + v[V_RAM];
    v[V_U_PRIMARY] =
        gpu_primary ? w->uncertainty_j[AIEB_DOMAIN_GPU]
                    : (ms.has_domain[AIEB_DOMAIN_CPU] ? w->uncertainty_j[AIEB_DOMAIN_CPU] : 0.0) +
                          runner_ram_j(&ms, w->uncertainty_j);
    v[V_DURATION] = (double)(t1 - t0) / 1e9;
    size_t first, end;
    pass_range(r, k, p, &first, &end);
    double tokens = 0, ok = 0;
    for (size_t i = first; i < end; i++) {
        const aieb_result *q = &r->results[i];
        if (q->error_kind != AIEB_REQ_OK)
            continue;
        ok++;
        /* prefill: the prompts' tokens; generate: the new tokens */
        long t = p == P_PREFILL ? q->prompt_tokens : q->completion_tokens;
        tokens += t > 0 ? (double)t : 0.0;
    }
    v[V_TOKENS] = tokens;
    v[V_QUERIES] = ok;
    aieb_meter_summary_free(&ms);
    return 0;
}

/* {mean, ci95, values} of column i over n repetitions, in Wh when wh. */
static json_t *column(const double *vals, int n, int pass, int i, double scale, json_t **ci_out)
{
    double *col = malloc((size_t)(n > 0 ? n : 1) * sizeof *col);
    json_t *values = json_array();
    if (!col || !values) {
        free(col);
        json_decref(values);
        *ci_out = json_null();
        return json_null();
    }
    for (int k = 0; k < n; k++) {
        col[k] = vals[((size_t)k * P_COUNT + (size_t)pass) * V_COUNT + (size_t)i] * scale;
        json_array_append_new(values, num(col[k]));
    }
    aieb_mean_ci ci;
    aieb_mean_ci95(col, (size_t)n, &ci);
    free(col);
    *ci_out = isfinite(ci.lo) ? json_pack("[f, f]", ci.lo, ci.hi) : json_null();
    json_decref(values);
    return num(ci.mean);
}

static json_t *pass_json(const double *vals, int n, int pass, int has_gpu)
{
    json_t *o = json_object(), *ci;
    static const struct {
        int v;
        const char *name, *ci_name;
        double scale;
    } cols[] = {
        {V_GPU, "gpu_wh", "gpu_wh_ci95", 1.0 / J_PER_WH},
        {V_CPU, "cpu_wh", "cpu_wh_ci95", 1.0 / J_PER_WH},
        {V_RAM, "ram_wh", "ram_wh_ci95", 1.0 / J_PER_WH},
        {V_PRIMARY, "energy_wh", "energy_wh_ci95", 1.0 / J_PER_WH},
        {V_U_PRIMARY, "energy_uncertainty_wh", NULL, 1.0 / J_PER_WH},
        {V_DURATION, "duration_s", NULL, 1.0},
        {V_TOKENS, "tokens", NULL, 1.0},
    };
    for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
        if (cols[c].v == V_GPU && !has_gpu) {
            json_object_set_new(o, "gpu_wh", json_null());
            json_object_set_new(o, "gpu_wh_ci95", json_null());
            continue;
        }
        json_object_set_new(o, cols[c].name, column(vals, n, pass, cols[c].v, cols[c].scale, &ci));
        if (cols[c].ci_name)
            json_object_set_new(o, cols[c].ci_name, ci);
        else
            json_decref(ci);
    }
    return o;
}

json_t *runner_energy_star_json(runner *r, const aieb_meter_summary *ms, aieb_err *err)
{
    int planned = r->cfg->scenario.repetitions > 0 ? r->cfg->scenario.repetitions : 1;
    int n = 0, cut = 0;
    int has_gpu = ms->has_domain[AIEB_DOMAIN_GPU], gpu_primary = runner_gpu_primary(r, ms);
    double *vals =
        calloc((size_t)(r->n_reps > 0 ? r->n_reps : 1) * P_COUNT * V_COUNT, sizeof *vals);
    if (!vals) {
        aieb_errf(err, AIEB_ENOMEM, "out of memory");
        return NULL;
    }
    for (int k = 0; k < r->n_reps; k++) {
        /* A repetition whose passes did not both cover every prompt (interrupt,
         * fail-fast) is not the method's measurement. */
        if (!whole(r, k)) {
            cut++;
            continue;
        }
        double *v = vals + (size_t)n * P_COUNT * V_COUNT;
        double *pre = v + P_PREFILL * V_COUNT, *gen = v + P_GENERATE * V_COUNT,
               *dec = v + P_DECODE * V_COUNT;
        if (one_pass(r, k, P_PREFILL, has_gpu, gpu_primary, pre, err) != 0 ||
            one_pass(r, k, P_GENERATE, has_gpu, gpu_primary, gen, err) != 0) {
            free(vals);
            return NULL;
        }
        for (int i = V_GPU; i <= V_PRIMARY; i++)
            dec[i] = gen[i] - pre[i];
        /* The bounds of two windows add. */
        dec[V_U_PRIMARY] = gen[V_U_PRIMARY] + pre[V_U_PRIMARY];
        dec[V_DURATION] = gen[V_DURATION] - pre[V_DURATION];
        /* The first new token comes out of prefill; decode makes the others. */
        dec[V_TOKENS] = gen[V_TOKENS] - gen[V_QUERIES];
        dec[V_QUERIES] = gen[V_QUERIES];
        n++;
    }
    json_t *o = json_object();
    json_object_set_new(o, "primary", json_string(gpu_primary ? "gpu" : "cpu+ram"));
    json_object_set_new(o, "repetitions", json_integer(n));
    json_object_set_new(o, "planned_repetitions", json_integer(planned));
    json_object_set_new(o, "cut_short", json_integer(cut));
    json_object_set_new(o, "samples", json_integer((json_int_t)r->n_workload));
    json_object_set_new(o, "new_tokens",
                        json_integer(r->cfg->scenario.generate_kwargs.max_new_tokens));
    for (int p = 0; p < P_COUNT; p++)
        json_object_set_new(o, pass_names[p], pass_json(vals, n, p, has_gpu));
    /* The leaderboard's figure: generate-pass energy per 1000 queries, per
     * repetition over the queries that succeeded (all of them in a clean run). */
    double *per = malloc((size_t)(n > 0 ? n : 1) * 2 * sizeof *per);
    if (!per) {
        free(vals);
        json_decref(o);
        aieb_errf(err, AIEB_ENOMEM, "out of memory");
        return NULL;
    }
    for (int k = 0; k < n; k++) {
        const double *gen = vals + ((size_t)k * P_COUNT + P_GENERATE) * V_COUNT;
        double q = gen[V_QUERIES];
        per[k] = q > 0 ? gen[V_GPU] / J_PER_WH / q * 1000.0 : NAN;
        per[n + k] = q > 0 ? gen[V_PRIMARY] / J_PER_WH / q * 1000.0 : NAN;
    }
    aieb_mean_ci ci;
    aieb_mean_ci95(per, (size_t)n, &ci);
    json_object_set_new(o, "gpu_wh_per_1000_queries", has_gpu ? num(ci.mean) : json_null());
    json_object_set_new(o, "gpu_wh_per_1000_queries_ci95",
                        has_gpu && isfinite(ci.lo) ? json_pack("[f, f]", ci.lo, ci.hi)
                                                   : json_null());
    aieb_mean_ci95(per + n, (size_t)n, &ci);
    json_object_set_new(o, "wh_per_1000_queries", num(ci.mean));
    json_object_set_new(o, "wh_per_1000_queries_ci95",
                        isfinite(ci.lo) ? json_pack("[f, f]", ci.lo, ci.hi) : json_null());
    free(per);
    free(vals);
    return o;
}
