/* cmd_probe.c - 'aieb probe': what this machine can measure, and how.
 *
 * Opens a meter (starting nothing) and shows what each source found: GPUs and
 * their readings, RAPL zones (readable, or why not), the estimates that stand
 * in where nothing is measured, and the carbon intensity a run here would use
 * (resolved as the run does, saying where each part came from). Exit 0 even
 * when nothing is measurable: that is an answer, not a failure.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/carbon.h"
#include "aieb/clock.h"
#include "aieb/log.h"
#include "aieb/meter.h"
#include "aieb/prom.h"
#include "tool.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: aieb probe [--json] [--gpus LIST] [--country ISO3] [--region R]\n"
                 "                  [--carbon-intensity G]\n"
                 "       aieb probe --remote URL [--selector S] [--cpu-metric M] [--json]\n\n"
                 "Shows what this machine can measure: each NVIDIA GPU (name, UUID, memory,\n"
                 "power limit, energy counter yes/no, instant power yes/no), each AMD GPU\n"
                 "(the same through ROCm SMI, with the counter's resolution), each RAPL zone\n"
                 "(readable, or why not), the estimates used where nothing is measured, and\n"
                 "the carbon intensity a run here would use, and where each part of it comes\n"
                 "from (as 'aieb run' and 'aieb measure' resolve it).\n\n"
                 "Options:\n"
                 "  --json                  print JSON instead of text\n"
                 "  --gpus LIST             GPUs a run would measure (NVML or ROCm SMI indices\n"
                 "                          or UUIDs)\n"
                 "  --country ISO3          country for the carbon intensity (e.g. FRA, USA;\n"
                 "                          default: COUNTRY_ISO_CODE, else USA)\n"
                 "  --region R              region of that country (US state or eGRID\n"
                 "                          subregion; default: REGION, else none)\n"
                 "  --carbon-intensity G    gCO2e/kWh, overriding the table\n"
                 "  --remote URL            instead, list the series a run with metrics.remote\n"
                 "                          would read from the Prometheus server at URL (GPU\n"
                 "                          energy counter and power gauge, with their labels\n"
                 "                          and last values)\n"
                 "  --selector S            label selector of those series, e.g.\n"
                 "                          '{job=\"dcgm\"}' (default: every series)\n"
                 "  --cpu-metric M          also list the CPU energy counter M (e.g.\n"
                 "                          node_rapl_package_joules_total), same selector\n"
                 "  -h, --help              this help\n\n"
                 "Environment: AIEB_NVML_LIBRARY (NVML library path), AIEB_ROCM_SMI_LIBRARY\n"
                 "(ROCm SMI library path), AIEB_POWERCAP_ROOT (powercap directory),\n"
                 "CUDA_VISIBLE_DEVICES (NVIDIA GPUs chosen when --gpus is absent),\n"
                 "ROCR_VISIBLE_DEVICES and HIP_VISIBLE_DEVICES (AMD GPUs chosen likewise),\n"
                 "COUNTRY_ISO_CODE and REGION (as for a run).\n"
                 "Exit status: 0, also when nothing is measurable (or no series matches); 2 usage\n"
                 "error or a country the carbon table lacks; 3 the Prometheus server cannot be\n"
                 "reached or answers an error.\n");
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static double jnum(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *yes_no(const json_t *o, const char *key)
{
    return json_is_true(json_object_get(o, key)) ? "yes" : "no";
}

/* The source of the meter's description named name (and channel, if given). */
static json_t *find_source(json_t *desc, const char *name, const char *channel)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(desc, "sources"), i, s)
    {
        if (strcmp(jstr(s, "source"), name) == 0 &&
            (!channel || strcmp(jstr(s, "channel"), channel) == 0))
            return s;
    }
    return NULL;
}

/* The note of the meter that starts with prefix, or NULL. */
static const char *find_note(json_t *desc, const char *prefix)
{
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(desc, "notes"), i, n)
    {
        const char *s = json_string_value(n);
        if (s && strstr(s, prefix))
            return s;
    }
    return NULL;
}

