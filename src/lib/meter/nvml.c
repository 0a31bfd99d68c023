/* nvml.c - NVIDIA GPUs through NVML, loaded with dlopen at run time.
 *
 * Nothing NVIDIA is needed to build: the few prototypes, structs and constants
 * used here are declared below from NVIDIA's NVML API Reference Manual and the
 * public nvml.h (whose ABI NVIDIA keeps stable across driver releases).
 *
 * Per GPU the channel's method is "nvml_counter" when the board answers
 * nvmlDeviceGetTotalEnergyConsumption (Volta and newer: mJ since the driver
 * loaded, updated about every 100 ms), else "nvml_power": the sampler integrates
 * instantaneous power (field NVML_FI_DEV_POWER_INSTANT where supported, else
 * nvmlDeviceGetPowerUsage) with the trapezoid rule. Never a silent 0.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/clock.h"
#include "aieb/log.h"
#include "meter/source.h"

/* ==== NVML declarations (NVML API Reference Manual, nvml.h) =============== */

typedef int nvmlReturn_t;
#define NVML_SUCCESS             0
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_NO_PERMISSION 4
#define NVML_ERROR_GPU_IS_LOST   15

typedef struct nvmlDevice_st *nvmlDevice_t;

typedef struct {
    unsigned long long total, free, used; /* bytes */
} nvml_memory;                            /* nvmlMemory_t */

typedef struct {
    unsigned int gpu, memory; /* percent */
} nvml_utilization;           /* nvmlUtilization_t */

/* nvmlValueType_t */
#define NVML_VALUE_TYPE_DOUBLE             0
#define NVML_VALUE_TYPE_UNSIGNED_INT       1
#define NVML_VALUE_TYPE_UNSIGNED_LONG      2
#define NVML_VALUE_TYPE_UNSIGNED_LONG_LONG 3
#define NVML_VALUE_TYPE_SIGNED_LONG_LONG   4
#define NVML_VALUE_TYPE_SIGNED_INT         5
#define NVML_VALUE_TYPE_UNSIGNED_SHORT     6

typedef union {
    double dVal;
    unsigned int uiVal;
    unsigned long ulVal;
    unsigned long long ullVal;
    long long sllVal;
    int siVal;
    unsigned short usVal;
} nvml_value; /* nvmlValue_t */

typedef struct {
    unsigned int fieldId;
    unsigned int scopeId;
    long long timestamp; /* us since 1970 */
    long long latencyUsec;
    int valueType; /* nvmlValueType_t */
    nvmlReturn_t nvmlReturn;
    nvml_value value;
} nvml_field_value; /* nvmlFieldValue_t */

#define NVML_FI_DEV_POWER_AVERAGE 185 /* mW, averaged over ~1 s */
#define NVML_FI_DEV_POWER_INSTANT 186 /* mW */
#define NVML_TEMPERATURE_GPU      0   /* nvmlTemperatureSensors_t */
#define NVML_CLOCK_SM             1   /* nvmlClockType_t */
#define NVML_NAME_BUFFER_SIZE     96  /* NVML_DEVICE_NAME_V2_BUFFER_SIZE */
#define NVML_UUID_BUFFER_SIZE     96  /* NVML_DEVICE_UUID_V2_BUFFER_SIZE */

/* Not documented by NVIDIA; measured by several groups on Volta..Hopper. The
 * sampler measures it too and takes the longer of the two. */
#define NVML_COUNTER_PERIOD_NS (100 * AIEB_NS_PER_MS)

