/* test_report.c - report.md against golden files, its sections on altered
 * summaries, key figures, the comparison table, and the run-directory reader's
 * error paths.
 *
 * The fixtures under tests/golden/report/{gpu,cpu}/ are the summary.json,
 * requests.jsonl and timeseries.csv of two real runs (the fake NVML library as
 * the GPU; a machine without GPUs); report.md beside them is the expected
 * output. AIEB_UPDATE_GOLDEN=1 rewrites it after a deliberate change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "aieb/fileio.h"
#include "aieb/report.h"

/* ==== Helpers ============================================================== */

static char *slurp(const char *path)
{
    char *data = NULL;
    size_t len;
    aieb_err err = {0};
    if (aieb_read_file(path, 64u << 20, &data, &len, &err) != 0)
        return NULL;
    return data;
}

static void put_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    aieb_err err = {0};
    assert_int_equal(aieb_write_file_atomic(path, text, strlen(text), &err), 0);
}

static void fixture_path(char *buf, size_t size, const char *fx, const char *name)
{
    const char *src = getenv("AIEB_SOURCE_DIR");
    snprintf(buf, size, "%s/tests/golden/report/%s/%s", src ? src : ".", fx, name);
}

/* A fresh temporary run directory holding fixture fx's three input files. */
static void make_run(char *dir, const char *fx)
{
    strcpy(dir, "/tmp/aieb-report-XXXXXX");
    assert_non_null(mkdtemp(dir));
    static const char *const files[] = {"summary.json", "requests.jsonl", "timeseries.csv"};
    for (size_t i = 0; i < 3; i++) {
        char path[512];
        fixture_path(path, sizeof path, fx, files[i]);
        char *text = slurp(path);
        assert_non_null(text);
        put_file(dir, files[i], text);
        free(text);
    }
}

