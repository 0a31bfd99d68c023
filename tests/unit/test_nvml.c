/* test_nvml.c - the NVML source against the fake NVML library
 * (tests/fakes/libfake_nvml.c): loading, required and optional symbols, device
 * selection by gpu ids and CUDA_VISIBLE_DEVICES, readings, and a meter run
 * whose GPU energy is compared with the exact integral of the fake's power. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aieb/clock.h"
#include "aieb/meter.h"
#include "meter/source.h"

static char fake[1024], fake_min[1024];

static void clear_env(void)
{
    static const char *const vars[] = {
        "FAKE_NVML_DEVICES",     "FAKE_NVML_POWER",      "FAKE_NVML_T0_NS",
        "FAKE_NVML_NO_COUNTER",  "FAKE_NVML_NO_INSTANT", "FAKE_NVML_INIT_FAIL",
        "FAKE_NVML_MEM_USED_MB", "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER",
        "AIEB_NVML_LIBRARY",
    };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
}

static int setup(void **state)
{
    clear_env();
    setenv("FAKE_NVML_DEVICES", "3", 1);
    return 0;
}

static aieb_source *open_ok(const char *lib, const char *ids)
{
    aieb_source *s = NULL;
    aieb_err err = {0};
    int rc = aieb_nvml_source_open(&s, lib, ids, &err);
    if (rc)
        fail_msg("open failed: %s", err.msg);
    return s;
}

static int open_fails(const char *lib, const char *ids, const char *needle)
{
    aieb_source *s = NULL;
    aieb_err err = {0};
    int rc = aieb_nvml_source_open(&s, lib, ids, &err);
    assert_null(s);
    if (needle && !strstr(err.msg, needle))
        fail_msg("'%s' not in '%s'", needle, err.msg);
    return rc;
}

/* The labels of s's channels joined by commas. */
static const char *labels(const aieb_source *s)
{
    static char buf[256];
    buf[0] = '\0';
    for (int i = 0; i < s->n_channels; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? "," : "",
                 s->channels[i].label);
    return buf;
}

/* ==== Loading ============================================================== */

static void missing_library_is_env_error(void **state)
{
    assert_int_equal(open_fails("/nonexistent/libnvidia-ml.so.1", NULL, "/nonexistent/libnvidia"),
                     AIEB_EENV);
    setenv("AIEB_NVML_LIBRARY", "/nonexistent/by-env.so", 1);
    assert_int_equal(open_fails(NULL, NULL, "by-env.so"), AIEB_EENV);
    unsetenv("AIEB_NVML_LIBRARY");
    /* a library without NVML's required symbols (libm has none) */
    assert_int_equal(open_fails("libm.so.6", NULL, "lacks nvmlInit_v2"), AIEB_EENV);
}

static void init_failure_is_env_error(void **state)
{
    setenv("FAKE_NVML_INIT_FAIL", "1", 1);
    assert_int_equal(open_fails(fake, NULL, "Driver Not Loaded"), AIEB_EENV);
    setenv("FAKE_NVML_INIT_FAIL", "", 1);
    unsetenv("FAKE_NVML_INIT_FAIL");
    setenv("FAKE_NVML_DEVICES", "0", 1);
    assert_int_equal(open_fails(fake, NULL, "no NVIDIA GPU"), AIEB_ENOTFOUND);
}

static void channels_describe_the_gpus(void **state)
{
    setenv("AIEB_NVML_LIBRARY", fake, 1);
    aieb_source *s = open_ok(NULL, NULL);
    assert_string_equal(labels(s), "gpu0,gpu1,gpu2");
    const aieb_channel_info *c = &s->channels[1];
    assert_int_equal(c->domain, AIEB_DOMAIN_GPU);
    assert_string_equal(c->method, "nvml_counter");
    assert_true(c->has_counter);
    assert_true(c->has_power);
    assert_int_equal(c->counter_period_ns, 100 * AIEB_NS_PER_MS);
    assert_int_equal(c->gpu_index, 1);
    assert_string_equal(c->name, "Fake NVIDIA H100 80GB HBM3");
    assert_string_equal(c->uuid, "GPU-fa4e0000-0000-4000-8000-000000000001");
    assert_float_equal(c->mem_total_mb, 81559, 1e-6);
    assert_float_equal(c->power_limit_w, 700, 0);
    assert_false(c->informational);
    json_t *d = s->describe(s);
    json_t *dev = json_array_get(json_object_get(d, "devices"), 2);
    assert_true(json_is_true(json_object_get(dev, "energy_counter")));
    assert_true(json_is_true(json_object_get(dev, "instant_power")));
    assert_string_equal(json_string_value(json_object_get(dev, "architecture")), "Hopper");
    assert_string_equal(json_string_value(json_object_get(d, "selection")), "all");
    assert_string_equal(json_string_value(json_object_get(d, "library")), fake);
    json_decref(d);
    s->close(s);
}

