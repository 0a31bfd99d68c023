/* cmd_measure.c - 'aieb measure': the energy of any command.
 *
 * Opens a meter, optionally measures idle power first, runs the command
 * (fork/exec, no shell) while the sampler records, forwards SIGINT/SIGTERM to
 * it, then reports energy per domain over the command's lifetime with the
 * method of every figure. Exits with the command's status (128+signal when a
 * signal killed it), so it can wrap commands in scripts.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aieb/carbon.h"
#include "aieb/clock.h"
#include "aieb/emissions.h"
#include "aieb/fileio.h"
#include "aieb/log.h"
#include "aieb/meter.h"
#include "tool.h"

/* Signal state: the one place a handler needs globals. */
static volatile sig_atomic_t child_pid;
static volatile sig_atomic_t
    got_signal; /* read by aieb_sleep_ns as the idle baseline's stop flag */

static void forward_signal(int sig)
{
    got_signal = sig;
    if (child_pid > 0)
        kill((pid_t)child_pid, sig);
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: aieb measure [options] [--] CMD [ARGS...]\n\n"
            "Runs CMD (no shell) and measures the energy the machine used while it ran:\n"
            "GPU (NVML, ROCm SMI), CPU and DRAM (RAPL, or estimates), RAM (estimate), with the\n"
            "method of each figure. The table goes to stderr; CMD's output is its own.\n"
            "Exits with CMD's exit status (128+N when signal N killed it).\n\n"
            "Options:\n"
            "  --interval-ms N         sampling interval, %d..%d ms (default %d)\n"
            "  --gpus LIST             NVML or ROCm SMI indices or UUIDs (default:\n"
            "                          CUDA_VISIBLE_DEVICES for NVIDIA GPUs, ROCR_ and\n"
            "                          HIP_VISIBLE_DEVICES for AMD GPUs, else all)\n"
            "  --idle-baseline S       measure idle power for S seconds before CMD; net energy\n"
            "                          = gross - idle power x duration\n"
            "  --json FILE             write the results as JSON\n"
            "  --timeline FILE         write every sample as CSV\n"
            "  --emissions FILE        append a row to a CodeCarbon-format emissions.csv\n"
            "  --country ISO3          country for the carbon intensity (default:\n"
            "                          COUNTRY_ISO_CODE, else USA, as a run)\n"
            "  --region R              region of that country (US state or eGRID subregion;\n"
            "                          default: REGION, else none)\n"
            "  --carbon-intensity G    gCO2e/kWh, overriding the table\n"
            "  --pue P                 power usage effectiveness for emissions (default 1.0)\n"
            "  --cpu-tdp W             CPU TDP for the estimate when RAPL is missing\n"
            "  -v, -q                  more or less log output (aieb's own -v/-q; after CMD\n"
            "                          they are CMD's)\n"
            "  -h, --help              this help\n\n"
            "Environment: AIEB_NVML_LIBRARY, AIEB_ROCM_SMI_LIBRARY, AIEB_POWERCAP_ROOT,\n"
            "CUDA_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES, HIP_VISIBLE_DEVICES,\n"
            "COUNTRY_ISO_CODE, REGION ('aieb probe' shows the carbon intensity they give).\n"
            "Exit status: CMD's; 127 CMD not found, 126 not executable; 2 usage error;\n"
            "3 environment not usable; 130 interrupted before CMD started.\n",
            AIEB_METER_MIN_INTERVAL_MS, AIEB_METER_MAX_INTERVAL_MS, AIEB_METER_DEFAULT_INTERVAL_MS);
}

typedef struct measure_args {
    aieb_meter_opts mo;
    double idle_s, intensity;
    const char *json_path, *timeline_path, *emissions_path, *country, *region;
    char **cmd;
} measure_args;

