/* test_sampler.c - greedy, temperature, top-k, top-p and seeds on known logits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "engine/sampler.h"

#define N 8
/* softmax at temperature 1: token 3 0.495, 1 0.182, 5 0.182, 0 0.067, ... */
static const float logits[N] = {0.0f, 1.0f, -1.0f, 2.0f, -2.0f, 1.0f, -INFINITY, -0.5f};

static aieb_sample_params params(float temp, int k, float p, uint64_t seed)
{
    aieb_sample_params s;
    aieb_sample_params_init(&s);
    s.temperature = temp;
    s.top_k = k;
    s.top_p = p;
    s.seed = seed;
    return s;
}

static const int32_t ban3[] = {3}, ban31[] = {3, 1};

static void greedy(void **state)
{
    sampler s;
    aieb_err err = {0};
    assert_int_equal(sampler_init(&s, N, &err), 0);
    aieb_sample_params p = params(0, 0, 0, 0);
    assert_int_equal(sampler_sample(&s, logits, &p, NULL, 0), 3);
    assert_int_equal(sampler_sample(&s, logits, &p, ban3, 1), 1);  /* tie 1 vs 5: lower id */
    assert_int_equal(sampler_sample(&s, logits, &p, ban31, 2), 5); /* every banned id skipped */
    /* top_k 1 at any temperature is greedy */
    p = params(2.0f, 1, 0, 9);
    for (int i = 0; i < 50; i++)
        assert_int_equal(sampler_sample(&s, logits, &p, NULL, 0), 3);
    assert_int_equal(sampler_sample(&s, logits, &p, ban3, 1), 1);
    sampler_free(&s);
}

static void counts(sampler *s, const aieb_sample_params *p, int32_t banned, int n, int *c)
{
    memset(c, 0, N * sizeof *c);
    sampler_seed(s, p->seed);
    for (int i = 0; i < n; i++) {
        int32_t t = sampler_sample(s, logits, p, &banned, banned >= 0);
        assert_true(t >= 0 && t < N);
        c[t]++;
    }
}

static void temperature_follows_softmax(void **state)
{
    sampler s;
    aieb_err err = {0};
    assert_int_equal(sampler_init(&s, N, &err), 0);
    int c[N], n = 40000;
    float temps[] = {1.0f, 0.5f, 3.0f};
    for (int k = 0; k < 3; k++) {
        aieb_sample_params p = params(temps[k], 0, 0, 42);
        counts(&s, &p, -1, n, c);
        double z = 0, prob[N];
        for (int i = 0; i < N; i++)
            z += exp(logits[i] / temps[k]);
        for (int i = 0; i < N; i++) {
            prob[i] = exp(logits[i] / temps[k]) / z;
            double sd = sqrt(n * prob[i] * (1 - prob[i]));
            /* within 5 standard deviations (and -inf is never drawn) */
            if (fabs(c[i] - n * prob[i]) > 5 * sd + 1)
                fail_msg("T=%g token %d: %d draws, expected %.0f", temps[k], i, c[i], n * prob[i]);
        }
    }
    /* a banned token is never drawn */
    aieb_sample_params p = params(1.0f, 0, 0, 1);
    counts(&s, &p, 3, n, c);
    assert_int_equal(c[3], 0);
    sampler_free(&s);
}

static void top_k_and_top_p(void **state)
{
    sampler s;
    aieb_err err = {0};
    assert_int_equal(sampler_init(&s, N, &err), 0);
    int c[N], n = 20000;
    /* top-k 3: only 3, 1, 5 (1 and 5 tie; both kept, the lower id first) */
    aieb_sample_params p = params(1.0f, 3, 0, 5);
    counts(&s, &p, -1, n, c);
    assert_int_equal(c[0] + c[2] + c[4] + c[6] + c[7], 0);
    assert_true(c[3] > c[1] && c[1] > 0 && c[5] > 0);
    /* top-p 0.5: 3 alone holds 0.495 < 0.5, so 3 and the next (1) */
    p = params(1.0f, 0, 0.5f, 5);
    counts(&s, &p, -1, n, c);
    assert_int_equal(c[0] + c[2] + c[4] + c[5] + c[6] + c[7], 0);
    assert_true(c[3] > 0 && c[1] > 0);
    /* renormalised inside the nucleus: 0.495 / (0.495 + 0.182) = 0.731 */
    assert_true(fabs((double)c[3] / n - 0.731) < 0.02);
    /* top-p 0.4: the first token alone */
    p = params(1.0f, 0, 0.4f, 5);
    counts(&s, &p, -1, n, c);
    assert_int_equal(c[3], n);
    /* top-k 4 then top-p 0.8 of those */
    p = params(1.0f, 4, 0.8f, 5);
    counts(&s, &p, -1, n, c);
    assert_int_equal(c[2] + c[4] + c[6] + c[7], 0);
    sampler_free(&s);
}

static void seeds_repeat(void **state)
{
    sampler s;
    aieb_err err = {0};
    assert_int_equal(sampler_init(&s, N, &err), 0);
    int32_t a[64], b[64], d[64];
    aieb_sample_params p = params(1.0f, 0, 0.9f, 1234);
    sampler_seed(&s, 1234);
    for (int i = 0; i < 64; i++)
        a[i] = sampler_sample(&s, logits, &p, NULL, 0);
    sampler_seed(&s, 1234);
    for (int i = 0; i < 64; i++)
        b[i] = sampler_sample(&s, logits, &p, NULL, 0);
    sampler_seed(&s, 1235);
    for (int i = 0; i < 64; i++)
        d[i] = sampler_sample(&s, logits, &p, NULL, 0);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, d, sizeof a);
    for (int i = 0; i < 1000; i++) {
        double u = sampler_uniform(&s);
        assert_true(u >= 0 && u < 1);
    }
    sampler_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(greedy),
        cmocka_unit_test(temperature_follows_softmax),
        cmocka_unit_test(top_k_and_top_p),
        cmocka_unit_test(seeds_repeat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
