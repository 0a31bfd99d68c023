/* pytorch_run.c - the pytorch backend's run(): requests in groups of
 * batch_size, one generate call each, the worker's token times into results. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/buf.h"
#include "aieb/clock.h"
#include "aieb/log.h"
#include "backend/pytorch_internal.h"

/* ==== The generate message ================================================= */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (!n || (n == 3 && s[0] > 0xef))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
        return 0; /* overlong, surrogate or past U+10FFFF */
    return n;
}

/* A JSON string of s; bytes that are not UTF-8 become '?' (JSON carries text). */
static json_t *text_json(const char *s)
{
    json_t *j = json_string(s ? s : "");
    if (j)
        return j;
    size_t len = strlen(s);
    char *c = malloc(len + 1);
    if (!c)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t k = 0;
    while (*p) {
        size_t n = utf8_seq(p);
        if (!n) {
            c[k++] = '?';
            p++;
        } else {
            memcpy(c + k, p, n);
            k += n;
            p += n;
        }
    }
    c[k] = '\0';
    j = json_string(c);
    free(c);
    return j;
}

static int ignore_eos(const aieb_gen_params *g)
{
    return g->ignore_eos > 0 || (g->ignore_eos < 0 && g->min_new_tokens == g->max_new_tokens);
}

static json_t *generate_message(const torch_backend *t, const aieb_request *reqs, size_t n,
                                long long id)
{
    /* The runner sends groups whose requests ask for the same length. */
    const aieb_gen_params gp = aieb_request_gen(&t->gen, &reqs[0]), *g = &gp;
    json_t *arr = json_array();
    json_t *m = json_pack("{s:s, s:I, s:i, s:b}", "op", "generate", "id", (json_int_t)id,
                          "max_new_tokens", g->max_new_tokens, "ignore_eos", ignore_eos(g));
    if (!arr || !m) {
        json_decref(arr), json_decref(m);
        return NULL;
    }
    int bad = 0;
    for (size_t i = 0; i < n && !bad; i++) {
        json_t *r = json_object(), *p = text_json(reqs[i].prompt);
        bad = !r || !p;
        json_object_set_new(r, "index", json_integer((json_int_t)reqs[i].index));
        json_object_set_new(r, "prompt", p);
        if (!bad && reqs[i].system_prompt) {
            json_t *sp = text_json(reqs[i].system_prompt);
            bad = !sp;
            json_object_set_new(r, "system_prompt", sp);
        }
        if (!bad && json_is_object(reqs[i].extra_params))
            json_object_set(r, "extra_params", reqs[i].extra_params);
        bad = bad || json_array_append_new(arr, r) != 0;
    }
    json_object_set_new(m, "requests", arr);
    if (g->min_new_tokens > 0)
        json_object_set_new(m, "min_new_tokens", json_integer(g->min_new_tokens));
    if (g->do_sample >= 0)
        json_object_set_new(m, "do_sample", json_boolean(g->do_sample));
    if (g->temperature >= 0)
        json_object_set_new(m, "temperature", json_real(g->temperature));
    if (g->top_p > 0)
        json_object_set_new(m, "top_p", json_real(g->top_p));
    if (g->top_k > 0)
        json_object_set_new(m, "top_k", json_integer(g->top_k));
    /* Each group gets its own sampling stream, reproducible by its first index. */
    if (g->seed >= 0)
        json_object_set_new(m, "seed",
                            json_integer((json_int_t)(g->seed + (long long)reqs[0].index)));
    if (json_object_size(t->generate_extra))
        json_object_set(m, "extra", t->generate_extra);
    if (bad) {
        json_decref(m);
        return NULL;
    }
    return m;
}

/* ==== Results ============================================================== */

static void fail_all(aieb_result *res, size_t n, aieb_req_error_kind kind, const char *msg)
{
    for (size_t k = 0; k < n; k++) {
        if (res[k].error_kind != AIEB_REQ_OK)
            continue;
        res[k].error_kind = kind;
        res[k].error = strdup(msg);
    }
}

