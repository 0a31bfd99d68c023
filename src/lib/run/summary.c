/* summary.c - summary.json from a finished run (the rows appended to
 * emissions.csv and the results CSV are written by outputs.c).
 *
 * Key names follow the earlier Python tool where it had them (summary.*,
 * energy.energy_wh ...), so programs written for it keep working; docs/outputs.md
 * lists every key.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/carbon.h"
#include "aieb/clock.h"
#include "aieb/log.h"
#include "run/runner_internal.h"

#define J_PER_WH 3600.0

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *stats_json(const aieb_stats *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)s->n));
    json_object_set_new(o, "mean", s->n ? num(s->mean) : json_null());
    json_object_set_new(o, "median", s->n ? num(s->median) : json_null());
    json_object_set_new(o, "std", s->n ? num(s->std) : json_null());
    json_object_set_new(o, "p90", s->n ? num(s->p90) : json_null());
    json_object_set_new(o, "p95", s->n ? num(s->p95) : json_null());
    json_object_set_new(o, "p99", s->n ? num(s->p99) : json_null());
    return o;
}

/* ==== Sections ============================================================= */

static json_t *summary_section(const aieb_latency_summary *ls)
{
    json_t *o = json_object();
    long total_tokens = ls->prompt_tokens + ls->completion_tokens;
    json_object_set_new(o, "total_prompts", json_integer((json_int_t)ls->n_total));
    json_object_set_new(o, "successful_prompts", json_integer((json_int_t)ls->n_ok));
    json_object_set_new(o, "failed_prompts", json_integer((json_int_t)ls->n_failed));
    json_object_set_new(o, "total_duration_seconds", num(ls->duration_s));
    json_object_set_new(o, "avg_latency_seconds",
                        ls->e2el_ms.n ? num(ls->e2el_ms.mean / 1e3) : json_null());
    json_object_set_new(o, "avg_time_to_first_token",
                        ls->ttft_ms.n ? num(ls->ttft_ms.mean / 1e3) : json_null());
    json_object_set_new(o, "total_tokens", json_integer(total_tokens));
    json_object_set_new(o, "total_prompt_tokens", json_integer(ls->prompt_tokens));
    json_object_set_new(o, "total_completion_tokens", json_integer(ls->completion_tokens));
    json_object_set_new(o, "tokens_estimated", json_boolean(ls->tokens_estimated));
    json_object_set_new(o, "throughput_tokens_per_second",
                        num(ls->duration_s > 0 ? (double)total_tokens / ls->duration_s : NAN));
    json_object_set_new(o, "throughput_prompts_per_sec", num(ls->request_throughput));
    return o;
}

static json_t *latency_section(const aieb_config *cfg, const aieb_latency_summary *ls)
{
    json_t *o = json_object();
    json_object_set_new(o, "ttft_ms", stats_json(&ls->ttft_ms));
    json_object_set_new(o, "tpot_ms", stats_json(&ls->tpot_ms));
    json_object_set_new(o, "itl_ms", stats_json(&ls->itl_ms));
    json_object_set_new(o, "e2el_ms", stats_json(&ls->e2el_ms));
    json_object_set_new(o, "request_throughput", num(ls->request_throughput));
    json_object_set_new(o, "output_token_throughput", num(ls->output_throughput));
    json_object_set_new(o, "total_token_throughput", num(ls->total_throughput));
    if (ls->has_slo) {
        json_t *g = json_object();
        json_object_set_new(g, "ttft_ms", num(cfg->scenario.slo.ttft_ms));
        json_object_set_new(g, "tpot_ms", num(cfg->scenario.slo.tpot_ms));
        json_object_set_new(g, "e2el_ms", num(cfg->scenario.slo.e2el_ms));
        json_object_set_new(g, "good_requests", json_integer((json_int_t)ls->n_good));
        json_object_set_new(g, "goodput_requests_per_s", num(ls->goodput));
        json_object_set_new(o, "goodput", g);
    } else {
        json_object_set_new(o, "goodput", json_null());
    }
    return o;
}

double runner_ram_j(const aieb_meter_summary *ms, const double *by_domain)
{
    if (ms->has_domain[AIEB_DOMAIN_DRAM])
        return by_domain[AIEB_DOMAIN_DRAM];
    return ms->has_domain[AIEB_DOMAIN_RAM] ? by_domain[AIEB_DOMAIN_RAM] : 0.0;
}

/* Net energy is gross minus idle x duration; for a constant estimate the two
 * cancel up to rounding (1e-17 J): show that as 0 rather than as noise. */