static int parse_double(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !(v >= lo && v <= hi))
        return tool_usage_error("measure", "%s: '%s' is not a number in [%g, %g]", opt, s, lo, hi);
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, measure_args *a)
{
    static const struct option longopts[] = {
        {"interval-ms", required_argument, NULL, 'n'},
        {"gpus", required_argument, NULL, 'g'},
        {"idle-baseline", required_argument, NULL, 'b'},
        {"json", required_argument, NULL, 'j'},
        {"timeline", required_argument, NULL, 't'},
        {"emissions", required_argument, NULL, 'e'},
        {"country", required_argument, NULL, 'c'},
        {"region", required_argument, NULL, 'r'},
        {"carbon-intensity", required_argument, NULL, 'i'},
        {"pue", required_argument, NULL, 'p'},
        {"cpu-tdp", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    aieb_meter_opts_init(&a->mo);
    a->intensity = NAN;
    a->mo.pue = 1.0;
    int opt, rc = 0;
    double v = 0;
    optind = 1;
    opterr = 0;
    /* '+': options end at the first non-option, so CMD's own flags are CMD's. */
    while (rc == 0 && (opt = getopt_long(argc, argv, "+hvq", longopts, NULL)) != -1) {
        switch (opt) {
        case 'v': /* aieb's global flags, here because main leaves measure's args alone */
            aieb_log_set_level(AIEB_LOG_DEBUG);
            break;
        case 'q':
            aieb_log_set_level(AIEB_LOG_ERROR);
            break;
        case 'n':
            rc = parse_double("--interval-ms", optarg, AIEB_METER_MIN_INTERVAL_MS,
                              AIEB_METER_MAX_INTERVAL_MS, &v);
            a->mo.sample_interval_ms = (int)v;
            if (rc == 0 && v != floor(v))
                rc = tool_usage_error("measure", "--interval-ms: '%s' is not whole", optarg);
            break;
        case 'g':
            a->mo.gpu_ids = optarg;
            break;
        case 'b':
            rc = parse_double("--idle-baseline", optarg, 0, 86400, &a->idle_s);
            break;
        case 'j':
            a->json_path = optarg;
            break;
        case 't':
            a->timeline_path = optarg;
            break;
        case 'e':
            a->emissions_path = optarg;
            break;
        case 'c':
            a->country = optarg;
            break;
        case 'r':
            a->region = optarg;
            break;
        case 'i':
            rc = parse_double("--carbon-intensity", optarg, 0, 1e5, &a->intensity);
            break;
        case 'p':
            rc = parse_double("--pue", optarg, 1, 10, &a->mo.pue);
            break;
        case 'T':
            rc = parse_double("--cpu-tdp", optarg, 1, 1e5, &a->mo.cpu_tdp_w);
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            return tool_usage_error("measure", "unknown option or missing value '%s'",
                                    argv[optind - 1]);
        }
    }
    if (rc)
        return rc;
    if (optind >= argc)
        return tool_usage_error("measure", "missing the command to run (aieb measure -- CMD)");
    a->cmd = argv + optind;
    return 0;
}

/* ==== Running the command ================================================== */

/* Forks and execs cmd. Returns 0 with *pid set, or the shell-style status 127
 * (not found) / 126 (not executable) with a message printed, or -1 on fork
 * failure. A close-on-exec pipe carries exec's errno back. */
static int spawn(char **cmd, pid_t *pid)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    *pid = fork();
    if (*pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (*pid == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        close(fds[0]);
        execvp(cmd[0], cmd);
        int e = errno;
        ssize_t w = write(fds[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    child_pid = *pid;
    close(fds[1]);
    int e = 0;
    ssize_t n;
    while ((n = read(fds[0], &e, sizeof e)) < 0 && errno == EINTR) {
    }
    close(fds[0]);
    if (n == (ssize_t)sizeof e) {
        int st;
        while (waitpid(*pid, &st, 0) < 0 && errno == EINTR) {
        }
        child_pid = 0;
        fprintf(stderr, "aieb measure: %s: %s\n", cmd[0],
                e == ENOENT ? "command not found" : strerror(e));
        return e == ENOENT ? 127 : 126;
    }
    return 0;
}

static int wait_child(pid_t pid)
{
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            return 1;
    }
    child_pid = 0;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return 1;
}

/* ==== Reporting ============================================================ */

/* A right-aligned number, or "-" when there is none. */
static void cell(double v, int width, int prec)
{
    if (isfinite(v))
        fprintf(stderr, " %*.*f", width, prec, v);
    else
        fprintf(stderr, " %*s", width, "-");
}

static void print_row(const char *name, double j, double avg, double peak, double net, int has_net,
                      const char *method, const char *note)
{
    fprintf(stderr, "  %-8s %12.3f %11.6f", name, j, j / 3600.0);
    cell(avg, 9, 1);
    cell(peak, 9, 1);
    if (has_net)
        cell(net, 12, 3);
    fprintf(stderr, "  %s%s\n", method, note ? note : "");
}

static void print_table(const measure_args *a, const aieb_meter_summary *s,
                        const aieb_emissions *em, const aieb_carbon *carbon, int status)
{
    const aieb_window *w = &s->window;
    fprintf(stderr, "\naieb measure: '%s' exited %d after %.3f s", a->cmd[0], status,
            w->duration_s);
    if (s->has_baseline)
        fprintf(stderr, " (idle baseline %.1f s before it)", s->baseline_s);
    fprintf(stderr, "\n  %-8s %12s %11s %9s %9s", "domain", "energy J", "Wh", "avg W", "peak W");
    if (s->has_baseline)
        fprintf(stderr, " %12s", "net J");
    fprintf(stderr, "  method\n");
    for (int d = 0; d < AIEB_N_DOMAINS; d++) {
        const char *dn = aieb_domain_name((aieb_domain)d);
        if (s->has_domain[d])
            print_row(dn, w->energy_j[d], s->avg_power_w[d], s->peak_power_w[d], w->net_energy_j[d],
                      s->has_baseline, s->method[d], NULL);
        else if (d == AIEB_DOMAIN_RAM && isfinite(s->ram_estimate_j))
            print_row(dn, s->ram_estimate_j, s->ram_estimate_j / w->duration_s, NAN, NAN,
                      s->has_baseline, s->method[d], " (beside measured DRAM; not in total)");
        if (d != AIEB_DOMAIN_GPU)
            continue;
        int n_gpu = 0;
        for (int c = 0; c < s->n_channels; c++)
            n_gpu += s->channels[c].info->domain == AIEB_DOMAIN_GPU;
        for (int c = 0; n_gpu > 1 && c < s->n_channels; c++) {
            const aieb_meter_channel_summary *cs = &s->channels[c];
            if (cs->info->domain == AIEB_DOMAIN_GPU)
                print_row(cs->info->label, cs->energy_j, cs->avg_power_w, cs->peak_power_w,
                          cs->net_energy_j, s->has_baseline, cs->info->method, NULL);
        }
    }
    print_row("total", w->total_j, w->total_j / w->duration_s, NAN, w->net_total_j, s->has_baseline,
              "", NULL);
    if (!s->has_domain[AIEB_DOMAIN_GPU])
        fprintf(stderr, "  (no GPU measured)\n");
    if (w->short_window)
        fprintf(stderr,
                "  note: the run is shorter than an energy counter's update period "
                "(%.3f s): its energy is interpolated\n",
                w->max_period_s);
    fprintf(stderr, "  emissions: %.4f gCO2e at %.0f gCO2e/kWh (%s%s%s, %s%s%s), PUE %.2f\n",
            em->emissions_g, carbon->g_per_kwh, carbon->iso3, carbon->region[0] ? " " : "",
            carbon->region, carbon->source, carbon->note[0] ? "; " : "", carbon->note, em->pue);
}

static int write_outputs(const measure_args *a, aieb_meter *m, const aieb_meter_summary *s,
                         const aieb_emissions *em, const aieb_carbon *carbon, int status,
                         aieb_err *err)
{
    int rc = 0;
    if (a->json_path) {
        json_t *root = aieb_meter_summary_json(s);
        json_t *cmd = json_array(), *notes = json_array();
        for (char **p = a->cmd; *p; p++)
            json_array_append_new(cmd, json_string(*p));
        for (int i = 0; i < aieb_meter_n_notes(m); i++)
            json_array_append_new(notes, json_string(aieb_meter_note(m, i)));
        if (root) {
            json_object_set_new(root, "command", cmd);
            json_object_set_new(root, "exit_status", json_integer(status));
            json_object_set_new(root, "sample_interval_ms",
                                json_integer(aieb_meter_interval_ms(m)));
            json_object_set_new(root, "emissions_g", json_real(em->emissions_g));
            json_object_set_new(root, "carbon_intensity_g_per_kwh", json_real(carbon->g_per_kwh));
            json_object_set_new(root, "carbon", tool_carbon_json(carbon)); /* as probe's */
            json_object_set_new(root, "energy_kwh_after_pue", json_real(em->total_kwh));
            json_object_set_new(root, "notes", notes);
        } else {
            json_decref(cmd);
            json_decref(notes);
        }
        char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
        json_decref(root);
        if (!text)
            return aieb_errf(err, AIEB_ENOMEM, "measure: out of memory");
        size_t len = strlen(text);
        char *with_nl = realloc(text, len + 2);
        if (with_nl) {
            text = with_nl;
            text[len++] = '\n';
            text[len] = '\0';
        }
        rc = aieb_write_file_atomic(a->json_path, text, len, err);
        free(text);
        if (rc)
            return rc;
    }
    if (a->timeline_path && (rc = aieb_meter_write_timeline_csv(m, a->timeline_path, err)) != 0)
        return rc;
    if (a->emissions_path) {
        aieb_emissions_row r;
        aieb_emissions_row_init(&r);
        aieb_emissions_row_fill(&r, em, carbon, s->window.duration_s);
        aieb_emissions_machine mach;
        aieb_emissions_machine_probe(&mach, s, NULL);
        aieb_emissions_row_machine(&r, &mach);
        r.project_name = "aieb";
        char *written = NULL;
        rc = aieb_emissions_append(a->emissions_path, &r, &written, err);
        if (rc == 0 && written && strcmp(written, a->emissions_path) != 0)
            fprintf(stderr, "aieb measure: emissions row written to %s\n", written);
        free(written);
    }
    return rc;
}

/* ==== The command ========================================================== */

int cmd_measure(int argc, char **argv)
{
    measure_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;

    aieb_err err = {0};
    aieb_carbon carbon;
    /* resolved as a run resolves it, environment and default included */
    if ((rc = aieb_carbon_resolve(a.country, a.region, a.intensity, &carbon, &err)) != 0)
        return tool_fail(rc, &err);
    aieb_meter *m = NULL;
    if ((rc = aieb_meter_open(&m, &a.mo, &err)) != 0)
        return tool_fail(rc, &err);

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    int status = 0;
    if ((rc = aieb_meter_start(m, &err)) != 0)
        goto fail;
    if (a.idle_s > 0) {
        AIEB_INFO("measure: measuring idle power for %.1f s", a.idle_s);
        rc = aieb_meter_idle_baseline(m, a.idle_s, &got_signal, &err);
        if (rc) {
            aieb_err e2;
            aieb_meter_stop(m, &e2);
            if (rc == AIEB_EINTR) {
                fprintf(stderr, "aieb measure: interrupted during the idle baseline\n");
                status = EXIT_INTERRUPTED;
                goto out;
            }
            goto fail;
        }
    }
    /* The window's edges fall on readings, so the command's energy is the
     * counters' difference, not an interpolation between two ticks: a reading
     * just before the fork, and the stop reading after the command has ended. */
    int64_t t0;
    if ((rc = aieb_meter_read_now(m, &t0, &err)) != 0) {
        aieb_err e2;
        aieb_meter_stop(m, &e2);
        goto fail;
    }
    pid_t pid;
    int sp = spawn(a.cmd, &pid);
    if (sp != 0) {
        aieb_err e2;
        aieb_meter_stop(m, &e2);
        if (sp < 0) {
            rc = aieb_errf(&err, AIEB_EIO, "measure: fork: %s", strerror(errno));
            goto fail;
        }
        status = sp;
        goto out;
    }
    status = wait_child(pid);
    if ((rc = aieb_meter_stop(m, &err)) != 0)
        goto fail;
    int64_t t1 = aieb_meter_stop_ns(m);

    aieb_meter_summary s;
    if ((rc = aieb_meter_summarize(m, t0, t1, &s, &err)) != 0)
        goto fail;
    const aieb_window *w = &s.window;
    aieb_energy_parts parts = {
        .cpu_j = s.has_domain[AIEB_DOMAIN_CPU] ? w->energy_j[AIEB_DOMAIN_CPU] : NAN,
        .gpu_j = s.has_domain[AIEB_DOMAIN_GPU] ? w->energy_j[AIEB_DOMAIN_GPU] : NAN,
        .ram_j = s.has_domain[AIEB_DOMAIN_DRAM]  ? w->energy_j[AIEB_DOMAIN_DRAM]
                 : s.has_domain[AIEB_DOMAIN_RAM] ? w->energy_j[AIEB_DOMAIN_RAM]
                                                 : NAN,
    };
    aieb_emissions em;
    rc = aieb_carbon_emissions(&parts, s.pue, carbon.g_per_kwh, &em, &err);
    if (rc == 0) {
        print_table(&a, &s, &em, &carbon, status);
        rc = write_outputs(&a, m, &s, &em, &carbon, status, &err);
    }
    aieb_meter_summary_free(&s);
    if (rc)
        goto fail;
out:
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    aieb_meter_close(m);
    return status;
fail:
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    aieb_meter_close(m);
    tool_fail(rc, &err);
    return status ? status : aieb_exit_status(rc);
}