/* ==== Selection ============================================================ */

static void gpu_ids_select(void **state)
{
    aieb_source *s = open_ok(fake, "2, 0");
    assert_string_equal(labels(s), "gpu2,gpu0");
    json_t *d = s->describe(s);
    json_t *devs = json_object_get(d, "devices");
    assert_false(json_is_true(json_object_get(json_array_get(devs, 1), "selected")));
    assert_true(json_is_true(json_object_get(json_array_get(devs, 2), "selected")));
    json_decref(d);
    s->close(s);
    s = open_ok(fake, "GPU-fa4e0000-0000-4000-8000-000000000001");
    assert_string_equal(labels(s), "gpu1");
    s->close(s);
    s = open_ok(fake, "fa4e0000-0000-4000-8000-000000000002"); /* "GPU-" optional */
    assert_string_equal(labels(s), "gpu2");
    s->close(s);
    /* CUDA_VISIBLE_DEVICES does not apply when ids are given */
    setenv("CUDA_VISIBLE_DEVICES", "1", 1);
    s = open_ok(fake, "0");
    assert_string_equal(labels(s), "gpu0");
    s->close(s);
}

static void bad_gpu_ids(void **state)
{
    assert_int_equal(open_fails(fake, "7", "no GPU 7"), AIEB_EINVAL);
    assert_int_equal(open_fails(fake, "GPU-fa4e", "several"), AIEB_EINVAL);
    assert_int_equal(open_fails(fake, "0,0", "twice"), AIEB_EINVAL);
    assert_int_equal(open_fails(fake, "0,,1", "empty"), AIEB_EINVAL);
    assert_int_equal(open_fails(fake, "MIG-1234", "MIG"), AIEB_EINVAL);
    assert_int_equal(open_fails(fake, "GPU-dead", "neither"), AIEB_EINVAL);
}

static void cuda_visible_devices_maps_through_uuids(void **state)
{
    setenv("CUDA_VISIBLE_DEVICES", "1,0", 1);
    aieb_source *s = open_ok(fake, NULL);
    assert_string_equal(labels(s), "gpu1,gpu0");
    s->close(s);
    /* as CUDA: the list ends at the first entry naming no device */
    setenv("CUDA_VISIBLE_DEVICES", "0,7,1", 1);
    s = open_ok(fake, NULL);
    assert_string_equal(labels(s), "gpu0");
    s->close(s);
    setenv("CUDA_VISIBLE_DEVICES",
           "GPU-fa4e0000-0000-4000-8000-000000000002,gpu-FA4E0000-0000-4000-8000-000000000000", 1);
    s = open_ok(fake, NULL);
    assert_string_equal(labels(s), "gpu2,gpu0");
    json_t *d = s->describe(s);
    assert_non_null(
        strstr(json_string_value(json_object_get(d, "selection")), "CUDA_VISIBLE_DEVICES"));
    json_decref(d);
    s->close(s);
    setenv("CUDA_VISIBLE_DEVICES", "", 1);
    assert_int_equal(open_fails(fake, NULL, "no GPU visible"), AIEB_ENOTFOUND);
    setenv("CUDA_VISIBLE_DEVICES", "-1", 1);
    assert_int_equal(open_fails(fake, NULL, "no GPU visible"), AIEB_ENOTFOUND);
    /* MIG instances cannot be mapped: every GPU is measured, with a warning */
    setenv("CUDA_VISIBLE_DEVICES", "MIG-4f3b1a2c-0000-0000-0000-000000000000", 1);
    s = open_ok(fake, NULL);
    assert_string_equal(labels(s), "gpu0,gpu1,gpu2");
    s->close(s);
}

/* ==== Readings ============================================================= */

