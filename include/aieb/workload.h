/* workload.h - when each request is sent: arrival times for a target request
 * rate, with gamma-distributed gaps (shape = burstiness; 1 = Poisson), as vLLM's
 * `bench serve` draws them. Deterministic for a given seed.
 */
#ifndef AIEB_WORKLOAD_H
#define AIEB_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A small seeded PRNG (xoshiro256**, seeded through splitmix64). */
typedef struct aieb_rng {
    uint64_t s[4];
} aieb_rng;

/* Seeds rng; any seed (0 included) gives a valid state. Can't fail. */
AIEB_API void aieb_rng_seed(aieb_rng *rng, uint64_t seed);
/* Next 64 random bits. */
AIEB_API uint64_t aieb_rng_next(aieb_rng *rng);
/* Uniform double in [0, 1). */
AIEB_API double aieb_rng_uniform(aieb_rng *rng);
/* Standard normal (Box-Muller). */
AIEB_API double aieb_rng_normal(aieb_rng *rng);
/* Gamma(shape, scale) by Marsaglia and Tsang (2000); shape > 0, scale > 0. */
AIEB_API double aieb_rng_gamma(aieb_rng *rng, double shape, double scale);

/* Fills offsets_ns[0..n) with each request's send time relative to the start of
 * the workload. request_rate <= 0 (or infinite) means "as fast as concurrency
 * allows": every offset is 0. Otherwise offset[0] = 0 and each gap is drawn from
 * Gamma(shape = burstiness, scale = 1 / (request_rate x burstiness)), so the
 * mean rate is request_rate whatever the burstiness. burstiness <= 0 is taken
 * as 1. Can't fail. */
AIEB_API void aieb_workload_arrivals(int64_t *offsets_ns, size_t n, double request_rate,
                                     double burstiness, uint64_t seed);

#ifdef __cplusplus
}
#endif
#endif