static double tidy(double net, double gross)
{
    return fabs(net) <= 1e-9 * fabs(gross) ? 0.0 : net;
}

static int any_gpu_used(const aieb_meter_summary *ms)
{
    for (int i = 0; i < ms->n_channels; i++)
        if (ms->channels[i].info->domain == AIEB_DOMAIN_GPU && ms->channels[i].used == 1)
            return 1;
    return 0;
}

/* The primary metric is GPU energy, as in the earlier tool and AIEnergyScore,
 * when a GPU is measured and the backend can use one; the embedded engine runs
 * on the CPU, so there (and without a GPU meter) it is CPU + RAM. */
int runner_gpu_primary(const runner *r, const aieb_meter_summary *ms)
{
    return r->remote_primary ||
           (ms->has_domain[AIEB_DOMAIN_GPU] && r->cfg->backend.kind != AIEB_CFG_BACKEND_NATIVE);
}

static json_t *energy_section(runner *r, const aieb_meter_summary *ms,
                              const aieb_latency_summary *ls)
{
    const aieb_config *cfg = r->cfg;
    const aieb_window *w = &ms->window;
    json_t *o = json_object();
    int has_gpu = ms->has_domain[AIEB_DOMAIN_GPU];
    /* Absent domains count 0 in sums and show as null. */
    double gpu_j = has_gpu ? w->energy_j[AIEB_DOMAIN_GPU] : 0.0;
    double cpu_j = ms->has_domain[AIEB_DOMAIN_CPU] ? w->energy_j[AIEB_DOMAIN_CPU] : 0.0;
    double ram_j = runner_ram_j(ms, w->energy_j);
    double total_j = gpu_j + cpu_j + ram_j;
    double net_gpu = has_gpu ? tidy(w->net_energy_j[AIEB_DOMAIN_GPU], gpu_j) : 0.0;
    double net_cpu =
        ms->has_domain[AIEB_DOMAIN_CPU] ? tidy(w->net_energy_j[AIEB_DOMAIN_CPU], cpu_j) : 0.0;
    double net_ram = tidy(runner_ram_j(ms, w->net_energy_j), ram_j);
    double net_total = net_gpu + net_cpu + net_ram;
    double u_gpu = has_gpu ? w->uncertainty_j[AIEB_DOMAIN_GPU] : 0.0;
    double nu_gpu = has_gpu ? w->net_uncertainty_j[AIEB_DOMAIN_GPU] : 0.0;
    double local_gpu_j = gpu_j;
    if (r->remote_primary) { /* the GPUs are elsewhere: their energy comes from metrics.remote */
        gpu_j = runner_remote_gpu_j(r, r->t_work0, r->t_work1, &u_gpu);
        double base_w = runner_remote_baseline_w(r);
        net_gpu = isnan(base_w) ? gpu_j : gpu_j - base_w * w->duration_s;
        nu_gpu = u_gpu;
        if (!isnan(base_w)) { /* the baseline's bound, scaled to the workload's length */
            double ub = 0;
            runner_remote_gpu_j(r, r->t_base0, r->t_base1, &ub);
            nu_gpu += ub * w->duration_s / ((double)(r->t_base1 - r->t_base0) / 1e9);
        }
        total_j = gpu_j + cpu_j + ram_j;
        net_total = net_gpu + net_cpu + net_ram;
    }
    int gpu_primary = runner_gpu_primary(r, ms);
    double primary_j = gpu_primary ? gpu_j : cpu_j + ram_j;
    double primary_net = gpu_primary ? net_gpu : net_cpu + net_ram;
    if (gpu_primary && !r->remote_primary && !any_gpu_used(ms))
        runner_warn(r, "energy_wh is GPU energy, but no GPU showed use (no power rise over idle, "
                       "no memory growth): check that the backend runs on the measured GPU");
    json_object_set_new(o, "primary",
                        json_string(r->remote_primary ? "remote_gpu"
                                    : gpu_primary     ? "gpu"
                                                      : "cpu+ram"));
    json_object_set_new(o, "energy_wh", num(primary_j / J_PER_WH));
    json_object_set_new(o, "gpu_energy_wh",
                        has_gpu || r->remote_primary ? num(gpu_j / J_PER_WH) : json_null());
    if (r->n_remote) {
        /* Where each figure was measured: the remote GPUs, or this machine. */
        json_object_set_new(o, "measured_at",
                            json_pack("{s:s, s:s, s:s}", "gpu",
                                      r->remote_primary ? "remote" : "local", "cpu", "local", "ram",
                                      "local"));
        json_object_set_new(o, "local_gpu_energy_wh",
                            has_gpu ? num(local_gpu_j / J_PER_WH) : json_null());
    }
    json_object_set_new(o, "cpu_energy_wh", num(cpu_j / J_PER_WH));
    json_object_set_new(o, "ram_energy_wh", num(ram_j / J_PER_WH));
    json_object_set_new(o, "dram_energy_wh",
                        ms->has_domain[AIEB_DOMAIN_DRAM]
                            ? num(w->energy_j[AIEB_DOMAIN_DRAM] / J_PER_WH)
                            : json_null());
    json_object_set_new(o, "ram_estimate_wh",
                        isnan(ms->ram_estimate_j) ? json_null()
                                                  : num(ms->ram_estimate_j / J_PER_WH));
    json_object_set_new(o, "total_energy_wh", num(total_j / J_PER_WH));
    json_object_set_new(o, "duration_s", num(w->duration_s));

    /* Bounds on those figures' errors, in J (aieb_window): GPU, CPU, RAM as
     * above; primary and total add their parts. */
    double u_cpu = ms->has_domain[AIEB_DOMAIN_CPU] ? w->uncertainty_j[AIEB_DOMAIN_CPU] : 0.0;
    double u_ram = runner_ram_j(ms, w->uncertainty_j);
    json_object_set_new(
        o, "uncertainty_j",
        json_pack("{s:o, s:o, s:o, s:o, s:o}", "energy", num(gpu_primary ? u_gpu : u_cpu + u_ram),
                  "gpu", has_gpu || r->remote_primary ? num(u_gpu) : json_null(), "cpu", num(u_cpu),
                  "ram", num(u_ram), "total", num(u_gpu + u_cpu + u_ram)));

    json_t *net = json_object();
    json_object_set_new(net, "energy_wh", num(primary_net / J_PER_WH));
    json_object_set_new(net, "gpu_energy_wh",
                        has_gpu || r->remote_primary ? num(net_gpu / J_PER_WH) : json_null());
    json_object_set_new(net, "cpu_energy_wh", num(net_cpu / J_PER_WH));
    json_object_set_new(net, "ram_energy_wh", num(net_ram / J_PER_WH));
    json_object_set_new(net, "total_energy_wh", num(net_total / J_PER_WH));
    if (ms->has_baseline) {
        double nu_cpu =
            ms->has_domain[AIEB_DOMAIN_CPU] ? w->net_uncertainty_j[AIEB_DOMAIN_CPU] : 0.0;
        double nu_ram = runner_ram_j(ms, w->net_uncertainty_j);
        json_object_set_new(net, "uncertainty_j",
                            json_pack("{s:o, s:o, s:o, s:o, s:o}", "energy",
                                      num(gpu_primary ? nu_gpu : nu_cpu + nu_ram), "gpu",
                                      has_gpu || r->remote_primary ? num(nu_gpu) : json_null(),
                                      "cpu", num(nu_cpu), "ram", num(nu_ram), "total",
                                      num(nu_gpu + nu_cpu + nu_ram)));
    }
    json_object_set_new(o, "net", net);
    json_object_set_new(o, "idle_baseline_s", ms->has_baseline ? num(ms->baseline_s) : json_null());

    /* Per-query and per-token figures use the primary metric. */
    size_t n_ok = ls->n_ok;
    long out_tok = ls->completion_tokens;
    json_object_set_new(o, "wh_per_1000_queries",
                        n_ok ? num(primary_j / J_PER_WH / (double)n_ok * 1000.0) : json_null());
    json_object_set_new(o, "total_wh_per_1000_queries",
                        n_ok ? num(total_j / J_PER_WH / (double)n_ok * 1000.0) : json_null());
    json_object_set_new(o, "j_per_output_token",
                        out_tok > 0 ? num(primary_j / (double)out_tok) : json_null());
    json_object_set_new(o, "tokens_per_joule",
                        primary_j > 0 ? num((double)out_tok / primary_j) : json_null());
    json_object_set_new(o, "net_wh_per_1000_queries",
                        n_ok ? num(primary_net / J_PER_WH / (double)n_ok * 1000.0) : json_null());

    /* Emissions: every component x PUE x grid intensity (CodeCarbon's rule). */
    aieb_carbon c;
    memset(&c, 0, sizeof c);
    aieb_err cerr = {0};
    /* Resolved as probe and measure resolve it; the config has applied the
     * environment already, and a NULL region is none. */
    double override = cfg->metrics.carbon_intensity_g_per_kwh;
    const char *region = cfg->metrics.region ? cfg->metrics.region : "";
    if (aieb_carbon_resolve(cfg->metrics.country_iso_code, region, override, &c, &cerr) != 0) {
        runner_warn(r, "carbon intensity: %s", cerr.msg);
        c.g_per_kwh = NAN;
        c.note[0] = '\0';
        snprintf(c.source, sizeof c.source, "unavailable");
    } else if (c.note[0]) {
        runner_warn(r, "carbon intensity: %s", c.note);
    }
    aieb_energy_parts parts = {.cpu_j = cpu_j, .gpu_j = gpu_j, .ram_j = ram_j};
    aieb_emissions em;
    memset(&em, 0, sizeof em);
    em.emissions_g = NAN;
    if (aieb_carbon_emissions(&parts, cfg->metrics.pue, c.g_per_kwh, &em, &cerr) == 0) {
        r->have_emissions = 1;
        r->em = em;
        r->carbon = c;
        r->workload_s = w->duration_s;
    } else if (!isnan(c.g_per_kwh)) {
        runner_warn(r, "emissions not computed: %s", cerr.msg);
    }
    json_object_set_new(o, "emissions_g_co2eq", num(em.emissions_g));
    json_object_set_new(o, "carbon_intensity_g_per_kwh", num(c.g_per_kwh));
    json_object_set_new(o, "carbon_intensity_source", json_string(c.source));
    json_object_set_new(o, "country_iso_code", json_string(c.iso3));
    json_object_set_new(o, "region", c.region[0] ? json_string(c.region) : json_null());
    json_object_set_new(o, "pue", num(cfg->metrics.pue));

    json_t *methods = json_object();
    static const char *const names[AIEB_N_DOMAINS] = {"gpu", "cpu", "dram", "ram"};
    for (int d = 0; d < AIEB_N_DOMAINS; d++)
        json_object_set_new(methods, names[d],
                            ms->method[d][0] ? json_string(ms->method[d]) : json_null());
    for (size_t i = 0; r->remote_primary && i < r->n_remote; i++)
        if (r->remote[i]) /* the GPU figure is the remote one */
            json_object_set_new(methods, "gpu", json_string(aieb_prom_method(r->remote[i])));
    json_object_set_new(o, "methods", methods);
    json_object_set_new(o, "short_window", json_boolean(w->short_window));
    return o;
}

