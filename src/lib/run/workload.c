/* workload.c - seeded PRNG and request arrival times. */
#include <math.h>

#include "aieb/clock.h"
#include "aieb/workload.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void aieb_rng_seed(aieb_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&seed);
}

uint64_t aieb_rng_next(aieb_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double aieb_rng_uniform(aieb_rng *rng)
{
    return (double)(aieb_rng_next(rng) >> 11) * 0x1.0p-53;
}

double aieb_rng_normal(aieb_rng *rng)
{
    double u1 = aieb_rng_uniform(rng), u2 = aieb_rng_uniform(rng);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double aieb_rng_gamma(aieb_rng *rng, double shape, double scale)
{
    if (shape < 1.0) {
        /* Boost: Gamma(a) = Gamma(a + 1) * U^(1/a). */
        double u = aieb_rng_uniform(rng);
        if (u < 1e-300)
            u = 1e-300;
        return aieb_rng_gamma(rng, shape + 1.0, scale) * pow(u, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = aieb_rng_normal(rng), v = 1.0 + c * x;
        if (v <= 0)
            continue;
        v = v * v * v;
        double u = aieb_rng_uniform(rng);
        if (u < 1.0 - 0.0331 * x * x * x * x)
            return d * v * scale;
        if (u > 0 && log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
            return d * v * scale;
    }
}

void aieb_workload_arrivals(int64_t *offsets_ns, size_t n, double request_rate, double burstiness,
                            uint64_t seed)
{
    if (n == 0)
        return;
    if (!(request_rate > 0) || isinf(request_rate)) {
        for (size_t i = 0; i < n; i++)
            offsets_ns[i] = 0;
        return;
    }
    if (!(burstiness > 0))
        burstiness = 1.0;
    aieb_rng rng;
    aieb_rng_seed(&rng, seed);
    double theta = 1.0 / (request_rate * burstiness);
    double t = 0;
    offsets_ns[0] = 0;
    for (size_t i = 1; i < n; i++) {
        t += aieb_rng_gamma(&rng, burstiness, theta);
        offsets_ns[i] = (int64_t)(t * 1e9);
    }
}
