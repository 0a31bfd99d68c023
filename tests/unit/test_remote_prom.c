/* test_remote_prom.c - the arithmetic of remote_prom.c on synthetic sample
 * arrays (no clock, no network): counter interpolation at window edges and its
 * bound, counter resets, the power gauge's trapezoid and its bound, windows a
 * series does not cover, dropped samples, the median interval and the clock
 * mapping. The client's queries are tested against a real Prometheus in
 * tests/integration/test_remote_prom.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/prom.h"

#define EPS 1e-9

/* Samples every second at t = 0..n-1 of a counter in mJ drawn at power_w. */
static void counter_samples(double *t, double *v, size_t n, double power_w, double start_mj)
{
    for (size_t i = 0; i < n; i++) {
        t[i] = (double)i;
        v[i] = start_mj + power_w * (double)i * 1e3;
    }
}

static void counter_interpolates_edges(void **state)
{
    (void)state;
    double t[11], v[11];
    counter_samples(t, v, 11, 200, 5e6);
    aieb_prom_series s;
    assert_int_equal(aieb_prom_series_build(t, v, 11, AIEB_PROM_COUNTER, 1e-3, &s), 0);
    assert_int_equal(s.n, 11);
    assert_int_equal(s.resets, 0);
    double e, b;
    int covered;
    assert_int_equal(aieb_prom_series_window(&s, 2.3, 7.8, &e, &b, &covered), 0);
    assert_true(covered);
    assert_true(fabs(e - 200 * 5.5) < 1e-6); /* constant power: exact */
    /* the true E(2.3) lies anywhere in [E(2), E(3)]: at most 140 J from 460 J; at
     * 7.8 at most 160 J from 1560 J */
    assert_true(fabs(b - (140 + 160)) < 1e-6);
    /* a window on sample times has no edge error */
    assert_int_equal(aieb_prom_series_window(&s, 3, 9, &e, &b, &covered), 0);
    assert_true(fabs(e - 1200) < 1e-6);
    assert_true(fabs(b) < EPS);
    /* E(t) itself, and its bound at a midpoint */
    assert_int_equal(aieb_prom_series_at(&s, 4.5, &e, &b), 0);
    assert_true(fabs(e - 900) < 1e-6);
    assert_true(fabs(b - 100) < 1e-6);
    aieb_prom_series_free(&s);
}

static void counter_reset_counts_from_zero(void **state)
{
    (void)state;
    /* 100 W; the counter restarts from 0 at t = 4.5 (a driver reload) */
    double t[11], v[11];
    for (int i = 0; i < 11; i++) {
        t[i] = i;
        v[i] = i < 5 ? 2e6 + 100.0 * i * 1e3 : 100.0 * (i - 4.5) * 1e3;
    }
    aieb_prom_series s;
    assert_int_equal(aieb_prom_series_build(t, v, 11, AIEB_PROM_COUNTER, 1e-3, &s), 0);
    assert_int_equal(s.resets, 1);
    assert_true(fabs(s.reset_t_s[0] - 5) < EPS);
    double e, b;
    int covered;
    aieb_prom_series_window(&s, 0, 10, &e, &b, &covered);
    /* 400 J before t = 4, 50 J since the reset at t = 5, 500 J after: the 50 J
     * between t = 4 and the reset are missed, never a negative jump */
    assert_true(fabs(e - 950) < 1e-6);
    /* windows after the reset are exact again */
    aieb_prom_series_window(&s, 5, 10, &e, &b, &covered);
    assert_true(fabs(e - 500) < 1e-6);
    /* two resets in a row (0 twice) are two resets, each counted from 0 */
    double t2[4] = {0, 1, 2, 3}, v2[4] = {5000, 1000, 500, 1500};
    aieb_prom_series_free(&s);
    assert_int_equal(aieb_prom_series_build(t2, v2, 4, AIEB_PROM_COUNTER, 1.0, &s), 0);
    assert_int_equal(s.resets, 2);
    aieb_prom_series_window(&s, 0, 3, &e, &b, &covered);
    assert_true(fabs(e - (1000 + 500 + 1000)) < EPS);
    aieb_prom_series_free(&s);
}

