/* test_pytorch.c - the pytorch backend against tests/fakes/fake_torch_worker.py,
 * a stand-in that speaks the worker protocol (modes by FAKE_TORCH_MODE): results,
 * batches, and every way a worker can fail, each with a clear error and no hang. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "aieb/clock.h"
#include "aieb/pytorch.h"

#define MAX_RESULTS 32

/* Time limits. The backend's own timeouts, where a test does not script them,
 * are long (60 s): they are reached only when something hangs, never because a
 * busy machine started Python slowly. A check that something ended promptly,
 * rather than waited for a timeout, a 30 s scripted sleep or a hung worker,
 * allows PROMPT_NS: 20x what it takes here, and still well short of those. */
#define EVENT_TIMEOUT_S 60
#define PROMPT_NS       (20 * AIEB_NS_PER_S)

static char fake[4096];
static char log_path[4096];

typedef struct collected {
    aieb_result r[MAX_RESULTS];
    size_t n;
    int stop_on_failure; /* callback asks to stop at the first failure */
} collected;

static int collect(void *user, const aieb_result *r)
{
    collected *c = user;
    if (c->n < MAX_RESULTS) {
        aieb_result *d = &c->r[c->n++];
        *d = *r;
        d->chunk_ns = NULL;
        if (r->n_chunks) {
            d->chunk_ns = malloc(r->n_chunks * sizeof *d->chunk_ns);
            memcpy(d->chunk_ns, r->chunk_ns, r->n_chunks * sizeof *d->chunk_ns);
        }
        d->error = r->error ? strdup(r->error) : NULL;
    }
    return c->stop_on_failure && r->error_kind != AIEB_REQ_OK;
}

static void collected_free(collected *c)
{
    for (size_t i = 0; i < c->n; i++)
        aieb_result_clear(&c->r[i]);
    c->n = 0;
}

static void set_mode(const char *mode, int at)
{
    setenv("FAKE_TORCH_MODE", mode, 1);
    char s[16];
    snprintf(s, sizeof s, "%d", at);
    setenv("FAKE_TORCH_AT", s, 1);
}

static void base_opts(aieb_pytorch_opts *o)
{
    aieb_pytorch_opts_init(o);
    o->model = "synthetic:gpt2";
    o->worker = fake;
    o->gen.max_new_tokens = 5;
    o->startup_timeout_s = EVENT_TIMEOUT_S;
    o->load_timeout_s = EVENT_TIMEOUT_S;
    o->timeout_s = EVENT_TIMEOUT_S;
    o->close_timeout_s = 5;
}

static aieb_backend *open_loaded(const aieb_pytorch_opts *o)
{
    aieb_backend *b = NULL;
    aieb_err err = {0};
    if (aieb_pytorch_backend_open(o, &b, &err))
        fail_msg("open: %s", err.msg);
    if (b->ops->health(b, NULL, &err) || b->ops->load(b, &err))
        fail_msg("start: %s", err.msg);
    return b;
}

static const char *prompts[] = {"Hello there", "What is 2+2?",        "Tell me a story.",
                                "Why?",        "Name three colours.", "abc"};

static void make_requests(aieb_request *reqs, size_t n)
{
    memset(reqs, 0, n * sizeof *reqs);
    for (size_t i = 0; i < n; i++) {
        reqs[i].index = i;
        reqs[i].prompt = prompts[i % 6];
    }
}

static int run_n(aieb_backend *b, size_t n, collected *c, int grace_ms, const volatile int *stop)
{
    aieb_request reqs[MAX_RESULTS];
    make_requests(reqs, n);
    aieb_err err = {0};
    return b->ops->run(b, reqs, n, 1, grace_ms, collect, c, stop, &err);
}

static int setup_env(void **state)
{
    (void)state;
    unsetenv("FAKE_TORCH_LOG");
    unsetenv("FAKE_TORCH_SIGNAL");
    unsetenv(AIEB_TORCH_WORKER_ENV);
    set_mode("ok", 1);
    return 0;
}

/* ==== Success ============================================================== */

