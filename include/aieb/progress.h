/* progress.h - the workload's progress on stderr while `aieb run` runs.
 *
 * On a terminal: one line redrawn in place ("\r" ... erase to the end of the
 * line) with a bar, done/total, requests/s, tokens/s, the current total power
 * and the time left, at most once per redraw period (100 ms), and erased at
 * the end. Elsewhere (a pipe, a file, CI logs): one plain line every 10 s or
 * every 10% of the requests, and at the last one. The caller decides whether
 * to show progress at all (`aieb -q` shows none).
 */
#ifndef AIEB_PROGRESS_H
#define AIEB_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "aieb/err.h"
#include "aieb/run.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aieb_progress_opts {
    int fd;           /* where to write; < 0 = STDERR_FILENO */
    int tty;          /* 1: the redrawn bar, 0: plain lines, -1: isatty(fd) decides */
    int width;        /* columns for the bar; <= 0: the terminal's width, else 80 */
    int redraw_ms;    /* bar: at most one redraw per this many ms; <= 0: 100 */
    int line_every_s; /* lines: one at least this often while requests finish; <= 0: 10 */
} aieb_progress_opts;

/* Fills o with the defaults (fd -1, tty -1, the rest 0). Can't fail. */
AIEB_API void aieb_progress_opts_init(aieb_progress_opts *o);

typedef struct aieb_progress aieb_progress;

/* Creates a display. Fails only with AIEB_ENOMEM. Free with aieb_progress_free. */
AIEB_API int aieb_progress_create(const aieb_progress_opts *o, aieb_progress **out, aieb_err *err);

/* Shows rp at time now_ns (CLOCK_MONOTONIC): redraws the bar when the last
 * redraw is at least redraw_ms old, or writes a line when one is due. Write
 * errors are ignored (progress is never worth failing a run for). */
AIEB_API void aieb_progress_update_at(aieb_progress *p, const aieb_run_progress *rp,
                                      int64_t now_ns);

/* aieb_progress_update_at with the current time, shaped for
 * aieb_run_opts.progress (user is the aieb_progress). */
AIEB_API void aieb_progress_callback(void *user, const aieb_run_progress *rp);

/* Erases the bar if one is on screen, so what follows starts on a clean line.
 * Lines mode: nothing. Safe to call more than once. */
AIEB_API void aieb_progress_finish(aieb_progress *p);

/* Frees p (NULL is fine). Does not erase: call aieb_progress_finish first. */
AIEB_API void aieb_progress_free(aieb_progress *p);

/* Formats the bar's text (no "\r", no escape codes) for rp into buf, at most
 * width - 1 columns so the terminal never wraps it: "[####......] 3/10  0.31
 * req/s  2.5 tok/s  245 W  ETA 0:23". Returns its length. */
AIEB_API size_t aieb_progress_format_bar(const aieb_run_progress *rp, int width, char *buf,
                                         size_t size);

/* Formats the plain progress line (with a trailing newline) into buf: "aieb:
 * progress: 3/10 requests (0 failed), 0.31 req/s, 2.5 tok/s, 245 W, 9.6 s,
 * ETA 23 s". Returns its length. */
AIEB_API size_t aieb_progress_format_line(const aieb_run_progress *rp, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
