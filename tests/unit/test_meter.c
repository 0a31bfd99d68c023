/* test_meter.c - the sampler, timeline and window engine against hand-computed
 * values. Runs are driven by a manual clock (aieb_meter_start_at/tick_at/...)
 * over scripted sources whose readings are functions of time, except the last
 * tests, which run the real sampler thread (also the ThreadSanitizer target:
 * `make test-tsan`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aieb/clock.h"
#include "aieb/meter.h"
#include "meter/source.h"

/* ==== Scripted sources ===================================================== */

typedef double (*fn_t)(int64_t t_ns);

typedef struct script {
    aieb_channel_info ch[4];
    fn_t power[4], energy[4], mem[4];
    int *closed; /* incremented at close, to check ownership */
    int reads;
    int costly_counter; /* honour skip_counter, as nvml.c does */
    int counter_reads;
} script;

static int script_read(aieb_source *s, int64_t t, aieb_channel_reading *out, aieb_err *err)
{
    script *sc = s->ctx;
    sc->reads++;
    for (int i = 0; i < s->n_channels; i++) {
        aieb_reading_clear(&out[i]);
        if (sc->power[i])
            out[i].power_w = sc->power[i](t);
        if (sc->energy[i] && !(sc->costly_counter && s->skip_counter)) {
            out[i].energy_j = sc->energy[i](t);
            sc->counter_reads++;
        }
        if (sc->mem[i])
            out[i].mem_used_mb = sc->mem[i](t);
    }
    return 0;
}

static void script_close(aieb_source *s)
{
    script *sc = s->ctx;
    if (sc->closed)
        (*sc->closed)++;
    free(sc);
    free(s);
}

static aieb_channel_info chan_info(aieb_domain d, const char *label, const char *method,
                                   int counter, int power, double period_s)
{
    aieb_channel_info c;
    memset(&c, 0, sizeof c);
    c.domain = d;
    c.label = label;
    c.method = method;
    c.has_counter = counter;
    c.has_power = power;
    c.counter_period_ns = (int64_t)llround(period_s * 1e9);
    c.gpu_index = d == AIEB_DOMAIN_GPU ? 0 : -1;
    return c;
}

/* A source of one channel. */
static aieb_source *source1(aieb_channel_info info, fn_t power, fn_t energy, fn_t mem)
{
    aieb_source *s = calloc(1, sizeof *s);
    script *sc = calloc(1, sizeof *sc);
    assert_non_null(s);
    assert_non_null(sc);
    sc->ch[0] = info;
    sc->power[0] = power;
    sc->energy[0] = energy;
    sc->mem[0] = mem;
    s->name = "script";
    s->n_channels = 1;
    s->channels = sc->ch;
    s->read = script_read;
    s->close = script_close;
    s->ctx = sc;
    return s;
}

static int64_t S(double s)
{
    return (int64_t)llround(s * 1e9);
}

static aieb_meter *open_manual(aieb_source **src, int n, size_t max_rows)
{
    aieb_meter_opts o;
    aieb_meter_opts_init(&o);
    o.timeline_max_rows = max_rows;
    aieb_meter *m = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_meter_open_with(&m, &o, src, n, &err), 0);
    return m;
}

/* Runs the manual clock: start at ticks[0], tick at the rest up to stop (the
 * stop reading at stop_s), then tail ticks, then finish. */
static void drive(aieb_meter *m, const double *ticks, int n, double stop_s, const double *tail,
                  int n_tail)
{
    aieb_err err = {0};
    assert_int_equal(aieb_meter_start_at(m, S(ticks[0]), &err), 0);
    for (int i = 1; i < n; i++)
        assert_int_equal(aieb_meter_tick_at(m, S(ticks[i]), &err), 0);
    assert_int_equal(aieb_meter_stop_at(m, S(stop_s), &err), 0);
    for (int i = 0; i < n_tail; i++)
        assert_int_equal(aieb_meter_tick_at(m, S(tail[i]), &err), 0);
    assert_int_equal(aieb_meter_finish(m, &err), 0);
}

static double window_j(aieb_meter *m, double t0, double t1, aieb_window_channel *wc)
{
    aieb_window w;
    aieb_err err = {0};
    assert_int_equal(aieb_meter_window(m, S(t0), S(t1), &w, wc, &err), 0);
    return w.total_j;
}

/* ==== Power-only channel: the trapezoid ==================================== */

/* Readings at 0, 1, 2, 3 s: 100, 200, 200, 100 W. */
static double p_hill(int64_t t)
{
    return t < S(0.5) ? 100 : t < S(2.5) ? 200 : 100;
}

