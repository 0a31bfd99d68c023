/* prom.h - energy read from a Prometheus server (metrics.remote): the GPUs and
 * CPUs of other machines, as their exporters publish it (dcgm-exporter's
 * energy counter and power gauge, node_exporter's RAPL counters).
 *
 * Two halves. The arithmetic (aieb_prom_series_*) turns one series' raw
 * samples into a cumulative energy E(t) with a bound on its error at any t;
 * it involves no clock and no network, so tests feed it synthetic arrays. The
 * client (aieb_prom_fetch, aieb_prom_window, ...) queries the raw samples of a
 * time range with range-vector selectors (never increase(), which
 * extrapolates) and answers windows given on the run's CLOCK_MONOTONIC through
 * a REALTIME/MONOTONIC pair taken at the run's start and end.
 * docs/methodology.md ("Remote and cluster energy") states the estimator.
 */
#ifndef AIEB_PROM_H
#define AIEB_PROM_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "aieb/err.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== One series' arithmetic ============================================== */

typedef enum {
    AIEB_PROM_COUNTER = 0, /* monotone energy counter (resets allowed) */
    AIEB_PROM_POWER = 1,   /* power gauge, W, integrated by the trapezoid */
} aieb_prom_kind;

/* One series: sample times (s, any origin) and E(t) at each, in J. */
typedef struct aieb_prom_series {
    size_t n;
    double *t_s;       /* (n) increasing */
    double *cum_j;     /* (n) cumulative energy at t_s[i], from 0 at t_s[0] */
    double *dp_j;      /* (n) power series: |p[i] - p[i-1]| x dt / 2 (trapezoid bound), else 0 */
    int resets;        /* counter decreases seen (each counted as a restart from 0) */
    double *reset_t_s; /* (resets) the sample time after each reset */
} aieb_prom_series;

/* Builds s from n samples (t_s increasing; samples out of order or not finite
 * are dropped). For a counter, value x scale is J (0.001 for a counter in mJ)
 * and a decrease means the counter restarted from 0, so the later value is
 * the energy since the restart. For a power gauge, scale is 1 and values are W.
 * Returns 0, or AIEB_ENOMEM (s is then empty). Free with
 * aieb_prom_series_free. */
AIEB_API int aieb_prom_series_build(const double *t_s, const double *v, size_t n,
                                    aieb_prom_kind kind, double scale, aieb_prom_series *s);

AIEB_API void aieb_prom_series_free(aieb_prom_series *s);

/* E(t) by linear interpolation between the samples on either side of t, and a
 * bound on its error: E is monotone, so the true value lies between the two
 * samples, at most max(E - E[a], E[b] - E) away. Outside the samples, E is held
 * at the first or last sample and the function returns 1 (the series does not
 * cover t); else 0. Can't fail otherwise. */
AIEB_API int aieb_prom_series_at(const aieb_prom_series *s, double t_s, double *e_j,
                                 double *bound_j);

/* Energy over [t0, t1] (J) and its bound: both edges' bounds, plus, for a
 * power gauge, the trapezoid's bound of each sample interval inside. Sets
 * *covered to 0 when the series lacks samples before t0 or after t1 (the
 * energy is then that of the covered part only). Returns 0; AIEB_EINVAL for an
 * empty series. */
AIEB_API int aieb_prom_series_window(const aieb_prom_series *s, double t0_s, double t1_s,
                                     double *energy_j, double *bound_j, int *covered);

/* Median of the gaps between consecutive samples (s), NAN with fewer than two. */
AIEB_API double aieb_prom_series_interval(const aieb_prom_series *s);

/* ==== The client =========================================================== */

/* One metrics.remote entry (strings borrowed). */
typedef struct aieb_prom_opts {
    const char *url;               /* base URL of the HTTP API */
    const char *selector;          /* "{...}" or NULL / "" for every series */
    const char *gpu_energy_metric; /* counter in mJ; NULL = DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION */
    const char *gpu_power_metric;  /* gauge in W; NULL = DCGM_FI_DEV_POWER_USAGE */
    const char *cpu_energy_metric; /* counter in J; NULL = none */
    const char *cpu_selector;      /* NULL = every series */
    const char *bearer_token;      /* the token itself, or NULL */
    const char *basic_user, *basic_password; /* or NULL */
    double timeout_s;                        /* per HTTP request; <= 0 = 10 */
} aieb_prom_opts;

