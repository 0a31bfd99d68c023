/* main.c (bench_client) - CPU cost of the OpenAI-compatible client per streamed request.
 *
 * Starts the test server (tests/fakes/openai_server) with zero delays, or uses
 * --endpoint, and streams requests of --tokens tokens through the backend,
 * sequentially and at each --concurrency. Reports this process's CPU time
 * (getrusage: user + system, all threads) per request; the server's CPU is in
 * another process and not counted. Goal (issue 4): <= 0.15 ms per 100-token
 * request.
 *
 *   bench_client [--requests N] [--tokens N] [--concurrency 1,32] [--warmup N]
 *                [--coalesce 0|1] [--server PATH | --endpoint URL --model M]
 *
 * By default the server writes every event on its own; --coalesce 1 lets it
 * write the events that are due together in one write.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aieb/clock.h"
#include "aieb/openai.h"

typedef struct tally {
    size_t ok, failed;
    long tokens;
    int estimated;
    char first_error[256];
} tally;

static int count(void *user, const aieb_result *r)
{
    tally *t = user;
    if (r->error_kind == AIEB_REQ_OK) {
        t->ok++;
        t->tokens += r->completion_tokens;
        t->estimated |= r->tokens_estimated;
    } else {
        if (!t->failed)
            snprintf(t->first_error, sizeof t->first_error, "%s", r->error ? r->error : "?");
        t->failed++;
    }
    return 0;
}

/* CPU seconds of this process so far; *sys_s gets the system part. */
static double cpu_s(double *sys_s, long *switches)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *switches = ru.ru_nvcsw + ru.ru_nivcsw;
    *sys_s = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + *sys_s;
}

