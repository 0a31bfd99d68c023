/* runner.c - the flow of one `aieb run` (run.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aieb/clock.h"
#include "aieb/fileio.h"
#include "aieb/log.h"
#include "aieb/report.h"
#include "aieb/workload.h"
#include "aieb/openai.h"
#include "run/runner_internal.h"

void runner_warn(runner *r, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    AIEB_WARN("%s", msg);
    json_array_append_new(r->warnings, json_string(msg));
}

/* ==== Preparing: run directory, prompts, requests ========================== */

static int make_run_dir(runner *r, aieb_err *err)
{
    const aieb_config *cfg = r->cfg;
    char stamp[32], name[256];
    aieb_format_utc(r->wall_start_ns, 1, stamp);
    snprintf(r->run_id, sizeof r->run_id, "%s", stamp);
    int rc;
    if (r->opts->run_dir && *r->opts->run_dir) {
        snprintf(r->run_dir, sizeof r->run_dir, "%s", r->opts->run_dir);
        rc = aieb_mkdir_p(r->run_dir, err);
        if (rc)
            return rc;
        snprintf(r->requests_path, sizeof r->requests_path, "%s/requests.jsonl", r->run_dir);
        /* A reused --run-dir starts a fresh log. */
        remove(r->requests_path);
    } else {
        aieb_config_dir_name(cfg, name, sizeof name);
        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%s/%s", cfg->output_dir, name);
        rc = aieb_mkdir_p(parent, err);
        if (rc)
            return aieb_err_prefix(err, "output_dir");
        /* Two runs started in the same second get their own directories. */
        for (int k = 1;; k++) {
            if (k == 1)
                snprintf(r->run_id, sizeof r->run_id, "%s", stamp);
            else
                snprintf(r->run_id, sizeof r->run_id, "%s-%d", stamp, k);
            snprintf(r->run_dir, sizeof r->run_dir, "%s/%s", parent, r->run_id);
            if (mkdir(r->run_dir, 0755) == 0)
                break;
            if (errno != EEXIST || k == 1000)
                return aieb_errf(err, AIEB_EIO, "%s: cannot create the run directory: %s",
                                 r->run_dir, strerror(errno));
        }
        snprintf(r->requests_path, sizeof r->requests_path, "%s/requests.jsonl", r->run_dir);
    }
    r->out->run_dir = strdup(r->run_dir);
    return r->out->run_dir ? 0 : aieb_errf(err, AIEB_ENOMEM, "out of memory");
}

static int load_prompts(runner *r, aieb_err *err)
{
    const aieb_config *cfg = r->cfg;
    aieb_dataset_options o;
    aieb_dataset_options_init(&o);
    o.name = cfg->scenario.dataset_name;
    o.text_column = cfg->scenario.text_column_name;
    o.split = cfg->scenario.dataset_split;
    o.num_samples = (size_t)cfg->scenario.num_samples;
    o.truncation = cfg->scenario.truncation != 0;
    int rc = aieb_dataset_load(&o, &r->ds, err);
    if (rc)
        return aieb_err_prefix(err, "dataset");
    AIEB_INFO("dataset: %zu prompts from %s%s", r->ds.n, r->ds.source,
              r->ds.from_cache ? " (cached)" : "");
    if (r->ds.n_truncated)
        runner_warn(r, "%zu prompt(s) were cut to the truncation length (scenario.truncation)",
                    r->ds.n_truncated);
    if (r->ds.n < (size_t)cfg->scenario.num_samples)
        runner_warn(r, "dataset has %zu usable prompts, fewer than num_samples=%d", r->ds.n,
                    cfg->scenario.num_samples);
    return 0;
}