/* One request's record from the reply. Returns NULL or what is wrong. */
static const char *fill_one(const json_t *o, aieb_result *r, int64_t sent_ns, int64_t recv_ns,
                            int64_t done_ns)
{
    json_t *idx = json_object_get(o, "index");
    json_t *times = json_object_get(o, "token_ns");
    json_t *pt = json_object_get(o, "prompt_tokens");
    json_t *ct = json_object_get(o, "completion_tokens");
    if (!json_is_integer(idx) || (size_t)json_integer_value(idx) != r->index)
        return "a result for another request";
    if (!json_is_array(times) || !json_is_integer(pt) || !json_is_integer(ct) ||
        json_integer_value(ct) != (json_int_t)json_array_size(times))
        return "a result without prompt_tokens, completion_tokens and one time per token";
    size_t n = json_array_size(times);
    if (n) {
        r->chunk_ns = malloc(n * sizeof *r->chunk_ns);
        if (!r->chunk_ns)
            return "out of memory";
    }
    int64_t prev = sent_ns;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(times, i);
        int64_t ns = json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
        if (ns < prev || ns > recv_ns) {
            free(r->chunk_ns);
            r->chunk_ns = NULL;
            return "token times outside the call's interval or out of order (clock mismatch?)";
        }
        r->chunk_ns[i] = prev = ns;
    }
    r->n_chunks = n;
    r->prompt_tokens = (long)json_integer_value(pt);
    r->completion_tokens = (long)n;
    if (n)
        r->first_token_ns = r->first_content_ns = r->prefill_end_ns = r->chunk_ns[0];
    /* The group's answer is whole when generate returns: that is every member's end. */
    r->done_ns = done_ns > prev ? done_ns : prev;
    return NULL;
}

static void fill_results(torch_backend *t, const json_t *reply, aieb_result *res, size_t n,
                         int64_t sent_ns, int64_t recv_ns)
{
    const json_t *arr = json_object_get(reply, "results");
    const json_t *done = json_object_get(reply, "t_done_ns");
    int64_t done_ns = json_is_integer(done) ? (int64_t)json_integer_value(done) : 0;
    if (done_ns < sent_ns || done_ns > recv_ns) {
        t->n_clock_violations++;
        fail_all(res, n, AIEB_REQ_ENGINE,
                 "pytorch worker: t_done_ns is outside the call's interval (clock mismatch?)");
        return;
    }
    if (!json_is_array(arr) || json_array_size(arr) != n) {
        fail_all(res, n, AIEB_REQ_ENGINE,
                 "pytorch worker: the reply does not have one result per request");
        return;
    }
    for (size_t k = 0; k < n; k++) {
        const char *why = fill_one(json_array_get(arr, k), &res[k], sent_ns, recv_ns, done_ns);
        if (why) {
            char msg[256];
            snprintf(msg, sizeof msg, "pytorch worker: %s", why);
            t->n_clock_violations += strstr(why, "clock") != NULL;
            fail_all(res + k, 1, AIEB_REQ_ENGINE, msg);
        }
    }
}

/* ==== One generate call ==================================================== */

static void lost(torch_backend *t, aieb_result *res, size_t n, const char *what)
{
    aieb_buf b;
    aieb_buf_init(&b, 0);
    aieb_buf_printf(&b, "pytorch worker lost during a generate call: %s", what);
    tb_append_stderr(t, &b, 8);
    const char *msg = b.data ? b.data : what;
    tb_mark_dead(t, "%s", msg);
    fail_all(res, n, AIEB_REQ_ENGINE, msg);
    aieb_buf_free(&b);
}

static void send_cancel(torch_backend *t, long long id)
{
    char line[64];
    int len = snprintf(line, sizeof line, "{\"op\":\"cancel\",\"id\":%lld}\n", id);
    aieb_err err = {0};
    if (wproc_write(&t->proc, line, (size_t)len, aieb_now_ns() + AIEB_NS_PER_S, NULL, &err))
        AIEB_DEBUG("pytorch: cancel not sent: %s", err.msg);
}

