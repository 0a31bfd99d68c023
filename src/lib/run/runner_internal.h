/* runner_internal.h - the runner's state, shared by runner.c (the flow),
 * summary.c (summary.json) and outputs.c (the other results files). */
#ifndef AIEB_RUN_RUNNER_INTERNAL_H
#define AIEB_RUN_RUNNER_INTERNAL_H

#include <limits.h>
#include <stdint.h>

#include <jansson.h>

#include "aieb/attribution.h"
#include "aieb/backend.h"
#include "aieb/carbon.h"
#include "aieb/config.h"
#include "aieb/dataset.h"
#include "aieb/emissions.h"
#include "aieb/fileio.h"
#include "aieb/format.h"
#include "aieb/latency.h"
#include "aieb/meter.h"
#include "aieb/prom.h"
#include "aieb/requests_log.h"
#include "aieb/run.h"

typedef struct runner {
    const aieb_config *cfg;
    const aieb_run_opts *opts;
    aieb_run_outcome *out;

    char run_dir[PATH_MAX];
    char requests_path[PATH_MAX];
    aieb_line_writer *req_log; /* appends requests.jsonl off the backend's thread */
    int64_t wall_start_ns;     /* wall clock at the start, for labels */
    char run_id[40];

    aieb_dataset ds;
    aieb_formatted *shaped; /* (n_prompts) when scenario.reasoning, else NULL */
    aieb_request *reqs;     /* (n_warmup + n_workload) */
    size_t n_warmup, n_workload;

    aieb_backend *backend;
    aieb_meter *meter;

    /* Results of the workload, in completion order (deep copies). */
    aieb_result *results;
    size_t n_results, cap_results;
    size_t n_tokens_done;
    int consecutive_failures;
    size_t warmup_failed;

    /* Repetitions of the workload (scenario.repetitions): how many ran (the last
     * may have been cut short), each one's [t0, t1] and its first result. */
    int n_reps, cur_rep;
    int64_t *rep_t0, *rep_t1;
    size_t *rep_first;
    size_t per_rep; /* requests a whole repetition sends (energy_star: both passes) */

    /* scenario.method energy_star: per repetition, the prefill pass runs from
     * rep_t0 to es_pre_t1, the generate pass from es_gen_t0 to es_gen_t1 (0 when
     * it did not start) with its first result at es_gen_first; pre_reqs are the
     * workload's requests asking for 1 new token. */
    int cur_pass;
    int64_t *es_pre_t1, *es_gen_t0, *es_gen_t1;
    size_t *es_gen_first;
    aieb_request *pre_reqs;

    /* Phase boundaries (CLOCK_MONOTONIC ns; 0 when the phase did not happen). */
    int64_t t_base0, t_base1, t_load0, t_load1, t_warm0, t_warm1, t_work0, t_work1;
    int64_t t_unload0, t_unload1;

    json_t *warnings; /* array of strings */

    /* metrics.remote (remote.c): one reading per source (NULL where it failed,
     * with its message), the clock pair that maps the run onto theirs, and
     * whether the remote GPUs are the run's GPU energy. */
    aieb_prom_clock clk;
    aieb_prom **remote;
    char **remote_errors;
    size_t n_remote, n_remote_ok;
    int remote_primary;

    /* Filled by runner_build_summary for emissions.csv. */
    int have_emissions;
    aieb_emissions em;
    aieb_carbon carbon;
    double workload_s;
    aieb_emissions_machine machine;
} runner;

/* Adds a warning (also logged). */
void runner_warn(runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Builds summary.json's object from a finished run (meter stopped). Fills
 * energies[0..n_results) with each request's share. Returns a new reference
 * or NULL with err set. */
json_t *runner_build_summary(runner *r, aieb_request_energy *energies, aieb_err *err);

/* The primary metric is GPU energy when a GPU is measured and the backend can
 * use one (not the embedded engine, which runs on the CPU). */
int runner_gpu_primary(const runner *r, const aieb_meter_summary *ms);

/* Energy of the "RAM" component from a per-domain array: measured DRAM when
 * RAPL has it, else the estimate (never both, docs/methodology.md); 0 when
 * neither. */
double runner_ram_j(const aieb_meter_summary *ms, const double *by_domain);

/* summary.json's "repetitions": per repetition, the headline figures; over
 * them, mean, standard deviation and 95% interval (Student t). Returns a new
 * reference or NULL with err set. */
json_t *runner_repetitions_json(runner *r, aieb_err *err);

/* summary.json's "energy_star" (energy_star.c): the method's prefill, generate
 * and decode energy over repetitions and its Wh per 1000 queries; ms is the
 * workload's summary (which domains exist, which is primary). Returns a new
 * reference or NULL with err set. */
json_t *runner_energy_star_json(runner *r, const aieb_meter_summary *ms, aieb_err *err);

/* Writes the earlier tool's CSV row (reporter.output_file) from summary. */
int runner_write_results_csv(runner *r, json_t *summary, aieb_err *err);

/* Appends the run's row to emissions.csv (CodeCarbon's format) in
 * metrics.output_dir, else the run directory; nothing when metrics.enabled is
 * false. */
int runner_write_emissions(runner *r, aieb_err *err);

/* Reads every metrics.remote source over the run (after the meter stopped;
 * r->clk complete); a source that fails is a warning. Can't fail. */
void runner_remote_fetch(runner *r);
void runner_remote_free(runner *r);

/* Remote GPU energy of [t0, t1] (CLOCK_MONOTONIC) over the sources read, J,
 * with its bound in *bound_j (may be NULL); 0 when none was read. */
double runner_remote_gpu_j(const runner *r, int64_t t0, int64_t t1, double *bound_j);

/* Remote GPU power over the idle baseline (W), NAN without either. */
double runner_remote_baseline_w(const runner *r);

/* When the remote GPUs are primary, replaces each request's GPU energy with
 * its share of the remote energy. Returns 0 or AIEB_ENOMEM. */
int runner_remote_requests(runner *r, aieb_request_energy *energies);

/* summary.json's energy.remote, or NULL without metrics.remote. */
json_t *runner_remote_json(runner *r);

/* The run's status from how it ended (run_rc: run_phases' code): interrupted,
 * failed_fast, failed (an error, or every request failed) or completed. Can't
 * fail. */
const char *runner_status(const runner *r, int run_rc);

/* The results store's path: reporter.database, else <output_dir>/aieb.db.
 * Can't fail. */
void runner_store_path(const aieb_config *cfg, char *buf, size_t size);

/* Before the run: a results store that exists must open (an aieb database
 * of a schema this build knows), so that a run is not made only to find it
 * unwritable. A missing one is fine (recording creates it). Fails as
 * aieb_store_open. */
int runner_check_store(const aieb_config *cfg, aieb_err *err);

/* Records the run in the results store from its summary (record.c). Fails
 * with AIEB_EIO whatever the reason, the message saying why, that the files
 * are safe and how to record the run later. */
int runner_record_store(runner *r, json_t *summary, aieb_err *err);

/* Opens the backend cfg names (not loaded, not health-checked). */
int runner_open_backend(const aieb_config *cfg, aieb_backend **out, aieb_err *err);

#endif
