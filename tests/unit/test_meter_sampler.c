/* test_meter_sampler.c - the sampler's own schedule (src/lib/meter/sampler.c)
 * run on a virtual clock, with scripted late wake-ups and slow reads, so what
 * it does on a busy machine is checked exactly and never depends on the
 * machine the test runs on.
 *
 * The stand-in GPU is the one of docs/methodology.md ("Sampling accuracy"): a
 * 100/300 W square wave with a 530 ms period (not a multiple of any interval),
 * an energy counter that moves every 100 ms (a costly read, as NVML's) and an
 * instantaneous power reading. Windows of 1 s and 2 s everywhere in the run
 * are compared with the exact integral.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/clock.h"
#include "aieb/meter.h"
#include "meter/meter_internal.h"

#define MS(x) ((int64_t)((x)*1e6))

static int64_t S(double s)
{
    return (int64_t)llround(s * 1e9);
}

/* ==== The virtual clock and its script ===================================== */

/* How late wake-ups are and how long reads take. */
typedef enum { CALM, BUSY, STARVED } load_kind;

typedef struct vclock {
    int64_t now;
    uint64_t rng;
    load_kind load;
    /* what the script did, to compare with what the meter reports */
    int64_t *late;
    long n_late, cap_late;
    int64_t read_max;
} vclock;

static uint64_t next_rand(vclock *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return c->rng;
}

static int64_t v_now(void *ctx)
{
    return ((vclock *)ctx)->now;
}

/* Wakes at t plus a scripted delay. BUSY is a machine whose cores are all
 * saturated: a sleeping sampler thread is still woken promptly (95% within
 * 0.8 ms), with a tail of 4.5% up to 4 ms and 0.5% of 10-20 ms. STARVED is
 * late by 12-45 ms half of the time. A wake-up after a read that overran t is
 * late by the overrun. */
static void v_sleep_until(void *ctx, int64_t t)
{
    vclock *c = ctx;
    int64_t late = 0;
    unsigned r = (unsigned)(next_rand(c) % 1000);
    if (c->load == BUSY)
        late = r < 950   ? r * 800
               : r < 995 ? MS(0.8) + (r - 950) * 71000
                         : MS(10) + (r - 995) * MS(2);
    else if (c->load == STARVED)
        late = r < 500 ? r * 1000 : MS(12) + (r - 500) * 66000;
    int64_t woke = (c->now > t ? c->now : t) + late;
    if (c->n_late == c->cap_late) {
        c->cap_late = c->cap_late ? 2 * c->cap_late : 1024;
        c->late = realloc(c->late, (size_t)c->cap_late * sizeof *c->late);
        assert_non_null(c->late);
    }
    c->late[c->n_late++] = woke - t;
    c->now = woke;
}

/* ==== The stand-in GPU ===================================================== */

#define P_LO     100.0
#define P_HI     300.0
#define PERIOD_S 0.53
#define STEP_S   0.1
#define PHASE_S  0.037 /* the counter's steps are at 0.037 + k x 0.1 s */

static double power_at(double t)
{
    double r = fmod(t, PERIOD_S);
    return r < PERIOD_S / 2 ? P_LO : P_HI;
}

/* Exact energy from time 0 to t. */
static double energy_to(double t)
{
    double h = PERIOD_S / 2, n = floor(t / PERIOD_S), r = t - n * PERIOD_S;
    return n * h * (P_LO + P_HI) + (r < h ? P_LO * r : P_LO * h + P_HI * (r - h));
}

typedef struct gpu {
    aieb_channel_info ch;
    vclock *clock;
    long counter_reads;
} gpu;

/* Reads power (cheap: 30 us) and, unless skipped, the counter (4 ms, as an
 * H100's driver call); under load one read in 200 takes 5 ms more. */
static int gpu_read(aieb_source *s, int64_t t_ns, aieb_channel_reading *out, aieb_err *err)
{
    gpu *g = s->ctx;
    vclock *c = g->clock;
    double t = (double)c->now / 1e9;
    aieb_reading_clear(out);
    out->power_w = power_at(t);
    int64_t took = 30000;
    if (!s->skip_counter) {
        double k = floor((t - PHASE_S) / STEP_S);
        out->energy_j = k < 0 ? 0 : energy_to(PHASE_S + k * STEP_S);
        took += MS(4);
        g->counter_reads++;
    }
    if (c->load != CALM && next_rand(c) % 200 == 0)
        took += MS(5);
    c->now += took;
    if (took > c->read_max)
        c->read_max = took;
    return 0;
}

static void gpu_close(aieb_source *s)
{
    free(s->ctx);
    free(s);
}

static aieb_source *gpu_source(vclock *c)
{
    aieb_source *s = calloc(1, sizeof *s);
    gpu *g = calloc(1, sizeof *g);
    assert_non_null(s);
    assert_non_null(g);
    g->ch.domain = AIEB_DOMAIN_GPU;
    g->ch.label = "gpu0";
    g->ch.method = "nvml_counter";
    g->ch.has_counter = g->ch.has_power = 1;
    g->ch.counter_period_ns = S(STEP_S);
    g->clock = c;
    s->name = "wave";
    s->n_channels = 1;
    s->channels = &g->ch;
    s->read = gpu_read;
    s->close = gpu_close;
    s->ctx = g;
    return s;
}

