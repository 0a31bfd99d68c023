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

#endif
