/* meter_internal.h - the meter's state, shared by meter.c (sampler, timeline)
 * and window.c (windows, summaries, outputs). Private to libaieb.
 */
#ifndef AIEB_METER_INTERNAL_H
#define AIEB_METER_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "aieb/clock.h"
#include "aieb/meter.h"
#include "meter/source.h"

/* One channel's values in one stored sample. */
typedef struct slot {
    double energy_j; /* the counter as read (NAN when none or unreadable) */
    double w_j;      /* cumulative energy since t_start: integrated power for
                        channels with power, counter minus its start value for
                        counter-only channels */
    float power_w;   /* reading; for counter-only channels the average since the
                        previous reading */
    float mem_used_mb, util_pct, temp_c, sm_clock_mhz;
} slot;

/* A stored sample: its time, then one slot per channel. */
typedef struct row {
    int64_t t_ns;
    slot s[];
} row;

/* Where a slow counter (NVML: ~100 ms steps) moved: the midpoint of the two
 * readings around the step (a few ms apart, thanks to fine sampling), the
 * counter's new value, and the integrated power W at that midpoint. k is the
 * calibration of the segment that starts here (for the last edge: the segment
 * before it). */
typedef struct edge {
    int64_t t_ns;
    double e_j, w_j;
    double k;
    int64_t half_ns; /* how far the step may lie from t_ns (half the readings' gap) */
    double u_j;      /* what that may cost in energy: power x half_ns */
} edge;

/* Most edges kept per channel (the start, one per mark, the stop), and most
 * anchor reads (one a second or so: 4 days). */
#define MAX_EDGES   4096
#define MAX_ANCHORS (1 << 19)

/* A counter read between located edges, taken [t0_ns, t1_ns] (the read's
 * start and end): once the update grid is known, the value is the counter at
 * the last step before t0 (docs/methodology.md, "Anchors"). */
typedef struct anchor {
    int64_t t0_ns, t1_ns;
    double e_j;
} anchor;

/* MODE_W: energy = k x W (channels without both a counter and power, or with
 * fewer than two located edges); MODE_EDGES: piecewise calibration between
 * located edges; MODE_COUNTER: the counter interpolated (power read zero). */
enum { MODE_W = 0, MODE_EDGES = 1, MODE_COUNTER = 2 };

/* Edge search per slow channel: idle; the next reading becomes the reference;
 * armed (the next change of the counter is an edge). */
enum { EDGE_IDLE = 0, EDGE_ARM_NEXT = 1, EDGE_ARMED = 2 };

typedef struct chan {
    const aieb_channel_info *info;
    int slow; /* counter and power, counter period >= 20 ms: locate its steps */
    /* online state, updated at every reading */
    int have_prev;
    int64_t prev_t, first_t; /* the last and the first reading */
    double prev_p;           /* last valid power (NAN before the first) */
    double w;
    double e0;     /* counter at start (NAN when unreadable) */
    double e_last; /* last valid counter */
    int64_t e_last_t;
    long n_changes;
    int64_t first_change_t, last_change_t;
    int edge_state;
    edge *edges;
    int n_edges, cap_edges;
    anchor *anchors;
    int n_anchors, cap_anchors;
    double w_stop, e_stop;
    /* results, set by finish */
    int mode;
    double k;       /* MODE_W: the factor; else the run's average (report only) */
    double e_start; /* MODE_EDGES: the calibrated energy at t_start */
    double total_j; /* whole run */
    int64_t period_ns;
    double idle_power_w; /* NAN without baseline */
    double idle_u_w;     /* the bound on idle_power_w (its window's / duration) */
    double *swing_pre;   /* (stop_row + 1) prefix sums of the intervals' bounds */
} chan;

/* The clock the meter reads: CLOCK_MONOTONIC when now is NULL. A clock with
 * sleep_until is virtual: meter_run_until drives the sampler's own schedule on
 * it (tests script late wake-ups and slow reads this way). */