/* ==== A run ================================================================ */

typedef struct result {
    double run_err_pct;    /* whole run against the exact integral */
    int n_outside;         /* windows whose error exceeds their stated bound */
    double max_u_pct[2];   /* the largest stated bound, % of the window's energy */
    double max_err_pct[2]; /* windows of 1 s and 2 s */
    int n_windows[2];
    aieb_meter_quality q;
    long counter_reads;
} result;

/* Runs the meter's schedule for seconds at interval_ms (0: the default) under
 * load, stops as aieb_meter_stop does (tail readings every 2 ms until the
 * counter has moved), then measures windows every 50 ms through the run. */
static result run(int interval_ms, load_kind load, double seconds, vclock *c)
{
    memset(c, 0, sizeof *c);
    c->rng = 0x9e3779b97f4a7c15ULL;
    c->load = load;
    c->now = S(2.0); /* the wave and the counter started 2 s earlier */
    aieb_source *src[] = {gpu_source(c)};
    gpu *g = src[0]->ctx;
    aieb_meter_opts o;
    aieb_meter_opts_init(&o);
    o.sample_interval_ms = interval_ms;
    aieb_meter *m = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_meter_open_with(&m, &o, src, 1, &err), 0);
    meter_clock clock = {v_now, v_sleep_until, c};
    meter_set_clock(m, &clock);
    int64_t t0 = c->now;
    assert_int_equal(aieb_meter_start_at(m, t0, &err), 0);
    assert_int_equal(meter_run_until(m, t0 + S(seconds), &err), 0);
    assert_int_equal(aieb_meter_stop_at(m, c->now, &err), 0);
    int64_t t1 = aieb_meter_stop_ns(m);
    while (meter_edges_pending(m) && c->now - t1 < S(0.3)) {
        c->now += MS(2);
        assert_int_equal(aieb_meter_tick_at(m, c->now, &err), 0);
    }
    assert_int_equal(aieb_meter_finish(m, &err), 0);

    result res = {0};
    double a = (double)t0 / 1e9, b = (double)t1 / 1e9;
    aieb_window w;
    assert_int_equal(aieb_meter_window(m, t0, t1, &w, NULL, &err), 0);
    double exact = energy_to(b) - energy_to(a);
    res.run_err_pct = 100 * fabs(w.total_j - exact) / exact;
    res.n_outside += fabs(w.total_j - exact) > w.total_uncertainty_j + 1e-6;
    const double lens[2] = {1.0, 2.0};
    for (int k = 0; k < 2; k++) {
        for (double x = a; x + lens[k] <= b; x += 0.05) {
            assert_int_equal(aieb_meter_window(m, S(x), S(x + lens[k]), &w, NULL, &err), 0);
            exact = energy_to(x + lens[k]) - energy_to(x);
            double e = 100 * fabs(w.total_j - exact) / exact;
            if (fabs(w.total_j - exact) > w.total_uncertainty_j + 1e-6) {
                if (res.n_outside++ < 3)
                    print_message("window [%.3f, %.3f]: error %.3f J, bound %.3f J\n", x - a,
                                  x - a + lens[k], w.total_j - exact, w.total_uncertainty_j);
            }
            if (100 * w.total_uncertainty_j / exact > res.max_u_pct[k])
                res.max_u_pct[k] = 100 * w.total_uncertainty_j / exact;
            if (e > res.max_err_pct[k])
                res.max_err_pct[k] = e;
            res.n_windows[k]++;
        }
    }
    assert_int_equal(aieb_meter_get_quality(m, &res.q), 0);
    res.counter_reads = g->counter_reads;
    aieb_meter_close(m);
    return res;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* ==== Tests ================================================================ */

/* The default interval meets the accuracy the methodology promises: 1 s
 * windows within 2%, 2 s within 1%, on a calm and on a busy machine. */
static void default_interval_windows(void **state)
{
    (void)state;
    vclock c;
    const load_kind loads[] = {CALM, BUSY};
    for (int i = 0; i < 2; i++) {
        result r = run(0, loads[i], 8, &c);
        print_message("default interval, %s: run %.3f%%, 1 s windows max %.2f%% (n=%d), 2 s max "
                      "%.2f%% (n=%d)\n",
                      loads[i] == CALM ? "calm" : "busy", r.run_err_pct, r.max_err_pct[0],
                      r.n_windows[0], r.max_err_pct[1], r.n_windows[1]);
        assert_int_equal(r.q.interval_ms, AIEB_METER_DEFAULT_INTERVAL_MS);
        assert_true(r.n_windows[0] > 100 && r.n_windows[1] > 80);
        assert_true(r.run_err_pct < 0.1);
        assert_true(r.max_err_pct[0] <= 2.0);
        assert_true(r.max_err_pct[1] <= 1.0);
        /* every window's error is within the bound it states, and the bound
         * is not vacuous */
        print_message("  bounds: 1 s up to %.2f%%, 2 s up to %.2f%%\n", r.max_u_pct[0],
                      r.max_u_pct[1]);
        assert_int_equal(r.n_outside, 0);
        assert_true(r.max_u_pct[0] < 10 && r.max_u_pct[1] < 5);
        free(c.late);
    }
}

