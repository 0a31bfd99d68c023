/* cmd_rate.c - 'aieb rate --reference TABLE.csv RUN...': AI Energy Score
 * stars of energy_star runs against a reference table (docs/ratings.md). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aieb/rate.h"
#include "aieb/report.h"
#include "aieb/store.h"
#include "tool.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: aieb rate --reference TABLE.csv [--task T] [--class A|B|C] [--json]\n"
                 "                 [--db FILE] RUN...\n\n"
                 "Rates runs made with scenario.method energy_star by AI Energy Score's rule: the\n"
                 "reference values of the task (and class) span min..max, split into 5 equal\n"
                 "bins; the lowest-energy bin is 5 stars, the highest 1; values outside the\n"
                 "range count as 5 or 1. The figure rated is the run's GPU energy per 1000\n"
                 "queries (summary.json energy_star.gpu_wh_per_1000_queries). A run is a run\n"
                 "directory, or a run id from 'aieb history' (a unique prefix, or NAME/RUN_ID).\n\n"
                 "Options:\n"
                 "  --reference F  CSV with the columns model, task, class,\n"
                 "                 gpu_wh_per_1000_queries (published leaderboard values or your\n"
                 "                 own); required\n"
                 "  --task T       the runs' task (default text_generation)\n"
                 "  --class C      the runs' size class: A (up to 20B parameters), B (up to 66B),\n"
                 "                 C (above); by default from the model's parameter count where\n"
                 "                 the run knows it\n"
                 "  --json         print a JSON array of {run_id, model, task, class,\n"
                 "                 gpu_wh_per_1000_queries, stars, bin_edges}\n"
                 "  --db FILE      the results store run ids are looked up in (default as in\n"
                 "                 'aieb history')\n"
                 "  -h, --help     this help\n\n"
                 "Bins depend on the reference set: stars from different tables do not compare.\n\n"
                 "Exit status: 0 every run rated, 1 a run could not be rated (not energy_star,\n"
                 "no GPU energy, no class, no reference range), 2 usage error, unreadable table\n"
                 "or run (directory or id).\n");
}

/* Whether any reference row of task has a class (text generation's do). */
static int task_has_classes(const aieb_rate_table *t, const char *task)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcasecmp(t->rows[i].task, task) == 0 && t->rows[i].cls[0])
            return 1;
    return 0;
}

static const char *stars_text(int s)
{
    static const char *const txt[] = {"-", "★☆☆☆☆", "★★☆☆☆", "★★★☆☆", "★★★★☆", "★★★★★"};
    return s >= 0 && s <= 5 ? txt[s] : "-";
}

/* Rates one run; adds its object to list. Returns 0, 1 (not ratable) or 2. */
static int rate_one(const char *ref, const char *db, aieb_store **store, const aieb_rate_table *t,
                    const char *task, const char *cls_opt, json_t *list)
{
    aieb_run_files f;
    aieb_err err = {0};
    int rc = tool_load_run(ref, db, store, &f, &err);
    const char *dir = rc ? ref : f.dir;
    if (rc) {
        fprintf(stderr, "aieb: error: %s\n", err.msg);
        return 2;
    }
    json_t *s = f.summary;
    const char *run_id = json_string_value(json_object_get(s, "run_id"));
    json_t *cfg = json_object_get(s, "config");
    const char *model = json_string_value(json_object_get(cfg, "model"));
    const char *method = json_string_value(json_object_get(cfg, "method"));
    json_t *es = json_object_get(s, "energy_star");
    int status = 0;
    if (!json_is_object(es)) {
        fprintf(stderr,
                "aieb: error: %s: method %s; ratings compare the energy_star method's figure "
                "(run it with scenario.method: energy_star)\n",
                dir, method ? method : "standard");
        status = 1;
    }
    json_t *fig = json_object_get(es, "gpu_wh_per_1000_queries");
    double v = json_is_number(fig) ? json_number_value(fig) : NAN;
    if (!status && !isfinite(v)) {
        fprintf(stderr,
                "aieb: error: %s: no GPU energy per 1000 queries (primary metric %s); ratings "
                "compare GPU energy\n",
                dir, json_string_value(json_object_get(es, "primary")) ?: "unknown");
        status = 1;
    }
    const char *cls = cls_opt;
    if (!status && !cls && task_has_classes(t, task)) {
        json_t *np = json_object_get(json_object_get(s, "backend_info"), "n_params");
        cls = aieb_rate_class(json_is_number(np) ? json_number_value(np) : NAN);
        if (!cls) {
            fprintf(stderr,
                    "aieb: error: %s: the model's parameter count is unknown; give its class "
                    "with --class A|B|C\n",
                    dir);
            status = 1;
        }
    }
    if (!task_has_classes(t, task))
        cls = NULL;
    double edges[6];
    if (!status && aieb_rate_bins(t, task, cls, edges, &err) != 0) {
        fprintf(stderr, "aieb: error: %s: %s\n", dir, err.msg);
        status = 1;
    }
    if (!status) {
        json_t *e = json_array();
        for (int k = 0; k < 6; k++)
            json_array_append_new(e, json_real(edges[k]));
        json_array_append_new(
            list, json_pack("{s:s?, s:s?, s:s, s:s?, s:f, s:i, s:o, s:s}", "run_id", run_id,
                            "model", model, "task", task, "class", cls, "gpu_wh_per_1000_queries",
                            v, "stars", aieb_rate_stars(v, edges), "bin_edges", e, "run_dir", dir));
    }
    aieb_run_files_free(&f);
    return status;
}