/* Fills o from one metrics.remote entry (a checked object); secrets are read
 * from the environment variables the entry names (a named variable that is
 * unset or empty is an AIEB_EENV error). Strings are borrowed from entry and
 * the environment. */
AIEB_API int aieb_prom_opts_from_json(const json_t *entry, aieb_prom_opts *o, aieb_err *err);

/* The mapping of the run's CLOCK_MONOTONIC to wall-clock time: a pair read
 * together at the start and at the end; times between are mapped linearly
 * (NTP slewing the wall clock during the run is followed). */
typedef struct aieb_prom_clock {
    int64_t mono0_ns, wall0_ns, mono1_ns, wall1_ns;
} aieb_prom_clock;

/* Reads a pair (monotonic, wall) as close together as the clocks allow. */
AIEB_API void aieb_prom_clock_pair(int64_t *mono_ns, int64_t *wall_ns);

/* Wall-clock seconds since the epoch for a CLOCK_MONOTONIC time. */
AIEB_API double aieb_prom_clock_wall_s(const aieb_prom_clock *c, int64_t mono_ns);

typedef struct aieb_prom aieb_prom; /* the series read for one run */

/* Reads the raw samples of the GPU energy counter, the GPU power gauge and
 * (when asked) the CPU energy counter over [t0_s - margin, t1_s + margin]
 * (wall-clock seconds) from o->url. The GPU figures come from the counter
 * where any counter series exists (method prometheus_counter), else from the
 * gauge (prometheus_power). When a series has no sample after t1_s yet, the
 * server is asked again until one appears or wait_s passes (Prometheus
 * stores a sample only at its next scrape). Fails with AIEB_EENV (server
 * unreachable or answering an error, the message says which), AIEB_ENOTFOUND
 * (no series for the selector over the range), AIEB_ETOOBIG (a body past
 * 256 MiB) or AIEB_ENOMEM. */
AIEB_API int aieb_prom_fetch(const aieb_prom_opts *o, double t0_s, double t1_s, double wait_s,
                             aieb_prom **out, aieb_err *err);

AIEB_API void aieb_prom_free(aieb_prom *p);

/* "prometheus_counter" or "prometheus_power". */
AIEB_API const char *aieb_prom_method(const aieb_prom *p);

/* Median scrape interval seen over the GPU series (s). */
AIEB_API double aieb_prom_resolution_s(const aieb_prom *p);

/* The series read: GPU series first (those the method uses), then CPU ones. */
AIEB_API size_t aieb_prom_n_series(const aieb_prom *p);
AIEB_API int aieb_prom_series_is_cpu(const aieb_prom *p, size_t i);
AIEB_API const json_t *aieb_prom_series_labels(const aieb_prom *p, size_t i); /* borrowed */
AIEB_API const aieb_prom_series *aieb_prom_series_get(const aieb_prom *p, size_t i);

/* Host of series i: its Hostname label, else instance, else "unknown". */
AIEB_API const char *aieb_prom_series_host(const aieb_prom *p, size_t i);

/* Energy of one window [t0_s, t1_s] (wall-clock seconds). */
typedef struct aieb_prom_window {
    double gpu_j, gpu_bound_j; /* summed over the GPU series */
    double cpu_j, cpu_bound_j; /* summed over the CPU series; NAN without a CPU metric */
    int low_resolution;        /* shorter than 3 scrape intervals */
    int n_uncovered;           /* series lacking samples before t0 or after t1 */
} aieb_prom_window;

/* Computes w; series_j and series_bound_j (aieb_prom_n_series entries each,
 * either may be NULL) get each series' energy and bound. Can't fail. */
AIEB_API void aieb_prom_window_energy(const aieb_prom *p, double t0_s, double t1_s,
                                      aieb_prom_window *w, double *series_j,
                                      double *series_bound_j);

/* Notes about the data read (a counter reset, a series that stopped or started
 * within [t0_s, t1_s]), one string each; n may be 0. */
AIEB_API size_t aieb_prom_n_notes(const aieb_prom *p);
AIEB_API const char *aieb_prom_note(const aieb_prom *p, size_t i);

/* For `aieb probe --remote`: the series the client would read at this moment
 * (instant queries of the three metrics), as a JSON array of {metric, labels,
 * value, timestamp}. Returns a new reference, or NULL with err set (as
 * aieb_prom_fetch). */
AIEB_API json_t *aieb_prom_probe(const aieb_prom_opts *o, aieb_err *err);

#ifdef __cplusplus
}
#endif
#endif