static void worker_error(torch_backend *t, const json_t *reply, aieb_result *res, size_t n)
{
    const char *kind = json_string_value(json_object_get(reply, "kind"));
    const char *e = json_string_value(json_object_get(reply, "error"));
    aieb_buf b;
    aieb_buf_init(&b, 0);
    aieb_buf_printf(&b, "pytorch worker: %s", e ? e : "generate failed");
    if (kind && strcmp(kind, "oom") == 0)
        aieb_buf_puts(&b, " (out of memory: lower scenario.input_shapes.batch_size or "
                          "max_new_tokens)");
    if (!kind || strcmp(kind, "input") != 0)
        tb_append_stderr(t, &b, 8);
    t->n_worker_errors++;
    fail_all(res, n, AIEB_REQ_ENGINE, b.data ? b.data : "pytorch worker: generate failed");
    aieb_buf_free(&b);
}

/* Runs reqs[0..n) as one generate call and fills res[0..n) (index, queued_ns and
 * prompt_chars already set). Never fails as a whole: every outcome is in res. */
static void run_group(torch_backend *t, const aieb_request *reqs, size_t n, aieb_result *res,
                      int grace_ms, const volatile sig_atomic_t *stop)
{
    if (t->dead) {
        fail_all(res, n, AIEB_REQ_ENGINE, t->dead_msg);
        return;
    }
    long long id = ++t->next_id;
    json_t *msg = generate_message(t, reqs, n, id);
    char *line = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (!line) {
        fail_all(res, n, AIEB_REQ_ENGINE, "pytorch: out of memory");
        return;
    }
    size_t len = strlen(line);
    line[len] = '\n'; /* written by length: the NUL is not sent */
    int64_t sent = aieb_now_ns(), deadline = sent + t->timeout_ns;
    for (size_t k = 0; k < n; k++)
        res[k].sent_ns = sent;
    aieb_err err = {0};
    int rc = wproc_write(&t->proc, line, len + 1, deadline, stop, &err);
    free(line);
    t->n_generate_calls++;
    if (rc == AIEB_EINTR || rc == AIEB_ETIMEOUT) {
        /* Half a line may be in the pipe: the worker cannot be spoken to any more. */
        tb_mark_dead(t, "the pytorch worker stopped taking input (%s) and was stopped", err.msg);
        fail_all(res, n, rc == AIEB_EINTR ? AIEB_REQ_CANCELLED : AIEB_REQ_TIMEOUT, t->dead_msg);
        return;
    }
    if (rc) {
        lost(t, res, n, err.msg);
        return;
    }

    int cancel_sent = 0, timed_out = 0, stopped = 0;
    json_t *reply = NULL;
    while (!reply) {
        char *l;
        rc = wproc_read_line(&t->proc, deadline, cancel_sent ? NULL : stop, &l, &err);
        if (rc == 0) {
            json_t *o = json_loads(l, JSON_REJECT_DUPLICATES, NULL);
            if (!json_is_object(o)) {
                json_decref(o);
                char what[160];
                snprintf(what, sizeof what, "it sent a line that is not a JSON object (\"%.80s\")",
                         l);
                lost(t, res, n, what);
                return;
            }
            json_t *rid = json_object_get(o, "id");
            /* id null: the worker could not read our line; it is the answer. */
            if ((json_is_integer(rid) && json_integer_value(rid) == id) || json_is_null(rid)) {
                reply = o;
            } else {
                AIEB_DEBUG("pytorch: skipping a worker line that answers no pending call");
                json_decref(o);
            }
            continue;
        }
        if ((rc == AIEB_EINTR || rc == AIEB_ETIMEOUT) && !cancel_sent) {
            stopped = rc == AIEB_EINTR;
            timed_out = rc == AIEB_ETIMEOUT;
            send_cancel(t, id);
            cancel_sent = 1;
            deadline = aieb_now_ns() + (int64_t)grace_ms * AIEB_NS_PER_MS;
            continue;
        }
        if (rc == AIEB_ETIMEOUT) {
            if (timed_out)
                t->n_timeouts++;
            tb_mark_dead(t,
                         "the pytorch worker %s and did not answer a cancel within %d ms; it was "
                         "stopped",
                         timed_out ? "ran past backend.timeout_s" : "was interrupted", grace_ms);
            fail_all(res, n, timed_out ? AIEB_REQ_TIMEOUT : AIEB_REQ_CANCELLED, t->dead_msg);
            return;
        }
        lost(t, res, n, err.msg);
        return;
    }
    int64_t recv = aieb_now_ns();
    if (!json_is_true(json_object_get(reply, "ok"))) {
        worker_error(t, reply, res, n);
    } else {
        fill_results(t, reply, res, n, sent, recv);
        if (json_is_true(json_object_get(reply, "cancelled"))) {
            char m[160];
            if (timed_out) {
                t->n_timeouts++;
                snprintf(m, sizeof m,
                         "timed out after %.0f s (backend.timeout_s); generation was "
                         "cancelled",
                         (double)t->timeout_ns / 1e9);
            } else {
                snprintf(m, sizeof m, "stopped by an interrupt");
            }
            fail_all(res, n, timed_out ? AIEB_REQ_TIMEOUT : AIEB_REQ_CANCELLED, m);
        }
    }
    (void)stopped;
    json_decref(reply);
}

