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

/* Time bounds: a lower bound is exact where the code must wait (a back-off, a
 * timeout); an upper bound only tells a wait that ended from one that did not
 * (a default 10 s connect timeout, a 30 s scripted delay), so it is generous:
 * 20x the expected time, which a busy machine does not reach. */
static void connection_refused_retries_with_backoff(void **state)
{
    char endpoint[64];
    int held;
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d/v1", refused_port(&held));
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
    if (ms < 280 || ms > 6000)
        fail_msg("two retries with 0.1 s backoff took %.0f ms", ms);
    collected_free(&got);
    b->ops->close(b);
    close(held);
}

/* A listening socket that never accepts, its backlog full: the next SYNs are
 * dropped, so a connect hangs until its timeout. Returns the port; *fds gets
 * the sockets to close. The queue is full once the first connection is
 * established, which is waited for (not slept for: on a busy machine the
 * handshake may take a while). */
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
    struct pollfd p = {.fd = fds[1], .events = POLLOUT};
    int err = 0;
    socklen_t elen = sizeof err;
    assert_int_equal(poll(&p, 1, 60000), 1);
    assert_int_equal(getsockopt(fds[1], SOL_SOCKET, SO_ERROR, &err, &elen), 0);
    assert_int_equal(err, 0); /* connected: the queue is full */
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
    if (ms < 250 || ms > 6000) /* the default would be 10 s */
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
    /* The scripted delays are 30 s, far past the timeouts, so that a timeout
     * fires however late this machine runs, and the chunks that came before it
     * are the ones sent at once, not as many as happened to arrive in time. */
    struct {
        const char *override;
        double first_byte_s, idle_s, total_s;
        const char *part;
        size_t chunks;
    } cases[] = {
        {"first-byte-ms=30000", 0.3, 30, 30, "first-byte timeout", 0},
        {"first-token-ms=0 token-ms=30000", 30, 0.3, 30, "after 1 token chunks (idle timeout)", 1},
        {"token-ms=0 pause-after=3 pause-ms=30000", 30, 30, 0.5, "longer than 0.5 s", 3},
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
        if (ms > 10000)
            fail_msg("case %zu: the timeout fired after %.0f ms", i, ms);
        assert_int_equal(fake_count(&fs, "/v1/chat/completions"), before + 1);
        collected_free(&got);
        b->ops->close(b);
    }
    fake_stop(&fs);
}

/* ==== Stopping ============================================================= */

typedef struct stopper {
    const fake_server *fs;
    int sent; /* the server has had this many completion requests: stop */
    volatile int *flag;
    int value;
    int64_t at_ns; /* when the flag was set */
} stopper;

/* Sets the flag once the requests are in flight (the server has them), which
 * is waited for: a fixed delay may pass before anything is sent on a busy
 * machine. */
static void *stop_when_sent(void *arg)
{
    stopper *s = arg;
    int64_t give_up = aieb_now_ns() + 60 * AIEB_NS_PER_S;
    while (fake_count(s->fs, "/v1/chat/completions") < s->sent && aieb_now_ns() < give_up)
        aieb_sleep_ns(2 * AIEB_NS_PER_MS, NULL);
    s->at_ns = aieb_now_ns();
    *s->flag = s->value;
    return NULL;
}

/* 6 requests of ~1 s each at concurrency 3; the flag is set once the first 3
 * reached the server. Returns run()'s code; *ms gets the time from the flag
 * being set to run() returning. */
static int stopped_run(const fake_server *fs, int value, int grace_ms, collected *got, double *ms)
{
    aieb_openai_opts o;
    opts_for(&o, fs);
    aieb_backend *b = open_backend(&o);
    aieb_request reqs[6];
    same_requests(reqs, 6, "long [[fake tokens=10 token-ms=100]]");
    volatile int flag = 0;
    stopper st = {fs, fake_count(fs, "/v1/chat/completions") + 3, &flag, value, 0};
    pthread_t t;
    pthread_create(&t, NULL, stop_when_sent, &st);
    aieb_err err = {0};
    int rc = b->ops->run(b, reqs, 6, 3, grace_ms, collect, got, &flag, &err);
    int64_t end = aieb_now_ns();
    pthread_join(t, NULL);
    *ms = ms_between(st.at_ns, end);
    b->ops->close(b);
    return rc;
}

/* Graces of 60 s where the run must not wait for them: returning within 20 s
 * shows it did not, on any machine. */
static void stop_flag_and_grace(void **state)
{
    fake_server fs;
    const char *args[] = {NULL};
    assert_int_equal(fake_start(&fs, args), 0);
    collected got = {0};
    double ms;

    /* a long grace: the 3 in flight finish; the 3 never sent are not reported */
    assert_int_equal(stopped_run(&fs, 1, 60000, &got, &ms), AIEB_EINTR);
    assert_int_equal(got.n, 3);
    for (size_t i = 0; i < got.n; i++) {
        assert_int_equal(got.r[i].error_kind, AIEB_REQ_OK);
        assert_int_equal(got.r[i].completion_tokens, 10);
    }
    if (ms > 20000)
        fail_msg("in-flight requests of ~1 s ended %.0f ms after the stop", ms);
    collected_free(&got);

    /* a short grace: they are cancelled when it ends, keeping what came */
    assert_int_equal(stopped_run(&fs, 1, 200, &got, &ms), AIEB_EINTR);
    assert_int_equal(got.n, 3);
    for (size_t i = 0; i < got.n; i++) {
        expect(&got.r[i], AIEB_REQ_CANCELLED, "grace period");
        assert_true(got.r[i].n_chunks >= 1 && got.r[i].n_chunks < 10);
    }
    if (ms < 190 || ms > 4000)
        fail_msg("a 200 ms grace ended %.0f ms after the stop", ms);
    collected_free(&got);

    /* a second signal (2): cancelled at once */
    assert_int_equal(stopped_run(&fs, 2, 60000, &got, &ms), AIEB_EINTR);
    assert_int_equal(got.n, 3);
    for (size_t i = 0; i < got.n; i++)
        assert_int_equal(got.r[i].error_kind, AIEB_REQ_CANCELLED);
    if (ms > 20000)
        fail_msg("immediate stop returned %.0f ms after the stop", ms);
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
    /* 5 s each: still in flight when the first fails, however slow this machine */
    same_requests(reqs, 10, "p [[fake status=0 tokens=20 token-ms=250]]");
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
