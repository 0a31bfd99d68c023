/* report.h - the reports people read: report.md, power.png/power.svg, and the
 * comparison of several runs.
 *
 * Everything here is built from a run directory's files alone (summary.json,
 * requests.jsonl, timeseries.csv; docs/outputs.md), never from a live run, so
 * `aieb report RUN_DIR` regenerates exactly what `aieb run` wrote. The output
 * depends only on those files (no clock, no host name), which keeps it
 * reproducible and testable against golden files. docs/reports.md describes
 * every section.
 */
#ifndef AIEB_REPORT_H
#define AIEB_REPORT_H

#include <stddef.h>

#include <jansson.h>

#include "aieb/buf.h"
#include "aieb/err.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Caps on what a run directory's files may hold; past them loading fails with
 * AIEB_ETOOBIG naming the file. */
#define AIEB_REPORT_MAX_SUMMARY_BYTES    (64u << 20)
#define AIEB_REPORT_MAX_REQUESTS_BYTES   (512u << 20)
#define AIEB_REPORT_MAX_TIMESERIES_BYTES (512u << 20)
#define AIEB_REPORT_MAX_COLUMNS          1024
/* report.md lists this many requests, then says how many more there are. */
#define AIEB_REPORT_TABLE_ROWS 50
/* power.png's size in pixels (power.svg uses the same size in points). */
#define AIEB_PLOT_WIDTH  1200
#define AIEB_PLOT_HEIGHT 600

/* ==== A run directory, loaded ============================================== */

/* timeseries.csv as numbers: one row per meter sample. */
typedef struct aieb_timeseries {
    size_t n_rows, n_cols;
    char **names;   /* (n_cols) column names as in the header */
    double *values; /* (n_rows, n_cols) row-major; NAN for empty cells */
    int t_col;      /* index of "t_s" (seconds from the meter's start), -1 if absent */
} aieb_timeseries;

typedef struct aieb_run_files {
    char *dir;        /* the run directory as given */
    json_t *summary;  /* summary.json (an object) */
    json_t *requests; /* requests.jsonl as an array of objects, sorted by index; empty if absent */
    aieb_timeseries ts; /* timeseries.csv; n_rows == 0 when absent */
    int has_requests;   /* requests.jsonl existed */
    int has_timeseries; /* timeseries.csv existed */
} aieb_run_files;

/* Loads dir/summary.json (required), dir/requests.jsonl and dir/timeseries.csv
 * (both optional: a missing one is noted in has_*). Fails with AIEB_ENOTFOUND
 * when dir or summary.json does not exist, AIEB_EINVAL for a file that is not
 * what it should be (the message names the file and line), AIEB_ETOOBIG past the
 * caps above, AIEB_EIO, AIEB_ENOMEM. On failure *out is left empty (freeing it
 * is harmless). Free with aieb_run_files_free. */
AIEB_API int aieb_run_files_load(const char *dir, aieb_run_files *out, aieb_err *err);

/* Releases what f owns; f may be zeroed. */
AIEB_API void aieb_run_files_free(aieb_run_files *f);

/* Parses timeseries.csv text (header line, then numeric rows; empty cells are
 * NAN). Fails with AIEB_EINVAL for a row with another number of cells or a cell
 * that is not a number (the message gives the line), AIEB_ETOOBIG past
 * AIEB_REPORT_MAX_COLUMNS columns, AIEB_ENOMEM. Free with aieb_timeseries_free. */
AIEB_API int aieb_timeseries_parse(const char *text, size_t len, aieb_timeseries *out,
                                   aieb_err *err);

/* Releases what ts owns; ts may be zeroed. */
AIEB_API void aieb_timeseries_free(aieb_timeseries *ts);

/* Index of the column called name, or -1. Can't fail. */
AIEB_API int aieb_timeseries_column(const aieb_timeseries *ts, const char *name);

/* Value at (row, col); NAN when either is out of range. Can't fail. */
AIEB_API double aieb_timeseries_at(const aieb_timeseries *ts, size_t row, int col);

/* ==== report.md ============================================================ */

/* Appends report.md's Markdown for a loaded run to out: executive summary and
 * verdict, configuration, GPU baseline, model load, the per-request table (the
 * first AIEB_REPORT_TABLE_ROWS), aggregate statistics, energy breakdown, GPU
 * usage evidence (CPU evidence on a machine without GPUs), cleanup when known,
 * methods and warnings. Missing keys print as "n/a"; never fails for a summary
 * that lacks sections. Fails only with the aieb_buf codes (AIEB_ENOMEM,
 * AIEB_ETOOBIG). */
AIEB_API int aieb_report_markdown(const aieb_run_files *f, aieb_buf *out, aieb_err *err);

/* Loads run_dir and writes run_dir/report.md atomically. Fails as
 * aieb_run_files_load, or with AIEB_EIO naming report.md. */
AIEB_API int aieb_report_write_markdown(const char *run_dir, aieb_err *err);

/* Loads run_dir once and writes report.md, then power.png and power.svg (the
 * plot only when timeseries.csv exists). The runner calls this after the other
 * results files. Fails as the functions it calls; files written before a
 * failure stay. */
AIEB_API int aieb_report_write_all(const char *run_dir, aieb_err *err);

/* ==== Key figures and comparison =========================================== */

/* The run's headline figures as a flat JSON object (what `aieb report --format
 * json` prints): run_dir, name, run_id, backend, model, primary, energy_wh,
 * total_energy_wh, net_energy_wh, wh_per_1000_queries, j_per_output_token,
 * tokens_per_joule, output_tokens_per_s, total_tokens_per_s, ttft_ms_p50,
 * tpot_ms_p50, e2el_ms_p50, emissions_g_co2eq, carbon_intensity_g_per_kwh,
 * gpu_present, gpu_active, requests_total, requests_ok, requests_failed,
 * interrupted. Absent figures are null. Returns a new reference, NULL when out
 * of memory. */
AIEB_API json_t *aieb_report_key_figures(const aieb_run_files *f);

/* Appends a side-by-side Markdown table of the headline figures of runs[0..n)
 * to out, each figure of runs 2..n followed by its ratio to the first run's
 * ("x1.23"; "n/a" when either is missing or the first is zero). Fails with
 * AIEB_EINVAL when n < 1, or the aieb_buf codes. */
AIEB_API int aieb_report_compare(const aieb_run_files *runs, size_t n, aieb_buf *out,
                                 aieb_err *err);

/* ==== power.png / power.svg ================================================ */

/* Draws power over time from f->ts: one line per channel (<label>_power_w
 * columns: each GPU, CPU, DRAM, RAM), each channel's idle power (summary.json
 * meter.channels) as a dashed line in its colour, the idle baseline, model
 * load, warmup and workload spans (summary.json timeline) shaded and labelled,
 * axes in seconds and watts, a legend. png_path gets an AIEB_PLOT_WIDTH x
 * AIEB_PLOT_HEIGHT image, svg_path the same drawing as SVG; either may be NULL.
 * Each file is written atomically. With no power column the axes and a "no
 * power samples" note are drawn. Fails with AIEB_EIO naming the file (cairo's
 * status in the message), AIEB_ENOMEM. */
AIEB_API int aieb_plot_power(const aieb_run_files *f, const char *png_path, const char *svg_path,
                             aieb_err *err);

#ifdef __cplusplus
}
#endif
#endif
