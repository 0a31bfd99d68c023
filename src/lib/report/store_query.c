/* store_query.c - reading the results store back (store.h): the history of
 * runs, and one run by its id for `aieb report --compare`. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/buf.h"
#include "aieb/store.h"
#include "report/store_internal.h"

/* ==== History ============================================================== */

/* since as the start of an ISO 8601 UTC time ("2026-12-04", "2026-12-04T10:30",
 * "2026-12-04 10:30:00Z"), written into buf the way started_at is stored
 * ("2026-12-04T10:30:00"), so that the two compare as strings. */
static int parse_since(const char *since, char *buf, size_t size, aieb_err *err)
{
    static const char pattern[] = "dddd-dd-ddTdd:dd:dd";
    size_t n = strlen(since);
    if (n && since[n - 1] == 'Z')
        n--;
    int ok = (n == 10 || n == 16 || n == 19) && n < size;
    for (size_t i = 0; ok && i < n; i++) {
        char c = since[i], want = pattern[i];
        if (want == 'd')
            ok = isdigit((unsigned char)c);
        else if (want == 'T')
            ok = c == 'T' || c == ' ';
        else
            ok = c == want;
        buf[i] = want == 'T' ? 'T' : c;
    }
    if (ok) {
        int month = (since[5] - '0') * 10 + (since[6] - '0');
        int day = (since[8] - '0') * 10 + (since[9] - '0');
        ok = month >= 1 && month <= 12 && day >= 1 && day <= 31;
    }
    if (!ok)
        return aieb_errf(err, AIEB_EINVAL,
                         "since '%s': not a date (expected YYYY-MM-DD, YYYY-MM-DDTHH:MM or "
                         "YYYY-MM-DDTHH:MM:SS, UTC)",
                         since);
    buf[n] = '\0';
    return 0;
}

/* A row's value as JSON by its SQLite type. */
static json_t *column_json(sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        return json_integer((json_int_t)sqlite3_column_int64(st, i));
    case SQLITE_FLOAT: {
        double v = sqlite3_column_double(st, i);
        return isfinite(v) ? json_real(v) : json_null();
    }
    case SQLITE_TEXT:
        return json_string((const char *)sqlite3_column_text(st, i));
    default:
        return json_null();
    }
}

int aieb_store_history(aieb_store *s, const aieb_store_filter *f, json_t **out, aieb_err *err)
{
    static const aieb_store_filter none = {0};
    *out = NULL;
    if (!f)
        f = &none;
    char since[32];
    if (f->since && parse_since(f->since, since, sizeof since, err))
        return AIEB_EINVAL;
    static const char sql[] =
        "SELECT run_id, name, model, backend, method, status, started_at, ended_at, run_dir,"
        " primary_metric AS \"primary\", energy_wh, gpu_energy_wh, cpu_energy_wh, ram_energy_wh,"
        " total_energy_wh, wh_per_1000_queries, j_per_output_token, output_tokens_per_s,"
        " ttft_ms_p50, tpot_ms_p50, emissions_g_co2eq, requests_ok, requests_failed, repetitions,"
        " gpu_wh_per_1000_queries"
        " FROM runs"
        " WHERE (?1 IS NULL OR instr(lower(model), lower(?1)) > 0)"
        " AND (?2 IS NULL OR instr(lower(name), lower(?2)) > 0)"
        " AND (?3 IS NULL OR started_at >= ?3)"
        " ORDER BY started_at DESC, run_key DESC LIMIT ?4";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_sql_fail(s, rc, "reading the history", err);
    if (f->model)
        sqlite3_bind_text(st, 1, f->model, -1, SQLITE_TRANSIENT);
    if (f->name)
        sqlite3_bind_text(st, 2, f->name, -1, SQLITE_TRANSIENT);
    if (f->since)
        sqlite3_bind_text(st, 3, since, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, f->limit > 0 ? f->limit : -1);
    json_t *arr = json_array();
    int fail = !arr;
    while (!fail && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = json_object();
        fail = !o || json_array_append_new(arr, o) != 0;
        for (int i = 0; !fail && i < sqlite3_column_count(st); i++)
            fail = json_object_set_new(o, sqlite3_column_name(st, i), column_json(st, i)) != 0;
    }
    sqlite3_finalize(st);
    if (fail) {
        json_decref(arr);
        return aieb_errf(err, AIEB_ENOMEM, "out of memory");
    }
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return store_sql_fail(s, rc, "reading the history", err);
    }
    *out = arr;
    return 0;
}