static void power_gauge_trapezoid_and_bound(void **state)
{
    (void)state;
    /* 100 W until somewhere in (4, 5), 300 W after */
    double t[11], v[11];
    for (int i = 0; i < 11; i++) {
        t[i] = i;
        v[i] = i <= 4 ? 100 : 300;
    }
    aieb_prom_series s;
    assert_int_equal(aieb_prom_series_build(t, v, 11, AIEB_PROM_POWER, 1.0, &s), 0);
    double e, b;
    int covered;
    aieb_prom_series_window(&s, 0, 10, &e, &b, &covered);
    assert_true(fabs(e - 2100) < 1e-9); /* 400 + (100 + 300) / 2 + 1500 */
    assert_true(fabs(b - 100) < 1e-9);  /* the step's interval: 200 W x 1 s / 2 */
    /* the truth, 2000..2200 J wherever the step was, is within the bound */
    assert_true(fabs(2000 - e) <= b + EPS && fabs(2200 - e) <= b + EPS);
    /* constant stretches: exact, no trapezoid bound */
    aieb_prom_series_window(&s, 5, 9, &e, &b, &covered);
    assert_true(fabs(e - 1200) < 1e-9);
    assert_true(fabs(b) < 1e-9);
    /* half of the step's interval: half its trapezoid bound, plus the edge's */
    aieb_prom_series_window(&s, 4.5, 5, &e, &b, &covered);
    assert_true(fabs(e - 100) < 1e-9);
    assert_true(b >= 50 - 1e-9);
    aieb_prom_series_free(&s);
}

static void windows_outside_the_samples(void **state)
{
    (void)state;
    double t[5], v[5];
    counter_samples(t, v, 5, 100, 0);
    for (int i = 0; i < 5; i++)
        t[i] += 10; /* samples at 10..14 */
    aieb_prom_series s;
    aieb_prom_series_build(t, v, 5, AIEB_PROM_COUNTER, 1e-3, &s);
    double e, b;
    int covered = 1;
    /* a series that started mid-window: only the covered part, flagged */
    aieb_prom_series_window(&s, 8, 12, &e, &b, &covered);
    assert_false(covered);
    assert_true(fabs(e - 200) < 1e-6);
    /* one that stopped: the same */
    aieb_prom_series_window(&s, 12, 20, &e, &b, &covered);
    assert_false(covered);
    assert_true(fabs(e - 200) < 1e-6);
    assert_int_equal(aieb_prom_series_at(&s, 9, &e, &b), 1);
    assert_int_equal(aieb_prom_series_at(&s, 15, &e, &b), 1);
    assert_int_equal(aieb_prom_series_at(&s, 14, &e, &b), 0);
    aieb_prom_series_free(&s);
    /* empty: an error, no figure */
    aieb_prom_series_build(t, v, 0, AIEB_PROM_COUNTER, 1e-3, &s);
    assert_int_equal(aieb_prom_series_window(&s, 0, 1, &e, &b, &covered), AIEB_EINVAL);
    assert_int_equal(aieb_prom_series_at(&s, 0, &e, &b), 1);
    aieb_prom_series_free(&s);
}

static void bad_samples_are_dropped(void **state)
{
    (void)state;
    double t[6] = {0, 1, 1, 0.5, 2, 3};
    double v[6] = {0, 1000, 9999, 9999, NAN, 3000};
    aieb_prom_series s;
    assert_int_equal(aieb_prom_series_build(t, v, 6, AIEB_PROM_COUNTER, 1e-3, &s), 0);
    assert_int_equal(s.n, 3); /* 0, 1, 3: a repeated time, one going back, NaN dropped */
    assert_int_equal(s.resets, 0);
    assert_true(fabs(s.cum_j[2] - 3) < EPS);
    aieb_prom_series_free(&s);
}