static void power_only_trapezoid(void **state)
{
    aieb_source *src[] = {
        source1(chan_info(AIEB_DOMAIN_GPU, "gpu0", "nvml_power", 0, 1, 0), p_hill, NULL, NULL)};
    aieb_meter *m = open_manual(src, 1, 0);
    double ticks[] = {0, 1, 2};
    drive(m, ticks, 3, 3, NULL, 0);
    /* whole run: 150 + 200 + 150 */
    assert_float_equal(window_j(m, 0, 3, NULL), 500, 1e-9);
    /* power linear between readings: [0.5, 1] 87.5, [1, 2] 200, [2, 2.5] 87.5 */
    assert_float_equal(window_j(m, 0.5, 2.5, NULL), 375, 1e-9);
    /* P = 100 + 100 t on [0, 1]: 50 + 50 (0.75^2 - 0.25^2) */
    assert_float_equal(window_j(m, 0.25, 0.75, NULL), 75, 1e-9);
    assert_float_equal(window_j(m, 1.5, 1.5, NULL), 0, 0);
    aieb_meter_summary s;
    aieb_err err = {0};
    assert_int_equal(aieb_meter_summarize(m, 0, 0, &s, &err), 0);
    assert_float_equal(s.window.duration_s, 3, 1e-12);
    assert_float_equal(s.avg_power_w[AIEB_DOMAIN_GPU], 500.0 / 3, 1e-9);
    assert_float_equal(s.peak_power_w[AIEB_DOMAIN_GPU], 200, 0);
    assert_string_equal(s.method[AIEB_DOMAIN_GPU], "nvml_power");
    assert_int_equal(s.n_samples, 4);
    assert_float_equal(s.channels[0].calibration, 1, 0);
    assert_true(isnan(s.window.net_total_j)); /* no baseline */
    aieb_meter_summary_free(&s);
    aieb_meter_close(m);
}

/* A reading that fails in the middle holds the last power over the gap. */
static double p_gap(int64_t t)
{
    return t == S(1) ? NAN : 100;
}

static void power_gap_is_held(void **state)
{
    aieb_source *src[] = {
        source1(chan_info(AIEB_DOMAIN_GPU, "gpu0", "nvml_power", 0, 1, 0), p_gap, NULL, NULL)};
    aieb_meter *m = open_manual(src, 1, 0);
    double ticks[] = {0, 1};
    drive(m, ticks, 2, 2, NULL, 0);
    assert_float_equal(window_j(m, 0, 2, NULL), 200, 1e-9);
    assert_float_equal(window_j(m, 0, 1, NULL), 100, 1e-9);
    aieb_meter_close(m);
}

/* An estimate with no load yet gives no power at first: the first real power
 * is held back over the gap (not zero, not a made-up value). */
static double p_late_start(int64_t t)
{
    return t < S(0.5) ? NAN : 8;
}

static void first_power_held_back(void **state)
{
    aieb_source *src[] = {source1(chan_info(AIEB_DOMAIN_CPU, "cpu", "estimate_tdp_load", 0, 1, 0),
                                  p_late_start, NULL, NULL)};
    aieb_meter *m = open_manual(src, 1, 0);
    double ticks[] = {0, 0.25, 1};
    drive(m, ticks, 3, 2, NULL, 0);
    assert_float_equal(window_j(m, 0, 2, NULL), 16, 1e-9);
    assert_float_equal(window_j(m, 0, 1, NULL), 8, 1e-9);
    aieb_meter_close(m);
}

/* A source read at most every 0.5 s keeps its last readings in between. */
static double p_late(int64_t t)
{
    return t < S(1.2) ? 100 : 300;
}

static void slow_source_holds_its_readings(void **state)
{
    aieb_source *src[] = {source1(chan_info(AIEB_DOMAIN_CPU, "cpu", "estimate_tdp_load", 0, 1, 0),
                                  p_late, NULL, NULL)};
    src[0]->min_read_interval_ns = S(0.5);
    script *sc = src[0]->ctx;
    aieb_meter *m = open_manual(src, 1, 0);
    double ticks[20];
    for (int i = 0; i < 20; i++)
        ticks[i] = 0.1 * i;
    drive(m, ticks, 20, 2.0, NULL, 0);
    assert_int_equal(sc->reads, 5); /* start (forced), 0.5, 1.0, 1.5, stop (forced) */
    /* 100 W held to 1.4 s, the 1.5 s reading (300 W) ramps from there */
    assert_float_equal(window_j(m, 0, 2.0, NULL), 100 * 1.4 + 20 + 300 * 0.5, 1e-9);
    aieb_meter_close(m);
}

/* ==== Counter-only channel: interpolation ================================== */

/* 0, 10, 30, 60 J at 0, 1, 2, 3 s. */
static double e_quad(int64_t t)
{
    double s = (double)t / 1e9;
    return 5 * s * s + 5 * s;
}

