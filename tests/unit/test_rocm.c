/* test_rocm.c - the ROCm SMI source against the fake ROCm SMI library
 * (tests/fakes/libfake_rocm_smi.c), loaded through the same dlopen: loading,
 * init failures, device selection by gpu ids, ROCR_VISIBLE_DEVICES and
 * HIP_VISIBLE_DEVICES, readings, the power fallback, counter wrap and restart,
 * meters over AMD GPUs (alone and beside NVIDIA ones), and the whole-run energy
 * compared with the exact integral of the fake's power. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aieb/clock.h"
#include "aieb/meter.h"
#include "meter/source.h"

static char fake[1024], fake_nvml[1024];

static void clear_env(void)
{
    static const char *const vars[] = {
        "FAKE_ROCM_DEVICES",       "FAKE_ROCM_POWER",        "FAKE_ROCM_POWER_0",
        "FAKE_ROCM_POWER_1",       "FAKE_ROCM_T0_NS",        "FAKE_ROCM_COUNTER_PERIOD_MS",
        "FAKE_ROCM_RESOLUTION_UJ", "FAKE_ROCM_COUNTER_BASE", "FAKE_ROCM_COUNTER_BITS",
        "FAKE_ROCM_NO_COUNTER",    "FAKE_ROCM_SOCKET_POWER", "FAKE_ROCM_MEM_USED_MB",
        "FAKE_ROCM_INIT_FAIL",     "FAKE_ROCM_RESET_AT_S",   "ROCR_VISIBLE_DEVICES",
        "HIP_VISIBLE_DEVICES",     "CUDA_VISIBLE_DEVICES",   "AIEB_ROCM_SMI_LIBRARY",
        "FAKE_NVML_DEVICES",       "FAKE_NVML_POWER",        "AIEB_NVML_LIBRARY",
    };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
}

static int setup(void **state)
{
    (void)state;
    clear_env();
    return 0;
}

static aieb_source *open_ok(const char *lib, const char *ids)
{
    aieb_source *s = NULL;
    aieb_err err = {0};
    int rc = aieb_rocm_source_open(&s, lib, ids, &err);
    if (rc)
        fail_msg("open failed: %s", err.msg);
    return s;
}

static int open_fails(const char *lib, const char *ids, const char *needle)
{
    aieb_source *s = NULL;
    aieb_err err = {0};
    int rc = aieb_rocm_source_open(&s, lib, ids, &err);
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

static void set_origin(int64_t t_ns)
{
    char t0[32];
    snprintf(t0, sizeof t0, "%lld", (long long)t_ns);
    setenv("FAKE_ROCM_T0_NS", t0, 1);
}

/* ==== Loading ============================================================== */

static void missing_library_is_env_error(void **state)
{
    (void)state;
    assert_int_equal(open_fails("/nonexistent/librocm_smi64.so.1", NULL,
                                "cannot load /nonexistent/librocm_smi64.so.1"),
                     AIEB_EENV);
    setenv("AIEB_ROCM_SMI_LIBRARY", "/nonexistent/by-env.so", 1);
    assert_int_equal(open_fails(NULL, NULL, "by-env.so"), AIEB_EENV);
    unsetenv("AIEB_ROCM_SMI_LIBRARY");
    /* a library without ROCm SMI's required symbols (libm has none) */
    assert_int_equal(open_fails("libm.so.6", NULL, "lacks rsmi_init"), AIEB_EENV);
    /* the default library: only with the amdgpu driver loaded */
    if (access("/sys/module/amdgpu", F_OK) != 0)
        assert_int_equal(open_fails(NULL, NULL, "amdgpu driver is not loaded"), AIEB_ENOTFOUND);
}

static void init_failure_is_env_error(void **state)
{
    (void)state;
    setenv("FAKE_ROCM_INIT_FAIL", "1", 1);
    assert_int_equal(open_fails(fake, NULL, "rsmi_init: RSMI_STATUS_INIT_ERROR"), AIEB_EENV);
    unsetenv("FAKE_ROCM_INIT_FAIL");
    setenv("FAKE_ROCM_DEVICES", "0", 1);
    assert_int_equal(open_fails(fake, NULL, "no AMD GPU"), AIEB_ENOTFOUND);
}