typedef struct nvml_api {
    void *dl;
    /* required */
    nvmlReturn_t (*init)(void);
    nvmlReturn_t (*shutdown)(void);
    const char *(*error_string)(nvmlReturn_t);
    nvmlReturn_t (*get_count)(unsigned int *);
    nvmlReturn_t (*get_handle)(unsigned int, nvmlDevice_t *);
    nvmlReturn_t (*get_name)(nvmlDevice_t, char *, unsigned int);
    nvmlReturn_t (*get_uuid)(nvmlDevice_t, char *, unsigned int);
    nvmlReturn_t (*get_memory)(nvmlDevice_t, nvml_memory *);
    nvmlReturn_t (*get_power_usage)(nvmlDevice_t, unsigned int *);
    /* optional: NULL when the library lacks them */
    nvmlReturn_t (*get_energy)(nvmlDevice_t, unsigned long long *);
    nvmlReturn_t (*get_field_values)(nvmlDevice_t, int, nvml_field_value *);
    nvmlReturn_t (*get_utilization)(nvmlDevice_t, nvml_utilization *);
    nvmlReturn_t (*get_temperature)(nvmlDevice_t, int, unsigned int *);
    nvmlReturn_t (*get_clock)(nvmlDevice_t, int, unsigned int *);
    nvmlReturn_t (*get_power_limit)(nvmlDevice_t, unsigned int *);
    nvmlReturn_t (*get_architecture)(nvmlDevice_t, unsigned int *);
} nvml_api;

/* The symbol table: offset of each pointer in nvml_api, and whether required. */
static const struct {
    const char *name;
    size_t offset;
    int required;
} nvml_symbols[] = {
    {"nvmlInit_v2", offsetof(nvml_api, init), 1},
    {"nvmlShutdown", offsetof(nvml_api, shutdown), 1},
    {"nvmlErrorString", offsetof(nvml_api, error_string), 1},
    {"nvmlDeviceGetCount_v2", offsetof(nvml_api, get_count), 1},
    {"nvmlDeviceGetHandleByIndex_v2", offsetof(nvml_api, get_handle), 1},
    {"nvmlDeviceGetName", offsetof(nvml_api, get_name), 1},
    {"nvmlDeviceGetUUID", offsetof(nvml_api, get_uuid), 1},
    {"nvmlDeviceGetMemoryInfo", offsetof(nvml_api, get_memory), 1},
    {"nvmlDeviceGetPowerUsage", offsetof(nvml_api, get_power_usage), 1},
    {"nvmlDeviceGetTotalEnergyConsumption", offsetof(nvml_api, get_energy), 0},
    {"nvmlDeviceGetFieldValues", offsetof(nvml_api, get_field_values), 0},
    {"nvmlDeviceGetUtilizationRates", offsetof(nvml_api, get_utilization), 0},
    {"nvmlDeviceGetTemperature", offsetof(nvml_api, get_temperature), 0},
    {"nvmlDeviceGetClockInfo", offsetof(nvml_api, get_clock), 0},
    {"nvmlDeviceGetEnforcedPowerLimit", offsetof(nvml_api, get_power_limit), 0},
    {"nvmlDeviceGetArchitecture", offsetof(nvml_api, get_architecture), 0},
};

#define N_NVML_SYMBOLS (sizeof nvml_symbols / sizeof nvml_symbols[0])

/* nvmlDeviceArchitecture_t values (nvml.h NVML_DEVICE_ARCH_*). */
static const char *const arch_names[] = {
    [2] = "Kepler", [3] = "Maxwell", [4] = "Pascal", [5] = "Volta",      [6] = "Turing",
    [7] = "Ampere", [8] = "Ada",     [9] = "Hopper", [10] = "Blackwell",
};

/* ==== State ================================================================ */

typedef struct gpu {
    nvmlDevice_t dev;
    int index;
    char name[NVML_NAME_BUFFER_SIZE];
    char uuid[NVML_UUID_BUFFER_SIZE];
    char label[16];
    double mem_total_mb, power_limit_w;
    int has_counter, has_instant, has_average_field, has_power_usage;
    int has_util, has_temp, has_clock;
    unsigned int arch; /* 0 unknown */
    unsigned long long counter0_mj;
    int selected;
} gpu;