typedef struct meter_clock {
    int64_t (*now)(void *ctx);
    void (*sleep_until)(void *ctx, int64_t t_ns);
    void *ctx;
} meter_clock;

/* The sampler's schedule: the next tick and the next anchor read. */
typedef struct meter_sched {
    int64_t next, anchor_at;
    long n_anchor;
    int advance; /* the next plan moves `next` on by one interval */
} meter_sched;

/* Log-scale histogram of durations: 4 buckets per octave of microseconds
 * (medians within about 12%), from 1 us to past a day. */
#define METER_HIST_N 160

/* The sampler's health (summary.json meter.quality). */
typedef struct meter_quality {
    long ticks;                  /* scheduled readings taken by the sampler */
    uint32_t late[METER_HIST_N]; /* how late each woke after its planned time */
    uint32_t read[METER_HIST_N]; /* how long each read of every source took */
    long reads;                  /* readings whose duration is in read[] */
    int64_t late_max_ns, read_max_ns;
    long late_half; /* ticks later than half the interval */
    long missed;    /* ticks skipped because the sampler fell behind */
    long dropped;   /* samples not stored (no memory for the timeline) */
    long restamped; /* readings whose stamp was moved (stop after a tick) */
} meter_quality;

enum { PH_START, PH_RUN, PH_STOP, PH_TAIL };
enum { ST_OPEN, ST_RUNNING, ST_STOPPED, ST_FINISHED };

#define ROWS_PER_CHUNK 1024

struct aieb_meter {
    aieb_meter_opts opts;
    int interval_ms;
    int64_t interval_ns, fine_ns;
    int manual;

    aieb_source **src;
    int n_src;
    int *src_base;          /* first channel of each source */
    int *src_err_count;     /* failed reads per source */
    int64_t *src_read_t;    /* when each source was last read (min_read_interval_ns) */
    int *src_cheap_counter; /* the source has a counter channel read at every tick */
    int64_t last_mark_ns;   /* for the automatic marks */
    int64_t anchor_ns;      /* costly counters are read this often between marks */
    int64_t last_anchor_ns;
    int64_t read_end_ns; /* when the last read_all ended */

    chan *ch;
    int n_ch, n_slow;
    int64_t max_slow_period_ns;
    aieb_channel_reading *scratch; /* one reading per channel */

    char *notes[AIEB_METER_MAX_NOTES];
    int n_notes;

    /* timeline: rows in chunks of ROWS_PER_CHUNK; mu guards rows and stop_req */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_cond_t read_cv; /* aieb_meter_read_now waits here for read_req's reading */
    int read_req;           /* a caller wants a reading now; 0 once taken */
    int64_t read_t;         /* when that reading was taken */
    unsigned char **chunks;
    size_t n_chunks, chunks_cap;
    size_t n_rows, max_rows, row_size;
    int stride, since_store; /* after decimation: one RUN sample in stride is stored */
    int64_t fine_until_ns;   /* sample every fine_ns until then (locating edges) */
    size_t stop_row;         /* index of the stop reading's row */

    int state;
    int64_t t_start, t_stop;
    int has_baseline;
    int64_t b0, b1;

    pthread_t thread;
    int thread_started, stop_req;

    meter_clock clock;
    meter_sched sched;
    meter_quality quality;
};

/* ==== meter.c: reading and recording ====================================== */

/* The meter's clock now. */
static inline int64_t meter_now(const struct aieb_meter *m)
{
    return m->clock.now ? m->clock.now(m->clock.ctx) : aieb_now_ns();
}

/* Reads every source into m->scratch (a source read less often than every tick
 * keeps its last readings unless force). Costly counters are read only when
 * counters is set (start, stop, while steps are being located). Not under the
 * lock: sources may be slow. */
void meter_read_all(struct aieb_meter *m, int64_t t_ns, int force, int counters);

