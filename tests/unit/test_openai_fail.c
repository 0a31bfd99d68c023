/* test_openai_fail.c - every way a request to an OpenAI-compatible server can
 * fail, against the real test server: HTTP errors in both shapes, mid-stream
 * errors, disconnects, garbage, oversized lines, missing [DONE], retries only
 * before any byte, timeouts, stopping and the callback's fail-fast. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "test_openai_support.h"

static void opts_for(aieb_openai_opts *o, const fake_server *fs)
{
    aieb_openai_opts_init(o);
    o->endpoint = fs->endpoint;
    o->model = "test-model";
    o->api_key_env = "AIEB_TEST_NO_SUCH_KEY";
    o->timeout_s = 30;
    o->retry_backoff_s = 0.05;
}

/* Starts a server with args, sends one request (prompt may carry overrides),
 * and returns its result in *got. */
static void one_request(const char *const *args, const char *prompt, aieb_openai_opts *tweak,
                        collected *got, fake_server *fs)
{
    assert_int_equal(fake_start(fs, args), 0);
    aieb_openai_opts o;
    opts_for(&o, fs);
    if (tweak) {
        tweak->endpoint = o.endpoint;
        tweak->model = o.model;
        tweak->api_key_env = o.api_key_env;
        o = *tweak;
    }
    aieb_backend *b = open_backend(&o);
    assert_non_null(b);
    aieb_request req;
    same_requests(&req, 1, prompt);
    aieb_err err = {0};
    assert_int_equal(b->ops->run(b, &req, 1, 1, 0, collect, got, NULL, &err), 0);
    assert_int_equal(got->n, 1);
    b->ops->close(b);
}

static void expect(const aieb_result *r, aieb_req_error_kind kind, const char *part)
{
    if (r->error_kind != kind)
        fail_msg("kind %d, wanted %d (error: %s)", r->error_kind, kind,
                 r->error ? r->error : "none");
    assert_non_null(r->error);
    if (!strstr(r->error, part))
        fail_msg("'%s' not in '%s'", part, r->error);
}

static void http_errors_in_both_shapes(void **state)
{
    struct {
        const char *status, *shape;
    } cases[] = {{"500", "openai"}, {"429", "object"}, {"429", "openai"}, {"500", "object"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fake_server fs;
        const char *args[] = {"--status", cases[i].status, "--error-shape", cases[i].shape, NULL};
        collected got = {0};
        one_request(args, "p", NULL, &got, &fs);
        expect(&got.r[0], AIEB_REQ_HTTP, "scripted HTTP");
        char want[32];
        snprintf(want, sizeof want, "HTTP %s: ", cases[i].status);
        expect(&got.r[0], AIEB_REQ_HTTP, want);
        assert_int_equal(got.r[0].http_status, atoi(cases[i].status));
        assert_int_equal(got.r[0].n_chunks, 0);
        assert_int_equal(fake_count(&fs, "/v1/chat/completions"), 1); /* never retried */
        collected_free(&got);
        fake_stop(&fs);
    }
    /* an unknown model: vLLM's 404 shape */
    fake_server fs;
    const char *args[] = {NULL};
    aieb_openai_opts o;
    aieb_openai_opts_init(&o);
    collected got = {0};
    assert_int_equal(fake_start(&fs, args), 0);
    o.endpoint = fs.endpoint;
    o.model = "no-such-model";
    aieb_backend *b = open_backend(&o);
    aieb_request req;
    same_requests(&req, 1, "p");
    aieb_err err = {0};
    assert_int_equal(b->ops->run(b, &req, 1, 1, 0, collect, &got, NULL, &err), 0);
    expect(&got.r[0], AIEB_REQ_HTTP, "HTTP 404: The model `no-such-model` does not exist.");
    b->ops->close(b);
    collected_free(&got);
    fake_stop(&fs);
}

static void stream_failures(void **state)
{
    struct {
        const char *override;
        const char *part;
        size_t chunks;
    } cases[] = {
        {"error-after=3", "server error mid-stream: scripted mid-stream error", 3},
        {"error-after=2 error-shape=object", "server error mid-stream: scripted mid-stream", 2},
        {"disconnect-after=4", "connection closed mid-response", 4},
        {"garbage-after=2", "data line is not JSON", 2},
        {"garbage-after=0 crlf=1", "'this is not json {{{'", 0},
        {"no-done=1", "stream ended without [DONE]", 6},
    };
    fake_server fs;
    const char *args[] = {"--tokens", "6", NULL};
    assert_int_equal(fake_start(&fs, args), 0);
    aieb_openai_opts o;
    opts_for(&o, &fs);
    aieb_backend *b = open_backend(&o);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char prompt[128];
        snprintf(prompt, sizeof prompt, "go [[fake %s]]", cases[i].override);
        aieb_request req;
        same_requests(&req, 1, prompt);
        collected got = {0};
        aieb_err err = {0};
        int before = fake_count(&fs, "/v1/chat/completions");
        assert_int_equal(b->ops->run(b, &req, 1, 1, 0, collect, &got, NULL, &err), 0);
        expect(&got.r[0], AIEB_REQ_STREAM, cases[i].part);
        assert_int_equal(got.r[0].n_chunks, cases[i].chunks);
        assert_int_equal(got.r[0].http_status, 200);
        /* bytes had arrived: never retried */
        assert_int_equal(fake_count(&fs, "/v1/chat/completions"), before + 1);
        collected_free(&got);
    }
    /* the server still works for the next request on this backend */
    aieb_request ok;
    same_requests(&ok, 1, "fine");
    collected got = {0};
    aieb_err err = {0};
    assert_int_equal(b->ops->run(b, &ok, 1, 1, 0, collect, &got, NULL, &err), 0);
    assert_int_equal(got.r[0].error_kind, AIEB_REQ_OK);
    collected_free(&got);
    b->ops->close(b);
    fake_stop(&fs);
}

