/* run.h - one benchmark run, from a resolved config to its results directory.
 *
 * Flow (docs/design.md): prompts -> reasoning formatter -> backend health -> meter
 * start -> idle baseline -> model load (measured apart) -> warmup (excluded) ->
 * workload -> meter stop -> attribution -> summary -> results files:
 *   summary.json, requests.jsonl, timeseries.csv, emissions.csv, and a row in
 *   reporter.output_file (the earlier tool's CSV).
 * requests.jsonl is appended as each request finishes; the other files are
 * written atomically once the workload is over (also when it was interrupted
 * or stopped by fail-fast: then summary.json says so).
 */
#ifndef AIEB_RUN_H
#define AIEB_RUN_H

#include <signal.h>
#include <stddef.h>

#include "aieb/config.h"
#include "aieb/err.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Progress of the workload, for a progress display. */
typedef struct aieb_run_progress {
    size_t done, total, failed;
    double elapsed_s;
    double req_per_s, tok_per_s;
    double power_w; /* latest total power reading, NAN when none */
} aieb_run_progress;

typedef struct aieb_run_opts {
    const char *run_dir;               /* NULL: <output_dir>/<name>/<UTC YYYYmmddTHHMMSSZ>/ */
    const volatile sig_atomic_t *stop; /* non-zero: stop sending, give in-flight grace, finish */
    int grace_ms;                      /* in-flight grace after a stop; <= 0: 5000 */
    /* Called after each finished request (may be NULL), on the runner's thread. */
    void (*progress)(void *user, const aieb_run_progress *p);
    void *progress_user;
} aieb_run_opts;

typedef struct aieb_run_outcome {
    char *run_dir;   /* malloc'd; set as soon as the directory exists, else NULL */
    int interrupted; /* stopped by *stop */
    int failed_fast; /* stopped after max_consecutive_failures */
    size_t n_ok, n_failed;
    char last_error[512];
} aieb_run_outcome;

/* Runs the benchmark cfg describes. Returns 0 when every file was written and
 * the workload ended normally (individual failed requests below the fail-fast
 * limit included); AIEB_EFAIL after fail-fast (files written, last_error set);
 * AIEB_EINTR when interrupted (files written, marked interrupted); AIEB_EENV
 * when the backend is not usable (server down, model missing); AIEB_EINVAL
 * for a dataset or model problem; AIEB_EIO when results cannot be written.
 * out is filled in every case; free with aieb_run_outcome_free. */
AIEB_API int aieb_run(const aieb_config *cfg, const aieb_run_opts *opts, aieb_run_outcome *out,
                      aieb_err *err);

/* Frees what out owns. */
AIEB_API void aieb_run_outcome_free(aieb_run_outcome *out);

#ifdef __cplusplus
}
#endif
#endif