static void channels_describe_the_gpus(void **state)
{
    (void)state;
    setenv("AIEB_ROCM_SMI_LIBRARY", fake, 1);
    aieb_source *s = open_ok(NULL, NULL);
    assert_string_equal(s->name, "rocm_smi");
    assert_string_equal(labels(s), "amdgpu0,amdgpu1");
    const aieb_channel_info *c = &s->channels[1];
    assert_int_equal(c->domain, AIEB_DOMAIN_GPU);
    assert_string_equal(c->method, "rocm_smi_counter");
    assert_true(c->has_counter);
    assert_true(c->has_power);
    assert_int_equal(c->counter_period_ns, 0); /* undocumented: measured */
    assert_int_equal(c->gpu_index, 1);
    assert_string_equal(c->name, "Fake AMD Instinct MI300X");
    assert_string_equal(c->uuid, "GPU-fa4e000000000001");
    assert_float_equal(c->mem_total_mb, 196592, 1e-6);
    assert_float_equal(c->power_limit_w, 750, 0);
    assert_false(c->informational);
    /* a 32-bit counter of 15.3 uJ wraps after 65.7 kJ: read often enough */
    assert_true(s->max_read_interval_ns > 0 && s->max_read_interval_ns <= 10 * AIEB_NS_PER_S);
    json_t *d = s->describe(s);
    assert_string_equal(json_string_value(json_object_get(d, "source")), "rocm_smi");
    assert_string_equal(json_string_value(json_object_get(d, "selection")), "all");
    assert_string_equal(json_string_value(json_object_get(d, "library")), fake);
    json_t *dev = json_array_get(json_object_get(d, "devices"), 1);
    assert_true(json_is_true(json_object_get(dev, "energy_counter")));
    assert_float_equal(json_real_value(json_object_get(dev, "counter_resolution_uj")), 15.3, 1e-5);
    assert_true(json_is_true(json_object_get(dev, "average_power")));
    assert_false(json_is_true(json_object_get(dev, "socket_power")));
    assert_string_equal(json_string_value(json_object_get(dev, "pci_bus_id")), "0000:11:00.0");
    assert_string_equal(json_string_value(json_object_get(dev, "method")), "rocm_smi_counter");
    json_decref(d);
    s->close(s);
}

/* ==== Selection ============================================================ */

static void gpu_ids_select(void **state)
{
    (void)state;
    setenv("FAKE_ROCM_DEVICES", "3", 1);
    aieb_source *s = open_ok(fake, "2, 0");
    assert_string_equal(labels(s), "amdgpu2,amdgpu0");
    json_t *d = s->describe(s);
    json_t *devs = json_object_get(d, "devices");
    assert_false(json_is_true(json_object_get(json_array_get(devs, 1), "selected")));
    assert_true(json_is_true(json_object_get(json_array_get(devs, 2), "selected")));
    json_decref(d);
    s->close(s);
    s = open_ok(fake, "GPU-FA4E000000000001"); /* any case */
    assert_string_equal(labels(s), "amdgpu1");
    s->close(s);
    s = open_ok(fake, "fa4e000000000002"); /* "GPU-" optional */
    assert_string_equal(labels(s), "amdgpu2");
    s->close(s);
    /* the visible-devices variables do not apply when ids are given */
    setenv("ROCR_VISIBLE_DEVICES", "1", 1);
    setenv("HIP_VISIBLE_DEVICES", "0", 1);
    s = open_ok(fake, "0");
    assert_string_equal(labels(s), "amdgpu0");
    s->close(s);
}

static void bad_gpu_ids(void **state)
{
    (void)state;
    setenv("FAKE_ROCM_DEVICES", "3", 1);
    assert_int_equal(open_fails(fake, "3", "no GPU 3 (ROCm SMI sees 3 AMD GPUs: 0..2)"),
                     AIEB_EINVAL);
    assert_int_equal(open_fails(fake, "GPU-fa4e", "several"), AIEB_EINVAL);
    assert_int_equal(open_fails(fake, "0,0", "twice"), AIEB_EINVAL);
    assert_int_equal(open_fails(fake, "0,,1", "empty"), AIEB_EINVAL);
    assert_int_equal(open_fails(fake, "GPU-dead", "neither"), AIEB_EINVAL);
}

