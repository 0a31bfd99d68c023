/* cmd_config.c - 'aieb config check|show': validate or print a configuration. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/config.h"
#include "aieb/log.h"
#include "tool.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: aieb config check FILE... [--set KEY=VALUE]... [--lenient]\n"
            "       aieb config show [FILE] [--set KEY=VALUE]... [--sources] [--lenient]\n\n"
            "Checks or prints a benchmark configuration (YAML).\n\n"
            "Commands:\n"
            "  check FILE...    check every file and report every problem at once, one per\n"
            "                   line on stderr: FILE:LINE:COL: key.path: what is wrong\n"
            "                   (expected ..., got ...). An unknown key is an error,\n"
            "                   with the nearest known key when one is close.\n"
            "                   Exit 0 when every file is valid, 2 otherwise.\n"
            "  show [FILE]      print the fully resolved configuration as YAML, defaults\n"
            "                   included (without FILE: defaults, environment and --set)\n\n"
            "Options:\n"
            "  --set KEY=VALUE  override one key, repeatable: --set scenario.num_samples=5\n"
            "  --sources        (show) say where each value came from: default, FILE:LINE,\n"
            "                   env VAR or --set\n"
            "  --lenient        unknown keys in FILE are warnings and ignored (for files also\n"
            "                   written for other tools); AIEB_LENIENT=1 does the same\n"
            "  -h, --help       this help\n\n"
            "Precedence: defaults < FILE < environment (BENCHMARK_BACKEND, BENCHMARK_MODEL,\n"
            "VLLM_ENDPOINT, NUM_SAMPLES, MAX_NEW_TOKENS, COUNTRY_ISO_CODE, REGION, OUTPUT_DIR,\n"
            "RESULTS_FILE) < --set. Any value may use ${VAR} or ${VAR:-default}.\n"
            "Every key is described in docs/configuration.md.\n");
}

static int quiet(void)
{
    return aieb_log_get_level() >= AIEB_LOG_ERROR;
}

static int check_files(char **files, int n_files, const char *const *sets, size_t n_sets,
                       unsigned flags)
{
    int status = 0;
    for (int i = 0; i < n_files; i++) {
        aieb_diags d;
        aieb_diags_init(&d);
        aieb_config *cfg = NULL;
        aieb_err err = {0};
        int rc = aieb_config_load_flags(files[i], sets, n_sets, flags, &cfg, &d, &err);
        if (rc == 0 && tool_check_carbon(cfg, &d) != 0)
            rc = AIEB_EINVAL; /* as `aieb run` would refuse it */
        aieb_diags_print(&d, stderr, quiet());
        if (rc == AIEB_ENOMEM) {
            status = tool_fail(rc, &err);
        } else if (rc) {
            if (d.n == 0 && !d.dropped) /* never expected: every failure leaves a problem */
                fprintf(stderr, "%s\n", err.msg);
            tool_unknown_keys_hint(&d, flags);
            status = EXIT_USAGE;
        } else if (!quiet()) {
            if (d.n_warnings)
                printf("%s: ok (%zu warning%s)\n", files[i], d.n_warnings,
                       d.n_warnings == 1 ? "" : "s");
            else
                printf("%s: ok\n", files[i]);
        }
        aieb_config_free(cfg);
        aieb_diags_free(&d);
    }
    return status;
}

static int show_file(const char *file, const char *const *sets, size_t n_sets, int sources,
                     unsigned flags)
{
    aieb_diags d;
    aieb_diags_init(&d);
    aieb_config *cfg = NULL;
    aieb_err err = {0};
    int rc = aieb_config_load_flags(file, sets, n_sets, flags, &cfg, &d, &err);
    aieb_diags_print(&d, stderr, quiet());
    if (rc && rc != AIEB_ENOMEM)
        tool_unknown_keys_hint(&d, flags);
    aieb_diags_free(&d);
    if (rc == AIEB_ENOMEM)
        return tool_fail(rc, &err);
    if (rc)
        return EXIT_USAGE;
    aieb_buf out;
    aieb_buf_init(&out, 0);
    rc = aieb_config_emit_yaml(cfg, sources, &out);
    aieb_config_free(cfg);
    if (rc) {
        aieb_buf_free(&out);
        aieb_errf(&err, rc, "config show: out of memory");
        return tool_fail(rc, &err);
    }
    fwrite(out.data, 1, out.len, stdout);
    aieb_buf_free(&out);
    return 0;
}

int cmd_config(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0 || strcmp(verb, "help") == 0) {
        usage(stdout);
        return 0;
    }
    int is_check = strcmp(verb, "check") == 0, is_show = strcmp(verb, "show") == 0;
    if (!is_check && !is_show)
        return tool_usage_error("config", "unknown command '%s' (expected check or show)", verb);

    static const struct option opts[] = {
        {"set", required_argument, NULL, 's'},
        {"sources", no_argument, NULL, 'S'},
        {"lenient", no_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char **sets = calloc((size_t)argc, sizeof *sets);
    if (!sets) {
        aieb_err err;
        return tool_fail(aieb_errf(&err, AIEB_ENOMEM, "out of memory"), &err);
    }
    size_t n_sets = 0;
    int sources = 0, lenient = 0, c;
    char **av = argv + 1; /* av[0] is the verb, getopt's "program name" */
    int ac = argc - 1;
    optind = 1;
    opterr = 0;
    /* GNU getopt moves file names after the options, so both orders work. */
    while ((c = getopt_long(ac, av, ":h", opts, NULL)) != -1) {
        if (c == 's') {
            sets[n_sets++] = optarg;
        } else if (c == 'S' && is_show) {
            sources = 1;
        } else if (c == 'l') {
            lenient = 1;
        } else if (c == 'h') {
            usage(stdout);
            free(sets);
            return 0;
        } else {
            const char *opt = av[optind - 1];
            free(sets);
            if (c == 'S')
                return tool_usage_error("config", "--sources is an option of 'config show'");
            if (c == ':')
                return tool_usage_error("config", "option '%s' needs a value (KEY=VALUE)", opt);
            return tool_usage_error("config", "unknown option '%s'", opt);
        }
    }
    char **files = av + optind;
    int n_files = ac - optind;
    unsigned flags = 0;
    int status;
    if (tool_config_flags("config", lenient, &flags))
        status = EXIT_USAGE;
    else if (is_check && n_files < 1)
        status = tool_usage_error("config", "check needs at least one FILE");
    else if (is_show && n_files > 1)
        status = tool_usage_error("config", "show takes one FILE, got %d", n_files);
    else if (is_check)
        status = check_files(files, n_files, sets, n_sets, flags);
    else
        status = show_file(n_files ? files[0] : NULL, sets, n_sets, sources, flags);
    free(sets);
    return status;
}
