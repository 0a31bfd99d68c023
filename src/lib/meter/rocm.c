/* rocm.c - AMD GPUs through ROCm SMI (librocm_smi64), loaded with dlopen at run
 * time.
 *
 * Nothing AMD is needed to build: the few prototypes and constants used here
 * are declared below from ROCm SMI's public rocm_smi.h (ROCm 5.2, Debian's
 * librocm-smi-dev), whose functions return rsmi_status_t and take the device
 * index as a uint32_t.
 *
 * Per GPU the channel's method is "rocm_smi_counter" when the board answers
 * rsmi_dev_energy_count_get (an accumulator of counts; energy in uJ is count x
 * the resolution it returns with it), else "rocm_smi_power": the sampler
 * integrates power (rsmi_dev_current_socket_power_get where the library has it
 * and the board answers it, else rsmi_dev_power_ave_get; both uW) with the
 * trapezoid rule. Never a silent 0.
 *
 * The accumulator is 64 bits in gpu_metrics v1.1 and later but was 32 bits in
 * v1.0 (rocm_smi.h: "energy_accumulator; v1 mod. (32->64)"), so a counter that
 * still fits in 32 bits and goes backwards is unfolded by 2^32, unless that
 * would mean an impossible power; any other backward step is a restart from
 * zero (the driver reloaded), said once.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "aieb/clock.h"
#include "aieb/log.h"
#include "meter/source.h"

/* ==== ROCm SMI declarations (rocm_smi.h, ROCm 5.2) ======================== */

typedef int rsmi_status_t; /* an enum in rocm_smi.h */
#define RSMI_STATUS_SUCCESS       0
#define RSMI_STATUS_NOT_SUPPORTED 2
#define RSMI_MEM_TYPE_VRAM        0 /* rsmi_memory_type_t */
#define RSMI_TEMP_TYPE_EDGE       0 /* rsmi_temperature_type_t */
#define RSMI_TEMP_CURRENT         0 /* rsmi_temperature_metric_t */

/* A 32-bit accumulator wraps at this count (see the file comment). */
#define COUNTER_32_WRAP 4294967296.0
/* No single GPU draws this much (MI300X: 750 W): a wrap that would imply more
 * between two reads is a restart instead, and the read interval is sized so a
 * 32-bit counter wraps at most once between reads up to half this power. */
#define ROCM_MAX_PLAUSIBLE_W 4000.0
#define ROCM_MAX_READ_NS     (10 * AIEB_NS_PER_S)
#define ROCM_NAME_SIZE       128
#define ROCM_MAX_DEVICES     1024

typedef struct rocm_api {
    void *dl;
    /* required */
    rsmi_status_t (*init)(uint64_t flags);
    rsmi_status_t (*shut_down)(void);
    rsmi_status_t (*status_string)(rsmi_status_t, const char **);
    rsmi_status_t (*num_devices)(uint32_t *);
    rsmi_status_t (*name)(uint32_t, char *, size_t);
    rsmi_status_t (*memory_total)(uint32_t, int, uint64_t *);
    rsmi_status_t (*memory_usage)(uint32_t, int, uint64_t *);
    rsmi_status_t (*power_ave)(uint32_t, uint32_t, uint64_t *);
    rsmi_status_t (*energy_count)(uint32_t, uint64_t *, float *, uint64_t *);
    /* optional: NULL when the library lacks them */
    rsmi_status_t (*socket_power)(uint32_t, uint64_t *); /* ROCm 6 and later */
    rsmi_status_t (*unique_id)(uint32_t, uint64_t *);
    rsmi_status_t (*pci_id)(uint32_t, uint64_t *);
    rsmi_status_t (*power_cap)(uint32_t, uint32_t, uint64_t *);
    rsmi_status_t (*busy_percent)(uint32_t, uint32_t *);
    rsmi_status_t (*temp_metric)(uint32_t, uint32_t, int, int64_t *);
} rocm_api;