static void huge_line_hits_the_cap(void **state)
{
    fake_server fs;
    const char *args[] = {"--huge-line", "200000", "--tokens", "3", NULL};
    aieb_openai_opts o;
    aieb_openai_opts_init(&o);
    o.max_line_bytes = 64 * 1024;
    collected got = {0};
    one_request(args, "p", &o, &got, &fs);
    expect(&got.r[0], AIEB_REQ_STREAM, "SSE line longer than 65536 bytes");
    assert_int_equal(got.r[0].n_chunks, 1);
    collected_free(&got);
    fake_stop(&fs);
    /* with the default 1 MiB cap the same line is fine */
    aieb_openai_opts_init(&o);
    one_request(args, "p", &o, &got, &fs);
    assert_int_equal(got.r[0].error_kind, AIEB_REQ_OK);
    assert_int_equal(got.r[0].n_chunks, 4);
    collected_free(&got);
    fake_stop(&fs);
}

static void retries_only_before_any_byte(void **state)
{
    /* the first two connections are closed without a reply; the third works */
    fake_server fs;
    const char *args[] = {"--drop", "1", "--faults-first", "2", "--tokens", "3", NULL};
    collected got = {0};
    aieb_openai_opts o;
    aieb_openai_opts_init(&o);
    o.retry_backoff_s = 0.05;
    one_request(args, "p", &o, &got, &fs);
    assert_int_equal(got.r[0].error_kind, AIEB_REQ_OK);
    assert_int_equal(got.r[0].completion_tokens, 3);
    assert_int_equal(fake_count(&fs, "/v1/chat/completions"), 3);
    collected_free(&got);
    fake_stop(&fs);

    /* one retry allowed: two attempts, then a connection failure */
    o.max_retries = 1;
    one_request(args, "p", &o, &got, &fs);
    expect(&got.r[0], AIEB_REQ_CONNECT, "failed after retries");
    assert_int_equal(fake_count(&fs, "/v1/chat/completions"), 2);
    collected_free(&got);
    fake_stop(&fs);

    /* a disconnect after bytes arrived is never retried, even with retries left */
    const char *late[] = {"--disconnect-after", "1", "--faults-first", "1", NULL};
    o.max_retries = 3;
    one_request(late, "p", &o, &got, &fs);
    expect(&got.r[0], AIEB_REQ_STREAM, "connection closed mid-response");
    assert_int_equal(fake_count(&fs, "/v1/chat/completions"), 1);
    collected_free(&got);
    fake_stop(&fs);
}

/* A loopback port nobody listens on. */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

static void connection_refused_retries_with_backoff(void **state)
{
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d/v1", dead_port());
    aieb_openai_opts o;
    aieb_openai_opts_init(&o);
    o.endpoint = endpoint;
    o.model = "m";
    o.max_retries = 2;
    o.retry_backoff_s = 0.1; /* waits 0.1 then 0.2 s */
    aieb_backend *b = open_backend(&o);
    aieb_request req;
    same_requests(&req, 1, "p");
    collected got = {0};
    aieb_err err = {0};
    int64_t t0 = aieb_now_ns();
    assert_int_equal(b->ops->run(b, &req, 1, 1, 0, collect, &got, NULL, &err), 0);
    double ms = ms_between(t0, aieb_now_ns());
    expect(&got.r[0], AIEB_REQ_CONNECT, "connection to http://127.0.0.1:");
    expect(&got.r[0], AIEB_REQ_CONNECT, "after retries");
    assert_int_equal(got.r[0].http_status, 0);
    if (ms < 280 || ms > 2000)
        fail_msg("two retries with 0.1 s backoff took %.0f ms", ms);
    collected_free(&got);
    b->ops->close(b);
}