static int shape_prompts(runner *r, aieb_err *err)
{
    const aieb_config *cfg = r->cfg;
    if (!cfg->scenario.reasoning)
        return 0;
    aieb_format_registry *reg = NULL;
    int rc = aieb_format_registry_load(NULL, &reg, err);
    if (rc)
        return rc;
    r->shaped = calloc(r->ds.n, sizeof *r->shaped);
    if (!r->shaped) {
        aieb_format_registry_free(reg);
        return aieb_errf(err, AIEB_ENOMEM, "out of memory");
    }
    aieb_format_rule rule;
    aieb_format_lookup(reg, cfg->backend.model, &rule);
    AIEB_INFO("reasoning format for %s: %s (%s)", cfg->backend.model,
              aieb_format_type_name(rule.type), rule.name ? rule.name : "default");
    for (size_t i = 0; i < r->ds.n && !rc; i++)
        rc = aieb_format_apply(&rule, r->ds.prompts[i].text, true, cfg->scenario.reasoning_params,
                               &r->shaped[i], err);
    if (!rc && r->ds.n && r->shaped[0].note)
        runner_warn(r, "reasoning format: %s", r->shaped[0].note);
    aieb_format_registry_free(reg);
    return rc ? aieb_err_prefix(err, "reasoning format") : 0;
}

/* Warmup requests reuse the first prompts; the workload is every prompt. */
static int build_requests(runner *r, aieb_err *err)
{
    const aieb_config *cfg = r->cfg;
    r->n_warmup = cfg->scenario.warmup_requests > 0 ? (size_t)cfg->scenario.warmup_requests : 0;
    r->n_workload = r->ds.n;
    size_t total = r->n_warmup + r->n_workload;
    r->reqs = calloc(total, sizeof *r->reqs);
    if (!r->reqs)
        return aieb_errf(err, AIEB_ENOMEM, "out of memory");
    for (size_t k = 0; k < total; k++) {
        size_t p = k < r->n_warmup ? k % r->ds.n : k - r->n_warmup;
        aieb_request *q = &r->reqs[k];
        q->index = k < r->n_warmup ? k : k - r->n_warmup;
        if (r->shaped) {
            q->prompt = r->shaped[p].prompt;
            q->system_prompt = r->shaped[p].system_prompt;
            q->raw_prompt = r->shaped[p].raw_prompt;
            q->extra_params = r->shaped[p].extra_params;
        } else {
            q->prompt = r->ds.prompts[p].text;
        }
    }
    r->per_rep = r->n_workload;
    if (cfg->scenario.energy_star) {
        /* The method's passes (docs/ratings.md): warmup of 2 new tokens, a
         * prefill pass of 1, a generate pass of exactly max_new_tokens. */
        r->per_rep = 2 * r->n_workload;
        r->pre_reqs = calloc(r->n_workload + 1, sizeof *r->pre_reqs);
        if (!r->pre_reqs)
            return aieb_errf(err, AIEB_ENOMEM, "out of memory");
        for (size_t k = 0; k < total; k++) {
            r->reqs[k].new_tokens =
                k < r->n_warmup ? 2 : cfg->scenario.generate_kwargs.max_new_tokens;
            r->reqs[k].greedy = 1;
        }
        for (size_t i = 0; i < r->n_workload; i++) {
            r->pre_reqs[i] = r->reqs[r->n_warmup + i];
            r->pre_reqs[i].new_tokens = 1;
        }
    }
    return 0;
}

/* ==== The workload ========================================================= */

static int copy_result(aieb_result *dst, const aieb_result *src)
{
    *dst = *src;
    dst->chunk_ns = NULL;
    dst->error = NULL;
    if (src->n_chunks) {
        dst->chunk_ns = malloc(src->n_chunks * sizeof *dst->chunk_ns);
        if (!dst->chunk_ns)
            return AIEB_ENOMEM;
        memcpy(dst->chunk_ns, src->chunk_ns, src->n_chunks * sizeof *dst->chunk_ns);
    }
    if (src->error && !(dst->error = strdup(src->error))) {
        free(dst->chunk_ns);
        dst->chunk_ns = NULL;
        return AIEB_ENOMEM;
    }
    return 0;
}

/* The latest sample's total power over the channels that count in totals, for
 * the progress display; NAN when there is none. */
