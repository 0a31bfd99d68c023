/* plot.c - power.png and power.svg: power over time per channel (report.h).
 *
 * One drawing routine renders onto a cairo image surface (PNG) and an SVG
 * surface; both are produced in memory and written atomically. Text uses
 * cairo's toy font API with DejaVu Sans (fonts-dejavu-core), which fontconfig
 * finds on any Debian system; without it cairo falls back to another face.
 * Long timelines are thinned to a minimum and a maximum per pixel column so the
 * SVG stays small and every peak stays visible.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo-svg.h>
#include <cairo.h>

#include "aieb/fileio.h"
#include "aieb/report.h"
#include "report/report_internal.h"

#define W        AIEB_PLOT_WIDTH
#define H        AIEB_PLOT_HEIGHT
#define LEFT     80.0
#define RIGHT    (W - 250.0)
#define TOP      56.0
#define BOTTOM   (H - 64.0)
#define FONT     "DejaVu Sans"
#define MAX_FILE (64u << 20) /* an SVG of a thinned timeline is far smaller */

typedef struct series {
    int col;
    char label[64];
    char method[64];
    double idle_w; /* NAN when unknown */
    double rgb[3];
    int informational;
} series;

typedef struct plot {
    const aieb_run_files *f;
    series *s;
    size_t n;
    double t0, t1, ymax;
} plot;

/* Colours that stay apart for readers with the common colour-vision deficiencies
 * (the widely used "tab10" hues). */
static const double palette[][3] = {
    {0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173}, {0.839, 0.153, 0.157},
    {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294}, {0.890, 0.467, 0.761}, {0.498, 0.498, 0.498},
    {0.737, 0.741, 0.133}, {0.090, 0.745, 0.812},
};
#define N_PALETTE (sizeof palette / sizeof palette[0])

static const struct {
    const char *key, *label;
    double rgb[3];
} spans[] = {
    {"idle_baseline", "idle baseline", {0.55, 0.55, 0.55}},
    {"model_load", "model load", {0.95, 0.75, 0.20}},
    {"warmup", "warmup", {0.95, 0.45, 0.25}},
    {"workload", "workload", {0.30, 0.55, 0.90}},
};
#define N_SPANS (sizeof spans / sizeof spans[0])

/* ==== Data ================================================================= */

static json_t *channel_of(const aieb_run_files *f, const char *label)
{
    json_t *ch;
    size_t i;
    json_array_foreach(rj_get(f->summary, "meter.channels"), i, ch)
    {
        const char *l = rj_str(ch, "label");
        if (l && strcmp(l, label) == 0)
            return ch;
    }
    return NULL;
}

static int collect(plot *p)
{
    const aieb_timeseries *ts = &p->f->ts;
    p->s = calloc(ts->n_cols + 1, sizeof *p->s);
    if (!p->s)
        return AIEB_ENOMEM;
    static const char suffix[] = "_power_w";
    for (size_t c = 0; c < ts->n_cols; c++) {
        size_t len = strlen(ts->names[c]), sl = sizeof suffix - 1;
        if (len <= sl || strcmp(ts->names[c] + len - sl, suffix) != 0 || len - sl >= 64)
            continue;
        series *s = &p->s[p->n];
        s->col = (int)c;
        memcpy(s->label, ts->names[c], len - sl);
        s->label[len - sl] = '\0';
        json_t *ch = channel_of(p->f, s->label);
        s->idle_w = rj_num(ch, "idle_power_w");
        snprintf(s->method, sizeof s->method, "%s",
                 rj_str(ch, "method") ? rj_str(ch, "method") : "");
        s->informational = rj_bool(ch, "informational") == 1;
        memcpy(s->rgb, palette[p->n % N_PALETTE], sizeof s->rgb);
        p->n++;
    }
    p->t0 = 0;
    p->t1 = 1;
    p->ymax = 0;
    if (ts->n_rows && ts->t_col >= 0) {
        p->t0 = fmin(0, aieb_timeseries_at(ts, 0, ts->t_col));
        p->t1 = aieb_timeseries_at(ts, ts->n_rows - 1, ts->t_col);
    }
    for (size_t k = 0; k < N_SPANS; k++) {
        char key[64];
        snprintf(key, sizeof key, "timeline.%s.end_s", spans[k].key);
        double end = rj_num(p->f->summary, key);
        if (end > p->t1)
            p->t1 = end;
    }
    if (!(p->t1 > p->t0))
        p->t1 = p->t0 + 1;
    for (size_t k = 0; k < p->n; k++) {
        for (size_t i = 0; i < ts->n_rows; i++) {
            double v = aieb_timeseries_at(ts, i, p->s[k].col);
            if (v > p->ymax)
                p->ymax = v;
        }
        if (p->s[k].idle_w > p->ymax)
            p->ymax = p->s[k].idle_w;
    }
    return 0;
}