/* A listening socket that never accepts, its backlog full: the next SYNs are
 * dropped, so a connect hangs until its timeout. Returns the port (0 when this
 * kernel accepted anyway); *fds gets the sockets to close. */
static int hanging_port(int fds[4])
{
    fds[0] = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(fds[0], (struct sockaddr *)&a, sizeof a);
    listen(fds[0], 0);
    getsockname(fds[0], (struct sockaddr *)&a, &len);
    for (int i = 1; i < 4; i++) { /* fill the accept queue */
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fds[i], (struct sockaddr *)&a, sizeof a);
    }
    aieb_sleep_ns(50 * AIEB_NS_PER_MS, NULL);
    return ntohs(a.sin_port);
}

static void connect_timeout(void **state)
{
    int fds[4];
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d/v1", hanging_port(fds));
    aieb_openai_opts o;
    aieb_openai_opts_init(&o);
    o.endpoint = endpoint;
    o.model = "m";
    o.connect_timeout_s = 0.3;
    o.max_retries = 0;
    aieb_backend *b = open_backend(&o);
    aieb_request req;
    same_requests(&req, 1, "p");
    collected got = {0};
    aieb_err err = {0};
    int64_t t0 = aieb_now_ns();
    assert_int_equal(b->ops->run(b, &req, 1, 1, 0, collect, &got, NULL, &err), 0);
    double ms = ms_between(t0, aieb_now_ns());
    expect(&got.r[0], AIEB_REQ_TIMEOUT, "connecting (timeout) to http://127.0.0.1:");
    if (ms < 250 || ms > 2000)
        fail_msg("a 0.3 s connect timeout fired after %.0f ms", ms);
    collected_free(&got);
    b->ops->close(b);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
}

