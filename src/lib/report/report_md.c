/* report_md.c - report.md: the run written up for people (report.h).
 *
 * Built from summary.json, requests.jsonl and timeseries.csv only, so that
 * `aieb report RUN_DIR` writes the same file `aieb run` did. The sections follow
 * the order a reader checks a GPU benchmark in: did it use the GPU (verdict),
 * what ran, the idle machine, the model load, each request, the totals, the
 * energy, the evidence behind the verdict, and what to trust less (methods and
 * warnings). docs/reports.md describes each section.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/fileio.h"
#include "aieb/report.h"
#include "report/report_md.h"

/* ==== Helpers ============================================================== */

const char *md_method_text(const char *method)
{
    static const struct {
        const char *name, *text;
    } t[] = {
        {"nvml_counter", "measured: NVML total-energy counter"},
        {"nvml_power", "measured: NVML power samples, integrated"},
        {"rocm_smi_counter", "measured: ROCm SMI energy counter"},
        {"rocm_smi_power", "measured: ROCm SMI power samples, integrated"},
        {"rapl", "measured: RAPL energy counters"},
        {"estimate_tdp_load", "estimated: TDP x CPU load (CodeCarbon's model)"},
        {"estimate_dimm", "estimated: per-DIMM power (CodeCarbon's model)"},
    };
    for (size_t i = 0; method && i < sizeof t / sizeof t[0]; i++)
        if (strcmp(method, t[i].name) == 0)
            return t[i].text;
    return method ? method : "not measured";
}

int md_is_estimate(const char *method)
{
    return method && strstr(method, "estimate") != NULL;
}

/* The k-th GPU channel's label in meter.channels ("gpu0"), else "gpu<index>". */
static const char *gpu_label(ctx *c, size_t k, char *buf, size_t size)
{
    size_t seen = 0;
    json_t *ch;
    size_t i;
    json_array_foreach(c->channels, i, ch)
    {
        const char *dom = rj_str(ch, "domain");
        if (dom && strcmp(dom, "gpu") == 0 && seen++ == k && rj_str(ch, "label"))
            return rj_str(ch, "label");
    }
    snprintf(buf, size, "gpu%lld",
             (long long)json_integer_value(json_object_get(json_array_get(c->gpus, k), "index")));
    return buf;
}

int md_gpu_col(ctx *c, size_t k, const char *what)
{
    char lb[32], name[96];
    snprintf(name, sizeof name, "%s_%s", gpu_label(c, k, lb, sizeof lb), what);
    return aieb_timeseries_column(&c->f->ts, name);
}

/* Mean of a column over rows with t in [t0, t1]; NAN when none. */
static double col_mean(const aieb_timeseries *ts, int col, double t0, double t1)
{
    double sum = 0;
    size_t n = 0;
    for (size_t i = ts_lower_bound(ts, t0); i < ts->n_rows; i++) {
        if (aieb_timeseries_at(ts, i, ts->t_col) > t1)
            break;
        double v = aieb_timeseries_at(ts, i, col);
        if (!isnan(v)) {
            sum += v;
            n++;
        }
    }
    return n ? sum / (double)n : NAN;
}

/* Power of the primary domain(s) at row i: the sum of its channels. */
static double primary_power(ctx *c, size_t i)
{
    double sum = 0;
    int any = 0;
    for (size_t k = 0; k < c->n_pcols; k++) {
        double v = aieb_timeseries_at(&c->f->ts, i, c->pcols[k]);
        if (!isnan(v)) {
            sum += v;
            any = 1;
        }
    }
    return any ? sum : NAN;
}

static int in_primary(ctx *c, const char *domain, int informational)
{
    if (!domain)
        return 0;
    if (strcmp(c->primary, "gpu") == 0)
        return strcmp(domain, "gpu") == 0;
    return !informational && strcmp(domain, "gpu") != 0;
}

