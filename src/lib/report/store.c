/* store.c - the results store (store.h): opening the SQLite database, its
 * schema and migrations, and recording a run. Reading runs back is in
 * store_query.c. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "aieb/buf.h"
#include "aieb/clock.h"
#include "aieb/fileio.h"
#include "aieb/store.h"
#include "report/report_internal.h"
#include "report/store_internal.h"

/* ==== Schema =============================================================== */

/* Version 1. runs holds one row per run: indexed headline columns, and
 * summary.json whole (summary_json) so that what summary.json gains later is
 * kept without a schema change. The other tables hang off runs.run_key. */
static const char schema_v1[] =
    "CREATE TABLE runs ("
    " run_key INTEGER PRIMARY KEY,"
    " run_id TEXT NOT NULL, name TEXT NOT NULL,"
    " started_at TEXT NOT NULL, ended_at TEXT, recorded_at TEXT NOT NULL,"
    " status TEXT NOT NULL, method TEXT NOT NULL, aieb_version TEXT, run_dir TEXT,"
    " backend TEXT, model TEXT, endpoint TEXT, dataset TEXT,"
    " host TEXT, gpu_model TEXT, cpu_model TEXT, hardware_json TEXT, backend_info_json TEXT,"
    " config_yaml TEXT,"
    " primary_metric TEXT, energy_wh REAL, gpu_energy_wh REAL, cpu_energy_wh REAL,"
    " ram_energy_wh REAL, total_energy_wh REAL, net_energy_wh REAL,"
    " wh_per_1000_queries REAL, j_per_output_token REAL, tokens_per_joule REAL,"
    " output_tokens_per_s REAL, ttft_ms_p50 REAL, tpot_ms_p50 REAL, e2el_ms_p50 REAL,"
    " emissions_g_co2eq REAL, carbon_intensity_g_per_kwh REAL, duration_s REAL,"
    " requests_ok INTEGER, requests_failed INTEGER, planned_prompts INTEGER,"
    " output_tokens INTEGER, repetitions INTEGER, gpu_wh_per_1000_queries REAL,"
    " summary_json TEXT NOT NULL,"
    " UNIQUE (name, run_id, started_at));"
    "CREATE INDEX runs_started_at ON runs (started_at);"
    "CREATE INDEX runs_run_id ON runs (run_id);"
    "CREATE INDEX runs_model ON runs (model);"
    "CREATE TABLE energy ("
    " run_key INTEGER NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,"
    " domain TEXT NOT NULL, energy_wh REAL, net_energy_wh REAL, uncertainty_j REAL,"
    " method TEXT, PRIMARY KEY (run_key, domain));"
    "CREATE TABLE phases ("
    " run_key INTEGER NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,"
    " source TEXT NOT NULL, phase TEXT NOT NULL, duration_s REAL, tokens INTEGER,"
    " gpu_wh REAL, cpu_wh REAL, dram_wh REAL, ram_wh REAL,"
    " net_gpu_wh REAL, net_cpu_wh REAL, net_dram_wh REAL, net_ram_wh REAL,"
    " PRIMARY KEY (run_key, source, phase));"
    "CREATE TABLE repetition_stats ("
    " run_key INTEGER NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,"
    " figure TEXT NOT NULL, n INTEGER, mean REAL, std REAL, ci95_low REAL, ci95_high REAL,"
    " values_json TEXT, PRIMARY KEY (run_key, figure));"
    "CREATE TABLE gpus ("
    " run_key INTEGER NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,"
    " gpu_index INTEGER NOT NULL, name TEXT, uuid TEXT, energy_wh REAL, avg_power_w REAL,"
    " peak_power_w REAL, idle_power_w REAL, max_memory_mb REAL, max_temperature_c REAL,"
    " used INTEGER, PRIMARY KEY (run_key, gpu_index));";

/* migrations[i] takes the schema from version i to i + 1. A new version
 * appends a step (ALTER TABLE runs ADD COLUMN ..., CREATE TABLE ...) and never
 * edits an earlier one: databases in use went through those as they are. */
static const char *const migrations[] = {schema_v1};
_Static_assert(sizeof migrations / sizeof migrations[0] == AIEB_STORE_SCHEMA_VERSION,
               "one migration per schema version");

