/* libfake_rocm_smi.c - a stand-in for librocm_smi64.so.1 whose AMD GPUs draw
 * power that follows a scripted function of time, so tests can compare aieb's
 * energy with the exact integral. Loaded by aieb through AIEB_ROCM_SMI_LIBRARY.
 *
 * Prototypes follow ROCm SMI's rocm_smi.h (ROCm 5.2; rsmi_dev_current_socket_
 * power_get from ROCm 6); only the symbols aieb uses are exported. Scripted by
 * environment variables, read at rsmi_init:
 *   FAKE_ROCM_DEVICES=N            number of GPUs (default 2, at most 64)
 *   FAKE_ROCM_POWER=SPEC           power of every GPU; FAKE_ROCM_POWER_<i> for GPU i:
 *       const:W                    W watts throughout
 *       square:LOW:HIGH:PERIOD     LOW for the first half of each PERIOD seconds, then HIGH
 *       step:BEFORE:AFTER:AT       BEFORE watts until AT seconds, AFTER from then on
 *   FAKE_ROCM_T0_NS=NS             time origin (CLOCK_MONOTONIC ns); default: rsmi_init's time
 *   FAKE_ROCM_COUNTER_PERIOD_MS=MS energy counter update period (default 1)
 *   FAKE_ROCM_RESOLUTION_UJ=R      uJ per count (default 15.3)
 *   FAKE_ROCM_COUNTER_BASE=N       the counter's value at the origin (default 1e9)
 *   FAKE_ROCM_COUNTER_BITS=32      the counter wraps at 2^32 counts (gpu_metrics v1.0)
 *   FAKE_ROCM_RESET_AT_S=S         the counter restarts from 0 at S seconds (driver reload)
 *   FAKE_ROCM_NO_COUNTER=1         rsmi_dev_energy_count_get: NOT_SUPPORTED
 *   FAKE_ROCM_SOCKET_POWER=1       rsmi_dev_current_socket_power_get answers and
 *                                  rsmi_dev_power_ave_get does not (as on MI300);
 *                                  by default the other way round
 *   FAKE_ROCM_MEM_USED_MB=SPEC     VRAM used: a number, or ramp:FROM:TO:SECONDS
 *   FAKE_ROCM_MEM_TOTAL_MB=MB      VRAM total (default 196592, an MI300X)
 *   FAKE_ROCM_INIT_FAIL=1          rsmi_init fails with INIT_ERROR
 *   FAKE_ROCM_BUSY_FILE=PATH       while PATH exists, power readings are
 *   FAKE_ROCM_BUSY_W=W             W watts (default 400) instead of the script:
 *                                  a test's command turns the GPU "busy" by
 *                                  creating the file, whatever the timing. Power
 *                                  readings only (use with FAKE_ROCM_NO_COUNTER)
 * The counter is base + the exact integral of the power from the origin to the
 * last multiple of the update period, in counts (floor), so it moves in steps.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

typedef int rsmi_status_t;
#define RSMI_STATUS_SUCCESS         0
#define RSMI_STATUS_INVALID_ARGS    1
#define RSMI_STATUS_NOT_SUPPORTED   2
#define RSMI_STATUS_INIT_ERROR      8
#define RSMI_STATUS_INSUFFICIENT_SZ 11

#define MAX_DEVICES 64

typedef struct {
    int kind; /* 0 const, 1 square, 2 step */
    double a, b, c;
} power_fn;

/* A fake driver is process-wide state, as the real library's is. */
static struct {
    int initialized;
    int n;
    power_fn power[MAX_DEVICES];
    int64_t t0_ns, period_ns;
    double resolution_uj, base, reset_at_s;
    int bits32, no_counter, socket_power;
    power_fn mem;
    int mem_is_ramp;
    double mem_total_mb;
    const char *busy_file;
    double busy_w;
} F;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double env_double(const char *name, double dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtod(v, NULL) : dflt;
}

