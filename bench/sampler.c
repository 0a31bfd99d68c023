/* sampler.c - CPU cost of the meter's sampler thread.
 *
 * Runs a meter over 8 fake GPUs (tests/fakes/libfake_nvml.so, every NVML call
 * answered from memory, so this measures aieb's own overhead, not the
 * driver's) at 10 ms, the default (20 ms) and 100 ms for a few seconds each,
 * and reports CPU time per sample and the share of one core. Goal: at most 1% of one core at
 * 100 Hz (10 ms). The main thread only sleeps meanwhile, so the process's CPU
 * time is the sampler's.
 *
 * Usage: bench_sampler [--seconds S] [--gpus N] [--fake PATH]
 * (default fake: ../tests/fakes/libfake_nvml.so beside this binary's folder).
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aieb/clock.h"
#include "aieb/log.h"
#include "aieb/meter.h"

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * AIEB_NS_PER_S + ts.tv_nsec;
}

/* One run: returns 0 and prints a line, or 1 on failure. */
static int run(const char *fake, int interval_ms, double seconds, int with_estimates)
{
    aieb_meter_opts o;
    aieb_meter_opts_init(&o);
    o.nvml_library = fake;
    o.sample_interval_ms = interval_ms;
    o.no_cpu = o.no_ram = !with_estimates;
    o.powercap_root = "/nonexistent"; /* the CPU estimate: reads /proc/stat each sample */
    aieb_meter *m = NULL;
    aieb_err err = {0};
    if (aieb_meter_open(&m, &o, &err) != 0) {
        fprintf(stderr, "bench_sampler: %s\n", err.msg);
        return 1;
    }
    int n_gpu = 0;
    for (int i = 0; i < aieb_meter_n_channels(m); i++)
        n_gpu += aieb_meter_channel(m, i)->domain == AIEB_DOMAIN_GPU;
    if (aieb_meter_start(m, &err) != 0) {
        fprintf(stderr, "bench_sampler: %s\n", err.msg);
        aieb_meter_close(m);
        return 1;
    }
    /* skip the start's fine sampling (counter steps): steady state only */
    aieb_sleep_ns(300 * AIEB_NS_PER_MS, NULL);
    size_t n0 = aieb_meter_n_samples(m);
    int64_t c0 = cpu_ns(), t0 = aieb_now_ns();
    aieb_sleep_ns((int64_t)(seconds * 1e9), NULL);
    int64_t c1 = cpu_ns(), t1 = aieb_now_ns();
    size_t n1 = aieb_meter_n_samples(m);
    aieb_meter_stop(m, &err);
    double wall = (double)(t1 - t0) / 1e9, cpu = (double)(c1 - c0) / 1e9;
    size_t n = n1 - n0;
    printf("%6d ms %5d GPUs%s %8zu samples %9.1f us/sample %8.3f%% of one core\n", interval_ms,
           n_gpu, with_estimates ? " + cpu/ram estimates" : "                    ", n,
           n ? cpu / (double)n * 1e6 : 0, 100 * cpu / wall);
    aieb_meter_close(m);
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = 5;
    const char *gpus = "8";
    char fake[PATH_MAX] = "";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--gpus") == 0 && i + 1 < argc)
            gpus = argv[++i];
        else if (strcmp(argv[i], "--fake") == 0 && i + 1 < argc)
            snprintf(fake, sizeof fake, "%s", argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--seconds S] [--gpus N] [--fake PATH]\n", argv[0]);
            return 2;
        }
    }
    if (!fake[0]) {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) {
            fprintf(stderr, "bench_sampler: give --fake PATH\n");
            return 2;
        }
        exe[n] = '\0';
        snprintf(fake, sizeof fake, "%s/../tests/fakes/libfake_nvml.so", dirname(exe));
    }
    if (access(fake, R_OK) != 0) {
        fprintf(stderr, "bench_sampler: %s not found (build with tests, or give --fake)\n", fake);
        return 2;
    }
    setenv("FAKE_NVML_DEVICES", gpus, 1);
    setenv("FAKE_NVML_POWER", "square:100:300:0.5", 1);
    aieb_log_set_level(AIEB_LOG_WARNING);
    printf("bench_sampler: sampler CPU time, fake NVML (%s), %.0f s per line\n", fake, seconds);
    int rc = 0;
    rc |= run(fake, 10, seconds, 0);
    rc |= run(fake, AIEB_METER_DEFAULT_INTERVAL_MS, seconds, 0); /* the default */
    rc |= run(fake, 100, seconds, 0);
    rc |= run(fake, 10, seconds, 1);
    rc |= run(fake, 100, seconds, 1);
    return rc;
}