static double latest_power_w(const aieb_meter *m)
{
    int nc = aieb_meter_n_channels(m);
    size_t ns = aieb_meter_n_samples(m);
    aieb_channel_reading *rd = nc > 0 && ns > 0 ? calloc((size_t)nc, sizeof *rd) : NULL;
    double sum = NAN;
    int64_t t;
    if (rd && aieb_meter_sample(m, ns - 1, &t, rd, NULL) == 0)
        for (int i = 0; i < nc; i++)
            if (!aieb_meter_channel(m, i)->informational && !isnan(rd[i].power_w))
                sum = (isnan(sum) ? 0 : sum) + rd[i].power_w;
    free(rd);
    return sum;
}

static int on_workload_result(void *user, const aieb_result *res)
{
    runner *r = user;
    if (r->n_results == r->cap_results) {
        size_t cap = r->cap_results ? r->cap_results * 2 : 64;
        aieb_result *p = realloc(r->results, cap * sizeof *p);
        if (!p)
            return 1;
        r->results = p;
        r->cap_results = cap;
    }
    aieb_result *dst = &r->results[r->n_results];
    if (copy_result(dst, res) != 0)
        return 1;
    dst->repetition = r->cur_rep;
    dst->pass = r->cur_pass;
    r->n_results++;
    /* requests.jsonl: a line queued for the writer thread, so disk syncs never
     * delay this thread (for servers, the event loop stamping other streams) */
    aieb_buf line;
    aieb_buf_init(&line, 0);
    if (aieb_request_line(dst, aieb_meter_start_ns(r->meter), &line) != 0 || !r->req_log ||
        aieb_line_writer_push(r->req_log, line.data, line.len) != 0)
        AIEB_ERROR("%s: request %zu not logged (out of memory)", r->requests_path, dst->index);
    aieb_buf_free(&line);

    if (res->error_kind == AIEB_REQ_OK) {
        r->out->n_ok++;
        r->consecutive_failures = 0;
        if (res->completion_tokens > 0)
            r->n_tokens_done += (size_t)res->completion_tokens;
    } else {
        r->out->n_failed++;
        /* Requests cancelled by our own stop are not the cause of anything. */
        if (res->error_kind != AIEB_REQ_CANCELLED) {
            r->consecutive_failures++;
            snprintf(r->out->last_error, sizeof r->out->last_error, "request %zu: %s", res->index,
                     res->error ? res->error : aieb_req_error_kind_name(res->error_kind));
            AIEB_WARN("%s", r->out->last_error);
        }
    }
    if (r->opts->progress) {
        aieb_run_progress p = {.done = r->n_results,
                               .total = r->per_rep * (size_t)r->cfg->scenario.repetitions,
                               .failed = r->out->n_failed,
                               .power_w = latest_power_w(r->meter)};
        p.elapsed_s = (double)(aieb_now_ns() - r->t_work0) / 1e9;
        if (p.elapsed_s > 0) {
            p.req_per_s = (double)r->n_results / p.elapsed_s;
            p.tok_per_s = (double)r->n_tokens_done / p.elapsed_s;
        }
        r->opts->progress(r->opts->progress_user, &p);
    }
    int max_fail = r->cfg->scenario.max_consecutive_failures;
    if (max_fail > 0 && r->consecutive_failures >= max_fail) {
        if (r->out->failed_fast)
            return 1;
        r->out->failed_fast = 1;
        AIEB_ERROR("stopping: %d consecutive failed requests (scenario.max_consecutive_failures)",
                   r->consecutive_failures);
        return 1;
    }
    return 0;
}

static int on_warmup_result(void *user, const aieb_result *res)
{
    runner *r = user;
    if (res->error_kind != AIEB_REQ_OK) {
        r->warmup_failed++;
        runner_warn(r, "warmup request %zu failed: %s", res->index,
                    res->error ? res->error : aieb_req_error_kind_name(res->error_kind));
    }
    return 0;
}

/* Pins slow counters at a phase boundary so windows on both sides calibrate
 * against the counter (meter.h). */
static void mark(runner *r)
{
    aieb_err e = {0};
    if (aieb_meter_mark(r->meter, &e) != 0)
        runner_warn(r, "meter: cannot mark a phase boundary: %s", e.msg);
}

