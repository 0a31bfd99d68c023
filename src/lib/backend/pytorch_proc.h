/* pytorch_proc.h - a child process spoken to in lines: the PyTorch worker.
 *
 * The worker runs in its own process group (a Ctrl-C at the terminal reaches
 * aieb only; aieb then cancels the worker's work through the protocol), with
 * stdin, stdout and stderr on pipes. Every wait has a deadline and watches a
 * stop flag; stderr is drained whenever aieb waits, its lines logged at debug
 * level and the last ones kept to explain a failure. Nothing here knows JSON.
 */
#ifndef AIEB_BACKEND_PYTORCH_PROC_H
#define AIEB_BACKEND_PYTORCH_PROC_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "aieb/buf.h"
#include "aieb/err.h"

#define WPROC_STDERR_LINES    16  /* lines of stderr kept */
#define WPROC_STDERR_LINE_MAX 400 /* bytes kept of each (longer lines are cut) */

typedef struct wproc {
    pid_t pid;                  /* 0 when no process */
    int to_fd, from_fd, err_fd; /* our ends of its stdin, stdout, stderr; -1 closed */
    aieb_buf out;               /* stdout bytes not yet returned as lines */
    size_t line_len;            /* length + 1 of the line last returned, dropped next read */
    size_t max_line_bytes;      /* a longer stdout line fails with AIEB_ETOOBIG */
    char err_part[WPROC_STDERR_LINE_MAX]; /* the stderr line being received */
    size_t err_part_len;
    char err_ring[WPROC_STDERR_LINES][WPROC_STDERR_LINE_MAX];
    size_t err_next, err_count; /* ring position and lines held */
    int reaped;                 /* waitpid done; status valid */
    int status;                 /* as waitpid gives it */
} wproc;

/* Prepares p (no process). max_line_bytes caps one stdout line. Can't fail. */
void wproc_init(wproc *p, size_t max_line_bytes);

/* Starts argv[0] (looked up on PATH when it has no '/') with argv, no shell, in
 * its own process group, with the parent's environment plus env_set[0..n_env)
 * ("NAME=value", replacing the parent's NAME), signals at their defaults.
 * Fails with AIEB_EENV when the program is missing or not executable (the
 * message names it), else AIEB_EIO or AIEB_ENOMEM; p then holds no process. */
int wproc_spawn(wproc *p, char *const argv[], const char *const env_set[], size_t n_env,
                aieb_err *err);

/* Writes data[0..len) to the child's stdin. Returns 0; AIEB_ETIMEOUT when
 * deadline_ns (CLOCK_MONOTONIC) passed first; AIEB_EINTR when *stop became
 * non-zero (stop may be NULL); AIEB_EIO when the child no longer reads (it
 * exited: the message says how). SIGPIPE is never raised. */
int wproc_write(wproc *p, const char *data, size_t len, int64_t deadline_ns,
                const volatile sig_atomic_t *stop, aieb_err *err);

/* Reads one line from the child's stdout. On success *line points at the
 * NUL-terminated line without its newline, valid until the next call. Returns
 * AIEB_ETIMEOUT, AIEB_EINTR (stop), AIEB_ETOOBIG (a line past the cap) or
 * AIEB_EIO (end of output: the message says whether the child exited, with
 * which status or signal). */
int wproc_read_line(wproc *p, int64_t deadline_ns, const volatile sig_atomic_t *stop, char **line,
                    aieb_err *err);

/* Appends the last max_lines lines of the child's stderr to out, each cut to
 * max_chars, joined by " | " (nothing when there are none). Returns 0 or the
 * aieb_buf error. */
int wproc_stderr_tail(const wproc *p, size_t max_lines, size_t max_chars, aieb_buf *out);

/* Writes how the child ended ("exited with status 1", "was killed by signal 9
 * (Killed)") or "is still running" into buf. Reaps it when it has exited.
 * Can't fail. */
void wproc_describe_exit(wproc *p, char *buf, size_t size);

/* Non-zero when the process is (still) there to talk to. */
int wproc_alive(wproc *p);

/* Ends the child: closes its stdin (a worker exits at end of input), waits
 * until deadline_ns while draining its output, then SIGTERM to its process
 * group, one more second, then SIGKILL; reaps it and closes every pipe. Returns
 * 0 when it exited by itself, 1 when it had to be signalled. Safe to call on a
 * p without a process. */
int wproc_finish(wproc *p, int64_t deadline_ns);

/* SIGKILLs the child's process group at once, reaps it, closes the pipes.
 * Keeps the stderr lines. Safe without a process. */
void wproc_kill(wproc *p);

/* Kills any child (as wproc_kill) and frees p's buffers. */
void wproc_free(wproc *p);

#endif
