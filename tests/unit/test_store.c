/* test_store.c - the results store on real SQLite files in a temporary
 * directory: a run written and read back table by table, history filters and
 * order, runs by id, the version-1 fixture, a newer schema refused, files that
 * are not aieb databases, and several processes writing at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "aieb/fileio.h"
#include "aieb/store.h"

/* ==== Helpers ============================================================== */

static char tmp[64];

static int setup(void **state)
{
    snprintf(tmp, sizeof tmp, "/tmp/aieb-store-XXXXXX");
    return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_in(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", tmp, name);
}

/* The golden GPU run's summary.json, with repetitions and an energy_star
 * section added, as run_id/name/started_at/model given. */
static json_t *summary(const char *run_id, const char *name, const char *started, const char *model)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/golden/report/gpu/summary.json",
             getenv("AIEB_SOURCE_DIR") ? getenv("AIEB_SOURCE_DIR") : ".");
    json_error_t je;
    json_t *s = json_load_file(path, 0, &je);
    assert_non_null(s);
    json_object_set_new(s, "run_id", json_string(run_id));
    json_object_set_new(s, "name", json_string(name));
    json_object_set_new(s, "started_at", json_string(started));
    json_object_set_new(json_object_get(s, "config"), "model", json_string(model));
    json_t *reps = json_pack("{s:i, s:i, s:i, s:{s:{s:f, s:f, s:[f,f], s:[f,f,f]}}}", "n", 3,
                             "planned", 3, "cut_short", 0, "figures", "energy_wh", "mean", 0.4,
                             "std", 0.1, "ci95", 0.15, 0.65, "values", 0.3, 0.4, 0.5);
    json_object_set_new(s, "repetitions", reps);
    json_t *es =
        json_pack("{s:i, s:{s:f, s:f, s:i, s:[f,f]}, s:{s:f, s:f, s:i, s:[f,f]}, s:f}",
                  "repetitions", 3, "prefill", "gpu_wh", 0.1, "duration_s", 1.5, "tokens", 100,
                  "gpu_wh_ci95", 0.09, 0.11, "generate", "gpu_wh", 0.5, "duration_s", 6.0, "tokens",
                  400, "gpu_wh_ci95", 0.45, 0.55, "gpu_wh_per_1000_queries", 62.5);
    json_object_set_new(s, "energy_star", es);
    return s;
}

static void record(const char *db, const char *run_id, const char *name, const char *started,
                   const char *model, const char *run_dir)
{
    json_t *s = summary(run_id, name, started, model);
    aieb_store_run run = {.summary = s, .run_dir = run_dir};
    aieb_err err = {0};
    int rc = aieb_store_record_at(db, &run, &err);
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(rc, 0);
    json_decref(s);
}