static const struct {
    const char *name;
    size_t offset;
    int required;
} rocm_symbols[] = {
    {"rsmi_init", offsetof(rocm_api, init), 1},
    {"rsmi_shut_down", offsetof(rocm_api, shut_down), 1},
    {"rsmi_status_string", offsetof(rocm_api, status_string), 1},
    {"rsmi_num_monitor_devices", offsetof(rocm_api, num_devices), 1},
    {"rsmi_dev_name_get", offsetof(rocm_api, name), 1},
    {"rsmi_dev_memory_total_get", offsetof(rocm_api, memory_total), 1},
    {"rsmi_dev_memory_usage_get", offsetof(rocm_api, memory_usage), 1},
    {"rsmi_dev_power_ave_get", offsetof(rocm_api, power_ave), 1},
    {"rsmi_dev_energy_count_get", offsetof(rocm_api, energy_count), 1},
    {"rsmi_dev_current_socket_power_get", offsetof(rocm_api, socket_power), 0},
    {"rsmi_dev_unique_id_get", offsetof(rocm_api, unique_id), 0},
    {"rsmi_dev_pci_id_get", offsetof(rocm_api, pci_id), 0},
    {"rsmi_dev_power_cap_get", offsetof(rocm_api, power_cap), 0},
    {"rsmi_dev_busy_percent_get", offsetof(rocm_api, busy_percent), 0},
    {"rsmi_dev_temp_metric_get", offsetof(rocm_api, temp_metric), 0},
};

#define N_ROCM_SYMBOLS (sizeof rocm_symbols / sizeof rocm_symbols[0])

/* ==== State ================================================================ */

typedef struct amd_gpu {
    uint32_t index;
    char name[ROCM_NAME_SIZE];
    char uuid[32];  /* "GPU-" + the unique ID in hex, as rocminfo prints it; "" unknown */
    char pci[32];   /* "0000:03:00.0"; "" unknown */
    char label[24]; /* "amdgpu0" */
    double mem_total_mb, power_limit_w;
    int has_counter, has_socket_power, has_average_power, has_util, has_temp;
    double resolution_uj; /* per count, as the counter last said */
    /* the counter unfolded: J since open, and the last raw count and its time */
    double energy_j;
    uint64_t last_count;
    int64_t last_t_ns;
    int selected;
} amd_gpu;

typedef struct rocm_ctx {
    rocm_api api;
    char library[512];
    int n_all;
    amd_gpu *all;
    int *sel;            /* channel i -> index into all */
    char selection[256]; /* how the devices were chosen, for probe */
    int restart_logged;
} rocm_ctx;

static const char *rsmi_errstr(const rocm_ctx *c, rsmi_status_t r)
{
    const char *s = NULL;
    if (!c->api.status_string || c->api.status_string(r, &s) != RSMI_STATUS_SUCCESS || !s)
        return "unknown ROCm SMI error";
    return s;
}

/* ==== Reading ============================================================== */

/* Folds a new raw count into g's energy (see the file comment for wraps). */
static void fold_counter(rocm_ctx *c, amd_gpu *g, uint64_t count, double res_uj, int64_t t_ns)
{
    double counts;
    if (count >= g->last_count) {
        counts = (double)(count - g->last_count);
    } else {
        double dt = (double)(t_ns - g->last_t_ns) / 1e9;
        counts = (double)count + COUNTER_32_WRAP - (double)g->last_count;
        int fits_32 = (double)g->last_count < COUNTER_32_WRAP;
        if (!fits_32 || dt <= 0 || counts * res_uj / 1e6 / dt > ROCM_MAX_PLAUSIBLE_W) {
            counts = (double)count; /* restarted from zero */
            if (!c->restart_logged++)
                AIEB_WARN("rocm_smi: %s's energy counter went back from %llu to %llu; taken as "
                          "a restart from zero (driver reloaded?), the energy since the read "
                          "before is a lower bound",
                          g->label, (unsigned long long)g->last_count, (unsigned long long)count);
        }
    }
    g->energy_j += counts * res_uj / 1e6;
    g->resolution_uj = res_uj;
    g->last_count = count;
    g->last_t_ns = t_ns;
}