/* ==== One run by its id ==================================================== */

/* The runs whose id is id (exact) or starts with it (prefix), of the given
 * name when name is not NULL: how many (*n) and, when one, its summary and
 * run directory. The first few matches are listed in list for a message. */
static int find_runs(aieb_store *s, const char *name, const char *id, int prefix, int *n,
                     char **summary, char **run_dir, aieb_buf *list, aieb_err *err)
{
    static const char sql[] = "SELECT name, run_id, run_dir, summary_json FROM runs"
                              " WHERE (?1 IS NULL OR name = ?1)"
                              " AND (run_id = ?2 OR (?3 AND substr(run_id, 1, length(?2)) = ?2))"
                              " ORDER BY started_at DESC, run_key DESC";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_sql_fail(s, rc, "looking up a run", err);
    if (name)
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, prefix);
    *n = 0;
    int fail = 0;
    while (!fail && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *rn = (const char *)sqlite3_column_text(st, 0);
        const char *ri = (const char *)sqlite3_column_text(st, 1);
        const char *rd = (const char *)sqlite3_column_text(st, 2);
        if (++*n == 1) {
            *summary = strdup((const char *)sqlite3_column_text(st, 3));
            *run_dir = rd ? strdup(rd) : NULL;
            fail = !*summary || (rd && !*run_dir);
        }
        if (*n <= 5)
            aieb_buf_printf(list, "%s%s/%s (%s)", *n > 1 ? ", " : "", rn, ri,
                            rd ? rd : "no directory");
    }
    sqlite3_finalize(st);
    if (fail)
        return aieb_errf(err, AIEB_ENOMEM, "out of memory");
    if (rc != SQLITE_DONE)
        return store_sql_fail(s, rc, "looking up a run", err);
    return 0;
}

int aieb_store_load_run(aieb_store *s, const char *ref, aieb_run_files *out, aieb_err *err)
{
    memset(out, 0, sizeof *out);
    out->ts.t_col = -1;
    char name[512];
    const char *slash = strrchr(ref, '/'), *id = slash ? slash + 1 : ref;
    if (slash) {
        snprintf(name, sizeof name, "%.*s", (int)(slash - ref), ref);
    }
    if (!*id)
        return aieb_errf(err, AIEB_EINVAL, "'%s': no run id after the '/'", ref);
    char *summary = NULL, *run_dir = NULL;
    aieb_buf list;
    aieb_buf_init(&list, 0);
    int n = 0, rc = 0;
    /* An exact id wins over the ids it is a prefix of. */
    for (int prefix = 0; prefix < 2 && !rc && n == 0; prefix++)
        rc = find_runs(s, slash ? name : NULL, id, prefix, &n, &summary, &run_dir, &list, err);
    if (!rc && n == 0)
        rc = aieb_errf(err, AIEB_ENOTFOUND,
                       "'%s': no such run directory, and no run with that id in %s (`aieb "
                       "history --db %s` lists the runs recorded there)",
                       ref, s->path, s->path);
    else if (!rc && n > 1)
        rc = aieb_errf(err, AIEB_EINVAL,
                       "'%s' matches %d runs in %s: %s%s; give more of the id, or NAME/RUN_ID, "
                       "or the run directory",
                       ref, n, s->path, list.data ? list.data : "", n > 5 ? ", ..." : "");
    aieb_buf_free(&list);
    if (!rc) {
        json_error_t je;
        out->summary = json_loads(summary, 0, &je);
        if (!json_is_object(out->summary))
            rc = aieb_errf(err, AIEB_EINVAL,
                           "%s: run '%s': its stored summary is not a JSON "
                           "object (%s)",
                           s->path, ref, out->summary ? "not an object" : je.text);
    }
    if (!rc) {
        const char *rid = json_string_value(json_object_get(out->summary, "run_id"));
        if (run_dir) {
            out->dir = run_dir;
            run_dir = NULL;
        } else if (asprintf(&out->dir, "%s:%s", s->path, rid ? rid : id) < 0) {
            out->dir = NULL;
        }
        out->requests = json_array();
        if (!out->dir || !out->requests)
            rc = aieb_errf(err, AIEB_ENOMEM, "out of memory");
    }
    free(summary);
    free(run_dir);
    if (rc)
        aieb_run_files_free(out);
    return rc;
}