static void test_results_and_info(void **state)
{
    (void)state;
    aieb_pytorch_opts o;
    base_opts(&o);
    int ids[] = {2, 5};
    o.device_ids = ids;
    o.n_device_ids = 2;
    setenv("FAKE_TORCH_LOG", log_path, 1);
    unlink(log_path);
    aieb_backend *b = open_loaded(&o);
    collected c = {0};
    int64_t t0 = aieb_now_ns();
    assert_int_equal(run_n(b, 4, &c, 500, NULL), 0);
    assert_int_equal(c.n, 4);
    for (size_t i = 0; i < c.n; i++) {
        const aieb_result *r = &c.r[i];
        assert_int_equal(r->error_kind, AIEB_REQ_OK);
        assert_int_equal(r->index, i);
        assert_int_equal(r->completion_tokens, 5);
        assert_int_equal(r->n_chunks, 5);
        assert_int_equal(r->prompt_tokens, (long)strlen(prompts[i]) + 1);
        assert_int_equal(r->prompt_chars, strlen(prompts[i]));
        assert_true(r->queued_ns >= t0 && r->sent_ns >= r->queued_ns);
        assert_true(r->first_token_ns > r->sent_ns);
        assert_true(r->prefill_end_ns == r->first_token_ns);
        assert_true(r->first_content_ns == r->first_token_ns);
        for (size_t k = 1; k < r->n_chunks; k++)
            assert_true(r->chunk_ns[k] >= r->chunk_ns[k - 1]);
        assert_true(r->done_ns >= r->chunk_ns[r->n_chunks - 1]);
        assert_true(r->done_ns <= aieb_now_ns());
        assert_null(r->error);
    }
    collected_free(&c);
    aieb_err uerr = {0};
    assert_int_equal(b->ops->unload(b, &uerr), 0);
    json_t *info = b->ops->info(b);
    assert_string_equal(json_string_value(json_object_get(info, "type")), "pytorch");
    assert_string_equal(json_string_value(json_object_get(info, "cuda_visible_devices")), "2,5");
    json_t *v = json_object_get(info, "versions");
    assert_string_equal(json_string_value(json_object_get(v, "torch")), "2.9.0-fake");
    json_t *gm = json_object_get(info, "gpu_memory");
    assert_true(json_real_value(json_object_get(gm, "load_growth_mb")) == 300.0);
    assert_true(json_real_value(json_object_get(gm, "used_after_unload_mb")) == 500.0);
    assert_true(json_real_value(json_object_get(gm, "freed_at_unload_mb")) == 300.0);
    assert_non_null(json_object_get(info, "memory_after_unload"));
    assert_int_equal(json_integer_value(json_object_get(info, "generate_calls")), 4);
    json_decref(info);
    /* info() unloaded the model: no more requests. */
    aieb_err err = {0};
    aieb_request rq = {.index = 0, .prompt = "x"};
    assert_int_equal(b->ops->run(b, &rq, 1, 1, 100, collect, &c, NULL, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "unloaded"));
    b->ops->close(b);

    /* The worker saw CUDA_VISIBLE_DEVICES and one generate call per request,
     * then stats, unload and exit. */
    FILE *f = fopen(log_path, "r");
    assert_non_null(f);
    char line[8192];
    int n_gen = 0, saw_cvd = 0, saw_exit = 0, saw_unload = 0;
    while (fgets(line, sizeof line, f)) {
        saw_cvd |= strstr(line, "\"cuda_visible_devices\": \"2,5\"") != NULL;
        n_gen += strstr(line, "\"op\": \"generate\"") != NULL;
        saw_unload |= strstr(line, "\"op\": \"unload\"") != NULL;
        saw_exit |= strstr(line, "\"op\": \"exit\"") != NULL;
    }
    fclose(f);
    assert_true(saw_cvd);
    assert_int_equal(n_gen, 4);
    assert_true(saw_unload && saw_exit);
}

/* batch_size groups requests: 5 requests, batch 2 -> 3 calls; sampling settings,
 * system prompt, formatter extras and extra generate kwargs reach the worker. */