static void counter_only_interpolates(void **state)
{
    aieb_source *src[] = {
        source1(chan_info(AIEB_DOMAIN_DRAM, "dram", "rapl", 1, 0, 0.001), NULL, e_quad, NULL)};
    aieb_meter *m = open_manual(src, 1, 0);
    double ticks[] = {0, 1, 2};
    drive(m, ticks, 3, 3, NULL, 0);
    aieb_window_channel wc;
    assert_float_equal(window_j(m, 0, 3, &wc), 60, 1e-9);
    assert_float_equal(window_j(m, 0.5, 2.5, &wc), 45 - 5, 1e-9);
    assert_false(wc.short_window); /* 2 s against an observed 1 s update period */
    window_j(m, 1.0, 1.5, &wc);
    assert_true(wc.short_window);
    /* power of a counter-only channel: the average since the previous reading */
    aieb_channel_reading r;
    int64_t t;
    aieb_err err = {0};
    assert_int_equal(aieb_meter_sample(m, 2, &t, &r, &err), 0);
    assert_int_equal(t, S(2));
    assert_float_equal(r.power_w, 20, 1e-6);
    assert_float_equal(r.energy_j, 30, 1e-9);
    assert_int_equal(aieb_meter_sample(m, 4, &t, &r, &err), AIEB_EINVAL);
    aieb_window w;
    assert_int_equal(aieb_meter_window(m, 0, S(3), &w, NULL, &err), 0);
    assert_float_equal(w.energy_j[AIEB_DOMAIN_DRAM], 60, 1e-9);
    assert_float_equal(w.energy_j[AIEB_DOMAIN_GPU], 0, 0);
    aieb_meter_close(m);
}

/* ==== Counter + power: calibration and located steps ======================= */

/* A board whose counter says 200 W in 100 ms steps while its power readings
 * say 100 W: the counter is trusted, power gives the shape. */
static double e_steps_200w(int64_t t)
{
    return 20.0 * (double)(t / S(0.1));
}

static double p_100(int64_t t)
{
    return 100;
}

static const double cal_ticks[] = {0.02, 0.099, 0.101, 0.2, 0.3, 0.4, 0.5,
                                   0.6,  0.7,   0.8,   0.9, 1.0, 1.05};
static const double cal_tail[] = {1.099, 1.101};

static void counter_calibrates_power(void **state)
{
    aieb_source *src[] = {source1(chan_info(AIEB_DOMAIN_GPU, "gpu0", "nvml_counter", 1, 1, 0.1),
                                  p_100, e_steps_200w, NULL)};
    aieb_meter *m = open_manual(src, 1, 0);
    drive(m, cal_ticks, 13, 1.08, cal_tail, 2);
    /* The steps at 0.1 and 1.1 s lie midway between the readings around them:
     * 200 J of counter over 100 J of integrated power, k = 2; the run
     * [0.02, 1.08] is then 2 x 100 W x 1.06 s. The raw counter delta would say
     * 200 J (E(1.08) - E(0.02)). */
    aieb_window_channel wc;
    assert_float_equal(window_j(m, 0.02, 1.08, &wc), 212, 1e-6);
    assert_false(wc.short_window);
    assert_float_equal(window_j(m, 0.5, 1.0, &wc), 100, 1e-6);
    window_j(m, 0.02, 0.05, &wc);
    assert_true(wc.short_window); /* 30 ms against a 100 ms counter */
    aieb_meter_summary s;
    aieb_err err = {0};
    assert_int_equal(aieb_meter_summarize(m, 0, 0, &s, &err), 0);
    assert_float_equal(s.channels[0].calibration, 2, 1e-9);
    assert_float_equal(s.channels[0].period_s, 0.1, 1e-9);
    /* the tail readings after stop are not samples of the run */
    assert_int_equal(aieb_meter_n_samples(m), 13 + 1);
    aieb_meter_summary_free(&s);
    aieb_meter_close(m);
}

/* A counter that says 200 W until 1 s and 400 W after, in 100 ms steps; the
 * power readings say 100 W throughout. */
static double e_two_rates(int64_t t)
{
    int64_t q = t / S(0.1);
    return q < 10 ? 20.0 * (double)q : 200 + 40.0 * (double)(q - 10);
}

