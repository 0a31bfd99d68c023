/* report_compare.c - a run's headline figures, and several runs side by side
 * (report.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/report.h"
#include "aieb/store.h"
#include "report/report_internal.h"

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *bool_or_null(int b)
{
    return b < 0 ? json_null() : json_boolean(b);
}

json_t *aieb_report_key_figures(const aieb_run_files *f)
{
    json_t *s = f->summary, *o = json_object();
    if (!o)
        return NULL;
    int fail = 0;
#define SET(k, v) fail |= json_object_set_new(o, k, v)
    SET("run_dir", str_or_null(f->dir));
    SET("name", str_or_null(rj_str(s, "name")));
    SET("run_id", str_or_null(rj_str(s, "run_id")));
    SET("backend", str_or_null(rj_str(s, "config.backend")));
    SET("model", str_or_null(rj_str(s, "config.model")));
    SET("primary", str_or_null(rj_str(s, "energy.primary")));
    SET("energy_wh", num_or_null(rj_num(s, "energy.energy_wh")));
    SET("total_energy_wh", num_or_null(rj_num(s, "energy.total_energy_wh")));
    SET("net_energy_wh", num_or_null(rj_num(s, "energy.net.energy_wh")));
    SET("wh_per_1000_queries", num_or_null(rj_num(s, "energy.wh_per_1000_queries")));
    SET("j_per_output_token", num_or_null(rj_num(s, "energy.j_per_output_token")));
    SET("tokens_per_joule", num_or_null(rj_num(s, "energy.tokens_per_joule")));
    SET("output_tokens_per_s", num_or_null(rj_num(s, "latency.output_token_throughput")));
    SET("total_tokens_per_s", num_or_null(rj_num(s, "summary.throughput_tokens_per_second")));
    SET("ttft_ms_p50", num_or_null(rj_num(s, "latency.ttft_ms.median")));
    SET("tpot_ms_p50", num_or_null(rj_num(s, "latency.tpot_ms.median")));
    SET("e2el_ms_p50", num_or_null(rj_num(s, "latency.e2el_ms.median")));
    SET("emissions_g_co2eq", num_or_null(rj_num(s, "energy.emissions_g_co2eq")));
    SET("carbon_intensity_g_per_kwh", num_or_null(rj_num(s, "energy.carbon_intensity_g_per_kwh")));
    SET("gpu_present", bool_or_null(rj_bool(s, "evidence.gpu_present")));
    SET("gpu_active", bool_or_null(rj_bool(s, "evidence.gpu_active")));
    double total = rj_num(s, "summary.total_prompts"), ok = rj_num(s, "summary.successful_prompts");
    double failed = rj_num(s, "summary.failed_prompts");
    SET("requests_total", isnan(total) ? json_null() : json_integer((json_int_t)total));
    SET("requests_ok", isnan(ok) ? json_null() : json_integer((json_int_t)ok));
    SET("requests_failed", isnan(failed) ? json_null() : json_integer((json_int_t)failed));
    SET("interrupted", bool_or_null(rj_bool(s, "interrupted")));
    double planned = rj_num(s, "summary.planned_prompts");
    SET("planned_prompts", isnan(planned) ? json_null() : json_integer((json_int_t)planned));
    double conc = rj_num(s, "config.max_concurrency");
    SET("max_concurrency", isnan(conc) ? json_null() : json_integer((json_int_t)conc));
    double reps = rj_num(s, "repetitions.n");
    SET("repetitions", json_integer(isnan(reps) ? 1 : (json_int_t)reps));
    SET("status", json_string(aieb_store_summary_status(s)));
    /* 95% intervals over repetitions, where the run has them */
    static const char *const with_ci[] = {"wh_per_1000_queries", "j_per_output_token",
                                          "output_tokens_per_s"};
    for (size_t i = 0; i < sizeof with_ci / sizeof with_ci[0]; i++) {
        char path[96], key[64];
        snprintf(path, sizeof path, "repetitions.figures.%s.ci95", with_ci[i]);
        snprintf(key, sizeof key, "%s_ci95", with_ci[i]);
        json_t *ci = rj_get(s, path);
        SET(key, json_is_array(ci) ? json_incref(ci) : json_null());
    }
#undef SET
    if (fail) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The figures a comparison shows, in order: label, key-figures key. */
static const struct {
    const char *label, *key;
} metrics[] = {
    {"Energy, primary (Wh)", "energy_wh"},
    {"Energy, total (Wh)", "total_energy_wh"},
    {"Wh per 1000 queries", "wh_per_1000_queries"},
    {"J per output token", "j_per_output_token"},
    {"Output tokens/s", "output_tokens_per_s"},
    {"Total tokens/s", "total_tokens_per_s"},
    {"TTFT p50 (ms)", "ttft_ms_p50"},
    {"TPOT p50 (ms)", "tpot_ms_p50"},
    {"Emissions (gCO2e)", "emissions_g_co2eq"},
};
#define N_METRICS (sizeof metrics / sizeof metrics[0])

static void text_row(md *m, const char *label, json_t *const *figs, size_t n, const char *k1,
                     const char *k2)
{
    md_printf(m, "| %s |", label);
    for (size_t i = 0; i < n; i++) {
        md_printf(m, " ");
        md_cell(m, rj_str(figs[i], k1));
        if (k2) {
            md_printf(m, " / ");
            md_cell(m, rj_str(figs[i], k2));
        }
        md_printf(m, " |");
    }
    md_printf(m, "\n");
}