/* Power in W from the best reading the board answers, NAN when none. */
static double read_power_w(const rocm_ctx *c, const amd_gpu *g)
{
    uint64_t uw = 0;
    if (g->has_socket_power && c->api.socket_power(g->index, &uw) == RSMI_STATUS_SUCCESS)
        return (double)uw / 1e6;
    if (g->has_average_power && c->api.power_ave(g->index, 0, &uw) == RSMI_STATUS_SUCCESS)
        return (double)uw / 1e6;
    return NAN;
}

/* The counter is read at every call, whatever skip_counter says: it is a
 * sysfs read (cheap), and a 32-bit one must be followed to unfold its wraps. */
static int rocm_read(aieb_source *s, int64_t t_ns, aieb_channel_reading *out, aieb_err *err)
{
    rocm_ctx *c = s->ctx;
    int rc = 0;
    for (int i = 0; i < s->n_channels; i++) {
        amd_gpu *g = &c->all[c->sel[i]];
        aieb_channel_reading *r = &out[i];
        aieb_reading_clear(r);
        if (g->has_counter) {
            uint64_t count = 0, ts = 0;
            float res = 0;
            rsmi_status_t st = c->api.energy_count(g->index, &count, &res, &ts);
            if (st == RSMI_STATUS_SUCCESS && res > 0) {
                fold_counter(c, g, count, res, t_ns);
                r->energy_j = g->energy_j;
            } else if (rc == 0) {
                rc = aieb_errf(err, AIEB_EIO, "rocm_smi: %s: rsmi_dev_energy_count_get: %s",
                               g->label, st ? rsmi_errstr(c, st) : "resolution 0");
            }
        }
        r->power_w = read_power_w(c, g);
        uint64_t bytes = 0;
        if (c->api.memory_usage(g->index, RSMI_MEM_TYPE_VRAM, &bytes) == RSMI_STATUS_SUCCESS)
            r->mem_used_mb = (double)bytes / (1024.0 * 1024.0);
        uint32_t pct = 0;
        if (g->has_util && c->api.busy_percent(g->index, &pct) == RSMI_STATUS_SUCCESS)
            r->util_pct = pct;
        int64_t mc = 0;
        if (g->has_temp && c->api.temp_metric(g->index, RSMI_TEMP_TYPE_EDGE, RSMI_TEMP_CURRENT,
                                              &mc) == RSMI_STATUS_SUCCESS)
            r->temp_c = (double)mc / 1000.0;
    }
    return rc;
}

/* ==== Opening ============================================================== */

/* Asks the device once which readings it answers. NOT_SUPPORTED (or a missing
 * symbol, or any other refusal) turns the feature off. */
