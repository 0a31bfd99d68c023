/* progress.c - the progress display of `aieb run` (progress.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "aieb/clock.h"
#include "aieb/progress.h"

#define DEFAULT_WIDTH 80
#define BAR_MIN       10
#define BAR_MAX       30
#define ERASE_EOL     "\x1b[K" /* ECMA-48 EL: erase from the cursor to the end of the line */

struct aieb_progress {
    int fd, tty, width;
    int64_t redraw_ns, line_ns;
    int64_t last_ns; /* last bar redraw or line; 0 = none yet */
    size_t last_done;
    int bar_shown;
};

void aieb_progress_opts_init(aieb_progress_opts *o)
{
    memset(o, 0, sizeof *o);
    o->fd = -1;
    o->tty = -1;
}

int aieb_progress_create(const aieb_progress_opts *o, aieb_progress **out, aieb_err *err)
{
    aieb_progress_opts d;
    if (!o) {
        aieb_progress_opts_init(&d);
        o = &d;
    }
    aieb_progress *p = calloc(1, sizeof *p);
    if (!p)
        return aieb_errf(err, AIEB_ENOMEM, "progress: out of memory");
    p->fd = o->fd >= 0 ? o->fd : STDERR_FILENO;
    p->tty = o->tty >= 0 ? o->tty : isatty(p->fd);
    p->width = o->width;
    if (p->width <= 0) {
        struct winsize ws;
        p->width = p->tty && ioctl(p->fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col
                                                                                 : DEFAULT_WIDTH;
    }
    p->redraw_ns = (int64_t)(o->redraw_ms > 0 ? o->redraw_ms : 100) * 1000000;
    p->line_ns = (int64_t)(o->line_every_s > 0 ? o->line_every_s : 10) * AIEB_NS_PER_S;
    /* Lines count their 10 s from the start; the bar draws at once. */
    if (!p->tty)
        p->last_ns = aieb_now_ns();
    *out = p;
    return 0;
}

void aieb_progress_free(aieb_progress *p)
{
    free(p);
}

/* ==== Text ================================================================= */

static const char *fmt_eta(const aieb_run_progress *rp, char *buf, size_t size)
{
    if (rp->done >= rp->total) {
        snprintf(buf, size, "done");
        return buf;
    }
    if (!(rp->req_per_s > 0)) {
        snprintf(buf, size, "--:--");
        return buf;
    }
    double left = (double)(rp->total - rp->done) / rp->req_per_s;
    long s = left < 360000 ? (long)ceil(left) : 359999;
    if (s >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
    return buf;
}

static const char *fmt_power(const aieb_run_progress *rp, char *buf, size_t size)
{
    if (isnan(rp->power_w))
        snprintf(buf, size, "-- W");
    else
        snprintf(buf, size, "%.0f W", rp->power_w);
    return buf;
}

size_t aieb_progress_format_bar(const aieb_run_progress *rp, int width, char *buf, size_t size)
{
    char eta[32], pw[32], failed[32] = "", text[192];
    if (rp->failed)
        snprintf(failed, sizeof failed, " (%zu failed)", rp->failed);
    /* done is padded to total's digits so the bar keeps its length as it grows. */
    int digits = snprintf(NULL, 0, "%zu", rp->total);
    int tl = snprintf(text, sizeof text, " %*zu/%zu%s  %.2f req/s  %.1f tok/s  %s  ETA %s", digits,
                      rp->done, rp->total, failed, rp->req_per_s, rp->tok_per_s,
                      fmt_power(rp, pw, sizeof pw), fmt_eta(rp, eta, sizeof eta));
    if (tl < 0)
        tl = 0;
    if (tl >= (int)sizeof text)
        tl = (int)sizeof text - 1;
    int room = (width > 1 ? width - 1 : DEFAULT_WIDTH - 1) - tl - 2; /* 2 for the brackets */
    int bar = room > BAR_MAX ? BAR_MAX : room;
    size_t n = 0;
    if (size == 0)
        return 0;
    if (bar >= BAR_MIN && (size_t)bar + 3 < size) {
        double frac = rp->total ? (double)rp->done / (double)rp->total : 0;
        int full = (int)(frac * bar + 1e-9);
        buf[n++] = '[';
        for (int i = 0; i < bar; i++)
            buf[n++] = i < full ? '#' : '.';
        buf[n++] = ']';
    }
    /* Without room for the bar the text alone is cut to the width. */
    size_t limit = width > 1 ? (size_t)width - 1 : DEFAULT_WIDTH - 1;
    const char *t = n ? text : text + 1;
    for (; *t && n + 1 < size && n < limit; t++)
        buf[n++] = *t;
    buf[n] = '\0';
    return n;
}

size_t aieb_progress_format_line(const aieb_run_progress *rp, char *buf, size_t size)
{
    char eta[32], pw[32];
    int n = snprintf(buf, size,
                     "aieb: progress: %zu/%zu requests (%zu failed), %.2f req/s, %.1f tok/s, %s, "
                     "%.1f s, ETA %s\n",
                     rp->done, rp->total, rp->failed, rp->req_per_s, rp->tok_per_s,
                     fmt_power(rp, pw, sizeof pw), rp->elapsed_s, fmt_eta(rp, eta, sizeof eta));
    if (n < 0)
        return 0;
    return (size_t)n < size ? (size_t)n : size - 1;
}

/* ==== Output =============================================================== */

static void put(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

void aieb_progress_update_at(aieb_progress *p, const aieb_run_progress *rp, int64_t now_ns)
{
    if (!p || !rp)
        return;
    if (p->tty) {
        if (p->last_ns && now_ns - p->last_ns < p->redraw_ns)
            return;
        char buf[512];
        buf[0] = '\r';
        size_t n = 1 + aieb_progress_format_bar(rp, p->width, buf + 1, sizeof buf - 1 - 4);
        memcpy(buf + n, ERASE_EOL, sizeof ERASE_EOL - 1);
        n += sizeof ERASE_EOL - 1;
        put(p->fd, buf, n);
        p->last_ns = now_ns;
        p->bar_shown = 1;
        return;
    }
    size_t step = rp->total >= 10 ? rp->total / 10 : 1;
    int due = rp->done >= rp->total || now_ns - p->last_ns >= p->line_ns ||
              rp->done / step != p->last_done / step;
    if (!due)
        return;
    char buf[512];
    size_t n = aieb_progress_format_line(rp, buf, sizeof buf);
    put(p->fd, buf, n);
    p->last_ns = now_ns;
    p->last_done = rp->done;
}

void aieb_progress_callback(void *user, const aieb_run_progress *rp)
{
    aieb_progress_update_at(user, rp, aieb_now_ns());
}

void aieb_progress_finish(aieb_progress *p)
{
    if (!p || !p->bar_shown)
        return;
    static const char clear[] = "\r" ERASE_EOL;
    put(p->fd, clear, sizeof clear - 1);
    p->bar_shown = 0;
}
