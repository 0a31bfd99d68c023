/* test_progress.c - the progress display: the bar redrawn in place on a real
 * pseudo-terminal (forkpty), at most once per redraw period, fitted to the
 * terminal's width and erased at the end; plain lines on a pipe every 10% or
 * 10 s; the text of both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aieb/clock.h"
#include "aieb/progress.h"

#define MS 1000000LL

static aieb_run_progress prog(size_t done, size_t total, double rps, double power)
{
    aieb_run_progress p = {.done = done,
                           .total = total,
                           .req_per_s = rps,
                           .tok_per_s = rps * 40,
                           .elapsed_s = rps > 0 ? (double)done / rps : 0,
                           .power_w = power};
    return p;
}

/* ==== Text ================================================================= */

static void bar_text(void **state)
{
    (void)state;
    char buf[256];
    aieb_run_progress p = prog(3, 10, 0.5, 245.4);
    size_t n = aieb_progress_format_bar(&p, 80, buf, sizeof buf);
    assert_int_equal(n, strlen(buf));
    assert_true(n <= 79);
    assert_string_equal(
        buf, "[#########.....................]  3/10  0.50 req/s  20.0 tok/s  245 W  ETA 0:14");
    p = prog(10, 10, 2, NAN);
    p.failed = 2;
    aieb_progress_format_bar(&p, 80, buf, sizeof buf);
    const char *end = strchr(buf, ']');
    assert_non_null(end);
    assert_int_equal(buf[0], '[');
    assert_null(memchr(buf, '.', (size_t)(end - buf))); /* full */
    assert_true(end - buf > 10);
    assert_non_null(strstr(buf, "] 10/10 (2 failed)"));
    assert_non_null(strstr(buf, "-- W  ETA done"));
    p = prog(1, 100000, 0.01, 100);
    aieb_progress_format_bar(&p, 200, buf, sizeof buf);
    assert_non_null(strstr(buf, "ETA 99:59:59")); /* 99999 / 0.01 s is more: capped */
}

static void bar_fits_narrow_terminals(void **state)
{
    (void)state;
    char buf[256];
    aieb_run_progress p = prog(3, 10, 0, 50);
    size_t n = aieb_progress_format_bar(&p, 60, buf, sizeof buf);
    assert_true(n <= 59);
    assert_int_equal(buf[0], '['); /* room for a short bar */
    assert_non_null(strstr(buf, "ETA --:--"));
    n = aieb_progress_format_bar(&p, 30, buf, sizeof buf);
    assert_int_equal(n, 29); /* no bar, the text cut to the width */
    assert_int_equal(strncmp(buf, " 3/10  0.00 req/s", 17), 0);
    n = aieb_progress_format_bar(&p, 80, buf, 8);
    assert_true(n < 8);
}

static void line_text(void **state)
{
    (void)state;
    char buf[256];
    aieb_run_progress p = prog(5, 10, 0.25, 612.8);
    p.failed = 1;
    size_t n = aieb_progress_format_line(&p, buf, sizeof buf);
    assert_int_equal(n, strlen(buf));
    assert_string_equal(buf, "aieb: progress: 5/10 requests (1 failed), 0.25 req/s, 10.0 tok/s, "
                             "613 W, 20.0 s, ETA 0:20\n");
}

/* ==== On a pseudo-terminal ================================================= */

/* Reads everything the child writes to the pty until it exits. */
static size_t read_all(int fd, char *buf, size_t size)
{
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, size - 1 - n);
        if (r > 0) {
            n += (size_t)r;
            if (n == size - 1)
                break;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        break; /* EIO once the child side is closed */
    }
    buf[n] = '\0';
    return n;
}

static size_t count(const char *s, const char *needle)
{
    size_t k = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        k++;
    return k;
}