/* Adds share b into a: energies, and their bounds (which add linearly). */
static void add_shares(aieb_share *a, const aieb_share *b)
{
    for (int d = 0; d < AIEB_N_DOMAINS; d++) {
        a->energy_j[d] += b->energy_j[d];
        a->net_energy_j[d] += b->net_energy_j[d];
        a->uncertainty_j[d] += b->uncertainty_j[d];
        a->net_uncertainty_j[d] += b->net_uncertainty_j[d];
    }
}

static json_t *phase_json(const aieb_share *s, const int *has_domain, double duration_s,
                          long tokens)
{
    json_t *o = json_object(), *e = json_object(), *ne = json_object();
    json_t *u = json_object(), *nu = json_object();
    static const char *const names[AIEB_N_DOMAINS] = {"gpu", "cpu", "dram", "ram"};
    for (int d = 0; d < AIEB_N_DOMAINS; d++) {
        json_object_set_new(e, names[d], has_domain[d] ? num(s->energy_j[d]) : json_null());
        json_object_set_new(ne, names[d], has_domain[d] ? num(s->net_energy_j[d]) : json_null());
        json_object_set_new(u, names[d], has_domain[d] ? num(s->uncertainty_j[d]) : json_null());
        json_object_set_new(nu, names[d],
                            has_domain[d] ? num(s->net_uncertainty_j[d]) : json_null());
    }
    json_object_set_new(o, "energy_j", e);
    json_object_set_new(o, "net_energy_j", ne);
    json_object_set_new(o, "uncertainty_j", u);
    json_object_set_new(o, "net_uncertainty_j", nu);
    json_object_set_new(o, "duration_s", num(duration_s));
    json_object_set_new(o, "tokens", json_integer(tokens));
    json_object_set_new(o, "tokens_per_s",
                        duration_s > 0 ? num((double)tokens / duration_s) : json_null());
    return o;
}