typedef struct nvml_ctx {
    nvml_api api;
    char library[512];
    int n_all;
    gpu *all;
    int *sel;            /* channel i -> index into all */
    char selection[256]; /* how the devices were chosen, for probe */
    int lost_logged;
} nvml_ctx;

static const char *nvml_errstr(const nvml_ctx *c, nvmlReturn_t r)
{
    const char *s = c->api.error_string ? c->api.error_string(r) : NULL;
    return s ? s : "unknown NVML error";
}

/* ==== Reading ============================================================== */

static double field_to_double(const nvml_field_value *f)
{
    switch (f->valueType) {
    case NVML_VALUE_TYPE_DOUBLE:
        return f->value.dVal;
    case NVML_VALUE_TYPE_UNSIGNED_INT:
        return (double)f->value.uiVal;
    case NVML_VALUE_TYPE_UNSIGNED_LONG:
        return (double)f->value.ulVal;
    case NVML_VALUE_TYPE_UNSIGNED_LONG_LONG:
        return (double)f->value.ullVal;
    case NVML_VALUE_TYPE_SIGNED_LONG_LONG:
        return (double)f->value.sllVal;
    case NVML_VALUE_TYPE_SIGNED_INT:
        return (double)f->value.siVal;
    case NVML_VALUE_TYPE_UNSIGNED_SHORT:
        return (double)f->value.usVal;
    }
    return NAN;
}

/* One power field in W, or NAN with *rc set to why not. */
static double read_field_w(const nvml_ctx *c, const gpu *g, unsigned int field, nvmlReturn_t *rc)
{
    nvml_field_value fv;
    memset(&fv, 0, sizeof fv);
    fv.fieldId = field;
    *rc = c->api.get_field_values(g->dev, 1, &fv);
    if (*rc == NVML_SUCCESS)
        *rc = fv.nvmlReturn;
    if (*rc != NVML_SUCCESS)
        return NAN;
    return field_to_double(&fv) / 1000.0;
}

static int nvml_read(aieb_source *s, int64_t t_ns, aieb_channel_reading *out, aieb_err *err)
{
    nvml_ctx *c = s->ctx;
    int rc = 0;
    (void)t_ns;
    for (int i = 0; i < s->n_channels; i++) {
        gpu *g = &c->all[c->sel[i]];
        aieb_channel_reading *r = &out[i];
        nvmlReturn_t nr;
        aieb_reading_clear(r);
        if (g->has_counter && !s->skip_counter) {
            unsigned long long mj = 0;
            nr = c->api.get_energy(g->dev, &mj);
            if (nr == NVML_SUCCESS)
                r->energy_j = (double)(mj - g->counter0_mj) / 1000.0;
            else if (nr == NVML_ERROR_GPU_IS_LOST)
                rc = aieb_errf(err, AIEB_EIO, "nvml: %s (%s): %s", g->label, g->uuid,
                               nvml_errstr(c, nr));
        }
        if (g->has_instant) {
            r->power_w = read_field_w(c, g, NVML_FI_DEV_POWER_INSTANT, &nr);
        } else if (g->has_power_usage) {
            unsigned int mw = 0;
            if (c->api.get_power_usage(g->dev, &mw) == NVML_SUCCESS)
                r->power_w = mw / 1000.0;
        }
        nvml_memory mem;
        if (c->api.get_memory(g->dev, &mem) == NVML_SUCCESS)
            r->mem_used_mb = (double)mem.used / (1024.0 * 1024.0);
        if (g->has_util) {
            nvml_utilization u;
            if (c->api.get_utilization(g->dev, &u) == NVML_SUCCESS)
                r->util_pct = u.gpu;
        }
        unsigned int v;
        if (g->has_temp && c->api.get_temperature(g->dev, NVML_TEMPERATURE_GPU, &v) == 0)
            r->temp_c = v;
        if (g->has_clock && c->api.get_clock(g->dev, NVML_CLOCK_SM, &v) == NVML_SUCCESS)
            r->sm_clock_mhz = v;
    }
    return rc;
}