int cmd_rate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"reference", required_argument, NULL, 'r'},
        {"task", required_argument, NULL, 't'},
        {"class", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"db", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *ref = NULL, *task = "text_generation", *cls = NULL, *db = NULL;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            ref = optarg;
            break;
        case 't':
            task = optarg;
            break;
        case 'c':
            cls = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'd':
            db = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            return tool_usage_error("rate", "unknown option");
        }
    }
    if (!ref)
        return tool_usage_error("rate", "--reference TABLE.csv is required");
    if (optind >= argc)
        return tool_usage_error("rate", "give at least one run (directory or run id)");
    if (cls && strcmp(cls, "A") != 0 && strcmp(cls, "B") != 0 && strcmp(cls, "C") != 0)
        return tool_usage_error("rate", "--class must be A, B or C (got \"%s\")", cls);
    if (!*task)
        return tool_usage_error("rate", "--task must not be empty");
    aieb_rate_table t;
    aieb_err err = {0};
    int rc = aieb_rate_table_load(ref, &t, &err);
    if (rc) {
        fprintf(stderr, "aieb: error: %s\n", err.msg);
        return EXIT_USAGE;
    }
    json_t *list = json_array();
    int status = 0;
    aieb_store *store = NULL;
    for (int i = optind; i < argc; i++) {
        int s = rate_one(argv[i], db, &store, &t, task, cls, list);
        status = s > status ? s : status;
    }
    aieb_store_close(store);
    aieb_rate_table_free(&t);
    if (json) {
        char *text = json_dumps(list, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        if (text)
            printf("%s\n", text);
        free(text);
    } else if (json_array_size(list)) {
        printf("| Run | Model | Task | Class | GPU Wh / 1000 queries | Stars | Bins (Wh / 1000 "
               "queries) |\n|---|---|---|---|---|---|---|\n");
        size_t i;
        json_t *o;
        json_array_foreach(list, i, o)
        {
            json_t *e = json_object_get(o, "bin_edges");
            const char *cl = json_string_value(json_object_get(o, "class"));
            printf("| %s | %s | %s | %s | %.4g | %s %lld | ",
                   json_string_value(json_object_get(o, "run_id")) ?: "?",
                   json_string_value(json_object_get(o, "model")) ?: "?",
                   json_string_value(json_object_get(o, "task")), cl ? cl : "-",
                   json_number_value(json_object_get(o, "gpu_wh_per_1000_queries")),
                   stars_text((int)json_integer_value(json_object_get(o, "stars"))),
                   (long long)json_integer_value(json_object_get(o, "stars")));
            for (size_t k = 0; k < 6; k++)
                printf("%s%.4g", k ? " / " : "", json_number_value(json_array_get(e, k)));
            printf(" |\n");
        }
    }
    json_decref(list);
    return status;
}