/* The check above can fail: at the old 100 ms default the same wave gives 1 s
 * windows off by more than 2% (the issue that changed the default saw 9.8%). */
static void coarse_interval_fails_the_bound(void **state)
{
    (void)state;
    vclock c;
    result r = run(100, CALM, 8, &c);
    print_message("100 ms, calm: run %.3f%%, 1 s windows max %.2f%%, 2 s max %.2f%%\n",
                  r.run_err_pct, r.max_err_pct[0], r.max_err_pct[1]);
    assert_true(r.max_err_pct[0] > 2.0);
    assert_true(r.run_err_pct < 0.25); /* whole runs stay close: the counter */
    assert_int_equal(r.n_outside, 0);  /* and the bounds say how far off */
    free(c.late);
}

/* The health figures are what the script did: every wake-up's lateness is
 * counted (the maximum exactly, the median within the histogram's 12%), the
 * slowest read; no warning when the tail is short; ticks skipped and a
 * warning when the sampler is starved. */
static void quality_reports_what_happened(void **state)
{
    (void)state;
    vclock c;
    result r = run(0, BUSY, 8, &c);
    assert_int_equal(r.q.ticks, c.n_late);
    qsort(c.late, (size_t)c.n_late, sizeof *c.late, cmp_i64);
    double max_ms = (double)c.late[c.n_late - 1] / 1e6, med_ms = (double)c.late[c.n_late / 2] / 1e6;
    assert_float_equal(r.q.late_max_ms, max_ms, 1e-9);
    assert_true(fabs(r.q.late_median_ms - med_ms) <= 0.13 * med_ms + 0.001);
    assert_float_equal(r.q.read_max_ms, (double)c.read_max / 1e6, 1e-9);
    long over = 0;
    for (long i = 0; i < c.n_late; i++)
        over += 2 * c.late[i] > MS(AIEB_METER_DEFAULT_INTERVAL_MS);
    assert_int_equal(r.q.late_over_half, over);
    assert_false(r.q.late_warning);
    assert_int_equal(r.q.dropped_samples, 0);
    assert_int_equal(r.q.decimation, 1);
    free(c.late);

    /* calm: nothing late, nothing missed */
    r = run(0, CALM, 3, &c);
    assert_true(r.q.late_max_ms < 4.1); /* only a 4 ms counter read can delay a tick */
    assert_int_equal(r.q.missed_ticks, 0);
    assert_false(r.q.late_warning);
    free(c.late);

    /* starved: late by more than half the interval half of the time */
    r = run(0, STARVED, 3, &c);
    assert_true(r.q.late_warning);
    assert_true(r.q.late_p95_ms > AIEB_METER_DEFAULT_INTERVAL_MS / 2.0);
    assert_true(r.q.missed_ticks > 0); /* up to 45 ms late at 20 ms: whole ticks skipped */
    json_t *j = aieb_meter_quality_json(&r.q);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "late_warning")));
    assert_non_null(json_object_get(json_object_get(j, "late_ms"), "median"));
    assert_int_equal(json_integer_value(json_object_get(j, "ticks")), r.q.ticks);
    json_decref(j);
    free(c.late);
}

/* The costly counter is read at start, stop, around the located steps and
 * about once a second, not at every tick. */
static void costly_counter_stays_rare(void **state)
{
    (void)state;
    vclock c;
    result r = run(0, CALM, 8, &c);
    assert_true(r.q.ticks > 300); /* 8 s at 20 ms */
    assert_true(r.counter_reads < r.q.ticks / 4);
    assert_true(r.counter_reads >= 8); /* start, the steps, anchors, stop */
    free(c.late);
}

/* A virtual run needs a virtual clock and a manual start. */
static void virtual_run_errors(void **state)
{
    (void)state;
    vclock c = {.now = S(1)};
    aieb_source *src[] = {gpu_source(&c)};
    aieb_meter *m = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_meter_open_with(&m, NULL, src, 1, &err), 0);
    assert_int_equal(meter_run_until(m, S(2), &err), AIEB_EINVAL); /* not started */
    assert_int_equal(aieb_meter_start_at(m, S(1), &err), 0);
    assert_int_equal(meter_run_until(m, S(2), &err), AIEB_EINVAL); /* no virtual clock */
    assert_non_null(strstr(err.msg, "virtual clock"));
    aieb_meter_close(m);
    free(c.late);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_interval_windows),
        cmocka_unit_test(coarse_interval_fails_the_bound),
        cmocka_unit_test(quality_reports_what_happened),
        cmocka_unit_test(costly_counter_stays_rare),
        cmocka_unit_test(virtual_run_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
