/* meter.h - energy meters: one sampler thread, its timeline, and windows over it.
 *
 * A meter opens every energy source the machine has (NVIDIA GPUs through NVML,
 * AMD GPUs through ROCm SMI, CPU packages and DRAM through RAPL, estimates where neither exists),
 * samples them on one thread at a fixed interval stamped with CLOCK_MONOTONIC, and afterwards
 * answers "how much energy went into [t0, t1]?" for any interval of the run (docs/design.md:
 * backends and meters meet only through the clock).
 *
 * Life cycle: aieb_meter_open -> aieb_meter_start -> [aieb_meter_idle_baseline]
 * -> workload -> aieb_meter_stop -> windows, summaries, timeline -> aieb_meter_close.
 * One meter runs once. Functions on one meter are not to be called from several
 * threads at once, except the read-only accessors (n_samples, sample), which may
 * run while the sampler does.
 *
 * Every figure carries its method ("nvml_counter", "nvml_power", "rocm_smi_counter",
 * "rocm_smi_power", "rapl",
 * "estimate_tdp_load", "estimate_dimm"); docs/methodology.md gives the formulas.
 */
#ifndef AIEB_METER_H
#define AIEB_METER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "aieb/err.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Domains, channels, readings ========================================= */

typedef enum {
    AIEB_DOMAIN_GPU = 0,
    AIEB_DOMAIN_CPU = 1,  /* CPU packages (RAPL package) or the TDP x load estimate */
    AIEB_DOMAIN_DRAM = 2, /* measured DRAM (RAPL dram sub-zones) */
    AIEB_DOMAIN_RAM = 3,  /* estimated RAM (CodeCarbon's DIMM model) */
} aieb_domain;

#define AIEB_N_DOMAINS 4

/* "gpu", "cpu", "dram", "ram"; "?" for anything else. Can't fail. */
AIEB_API const char *aieb_domain_name(aieb_domain d);