static void visible_devices_as_rocr_and_hip_read_them(void **state)
{
    (void)state;
    setenv("FAKE_ROCM_DEVICES", "3", 1);
    setenv("ROCR_VISIBLE_DEVICES", "2,0", 1);
    aieb_source *s = open_ok(fake, NULL);
    assert_string_equal(labels(s), "amdgpu2,amdgpu0");
    s->close(s);
    /* HIP indexes what ROCR left: its 1 is ROCm SMI's 0 */
    setenv("HIP_VISIBLE_DEVICES", "1", 1);
    s = open_ok(fake, NULL);
    assert_string_equal(labels(s), "amdgpu0");
    json_t *d = s->describe(s);
    assert_string_equal(json_string_value(json_object_get(d, "selection")),
                        "ROCR_VISIBLE_DEVICES '2,0', HIP_VISIBLE_DEVICES '1'");
    json_decref(d);
    s->close(s);
    unsetenv("ROCR_VISIBLE_DEVICES");
    s = open_ok(fake, NULL);
    assert_string_equal(labels(s), "amdgpu1");
    s->close(s);
    unsetenv("HIP_VISIBLE_DEVICES");
    /* each list ends at the first entry naming no device; UUIDs work in ROCR's */
    setenv("ROCR_VISIBLE_DEVICES", "0,7,1", 1);
    s = open_ok(fake, NULL);
    assert_string_equal(labels(s), "amdgpu0");
    s->close(s);
    setenv("ROCR_VISIBLE_DEVICES", "GPU-fa4e000000000002, GPU-fa4e000000000001", 1);
    s = open_ok(fake, NULL);
    assert_string_equal(labels(s), "amdgpu2,amdgpu1");
    s->close(s);
    /* nothing visible is said, not measured anyway */
    setenv("ROCR_VISIBLE_DEVICES", "", 1);
    assert_int_equal(open_fails(fake, NULL, "no AMD GPU visible"), AIEB_ENOTFOUND);
    unsetenv("ROCR_VISIBLE_DEVICES");
    setenv("HIP_VISIBLE_DEVICES", "3", 1);
    assert_int_equal(open_fails(fake, NULL, "HIP_VISIBLE_DEVICES='3'"), AIEB_ENOTFOUND);
    unsetenv("HIP_VISIBLE_DEVICES");
    /* CUDA_VISIBLE_DEVICES belongs to NVIDIA GPUs: every AMD GPU, with a warning */
    setenv("CUDA_VISIBLE_DEVICES", "1", 1);
    s = open_ok(fake, NULL);
    assert_string_equal(labels(s), "amdgpu0,amdgpu1,amdgpu2");
    s->close(s);
}

/* ==== Readings ============================================================= */

static void readings_follow_the_fake(void **state)
{
    (void)state;
    setenv("FAKE_ROCM_POWER", "const:200", 1);
    setenv("FAKE_ROCM_MEM_USED_MB", "2048", 1);
    aieb_source *s = open_ok(fake, "0");
    aieb_channel_reading a, b;
    aieb_err err = {0};
    int64_t ta0 = aieb_now_ns();
    assert_int_equal(s->read(s, ta0, &a, &err), 0);
    int64_t ta1 = aieb_now_ns();
    usleep(200000);
    int64_t tb0 = aieb_now_ns();
    assert_int_equal(s->read(s, tb0, &b, &err), 0);
    int64_t tb1 = aieb_now_ns();
    assert_float_equal(a.power_w, 200, 0);
    assert_float_equal(a.mem_used_mb, 2048, 1e-9);
    assert_float_equal(a.temp_c, 50, 0);
    assert_float_equal(a.util_pct, 26, 0);
    assert_true(isnan(a.sm_clock_mhz));
    /* The counter holds the integral up to its last 1 ms update, in 15.3 uJ
     * counts. The reads' times are bracketed by clock readings rather than
     * assumed from the sleep, which a busy machine may overrun. */
    double d = b.energy_j - a.energy_j;
    double lo = 200 * (aieb_ns_to_s(tb0 - ta1) - 0.001) - 15.3e-6;
    double hi = 200 * (aieb_ns_to_s(tb1 - ta0) + 0.001) + 15.3e-6;
    if (d < lo || d > hi)
        fail_msg("%.6f J between reads, expected %.6f..%.6f J", d, lo, hi);
    s->close(s);
}

