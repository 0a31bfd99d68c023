/* pytorch_proc.c - a child process spoken to in lines (pytorch_proc.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aieb/clock.h"
#include "aieb/log.h"
#include "backend/pytorch_proc.h"

extern char **environ;

#define READ_CHUNK   65536
#define POLL_STEP_MS 50 /* how often a wait looks at the stop flag */

void wproc_init(wproc *p, size_t max_line_bytes)
{
    memset(p, 0, sizeof *p);
    p->to_fd = p->from_fd = p->err_fd = -1;
    p->max_line_bytes = max_line_bytes;
    /* The buffer may hold one whole line plus one read past it. */
    aieb_buf_init(&p->out, max_line_bytes + READ_CHUNK + 1);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* ==== Spawning ============================================================= */

static int env_name_len(const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq ? (int)(eq - kv) : (int)strlen(kv);
}

/* The parent's environment without the names in env_set, then env_set. */
static char **build_env(const char *const env_set[], size_t n_env)
{
    size_t n = 0;
    for (char **e = environ; e && *e; e++)
        n++;
    char **envp = calloc(n + n_env + 1, sizeof *envp);
    if (!envp)
        return NULL;
    size_t k = 0;
    for (char **e = environ; e && *e; e++) {
        int len = env_name_len(*e), replaced = 0;
        for (size_t i = 0; i < n_env && !replaced; i++)
            replaced = env_name_len(env_set[i]) == len && strncmp(*e, env_set[i], len) == 0;
        if (!replaced)
            envp[k++] = *e;
    }
    for (size_t i = 0; i < n_env; i++)
        envp[k++] = (char *)env_set[i];
    envp[k] = NULL;
    return envp;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int wproc_spawn(wproc *p, char *const argv[], const char *const env_set[], size_t n_env,
                aieb_err *err)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(er, O_CLOEXEC)) {
        int e = errno;
        close_fd(&in[0]), close_fd(&in[1]), close_fd(&out[0]), close_fd(&out[1]);
        return aieb_errf(err, AIEB_EIO, "pipe: %s", strerror(e));
    }
    char **envp = build_env(env_set, n_env);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    /* dup2 clears close-on-exec on the target; every other pipe end closes. */
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, er[1], 2);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    /* aieb ignores SIGPIPE and catches SIGINT; the worker gets the defaults and a
     * process group of its own, so that a terminal's Ctrl-C reaches aieb only. */
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETPGROUP);
    pid_t pid = 0;
    int rc = envp ? posix_spawnp(&pid, argv[0], &fa, &attr, argv, envp) : ENOMEM;
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    free(envp);
    close_fd(&in[0]), close_fd(&out[1]), close_fd(&er[1]);
    if (rc) {
        close_fd(&in[1]), close_fd(&out[0]), close_fd(&er[0]);
        if (rc == ENOENT)
            return aieb_errf(err, AIEB_EENV, "'%s' was not found%s", argv[0],
                             strchr(argv[0], '/') ? "" : " on PATH");
        if (rc == EACCES || rc == ENOEXEC || rc == EISDIR)
            return aieb_errf(err, AIEB_EENV, "'%s' cannot be executed: %s", argv[0], strerror(rc));
        return aieb_errf(err, rc == ENOMEM ? AIEB_ENOMEM : AIEB_EIO, "cannot start '%s': %s",
                         argv[0], strerror(rc));
    }
    p->pid = pid;
    p->reaped = 0;
    p->to_fd = in[1];
    p->from_fd = out[0];
    p->err_fd = er[0];
    set_nonblock(p->to_fd);
    set_nonblock(p->from_fd);
    set_nonblock(p->err_fd);
    aieb_buf_reset(&p->out);
    p->line_len = 0;
    return 0;
}

/* ==== stderr =============================================================== */

