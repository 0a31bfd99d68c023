/* test_openai_support.h - shared by the test_openai_*.c programs: start the real
 * test server (tests/fakes/openai_server) on a free loopback port as a child
 * process, read its request log, collect results from a backend run. */
#ifndef AIEB_TEST_OPENAI_SUPPORT_H
#define AIEB_TEST_OPENAI_SUPPORT_H

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "aieb/backend.h"
#include "aieb/clock.h"
#include "aieb/openai.h"

typedef struct fake_server {
    pid_t pid;
    int port;
    char dir[64];
    char log[128];
    char endpoint[96]; /* http://127.0.0.1:<port>/v1 */
} fake_server;

/* Starts the server with the extra arguments (NULL-terminated). Returns 0, or
 * -1 when it could not be started (the test then fails). */
static __attribute__((unused)) int fake_start(fake_server *fs, const char *const *args)
{
    memset(fs, 0, sizeof *fs);
    const char *build = getenv("AIEB_BUILD_DIR");
    char bin[512];
    snprintf(bin, sizeof bin, "%s/tests/fakes/openai_server", build ? build : ".");
    snprintf(fs->dir, sizeof fs->dir, "/tmp/aieb-oa-XXXXXX");
    if (!mkdtemp(fs->dir))
        return -1;
    snprintf(fs->log, sizeof fs->log, "%s/requests.jsonl", fs->dir);
    const char *argv[64];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--log";
    argv[n++] = fs->log;
    for (int i = 0; args && args[i] && n < 62; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int out[2];
    if (pipe(out) != 0)
        return -1;
    fs->pid = fork();
    if (fs->pid < 0)
        return -1;
    if (fs->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execv(bin, (char *const *)argv);
        fprintf(stderr, "cannot run %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    close(out[1]);
    char line[64] = "";
    size_t got = 0;
    struct pollfd p = {.fd = out[0], .events = POLLIN};
    /* a bound for a hang only: a busy machine may take seconds to start it */
    while (got < sizeof line - 1 && !strchr(line, '\n') && poll(&p, 1, 60000) > 0) {
        ssize_t k = read(out[0], line + got, sizeof line - 1 - got);
        if (k <= 0)
            break;
        got += (size_t)k;
        line[got] = '\0';
    }
    close(out[0]);
    if (sscanf(line, "PORT %d", &fs->port) != 1) {
        fprintf(stderr, "test server did not say its port (got '%s')\n", line);
        kill(fs->pid, SIGKILL);
        waitpid(fs->pid, NULL, 0);
        return -1;
    }
    snprintf(fs->endpoint, sizeof fs->endpoint, "http://127.0.0.1:%d/v1", fs->port);
    return 0;
}

static __attribute__((unused)) void fake_stop(fake_server *fs)
{
    if (fs->pid > 0) {
        kill(fs->pid, SIGTERM);
        waitpid(fs->pid, NULL, 0);
        fs->pid = 0;
    }
    unlink(fs->log);
    rmdir(fs->dir);
}

/* The request log as an array of objects (caller decrefs). */
static __attribute__((unused)) json_t *fake_log(const fake_server *fs)
{
    json_t *all = json_array();
    FILE *f = fopen(fs->log, "r");
    if (!f)
        return all;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        if (o)
            json_array_append_new(all, o);
    }
    free(line);
    fclose(f);
    return all;
}

/* How many logged requests went to path. */
static __attribute__((unused)) int fake_count(const fake_server *fs, const char *path)
{
    json_t *all = fake_log(fs);
    size_t i;
    json_t *o;
    int n = 0;
    json_array_foreach(all, i, o)
    {
        const char *p = json_string_value(json_object_get(o, "path"));
        n += p && strcmp(p, path) == 0;
    }
    json_decref(all);
    return n;
}

/* The body of the last logged request to path (a new reference, or NULL). */
static __attribute__((unused)) json_t *fake_last_body(const fake_server *fs, const char *path)
{
    json_t *all = fake_log(fs), *body = NULL;
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o)
    {
        const char *p = json_string_value(json_object_get(o, "path"));
        if (p && strcmp(p, path) == 0) {
            json_decref(body);
            body = json_incref(json_object_get(o, "body"));
        }
    }
    json_decref(all);
    return body;
}

/* A loopback port where connecting is refused, and stays refused: the socket
 * bound to it (never listening) is kept open in *fd until the caller closes it,
 * so that no program running beside the test can take the port meanwhile (as a
 * port picked by closing such a socket could be). */
static __attribute__((unused)) int refused_port(int *fd)
{
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (*fd < 0 || bind(*fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(*fd, (struct sockaddr *)&a, &len) != 0)
        return 0;
    return ntohs(a.sin_port);
}

/* ==== Results ============================================================== */

typedef struct collected {
    aieb_result r[256];
    size_t n;
    int stop_after; /* callback returns 1 once this many results came (0: never) */
} collected;

static __attribute__((unused)) int collect(void *user, const aieb_result *r)
{
    collected *c = user;
    if (c->n < sizeof c->r / sizeof c->r[0]) {
        aieb_result *d = &c->r[c->n++];
        *d = *r;
        d->chunk_ns = NULL;
        if (r->n_chunks) {
            d->chunk_ns = malloc(r->n_chunks * sizeof *d->chunk_ns);
            memcpy(d->chunk_ns, r->chunk_ns, r->n_chunks * sizeof *d->chunk_ns);
        }
        d->error = r->error ? strdup(r->error) : NULL;
    }
    return c->stop_after && c->n >= (size_t)c->stop_after;
}

static __attribute__((unused)) void collected_free(collected *c)
{
    for (size_t i = 0; i < c->n; i++)
        aieb_result_clear(&c->r[i]);
    c->n = 0;
}

/* Opens a backend on fs with test-friendly options filled by the caller. */
static __attribute__((unused)) aieb_backend *open_backend(const aieb_openai_opts *o)
{
    aieb_backend *b = NULL;
    aieb_err err = {0};
    if (aieb_openai_backend_open(o, &b, &err) != 0) {
        fprintf(stderr, "open: %s\n", err.msg);
        return NULL;
    }
    return b;
}

/* Fills n requests with the same prompt, all due at once. */
static __attribute__((unused)) void same_requests(aieb_request *reqs, size_t n, const char *prompt)
{
    memset(reqs, 0, n * sizeof *reqs);
    for (size_t i = 0; i < n; i++) {
        reqs[i].index = i;
        reqs[i].prompt = prompt;
    }
}

static __attribute__((unused)) double ms_between(int64_t a_ns, int64_t b_ns)
{
    return (double)(b_ns - a_ns) / 1e6;
}

#endif