static void no_counter_means_power_method(void **state)
{
    (void)state;
    setenv("FAKE_ROCM_NO_COUNTER", "1", 1);
    setenv("FAKE_ROCM_POWER", "const:150", 1);
    aieb_source *s = open_ok(fake, NULL);
    assert_string_equal(s->channels[0].method, "rocm_smi_power");
    assert_false(s->channels[0].has_counter);
    assert_true(s->channels[0].has_power);
    assert_int_equal(s->max_read_interval_ns, 0); /* no counter to follow */
    aieb_channel_reading r[2];
    aieb_err err = {0};
    assert_int_equal(s->read(s, aieb_now_ns(), r, &err), 0);
    assert_true(isnan(r[1].energy_j));
    assert_float_equal(r[1].power_w, 150, 0);
    json_t *d = s->describe(s);
    json_t *dev = json_array_get(json_object_get(d, "devices"), 0);
    assert_true(json_is_null(json_object_get(dev, "counter_resolution_uj")));
    assert_string_equal(json_string_value(json_object_get(dev, "method")), "rocm_smi_power");
    json_decref(d);
    s->close(s);
    /* boards that answer current socket power and not the average (MI300) */
    setenv("FAKE_ROCM_SOCKET_POWER", "1", 1);
    s = open_ok(fake, "1");
    d = s->describe(s);
    dev = json_array_get(json_object_get(d, "devices"), 1);
    assert_true(json_is_true(json_object_get(dev, "socket_power")));
    assert_false(json_is_true(json_object_get(dev, "average_power")));
    json_decref(d);
    assert_int_equal(s->read(s, aieb_now_ns(), r, &err), 0);
    assert_float_equal(r[0].power_w, 150, 0);
    s->close(s);
}

/* A 32-bit counter that wraps between two reads is unfolded by 2^32: the
 * energy between the reads stays the power x their gap. The wrap is placed
 * margin seconds after the origin, and the test tries again with a larger
 * margin when the open itself took longer than that (a busy machine). */
static void counter_wrap_is_unfolded(void **state)
{
    (void)state;
    const double w = 400, res = 15.3;
    setenv("FAKE_ROCM_COUNTER_BITS", "32", 1);
    setenv("FAKE_ROCM_POWER", "const:400", 1);
    for (double margin = 0.3; margin < 10; margin *= 3) {
        char base[64];
        snprintf(base, sizeof base, "%.0f", 4294967296.0 - floor(w * margin * 1e6 / res));
        setenv("FAKE_ROCM_COUNTER_BASE", base, 1);
        int64_t origin = aieb_now_ns();
        set_origin(origin);
        aieb_source *s = open_ok(fake, "0");
        aieb_channel_reading a, b;
        aieb_err err = {0};
        int64_t ta0 = aieb_now_ns();
        assert_int_equal(s->read(s, ta0, &a, &err), 0);
        int64_t ta1 = aieb_now_ns();
        if (aieb_ns_to_s(ta1 - origin) > margin - 0.05) {
            s->close(s);
            continue; /* the first read came after the wrap: not the case under test */
        }
        int64_t wrap = origin + (int64_t)(margin * 1e9);
        while (aieb_now_ns() < wrap + 100 * AIEB_NS_PER_MS)
            usleep(20000);
        int64_t tb0 = aieb_now_ns();
        assert_int_equal(s->read(s, tb0, &b, &err), 0);
        int64_t tb1 = aieb_now_ns();
        double d = b.energy_j - a.energy_j;
        double lo = w * (aieb_ns_to_s(tb0 - ta1) - 0.001) - 2 * res * 1e-6;
        double hi = w * (aieb_ns_to_s(tb1 - ta0) + 0.001) + 2 * res * 1e-6;
        s->close(s);
        if (d < lo || d > hi)
            fail_msg("%.6f J across the wrap, expected %.6f..%.6f J", d, lo, hi);
        return;
    }
    fail_msg("the source never opened before the wrap (machine too busy)");
}

/* A 64-bit counter that goes back restarted from zero: the energy goes on
 * from there (never negative, never 2^64 counts), the part between the last
 * read and the restart unknown. */
