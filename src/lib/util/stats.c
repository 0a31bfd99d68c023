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

/* Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom (the
 * standard table, e.g. NIST/SEMATECH e-Handbook of Statistical Methods,
 * 1.3.6.7.2); past 30, Abramowitz & Stegun 26.7.5's expansion in 1/df around
 * the normal quantile 1.959964 (within 1e-4 there). */
double aieb_student_t975(int df)
{
    static const double table[30] = {
        12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
        2.2010,  2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
        2.0796,  2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
    };
    if (df < 1)
        return NAN;
    if (df <= 30)
        return table[df - 1];
    double z = 1.959964, n = df, z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
    return z + (z3 + z) / (4 * n) + (5 * z5 + 16 * z3 + 3 * z) / (96 * n * n) +
           (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * n * n * n);
}

void aieb_mean_ci95(const double *vals, size_t n, aieb_mean_ci *out)
{
    memset(out, 0, sizeof *out);
    out->mean = out->std = out->lo = out->hi = NAN;
    double sum = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(vals[i])) {
            sum += vals[i];
            m++;
        }
    out->n = m;
    if (m == 0)
        return;
    out->mean = sum / (double)m;
    if (m < 2)
        return;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(vals[i]))
            ss += (vals[i] - out->mean) * (vals[i] - out->mean);
    out->std = sqrt(ss / (double)(m - 1));
    double half = aieb_student_t975((int)m - 1) * out->std / sqrt((double)m);
    out->lo = out->mean - half;
    out->hi = out->mean + half;
}