static int run_phases(runner *r, aieb_err *err)
{
    const aieb_config *cfg = r->cfg;
    const aieb_run_opts *o = r->opts;
    int grace = o->grace_ms > 0 ? o->grace_ms : 5000;
    int conc = cfg->scenario.max_concurrency > 0 ? cfg->scenario.max_concurrency : 1;
    int rc;

    if (cfg->metrics.idle_baseline_s > 0) {
        AIEB_INFO("idle baseline: %.1f s", cfg->metrics.idle_baseline_s);
        r->t_base0 = aieb_now_ns();
        rc = aieb_meter_idle_baseline(r->meter, cfg->metrics.idle_baseline_s, o->stop, err);
        r->t_base1 = aieb_now_ns();
        if (rc)
            return rc;
    }
    if (r->backend->ops->load) {
        AIEB_INFO("loading model %s", cfg->backend.model);
        r->t_load0 = aieb_now_ns();
        rc = r->backend->ops->load(r->backend, err);
        r->t_load1 = aieb_now_ns();
        if (rc)
            return rc;
        mark(r);
    }
    if (r->n_warmup && !(o->stop && *o->stop)) {
        AIEB_INFO("warmup: %zu request(s), excluded from every metric", r->n_warmup);
        r->t_warm0 = aieb_now_ns();
        rc = r->backend->ops->run(r->backend, r->reqs, r->n_warmup, conc, grace, on_warmup_result,
                                  r, o->stop, err);
        r->t_warm1 = aieb_now_ns();
        if (rc)
            return rc;
        mark(r);
        if (r->warmup_failed == r->n_warmup)
            runner_warn(r, "every warmup request failed; the workload will likely fail too");
    }
    if (o->stop && *o->stop)
        return 0;

    /* Arrival times relative to each repetition's start (the same schedule
     * every time). */
    aieb_request *work = r->reqs + r->n_warmup;
    int reps = cfg->scenario.repetitions > 0 ? cfg->scenario.repetitions : 1;
    int64_t *offsets = malloc((r->n_workload + 1) * sizeof *offsets);
    r->rep_t0 = calloc((size_t)reps, sizeof *r->rep_t0);
    r->rep_t1 = calloc((size_t)reps, sizeof *r->rep_t1);
    r->rep_first = calloc((size_t)reps, sizeof *r->rep_first);
    r->es_pre_t1 = calloc((size_t)reps, sizeof *r->es_pre_t1);
    r->es_gen_t0 = calloc((size_t)reps, sizeof *r->es_gen_t0);
    r->es_gen_t1 = calloc((size_t)reps, sizeof *r->es_gen_t1);
    r->es_gen_first = calloc((size_t)reps, sizeof *r->es_gen_first);
    if (!offsets || !r->rep_t0 || !r->rep_t1 || !r->rep_first || !r->es_pre_t1 || !r->es_gen_t0 ||
        !r->es_gen_t1 || !r->es_gen_first) {
        free(offsets);
        return aieb_errf(err, AIEB_ENOMEM, "out of memory");
    }
    double rate = cfg->scenario.request_rate;
    aieb_workload_arrivals(offsets, r->n_workload, rate, cfg->scenario.burstiness,
                           (uint64_t)cfg->scenario.seed);
    if (cfg->scenario.energy_star)
        AIEB_INFO("workload (energy_star): %zu prompt(s)%s, a prefill pass of 1 new token, then "
                  "a generate pass of %d",
                  r->n_workload, reps > 1 ? " per repetition" : "",
                  cfg->scenario.generate_kwargs.max_new_tokens);
    else
        AIEB_INFO("workload: %zu request(s)%s, concurrency %d, rate %s", r->n_workload,
                  reps > 1 ? " per repetition" : "", conc,
                  isfinite(rate) && rate > 0 ? "gamma arrivals" : "unlimited");
    rc = aieb_line_writer_open(r->requests_path, &r->req_log, err);
    if (rc) {
        free(offsets);
        return rc;
    }
    r->t_work0 = aieb_now_ns();
    for (int k = 0; k < reps && !rc && !r->out->failed_fast && !(o->stop && *o->stop); k++) {
        if (k > 0) {
            mark(r); /* pin the counters between repetitions */
            AIEB_INFO("repetition %d of %d", k + 1, reps);
        }
        r->cur_rep = k;
        r->rep_first[k] = r->n_results;
        r->rep_t0[k] = aieb_now_ns();
        for (size_t i = 0; i < r->n_workload; i++)
            work[i].arrival_ns = offsets[i] ? r->rep_t0[k] + offsets[i] : 0;
        if (cfg->scenario.energy_star) {
            r->cur_pass = AIEB_PASS_PREFILL;
            rc = r->backend->ops->run(r->backend, r->pre_reqs, r->n_workload, 1, grace,
                                      on_workload_result, r, o->stop, err);
            r->es_pre_t1[k] = aieb_now_ns();
            if (rc || r->out->failed_fast || (o->stop && *o->stop)) {
                r->rep_t1[k] = r->es_pre_t1[k];
                r->n_reps = k + 1;
                break;
            }
            mark(r); /* pin the counters between the passes */
            r->cur_pass = AIEB_PASS_GENERATE;
            r->es_gen_first[k] = r->n_results;
            r->es_gen_t0[k] = aieb_now_ns();
        }
        rc = r->backend->ops->run(r->backend, work, r->n_workload, conc, grace, on_workload_result,
                                  r, o->stop, err);
        r->rep_t1[k] = aieb_now_ns();
        if (cfg->scenario.energy_star)
            r->es_gen_t1[k] = r->rep_t1[k];
        r->n_reps = k + 1;
    }
    free(offsets);
    r->t_work1 = aieb_now_ns();
    aieb_err lerr = {0};
    if (aieb_line_writer_close(r->req_log, &lerr) != 0)
        runner_warn(r, "%s (the final requests.jsonl is written whole at the end)", lerr.msg);
    r->req_log = NULL;
    if (r->backend->ops->unload) {
        aieb_err uerr = {0};
        r->t_unload0 = aieb_now_ns();
        if (r->backend->ops->unload(r->backend, &uerr) != 0)
            runner_warn(r, "unloading the model: %s", uerr.msg);
        r->t_unload1 = aieb_now_ns();
    }
    /* what the backend found it could not do exactly (a chat template it does not
     * know, ...) goes into the run's warnings */
    json_t *bi = r->backend->ops->info ? r->backend->ops->info(r->backend) : NULL;
    size_t wi;
    json_t *wv;
    json_array_foreach(json_object_get(bi, "warnings"), wi, wv)
    {
        if (json_is_string(wv))
            runner_warn(r, "%s", json_string_value(wv));
    }
    json_decref(bi);
    if (cfg->backend.kind == AIEB_CFG_BACKEND_NATIVE && conc > 1)
        runner_warn(r,
                    "the native backend runs one request at a time; "
                    "scenario.max_concurrency=%d was ignored",
                    conc);
    /* A stop we asked for (fail-fast, interrupt) is reported by aieb_run itself. */
    if (rc && (r->out->failed_fast || (o->stop && *o->stop)))
        rc = 0;
    return rc;
}

