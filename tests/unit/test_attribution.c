/* test_attribution.c - energy of requests and phases through a real meter whose
 * GPU is the fake NVML library (constant or stepped power, exact integrals). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/attribution.h"
#include "aieb/clock.h"
#include "aieb/meter.h"

#define MS 1000000LL

static int have_fake(void)
{
    const char *b = getenv("AIEB_BUILD_DIR");
    if (!b)
        return 0;
    static char path[512];
    snprintf(path, sizeof path, "%s/tests/fakes/libfake_nvml.so", b);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    fclose(f);
    setenv("AIEB_NVML_LIBRARY", path, 1);
    setenv("AIEB_POWERCAP_ROOT", "/nonexistent-powercap", 1);
    setenv("FAKE_NVML_DEVICES", "1", 1);
    return 1;
}

static aieb_meter *run_meter(const char *power, int64_t *t0, int64_t *t1)
{
    setenv("FAKE_NVML_POWER", power, 1);
    aieb_meter_opts o;
    aieb_meter_opts_init(&o);
    o.sample_interval_ms = 10;
    o.no_cpu = o.no_ram = 1;
    aieb_meter *m = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_meter_open(&m, &o, &err), 0);
    assert_int_equal(aieb_meter_start(m, &err), 0);
    *t0 = aieb_now_ns();
    aieb_sleep_ns(1200 * MS, NULL);
    *t1 = aieb_now_ns();
    assert_int_equal(aieb_meter_stop(m, &err), 0);
    return m;
}

/* Sequential intervals get exactly their windows; a gap is unattributed; the
 * parts add up to the whole. Constant 100 W: energy = 100 x duration. */
static void sequential_and_gap(void **state)
{
    if (!have_fake())
        skip();
    int64_t t0, t1;
    aieb_meter *m = run_meter("const:100", &t0, &t1);
    aieb_interval iv[3] = {
        {t0, t0 + 300 * MS},
        {t0 + 300 * MS, t0 + 700 * MS},
        {t0 + 900 * MS, t0 + 1100 * MS}, /* gap of 200 ms before it */
    };
    aieb_share sh[3], un;
    aieb_err err = {0};
    assert_int_equal(aieb_attribute(m, iv, 3, sh, &un, &err), 0);
    assert_float_equal(sh[0].energy_j[AIEB_DOMAIN_GPU], 30.0, 0.6);
    assert_float_equal(sh[1].energy_j[AIEB_DOMAIN_GPU], 40.0, 0.8);
    assert_float_equal(sh[2].energy_j[AIEB_DOMAIN_GPU], 20.0, 0.4);
    assert_float_equal(un.energy_j[AIEB_DOMAIN_GPU], 20.0, 0.4);
    assert_false(sh[0].short_window);
    aieb_window w;
    assert_int_equal(aieb_meter_window(m, t0, t0 + 1100 * MS, &w, NULL, &err), 0);
    double sum = un.energy_j[AIEB_DOMAIN_GPU];
    for (int i = 0; i < 3; i++)
        sum += sh[i].energy_j[AIEB_DOMAIN_GPU];
    assert_float_equal(sum, w.energy_j[AIEB_DOMAIN_GPU], 1e-6);
    aieb_meter_close(m);
}

/* Overlapping intervals share the overlap equally: A [0, 600], B [200, 800]:
 * A = 200 ms alone + half of 400 ms = 400 ms-worth; B the same. */
static void overlap_is_shared(void **state)
{
    if (!have_fake())
        skip();
    int64_t t0, t1;
    aieb_meter *m = run_meter("const:50", &t0, &t1);
    aieb_interval iv[4] = {
        {t0, t0 + 600 * MS},
        {t0 + 200 * MS, t0 + 800 * MS},
        {0, 0},                         /* no interval: gets nothing */
        {t0 + 500 * MS, t0 + 400 * MS}, /* reversed: gets nothing */
    };
    aieb_share sh[4];
    aieb_err err = {0};
    assert_int_equal(aieb_attribute(m, iv, 4, sh, NULL, &err), 0);
    assert_float_equal(sh[0].energy_j[AIEB_DOMAIN_GPU], 20.0, 0.4);
    assert_float_equal(sh[1].energy_j[AIEB_DOMAIN_GPU], 20.0, 0.4);
    assert_float_equal(sh[2].energy_j[AIEB_DOMAIN_GPU], 0.0, 0);
    assert_float_equal(sh[3].energy_j[AIEB_DOMAIN_GPU], 0.0, 0);
    /* a 30 ms interval is shorter than the counter's 100 ms update period */
    aieb_interval tiny = {t0 + 100 * MS, t0 + 130 * MS};
    assert_int_equal(aieb_attribute(m, &tiny, 1, sh, NULL, &err), 0);
    assert_true(sh[0].short_window);
    aieb_meter_close(m);
}

/* A power step inside the run lands in the right interval. */
static void step_lands_in_its_interval(void **state)
{
    if (!have_fake())
        skip();
    char spec[64];
    /* The fake's clock starts at nvmlInit (meter open); the step at 0.6 s. */
    snprintf(spec, sizeof spec, "step:20:220:0.6");
    int64_t t0, t1;
    aieb_meter *m = run_meter(spec, &t0, &t1);
    aieb_err err = {0};
    int64_t origin = aieb_meter_start_ns(m);
    aieb_interval iv[2] = {{origin + 100 * MS, origin + 500 * MS},
                           {origin + 700 * MS, origin + 1100 * MS}};
    aieb_share sh[2];
    assert_int_equal(aieb_attribute(m, iv, 2, sh, NULL, &err), 0);
    assert_float_equal(sh[0].energy_j[AIEB_DOMAIN_GPU], 8.0, 1.5);  /* 20 W x 0.4 s */
    assert_float_equal(sh[1].energy_j[AIEB_DOMAIN_GPU], 88.0, 3.0); /* 220 W x 0.4 s */
    aieb_meter_close(m);
}

static void needs_a_stopped_meter(void **state)
{
    aieb_meter_opts o;
    aieb_meter_opts_init(&o);
    o.no_gpu = 1;
    aieb_meter *m = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_meter_open(&m, &o, &err), 0);
    aieb_interval iv = {1, 2};
    aieb_share sh;
    assert_int_equal(aieb_attribute(m, &iv, 1, &sh, NULL, &err), AIEB_EINVAL);
    aieb_meter_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sequential_and_gap),
        cmocka_unit_test(overlap_is_shared),
        cmocka_unit_test(step_lands_in_its_interval),
        cmocka_unit_test(needs_a_stopped_meter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