static void test_batches_and_parameters(void **state)
{
    (void)state;
    aieb_pytorch_opts o;
    base_opts(&o);
    o.batch_size = 2;
    o.gen.temperature = 0.7;
    o.gen.top_k = 40;
    o.gen.top_p = 0.9;
    o.gen.do_sample = 1;
    o.gen.seed = 100;
    o.gen.min_new_tokens = 2;
    json_t *extra = json_pack("{s:f}", "repetition_penalty", 1.1);
    o.generate_extra = extra;
    setenv("FAKE_TORCH_LOG", log_path, 1);
    unlink(log_path);
    aieb_backend *b = open_loaded(&o);
    json_decref(extra); /* copied */
    aieb_request reqs[5];
    make_requests(reqs, 5);
    reqs[1].system_prompt = "Be brief.";
    json_t *ep = json_pack("{s:{s:b}}", "chat_template_kwargs", "enable_thinking", 0);
    reqs[1].extra_params = ep;
    collected c = {0};
    aieb_err err = {0};
    assert_int_equal(b->ops->run(b, reqs, 5, 4, 500, collect, &c, NULL, &err), 0);
    json_decref(ep);
    assert_int_equal(c.n, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(c.r[i].error_kind, AIEB_REQ_OK);
        assert_int_equal(c.r[i].index, i);
    }
    /* members of a group share the call's send and done times */
    assert_true(c.r[0].sent_ns == c.r[1].sent_ns && c.r[0].done_ns == c.r[1].done_ns);
    assert_true(c.r[2].sent_ns > c.r[1].done_ns);
    collected_free(&c);
    json_t *info = b->ops->info(b);
    assert_int_equal(json_integer_value(json_object_get(info, "generate_calls")), 3);
    assert_non_null(json_object_get(info, "note")); /* max_concurrency 4 was ignored */
    json_decref(info);
    b->ops->close(b);

    json_error_t je;
    FILE *f = fopen(log_path, "r");
    assert_non_null(f);
    char line[16384];
    int n_gen = 0;
    while (fgets(line, sizeof line, f)) {
        json_t *m = json_loads(line, 0, &je);
        assert_non_null(m);
        const char *op = json_string_value(json_object_get(m, "op"));
        if (op && strcmp(op, "generate") == 0) {
            json_t *rq = json_object_get(m, "requests");
            size_t want = n_gen < 2 ? 2 : 1;
            assert_int_equal(json_array_size(rq), want);
            /* seed + the group's first index */
            assert_int_equal(json_integer_value(json_object_get(m, "seed")), 100 + 2 * n_gen);
            assert_true(json_is_true(json_object_get(m, "do_sample")));
            assert_int_equal(json_integer_value(json_object_get(m, "top_k")), 40);
            assert_int_equal(json_integer_value(json_object_get(m, "min_new_tokens")), 2);
            assert_true(json_is_false(json_object_get(m, "ignore_eos")));
            assert_non_null(json_object_get(json_object_get(m, "extra"), "repetition_penalty"));
            if (n_gen == 0) {
                json_t *r1 = json_array_get(rq, 1);
                assert_string_equal(json_string_value(json_object_get(r1, "system_prompt")),
                                    "Be brief.");
                assert_true(json_is_false(json_object_get(
                    json_object_get(json_object_get(r1, "extra_params"), "chat_template_kwargs"),
                    "enable_thinking")));
            }
            n_gen++;
        }
        json_decref(m);
    }
    fclose(f);
    assert_int_equal(n_gen, 3);
}