/* Prefill = [sent, prefill end], decode = [prefill end, done], per request;
 * per-request energy = [sent, done]. All through the same attribution. */
static json_t *phases_and_requests(runner *r, const int *has_domain, aieb_request_energy *energies,
                                   aieb_err *err)
{
    size_t n = r->n_results;
    aieb_interval *iv = calloc(2 * n + 1, sizeof *iv);
    aieb_share *sh = calloc(2 * n + 1, sizeof *sh);
    if (!iv || !sh) {
        free(iv);
        free(sh);
        aieb_errf(err, AIEB_ENOMEM, "out of memory");
        return NULL;
    }
    /* Only the embedded engine knows where prefill ends; servers and the
     * pytorch worker give the first token's time for it. */
    int engine_knows = r->cfg->backend.kind == AIEB_CFG_BACKEND_NATIVE;
    for (size_t i = 0; i < n; i++)
        iv[i] = (aieb_interval){r->results[i].sent_ns, r->results[i].done_ns};
    json_t *phases = NULL;
    /* Per-request energy: the [sent, done] intervals alone. */
    aieb_share unattributed;
    int rc = aieb_attribute(r->meter, iv, n, sh, &unattributed, err);
    for (size_t i = 0; !rc && i < n; i++) {
        const double *e = sh[i].energy_j;
        energies[i].gpu_j = has_domain[AIEB_DOMAIN_GPU] ? e[AIEB_DOMAIN_GPU] : NAN;
        energies[i].cpu_j = has_domain[AIEB_DOMAIN_CPU] ? e[AIEB_DOMAIN_CPU] : NAN;
        energies[i].dram_j = has_domain[AIEB_DOMAIN_DRAM] ? e[AIEB_DOMAIN_DRAM] : NAN;
        energies[i].ram_j = has_domain[AIEB_DOMAIN_RAM] ? e[AIEB_DOMAIN_RAM] : NAN;
        const double *u = sh[i].uncertainty_j;
        energies[i].gpu_u_j = has_domain[AIEB_DOMAIN_GPU] ? u[AIEB_DOMAIN_GPU] : NAN;
        energies[i].cpu_u_j = has_domain[AIEB_DOMAIN_CPU] ? u[AIEB_DOMAIN_CPU] : NAN;
        energies[i].dram_u_j = has_domain[AIEB_DOMAIN_DRAM] ? u[AIEB_DOMAIN_DRAM] : NAN;
        energies[i].ram_u_j = has_domain[AIEB_DOMAIN_RAM] ? u[AIEB_DOMAIN_RAM] : NAN;
        energies[i].short_window = sh[i].short_window;
    }
    /* Phases: prefill and decode intervals together (they never overlap within a
     * request; across concurrent requests they share). */
    for (size_t i = 0; !rc && i < n; i++) {
        const aieb_result *q = &r->results[i];
        int64_t mid = q->prefill_end_ns ? q->prefill_end_ns : q->first_token_ns;
        if (!mid) /* failed before any token: all of it counts as one piece */
            mid = q->done_ns;
        iv[i] = (aieb_interval){q->sent_ns, mid};
        iv[n + i] = (aieb_interval){mid, q->done_ns};
    }
    if (!rc)
        rc = aieb_attribute(r->meter, iv, 2 * n, sh, NULL, err);
    if (!rc) {
        aieb_share pre, dec, failed;
        memset(&pre, 0, sizeof pre);
        memset(&dec, 0, sizeof dec);
        memset(&failed, 0, sizeof failed);
        size_t n_failed = 0;
        double pre_s = 0, dec_s = 0;
        long pre_tok = 0, dec_tok = 0;
        for (size_t i = 0; i < n; i++) {
            const aieb_result *q = &r->results[i];
            if (q->error_kind != AIEB_REQ_OK) {
                /* What failed requests cost, kept apart so the phases plus
                 * this plus between_requests add up to the workload. */
                add_shares(&failed, &sh[i]);
                add_shares(&failed, &sh[n + i]);
                n_failed++;
                continue;
            }
            add_shares(&pre, &sh[i]);
            add_shares(&dec, &sh[n + i]);
            if (iv[i].t1_ns > iv[i].t0_ns)
                pre_s += (double)(iv[i].t1_ns - iv[i].t0_ns) / 1e9;
            if (iv[n + i].t1_ns > iv[n + i].t0_ns)
                dec_s += (double)(iv[n + i].t1_ns - iv[n + i].t0_ns) / 1e9;
            pre_tok += q->prompt_tokens > 0 ? q->prompt_tokens : 0;
            /* The first token comes out of prefill; decode makes the rest. */
            dec_tok += q->completion_tokens > 1 ? q->completion_tokens - 1 : 0;
        }
        phases = json_object();
        json_object_set_new(phases, "method",
                            json_string(engine_knows ? "engine_timestamps" : "first_token"));
        json_object_set_new(phases, "prefill", phase_json(&pre, has_domain, pre_s, pre_tok));
        json_object_set_new(phases, "decode", phase_json(&dec, has_domain, dec_s, dec_tok));
        json_object_set_new(phases, "between_requests",
                            phase_json(&unattributed, has_domain, NAN, 0));
        if (n_failed) {
            json_t *fj = phase_json(&failed, has_domain, NAN, 0);
            json_object_set_new(fj, "requests", json_integer((json_int_t)n_failed));
            json_object_set_new(phases, "failed_requests", fj);
        }
    }
    free(iv);
    free(sh);
    return phases;
}