static void marks_calibrate_piecewise(void **state)
{
    aieb_source *src[] = {source1(chan_info(AIEB_DOMAIN_GPU, "gpu0", "nvml_counter", 1, 1, 0.1),
                                  p_100, e_two_rates, NULL)};
    aieb_meter *m = open_manual(src, 1, 0);
    aieb_err err = {0};
    static const double before[] = {0.02, 0.099, 0.101, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
    static const double after[] = {0.995, 0.999, 1.001, 1.1, 1.2, 1.3,
                                   1.4,   1.5,   1.6,   1.7, 1.8, 1.9};
    assert_int_equal(aieb_meter_start_at(m, S(before[0]), &err), 0);
    for (size_t i = 1; i < sizeof before / sizeof before[0]; i++)
        assert_int_equal(aieb_meter_tick_at(m, S(before[i]), &err), 0);
    assert_int_equal(aieb_meter_mark(m, &err), 0); /* the next reading is the reference */
    for (size_t i = 0; i < sizeof after / sizeof after[0]; i++)
        assert_int_equal(aieb_meter_tick_at(m, S(after[i]), &err), 0);
    assert_int_equal(aieb_meter_stop_at(m, S(1.95), &err), 0);
    assert_int_equal(aieb_meter_tick_at(m, S(1.999), &err), 0);
    assert_int_equal(aieb_meter_tick_at(m, S(2.001), &err), 0);
    assert_int_equal(aieb_meter_finish(m, &err), 0);
    /* steps located at 0.1, 1.0 and 2.0 s: factors 2 then 4 */
    assert_float_equal(window_j(m, 0.02, 1.0, NULL), 200 * 0.98, 1e-6);
    assert_float_equal(window_j(m, 1.0, 1.95, NULL), 400 * 0.95, 1e-6);
    assert_float_equal(window_j(m, 0.5, 1.5, NULL), 200 * 0.5 + 400 * 0.5, 1e-6);
    assert_float_equal(window_j(m, 0.02, 1.95, NULL), 576, 1e-6);
    aieb_meter_close(m);
}

/* A costly counter (NVML: ~4 ms a read) is read at start, stop and around its
 * steps only; the run still adds up to it. */
static void costly_counter_read_only_around_steps(void **state)
{
    aieb_source *src[] = {source1(chan_info(AIEB_DOMAIN_GPU, "gpu0", "nvml_counter", 1, 1, 0.1),
                                  p_100, e_steps_200w, NULL)};
    script *sc = src[0]->ctx;
    sc->costly_counter = 1;
    aieb_meter *m = open_manual(src, 1, 0);
    drive(m, cal_ticks, 13, 1.08, cal_tail, 2);
    /* start, 0.099 and 0.101 (the step), an anchor read at 1.05 (1 s after the
     * start), stop, and the two tail readings */
    assert_int_equal(sc->counter_reads, 7);
    assert_int_equal(sc->reads, 13 + 1 + 2);
    assert_float_equal(window_j(m, 0.02, 1.08, NULL), 212, 1e-6);
    assert_float_equal(window_j(m, 0.5, 1.0, NULL), 100, 1e-6);
    aieb_channel_reading r;
    aieb_err err = {0};
    assert_int_equal(aieb_meter_sample(m, 5, NULL, &r, &err), 0);
    assert_true(isnan(r.energy_j)); /* not read there */
    assert_float_equal(r.power_w, 100, 0);
    aieb_meter_close(m);
}

/* True power 200 W before 1.5 s, 400 W after; the counter integrates it to
 * its last 100 ms step. */
static double e_rate_change(int64_t t)
{
    double q = 0.1 * (double)(t / S(0.1));
    return q <= 1.5 ? 200 * q : 300 + 400 * (q - 1.5);
}

/* Anchor reads (about once a second) between the located steps at 0.1 and
 * 3.1 s fall on the counter's 100 ms grid and calibrate each second apart. */
static void anchors_calibrate_between_marks(void **state)
{
    aieb_source *src[] = {source1(chan_info(AIEB_DOMAIN_GPU, "gpu0", "nvml_counter", 1, 1, 0.1),
                                  p_100, e_rate_change, NULL)};
    script *sc = src[0]->ctx;
    sc->costly_counter = 1;
    aieb_meter *m = open_manual(src, 1, 0);
    double ticks[3 + 59];
    int n = 0;
    ticks[n++] = 0.02;
    ticks[n++] = 0.099;
    ticks[n++] = 0.101;
    for (int i = 3; i <= 61; i++)
        ticks[n++] = 0.05 * i;
    double tail[] = {3.099, 3.101};
    drive(m, ticks, n, 3.08, tail, 2);
    /* counter reads: start, the step, anchors at 1.05, 2.05, 3.05, stop, tail */
    assert_int_equal(sc->counter_reads, 1 + 2 + 3 + 1 + 2);
    assert_float_equal(window_j(m, 2.0, 3.0, NULL), 400, 1e-6);
    assert_float_equal(window_j(m, 1.0, 2.0, NULL), 300, 1e-6);
    assert_float_equal(window_j(m, 0.5, 1.0, NULL), 100, 1e-6);
    assert_float_equal(window_j(m, 0.02, 3.08, NULL), 200 * 1.48 + 400 * 1.58, 1e-6);
    aieb_meter_close(m);
}

static double e_flat(int64_t t)
{
    return 5000;
}

/* A run between two counter steps: the counter cannot see it, power can. */
static void run_between_steps_uses_power(void **state)
{
    aieb_source *src[] = {source1(chan_info(AIEB_DOMAIN_GPU, "gpu0", "nvml_counter", 1, 1, 0.1),
                                  p_100, e_flat, NULL)};
    aieb_meter *m = open_manual(src, 1, 0);
    double ticks[] = {0.01, 0.02, 0.03};
    drive(m, ticks, 3, 0.05, NULL, 0);
    aieb_window_channel wc;
    assert_float_equal(window_j(m, 0.01, 0.05, &wc), 4, 1e-9);
    assert_true(wc.short_window);
    aieb_meter_close(m);
}

/* ==== Baseline, net, informational channels ================================ */

static double p_step(int64_t t)
{
    return t < S(1.0) ? 50 : 200;
}

static double p_20(int64_t t)
{
    return 20;
}

static double e_dram(int64_t t)
{
    return 10.0 * (double)t / 1e9;
}

static void baseline_gives_net(void **state)
{
    aieb_source *src[] = {
        source1(chan_info(AIEB_DOMAIN_GPU, "gpu0", "nvml_power", 0, 1, 0), p_step, NULL, NULL),
        source1(chan_info(AIEB_DOMAIN_DRAM, "dram", "rapl", 1, 0, 0.001), NULL, e_dram, NULL),
        source1(chan_info(AIEB_DOMAIN_RAM, "ram", "estimate_dimm", 0, 1, 0), p_20, NULL, NULL),
    };
    ((script *)src[2]->ctx)->ch[0].informational = 1;
    aieb_meter *m = open_manual(src, 3, 0);
    double ticks[] = {0, 0.5, 0.999, 1.001, 1.5, 2, 2.5};
    drive(m, ticks, 7, 3, NULL, 0);
    aieb_err err = {0};
    assert_int_equal(aieb_meter_set_baseline(m, 0, S(0.999), &err), 0);
    aieb_window w;
    aieb_window_channel wc[3];
    assert_int_equal(aieb_meter_window(m, S(1.001), S(3), &w, wc, &err), 0);
    /* GPU: idle 50 W; 200 W x 1.999 s gross, minus 50 W x 1.999 s */
    assert_float_equal(wc[0].energy_j, 399.8, 1e-9);
    assert_float_equal(wc[0].net_energy_j, 299.85, 1e-9);
    /* DRAM at a steady 10 W: its net is 0 */
    assert_float_equal(wc[1].energy_j, 19.99, 1e-9);
    assert_float_equal(wc[1].net_energy_j, 0, 1e-9);
    /* the informational RAM estimate stays out of every total */
    assert_float_equal(wc[2].energy_j, 39.98, 1e-9);
    assert_float_equal(w.total_j, 399.8 + 19.99, 1e-9);
    assert_float_equal(w.net_total_j, 299.85, 1e-9);
    assert_float_equal(w.energy_j[AIEB_DOMAIN_RAM], 0, 0);

    aieb_meter_summary s;
    assert_int_equal(aieb_meter_summarize(m, S(1.001), S(3), &s, &err), 0);
    assert_true(s.has_baseline);
    assert_float_equal(s.baseline_s, 0.999, 1e-12);
    assert_float_equal(s.channels[0].idle_power_w, 50, 1e-9);
    assert_int_equal(s.channels[0].used, 1); /* 200 W against 50 W idle */
    assert_float_equal(s.ram_estimate_j, 39.98, 1e-9);
    assert_false(s.has_domain[AIEB_DOMAIN_RAM]);
    assert_true(s.has_domain[AIEB_DOMAIN_DRAM]);
    assert_string_equal(s.method[AIEB_DOMAIN_RAM], "estimate_dimm");
    json_t *j = aieb_meter_summary_json(&s);
    assert_non_null(j);
    json_t *energy = json_object_get(j, "energy");
    assert_false(json_is_true(json_object_get(energy, "ram_in_total")));
    assert_float_equal(json_real_value(json_object_get(energy, "ram_j")), 39.98, 1e-9);
    assert_float_equal(json_real_value(json_object_get(energy, "gpu_wh")), 399.8 / 3600, 1e-12);
    assert_float_equal(json_real_value(json_object_get(json_object_get(energy, "net"), "gpu_j")),
                       299.85, 1e-9);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "methods"), "dram")),
                        "rapl");
    assert_int_equal(json_array_size(json_object_get(j, "gpus")), 1);
    json_decref(j);
    aieb_meter_summary_free(&s);
    /* a baseline outside the run is refused */
    assert_int_equal(aieb_meter_set_baseline(m, S(2), S(4), &err), AIEB_EINVAL);
    aieb_meter_close(m);
}