static void int_row(md *m, const char *label, json_t *const *figs, size_t n, const char *k1,
                    const char *k2)
{
    md_printf(m, "| %s |", label);
    for (size_t i = 0; i < n; i++) {
        double a = rj_num(figs[i], k1), b = k2 ? rj_num(figs[i], k2) : NAN;
        if (isnan(a))
            md_printf(m, " %s", REPORT_NA);
        else
            md_printf(m, " %.0f", a);
        if (k2) {
            if (isnan(b))
                md_printf(m, " / %s", REPORT_NA);
            else
                md_printf(m, " / %.0f", b);
        }
        md_printf(m, " |");
    }
    md_printf(m, "\n");
}

/* What the table cannot say by itself: figures of different kinds, and
 * whether a difference goes beyond the runs' 95% intervals (over repetitions). */
static void compare_notes(md *m, json_t *const *figs, size_t n)
{
    static const struct {
        const char *label, *key;
    } ci_figs[] = {
        {"Wh per 1000 queries", "wh_per_1000_queries"},
        {"J per output token", "j_per_output_token"},
        {"Output tokens/s", "output_tokens_per_s"},
    };
    const char *p0 = rj_str(figs[0], "primary");
    for (size_t i = 1; i < n; i++) {
        const char *pi = rj_str(figs[i], "primary");
        if (p0 && pi && strcmp(p0, pi) != 0)
            md_printf(m,
                      "\n**Warning:** run %zu's primary metric is %s energy, run 1's is %s: "
                      "their energy figures measure different things and are not comparable.\n",
                      i + 1, pi, p0);
    }
    int said = 0;
    for (size_t i = 1; i < n; i++) {
        for (size_t k = 0; k < sizeof ci_figs / sizeof ci_figs[0]; k++) {
            char key[64], a[48], b[48], c[48], d[48];
            snprintf(key, sizeof key, "%s_ci95", ci_figs[k].key);
            json_t *x = json_object_get(figs[0], key), *y = json_object_get(figs[i], key);
            if (!json_is_array(x) || !json_is_array(y))
                continue;
            double xl = json_number_value(json_array_get(x, 0));
            double xh = json_number_value(json_array_get(x, 1));
            double yl = json_number_value(json_array_get(y, 0));
            double yh = json_number_value(json_array_get(y, 1));
            int apart = yl > xh || yh < xl;
            if (!said++)
                md_printf(m, "\nAgainst run 1, over repetitions (95%% intervals):\n\n");
            md_printf(m, "- %s, run %zu: %s (%s..%s vs %s..%s).\n", ci_figs[k].label, i + 1,
                      apart ? "**differs beyond the intervals**"
                            : "within the intervals: not a clear difference",
                      fmt_sig(a, sizeof a, yl), fmt_sig(b, sizeof b, yh), fmt_sig(c, sizeof c, xl),
                      fmt_sig(d, sizeof d, xh));
        }
    }
    if (!said && n > 1)
        md_printf(m, "\nRun 1 and the others do not all have repetitions, so no interval says "
                     "whether the differences above exceed run-to-run variation (`aieb run "
                     "--repeat N`, N >= 2, on each).\n");
}

int aieb_report_compare(const aieb_run_files *runs, size_t n, aieb_buf *out, aieb_err *err)
{
    if (n < 1)
        return aieb_errf(err, AIEB_EINVAL, "compare: no run given");
    json_t **figs = calloc(n, sizeof *figs);
    if (!figs)
        return aieb_errf(err, AIEB_ENOMEM, "compare: out of memory");
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        if (!(figs[i] = aieb_report_key_figures(&runs[i])))
            rc = aieb_errf(err, AIEB_ENOMEM, "compare: out of memory");
    md m = {out, 0};
    if (!rc) {
        md_printf(&m, "| Metric |");
        for (size_t i = 0; i < n; i++) {
            md_printf(&m, " %zu: ", i + 1);
            md_cell(&m, rj_str(figs[i], "name"));
            md_printf(&m, " ");
            md_cell(&m, rj_str(figs[i], "run_id"));
            md_printf(&m, " |");
        }
        md_printf(&m, "\n|---|");
        for (size_t i = 0; i < n; i++)
            md_printf(&m, "---|");
        md_printf(&m, "\n");
        text_row(&m, "Backend / model", figs, n, "backend", "model");
        text_row(&m, "Primary metric", figs, n, "primary", NULL);
        text_row(&m, "Status", figs, n, "status", NULL);
        int_row(&m, "Requests ok / planned", figs, n, "requests_ok", "planned_prompts");
        int_row(&m, "Concurrency", figs, n, "max_concurrency", NULL);
        int_row(&m, "Repetitions", figs, n, "repetitions", NULL);
        for (size_t k = 0; k < N_METRICS; k++) {
            md_printf(&m, "| %s |", metrics[k].label);
            double base = rj_num(figs[0], metrics[k].key);
            for (size_t i = 0; i < n; i++) {
                char a[48], b[48];
                double v = rj_num(figs[i], metrics[k].key);
                md_printf(&m, " %s", fmt_sig(a, sizeof a, v));
                if (i > 0) {
                    double r = isfinite(v) && isfinite(base) && base != 0 ? v / base : NAN;
                    md_printf(&m, " (%s%s)", isnan(r) ? "" : "x",
                              isnan(r) ? REPORT_NA : fmt_fix(b, sizeof b, r, 2));
                }
                md_printf(&m, " |");
            }
            md_printf(&m, "\n");
        }
        md_printf(&m, "\nRatios are to run 1.\n");
        compare_notes(&m, figs, n);
        md_printf(&m, "\nRuns:\n\n");
        for (size_t i = 0; i < n; i++) {
            md_printf(&m, "%zu. ", i + 1);
            md_cell(&m, runs[i].dir);
            md_printf(&m, "\n");
        }
        if (m.rc)
            rc = aieb_errf(err, m.rc, "compare: out of memory");
    }
    for (size_t i = 0; i < n; i++)
        json_decref(figs[i]);
    free(figs);
    return rc;
}
