/* libfake_nvml.c - a stand-in for libnvidia-ml.so.1 whose GPUs draw power that
 * follows a scripted function of time, so tests can compare aieb's energy with
 * the exact integral. Loaded by aieb through AIEB_NVML_LIBRARY.
 *
 * Prototypes follow NVIDIA's NVML API Reference (nvml.h); only the symbols aieb
 * uses are exported. Scripted by environment variables, read at nvmlInit_v2:
 *   FAKE_NVML_DEVICES=N            number of GPUs (default 1, at most 64)
 *   FAKE_NVML_POWER=SPEC           power of every GPU; FAKE_NVML_POWER_<i> for GPU i:
 *       const:W                    W watts throughout
 *       square:LOW:HIGH:PERIOD     LOW for the first half of each PERIOD seconds, then HIGH
 *       step:BEFORE:AFTER:AT       BEFORE watts until AT seconds, AFTER from then on
 *   FAKE_NVML_T0_NS=NS             time origin (CLOCK_MONOTONIC ns); default: nvmlInit_v2's time
 *   FAKE_NVML_COUNTER_PERIOD_MS=MS counter update period (default 100, as real boards)
 *   FAKE_NVML_NO_COUNTER=1         nvmlDeviceGetTotalEnergyConsumption: NOT_SUPPORTED
 *   FAKE_NVML_NO_INSTANT=1         power fields (POWER_INSTANT/AVERAGE): NOT_SUPPORTED
 *   FAKE_NVML_POWER_USAGE_AVG_S=S  nvmlDeviceGetPowerUsage returns the trailing S-second
 *                                  average (recent boards average over 1 s); default 0
 *   FAKE_NVML_MEM_USED_MB=SPEC     memory used: a number, or ramp:FROM:TO:SECONDS
 *   FAKE_NVML_MEM_TOTAL_MB=MB      total memory (default 81559, an H100 80GB)
 *   FAKE_NVML_INIT_FAIL=1          nvmlInit_v2 fails with DRIVER_NOT_LOADED
 * The energy counter is base + the exact integral of the power function from
 * the origin to the last multiple of the update period (mJ), so it moves in
 * steps like a real board's. Built with FAKE_NVML_MINIMAL defined (see
 * libfake_nvml_min.c) the optional symbols are not exported at all.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXPORT __attribute__((visibility("default")))

typedef int nvmlReturn_t;
#define NVML_SUCCESS                 0
#define NVML_ERROR_UNINITIALIZED     1
#define NVML_ERROR_INVALID_ARGUMENT  2
#define NVML_ERROR_NOT_SUPPORTED     3
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_DRIVER_NOT_LOADED 9

#define MAX_DEVICES     64
#define COUNTER_BASE_MJ 123456789012ULL /* real counters count from driver load */

typedef struct {
    int kind; /* 0 const, 1 square, 2 step */
    double a, b, c;
} power_fn;

typedef struct nvmlDevice_st {
    int index;
    power_fn power;
} fake_device;

typedef struct {
    unsigned long long total, free, used;
} nvml_memory;

typedef struct {
    unsigned int gpu, memory;
} nvml_utilization;

typedef struct {
    unsigned int fieldId, scopeId;
    long long timestamp, latencyUsec;
    int valueType;
    nvmlReturn_t nvmlReturn;
    union {
        double dVal;
        unsigned int uiVal;
        unsigned long long ullVal;
    } value;
} nvml_field_value;

/* A fake driver is process-wide state, as the real one is. */
static struct {
    int initialized;
    int n;
    fake_device dev[MAX_DEVICES];
    int64_t t0_ns, period_ns;
    int no_counter, no_instant;
    double usage_avg_s;
    power_fn mem;
    int mem_is_ramp;
    double mem_total_mb;
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
    if (sscanf(spec, "const:%lf", &p->a) == 1) {
        p->kind = 0;
        return 0;
    }
    if (sscanf(spec, "square:%lf:%lf:%lf", &p->a, &p->b, &p->c) == 3 && p->c > 0) {
        p->kind = 1;
        return 0;
    }
    if (sscanf(spec, "step:%lf:%lf:%lf", &p->a, &p->b, &p->c) == 3) {
        p->kind = 2;
        return 0;
    }
    fprintf(stderr, "fake_nvml: bad power spec '%s'\n", spec);
    return -1;
}