/* One integer from a query run on the file directly. */
static long sql_int(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long v = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

static double sql_real(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    double v = sqlite3_column_type(st, 0) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

/* A text result into buf. */
static void sql_text(const char *db, const char *sql, char *buf, size_t size)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(h);
}

static void sql_exec(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
    if (rc)
        fprintf(stderr, "%s\n", msg);
    sqlite3_free(msg);
    assert_int_equal(rc, SQLITE_OK);
    sqlite3_close(h);
}

/* ==== Writing and reading back ============================================= */

static void record_and_read_back(void **state)
{
    char db[256];
    path_in(db, sizeof db, "nested/dir/aieb.db");
    record(db, "20261126T145848Z", "quickstart", "2026-11-26T14:58:48Z", "model-a", "/runs/a");

    assert_int_equal(sql_int(db, "PRAGMA user_version"), AIEB_STORE_SCHEMA_VERSION);
    assert_int_equal(sql_int(db, "PRAGMA application_id"), AIEB_STORE_APPLICATION_ID);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM runs"), 1);
    /* headline columns are summary.json's figures */
    assert_float_equal(sql_real(db, "SELECT energy_wh FROM runs"), 1.164697131, 1e-12);
    assert_float_equal(sql_real(db, "SELECT wh_per_1000_queries FROM runs"), 291.1742828, 1e-9);
    assert_float_equal(sql_real(db, "SELECT ttft_ms_p50 FROM runs"), 2395.187133, 1e-9);
    assert_float_equal(sql_real(db, "SELECT gpu_wh_per_1000_queries FROM runs"), 62.5, 1e-12);
    assert_int_equal(sql_int(db, "SELECT repetitions FROM runs"), 3);
    assert_int_equal(sql_int(db, "SELECT status = 'completed' AND method = 'energy_star' AND "
                                 "gpu_model = '1 x Fake NVIDIA H100 80GB HBM3' FROM runs"),
                     1);
    /* the whole summary is kept: a field no column holds is still there */
    assert_int_equal(
        sql_int(db, "SELECT json_extract(summary_json, '$.energy_star.generate.tokens') FROM runs"),
        400);
    assert_int_equal(sql_int(db, "SELECT length(config_yaml) > 100 FROM runs"), 1);
    /* energy per domain, phases of both kinds, repetition statistics, GPUs */
    assert_float_equal(sql_real(db, "SELECT energy_wh FROM energy WHERE domain = 'gpu'"),
                       1.164697131, 1e-12);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM phases WHERE source = 'phases'"), 5);
    assert_float_equal(
        sql_real(db,
                 "SELECT gpu_wh FROM phases WHERE source = 'energy_star' AND phase = 'generate'"),
        0.5, 1e-12);
    assert_float_equal(sql_real(db, "SELECT ci95_high FROM repetition_stats WHERE figure = "
                                    "'energy_star.generate.gpu_wh'"),
                       0.55, 1e-12);
    assert_float_equal(sql_real(db, "SELECT std FROM repetition_stats WHERE figure = 'energy_wh'"),
                       0.1, 1e-12);
    assert_int_equal(sql_int(db, "SELECT used FROM gpus WHERE gpu_index = 0"), 1);

    /* recorded again: replaced, not doubled, child rows included */
    record(db, "20261126T145848Z", "quickstart", "2026-11-26T14:58:48Z", "model-a", "/runs/a");
    assert_int_equal(sql_int(db, "SELECT count(*) FROM runs"), 1);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM phases"), 7);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM repetition_stats"), 3);

    aieb_store *s = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_store_open(db, 0, &s, &err), 0);
    json_t *h = NULL;
    assert_int_equal(aieb_store_history(s, NULL, &h, &err), 0);
    assert_int_equal(json_array_size(h), 1);
    json_t *r = json_array_get(h, 0);
    assert_string_equal(json_string_value(json_object_get(r, "run_id")), "20261126T145848Z");
    assert_string_equal(json_string_value(json_object_get(r, "backend")), "native");
    assert_string_equal(json_string_value(json_object_get(r, "primary")), "gpu");
    assert_string_equal(json_string_value(json_object_get(r, "run_dir")), "/runs/a");
    assert_float_equal(json_real_value(json_object_get(r, "energy_wh")), 1.164697131, 1e-12);
    assert_int_equal(json_integer_value(json_object_get(r, "requests_ok")), 4);
    json_decref(h);
    aieb_store_close(s);
}

static void a_summary_without_ids_is_refused(void **state)
{
    char db[256];
    path_in(db, sizeof db, "aieb.db");
    json_t *s = json_pack("{s:s}", "name", "x");
    aieb_store_run run = {.summary = s};
    aieb_err err = {0};
    assert_int_equal(aieb_store_record_at(db, &run, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "run_id"));
    assert_int_equal(sql_int(db, "SELECT count(*) FROM runs"), 0);
    json_decref(s);
}

static void status_from_a_summary(void **state)
{
    json_t *s = json_pack("{s:b, s:b, s:{s:i, s:i}}", "interrupted", 0, "failed_fast", 0, "summary",
                          "successful_prompts", 3, "failed_prompts", 1);
    assert_string_equal(aieb_store_summary_status(s), "completed");
    json_object_set_new(json_object_get(s, "summary"), "successful_prompts", json_integer(0));
    assert_string_equal(aieb_store_summary_status(s), "failed");
    json_object_set_new(s, "failed_fast", json_true());
    assert_string_equal(aieb_store_summary_status(s), "failed_fast");
    json_object_set_new(s, "interrupted", json_true());
    assert_string_equal(aieb_store_summary_status(s), "interrupted");
    json_object_set_new(s, "status", json_string("completed")); /* stated wins */
    assert_string_equal(aieb_store_summary_status(s), "completed");
    json_object_set_new(s, "status", json_string("weird")); /* unknown: derived */
    assert_string_equal(aieb_store_summary_status(s), "interrupted");
    json_decref(s);
}