/* ==== Opening ============================================================== */

static const char db_hint[] = "move it aside, or name another database with reporter.database "
                              "(aieb run) or --db (aieb history, aieb report)";

int store_sql_fail(aieb_store *s, int rc, const char *what, aieb_err *err)
{
    const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    int prim = rc & 0xff;
    s->busy = prim == SQLITE_BUSY || prim == SQLITE_LOCKED;
    if (prim == SQLITE_NOTADB)
        return aieb_errf(err, AIEB_EINVAL, "%s: not an SQLite database (%s); %s", s->path, msg,
                         db_hint);
    if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
        return aieb_errf(err, AIEB_EIO,
                         "%s: %s: the database stayed busy for %d s (another process holds it); "
                         "try again",
                         s->path, what, AIEB_STORE_BUSY_TIMEOUT_MS / 1000);
    if (prim == SQLITE_CORRUPT)
        return aieb_errf(err, AIEB_EINVAL, "%s: %s: the database is damaged (%s); %s", s->path,
                         what, msg, db_hint);
    return aieb_errf(err, AIEB_EIO, "%s: %s: %s", s->path, what, msg);
}

int store_exec(aieb_store *s, const char *sql, const char *what, aieb_err *err)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : store_sql_fail(s, rc, what, err);
}

/* Reads the file's schema version into *version and refuses a file this
 * build must not touch: another program's (application id, or tables at
 * version 0) or a newer schema. The three figures come from one statement, so
 * from one snapshot of a file another process may be migrating. */
static int check_file(aieb_store *s, long *version, aieb_err *err)
{
    static const char sql[] = "SELECT (SELECT user_version FROM pragma_user_version),"
                              " (SELECT application_id FROM pragma_application_id),"
                              " (SELECT count(*) FROM sqlite_master WHERE type = 'table')";
    long app = 0, n_tables = 0;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *version = (long)sqlite3_column_int64(st, 0);
        app = (long)sqlite3_column_int64(st, 1);
        n_tables = (long)sqlite3_column_int64(st, 2);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return store_sql_fail(s, rc, "reading the schema version", err);
    if (app != 0 && app != AIEB_STORE_APPLICATION_ID)
        return aieb_errf(err, AIEB_EINVAL,
                         "%s: another program's SQLite database (application id %ld), not "
                         "aieb's; %s",
                         s->path, app, db_hint);
    if (*version > AIEB_STORE_SCHEMA_VERSION)
        return aieb_errf(err, AIEB_EUNSUPPORTED,
                         "%s: schema version %ld is newer than this aieb (%s) knows (%d): the "
                         "database was written by a newer aieb; use that one, or %s",
                         s->path, *version, AIEB_VERSION, AIEB_STORE_SCHEMA_VERSION, db_hint);
    if (*version == 0 && n_tables > 0)
        return aieb_errf(err, AIEB_EINVAL,
                         "%s: an SQLite database with %ld table(s) that aieb did not make; %s",
                         s->path, n_tables, db_hint);
    return 0;
}

/* Brings the schema up to AIEB_STORE_SCHEMA_VERSION, all steps in one
 * transaction taken before the version is read again, so that two processes
 * opening a new file at once migrate it once. */
static int migrate(aieb_store *s, aieb_err *err)
{
    long version = 0;
    int rc = store_exec(s, "BEGIN IMMEDIATE", "opening", err);
    if (rc)
        return rc;
    rc = check_file(s, &version, err);
    for (long v = version; !rc && v < AIEB_STORE_SCHEMA_VERSION; v++) {
        char what[64];
        snprintf(what, sizeof what, "migrating the schema from version %ld to %ld", v, v + 1);
        rc = store_exec(s, migrations[v], what, err);
    }
    if (!rc && version < AIEB_STORE_SCHEMA_VERSION) {
        char sql[96];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d; PRAGMA application_id = %d",
                 AIEB_STORE_SCHEMA_VERSION, AIEB_STORE_APPLICATION_ID);
        rc = store_exec(s, sql, "setting the schema version", err);
    }
    if (!rc)
        return store_exec(s, "COMMIT", "migrating the schema", err);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* A file this build must not touch is refused before anything changes in
 * it; then WAL mode (readers never block the writer; a writer waits for
 * another one through the busy timeout; the mode is kept in the file),
 * foreign keys (for ON DELETE CASCADE), and the schema brought up to date. */