static void keep_err_line(wproc *p)
{
    p->err_part[p->err_part_len] = '\0';
    AIEB_DEBUG("pytorch worker: %s", p->err_part);
    memcpy(p->err_ring[p->err_next], p->err_part, p->err_part_len + 1);
    p->err_next = (p->err_next + 1) % WPROC_STDERR_LINES;
    if (p->err_count < WPROC_STDERR_LINES)
        p->err_count++;
    p->err_part_len = 0;
}

/* Reads what stderr has (at most 64 chunks, so that a chatty child cannot hold
 * the caller); at its end, keeps the unterminated last line. */
static void drain_stderr(wproc *p)
{
    char chunk[4096];
    for (int round = 0; round < 64 && p->err_fd >= 0; round++) {
        ssize_t n = read(p->err_fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            if (p->err_part_len)
                keep_err_line(p);
            close_fd(&p->err_fd);
            return;
        }
        for (ssize_t i = 0; i < n; i++) {
            char c = chunk[i];
            if (c == '\n') {
                keep_err_line(p);
            } else if (c != '\r' && p->err_part_len < WPROC_STDERR_LINE_MAX - 1) {
                p->err_part[p->err_part_len++] = c; /* the rest of a long line is dropped */
            }
        }
    }
}

int wproc_stderr_tail(const wproc *p, size_t max_lines, size_t max_chars, aieb_buf *out)
{
    size_t n = p->err_count < max_lines ? p->err_count : max_lines;
    int rc = 0;
    for (size_t k = 0; k < n && !rc; k++) {
        size_t i = (p->err_next + WPROC_STDERR_LINES - n + k) % WPROC_STDERR_LINES;
        const char *s = p->err_ring[i];
        size_t len = strlen(s);
        if (k)
            rc = aieb_buf_puts(out, " | ");
        if (!rc)
            rc = aieb_buf_append(out, s, len < max_chars ? len : max_chars);
        if (!rc && len > max_chars)
            rc = aieb_buf_puts(out, "...");
    }
    return rc;
}

/* ==== Exit status ========================================================== */

static int try_reap(wproc *p, int block)
{
    if (!p->pid || p->reaped)
        return p->reaped;
    int st;
    pid_t r;
    do
        r = waitpid(p->pid, &st, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == p->pid) {
        p->reaped = 1;
        p->status = st;
    } else if (r < 0) {
        p->reaped = 1; /* not our child any more (reaped elsewhere) */
        p->status = 0;
    }
    return p->reaped;
}

void wproc_describe_exit(wproc *p, char *buf, size_t size)
{
    if (!p->pid) {
        snprintf(buf, size, "was not started");
        return;
    }
    if (!try_reap(p, 0)) {
        snprintf(buf, size, "is still running");
    } else if (WIFEXITED(p->status)) {
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(p->status));
    } else if (WIFSIGNALED(p->status)) {
        int sig = WTERMSIG(p->status);
        snprintf(buf, size, "was killed by signal %d (%s)", sig, strsignal(sig));
    } else {
        snprintf(buf, size, "ended (wait status %d)", p->status);
    }
}

int wproc_alive(wproc *p)
{
    return p->pid && !try_reap(p, 0) && p->from_fd >= 0;
}

/* After the child closed its output, it normally exits at once: give it two
 * seconds (reading stderr meanwhile) so that the message can say how. */
static void wait_exit_briefly(wproc *p)
{
    int64_t until = aieb_now_ns() + 2 * AIEB_NS_PER_S;
    while (!try_reap(p, 0) && aieb_now_ns() < until) {
        struct pollfd pf = {.fd = p->err_fd, .events = POLLIN};
        if (p->err_fd >= 0 && poll(&pf, 1, 10) > 0)
            drain_stderr(p);
        else if (p->err_fd < 0)
            aieb_sleep_ns(10 * AIEB_NS_PER_MS, NULL);
    }
    drain_stderr(p);
}

static int gone_error(wproc *p, const char *what, aieb_err *err)
{
    wait_exit_briefly(p);
    char how[96];
    wproc_describe_exit(p, how, sizeof how);
    return aieb_errf(err, AIEB_EIO, "%s; it %s", what, how);
}