static void remove_run(const char *dir)
{
    static const char *const files[] = {"summary.json", "requests.jsonl", "timeseries.csv",
                                        "report.md",    "power.png",      "power.svg"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* The Markdown for fixture fx after edit (may be NULL) changed its summary. */
static char *render(const char *fx, void (*edit)(json_t *summary))
{
    char dir[64];
    make_run(dir, fx);
    aieb_run_files f;
    aieb_err err = {0};
    assert_int_equal(aieb_run_files_load(dir, &f, &err), 0);
    if (edit)
        edit(f.summary);
    aieb_buf b;
    aieb_buf_init(&b, 0);
    assert_int_equal(aieb_report_markdown(&f, &b, &err), 0);
    aieb_run_files_free(&f);
    remove_run(dir);
    return aieb_buf_steal(&b);
}

static json_t *path_get(json_t *o, const char *a, const char *b)
{
    return json_object_get(json_object_get(o, a), b);
}

/* ==== Golden files ========================================================= */

static void golden(const char *fx)
{
    char dir[64], path[512], expected_path[512];
    make_run(dir, fx);
    aieb_err err = {0};
    assert_int_equal(aieb_report_write_markdown(dir, &err), 0);
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *got = slurp(path);
    assert_non_null(got);
    fixture_path(expected_path, sizeof expected_path, fx, "report.md");
    if (getenv("AIEB_UPDATE_GOLDEN")) {
        assert_int_equal(aieb_write_file_atomic(expected_path, got, strlen(got), &err), 0);
        fprintf(stderr, "updated %s\n", expected_path);
    }
    char *want = slurp(expected_path);
    assert_non_null(want);
    if (strcmp(got, want) != 0) {
        size_t i = 0;
        while (got[i] && got[i] == want[i])
            i++;
        fprintf(stderr, "%s differs from the golden file at byte %zu:\n got: %.80s\nwant: %.80s\n",
                path, i, got + i, want + i);
        fail();
    }
    /* A second rendering is byte-identical: nothing depends on the clock. */
    assert_int_equal(aieb_report_write_markdown(dir, &err), 0);
    char *again = slurp(path);
    assert_string_equal(again, got);
    free(again);
    free(got);
    free(want);
    remove_run(dir);
}

static void golden_gpu(void **state)
{
    (void)state;
    golden("gpu");
}

static void golden_cpu(void **state)
{
    (void)state;
    golden("cpu");
}

/* ==== Sections ============================================================= */

static void gpu_sections_in_order(void **state)
{
    (void)state;
    char *md = render("gpu", NULL);
    static const char *const heads[] = {
        "## Executive summary",
        "## Configuration",
        "## Step 1: GPU baseline",
        "## Step 2: Model load",
        "## Step 3: Inference",
        "### Aggregate statistics",
        "## Energy",
        "## GPU usage evidence",
        "## Methods and warnings",
    };
    const char *at = md;
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        const char *p = strstr(at, heads[i]);
        if (!p)
            fprintf(stderr, "section '%s' missing or out of order\n", heads[i]);
        assert_non_null(p);
        at = p ? p : at;
    }
    assert_non_null(strstr(md, "**Verdict: GPU used.**"));
    assert_non_null(strstr(md, "a GPU counts as used when its memory grew")); /* the rule */
    assert_non_null(strstr(md, "**GPU (primary)**"));
    assert_non_null(strstr(md, "gCO2e/kWh"));
    assert_non_null(strstr(md, "![Power over time](power.png)"));
    assert_null(strstr(md, "CPU evidence"));
    free(md);
}

static void cpu_machine_says_so(void **state)
{
    (void)state;
    char *md = render("cpu", NULL);
    assert_non_null(strstr(md, "no GPU on this machine"));
    assert_non_null(strstr(md, "## CPU evidence (no GPU on this machine)"));
    assert_non_null(strstr(md, "**CPU + RAM (primary)**"));
    assert_non_null(strstr(md, "## Step 1: Idle baseline"));
    assert_non_null(strstr(md, "an estimate, not a measurement"));
    assert_null(strstr(md, "## GPU usage evidence"));
    free(md);
}

static void low_util(json_t *s)
{
    json_t *g = json_array_get(path_get(s, "evidence", "gpus"), 0);
    json_object_set_new(g, "max_utilization_percent", json_real(0.9));
    json_object_set_new(json_array_get(json_object_get(s, "gpu_stats"), 0),
                        "avg_utilization_percent", json_real(0.4));
}

static void low_utilisation_is_flagged(void **state)
{
    (void)state;
    char *md = render("gpu", low_util);
    assert_non_null(strstr(md, "average 0.4%, max 0.9% (low: unreliable for short bursts)"));
    assert_non_null(strstr(md, "small model's kernels finish between samples"));
    free(md);
    md = render("gpu", NULL); /* 35%: not flagged */
    assert_null(strstr(md, "unreliable for short bursts"));
    free(md);
}

static void not_used(json_t *s)
{
    json_object_set_new(json_object_get(s, "evidence"), "gpu_active", json_false());
    json_t *g = json_array_get(path_get(s, "evidence", "gpus"), 0);
    json_object_set_new(g, "used", json_false());
    json_object_set_new(g, "memory_growth_mb", json_real(0));
    json_object_set_new(g, "power_rise_w", json_real(0.5));
}

static void verdict_gpu_not_used(void **state)
{
    (void)state;
    char *md = render("gpu", not_used);
    assert_non_null(strstr(md, "**Verdict: GPU not used.**"));
    assert_non_null(strstr(md, "| **Used** | **no** |"));
    assert_null(strstr(md, "**met**"));
    free(md);
}

static void troubled(json_t *s)
{
    json_object_set_new(s, "interrupted", json_true());
    json_object_set_new(s, "name", json_string("a|b"));
    json_object_set_new(json_object_get(s, "energy"), "short_window", json_true());
    json_object_set_new(json_object_get(s, "energy"), "idle_baseline_s", json_null());
    json_object_set_new(json_object_get(s, "summary"), "tokens_estimated", json_true());
    json_object_set_new(json_object_get(s, "errors"), "timeout", json_integer(2));
    json_array_append_new(json_object_get(s, "warnings"), json_string("line one\nline | two"));
    json_object_del(json_object_get(s, "phases"), "model_load");
}

static void warnings_and_escaping(void **state)
{
    (void)state;
    char *md = render("gpu", troubled);
    assert_non_null(strstr(md, "# Benchmark report: a\\|b\n"));
    assert_non_null(strstr(md, "- Run: interrupted (Ctrl-C or SIGTERM)"));
    assert_non_null(strstr(md, "- The run was interrupted"));
    assert_non_null(strstr(md, "shorter than a counter's update period: its energy is"));
    assert_non_null(strstr(md, "- No idle baseline"));
    assert_non_null(strstr(md, "Some token counts were estimated: the server reported no usage, "
                               "so output tokens are counted from streamed chunks and prompt "
                               "tokens at 4 characters a token"));
    assert_non_null(strstr(md, "| Failures by kind | timeout 2 |"));
    assert_non_null(strstr(md, "- line one line \\| two\n"));
    assert_non_null(strstr(md, "The backend loaded no model inside the measured run"));
    free(md);
}

/* The sampler's health: a line in the methods, and a warning only when it
 * woke late by more than half its interval (meter.quality.late_warning). */
static void sampler_quality(json_t *s, int late)
{
    json_t *q = json_pack("{s:i, s:i, s:{s:f, s:f, s:f}, s:{s:f, s:f}, s:i, s:i, s:b}",
                          "sample_interval_ms", 20, "ticks", 500, "late_ms", "median", 0.25, "p95",
                          late ? 14.0 : 1.5, "max", 31.0, "read_ms", "median", 0.05, "max", 4.0,
                          "missed_ticks", 3, "dropped_samples", 0, "late_warning", late);
    json_object_set_new(json_object_get(s, "meter"), "quality", q);
}

static void sampler_on_time(json_t *s)
{
    sampler_quality(s, 0);
}

static void sampler_late(json_t *s)
{
    sampler_quality(s, 1);
}

/* Bounds beside the figures: Wh in the energy table, J for phases. */
static void with_bounds(json_t *s)
{
    json_t *e = json_object_get(s, "energy");
    json_object_set_new(e, "uncertainty_j",
                        json_pack("{s:f, s:f, s:f, s:f, s:f}", "energy", 36.0, "gpu", 36.0, "cpu",
                                  7.2, "ram", 0.0, "total", 43.2));
    json_object_set_new(json_object_get(e, "net"), "uncertainty_j",
                        json_pack("{s:f, s:f, s:f, s:f, s:f}", "energy", 72.0, "gpu", 72.0, "cpu",
                                  7.2, "ram", 0.0, "total", 79.2));
    json_object_set_new(json_object_get(json_object_get(s, "phases"), "prefill"), "uncertainty_j",
                        json_pack("{s:f, s:n, s:n, s:n}", "gpu", 12.5, "cpu", "dram", "ram"));
}

static void bounds_beside_figures(void **state)
{
    (void)state;
    char *md = render("gpu", with_bounds);
    assert_non_null(strstr(md, "| **GPU (primary)** | nvml_counter | 1.165 | 0.01000 | 0.8846 | "
                               "0.02000 |\n"));
    assert_non_null(strstr(md, "| **Total** |  | 1.295 | 0.01200 | 0.8846 | 0.02200 |\n"));
    assert_non_null(strstr(md, "| Prefill | 15.04 | 3752 | 12.50 | 2850 | 897 | 59.64 |\n"));
    assert_non_null(strstr(md, "±: a bound on the error of the figure beside it"));
    free(md);
    md = render("gpu", NULL); /* a summary from before bounds: empty cells, no note */
    assert_null(strstr(md, "±: a bound"));
    assert_non_null(strstr(md, "| **GPU (primary)** | nvml_counter | 1.165 |  | 0.8846 |  |\n"));
    free(md);
}

/* Net energy a little below zero: noise within its bound, news beyond it. */
static double net_u_j;

static void slightly_negative(json_t *s)
{
    json_t *net = json_object_get(json_object_get(s, "energy"), "net");
    json_object_set_new(net, "energy_wh", json_real(-0.001));
    if (!isnan(net_u_j))
        json_object_set_new(net, "uncertainty_j", json_pack("{s:f}", "energy", net_u_j));
}

static void negative_net_beyond_its_bound(void **state)
{
    (void)state;
    net_u_j = 36; /* 0.01 Wh: -0.001 Wh is within it */
    char *md = render("gpu", slightly_negative);
    assert_null(strstr(md, "is negative"));
    free(md);
    net_u_j = 0.36; /* 0.0001 Wh */
    md = render("gpu", slightly_negative);
    assert_non_null(strstr(md, "- Net GPU energy is negative beyond its bound (-0.001000 ± "
                               "0.0001000 Wh)"));
    free(md);
    net_u_j = NAN; /* a summary without bounds: any negative value is said */
    md = render("gpu", slightly_negative);
    assert_non_null(strstr(md, "is negative beyond its bound (-0.001000 ± ? Wh)"));
    free(md);
}

static void sampler_health(void **state)
{
    (void)state;
    char *md = render("gpu", sampler_on_time);
    assert_non_null(strstr(md, "- Sampler: every 20 ms; woke late by 0.25 ms (median), 1.5 ms "
                               "(95th percentile), 31 ms (most); reads took 0.05 ms (median); 3 "
                               "tick(s) skipped, 0 sample(s) dropped.\n"));
    assert_null(strstr(md, "The sampler often woke late"));
    free(md);
    md = render("gpu", sampler_late);
    assert_non_null(strstr(md, "- The sampler often woke late (95th percentile 14 ms, more than "
                               "half its 20 ms interval)"));
    free(md);
    md = render("gpu", NULL); /* summaries written before the figures existed */
    assert_null(strstr(md, "- Sampler:"));
    free(md);
}

/* 60 requests: the table stops at 50 and says so; one failed request shows its kind. */
static void long_runs_are_cut(void **state)
{
    (void)state;
    char dir[64];
    make_run(dir, "gpu");
    char line[512];
    aieb_buf b;
    aieb_buf_init(&b, 0);
    for (int i = 59; i >= 0; i--) { /* completion order differs from index order */
        snprintf(line, sizeof line,
                 "{\"index\":%d,\"prompt_tokens\":10,\"completion_tokens\":4,\"sent_s\":%d.0,"
                 "\"done_s\":%d.5,\"latency_s\":0.5,\"ttft_ms\":100,\"tpot_ms\":20,"
                 "\"energy_j\":{\"gpu\":1.5,\"cpu\":null,\"dram\":null,\"ram\":null},"
                 "\"success\":%s,\"error_kind\":%s}\n",
                 i, 5 + i / 10, 5 + i / 10, i == 7 ? "false" : "true",
                 i == 7 ? "\"timeout\"" : "null");
        aieb_buf_puts(&b, line);
    }
    put_file(dir, "requests.jsonl", b.data);
    aieb_buf_free(&b);
    aieb_run_files f;
    aieb_err err = {0};
    assert_int_equal(aieb_run_files_load(dir, &f, &err), 0);
    assert_int_equal(json_array_size(f.requests), 60);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(f.requests, 0), "index")),
                     0);
    aieb_buf_init(&b, 0);
    assert_int_equal(aieb_report_markdown(&f, &b, &err), 0);
    assert_non_null(strstr(b.data, "\n| 49 | 10 | 4 |"));
    assert_null(strstr(b.data, "\n| 50 | 10 | 4 |"));
    assert_non_null(strstr(b.data, "the first 50 of 60 requests"));
    assert_non_null(strstr(b.data, "\n| 7 | 10 | 4 | 0.500 | 100.0 | 20.0 | 1.500 |"));
    assert_non_null(strstr(b.data, "| timeout |\n"));
    aieb_buf_free(&b);
    aieb_run_files_free(&f);
    remove_run(dir);
}

