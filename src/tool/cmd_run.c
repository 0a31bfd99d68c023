/* cmd_run.c - 'aieb run CONFIG': one benchmark, results in a run directory. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aieb/clock.h"
#include "aieb/config.h"
#include "aieb/log.h"
#include "aieb/progress.h"
#include "aieb/run.h"
#include "tool.h"

#define MAX_SETS 256

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: aieb run CONFIG [--set KEY=VALUE]... [--repeat N] [--run-dir DIR]\n"
            "                [--lenient]\n\n"
            "Runs the benchmark CONFIG describes: prompts from the dataset, sent through the\n"
            "backend, with energy measured by every meter this machine has (see 'aieb probe').\n\n"
            "Options:\n"
            "  --set KEY=VALUE  override one config key, repeatable (scenario.num_samples=5)\n"
            "  --repeat N       run the workload N times after one load and warmup, each\n"
            "                   measured apart: means, standard deviations and 95%% confidence\n"
            "                   intervals in summary.json (scenario.repetitions=N)\n"
            "  --run-dir DIR    write results to DIR instead of\n"
            "                   <output_dir>/<name>/<UTC YYYYmmddTHHMMSSZ>/\n"
            "  --lenient        unknown keys in CONFIG are warnings and ignored instead of\n"
            "                   errors (for files also written for other tools);\n"
            "                   AIEB_LENIENT=1 does the same\n"
            "  -h, --help       this help\n\n"
            "Results in the run directory: summary.json, requests.jsonl (appended as each\n"
            "request finishes), timeseries.csv, emissions.csv, report.md, power.png and\n"
            "power.svg; one row is appended to reporter.output_file. Then the run is recorded\n"
            "in the results store (reporter.database, default <output_dir>/aieb.db), which\n"
            "'aieb history' lists. The last line on stdout is the run directory.\n\n"
            "Ctrl-C stops sending, lets in-flight requests finish briefly, writes every file\n"
            "marked interrupted and exits 130; a second Ctrl-C exits at once (requests.jsonl\n"
            "keeps every finished request).\n\n"
            "Exit status: 0 ok, 1 run failed (fail-fast, every request failed, a results file\n"
            "or the results store not written), 2 usage or config error (a results store\n"
            "that is not an aieb database or is newer than this aieb included), 3 backend not\n"
            "usable (server down, model missing), 130 interrupted.\n");
}

/* ==== Signals ============================================================== */

static volatile sig_atomic_t n_signals;
static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    if (++n_signals >= 2) {
        static const char msg[] = "\naieb: interrupted again; exiting now\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
        _exit(EXIT_INTERRUPTED);
    }
    stop_flag = 1;
}

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ==== Command ============================================================== */

int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"set", required_argument, NULL, 's'},    {"run-dir", required_argument, NULL, 'd'},
        {"repeat", required_argument, NULL, 'r'}, {"lenient", no_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *sets[MAX_SETS];
    size_t n_sets = 0;
    const char *run_dir = NULL;
    char repeat_set[64];
    int lenient = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (n_sets == MAX_SETS)
                return tool_usage_error("run", "too many --set options (at most %d)", MAX_SETS);
            if (!strchr(optarg, '='))
                return tool_usage_error("run", "--set needs KEY=VALUE, got '%s'", optarg);
            sets[n_sets++] = optarg;
            break;
        case 'd':
            run_dir = optarg;
            break;
        case 'r': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (end == optarg || *end || n < 1 || n > 1000)
                return tool_usage_error("run", "--repeat: want a whole number 1..1000, got '%s'",
                                        optarg);
            if (n_sets == MAX_SETS)
                return tool_usage_error("run", "too many --set options (at most %d)", MAX_SETS);
            snprintf(repeat_set, sizeof repeat_set, "scenario.repetitions=%ld", n);
            sets[n_sets++] = repeat_set; /* after --set before it, so it wins */
            break;
        }
        case 'l':
            lenient = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            return tool_usage_error("run", "unknown option");
        }
    }
    if (optind >= argc)
        return tool_usage_error("run",
                                "missing CONFIG (a YAML file, e.g. configs/quickstart.yaml)");
    if (optind + 1 < argc)
        return tool_usage_error("run", "unexpected argument '%s'", argv[optind + 1]);
    const char *path = argv[optind];
    unsigned flags;
    if (tool_config_flags("run", lenient, &flags))
        return EXIT_USAGE;

    aieb_diags d;
    aieb_diags_init(&d);
    aieb_config *cfg = NULL;
    aieb_err err = {0};
    int rc = aieb_config_load_flags(path, sets, n_sets, flags, &cfg, &d, &err);
    /* The carbon intensity is resolved now, so that a country the table lacks
     * stops the run before it starts rather than leaving it without emissions. */
    if (rc == 0 && tool_check_carbon(cfg, &d) != 0) {
        rc = aieb_errf(&err, AIEB_EINVAL, "%s: 1 problem", path);
        aieb_config_free(cfg);
        cfg = NULL;
    }
    aieb_diags_print(&d, stderr, aieb_log_get_level() > AIEB_LOG_WARNING);
    if (rc) {
        fprintf(stderr, "aieb: error: %s\n", err.msg);
        if (rc != AIEB_ENOMEM)
            tool_unknown_keys_hint(&d, flags);
        aieb_diags_free(&d);
        return rc == AIEB_ENOMEM ? EXIT_RUN_FAILED : EXIT_USAGE;
    }
    aieb_diags_free(&d);

    install_handlers();
    /* Progress on stderr: a redrawn bar on a terminal, else a line every 10 s or
     * 10%; none with -q (progress.h). */
    aieb_progress *prog = NULL;
    if (aieb_log_get_level() <= AIEB_LOG_INFO && aieb_progress_create(NULL, &prog, &err) != 0)
        prog = NULL;
    aieb_run_opts ro = {.run_dir = run_dir,
                        .stop = &stop_flag,
                        .progress = prog ? aieb_progress_callback : NULL,
                        .progress_user = prog};
    aieb_run_outcome out;
    rc = aieb_run(cfg, &ro, &out, &err);
    aieb_progress_finish(prog);
    aieb_progress_free(prog);
    int status = rc ? tool_fail(rc, &err) : 0;
    if (out.run_dir) {
        if (!rc)
            AIEB_INFO("%zu request(s) ok, %zu failed; results in %s", out.n_ok, out.n_failed,
                      out.run_dir);
        printf("%s\n", out.run_dir);
    }
    aieb_run_outcome_free(&out);
    aieb_config_free(cfg);
    return status;
}