static void median_interval(void **state)
{
    (void)state;
    double t[5] = {0, 1, 2, 4, 5}, v[5] = {0, 1, 2, 3, 4};
    aieb_prom_series s;
    aieb_prom_series_build(t, v, 5, AIEB_PROM_COUNTER, 1, &s);
    assert_true(fabs(aieb_prom_series_interval(&s) - 1) < EPS); /* gaps 1, 1, 2, 1 */
    aieb_prom_series_free(&s);
    aieb_prom_series_build(t, v, 1, AIEB_PROM_COUNTER, 1, &s);
    assert_true(isnan(aieb_prom_series_interval(&s)));
    aieb_prom_series_free(&s);
    double t2[3] = {0, 15, 45};
    aieb_prom_series_build(t2, v, 3, AIEB_PROM_COUNTER, 1, &s);
    assert_true(fabs(aieb_prom_series_interval(&s) - 22.5) < EPS);
    aieb_prom_series_free(&s);
}

static void clock_mapping(void **state)
{
    (void)state;
    /* wall = 1.7e9 s at monotonic 100 s; the wall clock ran 1e-4 fast (slewed) */
    aieb_prom_clock c = {.mono0_ns = 100000000000LL,
                         .wall0_ns = 1700000000000000000LL,
                         .mono1_ns = 110000000000LL,
                         .wall1_ns = 1700000000000000000LL + 10001000000LL};
    assert_true(fabs(aieb_prom_clock_wall_s(&c, c.mono0_ns) - 1.7e9) < 1e-6);
    assert_true(fabs(aieb_prom_clock_wall_s(&c, c.mono1_ns) - (1.7e9 + 10.001)) < 1e-6);
    assert_true(fabs(aieb_prom_clock_wall_s(&c, 105000000000LL) - (1.7e9 + 5.0005)) < 1e-6);
    /* only a start pair: rate 1 */
    aieb_prom_clock d = {.mono0_ns = 5000000000LL, .wall0_ns = 1700000000000000000LL};
    assert_true(fabs(aieb_prom_clock_wall_s(&d, 7000000000LL) - (1.7e9 + 2)) < 1e-6);
    int64_t m, w;
    aieb_prom_clock_pair(&m, &w);
    assert_true(m > 0 && w > 1600000000000000000LL);
}

static void options_from_a_config_entry(void **state)
{
    (void)state;
    json_t *e = json_pack("{s:s, s:s}", "type", "prometheus", "url", "http://p:9090");
    aieb_prom_opts o;
    aieb_err err = {0};
    assert_int_equal(aieb_prom_opts_from_json(e, &o, &err), 0);
    assert_string_equal(o.gpu_energy_metric, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION");
    assert_string_equal(o.gpu_power_metric, "DCGM_FI_DEV_POWER_USAGE");
    assert_null(o.cpu_energy_metric);
    assert_null(o.selector);
    /* a credential variable named but unset is an error naming it */
    unsetenv("AIEB_TEST_NO_SUCH_TOKEN");
    json_object_set_new(e, "bearer_token_env", json_string("AIEB_TEST_NO_SUCH_TOKEN"));
    assert_int_equal(aieb_prom_opts_from_json(e, &o, &err), AIEB_EENV);
    assert_non_null(strstr(err.msg, "AIEB_TEST_NO_SUCH_TOKEN"));
    setenv("AIEB_TEST_NO_SUCH_TOKEN", "tok", 1);
    assert_int_equal(aieb_prom_opts_from_json(e, &o, &err), 0);
    assert_string_equal(o.bearer_token, "tok");
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counter_interpolates_edges),
        cmocka_unit_test(counter_reset_counts_from_zero),
        cmocka_unit_test(power_gauge_trapezoid_and_bound),
        cmocka_unit_test(windows_outside_the_samples),
        cmocka_unit_test(bad_samples_are_dropped),
        cmocka_unit_test(median_interval),
        cmocka_unit_test(clock_mapping),
        cmocka_unit_test(options_from_a_config_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