static void print_amd_gpus(json_t *amd)
{
    printf("AMD GPUs (ROCm SMI from %s; chosen: %s):\n", jstr(amd, "library"),
           jstr(amd, "selection"));
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(amd, "devices"), i, d)
    {
        printf("  amdgpu%-3d %s  %s  %s%s\n", (int)jnum(d, "index"), jstr(d, "name"),
               jstr(d, "uuid"), jstr(d, "pci_bus_id"),
               json_is_true(json_object_get(d, "selected")) ? "" : "  (not chosen)");
        printf("            memory %.0f MiB, power limit %.0f W\n", jnum(d, "memory_total_mb"),
               jnum(d, "power_limit_w"));
        double res = jnum(d, "counter_resolution_uj");
        char counter[48];
        snprintf(counter, sizeof counter, isnan(res) ? "no" : "yes (%.3f uJ per count)", res);
        printf("            energy counter: %s, socket power: %s, average power: %s -> %s\n",
               counter, yes_no(d, "socket_power"), yes_no(d, "average_power"), jstr(d, "method"));
    }
}

static void print_gpus(json_t *desc)
{
    json_t *nv = find_source(desc, "nvml", NULL), *amd = find_source(desc, "rocm_smi", NULL);
    if (!nv && !amd) {
        const char *why = find_note(desc, "nvml");
        printf("GPUs: none measurable\n  %s\n", why ? why : "(GPU metering turned off)");
        return;
    }
    if (amd)
        print_amd_gpus(amd);
    if (!nv)
        return;
    printf("GPUs (NVML from %s; chosen: %s):\n", jstr(nv, "library"), jstr(nv, "selection"));
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(nv, "devices"), i, d)
    {
        const char *arch = jstr(d, "architecture");
        printf("  gpu%-3d %s  %s%s\n", (int)jnum(d, "index"), jstr(d, "name"), jstr(d, "uuid"),
               json_is_true(json_object_get(d, "selected")) ? "" : "  (not chosen)");
        printf("         memory %.0f MiB, power limit %.0f W%s%s\n", jnum(d, "memory_total_mb"),
               jnum(d, "power_limit_w"), *arch ? ", " : "", arch);
        printf("         energy counter: %s, instant power: %s, power usage: %s -> %s\n",
               yes_no(d, "energy_counter"), yes_no(d, "instant_power"), yes_no(d, "power_usage"),
               jstr(d, "method"));
    }
}

static void print_rapl(json_t *rapl)
{
    printf("CPU and DRAM (RAPL under %s): %s\n", jstr(rapl, "root"),
           json_is_true(json_object_get(rapl, "usable")) ? "usable" : "not usable");
    const char *why = jstr(rapl, "error");
    if (*why)
        printf("  %s\n", why);
    size_t i;
    json_t *z;
    json_array_foreach(json_object_get(rapl, "zones"), i, z)
    {
        int readable = json_is_true(json_object_get(z, "readable"));
        printf("  %-22s %-10s %-4s %-12s %s%s%s\n", jstr(z, "zone"), jstr(z, "name"),
               jstr(z, "interface"), readable ? "readable" : "not readable", jstr(z, "role"),
               readable ? "" : ": ", readable ? "" : jstr(z, "why"));
    }
}

static void print_estimates(json_t *desc)
{
    json_t *cpu = find_source(desc, "estimate", "cpu"), *ram = find_source(desc, "estimate", "ram");
    printf("Estimates:\n");
    if (cpu)
        printf("  cpu: estimate_tdp_load, %s, TDP %.0f W (%s, %d hardware threads)\n",
               jstr(cpu, "model"), jnum(cpu, "tdp_w"), jstr(cpu, "tdp_from"),
               (int)jnum(cpu, "hardware_threads"));
    else if (find_source(desc, "rapl", NULL))
        printf("  cpu: none needed (RAPL measures the packages)\n");
    else
        printf("  cpu: none (CPU metering turned off or unavailable)\n");
    if (ram)
        printf("  ram: estimate_dimm, %.1f GiB in %d DIMMs -> %.1f W%s\n", jnum(ram, "total_gib"),
               (int)jnum(ram, "dimm_count"), jnum(ram, "power_w"),
               json_is_true(json_object_get(ram, "informational"))
                   ? " (beside measured DRAM, never in totals)"
                   : "");
    else
        printf("  ram: none\n");
}

