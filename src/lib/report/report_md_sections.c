/* report_md_sections.c - report.md's later sections: aggregate statistics,
 * energy, GPU (or CPU) evidence, cleanup, methods and warnings (report_md.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "aieb/backend.h"
#include "report/report_md.h"

static void latency_row(ctx *c, const char *label, const char *key)
{
    json_t *st = rj_get(c->s, key);
    P("| %s | %s | %s | %s | %s | %s | %s |\n", label, F(rj_num(st, "n"), 0), S(rj_num(st, "mean")),
      S(rj_num(st, "median")), S(rj_num(st, "p90")), S(rj_num(st, "p95")), S(rj_num(st, "p99")));
}

void md_aggregates(ctx *c)
{
    json_t *s = c->s;
    P("### Aggregate statistics\n\n| Figure | Value |\n|---|---|\n");
    P("| Requests | %s total, %s ok, %s failed |\n", F(rj_num(s, "summary.total_prompts"), 0),
      F(rj_num(s, "summary.successful_prompts"), 0), F(rj_num(s, "summary.failed_prompts"), 0));
    json_t *errs = json_object_get(s, "errors");
    if (json_object_size(errs)) {
        P("| Failures by kind | ");
        const char *k;
        json_t *v;
        int first = 1;
        json_object_foreach(errs, k, v)
        {
            P("%s", first ? "" : ", ");
            md_cell(&c->m, k);
            P(" %lld", (long long)json_integer_value(v));
            first = 0;
        }
        P(" |\n");
    }
    P("| Workload duration (s) | %s |\n", S(rj_num(s, "summary.total_duration_seconds")));
    P("| Tokens | %s prompt + %s completion = %s%s |\n",
      F(rj_num(s, "summary.total_prompt_tokens"), 0),
      F(rj_num(s, "summary.total_completion_tokens"), 0), F(rj_num(s, "summary.total_tokens"), 0),
      rj_bool(s, "summary.tokens_estimated") == 1 ? " (some estimated)" : "");
    P("| Average latency (s) | %s |\n", S(rj_num(s, "summary.avg_latency_seconds")));
    P("| Requests/s | %s |\n", S(rj_num(s, "latency.request_throughput")));
    P("| Output tokens/s | %s |\n", S(rj_num(s, "latency.output_token_throughput")));
    P("| Total tokens/s | %s |\n", S(rj_num(s, "summary.throughput_tokens_per_second")));
    json_t *gp = rj_get(s, "latency.goodput");
    if (json_is_object(gp))
        P("| Goodput (requests/s within the SLO) | %s (%s good) |\n",
          S(rj_num(gp, "goodput_requests_per_s")), F(rj_num(gp, "good_requests"), 0));
    P("\n| Latency (ms) | n | Mean | Median | P90 | P95 | P99 |\n|---|---|---|---|---|---|---|\n");
    latency_row(c, "Time to first token", "latency.ttft_ms");
    latency_row(c, "Time per output token", "latency.tpot_ms");
    latency_row(c, "Inter-token latency", "latency.itl_ms");
    latency_row(c, "End to end", "latency.e2el_ms");
    P("\n");
    if (!c->has_gpu)
        return;
    P("| GPU | Energy (Wh) | Avg / max utilisation (%%) | Avg / max memory (MB) | Avg / peak "
      "power (W) | Max temperature (C) |\n|---|---|---|---|---|---|\n");
    json_t *g;
    size_t k;
    json_array_foreach(c->gpus, k, g)
    {
        P("| %lld | %s | %s / %s | %s / %s | %s / %s | %s |\n",
          (long long)json_integer_value(json_object_get(g, "index")), S(rj_num(g, "energy_wh")),
          F(rj_num(g, "avg_utilization_percent"), 1), F(rj_num(g, "max_utilization_percent"), 1),
          F(rj_num(g, "avg_memory_mb"), 0), F(rj_num(g, "max_memory_mb"), 0),
          S(rj_num(g, "avg_power_w")), S(rj_num(g, "peak_power_w")),
          F(rj_num(g, "max_temperature_c"), 0));
    }
    P("\n");
}

/* ==== Energy =============================================================== */

