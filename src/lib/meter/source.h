/* source.h - the contract between the sampler (meter.c) and each energy source
 * (nvml.c, rocm.c, rapl.c, estimate.c). Private to libaieb.
 *
 * A source exposes one or more channels. A channel is one energy domain as the
 * source sees it: one GPU; all CPU packages summed; DRAM; estimated RAM. The
 * sampler calls read() from its own thread at every tick and once, synchronously,
 * at start and stop; a source never starts threads of its own and never knows
 * about backends or requests (docs/design.md: they meet only through the clock).
 */
#ifndef AIEB_METER_SOURCE_H
#define AIEB_METER_SOURCE_H

#include <stdint.h>

#include <jansson.h>

#include "aieb/err.h"
#include "aieb/meter.h"

/* aieb_domain, aieb_channel_info and aieb_channel_reading are public (the
 * runner and reports walk the timeline): they are declared in aieb/meter.h. */

typedef struct aieb_source aieb_source;
struct aieb_source {
    const char *name; /* "nvml", "rocm_smi", "rapl", "estimate" */
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

    /* The sampler reads this source at most this often, keeping its last
     * readings between reads (estimates: /proc/stat moves in 10 ms ticks, so
     * reading it at 100 Hz costs CPU and adds noise); start and stop always
     * read. 0 = every tick. Set by whoever opens the source (meter_open.c sets
     * it for the estimates). */
    int64_t min_read_interval_ns;

    /* Set by the sampler before each read(): non-zero means energy counters
     * that are costly to read may be skipped this time (energy_j left NAN).
     * NVML's total-energy call costs ~4 ms of CPU on an H100 (measured, see
     * docs/methodology.md), so the sampler asks for it only at start, stop and
     * while locating counter steps; power is read at every tick. Sources whose
     * counters are cheap (RAPL) ignore it. 0 (the default) = read everything. */
    int skip_counter;
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

/* AMD GPUs through ROCm SMI loaded with dlopen (rocm.c). library: path, or
 * NULL for $AIEB_ROCM_SMI_LIBRARY, else "librocm_smi64.so.1" (then only when
 * the amdgpu driver is loaded: AIEB_ENOTFOUND otherwise). gpu_ids: comma-
 * separated ROCm SMI indices or UUIDs ("GPU-" + 16 hex digits), or NULL for
 * all (ROCR_VISIBLE_DEVICES, then HIP_VISIBLE_DEVICES, are honoured when
 * gpu_ids is NULL). Channels "amdgpu<i>". Returns AIEB_EENV when the library
 * cannot be loaded or rsmi_init fails, AIEB_ENOTFOUND without AMD GPUs (or
 * none visible), AIEB_EINVAL for gpu_ids naming no AMD GPU here. */
int aieb_rocm_source_open(aieb_source **out, const char *library, const char *gpu_ids,
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

/* ---- meter internals for tests and benchmarks (meter.c) -------------------
 * A meter over sources the caller opened (scripted sources in unit tests, the
 * fake NVML in the benchmark). The meter owns sources[0..n) from the call on,
 * also when it fails; the array itself stays the caller's. opts may be NULL. */
int aieb_meter_open_with(aieb_meter **out, const aieb_meter_opts *opts, aieb_source **sources,
                         int n_sources, aieb_err *err);

/* Adds a note ("nvml: ...") to the meter's list and logs it once at level
 * (an aieb_log_level). Can't fail (notes past AIEB_METER_MAX_NOTES are logged
 * only). */
void aieb_meter_add_note(aieb_meter *m, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Manual clock, no sampler thread: the run is driven by explicit timestamps so
 * tests can compare windows with hand-computed values. start_at takes the start
 * reading at t_ns; tick_at one sample (after stop_at: a tail sample used to pin
 * slow counters down); stop_at the stop reading; finish computes the totals.
 * Timestamps must increase. Fail with AIEB_EINVAL when called out of order. */
int aieb_meter_start_at(aieb_meter *m, int64_t t_ns, aieb_err *err);
int aieb_meter_tick_at(aieb_meter *m, int64_t t_ns, aieb_err *err);
int aieb_meter_stop_at(aieb_meter *m, int64_t t_ns, aieb_err *err);
int aieb_meter_finish(aieb_meter *m, aieb_err *err);
#endif