static int find_power_columns(ctx *c)
{
    const aieb_timeseries *ts = &c->f->ts;
    c->pcols = calloc(ts->n_cols + 1, sizeof *c->pcols);
    if (!c->pcols)
        return AIEB_ENOMEM;
    json_t *ch;
    size_t i;
    json_array_foreach(c->channels, i, ch)
    {
        if (!in_primary(c, rj_str(ch, "domain"), rj_bool(ch, "informational") == 1))
            continue;
        char name[96];
        snprintf(name, sizeof name, "%s_power_w", rj_str(ch, "label") ? rj_str(ch, "label") : "");
        int col = aieb_timeseries_column(ts, name);
        if (col >= 0)
            c->pcols[c->n_pcols++] = col;
    }
    return 0;
}

/* Power of the primary domain(s) over [t0, t1]: mean and peak of the samples in
 * it; without a sample inside, interpolated at both ends (*interpolated = 1). */
static void window_power(ctx *c, double t0, double t1, double *avg, double *peak, int *interpolated)
{
    const aieb_timeseries *ts = &c->f->ts;
    *avg = *peak = NAN;
    *interpolated = 0;
    if (!c->n_pcols || ts->t_col < 0 || isnan(t0) || isnan(t1))
        return;
    double sum = 0, mx = -INFINITY;
    size_t n = 0;
    for (size_t i = ts_lower_bound(ts, t0); i < ts->n_rows; i++) {
        if (aieb_timeseries_at(ts, i, ts->t_col) > t1)
            break;
        double p = primary_power(c, i);
        if (isnan(p))
            continue;
        sum += p;
        mx = p > mx ? p : mx;
        n++;
    }
    if (n) {
        *avg = sum / (double)n;
        *peak = mx;
        return;
    }
    double a = 0, b = 0;
    for (size_t k = 0; k < c->n_pcols; k++) {
        a += ts_interp(ts, c->pcols[k], t0);
        b += ts_interp(ts, c->pcols[k], t1);
    }
    if (isnan(a) || isnan(b))
        return;
    *avg = (a + b) / 2;
    *peak = a > b ? a : b;
    *interpolated = 1;
}

const char *md_primary_name(ctx *c)
{
    return strcmp(c->primary, "gpu") == 0 ? "GPU" : "CPU + RAM";
}

/* ==== Executive summary ==================================================== */

static void verdict(ctx *c)
{
    json_t *ev = json_object_get(c->s, "evidence");
    if (!c->has_gpu) {
        P("**Verdict: no GPU on this machine; the workload ran on the CPU.** aieb found no GPU it "
          "can read (NVML missing or no device), so there is no GPU evidence; the CPU evidence "
          "below stands in for it.");
        double rise = rj_num(ev, "cpu.power_rise_w");
        if (!isnan(rise))
            P(" CPU power rose %s W above its idle %s W during the workload (%s).", SG(rise),
              S(rj_num(ev, "cpu.idle_power_w")), md_method_text(rj_str(ev, "cpu.method")));
        P("\n\n");
        return;
    }
    int active = rj_bool(ev, "gpu_active");
    size_t n = json_array_size(json_object_get(ev, "gpus")), used = 0;
    json_t *g;
    size_t i;
    json_array_foreach(json_object_get(ev, "gpus"), i, g) used += rj_bool(g, "used") == 1;
    if (active == 1)
        P("**Verdict: GPU used.** %zu of %zu GPU(s) show use:", used, n);
    else if (active == 0)
        P("**Verdict: GPU not used.** None of the %zu GPU(s) shows use: memory did not grow and "
          "power did not rise above the idle baseline. The workload most likely ran elsewhere "
          "(another GPU, the CPU, a remote server).",
          n);
    else
        P("**Verdict: undetermined.** summary.json holds no GPU verdict.");
    if (active == 1) {
        size_t shown = 0;
        json_array_foreach(json_object_get(ev, "gpus"), i, g)
        {
            if (rj_bool(g, "used") != 1)
                continue;
            P(" GPU %lld (memory %s MB, average power %s W and peak %s W over idle)%s",
              (long long)json_integer_value(json_object_get(g, "gpu")),
              SG(rj_num(g, "memory_growth_mb")), SG(rj_num(g, "power_rise_w")),
              SG(rj_num(g, "peak_power_rise_w")), ++shown == used ? "." : ";");
        }
    }
    P("\n\n");
}