/* Power per request: the mean and peak of the samples inside [sent, done];
 * a request between two samples gets the interpolated power, marked. */
static void request_power_from_samples(void **state)
{
    (void)state;
    char dir[64];
    make_run(dir, "gpu");
    put_file(dir, "timeseries.csv",
             "t_ns,t_s,gpu0_energy_j,gpu0_power_w,gpu0_mem_used_mb\n"
             "0,0.0,0,100,1000\n1,1.0,,200,1000\n2,2.0,,400,1000\n3,3.0,,300,1000\n");
    put_file(dir, "requests.jsonl",
             "{\"index\":0,\"sent_s\":0.5,\"done_s\":2.5,\"success\":true}\n"
             "{\"index\":1,\"sent_s\":2.25,\"done_s\":2.75,\"success\":true}\n");
    aieb_run_files f;
    aieb_err err = {0};
    assert_int_equal(aieb_run_files_load(dir, &f, &err), 0);
    aieb_buf b;
    aieb_buf_init(&b, 0);
    assert_int_equal(aieb_report_markdown(&f, &b, &err), 0);
    /* Request 0 holds the samples at 1 s and 2 s: mean 300, peak 400. */
    assert_non_null(strstr(b.data, "| 300.0 | 400.0 | ok |"));
    /* Request 1: 375 W at 2.25 s, 325 W at 2.75 s. */
    assert_non_null(strstr(b.data, "| 350.0* | 375.0* | ok |"));
    assert_non_null(strstr(b.data, "interpolated from the samples around it"));
    aieb_buf_free(&b);
    aieb_run_files_free(&f);
    remove_run(dir);
}