/* ==== Drawing ============================================================== */

static double nice_step(double range, int target)
{
    double raw = range / target, mag = pow(10, floor(log10(raw))), fr = raw / mag;
    return (fr < 1.5 ? 1 : fr < 3 ? 2 : fr < 7 ? 5 : 10) * mag;
}

static double px_x(const plot *p, double t)
{
    return LEFT + (t - p->t0) / (p->t1 - p->t0) * (RIGHT - LEFT);
}

static double px_y(const plot *p, double v)
{
    return BOTTOM - v / p->ymax * (BOTTOM - TOP);
}

static void text(cairo_t *cr, double x, double y, const char *s, double align)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - align * e.x_advance, y);
    cairo_show_text(cr, s);
}

static void draw_spans(cairo_t *cr, const plot *p)
{
    cairo_set_font_size(cr, 12);
    for (size_t k = 0; k < N_SPANS; k++) {
        char key[64];
        snprintf(key, sizeof key, "timeline.%s", spans[k].key);
        json_t *sp = rj_get(p->f->summary, key);
        double a = rj_num(sp, "start_s"), b = rj_num(sp, "end_s");
        if (isnan(a) || isnan(b) || b <= a)
            continue;
        double x0 = px_x(p, a), x1 = px_x(p, b);
        cairo_set_source_rgba(cr, spans[k].rgb[0], spans[k].rgb[1], spans[k].rgb[2], 0.16);
        cairo_rectangle(cr, x0, TOP, x1 - x0, BOTTOM - TOP);
        cairo_fill(cr);
        cairo_text_extents_t e;
        cairo_text_extents(cr, spans[k].label, &e);
        if (e.x_advance + 6 < x1 - x0) {
            cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
            text(cr, (x0 + x1) / 2, TOP + 15, spans[k].label, 0.5);
        }
    }
}

static void draw_axes(cairo_t *cr, const plot *p)
{
    char buf[128];
    cairo_set_font_size(cr, 12);
    cairo_set_line_width(cr, 1);
    double ys = nice_step(p->ymax, 6);
    for (double v = 0; v <= p->ymax + ys * 1e-6; v += ys) {
        double y = round(px_y(p, v)) + 0.5;
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, LEFT, y);
        cairo_line_to(cr, RIGHT, y);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        snprintf(buf, sizeof buf, "%g", v);
        text(cr, LEFT - 8, y + 4, buf, 1.0);
    }
    double xs = nice_step(p->t1 - p->t0, 10);
    for (double t = ceil(p->t0 / xs) * xs; t <= p->t1 + xs * 1e-6; t += xs) {
        double x = round(px_x(p, t)) + 0.5;
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        cairo_move_to(cr, x, BOTTOM);
        cairo_line_to(cr, x, BOTTOM + 5);
        cairo_stroke(cr);
        snprintf(buf, sizeof buf, "%g", fabs(t) < xs * 1e-6 ? 0.0 : t);
        text(cr, x, BOTTOM + 19, buf, 0.5);
    }
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_rectangle(cr, LEFT + 0.5, TOP + 0.5, RIGHT - LEFT, BOTTOM - TOP);
    cairo_stroke(cr);
    cairo_set_font_size(cr, 13);
    text(cr, (LEFT + RIGHT) / 2, H - 20, "Time since the meter started (s)", 0.5);
    cairo_save(cr);
    cairo_translate(cr, 24, (TOP + BOTTOM) / 2);
    cairo_rotate(cr, -M_PI / 2);
    text(cr, 0, 0, "Power (W)", 0.5);
    cairo_restore(cr);

    const char *name = rj_str(p->f->summary, "name"), *id = rj_str(p->f->summary, "run_id");
    snprintf(buf, sizeof buf, "Power over time: %.24s %.24s", name ? name : "", id ? id : "");
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 16);
    text(cr, LEFT, 32, buf, 0);
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
}