static void readings_follow_the_fake(void **state)
{
    setenv("FAKE_NVML_DEVICES", "1", 1);
    setenv("FAKE_NVML_POWER", "const:200", 1);
    setenv("FAKE_NVML_MEM_USED_MB", "2048", 1);
    int64_t t_open = aieb_now_ns();
    aieb_source *s = open_ok(fake, NULL);
    aieb_channel_reading a, b;
    aieb_err err = {0};
    int64_t ta0 = aieb_now_ns();
    assert_int_equal(s->read(s, ta0, &a, &err), 0);
    int64_t ta1 = aieb_now_ns();
    usleep(250000);
    int64_t tb0 = aieb_now_ns();
    assert_int_equal(s->read(s, tb0, &b, &err), 0);
    int64_t tb1 = aieb_now_ns();
    assert_float_equal(a.power_w, 200, 0);
    assert_float_equal(a.mem_used_mb, 2048, 1e-9);
    assert_float_equal(a.temp_c, 50, 0);
    assert_float_equal(a.sm_clock_mhz, 1980, 0);
    assert_true(a.util_pct >= 0 && a.util_pct <= 100);
    /* The counter moves in 100 ms steps of 20 J: a whole number of steps, as
     * many as fit between the two reads. Those times are bracketed by clock
     * readings rather than assumed from the sleep, which a busy machine may
     * overrun (0.25 s here: two or three steps). */
    const int64_t step = 100 * AIEB_NS_PER_MS;
    double d = b.energy_j - a.energy_j, k = round(d / 20);
    assert_float_equal(d, 20 * k, 0.002); /* whole steps, to the counter's mJ */
    if (k < (double)((tb0 - ta1) / step) || k > (double)((tb1 - ta0) / step + 1))
        fail_msg("%.3f J in %.3f to %.3f s", d, aieb_ns_to_s(tb0 - ta1), aieb_ns_to_s(tb1 - ta0));
    /* relative to open: the steps since then (at most one when read at once) */
    k = round(a.energy_j / 20);
    assert_float_equal(a.energy_j, 20 * k, 0.002);
    assert_true(k >= 0 && k <= (double)((ta1 - t_open) / step + 1));
    s->close(s);
}

static void no_counter_means_power_method(void **state)
{
    setenv("FAKE_NVML_NO_COUNTER", "1", 1);
    setenv("FAKE_NVML_POWER", "const:150", 1);
    aieb_source *s = open_ok(fake, "0");
    assert_string_equal(s->channels[0].method, "nvml_power");
    assert_false(s->channels[0].has_counter);
    assert_true(s->channels[0].has_power);
    aieb_channel_reading r;
    aieb_err err = {0};
    assert_int_equal(s->read(s, aieb_now_ns(), &r, &err), 0);
    assert_true(isnan(r.energy_j));
    assert_float_equal(r.power_w, 150, 0);
    s->close(s);
    /* without the power fields too: nvmlDeviceGetPowerUsage */
    setenv("FAKE_NVML_NO_INSTANT", "1", 1);
    s = open_ok(fake, "0");
    json_t *d = s->describe(s);
    json_t *dev = json_array_get(json_object_get(d, "devices"), 0);
    assert_false(json_is_true(json_object_get(dev, "instant_power")));
    assert_true(json_is_true(json_object_get(dev, "power_usage")));
    assert_string_equal(json_string_value(json_object_get(dev, "method")), "nvml_power");
    json_decref(d);
    assert_int_equal(s->read(s, aieb_now_ns(), &r, &err), 0);
    assert_float_equal(r.power_w, 150, 0);
    s->close(s);
}

static void minimal_library_has_required_symbols_only(void **state)
{
    setenv("FAKE_NVML_POWER", "const:90", 1);
    aieb_source *s = open_ok(fake_min, "1");
    assert_string_equal(s->channels[0].method, "nvml_power");
    assert_float_equal(s->channels[0].power_limit_w, 0, 0); /* unknown */
    aieb_channel_reading r;
    aieb_err err = {0};
    assert_int_equal(s->read(s, aieb_now_ns(), &r, &err), 0);
    assert_float_equal(r.power_w, 90, 0);
    assert_true(isnan(r.util_pct));
    assert_true(isnan(r.temp_c));
    assert_true(isnan(r.sm_clock_mhz));
    assert_float_equal(r.mem_used_mb, 512, 1e-9);
    json_t *d = s->describe(s);
    json_t *dev = json_array_get(json_object_get(d, "devices"), 1);
    assert_true(json_is_null(json_object_get(dev, "architecture")) ||
                !json_object_get(dev, "architecture"));
    json_decref(d);
    s->close(s);
}

