/* test_estimate.c - the CPU (TDP x load) and RAM (DIMM) models against values
 * worked out by hand from CodeCarbon 3.x's formulas, and the two estimate
 * sources against a fake /proc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meter/estimate.h"
#include "meter/source.h"

static char proc[64];

static int setup(void **state)
{
    snprintf(proc, sizeof proc, "/tmp/aieb-proc-XXXXXX");
    return mkdtemp(proc) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", proc);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_proc(const char *file, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", proc, file);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* /proc/stat with two threads; the aggregate line carries the given fields
 * (user nice system idle iowait irq softirq steal guest guest_nice). */
static void write_stat(unsigned user, unsigned idle, unsigned iowait, unsigned steal,
                       unsigned guest)
{
    char text[512];
    snprintf(text, sizeof text,
             "cpu  %u 0 100 %u %u 0 0 %u %u 0\n"
             "cpu0 10 0 10 10 0 0 0 0 0 0\n"
             "cpu1 10 0 10 10 0 0 0 0 0 0\n"
             "intr 123456 1 2 3 4 5\nctxt 42\nbtime 1700000000\n",
             user, idle, iowait, steal, guest);
    write_proc("stat", text);
}

static void dimm_counts(void **state)
{
    static const struct {
        double gb;
        int dimms;
    } cases[] = {
        {0.5, 1},   {1, 1},     {2, 1},     {2.01, 2},  {4, 2},   {8, 2},   {16, 2},
        {16.5, 4},  {32, 4},    {64, 4},    {64.5, 8},  {128, 8}, {129, 9}, /* 129/16 */
        {256, 8},                                       /* 256/8 = 32 -> 32 GB DIMMs */
        {257, 9},                                       /* ceil(257/32) */
        {512, 8},                                       /* 64 GB DIMMs */
        {1000, 16},                                     /* 1000/8 = 125 -> 64 GB, ceil 15.6 */
        {1536, 12},                                     /* 1.5 TB: 128 GB DIMMs */
        {2048, 16}, {3072, 24}, {4096, 32}, {8192, 32}, /* capped at 32 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = aieb_estimate_dimm_count(cases[i].gb);
        if (n != cases[i].dimms)
            fail_msg("%g GB: %d DIMMs, expected %d", cases[i].gb, n, cases[i].dimms);
    }
}

static void ram_power_x86_and_arm(void **state)
{
    static const struct {
        double gb;
        double x86_w, arm_w;
    } cases[] = {
        {1, 10, 3},                          /* 1 DIMM: 5 W / 1.5 W, below the floors */
        {8, 10, 3},                          /* 2 DIMMs: 10 W / 3 W */
        {16, 10, 3},        {32, 20, 6},     /* 4 DIMMs at 100% */
        {64, 20, 6},        {128, 38, 11.4}, /* 4 + 4 x 90%: 20 + 18 / 6 + 5.4 */
        {129, 42, 12.6},                     /* 9 DIMMs: + 1 x 80% */
        {256, 38, 11.4},                     /* 8 x 32 GB */
        {1000, 70, 21},                      /* 16 DIMMs: 20 + 18 + 8 x 4 */
        {1536, 54, 16.2},                    /* 1.5 TB, 12 DIMMs: 20 + 18 + 4 x 4 */
        {3072, 98, 29.4},                    /* 24 DIMMs: 70 + 8 x 3.5 */
        {4096, 126, 37.8},                   /* 32 DIMMs: 70 + 16 x 3.5 */
        {100000, 126, 37.8}                  /* capped at 32 DIMMs */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double x = aieb_estimate_ram_power_w(cases[i].gb, 0);
        double a = aieb_estimate_ram_power_w(cases[i].gb, 1);
        if (fabs(x - cases[i].x86_w) > 1e-9 || fabs(a - cases[i].arm_w) > 1e-9)
            fail_msg("%g GB: %g W x86 / %g W ARM, expected %g / %g", cases[i].gb, x, a,
                     cases[i].x86_w, cases[i].arm_w);
    }
}

