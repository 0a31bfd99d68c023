/* source.h - the contract between the sampler (meter.c) and each energy source
 * (nvml.c, rapl.c, estimate.c). Private to libaieb.
 *
 * A source exposes one or more channels. A channel is one energy domain as the
 * source sees it: one GPU; all CPU packages summed; DRAM; estimated RAM. The
 * sampler calls read() from its own thread at every tick and once, synchronously,
 * at start and stop; a source never starts threads of its own and never knows
 * about backends or requests (DESIGN.md: they meet only through the clock).
 */
#ifndef AIEB_METER_SOURCE_H
#define AIEB_METER_SOURCE_H

#include <stdint.h>

#include <jansson.h>

#include "aieb/err.h"

typedef enum {
    AIEB_DOMAIN_GPU = 0,
    AIEB_DOMAIN_CPU = 1,  /* CPU packages (RAPL package) or the TDP x load estimate */
    AIEB_DOMAIN_DRAM = 2, /* measured DRAM (RAPL dram sub-zones) */
    AIEB_DOMAIN_RAM = 3,  /* estimated RAM (CodeCarbon's DIMM model) */
} aieb_domain;

/* What a channel is, fixed at open. Strings are owned by the source. */
typedef struct aieb_channel_info {
    aieb_domain domain;
    const char *label;  /* short and unique: "gpu0", "cpu", "dram", "ram" */
    const char *method; /* "nvml_counter", "nvml_power", "rapl", "estimate_tdp_load",
                           "estimate_dimm" */
    int has_counter;    /* readings carry a cumulative energy counter */
    int has_power;      /* readings carry instantaneous power */
    /* Counter update period in ns as the source knows it (NVML ~100 ms), 0 if
     * unknown; the sampler also measures it. */
    int64_t counter_period_ns;
    /* GPU only (else index -1, strings NULL, numbers 0). */
    int gpu_index;      /* NVML index */
    const char *name;   /* "NVIDIA H100 80GB HBM3" */
    const char *uuid;   /* "GPU-..." */
    double mem_total_mb;
    double power_limit_w; /* enforced power limit, 0 if unknown */
    /* Set when this channel is an estimate that stands beside a measured one and
     * must not enter totals (RAM estimate when RAPL DRAM exists). */
    int informational;
} aieb_channel_info;

/* One channel at one instant. Fields a channel does not have are NAN. */
typedef struct aieb_channel_reading {
    double energy_j;     /* cumulative since open; wrap-arounds already unfolded */
    double power_w;      /* instantaneous power */
    double mem_used_mb;  /* GPU */
    double util_pct;     /* GPU, for display only: never evidence of use */
    double temp_c;       /* GPU */
    double sm_clock_mhz; /* GPU */
} aieb_channel_reading;

typedef struct aieb_source aieb_source;
struct aieb_source {
    const char *name; /* "nvml", "rapl", "estimate" */
    int n_channels;
    aieb_channel_info *channels; /* n_channels entries */
    /* The longest the sampler may wait between two reads and stay correct (RAPL:
     * so a counter wraps at most once between reads); 0 = no limit. */
    int64_t max_read_interval_ns;

    /* Fills out[0..n_channels) for time t_ns (CLOCK_MONOTONIC, taken by the
     * caller just before the call). Returns 0 or an AIEB_E* code with err set; a
     * failed read leaves out as NAN and the sampler keeps going. */
    int (*read)(aieb_source *s, int64_t t_ns, aieb_channel_reading *out, aieb_err *err);

    /* Describes the source for `aieb probe --json`: a new JSON object (what was
     * found, what is readable and why not). May be NULL. */
    json_t *(*describe)(aieb_source *s);

    /* Releases everything, including s itself. */
    void (*close)(aieb_source *s);

    void *ctx; /* source-private state */
};

/* Sets every field of r to NAN. Can't fail. */
void aieb_reading_clear(aieb_channel_reading *r);



/* ---- source constructors ---------------------------------------------------
 * Each returns 0 with *out set, or an AIEB_E* code with err saying what is
 * missing and what to do; the meter treats a failed source as "not available
 * here", logs the message once, and goes on with the others. */

/* NVIDIA GPUs through NVML loaded with dlopen (nvml.c). library: path, or NULL
 * for $AIEB_NVML_LIBRARY, else "libnvidia-ml.so.1". gpu_ids: comma-separated
 * NVML indices or UUIDs, or NULL for all (CUDA_VISIBLE_DEVICES is honoured when
 * gpu_ids is NULL). Returns AIEB_EENV when the library cannot be loaded. */
int aieb_nvml_source_open(aieb_source **out, const char *library, const char *gpu_ids,
                          aieb_err *err);

/* CPU packages and DRAM through Linux powercap (rapl.c). root: directory, or NULL
 * for $AIEB_POWERCAP_ROOT, else "/sys/class/powercap". Channels: "cpu" (sum of
 * packages), and "dram" when dram sub-zones exist. Returns AIEB_ENOTFOUND with
 * no RAPL zones, AIEB_EIO when energy_uj cannot be read (the message names the
 * file and the fix). */
int aieb_rapl_source_open(aieb_source **out, const char *root, aieb_err *err);

/* CPU power estimate P = TDP x (0.1 + 0.9 x load^3) (estimate.c). tdp_w <= 0
 * means 4 W per hardware thread. proc_root: NULL for "/proc". One channel "cpu". */
int aieb_cpu_estimate_source_open(aieb_source **out, double tdp_w, const char *proc_root,
                                  aieb_err *err);

/* RAM power estimate from the DIMM model (estimate.c). total_gb <= 0: read
 * MemTotal from /proc/meminfo. arm: 1 ARM, 0 x86, -1 detect. informational: the
 * channel stands beside measured DRAM and must not enter totals. One channel "ram". */
int aieb_ram_estimate_source_open(aieb_source **out, double total_gb, int arm, int informational,
                                  aieb_err *err);
#endif
