/* outputs.c - the results files a run appends to: its row of emissions.csv
 * (CodeCarbon's format) and its row of the earlier tool's results CSV
 * (reporter.output_file), both from what summary.c decided. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/clock.h"
#include "aieb/csv.h"
#include "aieb/emissions.h"
#include "aieb/fileio.h"
#include "run/runner_internal.h"

/* ==== emissions.csv ======================================================== */

int runner_write_emissions(runner *r, aieb_err *err)
{
    const aieb_config *cfg = r->cfg;
    if (!cfg->metrics.enabled || !r->have_emissions)
        return 0;
    char path[PATH_MAX];
    const char *dir =
        cfg->metrics.output_dir && *cfg->metrics.output_dir ? cfg->metrics.output_dir : r->run_dir;
    int rc = aieb_mkdir_p(dir, err);
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s/emissions.csv", dir);
    aieb_emissions_row row;
    aieb_emissions_row_init(&row);
    aieb_emissions_row_fill(&row, &r->em, &r->carbon, r->workload_s);
    char ts[32];
    aieb_format_utc(r->wall_start_ns, 0, ts);
    row.timestamp = ts;
    row.project_name = cfg->metrics.project_name;
    row.run_id = r->run_id;
    row.experiment_id = cfg->name;
    aieb_emissions_row_machine(&row, &r->machine);
    char *written = NULL;
    rc = aieb_emissions_append(path, &row, &written, err);
    if (!rc && strcmp(written, path) != 0)
        runner_warn(r, "%s has other columns; this run's row went to %s", path, written);
    free(written);
    return rc;
}

/* ==== The earlier tool's results CSV ======================================= */

static const char *const csv_cols[] = {
    "timestamp",
    "name",
    "backend",
    "model",
    "total_prompts",
    "successful_prompts",
    "failed_prompts",
    "total_tokens",
    "avg_latency_seconds",
    "avg_time_to_first_token",
    "throughput_tokens_per_second",
    "avg_gpu_utilization_percent",
    "max_gpu_utilization_percent",
    "avg_memory_mb",
    "max_memory_mb",
    "gpu_active",
    "energy_wh",
    "gpu_energy_wh",
    "cpu_energy_wh",
    "ram_energy_wh",
    "total_energy_wh",
    "emissions_g_co2eq",
    "wh_per_1000_queries",
    "tokens_per_joule",
    /* after the earlier tool's columns, so its readers keep working */
    "status",
    "interrupted",
    "planned_prompts",
    "tokens_estimated",
    "method",
    "repetitions",
    "prefill_gpu_wh",
    "decode_gpu_wh",
};
#define N_CSV_COLS (sizeof csv_cols / sizeof csv_cols[0])

static void fmt_value(json_t *v, char *buf, size_t size)
{
    if (json_is_integer(v))
        snprintf(buf, size, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, size, "%.6g", json_real_value(v));
    else if (json_is_string(v))
        snprintf(buf, size, "%s", json_string_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, size, "%s", json_is_true(v) ? "True" : "False"); /* Python's spelling */
    else
        buf[0] = '\0';
}

/* A number as fmt_value writes a JSON real; empty for NAN. */
static void fmt_number(double v, char *buf, size_t size)
{
    json_t *j = isfinite(v) ? json_real(v) : json_null();
    fmt_value(j, buf, size);
    json_decref(j);
}

