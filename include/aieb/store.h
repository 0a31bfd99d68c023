/* store.h - the results store: every run recorded in one SQLite database, so
 * that runs can be listed and compared without walking run directories.
 *
 * A run is recorded from its summary.json object (kept whole, so fields added
 * to summary.json later are kept without a schema change) plus indexed
 * headline columns, energy per domain, phases, repetition statistics and GPUs
 * in their own tables (docs/outputs.md lists them). The schema is versioned
 * with PRAGMA user_version and migrated on open; the database runs in WAL mode
 * with a busy timeout, and every write is one BEGIN IMMEDIATE transaction, so
 * runs finishing at once on one machine all land.
 */
#ifndef AIEB_STORE_H
#define AIEB_STORE_H

#include <jansson.h>

#include "aieb/err.h"
#include "aieb/export.h"
#include "aieb/report.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The schema version this build writes (PRAGMA user_version). */
#define AIEB_STORE_SCHEMA_VERSION 1
/* The database's file name in output_dir when reporter.database is not set. */
#define AIEB_STORE_FILE_NAME "aieb.db"
/* How long a write waits for another process's transaction (PRAGMA busy_timeout). */
#define AIEB_STORE_BUSY_TIMEOUT_MS 10000
/* PRAGMA application_id of an aieb database: "aieb" in ASCII. */
#define AIEB_STORE_APPLICATION_ID 0x61696562

typedef struct aieb_store aieb_store;

/* Opens the database at path. With create, a missing file is created;
 * without, a missing file fails with AIEB_ENOTFOUND (the message says how a
 * database comes to exist). Sets WAL mode and the busy timeout, then migrates
 * an older schema to AIEB_STORE_SCHEMA_VERSION in one transaction. Fails with
 * AIEB_EUNSUPPORTED when the file's schema is newer than this build knows,
 * AIEB_EINVAL when the file is not an aieb database (not SQLite, another
 * program's tables or application id), AIEB_EIO when it cannot be opened or
 * written; every message names the file and what to do. On failure *out is
 * NULL. Close with aieb_store_close. */
AIEB_API int aieb_store_open(const char *path, int create, aieb_store **out, aieb_err *err);

/* Closes s; NULL is fine. Can't fail. */
AIEB_API void aieb_store_close(aieb_store *s);

/* The file s was opened from. Can't fail. */
AIEB_API const char *aieb_store_path(const aieb_store *s);

/* What is recorded with a run beside its summary.json object. */
typedef struct aieb_store_run {
    json_t *summary;     /* summary.json's object (required; not taken) */
    const char *run_dir; /* where its files are; may be NULL */
    const char *status;  /* completed, interrupted, failed_fast or failed; NULL: from summary */
    json_t *hardware;    /* object: os, cpu_model, cpu_count, gpu_model, gpu_count,
                            ram_total_gb, host; may be NULL (then from summary's GPUs) */
} aieb_store_run;

/* Records one run in one BEGIN IMMEDIATE transaction: the runs row, energy per
 * domain, phases, repetition statistics and GPUs. A run already recorded (same
 * name, run_id and started_at) is replaced. Fails with AIEB_EINVAL when the
 * summary lacks run_id, name or started_at, AIEB_EIO when the database cannot
 * be written (a busy database past AIEB_STORE_BUSY_TIMEOUT_MS included); then
 * nothing of the run is recorded. */
AIEB_API int aieb_store_record(aieb_store *s, const aieb_store_run *run, aieb_err *err);

/* Opens (creating) path, records run, closes: what `aieb run` does once the
 * run's files are written. Fails as aieb_store_open and aieb_store_record,
 * with the path in the message. */
AIEB_API int aieb_store_record_at(const char *path, const aieb_store_run *run, aieb_err *err);

/* The status a summary.json says of its run: its "status" when present, else
 * interrupted, failed_fast, failed (no request succeeded and some failed) or
 * completed. Returns a static string. Can't fail. */
AIEB_API const char *aieb_store_summary_status(json_t *summary);

/* Which runs aieb_store_history lists. */
typedef struct aieb_store_filter {
    const char *model; /* model contains this (any case); NULL: any */
    const char *name;  /* name contains this (any case); NULL: any */
    const char *since; /* started at or after: YYYY-MM-DD[THH:MM[:SS]][Z] (UTC); NULL: any */
    long limit;        /* at most this many, newest first; <= 0: all */
} aieb_store_filter;

/* Lists recorded runs, newest first (by started_at), as a new JSON array of
 * objects: run_id, name, model, backend, method, status, started_at, ended_at,
 * run_dir, primary, energy_wh, gpu_energy_wh, cpu_energy_wh, ram_energy_wh,
 * total_energy_wh, wh_per_1000_queries, j_per_output_token,
 * output_tokens_per_s, ttft_ms_p50, tpot_ms_p50, emissions_g_co2eq,
 * requests_ok, requests_failed, repetitions, gpu_wh_per_1000_queries (the
 * energy_star figure; null for other runs). Fails with AIEB_EINVAL for a since
 * that is not a date, AIEB_EIO for a database error, AIEB_ENOMEM. */
AIEB_API int aieb_store_history(aieb_store *s, const aieb_store_filter *f, json_t **out,
                                aieb_err *err);

/* Loads the run ref names as aieb_run_files: summary from the database,
 * dir = its run directory (or "<db>:<run_id>" when none was recorded), no
 * requests, no timeseries. ref is a run_id, a unique prefix of one, or
 * NAME/RUN_ID (or a prefix of the id after the slash) to tell apart runs of
 * different names with the same id. Fails with AIEB_ENOTFOUND when nothing
 * matches, AIEB_EINVAL when several runs match (the message lists them and
 * says how to pick one), AIEB_EIO, AIEB_ENOMEM. */
AIEB_API int aieb_store_load_run(aieb_store *s, const char *ref, aieb_run_files *out,
                                 aieb_err *err);

/* The database `aieb history` and `aieb report --compare` read when none is
 * given: $AIEB_DATABASE when set and not empty, else $OUTPUT_DIR/aieb.db when
 * OUTPUT_DIR is set, else ./results/aieb.db (output_dir's default). Writes a
 * NUL-terminated path into buf. Can't fail (a long path is cut). */
AIEB_API void aieb_store_default_path(char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