static void timeouts(void **state)
{
    fake_server fs;
    const char *args[] = {"--tokens", "4", NULL};
    assert_int_equal(fake_start(&fs, args), 0);
    struct {
        const char *override;
        double first_byte_s, idle_s, total_s;
        const char *part;
        size_t chunks;
    } cases[] = {
        {"first-byte-ms=3000", 0.3, 30, 30, "first-byte timeout", 0},
        {"first-token-ms=0 token-ms=3000", 30, 0.3, 30, "after 1 token chunks (idle timeout)", 1},
        {"token-ms=200", 30, 30, 0.5, "longer than 0.5 s", 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        aieb_openai_opts o;
        opts_for(&o, &fs);
        o.first_byte_timeout_s = cases[i].first_byte_s;
        o.idle_timeout_s = cases[i].idle_s;
        o.timeout_s = cases[i].total_s;
        aieb_backend *b = open_backend(&o);
        char prompt[128];
        snprintf(prompt, sizeof prompt, "p [[fake %s]]", cases[i].override);
        aieb_request req;
        same_requests(&req, 1, prompt);
        collected got = {0};
        aieb_err err = {0};
        int before = fake_count(&fs, "/v1/chat/completions");
        int64_t t0 = aieb_now_ns();
        assert_int_equal(b->ops->run(b, &req, 1, 1, 0, collect, &got, NULL, &err), 0);
        double ms = ms_between(t0, aieb_now_ns());
        expect(&got.r[0], AIEB_REQ_TIMEOUT, cases[i].part);
        assert_int_equal(got.r[0].n_chunks, cases[i].chunks);
        if (ms > 1500)
            fail_msg("case %zu: the timeout fired after %.0f ms", i, ms);
        assert_int_equal(fake_count(&fs, "/v1/chat/completions"), before + 1);
        collected_free(&got);
        b->ops->close(b);
    }
    fake_stop(&fs);
}

/* ==== Stopping ============================================================= */

typedef struct stopper {
    volatile int *flag;
    int value;
    int after_ms;
} stopper;

static void *stop_later(void *arg)
{
    stopper *s = arg;
    aieb_sleep_ns((int64_t)s->after_ms * AIEB_NS_PER_MS, NULL);
    *s->flag = s->value;
    return NULL;
}

/* 6 requests of ~1 s each at concurrency 3; the flag is set after 300 ms. */
static int stopped_run(const fake_server *fs, int value, int grace_ms, collected *got)
{
    aieb_openai_opts o;
    opts_for(&o, fs);
    aieb_backend *b = open_backend(&o);
    aieb_request reqs[6];
    same_requests(reqs, 6, "long [[fake tokens=10 token-ms=100]]");
    volatile int flag = 0;
    stopper st = {&flag, value, 300};
    pthread_t t;
    pthread_create(&t, NULL, stop_later, &st);
    aieb_err err = {0};
    int rc = b->ops->run(b, reqs, 6, 3, grace_ms, collect, got, &flag, &err);
    pthread_join(t, NULL);
    b->ops->close(b);
    return rc;
}

static void stop_flag_and_grace(void **state)
{
    fake_server fs;
    const char *args[] = {NULL};
    assert_int_equal(fake_start(&fs, args), 0);
    collected got = {0};

    /* a long grace: the 3 in flight finish; the 3 never sent are not reported */
    int64_t t0 = aieb_now_ns();
    assert_int_equal(stopped_run(&fs, 1, 5000, &got), AIEB_EINTR);
    assert_int_equal(got.n, 3);
    for (size_t i = 0; i < got.n; i++) {
        assert_int_equal(got.r[i].error_kind, AIEB_REQ_OK);
        assert_int_equal(got.r[i].completion_tokens, 10);
    }
    assert_true(ms_between(t0, aieb_now_ns()) < 3000);
    collected_free(&got);

    /* a short grace: they are cancelled when it ends, keeping what came */
    t0 = aieb_now_ns();
    assert_int_equal(stopped_run(&fs, 1, 200, &got), AIEB_EINTR);
    double ms = ms_between(t0, aieb_now_ns());
    assert_int_equal(got.n, 3);
    for (size_t i = 0; i < got.n; i++) {
        expect(&got.r[i], AIEB_REQ_CANCELLED, "grace period");
        assert_true(got.r[i].n_chunks >= 1 && got.r[i].n_chunks < 10);
    }
    if (ms < 450 || ms > 900)
        fail_msg("stop at 300 ms + 200 ms grace returned after %.0f ms", ms);
    collected_free(&got);

    /* a second signal (2): cancelled at once */
    t0 = aieb_now_ns();
    assert_int_equal(stopped_run(&fs, 2, 5000, &got), AIEB_EINTR);
    ms = ms_between(t0, aieb_now_ns());
    assert_int_equal(got.n, 3);
    for (size_t i = 0; i < got.n; i++)
        assert_int_equal(got.r[i].error_kind, AIEB_REQ_CANCELLED);
    if (ms > 600)
        fail_msg("immediate stop returned after %.0f ms", ms);
    collected_free(&got);
    fake_stop(&fs);
}

static void callback_stops_the_run(void **state)
{
    fake_server fs;
    const char *args[] = {"--status", "500", NULL};
    assert_int_equal(fake_start(&fs, args), 0);
    aieb_openai_opts o;
    opts_for(&o, &fs);
    aieb_backend *b = open_backend(&o);
    aieb_request reqs[10];
    same_requests(reqs, 10, "p");
    collected got = {.stop_after = 3};
    aieb_err err = {0};
    assert_int_equal(b->ops->run(b, reqs, 10, 1, 0, collect, &got, NULL, &err), AIEB_EFAIL);
    assert_int_equal(got.n, 3);
    for (size_t i = 0; i < got.n; i++)
        assert_int_equal(got.r[i].error_kind, AIEB_REQ_HTTP);
    assert_int_equal(fake_count(&fs, "/v1/chat/completions"), 3);
    collected_free(&got);

    /* with others in flight, they are reported as cancelled, not dropped */
    same_requests(reqs, 10, "p [[fake status=0 tokens=20 token-ms=50]]");
    reqs[0].prompt = "p [[fake status=500]]";
    got.stop_after = 1;
    assert_int_equal(b->ops->run(b, reqs, 10, 4, 5000, collect, &got, NULL, &err), AIEB_EFAIL);
    assert_int_equal(got.n, 4);
    assert_int_equal(got.r[0].error_kind, AIEB_REQ_HTTP);
    for (size_t i = 1; i < got.n; i++)
        assert_int_equal(got.r[i].error_kind, AIEB_REQ_CANCELLED);
    collected_free(&got);
    b->ops->close(b);
    fake_stop(&fs);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(http_errors_in_both_shapes),
        cmocka_unit_test(stream_failures),
        cmocka_unit_test(huge_line_hits_the_cap),
        cmocka_unit_test(retries_only_before_any_byte),
        cmocka_unit_test(connection_refused_retries_with_backoff),
        cmocka_unit_test(connect_timeout),
        cmocka_unit_test(timeouts),
        cmocka_unit_test(stop_flag_and_grace),
        cmocka_unit_test(callback_stops_the_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