/* ==== Memory evidence, methods of mixed domains ============================ */

static double mem_grows(int64_t t)
{
    return t < S(1) ? 1000 : 1100;
}

static void memory_growth_marks_gpu_used(void **state)
{
    aieb_source *src[] = {
        source1(chan_info(AIEB_DOMAIN_GPU, "gpu0", "nvml_power", 0, 1, 0), p_100, NULL, mem_grows),
        source1(chan_info(AIEB_DOMAIN_GPU, "gpu1", "nvml_counter", 1, 1, 0.1), p_100, e_steps_200w,
                NULL),
    };
    aieb_meter *m = open_manual(src, 2, 0);
    double ticks[] = {0, 0.5, 1, 1.5};
    drive(m, ticks, 4, 2, NULL, 0);
    aieb_meter_summary s;
    aieb_err err = {0};
    assert_int_equal(aieb_meter_summarize(m, 0, 0, &s, &err), 0);
    assert_float_equal(s.channels[0].mem_min_mb, 1000, 0);
    assert_float_equal(s.channels[0].mem_max_mb, 1100, 0);
    assert_float_equal(s.channels[0].mem_start_mb, 1000, 0);
    assert_int_equal(s.channels[0].used, 1);
    assert_int_equal(s.channels[1].used, 0); /* no baseline, no memory reading */
    assert_string_equal(s.method[AIEB_DOMAIN_GPU], "nvml_power+nvml_counter");
    aieb_meter_summary_free(&s);
    aieb_meter_close(m);
}

/* ==== Errors =============================================================== */