/* The carbon intensity, and where its country, region and figure come from. */
static void print_carbon(const aieb_carbon *c)
{
    printf("Carbon intensity: %.0f gCO2e/kWh, what a run here uses unless its config sets "
           "metrics.*\n",
           c->g_per_kwh);
    const char *from = tool_carbon_from(c, 0);
    printf("  country: %s%s%s%s, %s %s\n", c->iso3, c->country[0] ? " (" : "", c->country,
           c->country[0] ? ")" : "", strcmp(from, "default") == 0 ? "the" : "from", from);
    if (c->region[0])
        printf("  region:  %s (%s), from %s\n", c->region, c->region_name, tool_carbon_from(c, 1));
    else if (c->region_from != AIEB_CARBON_FROM_NONE)
        printf("  region:  none found (asked for by %s)\n", tool_carbon_from(c, 1));
    else
        printf("  region:  none (--region, REGION or metrics.region sets one)\n");
    if (c->basis == AIEB_CARBON_OVERRIDE)
        printf("  figure:  given by --carbon-intensity, not the table\n");
    else
        printf("  figure:  the %s's, %s %d\n",
               c->basis == AIEB_CARBON_REGION ? "region" : "country", c->source, c->year);
    if (c->note[0])
        printf("  note:    %s\n", c->note);
}

/* `aieb probe --remote`: what the Prometheus server has for a run to read. */
static int probe_remote(const char *url, const char *selector, const char *cpu_metric, int as_json)
{
    aieb_prom_opts o;
    memset(&o, 0, sizeof o);
    o.url = url;
    o.selector = selector;
    o.gpu_energy_metric = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION";
    o.gpu_power_metric = "DCGM_FI_DEV_POWER_USAGE";
    o.cpu_energy_metric = cpu_metric;
    o.cpu_selector = selector;
    aieb_err err = {0};
    char shown[512];
    aieb_url_redact(url, shown, sizeof shown);
    json_t *series = aieb_prom_probe(&o, &err);
    if (!series)
        return tool_fail(err.code, &err);
    if (as_json) {
        json_t *out = json_pack("{s:s, s:s, s:O}", "url", shown, "selector",
                                selector && *selector ? selector : "{}", "series", series);
        if (out)
            json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
        json_decref(out);
        json_decref(series);
        return 0;
    }
    printf("Prometheus at %s, selector %s: %zu series\n", shown,
           selector && *selector ? selector : "{}", json_array_size(series));
    size_t i;
    json_t *e;
    json_array_foreach(series, i, e)
    {
        char when[32];
        double ts = jnum(e, "timestamp");
        aieb_format_utc((int64_t)(ts * 1e9), 0, when);
        printf("  %s{", jstr(e, "metric"));
        const char *k;
        json_t *v;
        int first = 1;
        json_object_foreach(json_object_get(e, "labels"), k, v)
        {
            if (strcmp(k, "__name__") == 0)
                continue;
            printf("%s%s=\"%s\"", first ? "" : ", ", k, json_string_value(v));
            first = 0;
        }
        printf("} %.10g at %sZ\n", jnum(e, "value"), when);
    }
    if (json_array_size(series) == 0)
        printf("  no series match: check the selector (labels as the exporter writes them, plus\n"
               "  Prometheus's job and instance)\n");
    json_decref(series);
    return 0;
}