static void probe_device(rocm_ctx *c, uint32_t index, amd_gpu *g)
{
    const rocm_api *a = &c->api;
    g->index = index;
    snprintf(g->label, sizeof g->label, "amdgpu%u", index);
    if (a->name(index, g->name, sizeof g->name) != RSMI_STATUS_SUCCESS || !g->name[0])
        snprintf(g->name, sizeof g->name, "AMD GPU %u", index);
    g->name[sizeof g->name - 1] = '\0';
    uint64_t v = 0;
    if (a->unique_id && a->unique_id(index, &v) == RSMI_STATUS_SUCCESS)
        snprintf(g->uuid, sizeof g->uuid, "GPU-%016llx", (unsigned long long)v);
    /* BDFID = domain << 32 | bus << 8 | device << 3 | function (rocm_smi.h) */
    if (a->pci_id && a->pci_id(index, &v) == RSMI_STATUS_SUCCESS)
        snprintf(g->pci, sizeof g->pci, "%04llx:%02llx:%02llx.%llx",
                 (unsigned long long)(v >> 32) & 0xffffffffULL, (unsigned long long)(v >> 8) & 0xff,
                 (unsigned long long)(v >> 3) & 0x1f, (unsigned long long)v & 0x7);
    if (a->memory_total(index, RSMI_MEM_TYPE_VRAM, &v) == RSMI_STATUS_SUCCESS)
        g->mem_total_mb = (double)v / (1024.0 * 1024.0);
    if (a->power_cap && a->power_cap(index, 0, &v) == RSMI_STATUS_SUCCESS)
        g->power_limit_w = (double)v / 1e6;
    uint64_t count = 0, ts = 0;
    float res = 0;
    if (a->energy_count(index, &count, &res, &ts) == RSMI_STATUS_SUCCESS && res > 0) {
        g->has_counter = 1;
        g->resolution_uj = res;
        g->last_count = count;
        g->last_t_ns = aieb_now_ns();
    }
    g->has_socket_power = a->socket_power && a->socket_power(index, &v) == RSMI_STATUS_SUCCESS;
    g->has_average_power = a->power_ave(index, 0, &v) == RSMI_STATUS_SUCCESS;
    uint32_t pct;
    g->has_util = a->busy_percent && a->busy_percent(index, &pct) == RSMI_STATUS_SUCCESS;
    int64_t mc;
    g->has_temp = a->temp_metric && a->temp_metric(index, RSMI_TEMP_TYPE_EDGE, RSMI_TEMP_CURRENT,
                                                   &mc) == RSMI_STATUS_SUCCESS;
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

/* The device whose UUID starts with tok ("GPU-" optional, any case). Returns
 * its position in all[], -1 when none matches, -2 when several do. */
static int match_uuid(const rocm_ctx *c, const char *tok)
{
    char want[64];
    snprintf(want, sizeof want, "%s%s", strncasecmp(tok, "GPU-", 4) == 0 ? "" : "GPU-", tok);
    size_t n = strlen(want);
    int found = -1;
    for (int i = 0; i < c->n_all; i++) {
        if (c->all[i].uuid[0] && strncasecmp(c->all[i].uuid, want, n) == 0) {
            if (found >= 0)
                return -2;
            found = i;
        }
    }
    return found;
}

#define MAX_TOKENS 64

/* Splits a comma list into trimmed tokens; returns how many, or -1 past
 * MAX_TOKENS. */
static int split_list(const char *list, char tok[MAX_TOKENS][64])
{
    int n = 0;
    const char *p = list;
    for (;;) {
        if (n == MAX_TOKENS)
            return -1;
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && isspace((unsigned char)*p))
            p++, len--;
        while (len && isspace((unsigned char)p[len - 1]))
            len--;
        if (len >= 64)
            len = 63;
        memcpy(tok[n], p, len);
        tok[n++][len] = '\0';
        if (!e)
            break;
        p = e + 1;
    }
    return n;
}

static void take(rocm_ctx *c, int at, int *n_sel)
{
    c->all[at].selected = 1;
    c->sel[(*n_sel)++] = at;
}

/* gpu ids given by the user: every entry must name a GPU. */
static int select_explicit(rocm_ctx *c, const char *ids, int *n_sel, aieb_err *err)
{
    char tok[MAX_TOKENS][64];
    int n = split_list(ids, tok);
    if (n < 0)
        return aieb_errf(err, AIEB_EINVAL, "gpu ids: more than %d entries", MAX_TOKENS);
    for (int i = 0; i < n; i++) {
        int at;
        if (!tok[i][0])
            return aieb_errf(err, AIEB_EINVAL, "gpu ids: empty entry");
        if (is_all_digits(tok[i])) {
            long v = strtol(tok[i], NULL, 10);
            if (v >= c->n_all)
                return aieb_errf(err, AIEB_EINVAL,
                                 "gpu ids: no GPU %ld (ROCm SMI sees %d AMD GPUs: 0..%d)", v,
                                 c->n_all, c->n_all - 1);
            at = (int)v;
        } else {
            at = match_uuid(c, tok[i]);
            if (at == -2)
                return aieb_errf(err, AIEB_EINVAL, "gpu ids: '%s' matches several GPUs' UUIDs",
                                 tok[i]);
            if (at < 0)
                return aieb_errf(err, AIEB_EINVAL,
                                 "gpu ids: '%s' is neither a ROCm SMI index nor an AMD GPU's "
                                 "UUID here (see 'aieb probe')",
                                 tok[i]);
        }
        if (c->all[at].selected)
            return aieb_errf(err, AIEB_EINVAL, "gpu ids: GPU %d listed twice", at);
        take(c, at, n_sel);
    }
    return 0;
}

