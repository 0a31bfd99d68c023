/* meter_internal.h - the meter's state, shared by meter.c (sampler, timeline)
 * and window.c (windows, summaries, outputs). Private to libaieb.
 */
#ifndef AIEB_METER_INTERNAL_H
#define AIEB_METER_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

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
} chan;

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
    unsigned char **chunks;
    size_t n_chunks, chunks_cap;
    size_t n_rows, max_rows, row_size;
    int stride, since_store; /* after decimation: one RUN sample in stride is stored */
    int dropped_logged;
    int64_t fine_until_ns; /* sample every fine_ns until then (locating edges) */
    size_t stop_row;       /* index of the stop reading's row */

    int state;
    int64_t t_start, t_stop;
    int has_baseline;
    int64_t b0, b1;

    pthread_t thread;
    int thread_started, stop_req;
};

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

/* The calibrated cumulative energy of a MODE_EDGES channel at t, where its
 * integrated power is w (not yet relative to t_start). */
double meter_calibrated(const chan *c, int64_t t_ns, double w);

/* First row index whose time is > t (binary search over [0, stop_row]). */
size_t meter_upper_row(const struct aieb_meter *m, int64_t t_ns);

#endif