/* ==== History and runs by id =============================================== */

static void history_filters_and_order(void **state)
{
    char db[256];
    path_in(db, sizeof db, "aieb.db");
    record(db, "20261201T100000Z", "alpha", "2026-12-01T10:00:00Z", "Qwen/Qwen3-0.6B", NULL);
    record(db, "20261203T100000Z", "beta", "2026-12-03T10:00:00Z", "meta/Llama-3", NULL);
    record(db, "20261202T100000Z", "alpha-long", "2026-12-02T10:00:00Z", "qwen/qwen3-8b", NULL);
    aieb_store *s = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_store_open(db, 0, &s, &err), 0);
    json_t *h = NULL;
    assert_int_equal(aieb_store_history(s, NULL, &h, &err), 0);
    assert_int_equal(json_array_size(h), 3); /* newest first */
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "name")), "beta");
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 2), "name")), "alpha");
    json_decref(h);

    aieb_store_filter f = {.model = "QWEN3"};
    assert_int_equal(aieb_store_history(s, &f, &h, &err), 0);
    assert_int_equal(json_array_size(h), 2);
    json_decref(h);
    f = (aieb_store_filter){.name = "alpha", .limit = 1};
    assert_int_equal(aieb_store_history(s, &f, &h, &err), 0);
    assert_int_equal(json_array_size(h), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "name")),
                        "alpha-long");
    json_decref(h);
    /* since: a day includes that day; a time compares to the second */
    f = (aieb_store_filter){.since = "2026-12-02"};
    assert_int_equal(aieb_store_history(s, &f, &h, &err), 0);
    assert_int_equal(json_array_size(h), 2);
    json_decref(h);
    f = (aieb_store_filter){.since = "2026-12-02 10:00:01Z"};
    assert_int_equal(aieb_store_history(s, &f, &h, &err), 0);
    assert_int_equal(json_array_size(h), 1);
    json_decref(h);
    f = (aieb_store_filter){.since = "2027-01-01T00:00"};
    assert_int_equal(aieb_store_history(s, &f, &h, &err), 0);
    assert_int_equal(json_array_size(h), 0);
    json_decref(h);
    static const char *const bad[] = {"yesterday", "2026-12", "2026-13-01", "2026-12-01T1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        f = (aieb_store_filter){.since = bad[i]};
        assert_int_equal(aieb_store_history(s, &f, &h, &err), AIEB_EINVAL);
        assert_null(h);
        assert_non_null(strstr(err.msg, "YYYY-MM-DD"));
    }
    aieb_store_close(s);
}

static void runs_by_id(void **state)
{
    char db[256];
    path_in(db, sizeof db, "aieb.db");
    record(db, "20261201T100000Z", "alpha", "2026-12-01T10:00:00Z", "m", "/runs/alpha/1");
    record(db, "20261201T100000Z", "beta", "2026-12-01T10:00:00Z", "m", NULL);
    record(db, "20261202T100000Z", "alpha", "2026-12-02T10:00:00Z", "m", "/runs/alpha/2");
    record(db, "20261202T100000Z-2", "alpha", "2026-12-02T10:00:00Z", "m", "/runs/alpha/3");
    aieb_store *s = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_store_open(db, 0, &s, &err), 0);
    aieb_run_files f;

    /* a unique prefix */
    assert_int_equal(aieb_store_load_run(s, "20261202T100000Z-", &f, &err), 0);
    assert_string_equal(f.dir, "/runs/alpha/3");
    assert_string_equal(json_string_value(json_object_get(f.summary, "run_id")),
                        "20261202T100000Z-2");
    assert_int_equal(json_array_size(f.requests), 0);
    assert_int_equal(f.ts.n_rows, 0);
    aieb_run_files_free(&f);
    /* an exact id wins over the longer ids it starts */
    assert_int_equal(aieb_store_load_run(s, "20261202T100000Z", &f, &err), 0);
    assert_string_equal(f.dir, "/runs/alpha/2");
    aieb_run_files_free(&f);
    /* the same id under two names: ambiguous, listed, told apart by NAME/ */
    assert_int_equal(aieb_store_load_run(s, "20261201", &f, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "matches 2 runs"));
    assert_non_null(strstr(err.msg, "alpha/20261201T100000Z"));
    assert_non_null(strstr(err.msg, "beta/20261201T100000Z"));
    assert_non_null(strstr(err.msg, "NAME/RUN_ID"));
    assert_null(f.summary);
    assert_int_equal(aieb_store_load_run(s, "beta/2026", &f, &err), 0);
    assert_string_equal(json_string_value(json_object_get(f.summary, "name")), "beta");
    /* no directory recorded: named after the database */
    char want[300];
    snprintf(want, sizeof want, "%s:20261201T100000Z", db);
    assert_string_equal(f.dir, want);
    aieb_run_files_free(&f);
    assert_int_equal(aieb_store_load_run(s, "1999", &f, &err), AIEB_ENOTFOUND);
    assert_non_null(strstr(err.msg, "aieb history"));
    assert_int_equal(aieb_store_load_run(s, "gamma/2026", &f, &err), AIEB_ENOTFOUND);
    assert_int_equal(aieb_store_load_run(s, "alpha/", &f, &err), AIEB_EINVAL);
    aieb_store_close(s);
}