/* ==== Opening ============================================================== */

/* Asks the device once which optional readings it answers. NOT_SUPPORTED (or a
 * missing symbol, or any other refusal) turns the feature off. */
static int probe_device(nvml_ctx *c, unsigned int index, gpu *g, aieb_err *err)
{
    const nvml_api *a = &c->api;
    nvmlReturn_t nr = a->get_handle(index, &g->dev);
    if (nr != NVML_SUCCESS)
        return aieb_errf(err, AIEB_EIO, "nvml: nvmlDeviceGetHandleByIndex_v2(%u): %s", index,
                         nvml_errstr(c, nr));
    g->index = (int)index;
    snprintf(g->label, sizeof g->label, "gpu%u", index);
    if (a->get_name(g->dev, g->name, sizeof g->name) != NVML_SUCCESS)
        snprintf(g->name, sizeof g->name, "NVIDIA GPU %u", index);
    if (a->get_uuid(g->dev, g->uuid, sizeof g->uuid) != NVML_SUCCESS)
        g->uuid[0] = '\0';
    nvml_memory mem;
    if (a->get_memory(g->dev, &mem) == NVML_SUCCESS)
        g->mem_total_mb = (double)mem.total / (1024.0 * 1024.0);
    unsigned int v = 0;
    if (a->get_power_limit && a->get_power_limit(g->dev, &v) == NVML_SUCCESS)
        g->power_limit_w = v / 1000.0;
    if (a->get_architecture && a->get_architecture(g->dev, &v) == NVML_SUCCESS)
        g->arch = v;
    unsigned long long mj;
    if (a->get_energy && a->get_energy(g->dev, &mj) == NVML_SUCCESS) {
        g->has_counter = 1;
        g->counter0_mj = mj;
    }
    if (a->get_field_values) {
        nvmlReturn_t frc;
        if (!isnan(read_field_w(c, g, NVML_FI_DEV_POWER_INSTANT, &frc)))
            g->has_instant = 1;
        if (!isnan(read_field_w(c, g, NVML_FI_DEV_POWER_AVERAGE, &frc)))
            g->has_average_field = 1;
    }
    g->has_power_usage = a->get_power_usage(g->dev, &v) == NVML_SUCCESS;
    nvml_utilization u;
    g->has_util = a->get_utilization && a->get_utilization(g->dev, &u) == NVML_SUCCESS;
    g->has_temp = a->get_temperature && a->get_temperature(g->dev, NVML_TEMPERATURE_GPU, &v) == 0;
    g->has_clock = a->get_clock && a->get_clock(g->dev, NVML_CLOCK_SM, &v) == NVML_SUCCESS;
    return 0;
}

static int is_all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* Finds the device whose UUID starts with tok ("GPU-" optional, any case), as
 * CUDA_VISIBLE_DEVICES accepts unique prefixes. Returns its position in all[],
 * -1 when none matches, -2 when several do. */
static int match_uuid(const nvml_ctx *c, const char *tok)
{
    char want[NVML_UUID_BUFFER_SIZE + 8];
    if (strncasecmp(tok, "GPU-", 4) == 0)
        snprintf(want, sizeof want, "%s", tok);
    else
        snprintf(want, sizeof want, "GPU-%s", tok);
    size_t n = strlen(want);
    int found = -1;
    for (int i = 0; i < c->n_all; i++) {
        if (strncasecmp(c->all[i].uuid, want, n) == 0) {
            if (found >= 0)
                return -2;
            found = i;
        }
    }
    return found;
}

/* Splits a comma list into trimmed tokens; calls fn for each until it returns
 * non-zero (returned). */
typedef int (*token_fn)(nvml_ctx *c, const char *tok, void *arg, aieb_err *err);

