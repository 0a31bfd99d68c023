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
#include "meter/source.h"

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

static aieb_meter *run_meter_for(const char *power, int64_t ms, int64_t *t0, int64_t *t1)
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
    aieb_sleep_ns(ms * MS, NULL);
    *t1 = aieb_now_ns();
    assert_int_equal(aieb_meter_stop(m, &err), 0);
    return m;
}

static aieb_meter *run_meter(const char *power, int64_t *t0, int64_t *t1)
{
    return run_meter_for(power, 1200, t0, t1);
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
    /* The fake's clock starts now (before the meter opens), the step 1 s later:
     * the intervals are placed around the step itself, not the meter's start,
     * which a busy machine may delay; the run goes on 1.7 s after its start. */
    /* A meter that a busy machine started more than 0.5 s late cannot see the
     * first interval: that run is tried again with a new origin, up to 10 times. */
    aieb_meter *m = NULL;
    aieb_interval iv[2];
    int64_t origin = 0;
    for (int attempt = 0; attempt < 10; attempt++) {
        char t_origin[32];
        origin = aieb_now_ns();
        int64_t step = origin + 1000 * MS, t0, t1;
        snprintf(t_origin, sizeof t_origin, "%lld", (long long)origin);
        setenv("FAKE_NVML_T0_NS", t_origin, 1);
        if (m)
            aieb_meter_close(m);
        m = run_meter_for("step:20:220:1.0", 1700, &t0, &t1);
        unsetenv("FAKE_NVML_T0_NS");
        iv[0] = (aieb_interval){step - 500 * MS, step - 100 * MS};
        iv[1] = (aieb_interval){step + 100 * MS, step + 500 * MS};
        if (aieb_meter_start_ns(m) <= iv[0].t0_ns)
            break;
    }
    aieb_err err = {0};
    if (aieb_meter_start_ns(m) > iv[0].t0_ns)
        fail_msg("the meter started %.3f s after the fake's origin 10 times (needs <= 0.5 s)",
                 (double)(aieb_meter_start_ns(m) - origin) / 1e9);
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

/* ==== Uncertainty, on a manual clock ====================================== */

/* A power-only GPU: 100 W before 1 s, 300 W from then on, read at 0, 0.5, 1.5,
 * 2 and 2.5 s, so the step hides in [0.5, 1.5] (bound 200 W x 0.5 s = 100 J). */
static int step_read(aieb_source *s, int64_t t, aieb_channel_reading *out, aieb_err *err)
{
    aieb_reading_clear(out);
    out->power_w = t < 1000 * MS ? 100 : 300;
    return 0;
}

static void step_close(aieb_source *s)
{
    free(s);
}

static aieb_meter *manual_step_meter(void)
{
    static aieb_channel_info ch = {.domain = AIEB_DOMAIN_GPU,
                                   .label = "gpu0",
                                   .method = "nvml_power",
                                   .has_power = 1,
                                   .gpu_index = 0};
    aieb_source *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->name = "step";
    s->n_channels = 1;
    s->channels = &ch;
    s->read = step_read;
    s->close = step_close;
    aieb_meter *m = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_meter_open_with(&m, NULL, &s, 1, &err), 0);
    assert_int_equal(aieb_meter_start_at(m, 1, &err), 0);
    assert_int_equal(aieb_meter_tick_at(m, 500 * MS, &err), 0);
    assert_int_equal(aieb_meter_tick_at(m, 1500 * MS, &err), 0);
    assert_int_equal(aieb_meter_tick_at(m, 2000 * MS, &err), 0);
    assert_int_equal(aieb_meter_stop_at(m, 2500 * MS, &err), 0);
    assert_int_equal(aieb_meter_finish(m, &err), 0);
    return m;
}

/* Sampled parts add in proportion to each share and to how much of a
 * sampling interval a piece covers; the true energy lies within the bound. */
static void uncertainty_of_shares(void **state)
{
    (void)state;
    aieb_meter *m = manual_step_meter();
    aieb_err err = {0};
    aieb_window w;
    assert_int_equal(aieb_meter_window(m, 1, 2500 * MS, &w, NULL, &err), 0);
    assert_float_equal(w.uncertainty_j[AIEB_DOMAIN_GPU], 100, 1e-6);
    assert_float_equal(w.total_uncertainty_j, 100, 1e-6);

    /* A overlaps the step's interval by 0.3 s; B sees only flat power */
    aieb_interval iv[2] = {{200 * MS, 800 * MS}, {1600 * MS, 2400 * MS}};
    aieb_share sh[2], un;
    assert_int_equal(aieb_attribute(m, iv, 2, sh, &un, &err), 0);
    assert_float_equal(sh[0].uncertainty_j[AIEB_DOMAIN_GPU], 60, 1e-6);
    assert_float_equal(sh[1].uncertainty_j[AIEB_DOMAIN_GPU], 0, 1e-6);
    /* the truth (100 W x 0.6 s) within A's bound */
    assert_true(fabs(sh[0].energy_j[AIEB_DOMAIN_GPU] - 60) <= 60);
    assert_true(isnan(sh[0].net_uncertainty_j[AIEB_DOMAIN_GPU])); /* no baseline */

    /* C [0.6, 1.0] and D [0.7, 1.2] share [0.7, 1.0]: C 20 + 60 / 2, D 60 / 2 + 40 */
    aieb_interval cd[2] = {{600 * MS, 1000 * MS}, {700 * MS, 1200 * MS}};
    assert_int_equal(aieb_attribute(m, cd, 2, sh, NULL, &err), 0);
    assert_float_equal(sh[0].uncertainty_j[AIEB_DOMAIN_GPU], 50, 1e-6);
    assert_float_equal(sh[1].uncertainty_j[AIEB_DOMAIN_GPU], 70, 1e-6);

    /* with a baseline over [2, 2.5] (flat: bound 0) net keeps the same bound */
    assert_int_equal(aieb_meter_set_baseline(m, 2000 * MS, 2500 * MS, &err), 0);
    assert_int_equal(aieb_attribute(m, iv, 2, sh, NULL, &err), 0);
    assert_float_equal(sh[0].net_uncertainty_j[AIEB_DOMAIN_GPU], 60, 1e-6);
    /* a baseline over the step: its bound, per second, grows with duration */
    assert_int_equal(aieb_meter_set_baseline(m, 500 * MS, 1500 * MS, &err), 0);
    assert_int_equal(aieb_attribute(m, iv, 2, sh, NULL, &err), 0);
    assert_float_equal(sh[1].net_uncertainty_j[AIEB_DOMAIN_GPU], 100 * 0.8, 1e-6);
    aieb_meter_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sequential_and_gap),         cmocka_unit_test(overlap_is_shared),
        cmocka_unit_test(step_lands_in_its_interval), cmocka_unit_test(needs_a_stopped_meter),
        cmocka_unit_test(uncertainty_of_shares),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