/* Mean GPU memory used over the workload's samples (a true average, not the
 * midpoint of min and max); NAN without samples. */
static double mem_avg_mb(const runner *r, int channel)
{
    size_t n = aieb_meter_n_samples(r->meter);
    int nch = aieb_meter_n_channels(r->meter);
    aieb_channel_reading *rd = calloc((size_t)nch + 1, sizeof *rd);
    double sum = 0;
    size_t k = 0;
    for (size_t i = 0; rd && i < n; i++) {
        int64_t t;
        if (aieb_meter_sample(r->meter, i, &t, rd, NULL) != 0)
            continue;
        if (t < r->t_work0 || t > r->t_work1 || isnan(rd[channel].mem_used_mb))
            continue;
        sum += rd[channel].mem_used_mb;
        k++;
    }
    free(rd);
    return k ? sum / (double)k : NAN;
}

static json_t *gpu_stats_and_evidence(runner *r, const aieb_meter_summary *ms, json_t **evidence)
{
    json_t *gpus = json_array();
    json_t *ev = json_object(), *grounds = json_array();
    int any_gpu = 0, any_used = 0;
    for (int i = 0; i < ms->n_channels; i++) {
        const aieb_meter_channel_summary *c = &ms->channels[i];
        if (c->info->domain != AIEB_DOMAIN_GPU)
            continue;
        any_gpu = 1;
        json_t *g = json_object();
        json_object_set_new(g, "index", json_integer(c->info->gpu_index));
        json_object_set_new(g, "name", c->info->name ? json_string(c->info->name) : json_null());
        json_object_set_new(g, "uuid", c->info->uuid ? json_string(c->info->uuid) : json_null());
        json_object_set_new(g, "method", json_string(c->info->method));
        json_object_set_new(g, "energy_wh", num(c->energy_j / J_PER_WH));
        json_object_set_new(g, "avg_utilization_percent", num(c->util_avg_pct));
        json_object_set_new(g, "max_utilization_percent", num(c->util_max_pct));
        json_object_set_new(g, "avg_memory_mb", num(mem_avg_mb(r, i)));
        json_object_set_new(g, "min_memory_mb", num(c->mem_min_mb));
        json_object_set_new(g, "max_memory_mb", num(c->mem_max_mb));
        json_object_set_new(g, "avg_power_w", num(c->avg_power_w));
        json_object_set_new(g, "peak_power_w", num(c->peak_power_w));
        json_object_set_new(g, "idle_power_w", num(c->idle_power_w));
        json_object_set_new(g, "max_temperature_c", num(c->temp_max_c));
        json_object_set_new(g, "calibration", num(c->calibration));
        json_array_append_new(gpus, g);

        json_t *gr = json_object();
        double rise = c->avg_power_w - c->idle_power_w;
        double growth = c->mem_max_mb - c->mem_start_mb;
        json_object_set_new(gr, "gpu", json_integer(c->info->gpu_index));
        json_object_set_new(gr, "power_rise_w", num(rise));
        json_object_set_new(gr, "peak_power_rise_w", num(c->peak_power_w - c->idle_power_w));
        json_object_set_new(gr, "memory_growth_mb", num(growth));
        json_object_set_new(gr, "max_utilization_percent", num(c->util_max_pct));
        json_object_set_new(gr, "used", json_boolean(c->used == 1));
        json_array_append_new(grounds, gr);
        any_used |= c->used == 1;
    }
    json_object_set_new(ev, "gpu_present", json_boolean(any_gpu));
    json_object_set_new(ev, "gpu_active", any_gpu ? json_boolean(any_used) : json_null());
    json_object_set_new(ev, "rule",
                        json_string("a GPU counts as used when its memory grew by at least 64 MiB "
                                    "or its average power rose at least max(5 W, 10%) above the "
                                    "idle baseline; utilisation % is never evidence (it misses "
                                    "short kernels)"));
    json_object_set_new(ev, "gpus", grounds);
    if (!any_gpu && ms->has_domain[AIEB_DOMAIN_CPU]) {
        for (int i = 0; i < ms->n_channels; i++) {
            const aieb_meter_channel_summary *c = &ms->channels[i];
            if (c->info->domain != AIEB_DOMAIN_CPU)
                continue;
            json_t *cpu = json_object();
            json_object_set_new(cpu, "method", json_string(c->info->method));
            json_object_set_new(cpu, "avg_power_w", num(c->avg_power_w));
            json_object_set_new(cpu, "peak_power_w", num(c->peak_power_w));
            json_object_set_new(cpu, "idle_power_w", num(c->idle_power_w));
            json_object_set_new(cpu, "power_rise_w", num(c->avg_power_w - c->idle_power_w));
            json_object_set_new(ev, "cpu", cpu);
        }
    }
    *evidence = ev;
    return gpus;
}