static void executive_summary(ctx *c)
{
    json_t *s = c->s;
    P("## Executive summary\n\n");
    verdict(c);
    double total = rj_num(s, "summary.total_prompts"), ok = rj_num(s, "summary.successful_prompts");
    const char *status = rj_bool(s, "interrupted") == 1   ? "interrupted (Ctrl-C or SIGTERM)"
                         : rj_bool(s, "failed_fast") == 1 ? "stopped after consecutive failures"
                                                          : "completed";
    P("- Run: %s; %s of %s request(s) succeeded", status, F(ok, 0), F(total, 0));
    if (total > 0 && !isnan(ok))
        P(" (%s%%)", F(100 * ok / total, 0));
    P(" in %s s.\n", S(rj_num(s, "summary.total_duration_seconds")));
    P("- Energy (%s, the primary metric): **%s Wh**, %s Wh per 1000 queries, %s J per output "
      "token.\n",
      md_primary_name(c), S(rj_num(s, "energy.energy_wh")),
      S(rj_num(s, "energy.wh_per_1000_queries")), S(rj_num(s, "energy.j_per_output_token")));
    P("- Total energy (%s): %s Wh gross, %s Wh net of idle.\n",
      c->has_gpu ? "GPU + CPU + RAM" : "CPU + RAM", S(rj_num(s, "energy.total_energy_wh")),
      S(rj_num(s, "energy.net.total_energy_wh")));
    P("- Speed: %s tokens/s (prompt + completion), %s output tokens/s; TTFT median %s ms, TPOT "
      "median %s ms.\n",
      S(rj_num(s, "summary.throughput_tokens_per_second")),
      S(rj_num(s, "latency.output_token_throughput")), S(rj_num(s, "latency.ttft_ms.median")),
      S(rj_num(s, "latency.tpot_ms.median")));
    P("- Emissions: %s gCO2e at %s gCO2e/kWh (%s).\n\n", S(rj_num(s, "energy.emissions_g_co2eq")),
      F(rj_num(s, "energy.carbon_intensity_g_per_kwh"), 2),
      rj_str(s, "energy.carbon_intensity_source") ? rj_str(s, "energy.carbon_intensity_source")
                                                  : REPORT_NA);
    if (c->f->has_timeseries)
        P("![Power over time](power.png)\n\n");
}

/* ==== Configuration ======================================================== */

static void row(ctx *c, const char *key, const char *value)
{
    P("| %s | ", key);
    md_cell(&c->m, value);
    P(" |\n");
}

static void configuration(ctx *c)
{
    json_t *s = c->s;
    char b[160];
    P("## Configuration\n\n| Setting | Value |\n|---|---|\n");
    row(c, "Run", rj_str(s, "run_id"));
    snprintf(b, sizeof b, "%s to %s", rj_str(s, "started_at") ? rj_str(s, "started_at") : "?",
             rj_str(s, "finished_at") ? rj_str(s, "finished_at") : "?");
    row(c, "Measured (UTC)", b);
    row(c, "aieb version", rj_str(s, "aieb_version"));
    row(c, "Backend", rj_str(s, "config.backend"));
    row(c, "Model", rj_str(s, "config.model"));
    const char *backend = rj_str(s, "config.backend");
    if (backend && strcmp(backend, "native") != 0)
        row(c, "Endpoint", rj_str(s, "config.endpoint"));
    row(c, "Dataset", rj_str(s, "config.dataset"));
    row(c, "Prompts", F(rj_num(s, "config.num_samples"), 0));
    row(c, "Max new tokens", F(rj_num(s, "config.max_new_tokens"), 0));
    row(c, "Concurrency", F(rj_num(s, "config.max_concurrency"), 0));
    double rate = rj_num(s, "config.request_rate");
    row(c, "Request rate", isnan(rate) ? "unlimited" : S(rate));
    int reasoning = rj_bool(s, "config.reasoning");
    row(c, "Reasoning", reasoning == 1 ? "on" : reasoning == 0 ? "off" : REPORT_NA);
    row(c, "Idle baseline (s)", S(rj_num(s, "energy.idle_baseline_s")));
    double warm = rj_num(s, "phases.warmup.requests");
    row(c, "Warmup requests", isnan(warm) ? "0" : F(warm, 0));
    json_t *bi = json_object_get(s, "backend_info");
    const char *k;
    json_t *v;
    json_object_foreach(bi, k, v)
    {
        if (strcmp(k, "type") == 0 || strcmp(k, "model") == 0)
            continue;
        if (json_is_string(v))
            snprintf(b, sizeof b, "%s", json_string_value(v));
        else if (json_is_integer(v))
            snprintf(b, sizeof b, "%lld", (long long)json_integer_value(v));
        else if (json_is_real(v))
            snprintf(b, sizeof b, "%s", S(json_real_value(v)));
        else if (json_is_boolean(v))
            snprintf(b, sizeof b, "%s", json_is_true(v) ? "yes" : "no");
        else
            continue;
        P("| Backend: %s | ", k);
        md_cell(&c->m, b);
        P(" |\n");
    }
    const char *yaml = rj_str(s, "config.yaml");
    if (yaml) {
        P("\n<details><summary>Resolved configuration (YAML)</summary>\n\n```yaml\n%s%s```\n\n"
          "</details>\n",
          yaml, *yaml && yaml[strlen(yaml) - 1] == '\n' ? "" : "\n");
    }
    P("\n");
}