/* Power in W at tau seconds after the origin (the value at 0 before it). */
static double power_at(const power_fn *p, double tau)
{
    if (tau < 0)
        tau = 0;
    switch (p->kind) {
    case 1: {
        double r = fmod(tau, p->c);
        return r < p->c / 2 ? p->a : p->b;
    }
    case 2:
        return tau < p->c ? p->a : p->b;
    }
    return p->a;
}

/* Exact integral of the power from the origin to tau seconds, in J. */
static double energy_to(const power_fn *p, double tau)
{
    if (tau <= 0)
        return 0;
    switch (p->kind) {
    case 1: {
        double n = floor(tau / p->c), r = tau - n * p->c, h = p->c / 2;
        double e = n * h * (p->a + p->b);
        return e + (r < h ? p->a * r : p->a * h + p->b * (r - h));
    }
    case 2:
        return tau < p->c ? p->a * tau : p->a * p->c + p->b * (tau - p->c);
    }
    return p->a * tau;
}

static double tau_now(void)
{
    return (double)(now_ns() - F.t0_ns) / 1e9;
}

static int valid(const fake_device *d)
{
    return F.initialized && d >= F.dev && d < F.dev + F.n;
}

EXPORT nvmlReturn_t nvmlInit_v2(void)
{
    if (getenv("FAKE_NVML_INIT_FAIL"))
        return NVML_ERROR_DRIVER_NOT_LOADED;
    if (F.initialized++)
        return NVML_SUCCESS;
    F.n = (int)env_double("FAKE_NVML_DEVICES", 1);
    if (F.n < 0 || F.n > MAX_DEVICES)
        F.n = MAX_DEVICES;
    const char *t0 = getenv("FAKE_NVML_T0_NS");
    F.t0_ns = t0 && *t0 ? strtoll(t0, NULL, 10) : now_ns();
    F.period_ns = (int64_t)(env_double("FAKE_NVML_COUNTER_PERIOD_MS", 100) * 1e6);
    if (F.period_ns <= 0)
        F.period_ns = 1;
    F.no_counter = getenv("FAKE_NVML_NO_COUNTER") != NULL;
    F.no_instant = getenv("FAKE_NVML_NO_INSTANT") != NULL;
    F.usage_avg_s = env_double("FAKE_NVML_POWER_USAGE_AVG_S", 0);
    F.mem_total_mb = env_double("FAKE_NVML_MEM_TOTAL_MB", 81559);
    const char *mem = getenv("FAKE_NVML_MEM_USED_MB");
    F.mem_is_ramp = mem && sscanf(mem, "ramp:%lf:%lf:%lf", &F.mem.a, &F.mem.b, &F.mem.c) == 3;
    if (!F.mem_is_ramp)
        F.mem.a = mem && *mem ? strtod(mem, NULL) : 512;
    const char *all = getenv("FAKE_NVML_POWER");
    for (int i = 0; i < F.n; i++) {
        char name[64];
        snprintf(name, sizeof name, "FAKE_NVML_POWER_%d", i);
        const char *own = getenv(name);
        F.dev[i].index = i;
        if (parse_power(own ? own : all, &F.dev[i].power) != 0) {
            F.initialized = 0;
            return NVML_ERROR_INVALID_ARGUMENT;
        }
    }
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlShutdown(void)
{
    if (!F.initialized)
        return NVML_ERROR_UNINITIALIZED;
    F.initialized--;
    return NVML_SUCCESS;
}

EXPORT const char *nvmlErrorString(nvmlReturn_t r)
{
    switch (r) {
    case NVML_SUCCESS:
        return "Success";
    case NVML_ERROR_UNINITIALIZED:
        return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT:
        return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED:
        return "Not Supported";
    case NVML_ERROR_DRIVER_NOT_LOADED:
        return "Driver Not Loaded";
    }
    return "Unknown Error";
}

EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
    if (!F.initialized)
        return NVML_ERROR_UNINITIALIZED;
    *count = (unsigned int)F.n;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, fake_device **dev)
{
    if (!F.initialized)
        return NVML_ERROR_UNINITIALIZED;
    if (index >= (unsigned int)F.n || !dev)
        return NVML_ERROR_INVALID_ARGUMENT;
    *dev = &F.dev[index];
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetName(fake_device *d, char *name, unsigned int len)
{
    if (!valid(d))
        return NVML_ERROR_INVALID_ARGUMENT;
    if (snprintf(name, len, "Fake NVIDIA H100 80GB HBM3") >= (int)len)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetUUID(fake_device *d, char *uuid, unsigned int len)
{
    if (!valid(d))
        return NVML_ERROR_INVALID_ARGUMENT;
    if (snprintf(uuid, len, "GPU-fa4e0000-0000-4000-8000-%012d", d->index) >= (int)len)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(fake_device *d, nvml_memory *m)
{
    if (!valid(d))
        return NVML_ERROR_INVALID_ARGUMENT;
    double used = F.mem.a;
    if (F.mem_is_ramp) {
        double f = F.mem.c > 0 ? tau_now() / F.mem.c : 1;
        f = f < 0 ? 0 : f > 1 ? 1 : f;
        used = F.mem.a + (F.mem.b - F.mem.a) * f;
    }
    m->total = (unsigned long long)(F.mem_total_mb * 1048576.0);
    m->used = (unsigned long long)(used * 1048576.0);
    m->free = m->total > m->used ? m->total - m->used : 0;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetPowerUsage(fake_device *d, unsigned int *mw)
{
    if (!valid(d))
        return NVML_ERROR_INVALID_ARGUMENT;
    double tau = tau_now(), w;
    if (F.usage_avg_s > 0)
        w = (energy_to(&d->power, tau) - energy_to(&d->power, tau - F.usage_avg_s)) /
            (tau < F.usage_avg_s ? (tau > 0 ? tau : 1) : F.usage_avg_s);
    else
        w = power_at(&d->power, tau);
    *mw = (unsigned int)lround(w * 1000.0);
    return NVML_SUCCESS;
}

#ifndef FAKE_NVML_MINIMAL

EXPORT nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(fake_device *d, unsigned long long *mj)
{
    if (!valid(d))
        return NVML_ERROR_INVALID_ARGUMENT;
    if (F.no_counter)
        return NVML_ERROR_NOT_SUPPORTED;
    int64_t since = now_ns() - F.t0_ns;
    int64_t q = since > 0 ? since - since % F.period_ns : 0;
    *mj = COUNTER_BASE_MJ + (unsigned long long)floor(energy_to(&d->power, q / 1e9) * 1000.0);
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetFieldValues(fake_device *d, int n, nvml_field_value *v)
{
    if (!valid(d) || n < 0 || !v)
        return NVML_ERROR_INVALID_ARGUMENT;
    for (int i = 0; i < n; i++) {
        double tau = tau_now();
        v[i].valueType = 1; /* NVML_VALUE_TYPE_UNSIGNED_INT */
        if (F.no_instant || (v[i].fieldId != 185 && v[i].fieldId != 186)) {
            v[i].nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
            continue;
        }
        double w = v[i].fieldId == 186 ? power_at(&d->power, tau)
                                       : energy_to(&d->power, tau) - energy_to(&d->power, tau - 1);
        v[i].nvmlReturn = NVML_SUCCESS;
        v[i].value.uiVal = (unsigned int)lround(w * 1000.0);
    }
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(fake_device *d, nvml_utilization *u)
{
    if (!valid(d))
        return NVML_ERROR_INVALID_ARGUMENT;
    double w = power_at(&d->power, tau_now());
    u->gpu = w >= 700 ? 100 : (unsigned int)(w / 7.0);
    u->memory = u->gpu / 2;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetTemperature(fake_device *d, int sensor, unsigned int *t)
{
    if (!valid(d) || sensor != 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    *t = 30 + (unsigned int)(power_at(&d->power, tau_now()) / 10.0);
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetClockInfo(fake_device *d, int type, unsigned int *mhz)
{
    if (!valid(d))
        return NVML_ERROR_INVALID_ARGUMENT;
    *mhz = power_at(&d->power, tau_now()) > 100 ? 1980 : 345;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(fake_device *d, unsigned int *mw)
{
    if (!valid(d))
        return NVML_ERROR_INVALID_ARGUMENT;
    *mw = 700000;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetArchitecture(fake_device *d, unsigned int *arch)
{
    if (!valid(d))
        return NVML_ERROR_INVALID_ARGUMENT;
    *arch = 9; /* NVML_DEVICE_ARCH_HOPPER */
    return NVML_SUCCESS;
}

#endif /* FAKE_NVML_MINIMAL */