/* A bound in J shown in Wh beside its figure; empty where the summary has none
 * (written before bounds existed). */
static const char *pm_wh(ctx *c, const char *key)
{
    double u = rj_num(c->s, key);
    return isnan(u) ? "" : S(u / J_PER_WH);
}

/* u_key: the domain's key under energy.uncertainty_j and energy.net.uncertainty_j. */
static void energy_row(ctx *c, const char *label, const char *gross, const char *net,
                       const char *u_key, const char *method)
{
    char ug[64], un[64];
    snprintf(ug, sizeof ug, "energy.uncertainty_j.%s", u_key);
    snprintf(un, sizeof un, "energy.net.uncertainty_j.%s", u_key);
    P("| %s | ", label);
    md_cell(&c->m, method ? method : "");
    P(" | %s | %s | %s | %s |\n", S(rj_num(c->s, gross)), pm_wh(c, ug), S(rj_num(c->s, net)),
      pm_wh(c, un));
}

static void phase_row(ctx *c, const char *label, json_t *ph)
{
    if (!ph)
        return;
    double tok = rj_num(ph, "tokens");
    json_t *u = json_object_get(ph, "uncertainty_j");
    P("| %s | %s | %s | %s | %s | %s | %s |\n", label, S(rj_num(ph, "duration_s")),
      S(rj_energy_j(json_object_get(ph, "energy_j"), c->primary, 0)),
      u ? S(rj_energy_j(u, c->primary, 0)) : "",
      S(rj_energy_j(json_object_get(ph, "net_energy_j"), c->primary, 0)),
      isnan(tok) ? "" : F(tok, 0), S(rj_num(ph, "tokens_per_s")));
}

void md_energy(ctx *c)
{
    json_t *s = c->s;
    int gpu_primary = strcmp(c->primary, "gpu") == 0;
    P("## Energy\n\nOver the workload window (first request sent to last done, %s s). Net is gross "
      "minus idle power x duration.\n\n",
      S(rj_num(s, "energy.duration_s")));
    P("| Component | Method | Gross (Wh) | ± (Wh) | Net (Wh) | ± (Wh) |\n"
      "|---|---|---|---|---|---|\n");
    if (c->has_gpu || gpu_primary)
        energy_row(c, gpu_primary ? "**GPU (primary)**" : "GPU", "energy.gpu_energy_wh",
                   "energy.net.gpu_energy_wh", "gpu", rj_str(s, "energy.methods.gpu"));
    energy_row(c, "CPU", "energy.cpu_energy_wh", "energy.net.cpu_energy_wh", "cpu",
               rj_str(s, "energy.methods.cpu"));
    const char *ram_method = rj_str(s, "energy.methods.dram") ? rj_str(s, "energy.methods.dram")
                                                              : rj_str(s, "energy.methods.ram");
    energy_row(c, "RAM", "energy.ram_energy_wh", "energy.net.ram_energy_wh", "ram", ram_method);
    if (!gpu_primary)
        energy_row(c, "**CPU + RAM (primary)**", "energy.energy_wh", "energy.net.energy_wh",
                   "energy", "");
    energy_row(c, "**Total**", "energy.total_energy_wh", "energy.net.total_energy_wh", "total", "");
    if (!isnan(rj_num(s, "energy.uncertainty_j.total")))
        P("\n±: a bound on the error of the figure beside it, from what was measured: counter "
          "readings pin energy down; between them, each sampling interval adds its power swing x "
          "its length / 2 (docs/methodology.md, \"Uncertainty\"). For estimates it is the "
          "sampling's part only.\n");
    P("\n| Per unit of work | Value |\n|---|---|\n");
    P("| Wh per 1000 queries (%s) | %s |\n", md_primary_name(c),
      S(rj_num(s, "energy.wh_per_1000_queries")));
    P("| Wh per 1000 queries (total) | %s |\n", S(rj_num(s, "energy.total_wh_per_1000_queries")));
    P("| Wh per 1000 queries (%s, net) | %s |\n", md_primary_name(c),
      S(rj_num(s, "energy.net_wh_per_1000_queries")));
    P("| J per output token (%s) | %s |\n", md_primary_name(c),
      S(rj_num(s, "energy.j_per_output_token")));
    P("| Output tokens per J (%s) | %s |\n", md_primary_name(c),
      S(rj_num(s, "energy.tokens_per_joule")));
    const char *region = rj_str(s, "energy.region");
    P("\nEmissions: **%s gCO2e** = total energy x PUE %s x %s gCO2e/kWh, the grid intensity for ",
      S(rj_num(s, "energy.emissions_g_co2eq")), S(rj_num(s, "energy.pue")),
      F(rj_num(s, "energy.carbon_intensity_g_per_kwh"), 2));
    md_cell(&c->m, rj_str(s, "energy.country_iso_code"));
    if (region) {
        P(" / ");
        md_cell(&c->m, region);
    }
    P(" (source: ");
    md_cell(&c->m, rj_str(s, "energy.carbon_intensity_source"));
    P(").\n\n");
    json_t *ph = json_object_get(s, "phases");
    if (!ph)
        return;
    P("| Phase (%s) | Duration (s) | Energy (J) | ± (J) | Net (J) | Tokens | Tokens/s |\n"
      "|---|---|---|---|---|---|---|\n",
      md_primary_name(c));
    phase_row(c, "Model load (excluded)", json_object_get(ph, "model_load"));
    phase_row(c, "Warmup (excluded)", json_object_get(ph, "warmup"));
    phase_row(c, "Prefill", json_object_get(ph, "prefill"));
    phase_row(c, "Decode", json_object_get(ph, "decode"));
    phase_row(c, "Between requests", json_object_get(ph, "between_requests"));
    const char *pm = rj_str(ph, "method");
    P("\nPrefill ends %s.\n\n", pm && strcmp(pm, "engine_timestamps") == 0
                                    ? "where the engine says it does"
                                    : "at each request's first token (the server does not say "
                                      "where prefill ends)");
}