/* ==== Results files ======================================================== */

static int write_json(const char *dir, const char *name, json_t *o, aieb_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    if (!s)
        return aieb_errf(err, AIEB_ENOMEM, "%s: cannot format JSON", path);
    size_t len = strlen(s);
    char *t = realloc(s, len + 2);
    if (!t) {
        free(s);
        return aieb_errf(err, AIEB_ENOMEM, "%s: out of memory", path);
    }
    s = t;
    s[len++] = '\n';
    s[len] = '\0';
    int rc = aieb_write_file_atomic(path, s, len, err);
    free(s);
    return rc;
}

/* Keeps the first error in *first, logs the later ones: one failing file must
 * not cost the others. */
static void keep_first(int rc, const aieb_err *e, int *first, aieb_err *err)
{
    if (!rc)
        return;
    if (!*first) {
        *first = rc;
        *err = *e;
    } else {
        AIEB_ERROR("%s", e->msg);
    }
}

static int write_outputs(runner *r, int run_rc, aieb_err *err)
{
    aieb_request_energy *energies = calloc(r->n_results + 1, sizeof *energies);
    if (!energies)
        return aieb_errf(err, AIEB_ENOMEM, "out of memory");
    json_t *summary = runner_build_summary(r, energies, err);
    if (!summary) {
        free(energies);
        return err->code ? err->code : AIEB_ENOMEM;
    }
    json_object_set_new(summary, "status", json_string(runner_status(r, run_rc)));
    int first = 0;
    aieb_err e = {0};
    /* The appended-to files first: their warnings ("row went to a side file")
     * land in summary.json's warnings, which shares r->warnings. */
    if (runner_write_results_csv(r, summary, &e))
        keep_first(aieb_err_prefix(&e, "reporter.output_file"), &e, &first, err);
    if (runner_write_emissions(r, &e))
        keep_first(aieb_err_prefix(&e, "emissions.csv"), &e, &first, err);
    keep_first(aieb_requests_log_write(r->requests_path, r->results, r->n_results,
                                       aieb_meter_start_ns(r->meter), energies, &e),
               &e, &first, err);
    keep_first(write_json(r->run_dir, "summary.json", summary, &e), &e, &first, err);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/timeseries.csv", r->run_dir);
    keep_first(aieb_meter_write_timeline_csv(r->meter, path, &e), &e, &first, err);
    /* report.md and the plot are read back from the files above; a failure
     * there loses no result (`aieb report` can write them again). */
    aieb_err rerr = {0};
    if (!first && aieb_report_write_all(r->run_dir, &rerr) != 0)
        AIEB_WARN("report: %s; `aieb report %s` writes it again", rerr.msg, r->run_dir);
    /* Last, once every file is written: the run's row in the results store. */
    keep_first(runner_record_store(r, summary, &e), &e, &first, err);
    json_decref(summary);
    free(energies);
    return first;
}