/* ==== Versions and files that are not ours ================================= */

/* The version-1 fixture (tests/fixtures/store/v1.sql), loaded into a fresh
 * file, opens with this code: its run is listed and loaded, and a new run is
 * added beside it. */
static void a_version_1_database_opens(void **state)
{
    char db[256], fixture[512];
    path_in(db, sizeof db, "v1.db");
    snprintf(fixture, sizeof fixture, "%s/tests/fixtures/store/v1.sql",
             getenv("AIEB_SOURCE_DIR") ? getenv("AIEB_SOURCE_DIR") : ".");
    char *sql = NULL;
    size_t len = 0;
    aieb_err err = {0};
    assert_int_equal(aieb_read_file(fixture, 1 << 20, &sql, &len, &err), 0);
    sql_exec(db, sql);
    free(sql);
    assert_int_equal(sql_int(db, "PRAGMA user_version"), 1);

    aieb_store *s = NULL;
    assert_int_equal(aieb_store_open(db, 0, &s, &err), 0);
    json_t *h = NULL;
    assert_int_equal(aieb_store_history(s, NULL, &h, &err), 0);
    assert_int_equal(json_array_size(h), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "name")),
                        "native-e2e");
    json_decref(h);
    aieb_run_files f;
    assert_int_equal(aieb_store_load_run(s, "20261204T041945Z", &f, &err), 0);
    assert_string_equal(f.dir, "/data/runs/native-e2e/20261204T041945Z");
    assert_string_equal(json_string_value(json_object_get(f.summary, "status")), "completed");
    aieb_run_files_free(&f);
    json_t *sm = summary("20261205T000000Z", "new", "2026-12-05T00:00:00Z", "m");
    aieb_store_run run = {.summary = sm};
    assert_int_equal(aieb_store_record(s, &run, &err), 0);
    json_decref(sm);
    aieb_store_close(s);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM runs"), 2);
    assert_int_equal(sql_int(db, "PRAGMA user_version"), AIEB_STORE_SCHEMA_VERSION);
}

static void a_newer_schema_is_refused(void **state)
{
    char db[256];
    path_in(db, sizeof db, "aieb.db");
    record(db, "20261201T100000Z", "alpha", "2026-12-01T10:00:00Z", "m", NULL);
    sql_exec(db, "PRAGMA user_version = 99");
    aieb_store *s = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_store_open(db, 0, &s, &err), AIEB_EUNSUPPORTED);
    assert_null(s);
    assert_non_null(strstr(err.msg, "schema version 99 is newer"));
    assert_non_null(strstr(err.msg, "newer aieb"));
    /* and nothing was written to it */
    assert_int_equal(sql_int(db, "PRAGMA user_version"), 99);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM runs"), 1);
    /* a newer file in rollback-journal mode is not even switched to WAL */
    path_in(db, sizeof db, "newer-delete.db");
    sql_exec(db, "PRAGMA user_version = 2");
    assert_int_equal(aieb_store_open(db, 1, &s, &err), AIEB_EUNSUPPORTED);
    char mode[32];
    sql_text(db, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "delete");
}