static int parse_power(const char *spec, power_fn *p)
{
    memset(p, 0, sizeof *p);
    if (!spec || !*spec)
        spec = "const:100";
    if (sscanf(spec, "const:%lf", &p->a) == 1)
        return 0;
    if (sscanf(spec, "square:%lf:%lf:%lf", &p->a, &p->b, &p->c) == 3 && p->c > 0) {
        p->kind = 1;
        return 0;
    }
    if (sscanf(spec, "step:%lf:%lf:%lf", &p->a, &p->b, &p->c) == 3) {
        p->kind = 2;
        return 0;
    }
    fprintf(stderr, "fake_rocm_smi: bad power spec '%s'\n", spec);
    return -1;
}

/* Power in W at tau seconds after the origin (the value at 0 before it). */
static double power_at(const power_fn *p, double tau)
{
    if (tau < 0)
        tau = 0;
    if (p->kind == 1)
        return fmod(tau, p->c) < p->c / 2 ? p->a : p->b;
    if (p->kind == 2)
        return tau < p->c ? p->a : p->b;
    return p->a;
}

/* Exact integral of the power from the origin to tau seconds, in J. */
static double energy_to(const power_fn *p, double tau)
{
    if (tau <= 0)
        return 0;
    if (p->kind == 1) {
        double n = floor(tau / p->c), r = tau - n * p->c, h = p->c / 2;
        return n * h * (p->a + p->b) + (r < h ? p->a * r : p->a * h + p->b * (r - h));
    }
    if (p->kind == 2)
        return tau < p->c ? p->a * tau : p->a * p->c + p->b * (tau - p->c);
    return p->a * tau;
}

static double tau_now(void)
{
    return (double)(now_ns() - F.t0_ns) / 1e9;
}

/* What a power reading of device dv says now, in uW. */
static uint64_t power_now_uw(uint32_t dv)
{
    double w = F.busy_file && access(F.busy_file, F_OK) == 0 ? F.busy_w
                                                             : power_at(&F.power[dv], tau_now());
    return (uint64_t)llround(w * 1e6);
}

static int valid(uint32_t dv)
{
    return F.initialized && dv < (uint32_t)F.n;
}

EXPORT rsmi_status_t rsmi_init(uint64_t flags)
{
    (void)flags;
    if (getenv("FAKE_ROCM_INIT_FAIL"))
        return RSMI_STATUS_INIT_ERROR;
    if (F.initialized++)
        return RSMI_STATUS_SUCCESS;
    F.n = (int)env_double("FAKE_ROCM_DEVICES", 2);
    if (F.n < 0 || F.n > MAX_DEVICES)
        F.n = MAX_DEVICES;
    const char *t0 = getenv("FAKE_ROCM_T0_NS");
    F.t0_ns = t0 && *t0 ? strtoll(t0, NULL, 10) : now_ns();
    F.period_ns = (int64_t)(env_double("FAKE_ROCM_COUNTER_PERIOD_MS", 1) * 1e6);
    if (F.period_ns <= 0)
        F.period_ns = 1;
    F.resolution_uj = env_double("FAKE_ROCM_RESOLUTION_UJ", 15.3);
    F.base = env_double("FAKE_ROCM_COUNTER_BASE", 1e9);
    F.reset_at_s = env_double("FAKE_ROCM_RESET_AT_S", 0);
    F.bits32 = env_double("FAKE_ROCM_COUNTER_BITS", 64) == 32;
    F.no_counter = getenv("FAKE_ROCM_NO_COUNTER") != NULL;
    F.socket_power = getenv("FAKE_ROCM_SOCKET_POWER") != NULL;
    F.mem_total_mb = env_double("FAKE_ROCM_MEM_TOTAL_MB", 196592);
    F.busy_file = getenv("FAKE_ROCM_BUSY_FILE");
    F.busy_w = env_double("FAKE_ROCM_BUSY_W", 400);
    const char *mem = getenv("FAKE_ROCM_MEM_USED_MB");
    F.mem_is_ramp = mem && sscanf(mem, "ramp:%lf:%lf:%lf", &F.mem.a, &F.mem.b, &F.mem.c) == 3;
    if (!F.mem_is_ramp)
        F.mem.a = mem && *mem ? strtod(mem, NULL) : 300;
    const char *all = getenv("FAKE_ROCM_POWER");
    for (int i = 0; i < F.n; i++) {
        char name[64];
        snprintf(name, sizeof name, "FAKE_ROCM_POWER_%d", i);
        const char *own = getenv(name);
        if (parse_power(own ? own : all, &F.power[i]) != 0) {
            F.initialized = 0;
            return RSMI_STATUS_INVALID_ARGS;
        }
    }
    return RSMI_STATUS_SUCCESS;
}