static int prepare_file(aieb_store *s, aieb_err *err)
{
    long version = 0;
    int rc = check_file(s, &version, err);
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        rc = mode && strcmp(mode, "wal") == 0 ? SQLITE_DONE : SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK)
        rc = store_exec(s, "PRAGMA journal_mode = WAL", "setting WAL mode", err);
    else if (rc != SQLITE_DONE)
        return store_sql_fail(s, rc, "reading the journal mode", err);
    else
        rc = 0;
    if (!rc)
        rc = store_exec(s, "PRAGMA foreign_keys = ON", "enabling foreign keys", err);
    if (!rc && version < AIEB_STORE_SCHEMA_VERSION)
        rc = migrate(s, err);
    return rc;
}

int aieb_store_open(const char *path, int create, aieb_store **out, aieb_err *err)
{
    *out = NULL;
    if (!path || !*path)
        return aieb_errf(err, AIEB_EINVAL, "results database: no path given");
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno != ENOENT)
            return aieb_errf(err, AIEB_EIO, "%s: %s", path, strerror(errno));
        if (!create)
            return aieb_errf(err, AIEB_ENOTFOUND,
                             "%s: no results database here; `aieb run` records each run in "
                             "<output_dir>/" AIEB_STORE_FILE_NAME " (or reporter.database): "
                             "name yours with --db FILE",
                             path);
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
            *slash = '\0';
            int rc = aieb_mkdir_p(dir, err);
            if (rc)
                return aieb_err_prefix(err, "results database");
        }
    } else if (S_ISDIR(sb.st_mode)) {
        return aieb_errf(err, AIEB_EINVAL, "%s: a directory, not a results database file", path);
    }
    aieb_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return aieb_errf(err, AIEB_ENOMEM, "out of memory");
    }
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        rc = store_sql_fail(s, rc, "cannot open", err);
        aieb_store_close(s);
        return rc;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, AIEB_STORE_BUSY_TIMEOUT_MS);
    /* Switching to WAL and reading the schema of a file another process is
     * creating can be refused at once (SQLite calls no busy handler for some
     * of those locks): such steps are tried again until the busy timeout. */
    int64_t deadline = aieb_now_ns() + (int64_t)AIEB_STORE_BUSY_TIMEOUT_MS * 1000000;
    for (;;) {
        s->busy = 0;
        rc = prepare_file(s, err);
        if (!rc || !s->busy || aieb_now_ns() > deadline)
            break;
        aieb_sleep_ns(10 * 1000000, NULL);
    }
    if (rc) {
        aieb_store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void aieb_store_close(aieb_store *s)
{
    if (!s)
        return;
    sqlite3_close_v2(s->db);
    free(s->path);
    free(s);
}

const char *aieb_store_path(const aieb_store *s)
{
    return s->path;
}

/* ==== Recording a run ====================================================== */

const char *aieb_store_summary_status(json_t *summary)
{
    static const char *const known[] = {"completed", "interrupted", "failed_fast", "failed"};
    const char *st = rj_str(summary, "status");
    for (size_t i = 0; st && i < sizeof known / sizeof known[0]; i++)
        if (strcmp(st, known[i]) == 0)
            return known[i];
    if (rj_bool(summary, "interrupted") == 1)
        return "interrupted";
    if (rj_bool(summary, "failed_fast") == 1)
        return "failed_fast";
    double ok = rj_num(summary, "summary.successful_prompts");
    double failed = rj_num(summary, "summary.failed_prompts");
    if (ok == 0 && failed > 0)
        return "failed";
    return "completed";
}

/* The method that produced the run: summary.json's "method", else its
 * config's, else energy_star when it has that section. */
static const char *summary_method(json_t *summary)
{
    const char *m = rj_str(summary, "method");
    if (!m)
        m = rj_str(summary, "config.method");
    if (!m)
        m = json_is_object(rj_get(summary, "energy_star")) ? "energy_star" : "standard";
    return m;
}

static int bind_num(sqlite3_stmt *st, int i, double v)
{
    return isfinite(v) ? sqlite3_bind_double(st, i, v) : sqlite3_bind_null(st, i);
}

static int bind_int(sqlite3_stmt *st, int i, double v)
{
    return isfinite(v) ? sqlite3_bind_int64(st, i, (sqlite3_int64)v) : sqlite3_bind_null(st, i);
}

static int bind_str(sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

/* JSON text of v (compact), malloc'd; NULL for NULL or null. */
static char *json_text(json_t *v)
{
    return v && !json_is_null(v) ? json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
}

/* The runs columns read straight from summary.json: name, kind (s string,
 * r real, i integer), dotted path. */
static const struct {
    const char *col;
    char kind;
    const char *path;
} run_cols[] = {
    {"run_id", 's', "run_id"},
    {"name", 's', "name"},
    {"started_at", 's', "started_at"},
    {"ended_at", 's', "finished_at"},
    {"aieb_version", 's', "aieb_version"},
    {"backend", 's', "config.backend"},
    {"model", 's', "config.model"},
    {"endpoint", 's', "config.endpoint"},
    {"dataset", 's', "config.dataset"},
    {"config_yaml", 's', "config.yaml"},
    {"primary_metric", 's', "energy.primary"},
    {"energy_wh", 'r', "energy.energy_wh"},
    {"gpu_energy_wh", 'r', "energy.gpu_energy_wh"},
    {"cpu_energy_wh", 'r', "energy.cpu_energy_wh"},
    {"ram_energy_wh", 'r', "energy.ram_energy_wh"},
    {"total_energy_wh", 'r', "energy.total_energy_wh"},
    {"net_energy_wh", 'r', "energy.net.energy_wh"},
    {"wh_per_1000_queries", 'r', "energy.wh_per_1000_queries"},
    {"j_per_output_token", 'r', "energy.j_per_output_token"},
    {"tokens_per_joule", 'r', "energy.tokens_per_joule"},
    {"output_tokens_per_s", 'r', "latency.output_token_throughput"},
    {"ttft_ms_p50", 'r', "latency.ttft_ms.median"},
    {"tpot_ms_p50", 'r', "latency.tpot_ms.median"},
    {"e2el_ms_p50", 'r', "latency.e2el_ms.median"},
    {"emissions_g_co2eq", 'r', "energy.emissions_g_co2eq"},
    {"carbon_intensity_g_per_kwh", 'r', "energy.carbon_intensity_g_per_kwh"},
    {"duration_s", 'r', "energy.duration_s"},
    {"requests_ok", 'i', "summary.successful_prompts"},
    {"requests_failed", 'i', "summary.failed_prompts"},
    {"planned_prompts", 'i', "summary.planned_prompts"},
    {"output_tokens", 'i', "summary.total_completion_tokens"},
    {"gpu_wh_per_1000_queries", 'r', "energy_star.gpu_wh_per_1000_queries"},
};
#define N_RUN_COLS (sizeof run_cols / sizeof run_cols[0])
/* Computed columns, after those above. */
static const char *const extra_cols[] = {
    "recorded_at", "status",    "method",        "run_dir",           "repetitions",  "host",
    "gpu_model",   "cpu_model", "hardware_json", "backend_info_json", "summary_json",
};
#define N_EXTRA_COLS (sizeof extra_cols / sizeof extra_cols[0])

/* "<n> x <name>" from summary.json's gpu_stats (the names of the first GPU),
 * "" without GPUs. */
static void gpu_model_of(json_t *summary, char *buf, size_t size)
{
    json_t *gpus = rj_get(summary, "gpu_stats");
    size_t n = json_array_size(gpus);
    const char *name = n ? rj_str(json_array_get(gpus, 0), "name") : NULL;
    if (n)
        snprintf(buf, size, "%zu x %s", n, name ? name : "GPU");
    else
        buf[0] = '\0';
}

static int insert_run(aieb_store *s, const aieb_store_run *run, sqlite3_int64 *key, aieb_err *err)
{
    json_t *sm = run->summary;
    aieb_buf sql;
    aieb_buf_init(&sql, 0);
    int brc = aieb_buf_puts(&sql, "INSERT INTO runs (");
    for (size_t i = 0; i < N_RUN_COLS + N_EXTRA_COLS; i++)
        brc |= aieb_buf_printf(&sql, "%s%s", i ? ", " : "",
                               i < N_RUN_COLS ? run_cols[i].col : extra_cols[i - N_RUN_COLS]);
    brc |= aieb_buf_puts(&sql, ") VALUES (");
    for (size_t i = 0; i < N_RUN_COLS + N_EXTRA_COLS; i++)
        brc |= aieb_buf_puts(&sql, i ? ", ?" : "?");
    brc |= aieb_buf_puts(&sql, ")");
    if (brc) {
        aieb_buf_free(&sql);
        return aieb_errf(err, AIEB_ENOMEM, "out of memory");
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql.data, -1, &st, NULL);
    aieb_buf_free(&sql);
    if (rc != SQLITE_OK)
        return store_sql_fail(s, rc, "recording the run", err);
    int k = 1;
    for (size_t i = 0; i < N_RUN_COLS; i++, k++) {
        if (run_cols[i].kind == 's')
            bind_str(st, k, rj_str(sm, run_cols[i].path));
        else if (run_cols[i].kind == 'i')
            bind_int(st, k, rj_num(sm, run_cols[i].path));
        else
            bind_num(st, k, rj_num(sm, run_cols[i].path));
    }
    char now[32], recorded[40], gpu_model[256];
    aieb_format_utc(aieb_wall_ns(), 0, now);
    snprintf(recorded, sizeof recorded, "%sZ", now);
    bind_str(st, k++, recorded);
    bind_str(st, k++, run->status ? run->status : aieb_store_summary_status(sm));
    bind_str(st, k++, summary_method(sm));
    bind_str(st, k++, run->run_dir);
    double reps = rj_num(sm, "repetitions.n");
    bind_int(st, k++, isnan(reps) ? 1 : reps);
    gpu_model_of(sm, gpu_model, sizeof gpu_model);
    json_t *hw = run->hardware;
    const char *hw_gpu = rj_str(hw, "gpu_model");
    bind_str(st, k++, rj_str(hw, "host"));
    bind_str(st, k++, hw_gpu && *hw_gpu ? hw_gpu : (*gpu_model ? gpu_model : NULL));
    const char *cpu = rj_str(hw, "cpu_model");
    bind_str(st, k++, cpu && *cpu ? cpu : NULL);
    char *hw_text = json_text(hw), *bi_text = json_text(rj_get(sm, "backend_info"));
    char *sum_text = json_text(sm);
    sqlite3_bind_text(st, k++, hw_text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, k++, bi_text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, k++, sum_text, -1, SQLITE_TRANSIENT);
    if (!sum_text) {
        rc = aieb_errf(err, AIEB_ENOMEM, "out of memory");
    } else {
        rc = sqlite3_step(st);
        rc = rc == SQLITE_DONE ? 0 : store_sql_fail(s, rc, "recording the run", err);
    }
    free(hw_text);
    free(bi_text);
    free(sum_text);
    sqlite3_finalize(st);
    if (!rc)
        *key = sqlite3_last_insert_rowid(s->db);
    return rc;
}

/* Runs one prepared statement to completion with the bindings made by the
 * caller, then resets it for the next row. */
static int step_reset(aieb_store *s, sqlite3_stmt *st, aieb_err *err)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : store_sql_fail(s, rc, "recording the run", err);
}

static int prepare(aieb_store *s, const char *sql, sqlite3_stmt **st, aieb_err *err)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    return rc == SQLITE_OK ? 0 : store_sql_fail(s, rc, "recording the run", err);
}