static int each_token(nvml_ctx *c, const char *list, token_fn fn, void *arg, aieb_err *err)
{
    char tok[128];
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && isspace((unsigned char)*p))
            p++, n--;
        while (n && isspace((unsigned char)p[n - 1]))
            n--;
        if (n >= sizeof tok)
            n = sizeof tok - 1;
        memcpy(tok, p, n);
        tok[n] = '\0';
        int rc = fn(c, tok, arg, err);
        if (rc)
            return rc;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

/* gpu_ids given by the user: every entry must name a GPU. */
static int select_explicit(nvml_ctx *c, const char *tok, void *arg, aieb_err *err)
{
    int at;
    if (!*tok)
        return aieb_errf(err, AIEB_EINVAL, "gpu ids: empty entry");
    if (is_all_digits(tok)) {
        long v = strtol(tok, NULL, 10);
        if (v >= c->n_all)
            return aieb_errf(err, AIEB_EINVAL, "gpu ids: no GPU %ld (NVML sees %d: 0..%d)", v,
                             c->n_all, c->n_all - 1);
        at = (int)v;
    } else if (strncasecmp(tok, "MIG-", 4) == 0) {
        return aieb_errf(err, AIEB_EINVAL,
                         "gpu ids: '%s' is a MIG instance; NVML energy is per physical GPU: "
                         "give the parent GPU's index or UUID",
                         tok);
    } else {
        at = match_uuid(c, tok);
        if (at == -2)
            return aieb_errf(err, AIEB_EINVAL, "gpu ids: '%s' matches several GPUs' UUIDs", tok);
        if (at < 0)
            return aieb_errf(err, AIEB_EINVAL,
                             "gpu ids: '%s' is neither an NVML index nor a GPU UUID here "
                             "(see 'aieb probe')",
                             tok);
    }
    if (c->all[at].selected)
        return aieb_errf(err, AIEB_EINVAL, "gpu ids: GPU %d listed twice", at);
    c->all[at].selected = 1;
    c->sel[(*(int *)arg)++] = at;
    return 0;
}

/* CUDA_VISIBLE_DEVICES: as CUDA does, the list ends at the first entry that
 * names no device. Returns 1 (stop) then, 0 to go on. */
static int select_cuda(nvml_ctx *c, const char *tok, void *arg, aieb_err *err)
{
    (void)err;
    int at = -1;
    if (is_all_digits(tok)) {
        long v = strtol(tok, NULL, 10);
        if (v < c->n_all)
            at = (int)v;
    } else if (*tok && strncasecmp(tok, "MIG-", 4) != 0) {
        at = match_uuid(c, tok);
    }
    if (at < 0 || c->all[at].selected)
        return 1;
    c->all[at].selected = 1;
    c->sel[(*(int *)arg)++] = at;
    return 0;
}

static int select_devices(nvml_ctx *c, const char *gpu_ids, int *n_sel, aieb_err *err)
{
    *n_sel = 0;
    if (gpu_ids && *gpu_ids) {
        int rc = each_token(c, gpu_ids, select_explicit, n_sel, err);
        if (rc)
            return rc;
        snprintf(c->selection, sizeof c->selection, "gpu ids '%s'", gpu_ids);
        return 0;
    }
    const char *cvd = getenv("CUDA_VISIBLE_DEVICES");
    if (cvd) {
        if (strncasecmp(cvd, "MIG-", 4) == 0 || strstr(cvd, ",MIG-")) {
            AIEB_WARN("nvml: CUDA_VISIBLE_DEVICES=%s names MIG instances; NVML energy is per "
                      "physical GPU, so every GPU is measured (pass gpu ids to choose)",
                      cvd);
        } else {
            each_token(c, cvd, select_cuda, n_sel, err);
            if (*n_sel == 0)
                return aieb_errf(err, AIEB_ENOTFOUND,
                                 "nvml: CUDA_VISIBLE_DEVICES='%s' makes no GPU visible; no GPU "
                                 "is measured (pass gpu ids to measure some anyway)",
                                 cvd);
            snprintf(c->selection, sizeof c->selection, "CUDA_VISIBLE_DEVICES '%s'", cvd);
            const char *order = getenv("CUDA_DEVICE_ORDER");
            int mixed = 0;
            for (int i = 1; i < c->n_all; i++)
                mixed |= strcmp(c->all[i].name, c->all[0].name) != 0;
            if (mixed && (!order || strcmp(order, "PCI_BUS_ID") != 0))
                AIEB_WARN("nvml: CUDA_VISIBLE_DEVICES uses indices and the GPUs differ; CUDA "
                          "numbers them fastest-first unless CUDA_DEVICE_ORDER=PCI_BUS_ID, "
                          "NVML in PCI order: use UUIDs to be sure");
            return 0;
        }
    }
    for (int i = 0; i < c->n_all; i++) {
        c->all[i].selected = 1;
        c->sel[(*n_sel)++] = i;
    }
    snprintf(c->selection, sizeof c->selection, "all");
    return 0;
}

