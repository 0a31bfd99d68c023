/* stats.c - mean, median, standard deviation, percentiles. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/stats.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double aieb_percentile_sorted(const double *sorted, size_t n, double q)
{
    if (n == 0)
        return 0.0;
    if (q <= 0)
        return sorted[0];
    if (q >= 100)
        return sorted[n - 1];
    double pos = q / 100.0 * (double)(n - 1);
    size_t lo = (size_t)pos;
    double frac = pos - (double)lo;
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + (sorted[lo + 1] - sorted[lo]) * frac;
}

void aieb_stats_compute(double *vals, size_t n, aieb_stats *out)
{
    memset(out, 0, sizeof *out);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(vals[i]))
            vals[m++] = vals[i];
    if (m == 0)
        return;
    qsort(vals, m, sizeof *vals, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < m; i++)
        sum += vals[i];
    double mean = sum / (double)m;
    double ss = 0;
    for (size_t i = 0; i < m; i++)
        ss += (vals[i] - mean) * (vals[i] - mean);
    out->n = m;
    out->mean = mean;
    out->std = m > 1 ? sqrt(ss / (double)(m - 1)) : 0.0;
    out->min = vals[0];
    out->max = vals[m - 1];
    out->median = aieb_percentile_sorted(vals, m, 50);
    out->p90 = aieb_percentile_sorted(vals, m, 90);
    out->p95 = aieb_percentile_sorted(vals, m, 95);
    out->p99 = aieb_percentile_sorted(vals, m, 99);
}