/* ==== Repetitions ========================================================== */

void md_repetitions(ctx *c)
{
    json_t *rep = json_object_get(c->s, "repetitions");
    double n = rj_num(rep, "n");
    if (!(n > 1))
        return;
    static const struct {
        const char *key, *label;
    } rows[] = {
        {"energy_wh", "Energy, primary (Wh)"},
        {"gpu_energy_wh", "GPU energy (Wh)"},
        {"cpu_energy_wh", "CPU energy (Wh)"},
        {"ram_energy_wh", "RAM energy (Wh)"},
        {"total_energy_wh", "Total energy (Wh)"},
        {"wh_per_1000_queries", "Wh per 1000 queries (primary)"},
        {"j_per_output_token", "J per output token (primary)"},
        {"output_tokens_per_s", "Output tokens/s"},
        {"ttft_median_ms", "TTFT, median (ms)"},
        {"tpot_median_ms", "TPOT, median (ms)"},
    };
    P("## Repetitions\n\nThe workload ran %s times after one model load and warmup, each "
      "repetition measured apart. Mean ± the half-width of its 95%% confidence interval "
      "(Student t, %s degrees of freedom): how much a figure moves from one run of the same "
      "workload to the next. The figures above cover all repetitions together.\n\n",
      F(n, 0), F(n - 1, 0));
    P("| Figure | Mean ± 95%% CI | Std dev | Per repetition |\n|---|---|---|---|\n");
    json_t *figs = json_object_get(rep, "figures");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *f = json_object_get(figs, rows[i].key);
        double mean = rj_num(f, "mean");
        if (isnan(mean))
            continue;
        json_t *ci = json_object_get(f, "ci95");
        double hi = json_number_value(json_array_get(ci, 1));
        P("| %s | %s ± %s | %s | ", rows[i].label, S(mean), json_is_array(ci) ? S(hi - mean) : "?",
          S(rj_num(f, "std")));
        json_t *v;
        size_t k;
        json_t *vals = json_object_get(f, "values");
        json_array_foreach(vals, k, v)
        {
            P("%s%s", k ? ", " : "", S(json_is_number(v) ? json_number_value(v) : NAN));
        }
        P(" |\n");
    }
    P("\n");
}