/* ==== Step 1: baseline, step 2: model load ================================= */

static void baseline(ctx *c)
{
    json_t *s = c->s, *span = rj_get(s, "timeline.idle_baseline");
    double t0 = rj_num(span, "start_s"), t1 = rj_num(span, "end_s");
    P("## Step 1: %s baseline\n\n", c->has_gpu ? "GPU" : "Idle");
    if (!span) {
        P("No idle baseline was measured (metrics.idle_baseline_s is 0): net energy and the "
          "power-rise evidence are not available.%s\n\n",
          c->has_gpu ? " Figures below are the first samples of the run." : "");
    } else {
        P("Measured over %s s before anything was loaded or sent (%s s to %s s of the run).\n\n",
          S(t1 - t0), F(t0, 2), F(t1, 2));
    }
    if (span && isnan(t0))
        t0 = t1 = 0;
    if (!span)
        t0 = t1 = 0;
    if (c->has_gpu) {
        P("| GPU | Name | Memory used (MB) | Memory total (MB) | Idle power (W) | Utilisation "
          "(%%) |\n|---|---|---|---|---|---|\n");
        json_t *g;
        size_t k;
        json_array_foreach(c->gpus, k, g)
        {
            json_t *mg = json_array_get(rj_get(s, "meter.gpus"), k);
            double mem = col_mean(&c->f->ts, md_gpu_col(c, k, "mem_used_mb"), t0, t1);
            if (isnan(mem))
                mem = rj_num(mg, "mem_start_mb");
            double idle = rj_num(g, "idle_power_w");
            if (isnan(idle))
                idle = col_mean(&c->f->ts, md_gpu_col(c, k, "power_w"), t0, t1);
            P("| %lld | ", (long long)json_integer_value(json_object_get(g, "index")));
            md_cell(&c->m, rj_str(g, "name"));
            P(" | %s | %s | %s | %s |\n", F(mem, 0), F(rj_num(mg, "mem_total_mb"), 0), S(idle),
              F(col_mean(&c->f->ts, md_gpu_col(c, k, "util_pct"), t0, t1), 1));
        }
        P("\n");
        return;
    }
    P("| Channel | Method | Idle power (W) |\n|---|---|---|\n");
    json_t *ch;
    size_t i;
    json_array_foreach(c->channels, i, ch)
    {
        P("| ");
        md_cell(&c->m, rj_str(ch, "label"));
        P(" | ");
        md_cell(&c->m, rj_str(ch, "method"));
        P(" | %s |\n", S(rj_num(ch, "idle_power_w")));
    }
    P("\n");
}

