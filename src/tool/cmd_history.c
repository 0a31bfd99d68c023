/* cmd_history.c - 'aieb history': the runs recorded in the results store,
 * newest first; 'aieb history --add RUN_DIR...' records runs from their
 * directories. */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/report.h"
#include "aieb/store.h"
#include "tool.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: aieb history [--db FILE] [--model M] [--name N] [--since DATE]\n"
            "                    [--limit N] [--json]\n"
            "       aieb history [--db FILE] --add RUN_DIR...\n\n"
            "Lists the runs recorded in the results store, newest first, with their headline\n"
            "figures. Every 'aieb run' records its run there once its files are written\n"
            "(finished, interrupted or failed).\n\n"
            "Options:\n"
            "  --db FILE     the database (default: $AIEB_DATABASE, else $OUTPUT_DIR/aieb.db,\n"
            "                else ./results/aieb.db: where runs with the default output_dir\n"
            "                record themselves)\n"
            "  --model M     only runs whose model contains M (any case)\n"
            "  --name N      only runs whose name contains N (any case)\n"
            "  --since DATE  only runs started at or after DATE (UTC): YYYY-MM-DD,\n"
            "                YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS\n"
            "  --limit N     at most N runs (the newest)\n"
            "  --json        print a JSON array of objects: run_id, name, model, backend,\n"
            "                method, status, started_at, ended_at, run_dir and the headline\n"
            "                figures\n"
            "  --add         record the runs in the directories given (their summary.json);\n"
            "                a run recorded before is replaced\n"
            "  -h, --help    this help\n\n"
            "A run id from this list names the run in 'aieb report --compare'.\n\n"
            "Exit status: 0 ok, 1 the database could not be read or written, 2 usage error,\n"
            "no database, or a database this aieb cannot read.\n");
}

/* ==== The table ============================================================ */

typedef struct column {
    const char *title, *key;
    char kind; /* s text, n number (4 significant digits), i integer */
    int max_width;
} column;

static const column columns[] = {
    {"RUN ID", "run_id", 's', 24},
    {"NAME", "name", 's', 24},
    {"MODEL", "model", 's', 32},
    {"STATUS", "status", 's', 11},
    {"PRIMARY", "primary", 's', 7},
    {"ENERGY_WH", "energy_wh", 'n', 12},
    {"WH/1000Q", "wh_per_1000_queries", 'n', 12},
    {"J/TOKEN", "j_per_output_token", 'n', 12},
    {"TOKENS/S", "output_tokens_per_s", 'n', 12},
    {"TTFT_P50_MS", "ttft_ms_p50", 'n', 12},
    {"REQ_OK", "requests_ok", 'i', 8},
};
#define N_COLUMNS (sizeof columns / sizeof columns[0])

static void cell_text(json_t *row, const column *c, char *buf, size_t size)
{
    json_t *v = json_object_get(row, c->key);
    if (json_is_string(v))
        snprintf(buf, size, "%s", json_string_value(v));
    else if (json_is_number(v) && c->kind == 'i')
        snprintf(buf, size, "%.0f", json_number_value(v));
    else if (json_is_number(v))
        snprintf(buf, size, "%.4g", json_number_value(v));
    else
        snprintf(buf, size, "-");
    /* a long name or model is cut, its end kept visible as "..." */
    if ((int)strlen(buf) > c->max_width && c->max_width > 3)
        snprintf(buf + c->max_width - 3, size - (size_t)c->max_width + 3, "...");
}