static json_t *config_echo(const aieb_config *cfg)
{
    aieb_buf b;
    aieb_buf_init(&b, 0);
    json_t *o = json_object();
    if (aieb_config_emit_yaml(cfg, 0, &b) == 0)
        json_object_set_new(o, "yaml", json_string(b.data));
    aieb_buf_free(&b);
    json_object_set_new(o, "name", json_string(cfg->name));
    json_object_set_new(o, "backend", json_string(cfg->backend.type));
    json_object_set_new(o, "model", json_string(cfg->backend.model));
    int server =
        cfg->backend.kind == AIEB_CFG_BACKEND_VLLM || cfg->backend.kind == AIEB_CFG_BACKEND_OPENAI;
    char shown[1024];
    json_object_set_new(
        o, "endpoint",
        server && cfg->backend.endpoint
            ? json_string(aieb_url_redact(cfg->backend.endpoint, shown, sizeof shown))
            : json_null());
    json_object_set_new(o, "dataset", json_string(cfg->scenario.dataset_name));
    json_object_set_new(o, "num_samples", json_integer(cfg->scenario.num_samples));
    json_object_set_new(o, "max_new_tokens",
                        json_integer(cfg->scenario.generate_kwargs.max_new_tokens));
    json_object_set_new(o, "max_concurrency", json_integer(cfg->scenario.max_concurrency));
    json_object_set_new(o, "method", json_string(cfg->scenario.method));
    json_object_set_new(o, "request_rate", num(cfg->scenario.request_rate));
    json_object_set_new(o, "reasoning", json_boolean(cfg->scenario.reasoning));
    return o;
}