/* What a channel is, fixed at open. Strings are owned by the source. */
typedef struct aieb_channel_info {
    aieb_domain domain;
    const char *label;  /* short and unique: "gpu0", "amdgpu0", "cpu", "dram", "ram" */
    const char *method; /* "nvml_counter", "nvml_power", "rocm_smi_counter", "rocm_smi_power",
                           "rapl", "estimate_tdp_load", "estimate_dimm" */
    int has_counter;    /* readings carry a cumulative energy counter */
    int has_power;      /* readings carry instantaneous power */
    /* Counter update period in ns as the source knows it (NVML ~100 ms), 0 if
     * unknown; the sampler also measures it. */
    int64_t counter_period_ns;
    /* GPU only (else index -1, strings NULL, numbers 0). */
    int gpu_index;    /* NVML or ROCm SMI index */
    const char *name; /* "NVIDIA H100 80GB HBM3" */
    const char *uuid; /* "GPU-..."; NULL when unknown (ROCm SMI without a unique ID) */
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

/* ==== Opening ============================================================== */

#define AIEB_METER_DEFAULT_INTERVAL_MS 20
#define AIEB_METER_MIN_INTERVAL_MS     5
#define AIEB_METER_MAX_INTERVAL_MS     60000
/* The timeline holds at most this much memory unless opts say otherwise. When
 * full, every other stored sample is dropped and from then on one sample in two
 * (then four, ...) is stored: whole-run totals stay exact (they are accumulated
 * at every sample), only the time resolution of windows coarsens. */
#define AIEB_METER_DEFAULT_TIMELINE_MB 64
/* At most this many notes ("nvml: library not found", ...) are kept. */
#define AIEB_METER_MAX_NOTES 16

typedef struct aieb_meter_opts {
    int sample_interval_ms;     /* 5..60000; 0 = AIEB_METER_DEFAULT_INTERVAL_MS */
    const char *gpu_ids;        /* "0,2" or UUIDs; NULL = CUDA_VISIBLE_DEVICES (NVIDIA),
                                   ROCR_/HIP_VISIBLE_DEVICES (AMD), else all */
    const char *nvml_library;   /* NULL = $AIEB_NVML_LIBRARY, else "libnvidia-ml.so.1" */
    const char *powercap_root;  /* NULL = $AIEB_POWERCAP_ROOT, else "/sys/class/powercap" */
    const char *proc_root;      /* NULL = "/proc" (CPU load for the estimate) */
    double cpu_tdp_w;           /* <= 0: 4 W per hardware thread (estimate only) */
    double ram_total_gb;        /* <= 0: MemTotal from /proc/meminfo (estimate only) */
    double pue;                 /* power usage effectiveness for emissions; <= 0 = 1.0 */
    int no_gpu, no_cpu, no_ram; /* leave a domain out entirely */
    size_t timeline_max_rows;   /* 0 = as many as fit in AIEB_METER_DEFAULT_TIMELINE_MB */
} aieb_meter_opts;

/* Fills opts with the defaults (all zero/NULL). Can't fail. */
AIEB_API void aieb_meter_opts_init(aieb_meter_opts *opts);

typedef struct aieb_meter aieb_meter;

/* Opens every source the options allow: NVML and ROCm SMI (a missing library or
 * no GPU is not an error: one note, logged once, when neither finds a GPU),
 * RAPL (when missing or unreadable, the CPU
 * estimate is used instead and the reason is noted once), the RAM estimate
 * (informational when RAPL measures DRAM). Starts nothing.
 * Fails with AIEB_EINVAL for a bad interval or bad gpu_ids (the message names
 * the value; gpu_ids on a machine with NVIDIA and AMD GPUs), AIEB_ENOMEM; never because a source is
 * absent (a meter with no channel at all is valid and measures nothing). */
AIEB_API int aieb_meter_open(aieb_meter **out, const aieb_meter_opts *opts, aieb_err *err);

/* Stops the sampler if running and releases everything. m may be NULL. */
AIEB_API void aieb_meter_close(aieb_meter *m);

/* ==== Running ============================================================== */

/* Takes a synchronous reading of every source (the run's start, t_start) and
 * starts the sampler thread. Fails with AIEB_EINVAL when already started, or
 * AIEB_EIO/AIEB_ENOMEM when the thread cannot start. */
AIEB_API int aieb_meter_start(aieb_meter *m, aieb_err *err);

/* Sleeps seconds while the sampler runs and records that span as the idle
 * baseline (idle power per channel = its energy over the span / duration).
 * *stop (may be NULL) non-zero ends it early with AIEB_EINTR (no baseline).
 * Fails with AIEB_EINVAL when not running or seconds <= 0. */
AIEB_API int aieb_meter_idle_baseline(aieb_meter *m, double seconds,
                                      const volatile sig_atomic_t *stop, aieb_err *err);

/* Pins the slow energy counters down here: the sampler reads every 2 ms until
 * each has moved once, so windows that begin or end near this instant are
 * calibrated against the counter on both sides of it (docs/methodology.md).
 * Call it at phase boundaries (end of warm-up, of model loading); the idle
 * baseline calls it at its end. Returns at once. Fails with AIEB_EINVAL when
 * the meter is not running. */
AIEB_API int aieb_meter_mark(aieb_meter *m, aieb_err *err);

/* Takes one reading of every channel, counters included, now (through the
 * sampler thread while it runs) and stores its time in *t_ns. A window edge
 * placed on a reading is exact rather than interpolated between two: call it
 * just before the workload starts and use *t_ns as the window's start (aieb
 * measure does). Blocks for one read. Fails with AIEB_EINVAL when the meter is
 * not running. */
AIEB_API int aieb_meter_read_now(aieb_meter *m, int64_t *t_ns, aieb_err *err);

/* Stops the sampler, takes a synchronous reading (t_stop), then keeps reading
 * slow counters (NVML updates about every 100 ms) for up to 2.5 update periods
 * until each has moved once, so the energy up to t_stop can be pinned down
 * (docs/methodology.md). Then computes the whole-run totals and the piecewise
 * calibration (located steps and anchor reads). Fails with AIEB_EINVAL when not
 * running. */
AIEB_API int aieb_meter_stop(aieb_meter *m, aieb_err *err);

/* Records [t0_ns, t1_ns] (inside the run) as the idle baseline, replacing any
 * earlier one. Needs a stopped meter. Fails with AIEB_EINVAL otherwise. */
AIEB_API int aieb_meter_set_baseline(aieb_meter *m, int64_t t0_ns, int64_t t1_ns, aieb_err *err);

/* ==== Channels, notes, timeline =========================================== */

AIEB_API int aieb_meter_n_channels(const aieb_meter *m);
/* Channel i (0 <= i < n_channels), or NULL when out of range. */
AIEB_API const aieb_channel_info *aieb_meter_channel(const aieb_meter *m, int i);
/* The sampling interval in force (ms), after clamping to the sources' limits. */
AIEB_API int aieb_meter_interval_ms(const aieb_meter *m);
/* Notes about sources not available or degraded, in the order they arose. */
AIEB_API int aieb_meter_n_notes(const aieb_meter *m);
AIEB_API const char *aieb_meter_note(const aieb_meter *m, int i);
/* The run's start and stop readings' timestamps (0 before start / stop). */
AIEB_API int64_t aieb_meter_start_ns(const aieb_meter *m);
AIEB_API int64_t aieb_meter_stop_ns(const aieb_meter *m);

/* Number of stored samples from t_start to t_stop inclusive (the start and stop
 * readings included). Safe while the sampler runs. */
AIEB_API size_t aieb_meter_n_samples(const aieb_meter *m);

/* Copies sample i: its timestamp and one reading per channel into
 * readings[0..n_channels) (may be NULL). Safe while the sampler runs. For
 * counter-only channels (RAPL) power_w is the average over the interval since
 * the previous reading. Costly counters (NVML's) are read only at start, stop,
 * around marks and about once a second, so energy_j is NAN in most samples;
 * windows, not raw readings, give energy. Fails with AIEB_EINVAL when i is out
 * of range. */
AIEB_API int aieb_meter_sample(const aieb_meter *m, size_t i, int64_t *t_ns,
                               aieb_channel_reading *readings, aieb_err *err);

/* What the powercap tree offers, for `aieb probe`: scans root (NULL:
 * $AIEB_POWERCAP_ROOT, else /sys/class/powercap) and returns a new JSON object:
 * {"root", "usable": bool, "error": message or null, "zones": [{zone, name,
 * interface, readable, why, max_energy_range_uj, role}], ...}: the description
 * the RAPL source gives, also when the source cannot open (unreadable
 * energy_uj, no zones). Returns NULL only when out of memory. */
AIEB_API json_t *aieb_rapl_probe(const char *root);

/* ==== The sampler's health ================================================= */

typedef struct aieb_meter_quality {
    int interval_ms;
    long ticks;            /* readings the sampler scheduled and took */
    double late_median_ms; /* how late they woke after their planned time */
    double late_p95_ms;    /* (medians and p95 within ~12%: a log histogram) */
    double late_max_ms;    /* exact; NAN without ticks */
    long late_over_half;   /* ticks later than half the interval */
    long reads;            /* readings of all sources whose duration is counted */
    double read_median_ms, read_max_ms;
    long missed_ticks;      /* ticks skipped because the sampler fell behind */
    long dropped_samples;   /* readings not stored (no memory for the timeline) */
    long restamped_samples; /* readings whose timestamp was moved to keep order */
    int decimation;         /* 1, or one sample in N stored once the timeline was full */
    int late_warning;       /* p95 lateness above half the interval */
} aieb_meter_quality;

/* The health as JSON: {sample_interval_ms, ticks, late_ms {median, p95, max},
 * late_over_half_interval, reads, read_ms {median, max}, missed_ticks,
 * dropped_samples, restamped_samples, decimation, late_warning}. Returns a new
 * reference, NULL when out of memory. */
AIEB_API json_t *aieb_meter_quality_json(const aieb_meter_quality *q);

/* Fills out with the sampler's health so far. Safe while the sampler runs.
 * Can't fail (returns 0). */
AIEB_API int aieb_meter_get_quality(const aieb_meter *m, aieb_meter_quality *out);

/* ==== Windows ============================================================== */

typedef struct aieb_window_channel {
    double energy_j;     /* gross energy in the window */
    double net_energy_j; /* energy_j - idle power x duration; NAN without baseline */
    /* Bounds on the error of energy_j and net_energy_j, in J, from what was
     * measured (docs/methodology.md, "Uncertainty"): 0 where counters pin the
     * window's ends; the power swing x interval / 2 of each sampled part. For
     * estimates, the sampling's part only (the model's own error is unknown). */
    double uncertainty_j, net_uncertainty_j;
    /* The window is shorter than this channel's update period (observed, or the
     * source's) or than three sampling intervals: its energy is interpolated,
     * not seen, and its bound is mostly the intervals around it. */
    int short_window;
} aieb_window_channel;

typedef struct aieb_window {
    int64_t t0_ns, t1_ns;
    double duration_s;
    /* Per domain, over channels that are not informational. */
    double energy_j[AIEB_N_DOMAINS];
    double net_energy_j[AIEB_N_DOMAINS]; /* NAN without baseline */
    double total_j, net_total_j;
    /* Error bounds per domain and in total (see aieb_window_channel), and their
     * parts: at t0, at t1 and along the span, which add up to uncertainty_j.
     * Windows that share an end combine exactly through the parts
     * (aieb_attribute); net adds the idle power's bound x duration. */
    double uncertainty_j[AIEB_N_DOMAINS], net_uncertainty_j[AIEB_N_DOMAINS];
    double total_uncertainty_j, net_total_uncertainty_j;
    double u_start_j[AIEB_N_DOMAINS], u_end_j[AIEB_N_DOMAINS], u_span_j[AIEB_N_DOMAINS];
    double net_u_span_j[AIEB_N_DOMAINS]; /* u_span_j + the idle power's bound x duration */
    int short_window;                    /* some channel's short_window */
    double max_period_s;                 /* the longest resolution (update period, 3 intervals) */
} aieb_window;

/* Energy in [t0_ns, t1_ns] per domain (and per channel into channels[0..n),
 * which may be NULL). For channels with a counter and power readings: power
 * integrated over the window (trapezoid) times a per-channel factor chosen so
 * the whole run adds up to its counter delta; counter-only channels: the
 * counter interpolated at t0 and t1; power-only: the trapezoid. Needs a stopped
 * meter. Fails with AIEB_EINVAL when running, or when the window is empty of
 * meaning (t1 < t0, or not inside [t_start, t_stop]; the message gives both). */
AIEB_API int aieb_meter_window(const aieb_meter *m, int64_t t0_ns, int64_t t1_ns, aieb_window *out,
                               aieb_window_channel *channels, aieb_err *err);

/* ==== Summaries ============================================================ */

typedef struct aieb_meter_channel_summary {
    const aieb_channel_info *info;
    double energy_j, net_energy_j;     /* net: NAN without baseline */
    double uncertainty_j;              /* bound on energy_j's error (aieb_window_channel) */
    double avg_power_w;                /* energy_j / duration */
    double peak_power_w;               /* highest power reading in the window; NAN without */
    double idle_power_w;               /* NAN without baseline */
    double mem_min_mb, mem_max_mb;     /* GPU memory used in the window; NAN otherwise */
    double mem_start_mb;               /* at the window's (or baseline's) start */
    double util_avg_pct, util_max_pct; /* display only */
    double temp_max_c;
    /* Counter/power agreement: the factor applied to integrated power so the
     * run adds up to the counter; 1 for channels without both; NAN when the
     * power readings integrate to zero. */
    double calibration;
    double period_s; /* observed update period (or the source's), else the interval */
    int short_window;
    /* GPU: 1 when memory grew by >= 64 MiB in the window, or (with a baseline)
     * average power rose >= max(5 W, 10%) above idle; 0 when neither; -1 for
     * other domains. Utilisation is never evidence. */
    int used;
} aieb_meter_channel_summary;

typedef struct aieb_meter_summary {
    aieb_window window;
    double avg_power_w[AIEB_N_DOMAINS];  /* energy / duration */
    double peak_power_w[AIEB_N_DOMAINS]; /* highest sum over the domain's channels */
    char method[AIEB_N_DOMAINS][64];     /* "" when the domain has no channel;
                                            "a+b" when its channels differ */
    int has_domain[AIEB_N_DOMAINS];      /* domain has a channel that counts in totals */
    double ram_estimate_j;               /* informational RAM estimate, else NAN */
    int has_baseline;
    double baseline_s;
    int64_t baseline_t0_ns, baseline_t1_ns; /* the baseline's span; 0 without one */
    double pue;
    int n_samples;              /* stored samples inside the window */
    aieb_meter_quality quality; /* the sampler's health over the whole run */
    int n_channels;
    aieb_meter_channel_summary *channels; /* n_channels entries, owned by the summary */
} aieb_meter_summary;

/* Summarises [t0_ns, t1_ns] (t0 = t1 = 0: the whole run): energy, net energy,
 * average and peak power per domain and channel, GPU memory min/max, methods.
 * Needs a stopped meter. Fails as aieb_meter_window, or with AIEB_ENOMEM. Free
 * with aieb_meter_summary_free. */
AIEB_API int aieb_meter_summarize(const aieb_meter *m, int64_t t0_ns, int64_t t1_ns,
                                  aieb_meter_summary *out, aieb_err *err);

/* Releases what a summary owns. s may be NULL or zeroed. */
AIEB_API void aieb_meter_summary_free(aieb_meter_summary *s);

/* The summary as JSON: duration_s, t_start_ns, t_end_ns, energy {gpu_j, cpu_j,
 * dram_j, ram_j, total_j, *_wh, net_*}, methods {gpu, cpu, dram, ram}, power
 * {avg/peak per domain}, gpus [...], channels [...], baseline {...}, quality
 * {sample_interval_ms, ticks, late_ms {median, p95, max}, ...}. ram_j is
 * the estimate even when informational (then energy.ram_in_total is false).
 * Returns a new reference, NULL when out of memory. */
AIEB_API json_t *aieb_meter_summary_json(const aieb_meter_summary *s);

/* What the sources found (for `aieb probe`): {"sources": [...], "channels":
 * [...], "notes": [...], "sample_interval_ms": N}. Returns a new reference,
 * NULL when out of memory. */
AIEB_API json_t *aieb_meter_describe(const aieb_meter *m);

/* Writes the timeline from t_start to t_stop as CSV, one row per stored
 * sample: t_ns, t_s (from t_start), then per channel <label>_energy_j
 * (cumulative since t_start, calibrated as the windows are),
 * <label>_energy_uncertainty_j (a bound on that figure's error; a window
 * between two rows is within the sum of theirs), <label>_power_w,
 * and for GPUs <label>_mem_used_mb, _util_pct, _temp_c, _sm_clock_mhz. Empty
 * cells for values not read. Written to a temporary file and renamed. Needs a
 * stopped meter; fails with AIEB_EINVAL otherwise, AIEB_EIO naming the path. */
AIEB_API int aieb_meter_write_timeline_csv(const aieb_meter *m, const char *path, aieb_err *err);

#ifdef __cplusplus
}
#endif
#endif