static void cpu_power_model(void **state)
{
    assert_float_equal(aieb_estimate_cpu_power_w(100, 0), 10, 1e-12);
    assert_float_equal(aieb_estimate_cpu_power_w(100, 0.5), 21.25, 1e-12); /* 0.1+0.9/8 */
    assert_float_equal(aieb_estimate_cpu_power_w(100, 1), 100, 1e-12);
    assert_float_equal(aieb_estimate_cpu_power_w(100, 0.25), 11.40625, 1e-12);
    assert_float_equal(aieb_estimate_cpu_power_w(65, 1), 65, 1e-12);
    assert_float_equal(aieb_estimate_cpu_power_w(100, -0.5), 10, 1e-12); /* clamped */
    assert_float_equal(aieb_estimate_cpu_power_w(100, 1.5), 100, 1e-12);
    assert_true(isnan(aieb_estimate_cpu_power_w(100, NAN)));
    assert_float_equal(aieb_estimate_default_tdp_w(8), 32, 0);
    assert_float_equal(aieb_estimate_default_tdp_w(0), 4, 0);
}

static void load_between(void **state)
{
    aieb_cpu_times a = {.busy = 100, .total = 1000}, b = {.busy = 150, .total = 1100};
    assert_float_equal(aieb_cpu_load_between(&a, &b), 0.5, 1e-12);
    assert_true(isnan(aieb_cpu_load_between(&a, &a))); /* no tick elapsed */
    assert_true(isnan(aieb_cpu_load_between(&b, &a))); /* backwards */
}

static double read_power(aieb_source *s)
{
    aieb_channel_reading r;
    aieb_err err = {0};
    int rc = s->read(s, 0, &r, &err);
    if (rc)
        fail_msg("read: %s", err.msg);
    assert_true(isnan(r.energy_j)); /* power-only: the sampler integrates */
    return r.power_w;
}

static void cpu_source_from_fake_proc(void **state)
{
    write_stat(100, 800, 0, 0, 0); /* since boot: busy 200 of 1000 */
    aieb_source *s = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_cpu_estimate_source_open(&s, 0, proc, &err), 0);
    assert_int_equal(s->n_channels, 1);
    const aieb_channel_info *ch = &s->channels[0];
    assert_string_equal(ch->label, "cpu");
    assert_string_equal(ch->method, "estimate_tdp_load");
    assert_int_equal(ch->domain, AIEB_DOMAIN_CPU);
    assert_true(ch->has_power);
    assert_false(ch->has_counter);
    json_t *d = s->describe(s);
    assert_int_equal(json_integer_value(json_object_get(d, "hardware_threads")), 2);
    assert_float_equal(json_real_value(json_object_get(d, "tdp_w")), 8, 0); /* 2 x 4 W */
    assert_non_null(strstr(json_string_value(json_object_get(d, "tdp_from")), "4 W"));
    json_decref(d);

    /* no tick yet: no load, so no power (the load since boot, 0.2, is not
     * what the machine does now), and no tick still gives none */
    assert_true(isnan(read_power(s)));
    assert_true(isnan(read_power(s)));
    write_stat(150, 850, 0, 0, 0); /* +50 busy of +100 */
    assert_float_equal(read_power(s), 8 * (0.1 + 0.9 * 0.125), 1e-12);
    write_stat(150, 850, 100, 0, 0); /* iowait is idle */
    assert_float_equal(read_power(s), 0.8, 1e-12);
    /* guest time is inside user time already: +100 user of which 100 guest,
     * +100 idle is load 0.5, not 1/3 */
    write_stat(250, 950, 100, 0, 100);
    assert_float_equal(read_power(s), 1.7, 1e-12);
    write_stat(250, 1050, 100, 100, 100); /* steal counts as busy (psutil) */
    assert_float_equal(read_power(s), 1.7, 1e-12);
    write_stat(250, 1050, 100, 100, 100); /* no tick: the last load stands */
    assert_float_equal(read_power(s), 1.7, 1e-12);
    s->close(s);

    assert_int_equal(aieb_cpu_estimate_source_open(&s, 65, proc, &err), 0);
    write_stat(350, 1050, 100, 100, 100); /* fully busy */
    assert_float_equal(read_power(s), 65, 1e-12);
    d = s->describe(s);
    assert_non_null(strstr(json_string_value(json_object_get(d, "tdp_from")), "configured"));
    json_decref(d);
    /* the file turns to garbage: a failed read, out NAN, code returned */
    write_proc("stat", "nonsense\n");
    aieb_channel_reading r;
    assert_int_equal(s->read(s, 0, &r, &err), AIEB_EIO);
    assert_true(isnan(r.power_w));
    assert_non_null(strstr(err.msg, "stat"));
    s->close(s);
}