/* Arrival times are honoured: a request is not sent before it. */
static void test_arrival_times(void **state)
{
    (void)state;
    aieb_pytorch_opts o;
    base_opts(&o);
    aieb_backend *b = open_loaded(&o);
    aieb_request reqs[3];
    make_requests(reqs, 3);
    int64_t t0 = aieb_now_ns();
    for (int i = 0; i < 3; i++)
        reqs[i].arrival_ns = t0 + (int64_t)(i + 1) * 150 * AIEB_NS_PER_MS;
    collected c = {0};
    aieb_err err = {0};
    assert_int_equal(b->ops->run(b, reqs, 3, 1, 500, collect, &c, NULL, &err), 0);
    assert_int_equal(c.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_true(c.r[i].sent_ns >= reqs[i].arrival_ns);
        assert_true(c.r[i].queued_ns == reqs[i].arrival_ns);
    }
    collected_free(&c);
    b->ops->close(b);
}

/* An unrelated reply line is skipped. */
static void test_stray_reply_skipped(void **state)
{
    (void)state;
    set_mode("stray_reply", 1);
    aieb_pytorch_opts o;
    base_opts(&o);
    aieb_backend *b = open_loaded(&o);
    collected c = {0};
    run_n(b, 2, &c, 500, NULL);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.r[0].error_kind, AIEB_REQ_OK);
    assert_int_equal(c.r[1].error_kind, AIEB_REQ_OK);
    collected_free(&c);
    b->ops->close(b);
}

/* ==== Failures during requests ============================================= */

/* A crash mid-request fails it with the exit status and the last stderr lines;
 * later requests fail at once with the same cause. */
static void test_crash_mid_request(void **state)
{
    (void)state;
    set_mode("crash", 2);
    aieb_pytorch_opts o;
    base_opts(&o);
    aieb_backend *b = open_loaded(&o);
    collected c = {0};
    int64_t t0 = aieb_now_ns();
    assert_int_equal(run_n(b, 4, &c, 500, NULL), 0);
    assert_true(aieb_now_ns() - t0 < PROMPT_NS);
    assert_int_equal(c.n, 4);
    assert_int_equal(c.r[0].error_kind, AIEB_REQ_OK);
    assert_int_equal(c.r[1].error_kind, AIEB_REQ_ENGINE);
    assert_non_null(strstr(c.r[1].error, "exited with status 7"));
    assert_non_null(strstr(c.r[1].error, "illegal memory access"));
    assert_true(c.r[1].sent_ns > 0);
    for (int i = 2; i < 4; i++) {
        assert_int_equal(c.r[i].error_kind, AIEB_REQ_ENGINE);
        assert_non_null(strstr(c.r[i].error, "exited with status 7"));
    }
    collected_free(&c);
    json_t *info = b->ops->info(b);
    assert_non_null(json_object_get(info, "worker_lost"));
    json_decref(info);
    b->ops->close(b);
}

static void test_crash_by_signal_fail_fast(void **state)
{
    (void)state;
    set_mode("crash", 1);
    setenv("FAKE_TORCH_SIGNAL", "9", 1);
    aieb_pytorch_opts o;
    base_opts(&o);
    aieb_backend *b = open_loaded(&o);
    collected c = {.stop_on_failure = 1};
    assert_int_equal(run_n(b, 4, &c, 500, NULL), 0);
    assert_int_equal(c.n, 1); /* the callback asked to stop */
    assert_int_equal(c.r[0].error_kind, AIEB_REQ_ENGINE);
    assert_non_null(strstr(c.r[0].error, "killed by signal 9"));
    collected_free(&c);
    b->ops->close(b);
}

/* A Python exception fails that request with the traceback; the worker goes on. */
static void test_exception_keeps_worker(void **state)
{
    (void)state;
    set_mode("exception", 1);
    aieb_pytorch_opts o;
    base_opts(&o);
    aieb_backend *b = open_loaded(&o);
    collected c = {0};
    run_n(b, 2, &c, 500, NULL);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.r[0].error_kind, AIEB_REQ_ENGINE);
    assert_non_null(strstr(c.r[0].error, "ValueError: fake failure inside generate"));
    assert_non_null(strstr(c.r[0].error, "last stderr lines"));
    assert_non_null(strstr(c.r[0].error, "Traceback"));
    assert_int_equal(c.r[1].error_kind, AIEB_REQ_OK);
    collected_free(&c);
    b->ops->close(b);
}

