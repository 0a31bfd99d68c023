/* test_workload.c - PRNG determinism, gamma moments, arrival schedules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "aieb/workload.h"

static void rng_is_deterministic(void **state)
{
    aieb_rng a, b;
    aieb_rng_seed(&a, 42);
    aieb_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++)
        assert_true(aieb_rng_next(&a) == aieb_rng_next(&b));
    aieb_rng_seed(&b, 43);
    assert_false(aieb_rng_next(&a) == aieb_rng_next(&b));
}

/* Gamma(k, s) has mean k*s and variance k*s^2; check both for k < 1, = 1, > 1. */
static void gamma_moments(void **state)
{
    const double shapes[] = {0.5, 1.0, 4.0};
    aieb_rng rng;
    aieb_rng_seed(&rng, 7);
    for (size_t s = 0; s < 3; s++) {
        double k = shapes[s], scale = 0.25, sum = 0, sum2 = 0;
        const int n = 200000;
        for (int i = 0; i < n; i++) {
            double x = aieb_rng_gamma(&rng, k, scale);
            assert_true(x >= 0);
            sum += x;
            sum2 += x * x;
        }
        double mean = sum / n, var = sum2 / n - mean * mean;
        assert_float_equal(mean, k * scale, 0.02 * k * scale);
        assert_float_equal(var, k * scale * scale, 0.05 * k * scale * scale);
    }
}

static void arrivals_unlimited_are_zero(void **state)
{
    int64_t t[5] = {1, 2, 3, 4, 5};
    aieb_workload_arrivals(t, 5, 0, 1, 1);
    for (int i = 0; i < 5; i++)
        assert_int_equal(t[i], 0);
    aieb_workload_arrivals(t, 5, INFINITY, 1, 1);
    assert_int_equal(t[4], 0);
}

static void arrivals_follow_rate(void **state)
{
    const size_t n = 20001;
    int64_t *t = malloc(n * sizeof *t);
    const double bursts[] = {1.0, 0.5, 3.0};
    for (size_t b = 0; b < 3; b++) {
        aieb_workload_arrivals(t, n, 10.0, bursts[b], 123);
        assert_int_equal(t[0], 0);
        for (size_t i = 1; i < n; i++)
            assert_true(t[i] >= t[i - 1]);
        /* 20000 gaps at 10/s: about 2000 s whatever the burstiness */
        double total_s = (double)t[n - 1] / 1e9;
        assert_float_equal(total_s, 2000.0, 60.0);
    }
    /* same seed, same schedule; burstiness <= 0 behaves as 1 */
    int64_t *u = malloc(n * sizeof *u);
    aieb_workload_arrivals(t, 100, 5.0, 1.0, 9);
    aieb_workload_arrivals(u, 100, 5.0, 0.0, 9);
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(t[i], u[i]);
    free(t);
    free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rng_is_deterministic),
        cmocka_unit_test(gamma_moments),
        cmocka_unit_test(arrivals_unlimited_are_zero),
        cmocka_unit_test(arrivals_follow_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