/* ==== Entry point ========================================================== */

static int open_meter(runner *r, aieb_err *err)
{
    const aieb_config *cfg = r->cfg;
    aieb_meter_opts mo;
    aieb_meter_opts_init(&mo);
    mo.sample_interval_ms = cfg->metrics.sample_interval_ms;
    mo.cpu_tdp_w = isnan(cfg->metrics.cpu_tdp_w) ? 0 : cfg->metrics.cpu_tdp_w;
    mo.pue = cfg->metrics.pue;
    char ids[256] = "";
    const aieb_int_list *gl =
        cfg->metrics.gpu_ids.n ? &cfg->metrics.gpu_ids : &cfg->backend.device_ids;
    for (size_t i = 0; i < gl->n; i++) {
        size_t len = strlen(ids);
        snprintf(ids + len, sizeof ids - len, "%s%d", i ? "," : "", gl->items[i]);
    }
    mo.gpu_ids = gl->n ? ids : NULL;
    int rc = aieb_meter_open(&r->meter, &mo, err);
    if (rc)
        return aieb_err_prefix(err, "meter");
    for (int i = 0; i < aieb_meter_n_notes(r->meter); i++)
        json_array_append_new(r->warnings, json_string(aieb_meter_note(r->meter, i)));
    return 0;
}