EXPORT rsmi_status_t rsmi_shut_down(void)
{
    if (!F.initialized)
        return RSMI_STATUS_INIT_ERROR;
    F.initialized--;
    return RSMI_STATUS_SUCCESS;
}

EXPORT rsmi_status_t rsmi_status_string(rsmi_status_t status, const char **s)
{
    if (!s)
        return RSMI_STATUS_INVALID_ARGS;
    switch (status) {
    case RSMI_STATUS_SUCCESS:
        *s = "RSMI_STATUS_SUCCESS: The function has been executed successfully.";
        break;
    case RSMI_STATUS_INVALID_ARGS:
        *s = "RSMI_STATUS_INVALID_ARGS: The provided arguments do not meet the preconditions "
             "required for input";
        break;
    case RSMI_STATUS_NOT_SUPPORTED:
        *s = "RSMI_STATUS_NOT_SUPPORTED: This function is not supported in the current "
             "environment.";
        break;
    case RSMI_STATUS_INIT_ERROR:
        *s = "RSMI_STATUS_INIT_ERROR: An error occurred during initialization";
        break;
    default:
        *s = "RSMI_STATUS_UNKNOWN_ERROR";
    }
    return RSMI_STATUS_SUCCESS;
}

EXPORT rsmi_status_t rsmi_num_monitor_devices(uint32_t *n)
{
    if (!F.initialized)
        return RSMI_STATUS_INIT_ERROR;
    if (!n)
        return RSMI_STATUS_INVALID_ARGS;
    *n = (uint32_t)F.n;
    return RSMI_STATUS_SUCCESS;
}

EXPORT rsmi_status_t rsmi_dev_name_get(uint32_t dv, char *name, size_t len)
{
    if (!valid(dv) || !name)
        return RSMI_STATUS_INVALID_ARGS;
    if (snprintf(name, len, "Fake AMD Instinct MI300X") >= (int)len)
        return RSMI_STATUS_INSUFFICIENT_SZ;
    return RSMI_STATUS_SUCCESS;
}

EXPORT rsmi_status_t rsmi_dev_unique_id_get(uint32_t dv, uint64_t *id)
{
    if (!valid(dv) || !id)
        return RSMI_STATUS_INVALID_ARGS;
    *id = 0xfa4e000000000000ULL + dv;
    return RSMI_STATUS_SUCCESS;
}

EXPORT rsmi_status_t rsmi_dev_pci_id_get(uint32_t dv, uint64_t *bdfid)
{
    if (!valid(dv) || !bdfid)
        return RSMI_STATUS_INVALID_ARGS;
    *bdfid = ((uint64_t)(0x10 + dv) << 8); /* 0000:1x:00.0 */
    return RSMI_STATUS_SUCCESS;
}

static double mem_used_mb(void)
{
    if (!F.mem_is_ramp)
        return F.mem.a;
    double f = F.mem.c > 0 ? tau_now() / F.mem.c : 1;
    f = f < 0 ? 0 : f > 1 ? 1 : f;
    return F.mem.a + (F.mem.b - F.mem.a) * f;
}