/* ==== AI Energy Score ====================================================== */

/* "mean ± half-width" of a figure with its [lo, hi] interval, or the mean alone
 * with one repetition; "n/a" without a value. */
static const char *es_fig(ctx *c, json_t *o, const char *key, const char *ci_key, char *buf,
                          size_t size)
{
    double mean = rj_num(o, key);
    json_t *ci = json_object_get(o, ci_key);
    if (isnan(mean))
        snprintf(buf, size, "n/a");
    else if (json_is_array(ci))
        snprintf(buf, size, "%s ± %s", S(mean), S(json_number_value(json_array_get(ci, 1)) - mean));
    else
        snprintf(buf, size, "%s", S(mean));
    return buf;
}

void md_energy_star(ctx *c)
{
    json_t *es = json_object_get(c->s, "energy_star");
    if (!json_is_object(es))
        return;
    const char *primary = rj_str(es, "primary");
    int gpu = primary && strcmp(primary, "gpu") == 0;
    double n = rj_num(es, "repetitions");
    P("## AI Energy Score\n\nMeasured by the energy_star method of AIEnergyScore's leaderboard "
      "(docs/ratings.md): per repetition, a prefill pass over the %s prompts with exactly 1 new "
      "token, then a generate pass with exactly %s new tokens, one request at a time, greedy; "
      "decode = "
      "generate - prefill. %s repetition(s)",
      F(rj_num(es, "samples"), 0), F(rj_num(es, "new_tokens"), 0), F(n, 0));
    if (rj_num(es, "cut_short") > 0)
        P(" (%s cut short and left out)", F(rj_num(es, "cut_short"), 0));
    P("; figures are means%s.\n\n",
      n > 1 ? " ± the half-width of their 95% confidence interval over repetitions" : "");
    if (!gpu)
        P("No GPU is measured for this backend, so the figures are the primary metric, %s "
          "energy, not the leaderboard's GPU energy.\n\n",
          primary ? primary : "?");
    P("| Pass | %s (Wh) | CPU (Wh) | RAM (Wh) | Duration (s) | Tokens |\n|---|---|---|---|---|---|"
      "\n",
      gpu ? "GPU" : "Energy");
    static const char *const passes[] = {"prefill", "generate", "decode"};
    char b1[128], b2[128], b3[128];
    for (size_t i = 0; i < 3; i++) {
        json_t *p = json_object_get(es, passes[i]);
        P("| %s | %s | %s | %s | %s | %s |\n", passes[i],
          es_fig(c, p, gpu ? "gpu_wh" : "energy_wh", gpu ? "gpu_wh_ci95" : "energy_wh_ci95", b1,
                 sizeof b1),
          es_fig(c, p, "cpu_wh", "cpu_wh_ci95", b2, sizeof b2),
          es_fig(c, p, "ram_wh", "ram_wh_ci95", b3, sizeof b3), S(rj_num(p, "duration_s")),
          F(rj_num(p, "tokens"), 0));
    }
    P("\n**%s per 1000 queries: %s Wh** (the generate pass's energy over its queries, x "
      "1000).%s\n\n",
      gpu ? "GPU energy (the leaderboard's figure)" : "Energy",
      es_fig(c, es, gpu ? "gpu_wh_per_1000_queries" : "wh_per_1000_queries",
             gpu ? "gpu_wh_per_1000_queries_ci95" : "wh_per_1000_queries_ci95", b1, sizeof b1),
      rj_num(es, "decode.energy_wh") < 0
          ? " Decode energy came out negative: the generate pass cost no more than the prefill "
            "pass within the noise between two passes (few new tokens, long prompts)."
          : "");
}

/* ==== Evidence ============================================================= */