static void print_table(json_t *runs)
{
    int width[N_COLUMNS];
    char cell[256];
    for (size_t k = 0; k < N_COLUMNS; k++)
        width[k] = (int)strlen(columns[k].title);
    size_t i;
    json_t *row;
    json_array_foreach(runs, i, row)
    {
        for (size_t k = 0; k < N_COLUMNS; k++) {
            cell_text(row, &columns[k], cell, sizeof cell);
            if ((int)strlen(cell) > width[k])
                width[k] = (int)strlen(cell);
        }
    }
    for (size_t k = 0; k < N_COLUMNS; k++)
        printf("%s%-*s", k ? "  " : "", k + 1 < N_COLUMNS ? width[k] : 0, columns[k].title);
    printf("\n");
    json_array_foreach(runs, i, row)
    {
        for (size_t k = 0; k < N_COLUMNS; k++) {
            cell_text(row, &columns[k], cell, sizeof cell);
            int w = k + 1 < N_COLUMNS ? width[k] : 0;
            if (columns[k].kind == 's')
                printf("%s%-*s", k ? "  " : "", w, cell);
            else
                printf("%s%*s", k ? "  " : "", width[k], cell);
        }
        printf("\n");
    }
}

static int print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    if (!s) {
        fprintf(stderr, "aieb: error: out of memory\n");
        return EXIT_RUN_FAILED;
    }
    printf("%s\n", s);
    free(s);
    return 0;
}

/* ==== --add ================================================================ */

static int add_runs(aieb_store *s, char **dirs, int n)
{
    for (int i = 0; i < n; i++) {
        aieb_err err = {0};
        aieb_run_files f;
        int rc = aieb_run_files_load(dirs[i], &f, &err);
        char abs[PATH_MAX];
        if (!rc) {
            if (!realpath(dirs[i], abs))
                snprintf(abs, sizeof abs, "%s", dirs[i]);
            aieb_store_run run = {.summary = f.summary, .run_dir = abs};
            rc = aieb_store_record(s, &run, &err);
        }
        if (!rc)
            printf("recorded %s/%s (%s) in %s\n",
                   json_string_value(json_object_get(f.summary, "name")),
                   json_string_value(json_object_get(f.summary, "run_id")),
                   aieb_store_summary_status(f.summary), aieb_store_path(s));
        aieb_run_files_free(&f);
        if (rc)
            return tool_fail(rc, &err);
    }
    return 0;
}

/* ==== Command ============================================================== */

int cmd_history(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"model", required_argument, NULL, 'm'},
        {"name", required_argument, NULL, 'n'},
        {"since", required_argument, NULL, 's'},
        {"limit", required_argument, NULL, 'l'},
        {"json", no_argument, NULL, 'j'},
        {"add", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    aieb_store_filter f = {0};
    const char *db = NULL;
    int json = 0, add = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'm':
            f.model = optarg;
            break;
        case 'n':
            f.name = optarg;
            break;
        case 's':
            f.since = optarg;
            break;
        case 'l': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1)
                return tool_usage_error("history", "--limit: want a whole number >= 1, got '%s'",
                                        optarg);
            f.limit = v;
            break;
        }
        case 'j':
            json = 1;
            break;
        case 'a':
            add = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            return tool_usage_error("history", "unknown option");
        }
    }
    int n = argc - optind;
    if (add && n < 1)
        return tool_usage_error("history", "--add needs one or more run directories");
    if (!add && n > 0)
        return tool_usage_error("history",
                                "unexpected argument '%s' (to record run directories, use --add)",
                                argv[optind]);
    if (add && (json || f.model || f.name || f.since || f.limit))
        return tool_usage_error("history", "--add takes only --db and run directories");
    char path[PATH_MAX];
    if (db)
        snprintf(path, sizeof path, "%s", db);
    else
        aieb_store_default_path(path, sizeof path);

    aieb_err err = {0};
    aieb_store *s = NULL;
    int rc = aieb_store_open(path, add, &s, &err);
    if (rc)
        return tool_fail(rc, &err);
    if (add) {
        int status = add_runs(s, argv + optind, n);
        aieb_store_close(s);
        return status;
    }
    json_t *runs = NULL;
    rc = aieb_store_history(s, &f, &runs, &err);
    aieb_store_close(s);
    if (rc)
        return tool_fail(rc, &err);
    int status = 0;
    if (json)
        status = print_json(runs);
    else if (json_array_size(runs) == 0)
        fprintf(stderr, "aieb: no runs in %s%s\n", path,
                f.model || f.name || f.since ? " match" : " yet");
    else
        print_table(runs);
    json_decref(runs);
    return status;
}