/* ROCR_VISIBLE_DEVICES (indices or UUIDs) narrows the devices, then
 * HIP_VISIBLE_DEVICES indexes what is left, as the ROCm runtime and HIP read
 * them; each list ends at its first entry that names no device. */
static int select_visible(rocm_ctx *c, int *n_sel, aieb_err *err)
{
    const char *rocr = getenv("ROCR_VISIBLE_DEVICES"), *hip = getenv("HIP_VISIBLE_DEVICES");
    int *visible = calloc((size_t)c->n_all + 1, sizeof *visible);
    if (!visible)
        return aieb_errf(err, AIEB_ENOMEM, "rocm_smi: out of memory");
    int n_vis = 0;
    char tok[MAX_TOKENS][64];
    if (rocr) {
        int n = split_list(rocr, tok); /* past MAX_TOKENS: none (as an unusable list) */
        for (int i = 0; i < n; i++) {
            int at = -1;
            if (is_all_digits(tok[i]))
                at = strtol(tok[i], NULL, 10) < c->n_all ? (int)strtol(tok[i], NULL, 10) : -1;
            else if (tok[i][0])
                at = match_uuid(c, tok[i]);
            int dup = 0;
            for (int k = 0; at >= 0 && k < n_vis; k++)
                dup |= visible[k] == at;
            if (at < 0 || dup)
                break;
            visible[n_vis++] = at;
        }
    } else {
        for (int i = 0; i < c->n_all; i++)
            visible[n_vis++] = i;
    }
    if (hip) {
        int n = split_list(hip, tok);
        for (int i = 0; i < n; i++) {
            if (!is_all_digits(tok[i]) || strtol(tok[i], NULL, 10) >= n_vis)
                break;
            int at = visible[strtol(tok[i], NULL, 10)];
            if (c->all[at].selected)
                break;
            take(c, at, n_sel);
        }
    } else {
        for (int i = 0; i < n_vis; i++)
            take(c, visible[i], n_sel);
    }
    free(visible);
    if (*n_sel == 0)
        return aieb_errf(err, AIEB_ENOTFOUND,
                         "rocm_smi: ROCR_VISIBLE_DEVICES='%s' HIP_VISIBLE_DEVICES='%s' make no "
                         "AMD GPU visible; no GPU is measured (pass gpu ids to measure some "
                         "anyway)",
                         rocr ? rocr : "", hip ? hip : "");
    int k = 0;
    if (rocr)
        k = snprintf(c->selection, sizeof c->selection, "ROCR_VISIBLE_DEVICES '%s'", rocr);
    if (hip && k >= 0 && (size_t)k < sizeof c->selection)
        snprintf(c->selection + k, sizeof c->selection - (size_t)k, "%sHIP_VISIBLE_DEVICES '%s'",
                 k ? ", " : "", hip);
    return 0;
}

static int select_devices(rocm_ctx *c, const char *gpu_ids, int *n_sel, aieb_err *err)
{
    *n_sel = 0;
    if (gpu_ids && *gpu_ids) {
        int rc = select_explicit(c, gpu_ids, n_sel, err);
        if (rc == 0)
            snprintf(c->selection, sizeof c->selection, "gpu ids '%s'", gpu_ids);
        return rc;
    }
    if (getenv("ROCR_VISIBLE_DEVICES") || getenv("HIP_VISIBLE_DEVICES"))
        return select_visible(c, n_sel, err);
    if (getenv("CUDA_VISIBLE_DEVICES"))
        AIEB_WARN("rocm_smi: CUDA_VISIBLE_DEVICES is set; HIP reads it too, this meter does not "
                  "(it belongs to NVIDIA GPUs): every AMD GPU is measured (set "
                  "HIP_VISIBLE_DEVICES or gpu ids to choose)");
    for (int i = 0; i < c->n_all; i++)
        take(c, i, n_sel);
    snprintf(c->selection, sizeof c->selection, "all");
    return 0;
}

/* ==== describe / close ===================================================== */

static const char *method_of(const amd_gpu *g)
{
    return g->has_counter ? "rocm_smi_counter" : "rocm_smi_power";
}