static void missing_optional_files(void **state)
{
    (void)state;
    char dir[64], path[512];
    make_run(dir, "cpu");
    snprintf(path, sizeof path, "%s/requests.jsonl", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/timeseries.csv", dir);
    unlink(path);
    aieb_err err = {0};
    assert_int_equal(aieb_report_write_all(dir, &err), 0);
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *md = slurp(path);
    assert_non_null(md);
    assert_non_null(strstr(md, "requests.jsonl is missing"));
    assert_non_null(strstr(md, "timeseries.csv is missing"));
    assert_null(strstr(md, "power.png"));
    free(md);
    snprintf(path, sizeof path, "%s/power.png", dir);
    assert_int_equal(access(path, F_OK), -1); /* no timeline, no plot */
    remove_run(dir);
}

/* ==== Key figures and comparison =========================================== */

static void key_figures_match_summary(void **state)
{
    (void)state;
    char dir[64];
    make_run(dir, "gpu");
    aieb_run_files f;
    aieb_err err = {0};
    assert_int_equal(aieb_run_files_load(dir, &f, &err), 0);
    json_t *k = aieb_report_key_figures(&f);
    assert_non_null(k);
    json_t *s = f.summary;
    assert_float_equal(json_real_value(json_object_get(k, "energy_wh")),
                       json_real_value(path_get(s, "energy", "energy_wh")), 0);
    assert_float_equal(
        json_real_value(json_object_get(k, "ttft_ms_p50")),
        json_real_value(json_object_get(path_get(s, "latency", "ttft_ms"), "median")), 0);
    assert_string_equal(json_string_value(json_object_get(k, "backend")), "native");
    assert_true(json_is_true(json_object_get(k, "gpu_active")));
    assert_int_equal(json_integer_value(json_object_get(k, "requests_ok")), 4);
    assert_string_equal(json_string_value(json_object_get(k, "run_dir")), dir);
    json_decref(k);
    aieb_run_files_free(&f);
    remove_run(dir);
}

static void compare_two_runs(void **state)
{
    (void)state;
    char d1[64], d2[64];
    make_run(d1, "gpu");
    make_run(d2, "cpu");
    aieb_run_files runs[2];
    aieb_err err = {0};
    assert_int_equal(aieb_run_files_load(d1, &runs[0], &err), 0);
    assert_int_equal(aieb_run_files_load(d2, &runs[1], &err), 0);
    aieb_buf b;
    aieb_buf_init(&b, 0);
    assert_int_equal(aieb_report_compare(runs, 2, &b, &err), 0);
    assert_non_null(strstr(b.data, "| Metric | 1: quickstart "));
    assert_non_null(strstr(b.data, "| Backend / model | native / synthetic:"));
    assert_non_null(strstr(b.data, "| Primary metric | gpu | cpu+ram |"));
    /* Run 2's energy with its ratio to run 1's, formatted as the table does. */
    double e1 = json_real_value(path_get(runs[0].summary, "energy", "energy_wh"));
    double e2 = json_real_value(path_get(runs[1].summary, "energy", "energy_wh"));
    char want[128];
    snprintf(want, sizeof want, "(x%.2f) |\n| Energy, total (Wh)", e2 / e1);
    assert_non_null(strstr(b.data, want));
    assert_non_null(strstr(b.data, "| TTFT p50 (ms) |"));
    assert_non_null(strstr(b.data, "Ratios are to run 1."));
    /* what the runs were, beside their figures; a GPU figure against a CPU one */
    assert_non_null(strstr(b.data, "| Status | completed | completed |"));
    assert_non_null(strstr(b.data, "| Repetitions | 1 | 1 |"));
    assert_non_null(strstr(b.data, "| Concurrency |"));
    assert_non_null(strstr(b.data, "| Requests ok / planned |"));
    assert_non_null(strstr(b.data, "**Warning:** run 2's primary metric is cpu+ram energy, run "
                                   "1's is gpu"));
    assert_non_null(strstr(b.data, "do not all have repetitions"));
    aieb_buf_free(&b);
    /* with repetitions: intervals that overlap, then ones that do not */
    json_t *ci1 = json_pack("{s:i, s:{s:{s:[f, f]}}}", "n", 3, "figures", "wh_per_1000_queries",
                            "ci95", 10.0, 12.0);
    json_t *ci2 = json_pack("{s:i, s:{s:{s:[f, f]}}}", "n", 3, "figures", "wh_per_1000_queries",
                            "ci95", 11.5, 13.0);
    json_object_set_new(runs[0].summary, "repetitions", ci1);
    json_object_set_new(runs[1].summary, "repetitions", ci2);
    aieb_buf_init(&b, 0);
    assert_int_equal(aieb_report_compare(runs, 2, &b, &err), 0);
    assert_non_null(strstr(b.data, "| Repetitions | 3 | 3 |"));
    assert_non_null(strstr(b.data, "- Wh per 1000 queries, run 2: within the intervals: not a "
                                   "clear difference (11.50..13.00 vs 10.00..12.00)."));
    aieb_buf_free(&b);
    json_t *wh = path_get(path_get(runs[1].summary, "repetitions", "figures"),
                          "wh_per_1000_queries", "ci95");
    json_array_set_new(wh, 0, json_real(12.5));
    aieb_buf_init(&b, 0);
    assert_int_equal(aieb_report_compare(runs, 2, &b, &err), 0);
    assert_non_null(strstr(b.data, "run 2: **differs beyond the intervals** (12.50..13.00"));
    aieb_buf_free(&b);
    /* A figure missing in the first run: no ratio. */
    json_object_set_new(json_object_get(runs[0].summary, "energy"), "emissions_g_co2eq",
                        json_null());
    aieb_buf_init(&b, 0);
    assert_int_equal(aieb_report_compare(runs, 2, &b, &err), 0);
    const char *row = strstr(b.data, "| Emissions (gCO2e) | n/a |");
    assert_non_null(row);
    assert_non_null(strstr(row, "(n/a) |"));
    aieb_buf_free(&b);
    assert_int_equal(aieb_report_compare(runs, 0, &b, &err), AIEB_EINVAL);
    aieb_run_files_free(&runs[0]);
    aieb_run_files_free(&runs[1]);
    remove_run(d1);
    remove_run(d2);
}

/* ==== Reading a run directory: errors ====================================== */

static void load_errors(void **state)
{
    (void)state;
    aieb_run_files f;
    aieb_err err = {0};
    assert_int_equal(aieb_run_files_load("/nonexistent/aieb-run", &f, &err), AIEB_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no such run directory"));

    char dir[64];
    make_run(dir, "cpu");
    char path[512];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    assert_int_equal(aieb_run_files_load(path, &f, &err), AIEB_EINVAL); /* a file */
    assert_non_null(strstr(err.msg, "not a directory"));

    put_file(dir, "summary.json", "{\"name\": ");
    assert_int_equal(aieb_run_files_load(dir, &f, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "summary.json"));
    put_file(dir, "summary.json", "[1, 2]");
    assert_int_equal(aieb_run_files_load(dir, &f, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "not a JSON object"));

    put_file(dir, "summary.json", "{}");
    put_file(dir, "requests.jsonl", "{\"index\":0}\n{\"index\":1,\n");
    assert_int_equal(aieb_run_files_load(dir, &f, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "requests.jsonl:2:"));
    put_file(dir, "requests.jsonl", "{\"index\":0}\n\n[3]\n");
    assert_int_equal(aieb_run_files_load(dir, &f, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "requests.jsonl:3: not a JSON object"));
    put_file(dir, "requests.jsonl", "");

    put_file(dir, "timeseries.csv", "t_ns,t_s,gpu0_power_w\n1,0.1,5\n2,0.2\n");
    assert_int_equal(aieb_run_files_load(dir, &f, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "timeseries.csv:3: 2 cells, the header has 3"));
    put_file(dir, "timeseries.csv", "t_ns,t_s\n1,0.1,5\n");
    assert_int_equal(aieb_run_files_load(dir, &f, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "more cells than the header"));
    put_file(dir, "timeseries.csv", "t_ns,t_s\n1,abc\n");
    assert_int_equal(aieb_run_files_load(dir, &f, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "timeseries.csv:2: cell 2 is not a number"));

    /* A summary with nothing in it still renders (every figure n/a). */
    put_file(dir, "timeseries.csv", "");
    assert_int_equal(aieb_run_files_load(dir, &f, &err), 0);
    aieb_buf b;
    aieb_buf_init(&b, 0);
    assert_int_equal(aieb_report_markdown(&f, &b, &err), 0);
    assert_non_null(strstr(b.data, "## Executive summary"));
    aieb_buf_free(&b);
    /* ... but not past the buffer's cap. */
    aieb_buf_init(&b, 100);
    assert_int_equal(aieb_report_markdown(&f, &b, &err), AIEB_ETOOBIG);
    aieb_buf_free(&b);
    aieb_run_files_free(&f);

    unlink(path);
    assert_int_equal(aieb_run_files_load(dir, &f, &err), AIEB_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no summary.json"));
    remove_run(dir);
}

static void timeseries_parsing(void **state)
{
    (void)state;
    aieb_timeseries ts;
    aieb_err err = {0};
    const char *csv = "t_ns,t_s,cpu_power_w\r\n10,0.5,\r\n20,1.5,7.25\r\n";
    assert_int_equal(aieb_timeseries_parse(csv, strlen(csv), &ts, &err), 0);
    assert_int_equal(ts.n_rows, 2);
    assert_int_equal(ts.n_cols, 3);
    assert_int_equal(ts.t_col, 1);
    int c = aieb_timeseries_column(&ts, "cpu_power_w");
    assert_int_equal(c, 2);
    assert_int_equal(aieb_timeseries_column(&ts, "gpu0_power_w"), -1);
    assert_true(isnan(aieb_timeseries_at(&ts, 0, c)));
    assert_float_equal(aieb_timeseries_at(&ts, 1, c), 7.25, 0);
    assert_true(isnan(aieb_timeseries_at(&ts, 2, c)));
    assert_true(isnan(aieb_timeseries_at(&ts, 0, 9)));
    aieb_timeseries_free(&ts);

    /* Columns past the cap. */
    aieb_buf b;
    aieb_buf_init(&b, 0);
    aieb_buf_puts(&b, "t_s");
    for (int i = 0; i < AIEB_REPORT_MAX_COLUMNS; i++)
        aieb_buf_printf(&b, ",c%d", i);
    aieb_buf_puts(&b, "\n");
    assert_int_equal(aieb_timeseries_parse(b.data, b.len, &ts, &err), AIEB_ETOOBIG);
    assert_non_null(strstr(err.msg, "columns"));
    aieb_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(golden_gpu),
        cmocka_unit_test(sampler_health),
        cmocka_unit_test(bounds_beside_figures),
        cmocka_unit_test(negative_net_beyond_its_bound),
        cmocka_unit_test(golden_cpu),
        cmocka_unit_test(gpu_sections_in_order),
        cmocka_unit_test(cpu_machine_says_so),
        cmocka_unit_test(low_utilisation_is_flagged),
        cmocka_unit_test(verdict_gpu_not_used),
        cmocka_unit_test(warnings_and_escaping),
        cmocka_unit_test(long_runs_are_cut),
        cmocka_unit_test(request_power_from_samples),
        cmocka_unit_test(missing_optional_files),
        cmocka_unit_test(key_figures_match_summary),
        cmocka_unit_test(compare_two_runs),
        cmocka_unit_test(load_errors),
        cmocka_unit_test(timeseries_parsing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