static void model_load(ctx *c)
{
    json_t *s = c->s, *ml = rj_get(s, "phases.model_load");
    json_t *span = rj_get(s, "timeline.model_load");
    P("## Step 2: Model load\n\n");
    if (!ml) {
        P("The backend loaded no model inside the measured run (a server that already holds it, "
          "or a backend without a load step), so there is nothing to report here.\n\n");
        return;
    }
    double dur = rj_num(ml, "duration_s");
    double ej = rj_energy_j(json_object_get(ml, "energy_j"), c->primary, 0);
    double tj = rj_energy_j(json_object_get(ml, "energy_j"), NULL, 1);
    P("| Load time (s) | Energy, %s (J) | Energy, all (J) | Energy, all (Wh) | Average power, "
      "all (W) |\n|---|---|---|---|---|\n",
      md_primary_name(c));
    P("| %s | %s | %s | %s | %s |\n\n", S(dur), S(ej), S(tj), S(tj / J_PER_WH),
      S(dur > 0 ? tj / dur : NAN));
    if (!c->has_gpu)
        return;
    double t0 = rj_num(span, "start_s"), t1 = rj_num(span, "end_s");
    P("| GPU | Memory before (MB) | Memory after (MB) | Growth (MB) |\n|---|---|---|---|\n");
    for (size_t k = 0; k < json_array_size(c->gpus); k++) {
        int col = md_gpu_col(c, k, "mem_used_mb");
        double before = ts_interp(&c->f->ts, col, t0), after = ts_interp(&c->f->ts, col, t1);
        P("| %lld | %s | %s | %s |\n",
          (long long)json_integer_value(json_object_get(json_array_get(c->gpus, k), "index")),
          F(before, 0), F(after, 0), SG(round(after - before)));
    }
    P("\nA growth about the size of the model's weights says the model went to that GPU.\n\n");
}

/* ==== Step 3: inference ==================================================== */

static double request_energy(ctx *c, json_t *q)
{
    return rj_energy_j(json_object_get(q, "energy_j"), c->primary, 0);
}

static void inference_table(ctx *c)
{
    json_t *reqs = c->f->requests;
    size_t n = json_array_size(reqs);
    P("## Step 3: Inference\n\n");
    if (!c->f->has_requests) {
        P("requests.jsonl is missing from the run directory: no per-request figures.\n\n");
        return;
    }
    if (!n) {
        P("No request finished.\n\n");
        return;
    }
    P("Power is the %s power (the sum of its channels) sampled while each request was in "
      "flight, from sent to done; energy is the request's share from the meter's timeline "
      "(docs/methodology.md).\n\n",
      md_primary_name(c));
    P("| # | Prompt tokens | Output tokens | Latency (s) | TTFT (ms) | TPOT (ms) | Energy (J) | ± "
      "(J) | Avg power (W) | Peak power (W) | Status |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|\n");
    int any_interp = 0, any_short = 0;
    size_t shown = n < AIEB_REPORT_TABLE_ROWS ? n : AIEB_REPORT_TABLE_ROWS;
    for (size_t i = 0; i < shown; i++) {
        json_t *q = json_array_get(reqs, i);
        double avg, peak;
        int interp;
        window_power(c, rj_num(q, "sent_s"), rj_num(q, "done_s"), &avg, &peak, &interp);
        any_interp |= interp;
        int short_w = rj_bool(q, "energy_short_window") == 1;
        any_short |= short_w;
        const char *kind = rj_str(q, "error_kind");
        json_t *uq = json_object_get(q, "energy_uncertainty_j");
        P("| %lld | %s | %s | %s | %s | %s | %s%s | %s | %s%s | %s%s | ",
          (long long)json_integer_value(json_object_get(q, "index")),
          F(rj_num(q, "prompt_tokens"), 0), F(rj_num(q, "completion_tokens"), 0),
          F(rj_num(q, "latency_s"), 3), F(rj_num(q, "ttft_ms"), 1), F(rj_num(q, "tpot_ms"), 1),
          S(request_energy(c, q)), short_w ? " (short)" : "",
          uq ? S(rj_energy_j(uq, c->primary, 0)) : "", F(avg, 1), interp ? "*" : "", F(peak, 1),
          interp ? "*" : "");
        md_cell(&c->m, rj_bool(q, "success") == 1 ? "ok" : kind ? kind : "failed");
        P(" |\n");
    }
    P("\n");
    if (n > shown)
        P("The table shows the first %d of %zu requests; requests.jsonl has every one.\n\n",
          AIEB_REPORT_TABLE_ROWS, n);
    if (any_interp)
        P("\\* No power sample fell inside the request: interpolated from the samples around "
          "it.\n\n");
    if (any_short)
        P("(short): the request was shorter than a counter's update period or three sampling "
          "intervals; its energy is interpolated, not observed.\n\n");
}