static json_t *rocm_describe(aieb_source *s)
{
    rocm_ctx *c = s->ctx;
    json_t *devs = json_array();
    for (int i = 0; i < c->n_all; i++) {
        const amd_gpu *g = &c->all[i];
        json_t *d = json_pack("{s:i, s:s, s:s?, s:s?, s:f, s:f, s:b, s:o, s:b, s:b, s:b, s:b, "
                              "s:s, s:b}",
                              "index", (int)g->index, "name", g->name, "uuid",
                              g->uuid[0] ? g->uuid : NULL, "pci_bus_id", g->pci[0] ? g->pci : NULL,
                              "memory_total_mb", g->mem_total_mb, "power_limit_w", g->power_limit_w,
                              "energy_counter", g->has_counter, "counter_resolution_uj",
                              g->has_counter ? json_real(g->resolution_uj) : json_null(),
                              "socket_power", g->has_socket_power, "average_power",
                              g->has_average_power, "utilization", g->has_util, "temperature",
                              g->has_temp, "method", method_of(g), "selected", g->selected);
        json_array_append_new(devs, d);
    }
    return json_pack("{s:s, s:s, s:s, s:o}", "source", "rocm_smi", "library", c->library,
                     "selection", c->selection, "devices", devs);
}

static void ctx_free(rocm_ctx *c, int initialized)
{
    if (!c)
        return;
    if (initialized && c->api.shut_down)
        c->api.shut_down();
    if (c->api.dl)
        dlclose(c->api.dl);
    free(c->all);
    free(c->sel);
    free(c);
}

static void rocm_close(aieb_source *s)
{
    if (!s)
        return;
    ctx_free(s->ctx, 1);
    free(s->channels);
    free(s);
}

static int load_library(rocm_ctx *c, const char *library, aieb_err *err)
{
    if (!library || !*library)
        library = getenv("AIEB_ROCM_SMI_LIBRARY");
    if (!library || !*library) {
        library = "librocm_smi64.so.1";
        /* Without the amdgpu driver there is no AMD GPU to find, and the real
         * library's rsmi_init would print its own complaint on stderr. */
        if (access("/sys/module/amdgpu", F_OK) != 0)
            return aieb_errf(err, AIEB_ENOTFOUND,
                             "rocm_smi: the amdgpu driver is not loaded (no /sys/module/amdgpu); "
                             "no AMD GPU energy");
    }
    snprintf(c->library, sizeof c->library, "%s", library);
    dlerror();
    c->api.dl = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!c->api.dl) {
        const char *why = dlerror();
        return aieb_errf(err, AIEB_EENV,
                         "rocm_smi: cannot load %s (%s); no AMD GPU energy (install "
                         "librocm-smi64-1, or AIEB_ROCM_SMI_LIBRARY names another path)",
                         library, why ? why : "unknown reason");
    }
    for (size_t i = 0; i < N_ROCM_SYMBOLS; i++) {
        void *sym = dlsym(c->api.dl, rocm_symbols[i].name);
        if (!sym && rocm_symbols[i].required)
            return aieb_errf(err, AIEB_EENV,
                             "rocm_smi: %s lacks %s (ROCm SMI too old?); no AMD GPU energy",
                             library, rocm_symbols[i].name);
        /* POSIX guarantees object and function pointers convert through void *. */
        memcpy((char *)&c->api + rocm_symbols[i].offset, &sym, sizeof sym);
    }
    return 0;
}