/* A line that is not JSON ends the worker; the request says what came. */
static void test_garbage_line(void **state)
{
    (void)state;
    set_mode("garbage", 1);
    aieb_pytorch_opts o;
    base_opts(&o);
    aieb_backend *b = open_loaded(&o);
    collected c = {0};
    int64_t t0 = aieb_now_ns();
    run_n(b, 2, &c, 500, NULL);
    assert_true(aieb_now_ns() - t0 < PROMPT_NS);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.r[0].error_kind, AIEB_REQ_ENGINE);
    assert_non_null(strstr(c.r[0].error, "not a JSON object (\"this is not json\")"));
    assert_int_equal(c.r[1].error_kind, AIEB_REQ_ENGINE);
    collected_free(&c);
    b->ops->close(b);
}

/* A worker that hangs and ignores cancels: timeout, then it is killed. */
static void test_hang_times_out(void **state)
{
    (void)state;
    set_mode("hang", 1);
    aieb_pytorch_opts o;
    base_opts(&o);
    o.timeout_s = 0.4;
    aieb_backend *b = open_loaded(&o);
    collected c = {0};
    int64_t t0 = aieb_now_ns();
    run_n(b, 2, &c, 300, NULL);
    int64_t dt = aieb_now_ns() - t0;
    assert_true(dt >= 650 * AIEB_NS_PER_MS && dt < PROMPT_NS);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.r[0].error_kind, AIEB_REQ_TIMEOUT);
    assert_non_null(strstr(c.r[0].error, "did not answer a cancel within 300 ms"));
    assert_int_equal(c.r[1].error_kind, AIEB_REQ_ENGINE);
    collected_free(&c);
    json_t *info = b->ops->info(b);
    assert_int_equal(json_integer_value(json_object_get(info, "timeouts")), 1);
    json_decref(info);
    b->ops->close(b);
}

/* A slow call past the timeout is cancelled; the worker answers and goes on. */
static void test_slow_cancelled_by_timeout(void **state)
{
    (void)state;
    set_mode("slow", 1);
    aieb_pytorch_opts o;
    base_opts(&o);
    o.timeout_s = 0.3;
    aieb_backend *b = open_loaded(&o);
    collected c = {0};
    run_n(b, 2, &c, 20000, NULL); /* the time the worker has to answer the cancel */
    assert_int_equal(c.n, 2);
    assert_int_equal(c.r[0].error_kind, AIEB_REQ_TIMEOUT);
    assert_non_null(strstr(c.r[0].error, "timed out after"));
    assert_true(c.r[0].n_chunks > 0); /* the tokens made before the cancel are kept */
    assert_int_equal(c.r[1].error_kind, AIEB_REQ_OK);
    collected_free(&c);
    b->ops->close(b);
}

static volatile int stop_flag;
static int64_t stop_ns;

/* Raises the stop flag once the worker has the generate call (its log says so):
 * waited for, since a fixed delay may pass before the call is sent on a busy
 * machine. */
static void *raise_stop(void *arg)
{
    (void)arg;
    int64_t give_up = aieb_now_ns() + EVENT_TIMEOUT_S * AIEB_NS_PER_S;
    for (int sent = 0; !sent && aieb_now_ns() < give_up;) {
        FILE *f = fopen(log_path, "r");
        char line[8192];
        while (f && !sent && fgets(line, sizeof line, f))
            sent = strstr(line, "\"op\": \"generate\"") != NULL;
        if (f)
            fclose(f);
        if (!sent)
            aieb_sleep_ns(5 * AIEB_NS_PER_MS, NULL);
    }
    stop_ns = aieb_now_ns();
    stop_flag = 1;
    return NULL;
}

/* A stop during a call cancels it: CANCELLED, and run() returns promptly (the
 * call would go on for 60 s). */