#define J_PER_WH 3600.0

/* energy: the workload's energy per domain. */
static int insert_energy(aieb_store *s, sqlite3_int64 key, json_t *sm, aieb_err *err)
{
    static const struct {
        const char *domain, *wh, *net_wh, *u_j, *method;
    } rows[] = {
        {"gpu", "energy.gpu_energy_wh", "energy.net.gpu_energy_wh", "energy.uncertainty_j.gpu",
         "energy.methods.gpu"},
        {"cpu", "energy.cpu_energy_wh", "energy.net.cpu_energy_wh", "energy.uncertainty_j.cpu",
         "energy.methods.cpu"},
        {"ram", "energy.ram_energy_wh", "energy.net.ram_energy_wh", "energy.uncertainty_j.ram",
         NULL},
        {"dram", "energy.dram_energy_wh", NULL, NULL, "energy.methods.dram"},
        {"ram_estimate", "energy.ram_estimate_wh", NULL, NULL, "energy.methods.ram"},
    };
    sqlite3_stmt *st = NULL;
    int rc = prepare(s,
                     "INSERT INTO energy (run_key, domain, energy_wh, net_energy_wh, "
                     "uncertainty_j, method) VALUES (?, ?, ?, ?, ?, ?)",
                     &st, err);
    for (size_t i = 0; !rc && i < sizeof rows / sizeof rows[0]; i++) {
        double wh = rj_num(sm, rows[i].wh);
        if (isnan(wh))
            continue; /* a domain this machine does not have */
        /* the RAM component is measured DRAM when there is one, else the estimate */
        const char *method = rows[i].method ? rj_str(sm, rows[i].method) : NULL;
        if (!rows[i].method)
            method = isnan(rj_num(sm, "energy.dram_energy_wh")) ? rj_str(sm, "energy.methods.ram")
                                                                : rj_str(sm, "energy.methods.dram");
        sqlite3_bind_int64(st, 1, key);
        bind_str(st, 2, rows[i].domain);
        bind_num(st, 3, wh);
        bind_num(st, 4, rows[i].net_wh ? rj_num(sm, rows[i].net_wh) : NAN);
        bind_num(st, 5, rows[i].u_j ? rj_num(sm, rows[i].u_j) : NAN);
        bind_str(st, 6, method);
        rc = step_reset(s, st, err);
    }
    sqlite3_finalize(st);
    return rc;
}