/* ==== describe / close ===================================================== */

static json_t *nvml_describe(aieb_source *s)
{
    nvml_ctx *c = s->ctx;
    json_t *devs = json_array();
    for (int i = 0; i < c->n_all; i++) {
        const gpu *g = &c->all[i];
        const char *arch = g->arch < sizeof arch_names / sizeof arch_names[0] && arch_names[g->arch]
                               ? arch_names[g->arch]
                               : NULL;
        json_t *d = json_pack(
            "{s:i, s:s, s:s, s:f, s:f, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:s?, s:s, s:b}", "index",
            g->index, "name", g->name, "uuid", g->uuid, "memory_total_mb", g->mem_total_mb,
            "power_limit_w", g->power_limit_w, "energy_counter", g->has_counter, "instant_power",
            g->has_instant, "average_power_field", g->has_average_field, "power_usage",
            g->has_power_usage, "utilization", g->has_util, "temperature", g->has_temp, "sm_clock",
            g->has_clock, "architecture", arch, "method",
            g->has_counter ? "nvml_counter" : "nvml_power", "selected", g->selected);
        json_array_append_new(devs, d);
    }
    return json_pack("{s:s, s:s, s:s, s:o}", "source", "nvml", "library", c->library, "selection",
                     c->selection, "devices", devs);
}

static void ctx_free(nvml_ctx *c, int initialized)
{
    if (!c)
        return;
    if (initialized && c->api.shutdown)
        c->api.shutdown();
    if (c->api.dl)
        dlclose(c->api.dl);
    free(c->all);
    free(c->sel);
    free(c);
}

static void nvml_close(aieb_source *s)
{
    if (!s)
        return;
    ctx_free(s->ctx, 1);
    free(s->channels);
    free(s);
}

static int load_library(nvml_ctx *c, const char *library, aieb_err *err)
{
    if (!library || !*library)
        library = getenv("AIEB_NVML_LIBRARY");
    if (!library || !*library)
        library = "libnvidia-ml.so.1";
    snprintf(c->library, sizeof c->library, "%s", library);
    dlerror();
    c->api.dl = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!c->api.dl) {
        const char *why = dlerror();
        return aieb_errf(err, AIEB_EENV,
                         "nvml: cannot load %s (%s); no GPU energy (no NVIDIA driver here? "
                         "AIEB_NVML_LIBRARY names another path)",
                         library, why ? why : "unknown reason");
    }
    for (size_t i = 0; i < N_NVML_SYMBOLS; i++) {
        void *sym = dlsym(c->api.dl, nvml_symbols[i].name);
        if (!sym && nvml_symbols[i].required)
            return aieb_errf(err, AIEB_EENV, "nvml: %s lacks %s (driver too old?); no GPU energy",
                             library, nvml_symbols[i].name);
        /* POSIX guarantees object and function pointers convert through void *. */
        memcpy((char *)&c->api + nvml_symbols[i].offset, &sym, sizeof sym);
    }
    return 0;
}