static void test_stop_cancels(void **state)
{
    (void)state;
    set_mode("slow", 1);
    setenv("FAKE_TORCH_LOG", log_path, 1);
    unlink(log_path);
    aieb_pytorch_opts o;
    base_opts(&o);
    aieb_backend *b = open_loaded(&o);
    collected c = {0};
    stop_flag = 0;
    pthread_t th;
    pthread_create(&th, NULL, raise_stop, NULL);
    run_n(b, 3, &c, 2000, &stop_flag);
    int64_t end = aieb_now_ns();
    pthread_join(th, NULL);
    assert_true(end - stop_ns < PROMPT_NS);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.r[0].error_kind, AIEB_REQ_CANCELLED);
    collected_free(&c);
    b->ops->close(b);
}

/* Token times outside the call's interval are refused. */
static void test_bad_times(void **state)
{
    (void)state;
    set_mode("bad_times", 1);
    aieb_pytorch_opts o;
    base_opts(&o);
    aieb_backend *b = open_loaded(&o);
    collected c = {0};
    run_n(b, 1, &c, 500, NULL);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.r[0].error_kind, AIEB_REQ_ENGINE);
    assert_non_null(strstr(c.r[0].error, "clock mismatch"));
    collected_free(&c);
    json_t *info = b->ops->info(b);
    assert_int_equal(json_integer_value(json_object_get(info, "clock_violations")), 1);
    json_decref(info);
    b->ops->close(b);
}

/* A reply line past the cap is an error, not a memory sink. */
static void test_huge_line(void **state)
{
    (void)state;
    set_mode("huge_line", 1);
    aieb_pytorch_opts o;
    base_opts(&o);
    o.max_line_bytes = 100000;
    aieb_backend *b = open_loaded(&o);
    collected c = {0};
    run_n(b, 1, &c, 500, NULL);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.r[0].error_kind, AIEB_REQ_ENGINE);
    assert_non_null(strstr(c.r[0].error, "longer than 100000 bytes"));
    collected_free(&c);
    b->ops->close(b);
}

/* ==== Failures before requests ============================================= */

static int start_fails(aieb_pytorch_opts *o, aieb_err *err)
{
    aieb_backend *b = NULL;
    int rc = aieb_pytorch_backend_open(o, &b, err);
    if (!rc)
        rc = b->ops->health(b, NULL, err);
    if (!rc)
        rc = b->ops->load(b, err);
    if (b)
        b->ops->close(b);
    return rc;
}

static void test_handshake_failures(void **state)
{
    (void)state;
    aieb_pytorch_opts o;
    aieb_err err = {0};
    base_opts(&o);

    set_mode("no_torch", 1);
    assert_int_equal(start_fails(&o, &err), AIEB_EENV);
    assert_non_null(strstr(err.msg, "cannot import torch (ModuleNotFoundError"));
    assert_non_null(strstr(err.msg, "apt-get install python3-torch"));
    assert_non_null(strstr(err.msg, "pip install torch transformers"));

    set_mode("no_transformers", 1);
    assert_int_equal(start_fails(&o, &err), AIEB_EENV);
    assert_non_null(strstr(err.msg, "cannot import transformers"));
    assert_non_null(strstr(err.msg, "pip install torch transformers"));
    o.model = "torch-tiny:"; /* needs torch only */
    assert_int_equal(start_fails(&o, &err), 0);
    o.model = "synthetic:gpt2";

    set_mode("no_cuda", 1);
    assert_int_equal(start_fails(&o, &err), AIEB_EENV);
    assert_non_null(strstr(err.msg, "sees no GPU"));
    o.device = "cpu";
    assert_int_equal(start_fails(&o, &err), 0);
    o.device = NULL;

    set_mode("bad_clock", 1);
    assert_int_equal(start_fails(&o, &err), AIEB_EENV);
    assert_non_null(strstr(err.msg, "is not between aieb's CLOCK_MONOTONIC readings"));

    set_mode("no_handshake", 1);
    assert_int_equal(start_fails(&o, &err), AIEB_EENV);
    assert_non_null(strstr(err.msg, "ended before its handshake"));
    assert_non_null(strstr(err.msg, "exited with status 2"));
    assert_non_null(strstr(err.msg, "ImportError: something essential is missing"));

    set_mode("not_handshake", 1);
    int64_t t0 = aieb_now_ns();
    assert_int_equal(start_fails(&o, &err), AIEB_EENV);
    assert_non_null(strstr(err.msg, "is not an aieb worker"));
    assert_true(aieb_now_ns() - t0 < PROMPT_NS); /* it would sleep 30 s */

    /* The message quotes the worker's stderr, which it writes once Python has
     * started: 5 s leaves room for that on a busy machine (it took 0.7 s of
     * the 0.5 s this was) and is still far from the 30 s it would sleep. */
    set_mode("slow_start", 1);
    o.startup_timeout_s = 5;
    t0 = aieb_now_ns();
    assert_int_equal(start_fails(&o, &err), AIEB_EENV);
    assert_true(aieb_now_ns() - t0 < PROMPT_NS); /* it would start after 30 s */
    assert_non_null(strstr(err.msg, "did not start within 5.0 s"));
    assert_non_null(strstr(err.msg, "starting slowly"));

    /* A stop (Ctrl-C) ends the wait for the handshake at once. */
    o.startup_timeout_s = 30;
    aieb_backend *b = NULL;
    assert_int_equal(aieb_pytorch_backend_open(&o, &b, &err), 0);
    volatile int stop = 1;
    t0 = aieb_now_ns();
    assert_int_equal(b->ops->health(b, &stop, &err), AIEB_EINTR);
    assert_true(aieb_now_ns() - t0 < PROMPT_NS); /* the start-up timeout is 30 s */
    b->ops->close(b);
}