/* phases: summary.json's phases (energy_j per domain, in Wh here) and the
 * energy_star section's passes (gpu_wh, cpu_wh, ram_wh). */
static int insert_phases(aieb_store *s, sqlite3_int64 key, json_t *sm, aieb_err *err)
{
    static const char *const domains[] = {"gpu", "cpu", "dram", "ram"};
    sqlite3_stmt *st = NULL;
    int rc = prepare(s,
                     "INSERT INTO phases (run_key, source, phase, duration_s, tokens, gpu_wh, "
                     "cpu_wh, dram_wh, ram_wh, net_gpu_wh, net_cpu_wh, net_dram_wh, net_ram_wh) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     &st, err);
    const char *name;
    json_t *ph;
    json_object_foreach(rj_get(sm, "phases"), name, ph)
    {
        if (rc || !json_is_object(ph))
            continue;
        sqlite3_bind_int64(st, 1, key);
        bind_str(st, 2, "phases");
        bind_str(st, 3, name);
        bind_num(st, 4, rj_num(ph, "duration_s"));
        bind_int(st, 5, rj_num(ph, "tokens"));
        for (int d = 0; d < 4; d++) {
            char p[64];
            snprintf(p, sizeof p, "energy_j.%s", domains[d]);
            bind_num(st, 6 + d, rj_num(ph, p) / J_PER_WH);
            snprintf(p, sizeof p, "net_energy_j.%s", domains[d]);
            bind_num(st, 10 + d, rj_num(ph, p) / J_PER_WH);
        }
        rc = step_reset(s, st, err);
    }
    json_object_foreach(rj_get(sm, "energy_star"), name, ph)
    {
        if (rc || !json_is_object(ph))
            continue;
        sqlite3_bind_int64(st, 1, key);
        bind_str(st, 2, "energy_star");
        bind_str(st, 3, name);
        bind_num(st, 4, rj_num(ph, "duration_s"));
        bind_int(st, 5, rj_num(ph, "tokens"));
        bind_num(st, 6, rj_num(ph, "gpu_wh"));
        bind_num(st, 7, rj_num(ph, "cpu_wh"));
        bind_num(st, 8, rj_num(ph, "dram_wh"));
        bind_num(st, 9, rj_num(ph, "ram_wh"));
        rc = step_reset(s, st, err);
    }
    sqlite3_finalize(st);
    return rc;
}

static void bind_ci(sqlite3_stmt *st, int i, json_t *ci)
{
    int ok = json_is_array(ci) && json_array_size(ci) == 2;
    bind_num(st, i, ok ? rj_num(json_array_get(ci, 0), "") : NAN);
    bind_num(st, i + 1, ok ? rj_num(json_array_get(ci, 1), "") : NAN);
}

/* For each "<figure>_ci95" interval in o, a repetition_stats row
 * "<prefix>.<figure>": mean = o's <figure>, the interval, n. */
static int insert_intervals(aieb_store *s, sqlite3_stmt *st, sqlite3_int64 key, const char *prefix,
                            json_t *o, double n, aieb_err *err)
{
    static const char suffix[] = "_ci95";
    const char *name;
    json_t *ci;
    int rc = 0;
    json_object_foreach(o, name, ci)
    {
        size_t len = strlen(name), sl = sizeof suffix - 1;
        if (rc || !json_is_array(ci) || len <= sl || strcmp(name + len - sl, suffix) != 0)
            continue;
        char figure[256], base[128];
        snprintf(base, sizeof base, "%.*s", (int)(len - sl), name);
        snprintf(figure, sizeof figure, "%s.%s", prefix, base);
        sqlite3_bind_int64(st, 1, key);
        bind_str(st, 2, figure);
        bind_int(st, 3, n);
        bind_num(st, 4, rj_num(o, base));
        bind_ci(st, 6, ci);
        rc = step_reset(s, st, err);
    }
    return rc;
}

/* repetition_stats: each figure over repetitions (summary.json repetitions),
 * and each energy_star figure that states an interval. */
static int insert_repetitions(aieb_store *s, sqlite3_int64 key, json_t *sm, aieb_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(s,
                     "INSERT INTO repetition_stats (run_key, figure, n, mean, std, ci95_low, "
                     "ci95_high, values_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     &st, err);
    double n = rj_num(sm, "repetitions.n");
    const char *name;
    json_t *fig;
    json_object_foreach(rj_get(sm, "repetitions.figures"), name, fig)
    {
        if (rc || !json_is_object(fig))
            continue;
        char *values = json_text(json_object_get(fig, "values"));
        sqlite3_bind_int64(st, 1, key);
        bind_str(st, 2, name);
        bind_int(st, 3, n);
        bind_num(st, 4, rj_num(fig, "mean"));
        bind_num(st, 5, rj_num(fig, "std"));
        bind_ci(st, 6, json_object_get(fig, "ci95"));
        bind_str(st, 8, values);
        rc = step_reset(s, st, err);
        free(values);
    }
    /* energy_star: every figure that has an interval (<figure>_ci95), at the
     * top and in each pass, as energy_star[.<pass>].<figure> */
    double es_n = rj_num(sm, "energy_star.repetitions");
    json_t *es = rj_get(sm, "energy_star"), *pass;
    rc = rc ? rc : insert_intervals(s, st, key, "energy_star", es, es_n, err);
    json_object_foreach(es, name, pass)
    {
        char prefix[128];
        snprintf(prefix, sizeof prefix, "energy_star.%s", name);
        if (!rc && json_is_object(pass))
            rc = insert_intervals(s, st, key, prefix, pass, es_n, err);
    }
    sqlite3_finalize(st);
    return rc;
}

/* gpus: each measured GPU's figures, with the evidence's verdict on its use. */
static int insert_gpus(aieb_store *s, sqlite3_int64 key, json_t *sm, aieb_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(s,
                     "INSERT OR REPLACE INTO gpus (run_key, gpu_index, name, uuid, energy_wh, "
                     "avg_power_w, peak_power_w, idle_power_w, max_memory_mb, max_temperature_c, "
                     "used) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     &st, err);
    size_t i, j;
    json_t *g, *e;
    json_array_foreach(rj_get(sm, "gpu_stats"), i, g)
    {
        if (rc)
            break;
        double index = rj_num(g, "index");
        int used = -1;
        json_array_foreach(rj_get(sm, "evidence.gpus"), j, e)
        {
            if (rj_num(e, "gpu") == index)
                used = rj_bool(e, "used");
        }
        sqlite3_bind_int64(st, 1, key);
        bind_int(st, 2, isnan(index) ? (double)i : index);
        bind_str(st, 3, rj_str(g, "name"));
        bind_str(st, 4, rj_str(g, "uuid"));
        bind_num(st, 5, rj_num(g, "energy_wh"));
        bind_num(st, 6, rj_num(g, "avg_power_w"));
        bind_num(st, 7, rj_num(g, "peak_power_w"));
        bind_num(st, 8, rj_num(g, "idle_power_w"));
        bind_num(st, 9, rj_num(g, "max_memory_mb"));
        bind_num(st, 10, rj_num(g, "max_temperature_c"));
        bind_int(st, 11, used < 0 ? NAN : used);
        rc = step_reset(s, st, err);
    }
    sqlite3_finalize(st);
    return rc;
}

static int record_once(aieb_store *s, const aieb_store_run *run, aieb_err *err)
{
    json_t *sm = run->summary;
    int rc = store_exec(s, "BEGIN IMMEDIATE", "recording the run", err);
    if (rc)
        return rc;
    /* The same run recorded again replaces its rows (the other tables follow
     * through ON DELETE CASCADE). */
    sqlite3_stmt *del = NULL;
    rc = prepare(s, "DELETE FROM runs WHERE name = ? AND run_id = ? AND started_at = ?", &del, err);
    if (!rc) {
        bind_str(del, 1, rj_str(sm, "name"));
        bind_str(del, 2, rj_str(sm, "run_id"));
        bind_str(del, 3, rj_str(sm, "started_at"));
        rc = step_reset(s, del, err);
    }
    sqlite3_finalize(del);
    sqlite3_int64 key = 0;
    if (!rc)
        rc = insert_run(s, run, &key, err);
    if (!rc)
        rc = insert_energy(s, key, sm, err);
    if (!rc)
        rc = insert_phases(s, key, sm, err);
    if (!rc)
        rc = insert_repetitions(s, key, sm, err);
    if (!rc)
        rc = insert_gpus(s, key, sm, err);
    if (!rc)
        rc = store_exec(s, "COMMIT", "recording the run", err);
    if (rc)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int aieb_store_record(aieb_store *s, const aieb_store_run *run, aieb_err *err)
{
    json_t *sm = run ? run->summary : NULL;
    if (!json_is_object(sm) || !rj_str(sm, "run_id") || !rj_str(sm, "name") ||
        !rj_str(sm, "started_at"))
        return aieb_errf(err, AIEB_EINVAL,
                         "%s: cannot record a run whose summary has no run_id, name or started_at",
                         s->path);
    /* BEGIN IMMEDIATE waits through the busy handler; a refusal that bypasses
     * it (WAL recovery by another process) is tried again the same way. */
    int64_t deadline = aieb_now_ns() + (int64_t)AIEB_STORE_BUSY_TIMEOUT_MS * 1000000;
    int rc;
    for (;;) {
        s->busy = 0;
        rc = record_once(s, run, err);
        if (!rc || !s->busy || aieb_now_ns() > deadline)
            return rc;
        aieb_sleep_ns(10 * 1000000, NULL);
    }
}

int aieb_store_record_at(const char *path, const aieb_store_run *run, aieb_err *err)
{
    aieb_store *s = NULL;
    int rc = aieb_store_open(path, 1, &s, err);
    if (!rc)
        rc = aieb_store_record(s, run, err);
    aieb_store_close(s);
    return rc;
}

void aieb_store_default_path(char *buf, size_t size)
{
    const char *db = getenv("AIEB_DATABASE");
    const char *dir = getenv("OUTPUT_DIR");
    if (db && *db)
        snprintf(buf, size, "%s", db);
    else if (dir && *dir)
        snprintf(buf, size, "%s/%s", dir, AIEB_STORE_FILE_NAME);
    else
        snprintf(buf, size, "./results/%s", AIEB_STORE_FILE_NAME);
}