void md_gpu_evidence(ctx *c)
{
    json_t *s = c->s, *ev = json_object_get(s, "evidence");
    json_t *grounds = json_object_get(ev, "gpus");
    size_t n = json_array_size(grounds);
    P("## GPU usage evidence\n\nThe rule: ");
    md_cell(&c->m, rj_str(ev, "rule"));
    P(".\n\n| Evidence |");
    for (size_t k = 0; k < n; k++)
        P(" GPU %lld |",
          (long long)json_integer_value(json_object_get(json_array_get(grounds, k), "gpu")));
    P(" Counts toward the verdict |\n|---|");
    for (size_t k = 0; k <= n; k++)
        P("---|");
    P("\n| Memory allocation |");
    for (size_t k = 0; k < n; k++) {
        json_t *g = json_array_get(grounds, k), *st = json_array_get(c->gpus, k);
        json_t *mg = json_array_get(rj_get(s, "meter.gpus"), k);
        double grow = rj_num(g, "memory_growth_mb");
        P(" %s MB (%s to %s MB)%s |", SG(round(grow)), F(rj_num(mg, "mem_start_mb"), 0),
          F(rj_num(st, "max_memory_mb"), 0), grow >= RULE_MEM_GROWTH_MB ? " **met**" : "");
    }
    P(" yes: growth of 64 MiB or more |\n| Power increase |");
    for (size_t k = 0; k < n; k++) {
        json_t *g = json_array_get(grounds, k), *st = json_array_get(c->gpus, k);
        double rise = rj_num(g, "power_rise_w"), idle = rj_num(st, "idle_power_w");
        double need = fmax(RULE_POWER_RISE_W, RULE_POWER_RISE_FR * idle);
        P(" average %s W, peak %s W over %s W idle%s |", SG(rise),
          SG(rj_num(g, "peak_power_rise_w")), S(idle),
          !isnan(rise) && rise >= need ? " **met**" : "");
    }
    P(" yes: average rise of max(5 W, 10%% of idle) |\n| Performance |");
    for (size_t k = 0; k < n; k++)
        P(" %s tokens/s, TTFT median %s ms |", S(rj_num(s, "summary.throughput_tokens_per_second")),
          S(rj_num(s, "latency.ttft_ms.median")));
    P(" no: context (compare with a CPU run of the same model) |\n| Utilisation |");
    int low = 0;
    for (size_t k = 0; k < n; k++) {
        double mx = rj_num(json_array_get(grounds, k), "max_utilization_percent");
        double av = rj_num(json_array_get(c->gpus, k), "avg_utilization_percent");
        int is_low = !isnan(mx) && mx < LOW_UTIL_PCT;
        low |= is_low;
        P(" average %s%%, max %s%%%s |", F(av, 1), F(mx, 1),
          is_low ? " (low: unreliable for short bursts)" : "");
    }
    P(" no: sampled, misses short kernels |\n| **Used** |");
    for (size_t k = 0; k < n; k++) {
        int u = rj_bool(json_array_get(grounds, k), "used");
        P(" **%s** |", u == 1 ? "yes" : u == 0 ? "no" : REPORT_NA);
    }
    P(" |\n\n");
    if (low)
        P("Utilisation %% is the share of the driver's sample period in which a kernel ran; a "
          "small model's kernels finish between samples, so it reads near zero while the GPU "
          "works. Power and memory are what the verdict rests on.\n\n");
}

void md_cpu_evidence(ctx *c)
{
    json_t *cpu = rj_get(c->s, "evidence.cpu");
    P("## CPU evidence (no GPU on this machine)\n\n");
    if (!cpu) {
        P("No CPU power figures either: the meter had no CPU channel.\n\n");
        return;
    }
    P("| Method | Idle (W) | Average (W) | Peak (W) | Rise over idle (W) |\n|---|---|---|---|---|\n"
      "| ");
    md_cell(&c->m, rj_str(cpu, "method"));
    P(" | %s | %s | %s | %s |\n\n", S(rj_num(cpu, "idle_power_w")), S(rj_num(cpu, "avg_power_w")),
      S(rj_num(cpu, "peak_power_w")), SG(rj_num(cpu, "power_rise_w")));
    if (md_is_estimate(rj_str(cpu, "method")))
        P("The CPU figures are estimates (TDP x load), so the rise shows that the CPU was "
          "busy, not how much power it drew.\n\n");
}