static void window_errors(void **state)
{
    aieb_source *src[] = {
        source1(chan_info(AIEB_DOMAIN_GPU, "gpu0", "nvml_power", 0, 1, 0), p_100, NULL, NULL)};
    aieb_meter *m = open_manual(src, 1, 0);
    aieb_err err = {0};
    aieb_window w;
    assert_int_equal(aieb_meter_start_at(m, S(1), &err), 0);
    assert_int_equal(aieb_meter_window(m, S(1), S(1), &w, NULL, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "stopped"));
    assert_int_equal(aieb_meter_start_at(m, S(1), &err), AIEB_EINVAL);  /* twice */
    assert_int_equal(aieb_meter_tick_at(m, S(0.5), &err), AIEB_EINVAL); /* backwards */
    assert_int_equal(aieb_meter_stop_at(m, S(2), &err), 0);
    assert_int_equal(aieb_meter_finish(m, &err), 0);
    assert_int_equal(aieb_meter_window(m, S(1.5), S(1.2), &w, NULL, &err), AIEB_EINVAL);
    assert_int_equal(aieb_meter_window(m, S(0.5), S(1.2), &w, NULL, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "not inside the run"));
    assert_int_equal(aieb_meter_window(m, S(1.5), S(2.5), &w, NULL, &err), AIEB_EINVAL);
    assert_int_equal(aieb_meter_window(m, S(1), S(2), &w, NULL, &err), 0);
    assert_float_equal(w.total_j, 100, 1e-9);
    assert_int_equal(aieb_meter_stop_at(m, S(3), &err), AIEB_EINVAL); /* not running */
    assert_int_equal(aieb_meter_mark(m, &err), AIEB_EINVAL);
    aieb_meter_close(m);
}

static void bad_interval_closes_sources(void **state)
{
    int closed = 0;
    aieb_source *src[] = {
        source1(chan_info(AIEB_DOMAIN_GPU, "gpu0", "nvml_power", 0, 1, 0), p_100, NULL, NULL)};
    ((script *)src[0]->ctx)->closed = &closed;
    aieb_meter_opts o;
    aieb_meter_opts_init(&o);
    o.sample_interval_ms = 4;
    aieb_meter *m = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_meter_open_with(&m, &o, src, 1, &err), AIEB_EINVAL);
    assert_null(m);
    assert_int_equal(closed, 1);
    assert_non_null(strstr(err.msg, "4 ms"));
    o.sample_interval_ms = 60001;
    assert_int_equal(aieb_meter_open_with(&m, &o, NULL, 0, &err), AIEB_EINVAL);
}

/* ==== The timeline cap ===================================================== */

static void timeline_cap_decimates_keeping_totals(void **state)
{
    aieb_source *src[] = {
        source1(chan_info(AIEB_DOMAIN_GPU, "gpu0", "nvml_power", 0, 1, 0), p_hill, NULL, NULL),
        source1(chan_info(AIEB_DOMAIN_DRAM, "dram", "rapl", 1, 0, 0.001), NULL, e_quad, NULL),
    };
    aieb_meter *m = open_manual(src, 2, 16);
    aieb_err err = {0};
    assert_int_equal(aieb_meter_start_at(m, 0, &err), 0);
    for (int i = 1; i < 300; i++)
        assert_int_equal(aieb_meter_tick_at(m, S(0.01 * i), &err), 0);
    assert_int_equal(aieb_meter_stop_at(m, S(3), &err), 0);
    assert_int_equal(aieb_meter_finish(m, &err), 0);
    size_t n = aieb_meter_n_samples(m);
    assert_true(n <= 16 + 1);
    assert_true(n >= 8);
    aieb_window_channel wc[2];
    window_j(m, 0, 3, wc);
    /* the trapezoid of p_hill read every 10 ms: 100 W to 0.49 s, a 10 ms ramp
     * (the reading at 0.5 s is 200 W), 200 W to 2.49 s, a ramp, 100 W to 3 s */
    double want = 100 * 0.49 + 150 * 0.01 + 200 * 1.99 + 150 * 0.01 + 100 * 0.5;
    assert_float_equal(wc[0].energy_j, want, 1e-6);
    assert_float_equal(wc[1].energy_j, 60, 1e-9);
    /* stored samples are the start, every 2^k-th reading, and the stop */
    int64_t t_prev = -1, t;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(aieb_meter_sample(m, i, &t, NULL, &err), 0);
        assert_true(t > t_prev);
        t_prev = t;
    }
    assert_int_equal(t_prev, S(3));
    aieb_meter_close(m);
}

/* ==== Timeline CSV ========================================================= */