static void counter_restart_counts_from_zero(void **state)
{
    (void)state;
    setenv("FAKE_ROCM_POWER", "const:100", 1);
    setenv("FAKE_ROCM_COUNTER_BASE", "1e12", 1);
    for (double at = 0.3; at < 10; at *= 3) {
        char v[32];
        snprintf(v, sizeof v, "%.3f", at);
        setenv("FAKE_ROCM_RESET_AT_S", v, 1);
        int64_t origin = aieb_now_ns();
        set_origin(origin);
        aieb_source *s = open_ok(fake, "0");
        aieb_channel_reading a, b;
        aieb_err err = {0};
        assert_int_equal(s->read(s, aieb_now_ns(), &a, &err), 0);
        int64_t reset = origin + (int64_t)(at * 1e9);
        if (aieb_now_ns() > reset - 50 * AIEB_NS_PER_MS) {
            s->close(s);
            continue;
        }
        while (aieb_now_ns() < reset + 200 * AIEB_NS_PER_MS)
            usleep(20000);
        int64_t tb0 = aieb_now_ns();
        assert_int_equal(s->read(s, tb0, &b, &err), 0);
        int64_t tb1 = aieb_now_ns();
        s->close(s);
        /* a.energy_j plus what the counter counted since the restart */
        double since = b.energy_j - a.energy_j;
        double lo = 100 * (aieb_ns_to_s(tb0 - reset) - 0.001) - 2 * 15.3e-6;
        double hi = 100 * aieb_ns_to_s(tb1 - reset) + 2 * 15.3e-6;
        if (since < lo || since > hi)
            fail_msg("%.6f J since the restart, expected %.6f..%.6f J", since, lo, hi);
        return;
    }
    fail_msg("the source never opened before the restart (machine too busy)");
}

/* ==== Meters over the fake ================================================= */

/* The fake's square:100:300:0.4 integrated from its origin to tau seconds. */
static double square_energy(double tau)
{
    double p = 0.4, h = p / 2, n = floor(tau / p), r = tau - n * p;
    return n * h * 400 + (r < h ? 100 * r : 100 * h + 300 * (r - h));
}

/* Runs a meter over one stand-in GPU for about 1.2 s. *slack_j: what may be
 * off besides the method itself: the power at most (300 W) over the longest
 * read, twice (the start and stop readings are stamped before the library is
 * called, and a busy machine may preempt the reader in between), plus the
 * counter's 1 ms steps; for power only, also the bound the run states. */
static void meter_run(int no_counter, int interval_ms, double *got, double *want, double *slack_j,
                      const char **method)
{
    int64_t origin = aieb_now_ns();
    set_origin(origin);
    setenv("FAKE_ROCM_POWER", "square:100:300:0.4", 1);
    setenv("FAKE_ROCM_DEVICES", "1", 1);
    setenv("AIEB_ROCM_SMI_LIBRARY", fake, 1);
    if (no_counter)
        setenv("FAKE_ROCM_NO_COUNTER", "1", 1);
    aieb_meter_opts o;
    aieb_meter_opts_init(&o);
    o.nvml_library = "/nonexistent/libnvidia-ml.so.1";
    o.no_cpu = o.no_ram = 1;
    o.sample_interval_ms = interval_ms;
    aieb_meter *m = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_meter_open(&m, &o, &err), 0);
    assert_int_equal(aieb_meter_n_channels(m), 1);
    assert_int_equal(aieb_meter_n_notes(m), 0); /* an AMD GPU: no word about NVML */
    *method = aieb_meter_channel(m, 0)->method;
    assert_int_equal(aieb_meter_start(m, &err), 0);
    usleep(1230000);
    assert_int_equal(aieb_meter_stop(m, &err), 0);
    aieb_window w;
    int64_t a = aieb_meter_start_ns(m), b = aieb_meter_stop_ns(m);
    assert_int_equal(aieb_meter_window(m, a, b, &w, NULL, &err), 0);
    *got = w.energy_j[AIEB_DOMAIN_GPU];
    *want = square_energy((double)(b - origin) / 1e9) - square_energy((double)(a - origin) / 1e9);
    aieb_meter_quality q;
    assert_int_equal(aieb_meter_get_quality(m, &q), 0);
    *slack_j = 2 * 300 * (q.read_max_ms + 1) / 1000;
    if (no_counter)
        *slack_j += w.uncertainty_j[AIEB_DOMAIN_GPU];
    /* The bound itself must stay small: at most each of the square's power
     * steps in the window (one per 0.2 s) times 200 W over half the longest
     * gap between readings, which a busy machine stretches from the interval
     * by the sampler's lateness and the read's duration. */
    double gap_s = (interval_ms + q.late_max_ms + q.read_max_ms) / 1000;
    double steps = floor((double)(b - a) / 0.2e9) + 2;
    double bound_max = fmax(0.05 * *want, steps * 200 * gap_s / 2);
    double bound = w.uncertainty_j[AIEB_DOMAIN_GPU];
    aieb_meter_close(m);
    if (!(bound >= 0) || bound > bound_max)
        fail_msg("bound %.3f J for %.3f J (at most %.3f J)", bound, *want, bound_max);
    unsetenv("FAKE_ROCM_NO_COUNTER");
}

