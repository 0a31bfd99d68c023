/* store_internal.h - what store.c (opening, schema, recording) and
 * store_query.c (history, runs by id) share. */
#ifndef AIEB_REPORT_STORE_INTERNAL_H
#define AIEB_REPORT_STORE_INTERNAL_H

#include <sqlite3.h>

#include "aieb/err.h"
#include "aieb/store.h"

struct aieb_store {
    sqlite3 *db;
    char *path;
    int busy; /* the last failure was SQLITE_BUSY or SQLITE_LOCKED */
};

/* Fills err from SQLite's code rc for the step described by what, the file's
 * path first: AIEB_EINVAL for a file that is not a database or is damaged,
 * AIEB_EIO otherwise (busy past the timeout included; s->busy says so).
 * Returns the code. */
int store_sql_fail(aieb_store *s, int rc, const char *what, aieb_err *err);

/* Runs sql (one or more statements); fails as store_sql_fail. */
int store_exec(aieb_store *s, const char *sql, const char *what, aieb_err *err);

#endif