int aieb_run(const aieb_config *cfg, const aieb_run_opts *opts, aieb_run_outcome *out,
             aieb_err *err)
{
    static const aieb_run_opts no_opts = {0};
    memset(out, 0, sizeof *out);
    runner rr, *r = &rr;
    memset(r, 0, sizeof *r);
    r->cfg = cfg;
    r->opts = opts ? opts : &no_opts;
    r->out = out;
    r->wall_start_ns = aieb_wall_ns();
    r->warnings = json_array();

    int rc = load_prompts(r, err);
    if (!rc)
        rc = shape_prompts(r, err);
    if (!rc)
        rc = build_requests(r, err);
    if (!rc)
        rc = runner_open_backend(cfg, &r->backend, err);
    char shown[1024]; /* the endpoint as messages show it: no password */
    aieb_url_redact(cfg->backend.endpoint, shown, sizeof shown);
    if (!rc && !r->backend->ops->load && cfg->backend.endpoint &&
        json_array_size(cfg->metrics.remote) == 0 &&
        aieb_openai_endpoint_is_local(cfg->backend.endpoint) == 0)
        runner_warn(r,
                    "backend.endpoint %s is another machine: the energy measured here is this "
                    "client's, not the server's; measure on the server's machine for the model's "
                    "energy",
                    shown);
    if (!rc && r->backend->ops->health) {
        int server = !r->backend->ops->load && cfg->backend.endpoint;
        AIEB_INFO("checking the %s backend%s%s", cfg->backend.type, server ? " at " : "",
                  server ? shown : "");
        rc = r->backend->ops->health(r->backend, r->opts->stop, err);
    }
    if (!rc)
        rc = runner_check_store(cfg, err);
    if (!rc)
        rc = make_run_dir(r, err);
    if (!rc)
        rc = open_meter(r, err);
    if (!rc)
        rc = aieb_meter_start(r->meter, err);
    int started = !rc;
    if (started)
        aieb_prom_clock_pair(&r->clk.mono0_ns, &r->clk.wall0_ns);
    if (!rc)
        rc = run_phases(r, err);
    int run_rc = rc;
    if (started) {
        aieb_err stop_err = {0};
        if (aieb_meter_stop(r->meter, &stop_err))
            AIEB_ERROR("%s", stop_err.msg);
        out->interrupted = r->opts->stop && *r->opts->stop;
        /* Whatever happened in the workload, what finished is written out. */
        if (r->t_work0) {
            if (!r->t_work1)
                r->t_work1 = aieb_now_ns();
            aieb_prom_clock_pair(&r->clk.mono1_ns, &r->clk.wall1_ns);
            runner_remote_fetch(r);
            aieb_err werr = {0};
            int wrc = write_outputs(r, run_rc, &werr);
            if (wrc && !run_rc) {
                *err = werr;
                rc = wrc;
            } else if (wrc) {
                AIEB_ERROR("%s", werr.msg);
            }
        }
    }
    if (!r->t_work0 && out->run_dir && rmdir(out->run_dir) == 0) {
        /* Nothing ran: leave no empty run directory behind, nor an empty
         * <output_dir>/<name>/ made for it (rmdir leaves one with other runs). */
        if (!(r->opts->run_dir && *r->opts->run_dir)) {
            char *slash = strrchr(out->run_dir, '/');
            if (slash && slash != out->run_dir) {
                *slash = '\0';
                rmdir(out->run_dir);
            }
        }
        free(out->run_dir);
        out->run_dir = NULL;
    }
    if (!rc && out->interrupted && !r->t_work0)
        rc = aieb_errf(err, AIEB_EINTR, "interrupted before the workload; no results written");
    else if (!rc && out->interrupted)
        rc = aieb_errf(err, AIEB_EINTR, "interrupted; %zu request(s) finished, results in %s",
                       r->n_results, r->run_dir);
    else if (!rc && out->failed_fast)
        rc = aieb_errf(err, AIEB_EFAIL, "stopped after %d consecutive failures; last error: %s",
                       cfg->scenario.max_consecutive_failures, out->last_error);
    else if (!rc && out->n_ok == 0 && out->n_failed > 0)
        rc = aieb_errf(err, AIEB_EFAIL, "every request failed; last error: %s", out->last_error);

    aieb_line_writer_close(r->req_log, NULL); /* a run stopped before the loop's end */
    if (r->backend)
        r->backend->ops->close(r->backend);
    aieb_meter_close(r->meter);
    runner_remote_free(r);
    for (size_t i = 0; i < r->n_results; i++)
        aieb_result_clear(&r->results[i]);
    free(r->results);
    free(r->rep_t0);
    free(r->rep_t1);
    free(r->rep_first);
    free(r->es_pre_t1);
    free(r->es_gen_t0);
    free(r->es_gen_t1);
    free(r->es_gen_first);
    free(r->pre_reqs);
    if (r->shaped)
        for (size_t i = 0; i < r->ds.n; i++)
            aieb_formatted_free(&r->shaped[i]);
    free(r->shaped);
    free(r->reqs);
    aieb_dataset_free(&r->ds);
    json_decref(r->warnings);
    return rc;
}

void aieb_run_outcome_free(aieb_run_outcome *out)
{
    free(out->run_dir);
    out->run_dir = NULL;
}
