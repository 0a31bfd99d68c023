/* report_internal.h - helpers shared by report_md.c, report_compare.c and
 * plot.c: reading figures out of summary.json, formatting numbers, and a
 * Markdown writer with a sticky error. */
#ifndef AIEB_REPORT_INTERNAL_H
#define AIEB_REPORT_INTERNAL_H

#include <stddef.h>

#include <jansson.h>

#include "aieb/buf.h"
#include "aieb/report.h"

#define REPORT_NA "n/a"

/* ==== summary.json ========================================================= */

/* The value at a dotted path ("energy.net.energy_wh"), NULL when any step is
 * missing or not an object. */
json_t *rj_get(json_t *o, const char *path);
/* The number at path, NAN when absent, null or not a number. */
double rj_num(json_t *o, const char *path);
/* The string at path, NULL when absent or not a string. */
const char *rj_str(json_t *o, const char *path);
/* 1 for true, 0 for false, -1 when absent, null or not a boolean. */
int rj_bool(json_t *o, const char *path);

/* The sum of an energy_j object's domains: "primary" (gpu, or cpu + dram + ram
 * when primary is "cpu+ram") or all of them. Nulls count as 0; NAN when every
 * domain that matters is null. */
double rj_energy_j(json_t *energy_j, const char *primary, int all_domains);

/* ==== Numbers ============================================================== */

/* v with 4 significant digits in fixed notation ("0.07435", "297.5", "2591");
 * "0" for |v| < 1e-9; "n/a" for NAN. Returns buf. */
const char *fmt_sig(char *buf, size_t size, double v);
/* v with a fixed number of decimals; "n/a" for NAN. Returns buf. */
const char *fmt_fix(char *buf, size_t size, double v, int decimals);
/* Like fmt_sig with a leading "+" for positive values. */
const char *fmt_signed(char *buf, size_t size, double v);

/* ==== Timeseries =========================================================== */

/* Index of the first row whose t_s >= t (n_rows when none). */
size_t ts_lower_bound(const aieb_timeseries *ts, double t);
/* Column v linearly interpolated at time t (clamped to the first/last row);
 * NAN without rows or when the neighbours are NAN. */
double ts_interp(const aieb_timeseries *ts, int col, double t);

/* ==== Markdown writer ====================================================== */

typedef struct md {
    aieb_buf *b;
    int rc; /* the first aieb_buf error; later writes are skipped */
} md;

void md_printf(md *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A table cell's text: '|' escaped, line breaks as spaces, "n/a" for NULL. */
void md_cell(md *m, const char *s);

#endif
