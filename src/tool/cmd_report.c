/* cmd_report.c - 'aieb report RUN' re-renders a run's report;
 * 'aieb report --compare RUN_A RUN_B...' sets runs side by side. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "aieb/report.h"
#include "aieb/store.h"
#include "tool.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: aieb report RUN [--format md|json] [--db FILE]\n"
                 "       aieb report --compare RUN_A RUN_B... [--format md|json] [--db FILE]\n\n"
                 "Writes a run's report again from the files in its run directory (summary.json,\n"
                 "requests.jsonl, timeseries.csv), or compares runs. A run is a run directory,\n"
                 "or a run id from 'aieb history' (a unique prefix, or NAME/RUN_ID).\n\n"
                 "Options:\n"
                 "  --format md    write report.md, power.png and power.svg in the run's\n"
                 "                 directory (for a run id: the directory it was recorded from)\n"
                 "                 and print report.md's path (the default)\n"
                 "  --format json  print the run's headline figures as JSON (for a run id, from\n"
                 "                 the results store); write nothing\n"
                 "  --compare      print a Markdown table of the runs' headline figures side by\n"
                 "                 side, each with its ratio to the first run (json: an array of\n"
                 "                 the runs' headline figures)\n"
                 "  --db FILE      the results store run ids are looked up in (default as in\n"
                 "                 'aieb history': $AIEB_DATABASE, $OUTPUT_DIR/aieb.db,\n"
                 "                 ./results/aieb.db)\n"
                 "  -h, --help     this help\n\n"
                 "Exit status: 0 ok, 1 a file could not be written, 2 usage error, a run\n"
                 "directory without a readable summary.json, or a run id that is not in the\n"
                 "results store or matches several runs.\n");
}

static int print_json(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(o);
    if (!s) {
        fprintf(stderr, "aieb: error: out of memory\n");
        return EXIT_RUN_FAILED;
    }
    printf("%s\n", s);
    free(s);
    return 0;
}

/* One run: its report files written again (md), or its key figures (json). ref is a
 * run directory or a run id in the results store; for md, a stored run's directory
 * must still be there. */
static int render_one(const char *ref, int json, const char *db)
{
    aieb_err err = {0};
    aieb_store *store = NULL;
    aieb_run_files f;
    int rc = tool_load_run(ref, db, &store, &f, &err);
    aieb_store_close(store);
    if (rc)
        return tool_fail(rc, &err);
    if (json) {
        int status = print_json(aieb_report_key_figures(&f));
        aieb_run_files_free(&f);
        return status;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", f.dir ? f.dir : ref);
    aieb_run_files_free(&f);
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        aieb_errf(&err, AIEB_ENOTFOUND,
                  "run %s was recorded from %s, which is not a directory here; 'aieb report "
                  "--format json %s' prints its key figures from the results database",
                  ref, dir, ref);
        return tool_fail(err.code, &err);
    }
    rc = aieb_report_write_all(dir, &err);
    if (rc)
        return tool_fail(rc, &err);
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    printf("%.*s/report.md\n", (int)n, dir);
    return 0;
}

static int compare(char **dirs, size_t n, int json, const char *db)
{
    aieb_run_files *runs = calloc(n, sizeof *runs);
    if (!runs) {
        fprintf(stderr, "aieb: error: out of memory\n");
        return EXIT_RUN_FAILED;
    }
    aieb_err err = {0};
    int rc = 0;
    size_t loaded = 0;
    aieb_store *store = NULL;
    for (; loaded < n && !rc; loaded++)
        rc = tool_load_run(dirs[loaded], db, &store, &runs[loaded], &err);
    aieb_store_close(store);
    int status = rc ? tool_fail(rc, &err) : 0;
    if (!rc && json) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++)
            if (json_array_append_new(arr, aieb_report_key_figures(&runs[i])) != 0) {
                json_decref(arr);
                arr = NULL;
            }
        status = print_json(arr);
    } else if (!rc) {
        aieb_buf b;
        aieb_buf_init(&b, 0);
        rc = aieb_report_compare(runs, n, &b, &err);
        if (rc)
            status = tool_fail(rc, &err);
        else
            fputs(b.data, stdout);
        aieb_buf_free(&b);
    }
    for (size_t i = 0; i < loaded; i++)
        aieb_run_files_free(&runs[i]);
    free(runs);
    return status;
}

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"compare", no_argument, NULL, 'c'},
        {"db", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, cmp = 0, c;
    const char *db = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (strcmp(optarg, "json") == 0)
                json = 1;
            else if (strcmp(optarg, "md") == 0)
                json = 0;
            else
                return tool_usage_error("report", "--format must be md or json, not '%s'", optarg);
            break;
        case 'c':
            cmp = 1;
            break;
        case 'd':
            db = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            return tool_usage_error("report", "unknown option");
        }
    }
    int n = argc - optind;
    if (cmp) {
        if (n < 2)
            return tool_usage_error("report",
                                    "--compare needs two or more runs (directories or run ids)");
        return compare(argv + optind, (size_t)n, json, db);
    }
    if (n < 1)
        return tool_usage_error("report",
                                "missing RUN (a directory 'aieb run' wrote, or a run id)");
    if (n > 1)
        return tool_usage_error("report",
                                "unexpected argument '%s' (to compare runs, use --compare)",
                                argv[optind + 1]);
    return render_one(argv[optind], json, db);
}