/* Memory freed after the workload: over timeline.cleanup when the run has one,
 * else from the samples that go on at least CLEANUP_MIN_S past the workload
 * (the meter usually stops with the workload: then it is not known). */
#define CLEANUP_MIN_S 1.0

void md_cleanup(ctx *c)
{
    const aieb_timeseries *ts = &c->f->ts;
    double end = rj_num(c->s, "timeline.workload.end_s");
    double c0 = rj_num(c->s, "timeline.cleanup.start_s"),
           c1 = rj_num(c->s, "timeline.cleanup.end_s");
    double rss_load = rj_num(c->s, "backend_info.rss_after_load_mb"),
           rss_unload = rj_num(c->s, "backend_info.rss_after_unload_mb");
    if (!c->has_gpu && !isnan(rss_load) && !isnan(rss_unload)) {
        /* The embedded engine's model lives in this process's memory. */
        P("## Cleanup\n\nThe model was unloaded after the workload (%s s to %s s of the run).\n\n"
          "| Resident memory after load (MB) | After unload (MB) | Freed (MB) |\n|---|---|---|\n"
          "| %s | %s | %s |\n\n",
          S(c0), S(c1), F(rss_load, 0), F(rss_unload, 0), F(rss_load - rss_unload, 0));
        return;
    }
    if (!c->has_gpu || !ts->n_rows || ts->t_col < 0)
        return;
    double last_t = aieb_timeseries_at(ts, ts->n_rows - 1, ts->t_col);
    if (isnan(c0) || isnan(c1)) {
        if (isnan(end) || !(last_t >= end + CLEANUP_MIN_S))
            return;
        c0 = end;
        c1 = last_t;
    }
    P("## Cleanup\n\nGPU memory from %s s to %s s of the run, after the workload.\n\n"
      "| GPU | Memory before (MB) | Memory after (MB) | Freed (MB) |\n|---|---|---|---|\n",
      S(c0), S(c1));
    for (size_t k = 0; k < json_array_size(c->gpus); k++) {
        int col = md_gpu_col(c, k, "mem_used_mb");
        double before = ts_interp(ts, col, c0), after = ts_interp(ts, col, c1);
        P("| %lld | %s | %s | %s |\n",
          (long long)json_integer_value(json_object_get(json_array_get(c->gpus, k), "index")),
          F(before, 0), F(after, 0), F(before - after, 0));
    }
    P("\n");
}

/* ==== Methods and warnings ================================================= */

