/* record.c - the run's row in the results store (store.h), written last, once
 * the run's files are safe: a database that cannot be written costs no file. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "aieb/store.h"
#include "run/runner_internal.h"

const char *runner_status(const runner *r, int run_rc)
{
    if (r->out->interrupted)
        return "interrupted";
    if (r->out->failed_fast)
        return "failed_fast";
    if (run_rc || (r->out->n_ok == 0 && r->out->n_failed > 0))
        return "failed";
    return "completed";
}

void runner_store_path(const aieb_config *cfg, char *buf, size_t size)
{
    if (cfg->reporter.database && *cfg->reporter.database)
        snprintf(buf, size, "%s", cfg->reporter.database);
    else
        snprintf(buf, size, "%s/%s", cfg->output_dir, AIEB_STORE_FILE_NAME);
}

/* The machine as summary.json does not say it: host, OS, CPU, GPUs, memory
 * (runner_build_summary probed them for emissions.csv). */
static json_t *hardware_json(const runner *r)
{
    const aieb_emissions_machine *m = &r->machine;
    struct utsname u;
    json_t *o = json_object();
    json_object_set_new(o, "host", uname(&u) == 0 ? json_string(u.nodename) : json_null());
    json_object_set_new(o, "os", m->os[0] ? json_string(m->os) : json_null());
    json_object_set_new(o, "cpu_model", m->cpu_model[0] ? json_string(m->cpu_model) : json_null());
    json_object_set_new(o, "cpu_count", json_integer(m->cpu_count));
    json_object_set_new(o, "gpu_model", m->gpu_model[0] ? json_string(m->gpu_model) : json_null());
    json_object_set_new(o, "gpu_count", json_integer(m->gpu_count));
    json_object_set_new(o, "ram_total_gb",
                        m->ram_total_size_gb > 0 ? json_real(m->ram_total_size_gb) : json_null());
    return o;
}

int runner_check_store(const aieb_config *cfg, aieb_err *err)
{
    char path[PATH_MAX];
    runner_store_path(cfg, path, sizeof path);
    aieb_store *s = NULL;
    int rc = aieb_store_open(path, 0, &s, err);
    aieb_store_close(s);
    if (rc == AIEB_ENOTFOUND) /* made when the run is recorded */
        return 0;
    return rc ? aieb_err_prefix(err, "results database (reporter.database)") : 0;
}

int runner_record_store(runner *r, json_t *summary, aieb_err *err)
{
    char path[PATH_MAX];
    runner_store_path(r->cfg, path, sizeof path);
    json_t *hw = hardware_json(r);
    /* The directory as an absolute path: the database is read from anywhere. */
    char dir[PATH_MAX];
    if (!realpath(r->run_dir, dir))
        snprintf(dir, sizeof dir, "%s", r->run_dir);
    aieb_store_run run = {.summary = summary,
                          .run_dir = dir,
                          .status = json_string_value(json_object_get(summary, "status")),
                          .hardware = hw};
    int rc = aieb_store_record_at(path, &run, err);
    json_decref(hw);
    /* The run and its files are done: like any results file that cannot be
     * written, this is a run failure (exit 1), whatever SQLite's reason. */
    if (rc) {
        aieb_err_prefix(err, "results database (reporter.database)");
        rc = err->code = AIEB_EIO;
    }
    if (rc && strlen(err->msg) + 200 < sizeof err->msg) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n,
                 "; the run's files are all in %s, and `aieb history --db %s --add %s` records "
                 "the run once the database can be written",
                 r->run_dir, path, r->run_dir);
    }
    return rc;
}