/* ==== Waiting ============================================================== */

/* Reads what stdout has into p->out. Returns 0, 1 at end of output, or an error. */
static int read_stdout(wproc *p, aieb_err *err)
{
    char chunk[READ_CHUNK];
    for (;;) {
        ssize_t n = read(p->from_fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n < 0)
            return aieb_errf(err, AIEB_EIO, "reading the worker's output: %s", strerror(errno));
        if (n == 0)
            return 1;
        if (aieb_buf_append(&p->out, chunk, (size_t)n))
            return aieb_errf(err, AIEB_ETOOBIG,
                             "the worker sent a line longer than %zu bytes; it is not speaking "
                             "the protocol",
                             p->max_line_bytes);
        if (memchr(chunk, '\n', (size_t)n))
            return 0;
    }
}

/* Waits up to one poll step (or the deadline) for stdin to take bytes (want_out)
 * or stdout to have some; drains stderr. Returns 0, or AIEB_ETIMEOUT/EINTR. */
static int wait_step(wproc *p, int want_out, int64_t deadline_ns, const volatile sig_atomic_t *stop,
                     short *out_ev, short *in_ev)
{
    if (stop && *stop)
        return AIEB_EINTR;
    int64_t left = deadline_ns - aieb_now_ns();
    if (left <= 0)
        return AIEB_ETIMEOUT;
    int ms =
        left / AIEB_NS_PER_MS + 1 < POLL_STEP_MS ? (int)(left / AIEB_NS_PER_MS + 1) : POLL_STEP_MS;
    struct pollfd pf[3] = {{.fd = p->from_fd, .events = POLLIN},
                           {.fd = p->err_fd, .events = POLLIN},
                           {.fd = want_out ? p->to_fd : -1, .events = POLLOUT}};
    int n = poll(pf, 3, ms);
    if (n < 0 && errno != EINTR)
        return AIEB_EIO;
    if (n > 0 && pf[1].revents)
        drain_stderr(p);
    *in_ev = n > 0 ? pf[0].revents : 0;
    *out_ev = n > 0 ? pf[2].revents : 0;
    return 0;
}

static int wait_error(int rc, const char *what, int64_t deadline_ns, aieb_err *err)
{
    (void)deadline_ns;
    if (rc == AIEB_EINTR)
        return aieb_errf(err, AIEB_EINTR, "stopped while %s", what);
    if (rc == AIEB_ETIMEOUT)
        return aieb_errf(err, AIEB_ETIMEOUT, "timed out while %s", what);
    return aieb_errf(err, AIEB_EIO, "poll: %s", strerror(errno));
}