/* ==== Entry points ========================================================= */

int aieb_report_markdown(const aieb_run_files *f, aieb_buf *out, aieb_err *err)
{
    ctx cc, *c = &cc;
    memset(c, 0, sizeof *c);
    c->f = f;
    c->s = f->summary;
    c->m.b = out;
    c->primary = rj_str(c->s, "energy.primary") ? rj_str(c->s, "energy.primary") : "gpu";
    c->gpus = json_object_get(c->s, "gpu_stats");
    c->channels = rj_get(c->s, "meter.channels");
    int present = rj_bool(c->s, "evidence.gpu_present");
    c->has_gpu = present == 1 || (present == -1 && json_array_size(c->gpus) > 0);
    if (find_power_columns(c) != 0)
        return aieb_errf(err, AIEB_ENOMEM, "report: out of memory");

    const char *name = rj_str(c->s, "name");
    P("# Benchmark report: ");
    md_cell(&c->m, name ? name : "unnamed run");
    P("\n\n");
    P("Run %s of ", rj_str(c->s, "run_id") ? rj_str(c->s, "run_id") : "?");
    md_cell(&c->m, rj_str(c->s, "config.model"));
    P(" through the ");
    md_cell(&c->m, rj_str(c->s, "config.backend"));
    P(" backend, %s request(s), started %s.\n\n", F(rj_num(c->s, "summary.total_prompts"), 0),
      rj_str(c->s, "started_at") ? rj_str(c->s, "started_at") : "at an unknown time");
    executive_summary(c);
    configuration(c);
    baseline(c);
    model_load(c);
    inference_table(c);
    md_aggregates(c);
    md_energy(c);
    md_energy_star(c);
    md_repetitions(c);
    if (c->has_gpu)
        md_gpu_evidence(c);
    else
        md_cpu_evidence(c);
    md_cleanup(c);
    md_methods(c);
    P("---\n\nWritten by aieb %s from summary.json, requests.jsonl and timeseries.csv; `aieb "
      "report <run dir>` writes it again.\n",
      rj_str(c->s, "aieb_version") ? rj_str(c->s, "aieb_version") : "");
    free(c->pcols);
    if (c->m.rc)
        return aieb_errf(err, c->m.rc, "report: %s",
                         c->m.rc == AIEB_ETOOBIG ? "report too large" : "out of memory");
    return 0;
}

static int write_markdown(const aieb_run_files *f, aieb_err *err)
{
    aieb_buf b;
    aieb_buf_init(&b, 0);
    int rc = aieb_report_markdown(f, &b, err);
    if (!rc) {
        char path[4096];
        snprintf(path, sizeof path, "%s/report.md", f->dir);
        rc = aieb_write_file_atomic(path, b.data ? b.data : "", b.len, err);
    }
    aieb_buf_free(&b);
    return rc;
}

int aieb_report_write_markdown(const char *run_dir, aieb_err *err)
{
    aieb_run_files f;
    int rc = aieb_run_files_load(run_dir, &f, err);
    if (!rc)
        rc = write_markdown(&f, err);
    aieb_run_files_free(&f);
    return rc;
}

int aieb_report_write_all(const char *run_dir, aieb_err *err)
{
    aieb_run_files f;
    int rc = aieb_run_files_load(run_dir, &f, err);
    if (!rc)
        rc = write_markdown(&f, err);
    if (!rc && f.has_timeseries) {
        char png[4096], svg[4096];
        snprintf(png, sizeof png, "%s/power.png", run_dir);
        snprintf(svg, sizeof svg, "%s/power.svg", run_dir);
        rc = aieb_plot_power(&f, png, svg, err);
    }
    aieb_run_files_free(&f);
    return rc;
}