/* Fills s's channels from the selected GPUs that give energy or power. */
static void fill_channels(aieb_source *s, rocm_ctx *c, int n_sel)
{
    for (int i = 0; i < n_sel; i++) {
        const amd_gpu *g = &c->all[c->sel[i]];
        if (!g->has_counter && !g->has_socket_power && !g->has_average_power) {
            AIEB_WARN("rocm_smi: %s (%s) answers neither the energy counter nor power readings; "
                      "it is left out",
                      g->label, g->name);
            continue;
        }
        c->sel[s->n_channels] = c->sel[i]; /* channels skip the GPUs left out */
        aieb_channel_info *ci = &s->channels[s->n_channels++];
        ci->domain = AIEB_DOMAIN_GPU;
        ci->label = g->label;
        ci->method = method_of(g);
        ci->has_counter = g->has_counter;
        ci->has_power = g->has_socket_power || g->has_average_power;
        ci->counter_period_ns = 0; /* undocumented: the sampler measures it */
        ci->gpu_index = (int)g->index;
        ci->name = g->name;
        ci->uuid = g->uuid[0] ? g->uuid : NULL;
        ci->mem_total_mb = g->mem_total_mb;
        ci->power_limit_w = g->power_limit_w;
        if (g->has_counter) {
            /* a 32-bit counter wraps at most once between reads up to half the
             * plausible power */
            int64_t wrap_ns = (int64_t)(COUNTER_32_WRAP * g->resolution_uj / 1e6 /
                                        (ROCM_MAX_PLAUSIBLE_W / 2) * 1e9);
            int64_t lim = wrap_ns < ROCM_MAX_READ_NS ? wrap_ns : ROCM_MAX_READ_NS;
            if (lim < AIEB_NS_PER_MS)
                lim = AIEB_NS_PER_MS;
            if (s->max_read_interval_ns == 0 || lim < s->max_read_interval_ns)
                s->max_read_interval_ns = lim;
        }
        AIEB_DEBUG("rocm_smi: %s %s %s: %s (%.3f uJ per count), power from %s", g->label, g->name,
                   g->uuid, ci->method, g->resolution_uj,
                   g->has_socket_power ? "current socket power" : "average power");
    }
}

int aieb_rocm_source_open(aieb_source **out, const char *library, const char *gpu_ids,
                          aieb_err *err)
{
    *out = NULL;
    rocm_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return aieb_errf(err, AIEB_ENOMEM, "rocm_smi: out of memory");
    int rc = load_library(c, library, err);
    if (rc) {
        ctx_free(c, 0);
        return rc;
    }
    rsmi_status_t st = c->api.init(0);
    if (st != RSMI_STATUS_SUCCESS) {
        aieb_errf(err, AIEB_EENV,
                  "rocm_smi: rsmi_init: %s (is the amdgpu driver loaded, /dev/kfd readable?); "
                  "no AMD GPU energy",
                  rsmi_errstr(c, st));
        ctx_free(c, 0);
        return AIEB_EENV;
    }
    uint32_t count = 0;
    st = c->api.num_devices(&count);
    if (st != RSMI_STATUS_SUCCESS || count == 0) {
        if (st != RSMI_STATUS_SUCCESS)
            rc = aieb_errf(err, AIEB_EENV, "rocm_smi: rsmi_num_monitor_devices: %s",
                           rsmi_errstr(c, st));
        else
            rc = aieb_errf(err, AIEB_ENOTFOUND, "rocm_smi: no AMD GPU found");
        ctx_free(c, 1);
        return rc;
    }
    if (count > ROCM_MAX_DEVICES)
        count = ROCM_MAX_DEVICES; /* no machine has more; a broken library could say anything */
    c->all = calloc(count, sizeof *c->all);
    c->sel = calloc(count, sizeof *c->sel);
    aieb_source *s = calloc(1, sizeof *s);
    if (!c->all || !c->sel || !s) {
        free(s);
        ctx_free(c, 1);
        return aieb_errf(err, AIEB_ENOMEM, "rocm_smi: out of memory");
    }
    c->n_all = (int)count;
    for (uint32_t i = 0; i < count; i++)
        probe_device(c, i, &c->all[i]);
    int n_sel = 0;
    rc = select_devices(c, gpu_ids, &n_sel, err);
    if (rc == 0 && !(s->channels = calloc((size_t)n_sel, sizeof *s->channels)))
        rc = aieb_errf(err, AIEB_ENOMEM, "rocm_smi: out of memory");
    if (rc) {
        free(s);
        ctx_free(c, 1);
        return rc;
    }
    s->name = "rocm_smi";
    s->ctx = c;
    s->read = rocm_read;
    s->describe = rocm_describe;
    s->close = rocm_close;
    fill_channels(s, c, n_sel);
    *out = s;
    return 0;
}