EXPORT rsmi_status_t rsmi_dev_memory_total_get(uint32_t dv, int type, uint64_t *total)
{
    if (!valid(dv) || !total || type < 0 || type > 2)
        return RSMI_STATUS_INVALID_ARGS;
    *total = (uint64_t)(F.mem_total_mb * 1048576.0);
    return RSMI_STATUS_SUCCESS;
}

EXPORT rsmi_status_t rsmi_dev_memory_usage_get(uint32_t dv, int type, uint64_t *used)
{
    if (!valid(dv) || !used || type < 0 || type > 2)
        return RSMI_STATUS_INVALID_ARGS;
    *used = type == 0 ? (uint64_t)(mem_used_mb() * 1048576.0) : 0;
    return RSMI_STATUS_SUCCESS;
}

EXPORT rsmi_status_t rsmi_dev_power_ave_get(uint32_t dv, uint32_t sensor, uint64_t *uw)
{
    if (!valid(dv) || !uw || sensor != 0)
        return RSMI_STATUS_INVALID_ARGS;
    if (F.socket_power)
        return RSMI_STATUS_NOT_SUPPORTED;
    *uw = power_now_uw(dv);
    return RSMI_STATUS_SUCCESS;
}

EXPORT rsmi_status_t rsmi_dev_current_socket_power_get(uint32_t dv, uint64_t *uw)
{
    if (!valid(dv) || !uw)
        return RSMI_STATUS_INVALID_ARGS;
    if (!F.socket_power)
        return RSMI_STATUS_NOT_SUPPORTED;
    *uw = power_now_uw(dv);
    return RSMI_STATUS_SUCCESS;
}

EXPORT rsmi_status_t rsmi_dev_power_cap_get(uint32_t dv, uint32_t sensor, uint64_t *uw)
{
    if (!valid(dv) || !uw || sensor != 0)
        return RSMI_STATUS_INVALID_ARGS;
    *uw = 750000000ULL; /* 750 W */
    return RSMI_STATUS_SUCCESS;
}

EXPORT rsmi_status_t rsmi_dev_energy_count_get(uint32_t dv, uint64_t *count, float *res,
                                               uint64_t *timestamp)
{
    if (!valid(dv) || !count || !res || !timestamp)
        return RSMI_STATUS_INVALID_ARGS;
    if (F.no_counter)
        return RSMI_STATUS_NOT_SUPPORTED;
    int64_t since = now_ns() - F.t0_ns;
    int64_t q = since > 0 ? since - since % F.period_ns : 0;
    double tau = (double)q / 1e9, c;
    if (F.reset_at_s > 0 && tau >= F.reset_at_s)
        c = floor((energy_to(&F.power[dv], tau) - energy_to(&F.power[dv], F.reset_at_s)) * 1e6 /
                  F.resolution_uj);
    else
        c = F.base + floor(energy_to(&F.power[dv], tau) * 1e6 / F.resolution_uj);
    if (F.bits32)
        c = fmod(c, 4294967296.0);
    *count = (uint64_t)c;
    *res = (float)F.resolution_uj;
    *timestamp = (uint64_t)(F.t0_ns + q);
    return RSMI_STATUS_SUCCESS;
}

EXPORT rsmi_status_t rsmi_dev_busy_percent_get(uint32_t dv, uint32_t *pct)
{
    if (!valid(dv) || !pct)
        return RSMI_STATUS_INVALID_ARGS;
    double w = power_at(&F.power[dv], tau_now());
    *pct = w >= 750 ? 100 : (uint32_t)(w / 7.5);
    return RSMI_STATUS_SUCCESS;
}

EXPORT rsmi_status_t rsmi_dev_temp_metric_get(uint32_t dv, uint32_t sensor, int metric,
                                              int64_t *millic)
{
    if (!valid(dv) || !millic || metric != 0)
        return RSMI_STATUS_INVALID_ARGS;
    if (sensor != 0)
        return RSMI_STATUS_NOT_SUPPORTED;
    *millic = 30000 + (int64_t)(power_at(&F.power[dv], tau_now()) * 100.0);
    return RSMI_STATUS_SUCCESS;
}