/* Folds m->scratch (read at t) into the channels and the timeline. Under the lock. */
void meter_record(struct aieb_meter *m, int64_t t, int phase, int is_anchor);

/* Fine sampling is on: some slow counter's step is being located. Reads state
 * the sampler thread owns (or the caller, once the thread is joined). */
int meter_fine_wanted(const struct aieb_meter *m, int64_t now);

/* Some slow counter still has a step to be located. */
int meter_edges_pending(const struct aieb_meter *m);

/* Asks every slow counter for its next step after the next reading. */
void meter_arm_edges(struct aieb_meter *m, int state);

/* How long fine sampling looks for a step after a mark. */
int64_t meter_edge_wait_ns(const struct aieb_meter *m);

/* Records a located counter step. Past MAX_EDGES (or out of memory) steps are
 * not kept: calibration then spans longer segments. */
void meter_push_edge(chan *c, int64_t t, double e, double w, int64_t half_ns, double u_j);

/* ==== sampler.c: the schedule, the thread, its health ===================== */

/* Starts the schedule at t_start. */
void meter_sched_init(struct aieb_meter *m);

/* The sampler thread's body (arg: the meter). */
void *meter_sampler_main(void *arg);

/* Counts one read's duration in the health figures. */
void meter_note_read(struct aieb_meter *m, int64_t took_ns);

/* Uses clock instead of CLOCK_MONOTONIC (before start; tests). */
void meter_set_clock(struct aieb_meter *m, const meter_clock *clock);

/* Runs the sampler's schedule on the calling thread, on a virtual clock, until
 * the next reading would be at or after until_ns. The meter must have been
 * started with aieb_meter_start_at. Fails with AIEB_EINVAL otherwise. */
int meter_run_until(struct aieb_meter *m, int64_t until_ns, aieb_err *err);

/* ==== uncertainty.c ======================================================= */

/* Bounds on the error of channel c's energy in [t0, t1]: at its start, at its
 * end and along its span (J, calibration applied). Needs a finished meter. */
void meter_window_uncertainty(const struct aieb_meter *m, int c, int64_t t0, int64_t t1,
                              double *u_start, double *u_end, double *u_span);

/* Bound on the error of channel c's cumulative energy at row i <= stop_row
 * (since t_start, as the timeline writes it). A window between two rows is
 * within the sum of their bounds. */
double meter_cumulative_uncertainty(const struct aieb_meter *m, int c, size_t i);

/* Builds each channel's prefix sums of its sampling intervals' bounds (rows 0
 * to stop_row), so that any window's bound costs two row searches. Called by
 * aieb_meter_finish. Returns 0, or AIEB_ENOMEM (the channels without them
 * then state NAN bounds: unknown, not wrong). */
int meter_swing_build(struct aieb_meter *m);

/* ==== window.c ============================================================ */

/* Row i (i < n_rows). */
static inline row *meter_row(const struct aieb_meter *m, size_t i)
{
    return (row *)(m->chunks[i / ROWS_PER_CHUNK] + (i % ROWS_PER_CHUNK) * m->row_size);
}

/* Cumulative energy of channel c at t (t_start <= t <= t_stop), in the
 * channel's window units (k already applied). */
double meter_energy_at(const struct aieb_meter *m, int c, int64_t t_ns);

/* Channel c's integrated power W at t (t_start <= t <= t_stop), from the rows
 * around t, not calibrated. */
double meter_raw_w_at(const struct aieb_meter *m, int c, int64_t t_ns);

/* The index of c's first edge after t (n_edges when none). */
int meter_edge_after(const chan *c, int64_t t);

/* The calibrated cumulative energy of a MODE_EDGES channel at t, where its
 * integrated power is w (not yet relative to t_start). */
double meter_calibrated(const chan *c, int64_t t_ns, double w);

/* First row index whose time is > t (binary search over [0, stop_row]). */
size_t meter_upper_row(const struct aieb_meter *m, int64_t t_ns);

#endif