int cmd_probe(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"gpus", required_argument, NULL, 'g'},
        {"country", required_argument, NULL, 'c'},
        {"region", required_argument, NULL, 'r'},
        {"carbon-intensity", required_argument, NULL, 'i'},
        {"remote", required_argument, NULL, 'R'},
        {"selector", required_argument, NULL, 'S'},
        {"cpu-metric", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int as_json = 0, opt;
    const char *gpus = NULL, *country = NULL, *region = NULL;
    const char *remote = NULL, *selector = NULL, *cpu_metric = NULL;
    double intensity = NAN;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'j':
            as_json = 1;
            break;
        case 'g':
            gpus = optarg;
            break;
        case 'c':
            country = optarg;
            break;
        case 'r':
            region = optarg;
            break;
        case 'i': {
            char *end;
            intensity = strtod(optarg, &end);
            if (end == optarg || *end || !(intensity >= 0))
                return tool_usage_error("probe", "--carbon-intensity: '%s' is not a number >= 0",
                                        optarg);
            break;
        }
        case 'R':
            remote = optarg;
            break;
        case 'S':
            selector = optarg;
            break;
        case 'C':
            cpu_metric = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            return tool_usage_error("probe", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return tool_usage_error("probe", "unexpected argument '%s'", argv[optind]);
    if ((selector || cpu_metric) && !remote)
        return tool_usage_error("probe", "--selector and --cpu-metric go with --remote URL");
    if (remote) {
        size_t len = selector ? strlen(selector) : 0;
        if (strncmp(remote, "http://", 7) != 0 && strncmp(remote, "https://", 8) != 0)
            return tool_usage_error("probe", "--remote: '%s' is not an http(s) URL", remote);
        if (len && (selector[0] != '{' || selector[len - 1] != '}'))
            return tool_usage_error("probe", "--selector: '%s' is not a label selector {...}",
                                    selector);
        return probe_remote(remote, selector, cpu_metric, as_json);
    }

    aieb_err err = {0};
    aieb_meter_opts mo;
    aieb_meter_opts_init(&mo);
    mo.gpu_ids = gpus;
    aieb_meter *m = NULL;
    /* What the sources say once at open is probe's output here: not on stderr too. */
    aieb_log_level level = aieb_log_get_level();
    if (level > AIEB_LOG_DEBUG && level < AIEB_LOG_ERROR)
        aieb_log_set_level(AIEB_LOG_ERROR);
    int rc = aieb_meter_open(&m, &mo, &err);
    aieb_log_set_level(level);
    if (rc)
        return tool_fail(rc, &err);
    aieb_carbon carbon; /* resolved as a run resolves it, environment and default included */
    rc = aieb_carbon_resolve(country, region, intensity, &carbon, &err);
    if (rc) {
        aieb_meter_close(m);
        return tool_fail(rc, &err);
    }
    json_t *desc = aieb_meter_describe(m);
    json_t *rapl = aieb_rapl_probe(getenv("AIEB_POWERCAP_ROOT"));
    json_t *cj = tool_carbon_json(&carbon);
    if (!desc || !rapl || !cj) {
        json_decref(desc), json_decref(rapl), json_decref(cj);
        aieb_meter_close(m);
        aieb_errf(&err, AIEB_ENOMEM, "probe: out of memory");
        return tool_fail(AIEB_ENOMEM, &err);
    }
    if (as_json) {
        json_t *gpu = find_source(desc, "nvml", NULL), *amd = find_source(desc, "rocm_smi", NULL);
        const char *why = gpu || amd ? NULL : find_note(desc, "nvml");
        json_t *out = json_pack(
            "{s:O?, s:O?, s:s?, s:O, s:{s:O?, s:O?}, s:O, s:O, s:O, s:o}", "gpus", gpu, "amd_gpus",
            amd, "gpus_why", why, "rapl", rapl, "estimates", "cpu",
            find_source(desc, "estimate", "cpu"), "ram", find_source(desc, "estimate", "ram"),
            "channels", json_object_get(desc, "channels"), "notes", json_object_get(desc, "notes"),
            "sample_interval_ms", json_object_get(desc, "sample_interval_ms"), "carbon",
            json_incref(cj));
        if (out)
            json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        putchar('\n');
        json_decref(out);
    } else {
        printf("aieb probe: what this machine can measure\n\n");
        print_gpus(desc);
        putchar('\n');
        print_rapl(rapl);
        putchar('\n');
        print_estimates(desc);
        putchar('\n');
        print_carbon(&carbon);
        printf("Channels a run would record:");
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(desc, "channels"), i, c)
        {
            printf(" %s (%s%s)", jstr(c, "label"), jstr(c, "method"),
                   json_is_true(json_object_get(c, "informational")) ? ", informational" : "");
        }
        if (json_array_size(json_object_get(desc, "channels")) == 0)
            printf(" none: nothing is measurable here");
        putchar('\n');
    }
    json_decref(desc);
    json_decref(rapl);
    json_decref(cj);
    aieb_meter_close(m);
    return 0;
}