/* ==== run() ================================================================ */

int tb_run(aieb_backend *b, const aieb_request *reqs, size_t count, int max_concurrency,
           int grace_ms, aieb_result_cb cb, void *user, const volatile sig_atomic_t *stop,
           aieb_err *err)
{
    torch_backend *t = b->ctx;
    if (!t->loaded && !t->dead)
        return aieb_errf(err, AIEB_EINVAL, "pytorch: model not loaded%s",
                         t->unloaded ? " (it was unloaded)" : "");
    if (max_concurrency > t->concurrency_asked)
        t->concurrency_asked = max_concurrency;
    if (grace_ms <= 0)
        grace_ms = 5000;
    size_t bs = (size_t)t->batch_size;
    aieb_result *res = calloc(bs, sizeof *res);
    if (!res)
        return aieb_errf(err, AIEB_ENOMEM, "pytorch: out of memory");
    int want_stop = 0;
    for (size_t g0 = 0; g0 < count && !want_stop; g0 += bs) {
        size_t n = count - g0 < bs ? count - g0 : bs;
        const aieb_request *grp = reqs + g0;
        /* A group goes when its last member may be sent. */
        int64_t due = 0;
        for (size_t k = 0; k < n; k++)
            due = grp[k].arrival_ns > due ? grp[k].arrival_ns : due;
        if (due && aieb_sleep_ns(due - aieb_now_ns(), stop) != 0)
            break;
        if (stop && *stop)
            break;
        int64_t now = aieb_now_ns();
        for (size_t k = 0; k < n; k++) {
            memset(&res[k], 0, sizeof res[k]);
            res[k].index = grp[k].index;
            res[k].queued_ns = grp[k].arrival_ns ? grp[k].arrival_ns : now;
            res[k].prompt_tokens = res[k].completion_tokens = res[k].reasoning_tokens = -1;
            res[k].prompt_chars = grp[k].prompt ? strlen(grp[k].prompt) : 0;
        }
        run_group(t, grp, n, res, grace_ms, stop);
        for (size_t k = 0; k < n; k++) {
            if (cb && cb(user, &res[k]))
                want_stop = 1; /* the rest of the group has finished too: still reported */
            aieb_result_clear(&res[k]);
        }
        if (stop && *stop)
            break;
    }
    free(res);
    return 0;
}