static void bar_on_a_pty(void **state)
{
    (void)state;
    struct winsize ws = {.ws_row = 24, .ws_col = 70};
    int master;
    pid_t pid = forkpty(&master, NULL, NULL, &ws);
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The child: stderr is the pty; the display finds that out itself. */
        aieb_progress *p = NULL;
        if (aieb_progress_create(NULL, &p, NULL) != 0)
            _exit(2);
        int64_t t0 = 1000 * MS;
        /* 20 requests 50 ms apart: with 100 ms between redraws, 10 are drawn
         * (requests 1, 3, 5, ..., 19). */
        for (size_t i = 1; i <= 20; i++) {
            aieb_run_progress rp = prog(i, 20, 20, 300 + (double)i);
            aieb_progress_update_at(p, &rp, t0 + (int64_t)i * 50 * MS);
        }
        aieb_progress_finish(p);
        aieb_progress_finish(p); /* a second call writes nothing */
        aieb_progress_free(p);
        static const char done[] = "aieb: 20 request(s) ok\n";
        if (write(STDERR_FILENO, done, sizeof done - 1) < 0)
            _exit(3);
        _exit(0);
    }
    static char out[1 << 16];
    size_t n = read_all(master, out, sizeof out);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(master);
    assert_true(n > 0);

    /* Ten redraws, each "\r" + bar + erase-to-end-of-line, no line feed between. */
    assert_int_equal(count(out, "\r["), 10);
    assert_int_equal(count(out, "\x1b[K"), 11); /* ten redraws and the final erase */
    const char *first_nl = strchr(out, '\n');
    const char *final = strstr(out, "\r\x1b[Kaieb: 20 request(s) ok");
    assert_non_null(final);
    assert_true(first_nl > final); /* the bar never wrapped or broke the line */
    assert_non_null(strstr(out, "1/20"));
    assert_non_null(strstr(out, "19/20"));
    assert_null(strstr(out, " 2/20"));
    assert_null(strstr(out, "20/20")); /* within 100 ms of the last redraw */
    assert_non_null(strstr(out, "319 W"));
    /* Every redraw fits the 70-column terminal. */
    for (const char *p = strstr(out, "\r["); p; p = strstr(p + 1, "\r[")) {
        const char *e = strstr(p, "\x1b[K");
        assert_non_null(e);
        assert_true(e - (p + 1) <= 69);
    }
    /* What follows the bar starts on a clean line. */
    assert_string_equal(final + 4, "aieb: 20 request(s) ok\r\n");
}

/* ==== Elsewhere: lines ===================================================== */

static void lines_on_a_pipe(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    aieb_progress_opts o;
    aieb_progress_opts_init(&o);
    o.fd = fds[1];
    aieb_progress *p = NULL;
    /* The clock is read before create(), which starts the 10 s count from the
     * real clock: every time given below is then relative to a start at or
     * after `now`, however long create() took. */
    int64_t now = aieb_now_ns();
    assert_int_equal(aieb_progress_create(&o, &p, NULL), 0);
    /* 100 requests 10 ms apart: one line per 10%. */
    for (size_t i = 1; i <= 100; i++) {
        aieb_run_progress rp = prog(i, 100, 100, 50);
        aieb_progress_update_at(p, &rp, now + (int64_t)i * 10 * MS);
    }
    /* A slow run: 1000 requests, the next one 11 s later gets a line anyway. */
    aieb_run_progress rp = prog(101, 1000, 1, 50);
    aieb_progress_update_at(p, &rp, now + 11000 * MS);
    rp = prog(102, 1000, 1, 50);
    aieb_progress_update_at(p, &rp, now + 12000 * MS); /* 1 s later: none */
    rp = prog(103, 1000, 1, 50);
    aieb_progress_update_at(p, &rp, now + 21500 * MS);
    aieb_progress_finish(p); /* lines: nothing to erase */
    aieb_progress_free(p);
    close(fds[1]);
    static char out[1 << 14];
    size_t n = 0;
    ssize_t r;
    while ((r = read(fds[0], out + n, sizeof out - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(fds[0]);
    assert_int_equal(count(out, "\n"), 12);
    assert_int_equal(count(out, "aieb: progress: "), 12);
    assert_null(strchr(out, '\r'));
    assert_null(strstr(out, "\x1b["));
    assert_non_null(strstr(out, "aieb: progress: 10/100 requests"));
    assert_non_null(strstr(out, "aieb: progress: 100/100 requests (0 failed), 100.00 req/s"));
    assert_non_null(strstr(out, "ETA done\n"));
    assert_non_null(strstr(out, "aieb: progress: 101/1000"));
    assert_null(strstr(out, "aieb: progress: 102/1000"));
    assert_non_null(strstr(out, "aieb: progress: 103/1000"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bar_text),        cmocka_unit_test(bar_fits_narrow_terminals),
        cmocka_unit_test(line_text),       cmocka_unit_test(bar_on_a_pty),
        cmocka_unit_test(lines_on_a_pipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