static void test_missing_python_and_worker(void **state)
{
    (void)state;
    aieb_pytorch_opts o;
    aieb_err err = {0};
    base_opts(&o);
    o.python = "/nonexistent/bin/python3";
    assert_int_equal(start_fails(&o, &err), AIEB_EENV);
    assert_non_null(strstr(err.msg, "/nonexistent/bin/python3' was not found"));
    assert_non_null(strstr(err.msg, "apt-get install python3"));
    o.python = "aieb-no-such-python";
    assert_int_equal(start_fails(&o, &err), AIEB_EENV);
    assert_non_null(strstr(err.msg, "not found on PATH"));

    base_opts(&o);
    o.worker = "/nonexistent/aieb_torch_worker.py";
    assert_int_equal(start_fails(&o, &err), AIEB_EENV);
    assert_non_null(strstr(err.msg, "no such readable file"));

    /* The environment variable goes first. */
    base_opts(&o);
    o.worker = NULL;
    setenv(AIEB_TORCH_WORKER_ENV, "/nonexistent/w.py", 1);
    assert_int_equal(start_fails(&o, &err), AIEB_EENV);
    assert_non_null(strstr(err.msg, "AIEB_TORCH_WORKER=/nonexistent/w.py"));
    setenv(AIEB_TORCH_WORKER_ENV, fake, 1);
    assert_int_equal(start_fails(&o, &err), 0);
    unsetenv(AIEB_TORCH_WORKER_ENV);

    /* Without it, the source tree's worker is found (this program is not installed). */
    char path[4096];
    assert_int_equal(aieb_pytorch_find_worker(path, sizeof path, &err), 0);
    const char *tail = "/python/aieb_torch_worker.py";
    assert_true(strlen(path) > strlen(tail));
    assert_string_equal(path + strlen(path) - strlen(tail), tail);
    assert_int_equal(access(path, R_OK), 0);
}

static void test_load_failures(void **state)
{
    (void)state;
    aieb_pytorch_opts o;
    aieb_err err = {0};
    base_opts(&o);
    set_mode("load_error", 1);
    assert_int_equal(start_fails(&o, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "loading synthetic:gpt2: OSError"));

    set_mode("load_hang", 1);
    o.load_timeout_s = 0.4;
    o.close_timeout_s = 0.3;
    int64_t t0 = aieb_now_ns();
    assert_int_equal(start_fails(&o, &err), AIEB_ETIMEOUT);
    assert_true(aieb_now_ns() - t0 < PROMPT_NS);
    assert_non_null(strstr(err.msg, "took longer than"));
}