static void cpu_source_errors(void **state)
{
    aieb_source *s = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_cpu_estimate_source_open(&s, 0, proc, &err), AIEB_ENOTFOUND);
    assert_non_null(strstr(err.msg, "stat"));
    assert_null(s);
    write_proc("stat", "intr 1 2 3\n");
    assert_int_equal(aieb_cpu_estimate_source_open(&s, 0, proc, &err), AIEB_EIO);
    write_stat(1, 1, 0, 0, 0);
    assert_int_equal(aieb_cpu_estimate_source_open(&s, NAN, proc, &err), AIEB_EINVAL);
    assert_int_equal(aieb_proc_stat_threads(proc, &err), 2);
    /* the real /proc works too */
    assert_int_equal(aieb_cpu_estimate_source_open(&s, 0, NULL, &err), 0);
    double p = read_power(s);
    for (int i = 0; i < 500 && isnan(p); i++) { /* a power once a tick (10 ms) has passed */
        usleep(10000);
        p = read_power(s);
    }
    assert_true(p > 0);
    s->close(s);
    assert_true(aieb_proc_stat_threads(NULL, &err) >= 1);
}

static void meminfo(void **state)
{
    aieb_err err = {0};
    double gib = 0;
    assert_int_equal(aieb_meminfo_total_gib(proc, &gib, &err), AIEB_ENOTFOUND);
    write_proc("meminfo", "MemTotal:       16303412 kB\nMemFree:         1000 kB\n");
    assert_int_equal(aieb_meminfo_total_gib(proc, &gib, &err), 0);
    assert_float_equal(gib, 16303412.0 / 1048576.0, 1e-12);
    write_proc("meminfo", "MemFree: 1 kB\n");
    assert_int_equal(aieb_meminfo_total_gib(proc, &gib, &err), AIEB_EIO);
    assert_non_null(strstr(err.msg, "MemTotal"));
    assert_int_equal(aieb_meminfo_total_gib(NULL, &gib, &err), 0);
    assert_true(gib > 0.1);
}

static void ram_source(void **state)
{
    aieb_source *s = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_ram_estimate_source_open(&s, 256, 0, 1, &err), 0);
    const aieb_channel_info *ch = &s->channels[0];
    assert_string_equal(ch->label, "ram");
    assert_string_equal(ch->method, "estimate_dimm");
    assert_int_equal(ch->domain, AIEB_DOMAIN_RAM);
    assert_int_equal(ch->informational, 1);
    assert_true(ch->has_power);
    assert_float_equal(read_power(s), 38, 1e-12);
    assert_float_equal(read_power(s), 38, 1e-12); /* constant */
    json_t *d = s->describe(s);
    assert_int_equal(json_integer_value(json_object_get(d, "dimm_count")), 8);
    assert_true(json_is_true(json_object_get(d, "informational")));
    json_decref(d);
    s->close(s);

    assert_int_equal(aieb_ram_estimate_source_open(&s, 1536, 1, 0, &err), 0);
    assert_int_equal(s->channels[0].informational, 0);
    assert_float_equal(read_power(s), 16.2, 1e-12);
    s->close(s);

    /* total from /proc/meminfo, architecture detected */
    assert_int_equal(aieb_ram_estimate_source_open(&s, 0, -1, 0, &err), 0);
    d = s->describe(s);
    assert_int_equal(json_is_true(json_object_get(d, "arm")), aieb_estimate_is_arm());
    assert_string_equal(json_string_value(json_object_get(d, "total_from")),
                        "/proc/meminfo MemTotal");
    json_decref(d);
    assert_true(read_power(s) >= (aieb_estimate_is_arm() ? 3 : 10));
    s->close(s);

    assert_int_equal(aieb_ram_estimate_source_open(&s, NAN, 0, 0, &err), AIEB_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dimm_counts),
        cmocka_unit_test(ram_power_x86_and_arm),
        cmocka_unit_test(cpu_power_model),
        cmocka_unit_test(load_between),
        cmocka_unit_test_setup_teardown(cpu_source_from_fake_proc, setup, teardown),
        cmocka_unit_test_setup_teardown(cpu_source_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(meminfo, setup, teardown),
        cmocka_unit_test(ram_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