static void timeline_csv(void **state)
{
    aieb_source *src[] = {
        source1(chan_info(AIEB_DOMAIN_GPU, "gpu0", "nvml_counter", 1, 1, 0.1), p_100, e_steps_200w,
                mem_grows),
        source1(chan_info(AIEB_DOMAIN_DRAM, "dram", "rapl", 1, 0, 0.001), NULL, e_dram, NULL),
    };
    aieb_meter *m = open_manual(src, 2, 0);
    aieb_err err = {0};
    assert_int_equal(aieb_meter_write_timeline_csv(m, "/tmp/x.csv", &err), AIEB_EINVAL);
    drive(m, cal_ticks, 13, 1.08, cal_tail, 2);
    char dir[] = "/tmp/aieb-meter-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/timeline.csv", dir);
    assert_int_equal(aieb_meter_write_timeline_csv(m, path, &err), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[1024], last[1024] = "";
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "t_ns,t_s,gpu0_energy_j,gpu0_energy_uncertainty_j,gpu0_power_w,"
                              "gpu0_mem_used_mb,gpu0_util_pct,gpu0_temp_c,gpu0_sm_clock_mhz,"
                              "dram_energy_j,dram_energy_uncertainty_j,dram_power_w\n");
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        rows++;
        snprintf(last, sizeof last, "%s", line);
    }
    fclose(f);
    assert_int_equal(rows, 14);
    /* last row: the stop; calibrated energy 212 J, 100 W, 1100 MB, no util;
     * within 0.6 J: the start hangs on the step located at 0.1 s within 1 ms
     * (0.2 J at the counter's 200 W); the stop lies 8/10 of the way from the
     * anchor's step at 1.0 s (placed within 1 + 5 ms: 1.2 J) to the step
     * located at 1.1 s (0.2 J): (1.2 x 2 + 0.2 x 8) / 10 = 0.4 J. The DRAM
     * counter is exact at its readings. */
    assert_string_equal(last, "1080000000,1.060000,212,0.6,100,1100,,,,10.6,0,10\n");
    unlink(path);
    snprintf(path, sizeof path, "%s/no/such/dir/t.csv", dir);
    assert_int_equal(aieb_meter_write_timeline_csv(m, path, &err), AIEB_EIO);
    assert_non_null(strstr(err.msg, "no/such/dir"));
    rmdir(dir);
    aieb_meter_close(m);
}

/* ==== The real sampler thread ============================================== */

static void sampler_thread_runs(void **state)
{
    aieb_source *src[] = {
        source1(chan_info(AIEB_DOMAIN_GPU, "gpu0", "nvml_power", 0, 1, 0), p_100, NULL, NULL),
        source1(chan_info(AIEB_DOMAIN_DRAM, "dram", "rapl", 1, 0, 0.001), NULL, e_dram, NULL),
    };
    aieb_meter_opts o;
    aieb_meter_opts_init(&o);
    o.sample_interval_ms = 5;
    aieb_meter *m = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_meter_open_with(&m, &o, src, 2, &err), 0);
    assert_int_equal(aieb_meter_interval_ms(m), 5);
    assert_int_equal(aieb_meter_start(m, &err), 0);
    assert_int_equal(aieb_meter_start(m, &err), AIEB_EINVAL);
    /* read the timeline while the sampler writes it */
    int64_t end = aieb_now_ns() + S(0.3), last = 0;
    aieb_channel_reading r[2];
    while (aieb_now_ns() < end) {
        size_t n = aieb_meter_n_samples(m);
        int64_t t;
        assert_int_equal(aieb_meter_sample(m, n - 1, &t, r, &err), 0);
        assert_true(t >= last);
        last = t;
        usleep(1000);
    }
    assert_int_equal(aieb_meter_idle_baseline(m, 0.05, NULL, &err), 0);
    assert_int_equal(aieb_meter_stop(m, &err), 0);
    size_t n = aieb_meter_n_samples(m);
    assert_true(n >= 15);  /* ~70 at 5 ms; a loaded machine may lose many */
    assert_true(n <= 100); /* no burst of catch-up samples */
    int64_t t0 = aieb_meter_start_ns(m), t1 = aieb_meter_stop_ns(m);
    aieb_window w;
    assert_int_equal(aieb_meter_window(m, t0, t1, &w, NULL, &err), 0);
    double dur = (double)(t1 - t0) / 1e9;
    assert_float_equal(w.energy_j[AIEB_DOMAIN_GPU], 100 * dur, 1e-9 * 100 * dur);
    /* counter-only: interpolation of a counter that is exactly linear in time */
    assert_float_equal(w.energy_j[AIEB_DOMAIN_DRAM], 10 * dur, 1e-6);
    aieb_meter_summary s;
    assert_int_equal(aieb_meter_summarize(m, 0, 0, &s, &err), 0);
    assert_true(s.has_baseline);
    assert_float_equal(s.channels[0].idle_power_w, 100, 1e-6);
    assert_float_equal(s.window.net_total_j, 0, 1e-6);
    aieb_meter_summary_free(&s);
    assert_int_equal(aieb_meter_idle_baseline(m, 1, NULL, &err), AIEB_EINVAL);
    aieb_meter_close(m);
}

/* A counter the test advances by hand (the sampler thread reads it). */
static _Atomic double g_counter_j;

static double e_by_hand(int64_t t)
{
    (void)t;
    return atomic_load(&g_counter_j);
}

static void set_counter(double j)
{
    atomic_store(&g_counter_j, j);
}

/* aieb_meter_read_now: a window that starts at its reading and ends at the
 * stop reading holds exactly the energy added between them, whatever ticks
 * fell in between (the counter moves in steps, which interpolation between
 * two ticks would smear across the edge). */
