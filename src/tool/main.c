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
    {"probe", cmd_probe, "show what this machine (or a Prometheus server) can measure"},
    {"config", cmd_config, "check or show a configuration"},
    {"generate", cmd_generate, "generate text with the embedded engine"},
    {"report", cmd_report, "write a run's report again, or compare runs"},
    {"rate", cmd_rate, "AI Energy Score stars of energy_star runs"},
    {"history", cmd_history, "list the runs recorded in the results store"},
    {"tokenize", cmd_tokenize, "print the token ids of a text under a GGUF vocabulary"},
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

const char *tool_carbon_from(const aieb_carbon *c, int part)
{
    if (part == 2)
        return c->basis == AIEB_CARBON_OVERRIDE ? "--carbon-intensity" : "table";
    aieb_carbon_from f = part == 0 ? c->country_from : c->region_from;
    switch (f) {
    case AIEB_CARBON_FROM_GIVEN:
        return part == 0 ? "--country" : "--region";
    case AIEB_CARBON_FROM_ENV:
        return part == 0 ? "env " AIEB_CARBON_ENV_COUNTRY : "env " AIEB_CARBON_ENV_REGION;
    case AIEB_CARBON_FROM_DEFAULT:
        return "default";
    case AIEB_CARBON_FROM_NONE:
        break;
    }
    return NULL;
}

json_t *tool_carbon_json(const aieb_carbon *c)
{
    static const char *const basis[] = {"override", "region", "country", "world_average"};
    return json_pack("{s:f, s:s, s:s, s:s, s:s?, s:s?, s:i, s:s, s:s?, s:{s:s?, s:s?, s:s}}",
                     "g_per_kwh", c->g_per_kwh, "basis", basis[c->basis], "iso3", c->iso3,
                     "country", c->country, "region", c->region[0] ? c->region : NULL,
                     "region_name", c->region_name[0] ? c->region_name : NULL, "year", c->year,
                     "source", c->source, "note", c->note[0] ? c->note : NULL, "from", "country",
                     tool_carbon_from(c, 0), "region", tool_carbon_from(c, 1), "g_per_kwh",
                     tool_carbon_from(c, 2));
}

int tool_check_carbon(const aieb_config *cfg, aieb_diags *d)
{
    aieb_carbon c;
    aieb_err err = {0};
    const char *region = cfg->metrics.region ? cfg->metrics.region : "";
    int rc = aieb_carbon_resolve(cfg->metrics.country_iso_code, region,
                                 cfg->metrics.carbon_intensity_g_per_kwh, &c, &err);
    if (rc)
        aieb_config_diag_at(cfg, d, AIEB_DIAG_ERROR, "metrics.country_iso_code", "%s", err.msg);
    return rc;
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
