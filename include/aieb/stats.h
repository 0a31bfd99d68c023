/* stats.h - summary statistics of a sample (latencies, power). */
#ifndef AIEB_STATS_H
#define AIEB_STATS_H

#include <stddef.h>
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aieb_stats {
    size_t n;
    double mean, median, std; /* std: sample standard deviation (n-1), 0 when n < 2 */
    double min, max;
    double p90, p95, p99; /* linear interpolation between closest ranks (numpy's default) */
} aieb_stats;

/* Computes statistics of vals[0..n). NaN values are skipped. vals is reordered
 * (sorted in place). With no values every field is 0 and n is 0. Can't fail. */
AIEB_API void aieb_stats_compute(double *vals, size_t n, aieb_stats *out);

/* The q-th percentile (0..100) of sorted[0..n), numpy's linear method; 0 when n == 0. */
AIEB_API double aieb_percentile_sorted(const double *sorted, size_t n, double q);

/* The 97.5% quantile of Student's t with df degrees of freedom (the half-width
 * factor of a two-sided 95% interval); NAN for df < 1. Can't fail. */
AIEB_API double aieb_student_t975(int df);

/* A mean with its 95% confidence interval (Student's t). */
typedef struct aieb_mean_ci {
    size_t n;      /* finite values used */
    double mean;   /* NAN without values */
    double std;    /* sample standard deviation (n - 1); NAN when n < 2 */
    double lo, hi; /* mean -+ t975(n - 1) x std / sqrt(n); NAN when n < 2 */
} aieb_mean_ci;

/* Mean, standard deviation and 95% interval of the finite values among
 * vals[0..n) (NaN and infinities are skipped; vals is not changed). Can't fail. */
AIEB_API void aieb_mean_ci95(const double *vals, size_t n, aieb_mean_ci *out);

#ifdef __cplusplus
}
#endif
#endif