void md_methods(ctx *c)
{
    json_t *s = c->s;
    P("## Methods and warnings\n\n");
    static const char *const doms[] = {"gpu", "cpu", "dram", "ram"};
    for (int d = 0; d < 4; d++) {
        char key[48];
        snprintf(key, sizeof key, "energy.methods.%s", doms[d]);
        const char *m = rj_str(s, key);
        if (!m)
            continue;
        P("- %s: ", d == 0 ? "GPU" : d == 1 ? "CPU" : d == 2 ? "DRAM" : "RAM");
        md_cell(&c->m, m);
        P(" (%s)%s\n", md_method_text(m),
          md_is_estimate(m) ? ": **an estimate, not a measurement**" : "");
    }
    const aieb_timeseries *ts = &c->f->ts;
    if (ts->n_rows > 1 && ts->t_col >= 0) {
        double span = aieb_timeseries_at(ts, ts->n_rows - 1, ts->t_col) -
                      aieb_timeseries_at(ts, 0, ts->t_col);
        P("- Timeline: %zu samples over %s s (one every %s ms on average).\n", ts->n_rows, S(span),
          S(1e3 * span / (double)(ts->n_rows - 1)));
    }
    double late_med = rj_num(s, "meter.quality.late_ms.median");
    if (!isnan(late_med))
        P("- Sampler: every %.0f ms; woke late by %.3g ms (median), %.3g ms (95th percentile), "
          "%.3g ms (most); reads took %.3g ms (median); %.0f tick(s) skipped, %.0f sample(s) "
          "dropped.\n",
          rj_num(s, "meter.quality.sample_interval_ms"), late_med,
          rj_num(s, "meter.quality.late_ms.p95"), rj_num(s, "meter.quality.late_ms.max"),
          rj_num(s, "meter.quality.read_ms.median"), rj_num(s, "meter.quality.missed_ticks"),
          rj_num(s, "meter.quality.dropped_samples"));
    json_t *g;
    size_t k;
    json_array_foreach(c->gpus, k, g)
    {
        double cal = rj_num(g, "calibration");
        if (!isnan(cal))
            P("- GPU %lld: sampled power x %s adds up to the energy counter%s.\n",
              (long long)json_integer_value(json_object_get(g, "index")), F(cal, 4),
              fabs(cal - 1) > 0.1 ? " (**more than 10% off: power samples and counter disagree**)"
                                  : "");
    }
    P("- Energy outside the workload (idle baseline, model load, warmup) is reported apart and "
      "never counted in the totals.\n");
    if (c->has_gpu && isnan(rj_num(s, "timeline.cleanup.start_s")))
        P("- Memory freed at cleanup is known only when the backend unloads the model while the "
          "meter runs (native, pytorch) or the timeline goes on after the workload.\n");

    P("\n");
    int n_warn = 0;
#define WARN(...) (P("- "), P(__VA_ARGS__), P("\n"), n_warn++)
    P("Warnings:\n\n");
    if (rj_bool(s, "interrupted") == 1)
        WARN("The run was interrupted: the figures cover the requests that finished.");
    if (rj_bool(s, "failed_fast") == 1)
        WARN("The run stopped after consecutive failures (scenario.max_consecutive_failures).");
    if (rj_bool(s, "energy.short_window") == 1)
        WARN("The workload was shorter than a counter's update period: its energy is "
             "interpolated, not observed.");
    size_t n_short = 0;
    json_t *q;
    json_array_foreach(c->f->requests, k, q) n_short += rj_bool(q, "energy_short_window") == 1;
    if (n_short)
        WARN("%zu request(s) were shorter than a counter's update period (about 100 ms on NVIDIA "
             "boards): their energy is interpolated.",
             n_short);
    if (rj_bool(s, "meter.quality.late_warning") == 1)
        WARN("The sampler often woke late (95th percentile %.3g ms, more than half its %.0f ms "
             "interval): the machine was too busy for it, so windows (requests, phases) are "
             "coarser than the interval says; whole-run energy is not affected.",
             rj_num(s, "meter.quality.late_ms.p95"), rj_num(s, "meter.quality.sample_interval_ms"));
    if (isnan(rj_num(s, "energy.idle_baseline_s")))
        WARN("No idle baseline: net energy and the power-rise evidence are not available.");
    /* Negative net energy is news only beyond what the measurement can tell
     * apart (its bound); within it, it is noise around zero. Summaries from
     * before bounds existed have none: any negative value is reported. */
    double net_wh = rj_num(s, "energy.net.energy_wh");
    double net_u_wh = rj_num(s, "energy.net.uncertainty_j.energy") / J_PER_WH;
    if (net_wh < 0 && !(fabs(net_wh) <= net_u_wh))
        WARN("Net %s energy is negative beyond its bound (%s ± %s Wh): the machine drew more "
             "during the idle baseline than in the workload (the baseline was not idle, or power "
             "varied on its own).",
             md_primary_name(c), S(net_wh), isnan(net_u_wh) ? "?" : S(net_u_wh));
    if (rj_bool(s, "summary.tokens_estimated") == 1)
        WARN("Some token counts were estimated: the server reported no usage, so output tokens "
             "are counted from streamed chunks and prompt tokens at %d characters a token; "
             "tokens/s and J per token are estimates too.",
             AIEB_CHARS_PER_TOKEN);
    if (!c->f->has_timeseries)
        WARN("timeseries.csv is missing: no per-request power and no plot.");
    json_t *w;
    json_array_foreach(json_object_get(s, "warnings"), k, w)
    {
        P("- ");
        md_cell(&c->m, json_string_value(w));
        P("\n");
        n_warn++;
    }
#undef WARN
    if (!n_warn)
        P("- None.\n");
    P("\n");
}