/* ==== A meter over the fake: energy against the exact integral ============= */

/* The fake's square:100:300:0.4 integrated from its origin to tau seconds. */
static double square_energy(double tau)
{
    double p = 0.4, h = p / 2, n = floor(tau / p), r = tau - n * p;
    return n * h * 400 + (r < h ? 100 * r : 100 * h + 300 * (r - h));
}

/* got: the meter's energy over its whole run; want: the exact integral; tol:
 * the window's own error bound, plus the readings at both ends (each stamped
 * before the library is called, so a slow read on a busy machine shifts where
 * it lies by up to its duration, at up to 300 W). */
static void meter_run(int no_counter, int interval_ms, double *got, double *want, double *tol)
{
    char t0[32];
    int64_t origin = aieb_now_ns();
    snprintf(t0, sizeof t0, "%lld", (long long)origin);
    setenv("FAKE_NVML_T0_NS", t0, 1);
    setenv("FAKE_NVML_POWER", "square:100:300:0.4", 1);
    setenv("FAKE_NVML_DEVICES", "1", 1);
    if (no_counter)
        setenv("FAKE_NVML_NO_COUNTER", "1", 1);
    aieb_meter_opts o;
    aieb_meter_opts_init(&o);
    o.nvml_library = fake;
    o.no_cpu = o.no_ram = 1;
    o.sample_interval_ms = interval_ms;
    aieb_meter *m = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_meter_open(&m, &o, &err), 0);
    assert_int_equal(aieb_meter_n_channels(m), 1);
    assert_int_equal(aieb_meter_start(m, &err), 0);
    usleep(1230000);
    assert_int_equal(aieb_meter_stop(m, &err), 0);
    aieb_window w;
    int64_t a = aieb_meter_start_ns(m), b = aieb_meter_stop_ns(m);
    assert_int_equal(aieb_meter_window(m, a, b, &w, NULL, &err), 0);
    *got = w.energy_j[AIEB_DOMAIN_GPU];
    aieb_meter_quality q;
    aieb_meter_get_quality(m, &q);
    double read_s = isnan(q.read_max_ms) ? 0 : q.read_max_ms / 1e3;
    *tol = w.uncertainty_j[AIEB_DOMAIN_GPU] + 2 * 300 * read_s;
    *want = square_energy((double)(b - origin) / 1e9) - square_energy((double)(a - origin) / 1e9);
    aieb_meter_close(m);
}

static void meter_matches_exact_integral(void **state)
{
    /* Within 0.5% (counter: located steps make it exact) and 1% (power only:
     * 5 ms samples of 0.2 s plateaus) on a calm machine; on a busy one, within
     * what the run states about itself. */
    double got, want, tol;
    meter_run(0, 100, &got, &want, &tol);
    if (fabs(got - want) > fmax(0.005 * want, tol))
        fail_msg("counter: %.3f J, exact %.3f J, bound %.3f J", got, want, tol);
    meter_run(1, 5, &got, &want, &tol);
    if (fabs(got - want) > fmax(0.01 * want, tol))
        fail_msg("power: %.3f J, exact %.3f J, bound %.3f J", got, want, tol);
}

int main(void)
{
    const char *build = getenv("AIEB_BUILD_DIR");
    if (!build) {
        fprintf(stderr, "AIEB_BUILD_DIR is not set (run through ctest)\n");
        return 77;
    }
    snprintf(fake, sizeof fake, "%s/tests/fakes/libfake_nvml.so", build);
    snprintf(fake_min, sizeof fake_min, "%s/tests/fakes/libfake_nvml_min.so", build);
    if (access(fake, R_OK) != 0) {
        fprintf(stderr, "%s not built\n", fake);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(missing_library_is_env_error, setup),
        cmocka_unit_test_setup(init_failure_is_env_error, setup),
        cmocka_unit_test_setup(channels_describe_the_gpus, setup),
        cmocka_unit_test_setup(gpu_ids_select, setup),
        cmocka_unit_test_setup(bad_gpu_ids, setup),
        cmocka_unit_test_setup(cuda_visible_devices_maps_through_uuids, setup),
        cmocka_unit_test_setup(readings_follow_the_fake, setup),
        cmocka_unit_test_setup(no_counter_means_power_method, setup),
        cmocka_unit_test_setup(minimal_library_has_required_symbols_only, setup),
        cmocka_unit_test_setup(meter_matches_exact_integral, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