/* Starts the server binary; fills endpoint. Returns its pid, or -1. */
static pid_t start_server(const char *bin, int tokens, int coalesce, char *endpoint, size_t cap)
{
    char tok[16];
    snprintf(tok, sizeof tok, "%d", tokens);
    int out[2];
    if (pipe(out) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execl(bin, bin, "--port", "0", "--tokens", tok, "--first-token-ms", "0", "--token-ms", "0",
              "--coalesce", coalesce ? "1" : "0", (char *)NULL);
        fprintf(stderr, "bench_client: cannot run %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    close(out[1]);
    char line[64] = "";
    size_t got = 0;
    struct pollfd p = {.fd = out[0], .events = POLLIN};
    while (!strchr(line, '\n') && got < sizeof line - 1 && poll(&p, 1, 10000) > 0) {
        ssize_t k = read(out[0], line + got, sizeof line - 1 - got);
        if (k <= 0)
            break;
        got += (size_t)k;
        line[got] = '\0';
    }
    close(out[0]);
    int port;
    if (pid < 0 || sscanf(line, "PORT %d", &port) != 1) {
        if (pid > 0)
            kill(pid, SIGKILL);
        return -1;
    }
    snprintf(endpoint, cap, "http://127.0.0.1:%d/v1", port);
    return pid;
}

/* Runs n requests at concurrency conc; prints one line. Returns 0 or 1. */
static int measure(aieb_backend *b, aieb_request *reqs, size_t n, int conc, int tokens,
                   const char *label)
{
    tally t = {0};
    aieb_err err = {0};
    double s0, s1;
    long sw0, sw1;
    double c0 = cpu_s(&s0, &sw0);
    int64_t w0 = aieb_now_ns();
    int rc = b->ops->run(b, reqs, n, conc, 0, count, &t, NULL, &err);
    double wall = aieb_ns_to_s(aieb_now_ns() - w0);
    double cpu = cpu_s(&s1, &sw1) - c0;
    if (rc || t.failed) {
        fprintf(stderr, "bench_client: %s: %zu failed (%s) %s\n", label, t.failed, t.first_error,
                rc ? err.msg : "");
        return 1;
    }
    printf("%-12s concurrency %3d: %6zu requests x %d tokens in %6.2f s wall (%7.0f req/s), "
           "CPU %.4f ms/request (system %.4f; %.2f us/token; %.1f context switches)%s\n",
           label, conc, n, tokens, wall, (double)n / wall, cpu * 1e3 / (double)n,
           (s1 - s0) * 1e3 / (double)n, cpu * 1e6 / (double)t.tokens,
           (double)(sw1 - sw0) / (double)n, t.estimated ? " [token counts estimated]" : "");
    return 0;
}

int main(int argc, char **argv)
{
    size_t n_requests = 2000, warmup = 50;
    int tokens = 100, coalesce = 0;
    const char *conc_list = "1,32";
    const char *endpoint_arg = NULL, *model = "test-model", *server = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--requests") == 0)
            n_requests = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--tokens") == 0)
            tokens = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--concurrency") == 0)
            conc_list = argv[i + 1];
        else if (strcmp(argv[i], "--warmup") == 0)
            warmup = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--endpoint") == 0)
            endpoint_arg = argv[i + 1];
        else if (strcmp(argv[i], "--model") == 0)
            model = argv[i + 1];
        else if (strcmp(argv[i], "--coalesce") == 0)
            coalesce = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--server") == 0)
            server = argv[i + 1];
        else {
            fprintf(stderr, "bench_client: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    char endpoint[128], bin[PATH_MAX];
    pid_t pid = -1;
    if (endpoint_arg) {
        snprintf(endpoint, sizeof endpoint, "%s", endpoint_arg);
    } else {
        if (!server) {
            /* build/bench/bench_client -> build/tests/fakes/openai_server */
            char self[PATH_MAX];
            ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
            self[k > 0 ? k : 0] = '\0';
            snprintf(bin, sizeof bin, "%s/../tests/fakes/openai_server", dirname(self));
            server = bin;
        }
        pid = start_server(server, tokens, coalesce, endpoint, sizeof endpoint);
        if (pid < 0) {
            fprintf(stderr,
                    "bench_client: could not start %s (build with tests on, or pass "
                    "--endpoint)\n",
                    server);
            return 1;
        }
    }

    aieb_openai_opts o;
    aieb_openai_opts_init(&o);
    o.endpoint = endpoint;
    o.model = model;
    o.gen.max_new_tokens = tokens;
    aieb_backend *b = NULL;
    aieb_err err = {0};
    int rc = aieb_openai_backend_open(&o, &b, &err);
    if (rc == 0)
        rc = b->ops->health(b, NULL, &err);
    if (rc) {
        fprintf(stderr, "bench_client: %s\n", err.msg);
        if (pid > 0)
            kill(pid, SIGTERM);
        return 1;
    }
    size_t n_alloc = n_requests > warmup ? n_requests : warmup;
    aieb_request *reqs = calloc(n_alloc, sizeof *reqs);
    for (size_t i = 0; i < n_alloc; i++) {
        reqs[i].index = i;
        reqs[i].prompt = "Write a short story about a lighthouse keeper who finds a message.";
    }
    printf("bench_client: %s, %d-token streamed chat completions%s, CPU of this process only\n",
           endpoint, tokens,
           endpoint_arg ? ""
           : coalesce   ? ", due events share a write"
                        : ", one write per event");
    int failed = measure(b, reqs, warmup, 4, tokens, "warm-up");
    char copy[128];
    snprintf(copy, sizeof copy, "%s", conc_list);
    char *save = NULL;
    for (char *c = strtok_r(copy, ",", &save); c && !failed; c = strtok_r(NULL, ",", &save)) {
        int conc = atoi(c);
        size_t n = conc == 1 && n_requests > 1000 ? n_requests / 2 : n_requests;
        failed |= measure(b, reqs, n, conc, tokens, conc == 1 ? "sequential" : "concurrent");
    }
    b->ops->close(b);
    free(reqs);
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    return failed;
}
