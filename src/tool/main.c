/* main.c - the aieb command: global options and subcommand dispatch. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aieb/log.h"
#include "tool.h"

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"run", cmd_run, "run a benchmark described by a YAML config"},
    {"measure", cmd_measure, "measure the energy of any command"},
    {"probe", cmd_probe, "show what this machine can measure"},
    {"config", cmd_config, "check or show a configuration"},
    {"generate", cmd_generate, "generate text with the embedded engine"},
    {"report", cmd_report, "write a run's report again, or compare runs"},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "Usage: aieb [-v|-q] <command> [options]\n"
                 "       aieb --help | --version\n\n"
                 "Measures the energy (GPU, CPU, RAM; Wh, gCO2e, J/token) and speed (TTFT,\n"
                 "TPOT, tokens/s) of AI inference workloads.\n\n"
                 "Commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nGlobal options:\n"
                 "  -v, --verbose   more log output (debug)\n"
                 "  -q, --quiet     only errors on stderr\n"
                 "  -h, --help      this help\n"
                 "  -V, --version   print the version\n\n"
                 "Environment: LOG_LEVEL=DEBUG|INFO|WARNING|ERROR (overridden by -v/-q).\n"
                 "Exit status: 0 ok, 1 run failed, 2 usage or config error,\n"
                 "             3 environment not usable, 130 interrupted.\n"
                 "Run 'aieb <command> --help' for a command's options.\n");
}

int tool_fail(int code, const aieb_err *err)
{
    fprintf(stderr, "aieb: error: %s\n", err && err->msg[0] ? err->msg : aieb_strerror(code));
    return aieb_exit_status(code);
}

int tool_usage_error(const char *sub, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "aieb %s: ", sub);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'aieb %s --help'.\n", sub);
    return EXIT_USAGE;
}

int tool_config_flags(const char *sub, int lenient, unsigned *flags)
{
    static const char *const on[] = {"1", "true", "yes", "on", NULL};
    static const char *const off[] = {"", "0", "false", "no", "off", NULL};
    *flags = lenient ? AIEB_CONFIG_LENIENT : 0;
    const char *env = getenv("AIEB_LENIENT");
    if (!env)
        return 0;
    for (int i = 0; on[i]; i++)
        if (strcasecmp(env, on[i]) == 0) {
            *flags |= AIEB_CONFIG_LENIENT;
            return 0;
        }
    for (int i = 0; off[i]; i++)
        if (strcasecmp(env, off[i]) == 0)
            return 0;
    return tool_usage_error(sub,
                            "AIEB_LENIENT=%.100s: expected 1 (unknown config keys are "
                            "warnings) or 0 (they are errors)",
                            env);
}

void tool_unknown_keys_hint(const aieb_diags *d, unsigned flags)
{
    if (flags & AIEB_CONFIG_LENIENT || !d->n_unknown_keys)
        return;
    fprintf(stderr,
            "aieb: %zu unknown key%s; if the file is also meant for another tool, --lenient "
            "(or AIEB_LENIENT=1) makes unknown keys warnings\n",
            d->n_unknown_keys, d->n_unknown_keys == 1 ? "" : "s");
}

/* Removes -v/--verbose/-q/--quiet anywhere before a "--", so they work before or
 * after the subcommand. After `measure` they are left alone: everything from the
 * measured command's name on is that command's (`aieb measure sh -c '...' x -v`
 * passes -v to sh), and measure's own option parser takes -v/-q before it. */
static int take_global_flags(int *argc, char **argv)
{
    int verbose = 0, quiet = 0, out = 1, seen_cmd = 0;
    int i;
    for (i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            break;
        if (!seen_cmd && a[0] != '-') {
            seen_cmd = 1;
            if (strcmp(a, "measure") == 0)
                break;
        }
        if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)
            verbose = 1;
        else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
            quiet = 1;
        else
            argv[out++] = argv[i];
    }
    for (; i < *argc; i++)
        argv[out++] = argv[i];
    argv[out] = NULL;
    *argc = out;

    const char *env = getenv("LOG_LEVEL");
    if (env && *env) {
        aieb_log_level lv;
        if (aieb_log_parse_level(env, &lv) != 0) {
            fprintf(stderr, "aieb: error: LOG_LEVEL=%s: expected DEBUG, INFO, WARNING or ERROR\n",
                    env);
            return EXIT_USAGE;
        }
        aieb_log_set_level(lv);
    }
    if (verbose)
        aieb_log_set_level(AIEB_LOG_DEBUG);
    if (quiet)
        aieb_log_set_level(AIEB_LOG_ERROR);
    return 0;
}

int main(int argc, char **argv)
{
    int rc = take_global_flags(&argc, argv);
    if (rc)
        return rc;
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "-V") == 0 || strcmp(name, "--version") == 0) {
        printf("aieb %s\n", AIEB_VERSION);
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "aieb: unknown %s '%s'\n\n", name[0] == '-' ? "option" : "command", name);
    usage(stderr);
    return EXIT_USAGE;
}