static void meter_matches_exact_integral(void **state)
{
    (void)state;
    double got, want, slack;
    const char *method;
    meter_run(0, 20, &got, &want, &slack, &method); /* counter: read at every tick */
    assert_string_equal(method, "rocm_smi_counter");
    if (fabs(got - want) > fmax(0.005 * want, slack))
        fail_msg("counter: %.3f J, exact %.3f J (slack %.3f J)", got, want, slack);
    /* power only: 5 ms samples of 0.2 s plateaus */
    meter_run(1, 5, &got, &want, &slack, &method);
    assert_string_equal(method, "rocm_smi_power");
    if (fabs(got - want) > fmax(0.01 * want, slack))
        fail_msg("power: %.3f J, exact %.3f J (slack %.3f J)", got, want, slack);
}

static void meter_with_both_vendors(void **state)
{
    (void)state;
    if (access(fake_nvml, R_OK) != 0)
        skip();
    setenv("AIEB_ROCM_SMI_LIBRARY", fake, 1);
    aieb_meter_opts o;
    aieb_meter_opts_init(&o);
    o.nvml_library = fake_nvml;
    o.no_cpu = o.no_ram = 1;
    aieb_meter *m = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_meter_open(&m, &o, &err), 0);
    assert_int_equal(aieb_meter_n_channels(m), 3);
    assert_string_equal(aieb_meter_channel(m, 0)->label, "gpu0");
    assert_string_equal(aieb_meter_channel(m, 1)->label, "amdgpu0");
    assert_string_equal(aieb_meter_channel(m, 2)->label, "amdgpu1");
    assert_int_equal(aieb_meter_n_notes(m), 0);
    aieb_meter_close(m);
    /* gpu ids cannot say which vendor's GPU 0 they mean */
    o.gpu_ids = "0";
    assert_int_equal(aieb_meter_open(&m, &o, &err), AIEB_EINVAL);
    assert_null(m);
    assert_non_null(strstr(err.msg, "NVIDIA and AMD GPUs"));
    /* with AMD GPUs only, gpu ids are theirs; a wrong one fails the open */
    o.nvml_library = "/nonexistent/libnvidia-ml.so.1";
    o.gpu_ids = "1";
    assert_int_equal(aieb_meter_open(&m, &o, &err), 0);
    assert_int_equal(aieb_meter_n_channels(m), 1);
    assert_string_equal(aieb_meter_channel(m, 0)->label, "amdgpu1");
    aieb_meter_close(m);
    o.gpu_ids = "5";
    assert_int_equal(aieb_meter_open(&m, &o, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "no GPU 5"));
    /* no GPU of either vendor: one note naming both reasons */
    setenv("AIEB_ROCM_SMI_LIBRARY", "/nonexistent/librocm_smi64.so.1", 1);
    o.gpu_ids = NULL;
    assert_int_equal(aieb_meter_open(&m, &o, &err), 0);
    assert_int_equal(aieb_meter_n_channels(m), 0);
    assert_int_equal(aieb_meter_n_notes(m), 1);
    assert_non_null(strstr(aieb_meter_note(m, 0), "/nonexistent/libnvidia-ml.so.1"));
    assert_non_null(strstr(aieb_meter_note(m, 0), "/nonexistent/librocm_smi64.so.1"));
    aieb_meter_close(m);
}

int main(void)
{
    const char *build = getenv("AIEB_BUILD_DIR");
    if (!build) {
        fprintf(stderr, "AIEB_BUILD_DIR is not set (run through ctest)\n");
        return 77;
    }
    snprintf(fake, sizeof fake, "%s/tests/fakes/libfake_rocm_smi.so", build);
    snprintf(fake_nvml, sizeof fake_nvml, "%s/tests/fakes/libfake_nvml.so", build);
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
        cmocka_unit_test_setup(visible_devices_as_rocr_and_hip_read_them, setup),
        cmocka_unit_test_setup(readings_follow_the_fake, setup),
        cmocka_unit_test_setup(no_counter_means_power_method, setup),
        cmocka_unit_test_setup(counter_wrap_is_unfolded, setup),
        cmocka_unit_test_setup(counter_restart_counts_from_zero, setup),
        cmocka_unit_test_setup(meter_matches_exact_integral, setup),
        cmocka_unit_test_setup(meter_with_both_vendors, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