/* write(2) without SIGPIPE: the signal is blocked for this thread during the
 * call, and one it raised is taken off the pending set. */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t len)
{
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t n = write(fd, buf, len);
    int e = errno;
    if (n < 0 && e == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return n;
}

int wproc_write(wproc *p, const char *data, size_t len, int64_t deadline_ns,
                const volatile sig_atomic_t *stop, aieb_err *err)
{
    if (p->to_fd < 0)
        return aieb_errf(err, AIEB_EIO, "the worker's input is closed");
    while (len) {
        ssize_t n = write_nosigpipe(p->to_fd, data, len);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EPIPE) {
            close_fd(&p->to_fd);
            return gone_error(p, "the worker stopped reading its input", err);
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return aieb_errf(err, AIEB_EIO, "writing to the worker: %s", strerror(errno));
        short out_ev = 0, in_ev = 0;
        int rc = wait_step(p, 1, deadline_ns, stop, &out_ev, &in_ev);
        if (rc)
            return wait_error(rc, "writing to the worker", deadline_ns, err);
        /* Keep its stdout moving too, so that neither side waits on the other. */
        if (in_ev && p->from_fd >= 0 && (rc = read_stdout(p, err)) < 0)
            return rc;
    }
    return 0;
}

int wproc_read_line(wproc *p, int64_t deadline_ns, const volatile sig_atomic_t *stop, char **line,
                    aieb_err *err)
{
    aieb_buf_consume(&p->out, p->line_len);
    p->line_len = 0;
    for (;;) {
        char *nl = p->out.len ? memchr(p->out.data, '\n', p->out.len) : NULL;
        if (nl) {
            size_t len = (size_t)(nl - p->out.data);
            if (len > p->max_line_bytes)
                break;
            *nl = '\0';
            if (len && p->out.data[len - 1] == '\r')
                p->out.data[len - 1] = '\0';
            p->line_len = len + 1;
            *line = p->out.data;
            return 0;
        }
        if (p->out.len > p->max_line_bytes)
            break;
        if (p->from_fd < 0)
            return gone_error(p, "the worker closed its output", err);
        short out_ev = 0, in_ev = 0;
        int rc = wait_step(p, 0, deadline_ns, stop, &out_ev, &in_ev);
        if (rc)
            return wait_error(rc, "waiting for the worker", deadline_ns, err);
        if (!in_ev)
            continue;
        rc = read_stdout(p, err);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            close_fd(&p->from_fd);
            if (p->out.len) /* an unterminated last line is not a reply */
                AIEB_DEBUG("pytorch worker: dropped %zu bytes after its last line", p->out.len);
            aieb_buf_reset(&p->out);
        }
    }
    return aieb_errf(err, AIEB_ETOOBIG,
                     "the worker sent a line longer than %zu bytes; it is not speaking the "
                     "protocol",
                     p->max_line_bytes);
}

/* ==== Ending =============================================================== */

static void close_all(wproc *p)
{
    close_fd(&p->to_fd);
    close_fd(&p->from_fd);
    close_fd(&p->err_fd);
}

/* Waits for the child to exit until deadline_ns, draining its output. */
static int wait_until(wproc *p, int64_t deadline_ns)
{
    while (!try_reap(p, 0)) {
        int64_t left = deadline_ns - aieb_now_ns();
        if (left <= 0)
            return 0;
        struct pollfd pf[2] = {{.fd = p->from_fd, .events = POLLIN},
                               {.fd = p->err_fd, .events = POLLIN}};
        int ms = left / AIEB_NS_PER_MS + 1 < 20 ? (int)(left / AIEB_NS_PER_MS + 1) : 20;
        if (p->from_fd < 0 && p->err_fd < 0) {
            aieb_sleep_ns((int64_t)ms * AIEB_NS_PER_MS, NULL);
            continue;
        }
        if (poll(pf, 2, ms) > 0) {
            if (pf[1].revents)
                drain_stderr(p);
            if (pf[0].revents) {
                aieb_err ignored;
                if (read_stdout(p, &ignored) != 0)
                    close_fd(&p->from_fd);
                aieb_buf_reset(&p->out); /* replies after the end are not read */
                p->line_len = 0;
            }
        }
    }
    return 1;
}

int wproc_finish(wproc *p, int64_t deadline_ns)
{
    if (!p->pid)
        return 0;
    close_fd(&p->to_fd);
    int signalled = 0;
    if (!wait_until(p, deadline_ns)) {
        signalled = 1;
        kill(-p->pid, SIGTERM);
        if (!wait_until(p, aieb_now_ns() + AIEB_NS_PER_S)) {
            kill(-p->pid, SIGKILL);
            try_reap(p, 1);
        }
    }
    drain_stderr(p);
    close_all(p);
    return signalled;
}

void wproc_kill(wproc *p)
{
    if (!p->pid)
        return;
    if (!try_reap(p, 0)) {
        kill(-p->pid, SIGKILL);
        try_reap(p, 1);
    }
    drain_stderr(p);
    close_all(p);
}

void wproc_free(wproc *p)
{
    wproc_kill(p);
    aieb_buf_free(&p->out);
}