static void read_now_pins_window_edges(void **state)
{
    set_counter(0);
    aieb_source *src[] = {
        source1(chan_info(AIEB_DOMAIN_CPU, "package-0", "rapl", 1, 0, 0.001), NULL, e_by_hand,
                NULL),
    };
    aieb_meter_opts o;
    aieb_meter_opts_init(&o);
    o.sample_interval_ms = 20;
    aieb_meter *m = NULL;
    aieb_err err = {0};
    int64_t t0 = 0;
    assert_int_equal(aieb_meter_open_with(&m, &o, src, 1, &err), 0);
    assert_int_equal(aieb_meter_read_now(m, &t0, &err), AIEB_EINVAL); /* not started */
    assert_int_equal(aieb_meter_start(m, &err), 0);
    usleep(30000);
    set_counter(3); /* before the window */
    usleep(30000);
    assert_int_equal(aieb_meter_read_now(m, &t0, &err), 0);
    assert_true(t0 > aieb_meter_start_ns(m));
    assert_true(t0 <= aieb_now_ns());
    set_counter(8); /* a 5 J step inside the window, right after its start */
    usleep(30000);
    int64_t t_mid = 0;
    assert_int_equal(aieb_meter_read_now(m, &t_mid, &err), 0);
    assert_true(t_mid > t0);
    set_counter(10); /* 2 J just before the stop */
    assert_int_equal(aieb_meter_stop(m, &err), 0);
    int64_t t1 = aieb_meter_stop_ns(m);
    aieb_window w;
    assert_int_equal(aieb_meter_window(m, t0, t1, &w, NULL, &err), 0);
    assert_float_equal(w.energy_j[AIEB_DOMAIN_CPU], 7, 1e-9);
    assert_int_equal(aieb_meter_window(m, t0, t_mid, &w, NULL, &err), 0);
    assert_float_equal(w.energy_j[AIEB_DOMAIN_CPU], 5, 1e-9);
    assert_int_equal(aieb_meter_window(m, aieb_meter_start_ns(m), t1, &w, NULL, &err), 0);
    assert_float_equal(w.energy_j[AIEB_DOMAIN_CPU], 10, 1e-9);
    assert_int_equal(aieb_meter_read_now(m, &t0, &err), AIEB_EINVAL); /* stopped */
    aieb_meter_close(m);
}

static void meter_closes_while_running(void **state)
{
    aieb_source *src[] = {
        source1(chan_info(AIEB_DOMAIN_GPU, "gpu0", "nvml_power", 0, 1, 0), p_100, NULL, NULL)};
    aieb_meter_opts o;
    aieb_meter_opts_init(&o);
    o.sample_interval_ms = 5;
    aieb_meter *m = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_meter_open_with(&m, &o, src, 1, &err), 0);
    assert_int_equal(aieb_meter_start(m, &err), 0);
    usleep(20000);
    volatile int stop = 1;
    assert_int_equal(aieb_meter_idle_baseline(m, 5, &stop, &err), AIEB_EINTR);
    aieb_meter_close(m); /* joins the thread; ASan/TSan watch */
}

/* aieb_meter_open on a machine without NVML or RAPL: notes, then estimates. */
static void open_without_hardware(void **state)
{
    aieb_meter_opts o;
    aieb_meter_opts_init(&o);
    o.nvml_library = "/nonexistent/libnvidia-ml.so.1";
    o.powercap_root = "/nonexistent/powercap";
    aieb_meter *m = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_meter_open(&m, &o, &err), 0);
    assert_true(aieb_meter_n_notes(m) >= 2);
    assert_non_null(strstr(aieb_meter_note(m, 0), "/nonexistent/libnvidia-ml.so.1"));
    assert_non_null(strstr(aieb_meter_note(m, 1), "estimated"));
    int n = aieb_meter_n_channels(m);
    assert_int_equal(n, 2);
    assert_string_equal(aieb_meter_channel(m, 0)->method, "estimate_tdp_load");
    assert_string_equal(aieb_meter_channel(m, 1)->method, "estimate_dimm");
    assert_false(aieb_meter_channel(m, 1)->informational);
    assert_null(aieb_meter_channel(m, 2));
    json_t *d = aieb_meter_describe(m);
    assert_non_null(d);
    assert_int_equal(json_array_size(json_object_get(d, "channels")), 2);
    json_decref(d);
    aieb_meter_close(m);
    aieb_meter_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(power_only_trapezoid),
        cmocka_unit_test(power_gap_is_held),
        cmocka_unit_test(first_power_held_back),
        cmocka_unit_test(slow_source_holds_its_readings),
        cmocka_unit_test(counter_only_interpolates),
        cmocka_unit_test(counter_calibrates_power),
        cmocka_unit_test(marks_calibrate_piecewise),
        cmocka_unit_test(costly_counter_read_only_around_steps),
        cmocka_unit_test(anchors_calibrate_between_marks),
        cmocka_unit_test(run_between_steps_uses_power),
        cmocka_unit_test(baseline_gives_net),
        cmocka_unit_test(memory_growth_marks_gpu_used),
        cmocka_unit_test(window_errors),
        cmocka_unit_test(bad_interval_closes_sources),
        cmocka_unit_test(timeline_cap_decimates_keeping_totals),
        cmocka_unit_test(timeline_csv),
        cmocka_unit_test(sampler_thread_runs),
        cmocka_unit_test(read_now_pins_window_edges),
        cmocka_unit_test(meter_closes_while_running),
        cmocka_unit_test(open_without_hardware),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
