/* attribution.h - energy of requests and phases from the meter's timeline.
 *
 * The backend stamped each request's times; the meter recorded the timeline;
 * here the two meet (docs/design.md). Time is cut at every interval boundary; the
 * energy of each piece (aieb_meter_window, counter-calibrated) is split equally
 * among the intervals active in it. Sequential requests thus get exactly their
 * window's energy; overlapping ones share the overlap; pieces where no interval
 * is active are reported as unattributed.
 */
#ifndef AIEB_ATTRIBUTION_H
#define AIEB_ATTRIBUTION_H

#include <stddef.h>
#include <stdint.h>

#include "aieb/meter.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aieb_interval {
    int64_t t0_ns, t1_ns; /* t1 < t0, or a zero time, means "no interval" (gets nothing) */
} aieb_interval;

typedef struct aieb_share {
    double energy_j[AIEB_N_DOMAINS];     /* gross, per domain */
    double net_energy_j[AIEB_N_DOMAINS]; /* NAN without an idle baseline */
    /* Bounds on their errors (aieb_window): the span parts of the pieces in
     * proportion to the share, and at each cut the point bound times how much
     * the share changed there (a request alone in [a, b] gets exactly its
     * window's bound). */
    double uncertainty_j[AIEB_N_DOMAINS];
    double net_uncertainty_j[AIEB_N_DOMAINS]; /* NAN without an idle baseline */
    int short_window;                         /* shorter than the slowest counter's update period */
} aieb_share;

/* Attributes energy to iv[0..n) over the meter's (stopped) timeline, writing
 * out[0..n). Intervals are clipped to the run. *unattributed (may be NULL) gets
 * the energy of [lo, hi] (the span the intervals cover) that no interval
 * claimed. Fails with AIEB_EINVAL when the meter is running, AIEB_ENOMEM. */
AIEB_API int aieb_attribute(const aieb_meter *m, const aieb_interval *iv, size_t n, aieb_share *out,
                            aieb_share *unattributed, aieb_err *err);

#ifdef __cplusplus
}
#endif
#endif