/* One channel, thinned to its minimum and maximum per pixel column. */
static void draw_series(cairo_t *cr, const plot *p, const series *s)
{
    const aieb_timeseries *ts = &p->f->ts;
    cairo_set_source_rgb(cr, s->rgb[0], s->rgb[1], s->rgb[2]);
    cairo_set_line_width(cr, 1.6);
    cairo_set_dash(cr, NULL, 0, 0);
    int drawing = 0;
    long bucket = -1;
    double bmin = 0, bmax = 0, tmin = 0, tmax = 0;
#define FLUSH()                                                                                    \
    do {                                                                                           \
        if (bucket >= 0) {                                                                         \
            double ta = tmin <= tmax ? tmin : tmax, va = tmin <= tmax ? bmin : bmax;               \
            double tb = tmin <= tmax ? tmax : tmin, vb = tmin <= tmax ? bmax : bmin;               \
            if (drawing)                                                                           \
                cairo_line_to(cr, px_x(p, ta), px_y(p, va));                                       \
            else                                                                                   \
                cairo_move_to(cr, px_x(p, ta), px_y(p, va));                                       \
            if (tb != ta)                                                                          \
                cairo_line_to(cr, px_x(p, tb), px_y(p, vb));                                       \
            drawing = 1;                                                                           \
        }                                                                                          \
        bucket = -1;                                                                               \
    } while (0)
    for (size_t i = 0; i < ts->n_rows; i++) {
        double t = aieb_timeseries_at(ts, i, ts->t_col), v = aieb_timeseries_at(ts, i, s->col);
        if (isnan(t) || isnan(v)) {
            FLUSH();
            if (drawing)
                cairo_stroke(cr);
            drawing = 0;
            continue;
        }
        long b = (long)floor(px_x(p, t));
        if (b != bucket) {
            FLUSH();
            bucket = b;
            bmin = bmax = v;
            tmin = tmax = t;
        } else {
            if (v < bmin) {
                bmin = v;
                tmin = t;
            }
            if (v > bmax) {
                bmax = v;
                tmax = t;
            }
        }
    }
    FLUSH();
#undef FLUSH
    if (drawing)
        cairo_stroke(cr);
    if (!isnan(s->idle_w)) {
        static const double dash[] = {7, 5};
        cairo_set_dash(cr, dash, 2, 0);
        cairo_set_line_width(cr, 1.2);
        cairo_move_to(cr, LEFT, px_y(p, s->idle_w));
        cairo_line_to(cr, RIGHT, px_y(p, s->idle_w));
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
    }
}