int runner_write_results_csv(runner *r, json_t *summary, aieb_err *err)
{
    const char *path = r->cfg->reporter.output_file;
    if (!path || !*path)
        return 0;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        int rc = aieb_mkdir_p(dir, err);
        if (rc)
            return rc;
    }
    json_t *s = json_object_get(summary, "summary"), *e = json_object_get(summary, "energy");
    json_t *gpus = json_object_get(summary, "gpu_stats");
    /* GPU figures over all GPUs: mean of averages, max of maxima. */
    double u_avg = 0, u_max = NAN, m_avg = 0, m_max = NAN;
    size_t ng = json_array_size(gpus);
    for (size_t i = 0; i < ng; i++) {
        json_t *g = json_array_get(gpus, i);
        u_avg += json_number_value(json_object_get(g, "avg_utilization_percent")) / (double)ng;
        m_avg += json_number_value(json_object_get(g, "avg_memory_mb")) / (double)ng;
        double um = json_number_value(json_object_get(g, "max_utilization_percent"));
        double mm = json_number_value(json_object_get(g, "max_memory_mb"));
        u_max = isnan(u_max) || um > u_max ? um : u_max;
        m_max = isnan(m_max) || mm > m_max ? mm : m_max;
    }
    char vals[N_CSV_COLS][512];
    const char *ptrs[N_CSV_COLS];
    char ts[32];
    aieb_format_utc(r->wall_start_ns, 0, ts);
    snprintf(vals[0], sizeof vals[0], "%s", ts);
    snprintf(vals[1], sizeof vals[1], "%s", r->cfg->name);
    snprintf(vals[2], sizeof vals[2], "%s", r->cfg->backend.type);
    snprintf(vals[3], sizeof vals[3], "%s", r->cfg->backend.model);
    const char *from_summary[] = {"total_prompts",
                                  "successful_prompts",
                                  "failed_prompts",
                                  "total_tokens",
                                  "avg_latency_seconds",
                                  "avg_time_to_first_token",
                                  "throughput_tokens_per_second"};
    for (size_t i = 0; i < 7; i++)
        fmt_value(json_object_get(s, from_summary[i]), vals[4 + i], sizeof vals[0]);
    fmt_number(ng ? u_avg : NAN, vals[11], sizeof vals[0]);
    fmt_number(ng ? u_max : NAN, vals[12], sizeof vals[0]);
    fmt_number(ng ? m_avg : NAN, vals[13], sizeof vals[0]);
    fmt_number(ng ? m_max : NAN, vals[14], sizeof vals[0]);
    fmt_value(json_object_get(json_object_get(summary, "evidence"), "gpu_active"), vals[15],
              sizeof vals[0]);
    const char *from_energy[] = {"energy_wh",           "gpu_energy_wh",   "cpu_energy_wh",
                                 "ram_energy_wh",       "total_energy_wh", "emissions_g_co2eq",
                                 "wh_per_1000_queries", "tokens_per_joule"};
    for (size_t i = 0; i < 8; i++)
        fmt_value(json_object_get(e, from_energy[i]), vals[16 + i], sizeof vals[0]);
    /* With repetitions, the energy columns are means per repetition (the
     * summary's energy section covers all of them together). */
    json_t *reps = json_object_get(summary, "repetitions");
    json_int_t n_reps = json_integer_value(json_object_get(reps, "n"));
    if (n_reps > 1) {
        json_t *figs = json_object_get(reps, "figures");
        const char *from_reps[] = {"energy_wh", "gpu_energy_wh", "cpu_energy_wh", "ram_energy_wh",
                                   "total_energy_wh"};
        for (size_t i = 0; i < 5; i++)
            fmt_value(json_object_get(json_object_get(figs, from_reps[i]), "mean"), vals[16 + i],
                      sizeof vals[0]);
        fmt_number(json_number_value(json_object_get(e, "emissions_g_co2eq")) / (double)n_reps,
                   vals[21], sizeof vals[0]);
        fmt_value(json_object_get(json_object_get(figs, "wh_per_1000_queries"), "mean"), vals[22],
                  sizeof vals[0]);
        double jpt =
            json_number_value(json_object_get(json_object_get(figs, "j_per_output_token"), "mean"));
        fmt_number(jpt > 0 ? 1.0 / jpt : NAN, vals[23], sizeof vals[0]);
    }
    fmt_value(json_object_get(summary, "status"), vals[24], sizeof vals[0]); /* runner_status */
    snprintf(vals[25], sizeof vals[0], "%s", r->out->interrupted ? "True" : "False");
    fmt_value(json_object_get(s, "planned_prompts"), vals[26], sizeof vals[0]);
    fmt_value(json_object_get(s, "tokens_estimated"), vals[27], sizeof vals[0]);
    snprintf(vals[28], sizeof vals[0], "%s", r->cfg->scenario.method);
    snprintf(vals[29], sizeof vals[0], "%lld", (long long)(n_reps > 0 ? n_reps : 1));
    /* energy_star: the method's figures (means over repetitions); its Wh per
     * 1000 queries is the generate pass's, the leaderboard's figure. */
    json_t *es = json_object_get(summary, "energy_star");
    fmt_value(json_object_get(json_object_get(es, "prefill"), "gpu_wh"), vals[30], sizeof vals[0]);
    fmt_value(json_object_get(json_object_get(es, "decode"), "gpu_wh"), vals[31], sizeof vals[0]);
    if (es)
        fmt_value(json_object_get(es, "wh_per_1000_queries"), vals[22], sizeof vals[0]);
    for (size_t i = 0; i < N_CSV_COLS; i++)
        ptrs[i] = vals[i];
    char *written = NULL;
    int rc = aieb_csv_append_row(path, csv_cols, ptrs, N_CSV_COLS, &written, err);
    if (!rc && strcmp(written, path) != 0)
        runner_warn(r, "%s has other columns; this run's row went to %s", path, written);
    free(written);
    return rc;
}