/* ==== summary.json ========================================================= */

json_t *runner_build_summary(runner *r, aieb_request_energy *energies, aieb_err *err)
{
    const aieb_config *cfg = r->cfg;
    /* NAN (unset) objectives are not checked. */
    aieb_slo slo = {isnan(cfg->scenario.slo.ttft_ms) ? 0 : cfg->scenario.slo.ttft_ms,
                    isnan(cfg->scenario.slo.tpot_ms) ? 0 : cfg->scenario.slo.tpot_ms,
                    isnan(cfg->scenario.slo.e2el_ms) ? 0 : cfg->scenario.slo.e2el_ms};
    aieb_latency_summary ls;
    if (aieb_latency_summarize(r->results, r->n_results, &slo, &ls) != 0) {
        aieb_errf(err, AIEB_ENOMEM, "out of memory summarising latencies");
        return NULL;
    }
    /* The workload's window: from its start to its end (warmup, load and the
     * idle baseline are outside it and reported apart). */
    aieb_meter_summary ms;
    if (aieb_meter_summarize(r->meter, r->t_work0, r->t_work1, &ms, err) != 0)
        return NULL;

    json_t *o = json_object();
    char started[32], finished[32];
    aieb_format_utc(r->wall_start_ns, 0, started);
    aieb_format_utc(aieb_wall_ns(), 0, finished);
    json_object_set_new(o, "aieb_version", json_string(AIEB_VERSION));
    json_object_set_new(o, "run_id", json_string(r->run_id));
    json_object_set_new(o, "name", json_string(cfg->name));
    json_object_set_new(o, "started_at", json_sprintf("%sZ", started));
    json_object_set_new(o, "finished_at", json_sprintf("%sZ", finished));
    json_object_set_new(o, "interrupted", json_boolean(r->out->interrupted));
    json_object_set_new(o, "failed_fast", json_boolean(r->out->failed_fast));
    json_object_set_new(o, "config", config_echo(cfg));
    json_t *sum = summary_section(&ls);
    /* total_prompts counts requests that finished; an interrupted or fail-fast
     * run planned more. */
    json_object_set_new(sum, "planned_prompts",
                        json_integer((json_int_t)(r->per_rep * (size_t)cfg->scenario.repetitions)));
    json_object_set_new(o, "summary", sum);
    json_object_set_new(o, "latency", latency_section(cfg, &ls));
    /* The remote GPUs are the run's GPU energy when this machine uses none. */
    r->remote_primary = r->n_remote_ok && cfg->backend.kind != AIEB_CFG_BACKEND_NATIVE &&
                        !(ms.has_domain[AIEB_DOMAIN_GPU] && any_gpu_used(&ms));
    json_t *energy = energy_section(r, &ms, &ls);
    json_t *remote = runner_remote_json(r);
    if (remote)
        json_object_set_new(energy, "remote", remote);
    json_object_set_new(o, "energy", energy);
    json_t *phases = phases_and_requests(r, ms.has_domain, energies, err);
    if (phases && runner_remote_requests(r, energies) != 0) {
        json_decref(phases);
        phases = NULL;
        aieb_errf(err, AIEB_ENOMEM, "out of memory");
    }
    if (!phases) {
        aieb_meter_summary_free(&ms);
        json_decref(o);
        return NULL;
    }
    if (r->t_load1 > r->t_load0) {
        aieb_interval li = {r->t_load0, r->t_load1};
        aieb_share ls_load;
        if (aieb_attribute(r->meter, &li, 1, &ls_load, NULL, err) == 0) {
            json_t *ml =
                phase_json(&ls_load, ms.has_domain, (double)(r->t_load1 - r->t_load0) / 1e9, 0);
            json_object_del(ml, "tokens");
            json_object_del(ml, "tokens_per_s");
            json_object_set_new(phases, "model_load", ml);
        }
    }
    if (r->t_warm1 > r->t_warm0) {
        aieb_interval wi = {r->t_warm0, r->t_warm1};
        aieb_share ws;
        if (aieb_attribute(r->meter, &wi, 1, &ws, NULL, err) == 0) {
            json_t *wj = phase_json(&ws, ms.has_domain, (double)(r->t_warm1 - r->t_warm0) / 1e9, 0);
            json_object_del(wj, "tokens");
            json_object_del(wj, "tokens_per_s");
            json_object_set_new(wj, "requests", json_integer((json_int_t)r->n_warmup));
            json_object_set_new(phases, "warmup", wj);
        }
    }
    json_object_set_new(o, "phases", phases);
    json_t *reps = runner_repetitions_json(r, err);
    if (!reps) {
        aieb_meter_summary_free(&ms);
        json_decref(o);
        return NULL;
    }
    json_object_set_new(o, "repetitions", reps);
    if (cfg->scenario.energy_star) {
        json_t *es = runner_energy_star_json(r, &ms, err);
        if (!es) {
            aieb_meter_summary_free(&ms);
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, "energy_star", es);
    }
    json_t *evidence = NULL;
    json_object_set_new(o, "gpu_stats", gpu_stats_and_evidence(r, &ms, &evidence));
    aieb_emissions_machine_probe(&r->machine, &ms, NULL); /* for emissions.csv */
    json_object_set_new(o, "evidence", evidence);
    json_object_set_new(o, "meter", aieb_meter_summary_json(&ms));
    json_t *errors = json_object();
    for (int k = 1; k < AIEB_REQ_KIND_COUNT; k++)
        if (ls.errors_by_kind[k])
            json_object_set_new(errors, aieb_req_error_kind_name((aieb_req_error_kind)k),
                                json_integer((json_int_t)ls.errors_by_kind[k]));
    json_object_set_new(o, "errors", errors);
    json_object_set_new(o, "backend_info", r->backend->ops->info(r->backend));
    json_t *times = json_object();
    int64_t t0 = aieb_meter_start_ns(r->meter);
#define SPAN(name, a, b)                                                                           \
    if (b > a) {                                                                                   \
        json_t *s = json_object();                                                                 \
        json_object_set_new(s, "start_s", json_real((double)(a - t0) / 1e9));                      \
        json_object_set_new(s, "end_s", json_real((double)(b - t0) / 1e9));                        \
        json_object_set_new(times, name, s);                                                       \
    }
    SPAN("idle_baseline", r->t_base0, r->t_base1)
    SPAN("model_load", r->t_load0, r->t_load1)
    SPAN("warmup", r->t_warm0, r->t_warm1)
    SPAN("workload", r->t_work0, r->t_work1)
    SPAN("cleanup", r->t_unload0, r->t_unload1)
#undef SPAN
    json_object_set_new(o, "timeline", times);
    json_object_set_new(o, "warnings", json_incref(r->warnings));
    aieb_meter_summary_free(&ms);
    return o;
}