static void draw_legend(cairo_t *cr, const plot *p)
{
    double x = RIGHT + 20, y = TOP + 8;
    char buf[160];
    cairo_set_font_size(cr, 12);
    cairo_set_line_width(cr, 2);
    size_t room = (size_t)((BOTTOM - TOP - 24.0 * (N_SPANS + 2)) / 20.0);
    for (size_t k = 0; k < p->n; k++) {
        if (k == room && p->n > room + 1) {
            cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
            snprintf(buf, sizeof buf, "... and %zu more", p->n - k);
            text(cr, x, y + 4, buf, 0);
            y += 20;
            break;
        }
        const series *s = &p->s[k];
        cairo_set_source_rgb(cr, s->rgb[0], s->rgb[1], s->rgb[2]);
        cairo_move_to(cr, x, y);
        cairo_line_to(cr, x + 24, y);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        snprintf(buf, sizeof buf, "%s%s%s%s", s->label, s->method[0] ? " (" : "", s->method,
                 s->method[0] ? ")" : "");
        text(cr, x + 32, y + 4, buf, 0);
        y += 20;
    }
    static const double dash[] = {7, 5};
    cairo_set_dash(cr, dash, 2, 0);
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_move_to(cr, x, y);
    cairo_line_to(cr, x + 24, y);
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    text(cr, x + 32, y + 4, "idle power (per channel)", 0);
    y += 28;
    for (size_t k = 0; k < N_SPANS; k++) {
        cairo_set_source_rgba(cr, spans[k].rgb[0], spans[k].rgb[1], spans[k].rgb[2], 0.3);
        cairo_rectangle(cr, x, y - 7, 24, 14);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        text(cr, x + 32, y + 4, spans[k].label, 0);
        y += 22;
    }
}

static void draw(cairo_t *cr, plot *p)
{
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    double ymax = p->ymax > 0 ? p->ymax * 1.08 : 1;
    p->ymax = ceil(ymax / nice_step(ymax, 6)) * nice_step(ymax, 6);
    draw_spans(cr, p);
    draw_axes(cr, p);
    cairo_save(cr);
    cairo_rectangle(cr, LEFT, TOP, RIGHT - LEFT, BOTTOM - TOP);
    cairo_clip(cr);
    for (size_t k = 0; k < p->n; k++)
        draw_series(cr, p, &p->s[k]);
    cairo_restore(cr);
    if (!p->n || !p->f->ts.n_rows) {
        cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
        cairo_set_font_size(cr, 18);
        text(cr, (LEFT + RIGHT) / 2, (TOP + BOTTOM) / 2, "no power samples", 0.5);
    }
    draw_legend(cr, p);
}

/* ==== Files ================================================================ */

static cairo_status_t to_buf(void *closure, const unsigned char *data, unsigned int len)
{
    return aieb_buf_append(closure, data, len) ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

static int render(plot *p, int svg, const char *path, aieb_err *err)
{
    aieb_buf b;
    aieb_buf_init(&b, MAX_FILE);
    cairo_surface_t *sf = svg ? cairo_svg_surface_create_for_stream(to_buf, &b, W, H)
                              : cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
    cairo_t *cr = cairo_create(sf);
    double ymax = p->ymax;
    draw(cr, p);
    p->ymax = ymax; /* draw() rounds it up; the second surface starts again */
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    if (st == CAIRO_STATUS_SUCCESS && !svg)
        st = cairo_surface_write_to_png_stream(sf, to_buf, &b);
    cairo_surface_finish(sf);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(sf);
    cairo_surface_destroy(sf);
    int rc = 0;
    if (st != CAIRO_STATUS_SUCCESS)
        rc = aieb_errf(err, st == CAIRO_STATUS_NO_MEMORY ? AIEB_ENOMEM : AIEB_EIO,
                       "%s: cannot draw the plot: %s", path, cairo_status_to_string(st));
    else
        rc = aieb_write_file_atomic(path, b.data, b.len, err);
    aieb_buf_free(&b);
    return rc;
}

int aieb_plot_power(const aieb_run_files *f, const char *png_path, const char *svg_path,
                    aieb_err *err)
{
    plot p;
    memset(&p, 0, sizeof p);
    p.f = f;
    if (collect(&p) != 0)
        return aieb_errf(err, AIEB_ENOMEM, "plot: out of memory");
    int rc = 0;
    if (png_path)
        rc = render(&p, 0, png_path, err);
    if (!rc && svg_path)
        rc = render(&p, 1, svg_path, err);
    free(p.s);
    return rc;
}
