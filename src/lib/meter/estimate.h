/* estimate.h - power models for machines without energy counters (estimate.c).
 * Private to libaieb (the probe command and the tests use it too).
 *
 * CPU: P = TDP x (0.1 + 0.9 x load^3), CodeCarbon 3.1+'s "cpu_load" model
 *      (codecarbon/external/hardware.py, CPU._get_power_from_cpu_load).
 * RAM: CodeCarbon 3.x's DIMM model (codecarbon/external/ram.py,
 *      RAM._estimate_dimm_count and RAM._calculate_ram_power).
 * docs/methodology.md gives every constant and where it comes from.
 */
#ifndef AIEB_METER_ESTIMATE_H
#define AIEB_METER_ESTIMATE_H

#include <stdint.h>

#include "aieb/err.h"

/* Default TDP when none is configured: 4 W per hardware thread (project choice,
 * see docs/methodology.md). */
#define AIEB_ESTIMATE_W_PER_THREAD 4.0

/* RAM model constants (CodeCarbon 3.x ram.py). */
#define AIEB_ESTIMATE_DIMM_W_X86    5.0  /* RAM_SLOT_POWER_X86 */
#define AIEB_ESTIMATE_DIMM_W_ARM    1.5  /* base_power_per_dimm on ARM */
#define AIEB_ESTIMATE_RAM_MIN_W_X86 10.0 /* two x86 DIMMs */
#define AIEB_ESTIMATE_RAM_MIN_W_ARM 3.0
#define AIEB_ESTIMATE_DIMM_MAX      32

/* CPU time from the first ("cpu ") line of /proc/stat, in clock ticks.
 * busy = total - idle - iowait (psutil's definition, which CodeCarbon uses);
 * total excludes guest and guest_nice, already counted in user and nice. */
typedef struct aieb_cpu_times {
    uint64_t busy;
    uint64_t total;
} aieb_cpu_times;

/* Power of the CPU in W at load (0..1, clamped) for the given TDP:
 * tdp_w x (0.1 + 0.9 x load^3). NAN when load is NAN. Can't fail. */
double aieb_estimate_cpu_power_w(double tdp_w, double load);

/* Number of DIMMs CodeCarbon 3.x assumes for total_gb of RAM (GiB, as psutil
 * reports it): <= 2: 1; <= 16: 2; <= 64: 4; <= 128: 8; above, ceil(total / s)
 * for the largest s in {4, 8, 16, 32, 64, 128} with s <= total / 8, capped at
 * 32. Can't fail. */
int aieb_estimate_dimm_count(double total_gb);

/* RAM power in W for total_gb (GiB) on x86 (arm = 0) or ARM (arm != 0): per DIMM
 * 5 W (x86) or 1.5 W (ARM); DIMMs 1-4 count 100%, 5-8 90%, 9-16 80%, 17+ 70%;
 * at least 10 W (x86) or 3 W (ARM). Can't fail. */
double aieb_estimate_ram_power_w(double total_gb, int arm);

/* Default TDP for n_threads hardware threads: 4 W each. Can't fail. */
double aieb_estimate_default_tdp_w(int n_threads);

/* Reads the "cpu " line of <proc_root>/stat (proc_root NULL: "/proc") into *out.
 * Fails with AIEB_ENOTFOUND (no file), AIEB_EIO (unreadable, or no parsable
 * "cpu " line); the message names the file. */
int aieb_proc_stat_read(const char *proc_root, aieb_cpu_times *out, aieb_err *err);

/* Counts the "cpuN" lines of <proc_root>/stat (the online hardware threads).
 * Returns the count (>= 1), or an AIEB_E* code with err set when the file
 * cannot be read or lists none. */
int aieb_proc_stat_threads(const char *proc_root, aieb_err *err);

/* CPU load between two readings: busy ticks / total ticks, in 0..1. NAN when no
 * tick elapsed (or the counters went backwards). Can't fail. */
double aieb_cpu_load_between(const aieb_cpu_times *before, const aieb_cpu_times *after);

/* Reads MemTotal from <proc_root>/meminfo (NULL: "/proc") into *gib (GiB, 2^30
 * bytes, as CodeCarbon's psutil total / 1024^3). Fails with AIEB_ENOTFOUND or
 * AIEB_EIO (no file, no MemTotal line); the message names the file. */
int aieb_meminfo_total_gib(const char *proc_root, double *gib, aieb_err *err);

/* 1 when this machine's CPU is ARM (uname machine contains "arm" or "aarch", as
 * CodeCarbon's platform.machine() test), else 0. Can't fail. */
int aieb_estimate_is_arm(void);

#endif