/* A worker that ignores exit and SIGTERM is killed; close() does not hang. */
static void test_close_kills_stubborn_worker(void **state)
{
    (void)state;
    set_mode("ignore_exit", 1);
    aieb_pytorch_opts o;
    base_opts(&o);
    o.close_timeout_s = 0.3;
    aieb_backend *b = open_loaded(&o);
    int64_t t0 = aieb_now_ns();
    b->ops->close(b);
    int64_t dt = aieb_now_ns() - t0;
    assert_true(dt >= 300 * AIEB_NS_PER_MS && dt < PROMPT_NS);
}

static void test_open_validation(void **state)
{
    (void)state;
    aieb_pytorch_opts o;
    aieb_backend *b = NULL;
    aieb_err err = {0};
    base_opts(&o);
    o.model = NULL;
    assert_int_equal(aieb_pytorch_backend_open(&o, &b, &err), AIEB_EINVAL);
    base_opts(&o);
    o.batch_size = 0;
    assert_int_equal(aieb_pytorch_backend_open(&o, &b, &err), AIEB_EINVAL);
    o.batch_size = AIEB_PYTORCH_MAX_BATCH + 1;
    assert_int_equal(aieb_pytorch_backend_open(&o, &b, &err), AIEB_EINVAL);
    base_opts(&o);
    o.load_in_4bit = o.load_in_8bit = 1;
    assert_int_equal(aieb_pytorch_backend_open(&o, &b, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "pick one"));
    base_opts(&o);
    o.gen.max_new_tokens = 0;
    assert_int_equal(aieb_pytorch_backend_open(&o, &b, &err), AIEB_EINVAL);
    assert_null(b);
    /* run() before load() */
    base_opts(&o);
    assert_int_equal(aieb_pytorch_backend_open(&o, &b, &err), 0);
    collected c = {0};
    assert_int_equal(run_n(b, 1, &c, 100, NULL), AIEB_EINVAL);
    assert_int_equal(c.n, 0);
    b->ops->close(b);
}

int main(void)
{
    const char *src = getenv("AIEB_SOURCE_DIR");
    if (!src) {
        fprintf(stderr, "skip: AIEB_SOURCE_DIR is not set\n");
        return 77;
    }
    if (system("command -v python3 >/dev/null 2>&1") != 0) {
        fprintf(stderr, "skip: python3 is not on PATH (the stand-in worker needs it)\n");
        return 77;
    }
    snprintf(fake, sizeof fake, "%s/tests/fakes/fake_torch_worker.py", src);
    snprintf(log_path, sizeof log_path, "%s/aieb-test-pytorch-%d.jsonl",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_results_and_info, setup_env),
        cmocka_unit_test_setup(test_batches_and_parameters, setup_env),
        cmocka_unit_test_setup(test_arrival_times, setup_env),
        cmocka_unit_test_setup(test_stray_reply_skipped, setup_env),
        cmocka_unit_test_setup(test_crash_mid_request, setup_env),
        cmocka_unit_test_setup(test_crash_by_signal_fail_fast, setup_env),
        cmocka_unit_test_setup(test_exception_keeps_worker, setup_env),
        cmocka_unit_test_setup(test_garbage_line, setup_env),
        cmocka_unit_test_setup(test_hang_times_out, setup_env),
        cmocka_unit_test_setup(test_slow_cancelled_by_timeout, setup_env),
        cmocka_unit_test_setup(test_stop_cancels, setup_env),
        cmocka_unit_test_setup(test_bad_times, setup_env),
        cmocka_unit_test_setup(test_huge_line, setup_env),
        cmocka_unit_test_setup(test_handshake_failures, setup_env),
        cmocka_unit_test_setup(test_missing_python_and_worker, setup_env),
        cmocka_unit_test_setup(test_load_failures, setup_env),
        cmocka_unit_test_setup(test_close_kills_stubborn_worker, setup_env),
        cmocka_unit_test_setup(test_open_validation, setup_env),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(log_path);
    return rc;
}
