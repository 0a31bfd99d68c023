/* runs.c - a run named on the command line: its directory, or its id in the
 * results store (aieb report, aieb rate). */
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#include "aieb/report.h"
#include "aieb/store.h"
#include "tool.h"

int tool_load_run(const char *ref, const char *db, aieb_store **store, aieb_run_files *out,
                  aieb_err *err)
{
    struct stat sb;
    if (stat(ref, &sb) == 0)
        return aieb_run_files_load(ref, out, err);
    if (!*store) {
        char path[PATH_MAX];
        if (db)
            snprintf(path, sizeof path, "%s", db);
        else
            aieb_store_default_path(path, sizeof path);
        int rc = aieb_store_open(path, 0, store, err);
        if (rc == AIEB_ENOTFOUND)
            return aieb_errf(err, rc,
                             "'%s': no such run directory, and no results database at %s to "
                             "look it up as a run id in (--db FILE names one)",
                             ref, path);
        if (rc)
            return rc;
    }
    return aieb_store_load_run(*store, ref, out, err);
}