static void files_that_are_not_aieb_databases(void **state)
{
    char db[256];
    aieb_store *s = NULL;
    aieb_err err = {0};

    path_in(db, sizeof db, "missing.db");
    assert_int_equal(aieb_store_open(db, 0, &s, &err), AIEB_ENOTFOUND);
    assert_non_null(strstr(err.msg, "--db FILE"));
    assert_int_equal(access(db, F_OK), -1); /* not created by a reader */

    path_in(db, sizeof db, "garbage.db");
    FILE *fp = fopen(db, "w");
    assert_non_null(fp);
    for (int i = 0; i < 200; i++)
        fputs("this is not an SQLite file\n", fp);
    fclose(fp);
    assert_int_equal(aieb_store_open(db, 1, &s, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "not an SQLite database"));
    assert_non_null(strstr(err.msg, "reporter.database"));

    path_in(db, sizeof db, "other.db");
    sql_exec(db, "CREATE TABLE runs (x INTEGER)");
    assert_int_equal(aieb_store_open(db, 1, &s, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "that aieb did not make"));
    char mode[32];
    sql_text(db, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "delete"); /* refused before anything changed */

    path_in(db, sizeof db, "app.db");
    sql_exec(db, "PRAGMA application_id = 42");
    assert_int_equal(aieb_store_open(db, 1, &s, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "another program's"));

    assert_int_equal(aieb_store_open(tmp, 1, &s, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "a directory"));

    /* an empty file is a new database */
    path_in(db, sizeof db, "empty.db");
    fp = fopen(db, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(aieb_store_open(db, 0, &s, &err), 0);
    aieb_store_close(s);
    assert_int_equal(sql_int(db, "PRAGMA user_version"), AIEB_STORE_SCHEMA_VERSION);
}

static void wal_mode(void **state)
{
    char db[256];
    path_in(db, sizeof db, "aieb.db");
    record(db, "20261201T100000Z", "alpha", "2026-12-01T10:00:00Z", "m", NULL);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(h);
}

/* ==== Several writers ====================================================== */

/* Processes released together by a pipe, each opening the (new) file and
 * recording its runs one transaction each, while the others do: every run
 * lands. The busy timeout makes each wait its turn; nothing here depends on
 * how the scheduler interleaves them. */
static void concurrent_writers_all_land(void **state)
{
    enum { N_PROC = 4, N_RUNS = 15 };
    char db[256];
    path_in(db, sizeof db, "shared/aieb.db");
    int gate[2];
    assert_int_equal(pipe(gate), 0);
    pid_t pids[N_PROC];
    for (int p = 0; p < N_PROC; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            close(gate[1]);
            char c;
            if (read(gate[0], &c, 1) != 0) /* EOF: the parent let go */
                _exit(3);
            int bad = 0;
            for (int k = 0; k < N_RUNS; k++) {
                char id[32], name[32];
                snprintf(id, sizeof id, "20261201T1000%02dZ", k);
                snprintf(name, sizeof name, "writer-%d", p);
                json_t *sm = summary(id, name, "2026-12-01T10:00:00Z", "m");
                aieb_store_run run = {.summary = sm};
                aieb_err err = {0};
                if (aieb_store_record_at(db, &run, &err) != 0) {
                    fprintf(stderr, "writer %d: %s\n", p, err.msg);
                    bad = 1;
                }
                json_decref(sm);
            }
            _exit(bad);
        }
    }
    close(gate[0]);
    close(gate[1]); /* all start now */
    for (int p = 0; p < N_PROC; p++) {
        int st = 0;
        assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    assert_int_equal(sql_int(db, "SELECT count(*) FROM runs"), N_PROC * N_RUNS);
    assert_int_equal(sql_int(db, "SELECT count(DISTINCT name) FROM runs"), N_PROC);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM phases"), N_PROC * N_RUNS * 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(record_and_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(a_summary_without_ids_is_refused, setup, teardown),
        cmocka_unit_test(status_from_a_summary),
        cmocka_unit_test_setup_teardown(history_filters_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(runs_by_id, setup, teardown),
        cmocka_unit_test_setup_teardown(a_version_1_database_opens, setup, teardown),
        cmocka_unit_test_setup_teardown(a_newer_schema_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(files_that_are_not_aieb_databases, setup, teardown),
        cmocka_unit_test_setup_teardown(wal_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_writers_all_land, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