int aieb_nvml_source_open(aieb_source **out, const char *library, const char *gpu_ids,
                          aieb_err *err)
{
    *out = NULL;
    nvml_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return aieb_errf(err, AIEB_ENOMEM, "nvml: out of memory");
    int rc = load_library(c, library, err);
    if (rc) {
        ctx_free(c, 0);
        return rc;
    }
    nvmlReturn_t nr = c->api.init();
    if (nr != NVML_SUCCESS) {
        aieb_errf(err, AIEB_EENV,
                  "nvml: nvmlInit_v2: %s (is the NVIDIA driver loaded?); no GPU energy",
                  nvml_errstr(c, nr));
        ctx_free(c, 0);
        return AIEB_EENV;
    }
    unsigned int count = 0;
    nr = c->api.get_count(&count);
    if (nr != NVML_SUCCESS || count == 0) {
        if (nr != NVML_SUCCESS)
            rc = aieb_errf(err, AIEB_EENV, "nvml: nvmlDeviceGetCount_v2: %s", nvml_errstr(c, nr));
        else
            rc = aieb_errf(err, AIEB_ENOTFOUND, "nvml: no NVIDIA GPU found");
        ctx_free(c, 1);
        return rc;
    }
    if (count > 1024)
        count = 1024; /* no machine has more; a broken library could say anything */
    c->all = calloc(count, sizeof *c->all);
    c->sel = calloc(count, sizeof *c->sel);
    aieb_source *s = calloc(1, sizeof *s);
    if (!c->all || !c->sel || !s) {
        free(s);
        ctx_free(c, 1);
        return aieb_errf(err, AIEB_ENOMEM, "nvml: out of memory");
    }
    c->n_all = (int)count;
    for (unsigned int i = 0; i < count && rc == 0; i++)
        rc = probe_device(c, i, &c->all[i], err);
    int n_sel = 0;
    if (rc == 0)
        rc = select_devices(c, gpu_ids, &n_sel, err);
    if (rc == 0 && !(s->channels = calloc((size_t)n_sel, sizeof *s->channels)))
        rc = aieb_errf(err, AIEB_ENOMEM, "nvml: out of memory");
    if (rc) {
        free(s);
        ctx_free(c, 1);
        return rc;
    }
    s->name = "nvml";
    s->ctx = c;
    s->read = nvml_read;
    s->describe = nvml_describe;
    s->close = nvml_close;
    for (int i = 0; i < n_sel; i++) {
        const gpu *g = &c->all[c->sel[i]];
        if (!g->has_counter && !g->has_instant && !g->has_power_usage) {
            AIEB_WARN("nvml: %s (%s) answers neither the energy counter nor power readings; "
                      "it is left out",
                      g->label, g->name);
            continue;
        }
        c->sel[s->n_channels] = c->sel[i]; /* channels skip the GPUs left out */
        aieb_channel_info *ci = &s->channels[s->n_channels++];
        ci->domain = AIEB_DOMAIN_GPU;
        ci->label = g->label;
        ci->method = g->has_counter ? "nvml_counter" : "nvml_power";
        ci->has_counter = g->has_counter;
        ci->has_power = g->has_instant || g->has_power_usage;
        ci->counter_period_ns = g->has_counter ? NVML_COUNTER_PERIOD_NS : 0;
        ci->gpu_index = g->index;
        ci->name = g->name;
        ci->uuid = g->uuid;
        ci->mem_total_mb = g->mem_total_mb;
        ci->power_limit_w = g->power_limit_w;
        AIEB_DEBUG("nvml: %s %s %s: %s, power from %s", g->label, g->name, g->uuid, ci->method,
                   g->has_instant ? "POWER_INSTANT" : "nvmlDeviceGetPowerUsage");
    }
    *out = s;
    return 0;
}
