/* openai_run.c - the request loop: libcurl's multi interface, one slot per
 * request in flight, timestamps taken as bytes arrive.
 *
 * One thread drives everything: it starts requests whose arrival time has come
 * while fewer than max_concurrency are in flight, lets curl move bytes, stamps
 * each token-bearing SSE event with the time its bytes were handed over,
 * enforces the first-byte / idle / total timeouts itself, retries connections
 * that failed before any byte came back, and reports each finished request to
 * the caller's callback. Slots (easy handle, SSE parser, buffers) are reused
 * from request to request, and the multi handle keeps connections alive. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "aieb/clock.h"
#include "aieb/log.h"
#include "aieb/sse.h"
#include "backend/openai_internal.h"

/* The loop looks at *stop at least this often. */
#define STOP_POLL_MS 50
/* Error bodies kept for the message (the rest is dropped, not an error). */
#define ERROR_BODY_MAX (64u << 10)

typedef struct run_state run_state;

typedef struct slot {
    run_state *rs;
    CURL *easy;
    int busy;     /* holds a request (in flight, or waiting to retry) */
    int attached; /* added to the multi handle */
    const aieb_request *req;
    aieb_result res;
    char *body; /* the request's JSON */
    int attempt;
    int64_t retry_at_ns;
    /* per attempt */
    aieb_sse sse;
    aieb_buf raw; /* error body, or a whole (non-streamed) JSON answer */
    long status;
    int is_sse;
    int type_seen;
    size_t rx_bytes;
    int64_t attempt_ns, first_rx_ns, last_rx_ns;
    int fail_kind; /* set by our callbacks when they stop a transfer */
    aieb_err fail;
    int has_usage;
    long long u_prompt, u_completion, u_reasoning;
    size_t n_reasoning_chunks;
    int64_t *chunks; /* res.chunk_ns points here */
    size_t chunk_cap;
    char errbuf[CURL_ERROR_SIZE];
} slot;

struct run_state {
    oa_ctx *c;
    CURLM *multi;
    slot *slots;
    int n_slots;
    aieb_result_cb cb;
    void *user;
    int cb_stop;
    int stopping;
    int64_t run_start_ns;
    int epfd;         /* sockets curl wants watched (curl_multi_socket_action) */
    int64_t timer_ns; /* when curl wants to be called back, 0 = not */
};

/* ==== curl callbacks ======================================================= */

static int push_chunk(slot *s, int64_t t_ns)
{
    if (s->res.n_chunks == s->chunk_cap) {
        size_t cap = s->chunk_cap ? s->chunk_cap * 2 : 256;
        int64_t *p = realloc(s->chunks, cap * sizeof *p);
        if (!p)
            return AIEB_ENOMEM;
        s->chunks = p;
        s->chunk_cap = cap;
    }
    s->chunks[s->res.n_chunks++] = t_ns;
    return 0;
}

static int on_event(void *user, const aieb_sse_event *ev, aieb_err *err)
{
    slot *s = user;
    if (ev->content || ev->reasoning) {
        int64_t t = s->last_rx_ns;
        if (!s->res.first_token_ns)
            s->res.first_token_ns = t;
        if (ev->content && !s->res.first_content_ns)
            s->res.first_content_ns = t;
        if (ev->reasoning && !ev->content)
            s->n_reasoning_chunks++;
        if (push_chunk(s, t) != 0)
            return aieb_errf(err, AIEB_ENOMEM, "out of memory recording chunk times");
    }
    if (ev->has_usage) {
        /* some servers repeat usage, cumulative; the last one counts */
        s->has_usage = 1;
        s->u_prompt = ev->prompt_tokens;
        s->u_completion = ev->completion_tokens;
        s->u_reasoning = ev->reasoning_tokens;
    }
    return 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    slot *s = ud;
    size_t n = size * nmemb;
    int64_t now = aieb_now_ns();
    if (!s->first_rx_ns)
        s->first_rx_ns = now;
    s->last_rx_ns = now;
    s->rx_bytes += n;
    if (n >= 13 && strncasecmp(data, "content-type:", 13) == 0) {
        s->type_seen = 1;
        s->is_sse = memmem(data, n, "event-stream", 12) != NULL;
    } else if (n <= 2 && (data[0] == '\r' || data[0] == '\n')) {
        curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &s->status);
        if (!s->type_seen) /* no Content-Type: take it as what was asked for */
            s->is_sse = s->rs->c->o.stream;
    } else if (!s->rs->c->server[0]) {
        oa_note_server(s->rs->c, data, n);
    }
    return n;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
    slot *s = ud;
    size_t n = size * nmemb;
    s->last_rx_ns = aieb_now_ns();
    if (!s->first_rx_ns)
        s->first_rx_ns = s->last_rx_ns;
    s->rx_bytes += n;
    if (s->status >= 400) {
        size_t room = ERROR_BODY_MAX - s->raw.len;
        aieb_buf_append(&s->raw, data, n < room ? n : room); /* the start says enough */
        return n;
    }
    if (!s->is_sse) {
        if (aieb_buf_append(&s->raw, data, n) != 0) {
            s->fail_kind = AIEB_REQ_STREAM;
            aieb_errf(&s->fail, AIEB_ETOOBIG, "response body longer than %zu bytes (the body cap)",
                      s->raw.max_len);
            return 0;
        }
        return n;
    }
    if (aieb_sse_feed(&s->sse, data, n, on_event, s, &s->fail) != 0) {
        s->fail_kind = AIEB_REQ_STREAM;
        return 0; /* curl stops the transfer with CURLE_WRITE_ERROR */
    }
    return n;
}

/* ==== Requests ============================================================= */

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Sends (or re-sends) the slot's request. */
static int attach(slot *s)
{
    aieb_sse_reset(&s->sse);
    aieb_buf_reset(&s->raw);
    s->status = 0;
    s->is_sse = 0;
    s->type_seen = 0;
    s->rx_bytes = 0;
    s->first_rx_ns = s->last_rx_ns = 0;
    s->fail_kind = 0;
    aieb_err_clear(&s->fail);
    s->has_usage = 0;
    s->n_reasoning_chunks = 0;
    s->res.n_chunks = 0;
    s->res.first_token_ns = s->res.first_content_ns = 0;
    s->errbuf[0] = '\0';
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(s->body));
    s->attempt_ns = s->res.sent_ns = aieb_now_ns();
    if (curl_multi_add_handle(s->rs->multi, s->easy) != CURLM_OK)
        return AIEB_ENOMEM;
    s->attached = 1;
    s->retry_at_ns = 0;
    return 0;
}

static int start(slot *s, const aieb_request *r)
{
    memset(&s->res, 0, sizeof s->res);
    s->req = r;
    s->res.index = r->index;
    s->res.queued_ns = r->arrival_ns > 0 ? r->arrival_ns : s->rs->run_start_ns;
    s->res.prompt_chars = utf8_chars(r->prompt) + utf8_chars(r->system_prompt);
    s->res.chunk_ns = NULL;
    s->attempt = 0;
    s->body = oa_request_body(s->rs->c, r);
    if (!s->body)
        return AIEB_ENOMEM;
    s->busy = 1;
    return attach(s);
}

static void detach(slot *s)
{
    if (s->attached) {
        curl_multi_remove_handle(s->rs->multi, s->easy);
        s->attached = 0;
    }
}

/* Decodes a whole (non-streamed) answer into the slot's counters. */
static int whole_answer(slot *s)
{
    json_error_t jerr;
    json_t *root = json_loadb(s->raw.data ? s->raw.data : "", s->raw.len, 0, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        char shown[200];
        aieb_sse_error_message(s->raw.data ? s->raw.data : "", s->raw.len, shown, sizeof shown);
        return aieb_errf(&s->fail, AIEB_EFAIL, "answer is not a JSON object: '%s'", shown);
    }
    json_t *ch = json_array_get(json_object_get(root, "choices"), 0);
    json_t *msg = json_object_get(ch, "message");
    const char *text = json_string_value(json_object_get(msg, "content"));
    if (!text)
        text = json_string_value(json_object_get(ch, "text"));
    if (text && *text) {
        s->res.first_token_ns = s->res.first_content_ns = s->first_rx_ns;
        push_chunk(s, s->first_rx_ns);
    }
    json_t *usage = json_object_get(root, "usage");
    if (json_is_object(usage)) {
        json_t *p = json_object_get(usage, "prompt_tokens");
        json_t *c = json_object_get(usage, "completion_tokens");
        json_t *r = json_object_get(json_object_get(usage, "completion_tokens_details"),
                                    "reasoning_tokens");
        s->has_usage = 1;
        s->u_prompt = json_is_integer(p) ? json_integer_value(p) : -1;
        s->u_completion = json_is_integer(c) ? json_integer_value(c) : -1;
        s->u_reasoning = json_is_integer(r) ? json_integer_value(r) : -1;
    }
    json_decref(root);
    return 0;
}

/* Reports the slot's request as finished (kind OK or a failure with msg) and
 * frees the slot for the next one. */
static void finish(slot *s, aieb_req_error_kind kind, const char *msg)
{
    run_state *rs = s->rs;
    aieb_result *r = &s->res;
    detach(s);
    r->done_ns = kind == AIEB_REQ_OK && s->last_rx_ns ? s->last_rx_ns : aieb_now_ns();
    r->prefill_end_ns = r->first_token_ns;
    r->chunk_ns = s->chunks;
    r->http_status = (int)s->status;
    r->error_kind = kind;
    if (s->has_usage && s->u_completion >= 0) {
        r->prompt_tokens = (long)s->u_prompt;
        r->completion_tokens = (long)s->u_completion;
        r->reasoning_tokens = (long)s->u_reasoning;
        r->tokens_estimated = 0;
    } else if (s->is_sse) {
        r->prompt_tokens = s->has_usage ? (long)s->u_prompt : -1;
        r->completion_tokens = (long)r->n_chunks;
        r->reasoning_tokens = (long)s->n_reasoning_chunks;
        r->tokens_estimated = 1;
    } else {
        r->prompt_tokens = r->completion_tokens = r->reasoning_tokens = -1;
    }
    if (r->prompt_tokens < 0 && r->prompt_chars > 0 && kind == AIEB_REQ_OK) {
        /* No usage: the server's tokenizer is unknown here, so the prompt is
         * counted at AIEB_CHARS_PER_TOKEN characters a token (OpenAI's rule of
         * thumb for English text), so that prompt tokens and total tokens/s
         * keep their meaning; flagged as estimated. */
        r->prompt_tokens =
            (long)((r->prompt_chars + AIEB_CHARS_PER_TOKEN - 1) / AIEB_CHARS_PER_TOKEN);
        r->tokens_estimated = 1;
    }
    r->error = NULL;
    if (kind != AIEB_REQ_OK) {
        r->error = strdup(msg ? msg : "failed");
        oa_scrub(rs->c, r->error);
    }
    if (rs->cb(rs->user, r) != 0) /* still called after a stop: every request is reported */
        rs->cb_stop = 1;
    free(r->error);
    r->error = NULL;
    free(s->body);
    s->body = NULL;
    s->busy = 0;
    s->req = NULL;
}

static int retryable(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_GOT_NOTHING || rc == CURLE_SEND_ERROR ||
           rc == CURLE_RECV_ERROR || rc == CURLE_OPERATION_TIMEDOUT;
}

/* A transfer ended (as curl sees it). */
static void on_done(slot *s, CURLcode rc)
{
    oa_ctx *c = s->rs->c;
    char msg[AIEB_ERR_MSG_MAX + 64];
    detach(s);
    if (s->fail_kind) {
        finish(s, s->fail_kind, s->fail.msg);
        return;
    }
    if (rc != CURLE_OK) {
        const char *why = s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc);
        if (s->rx_bytes == 0 && retryable(rc) && s->attempt < c->o.max_retries &&
            !s->rs->stopping) {
            double wait_s = c->o.retry_backoff_s * (double)(1 << s->attempt);
            s->attempt++;
            s->retry_at_ns = aieb_now_ns() + (int64_t)(wait_s * 1e9);
            AIEB_DEBUG("request %zu: %s; retry %d in %.2f s", s->res.index, why, s->attempt,
                       wait_s);
            return;
        }
        if (s->rx_bytes == 0) {
            snprintf(msg, sizeof msg, "%s to %s failed%s: %s",
                     rc == CURLE_OPERATION_TIMEDOUT ? "connecting (timeout)" : "connection",
                     c->shown_url, s->attempt ? " after retries" : "", why);
            finish(s, rc == CURLE_OPERATION_TIMEDOUT ? AIEB_REQ_TIMEOUT : AIEB_REQ_CONNECT, msg);
        } else {
            snprintf(msg, sizeof msg,
                     "connection closed mid-response after %zu bytes and %zu token chunks: %s",
                     s->rx_bytes, s->res.n_chunks, why);
            finish(s, AIEB_REQ_STREAM, msg);
        }
        return;
    }
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &s->status);
    if (s->status >= 400) {
        char shown[600];
        aieb_sse_error_message(s->raw.data ? s->raw.data : "", s->raw.len, shown, sizeof shown);
        snprintf(msg, sizeof msg, "HTTP %ld: %s", s->status, shown);
        finish(s, AIEB_REQ_HTTP, msg);
        return;
    }
    int failed = s->is_sse ? aieb_sse_finish(&s->sse, on_event, s, &s->fail) : whole_answer(s);
    if (failed)
        finish(s, AIEB_REQ_STREAM, s->fail.msg);
    else
        finish(s, AIEB_REQ_OK, NULL);
}

/* The time by which the slot's transfer must show progress, or INT64_MAX. */
static int64_t slot_deadline(const slot *s, const oa_ctx *c)
{
    int64_t total = s->attempt_ns + (int64_t)(c->o.timeout_s * 1e9);
    int64_t step = s->first_rx_ns ? s->last_rx_ns + (int64_t)(c->o.idle_timeout_s * 1e9)
                                  : s->attempt_ns + (int64_t)(c->o.first_byte_timeout_s * 1e9);
    return step < total ? step : total;
}

static void check_timeouts(run_state *rs, int64_t now)
{
    oa_ctx *c = rs->c;
    char msg[256];
    for (int i = 0; i < rs->n_slots; i++) {
        slot *s = &rs->slots[i];
        if (!s->attached || now < slot_deadline(s, c))
            continue;
        if (now >= s->attempt_ns + (int64_t)(c->o.timeout_s * 1e9))
            snprintf(msg, sizeof msg, "request took longer than %.1f s (backend.timeout_s)",
                     c->o.timeout_s);
        else if (!s->first_rx_ns)
            snprintf(msg, sizeof msg, "no response within %.1f s (first-byte timeout)",
                     c->o.first_byte_timeout_s);
        else
            snprintf(msg, sizeof msg, "no data for %.1f s after %zu token chunks (idle timeout)",
                     c->o.idle_timeout_s, s->res.n_chunks);
        finish(s, AIEB_REQ_TIMEOUT, msg);
    }
}

static void cancel_all(run_state *rs, int only_waiting, const char *why)
{
    for (int i = 0; i < rs->n_slots; i++) {
        slot *s = &rs->slots[i];
        if (s->busy && (!only_waiting || !s->attached))
            finish(s, AIEB_REQ_CANCELLED, why);
    }
}

/* ==== The loop ============================================================= */

/* curl says which sockets to watch for what (CURLMOPT_SOCKETFUNCTION); they
 * go into an epoll set, so a wake-up touches only the sockets that are ready. */
static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    run_state *rs = userp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(rs->epfd, EPOLL_CTL_DEL, fd, NULL);
        curl_multi_assign(rs->multi, fd, NULL);
        return 0;
    }
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    ev.data.fd = fd;
    if (socketp) {
        if (epoll_ctl(rs->epfd, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT)
            epoll_ctl(rs->epfd, EPOLL_CTL_ADD, fd, &ev);
    } else {
        if (epoll_ctl(rs->epfd, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST)
            epoll_ctl(rs->epfd, EPOLL_CTL_MOD, fd, &ev);
        curl_multi_assign(rs->multi, fd, rs); /* any non-NULL mark: "registered" */
    }
    return 0;
}

/* curl says when it next wants CURL_SOCKET_TIMEOUT (CURLMOPT_TIMERFUNCTION). */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    run_state *rs = userp;
    rs->timer_ns = timeout_ms < 0 ? 0 : aieb_now_ns() + (int64_t)timeout_ms * AIEB_NS_PER_MS;
    if (timeout_ms == 0)
        rs->timer_ns = 1; /* due now */
    return 0;
}

static int setup_slots(run_state *rs, aieb_err *err)
{
    oa_ctx *c = rs->c;
    for (int i = 0; i < rs->n_slots; i++) {
        slot *s = &rs->slots[i];
        s->rs = rs;
        aieb_sse_init(&s->sse, c->o.max_line_bytes, c->o.max_body_bytes);
        aieb_buf_init(&s->raw, s->sse.max_body_bytes);
        s->easy = curl_easy_init();
        if (!s->easy || oa_easy_setup(c, s->easy) != 0)
            return aieb_errf(err, AIEB_ENOMEM, "backend: could not set up a libcurl handle");
        curl_easy_setopt(s->easy, CURLOPT_URL, c->url);
        curl_easy_setopt(s->easy, CURLOPT_POST, 1L);
        curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
        curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
        curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
        curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->errbuf);
        curl_easy_setopt(s->easy, CURLOPT_BUFFERSIZE, 64L * 1024); /* fewer reads in bursts */
    }
    return 0;
}

static void free_slots(run_state *rs)
{
    for (int i = 0; i < rs->n_slots; i++) {
        slot *s = &rs->slots[i];
        if (s->easy) {
            if (s->attached)
                curl_multi_remove_handle(rs->multi, s->easy);
            curl_easy_cleanup(s->easy);
        }
        aieb_sse_free(&s->sse);
        aieb_buf_free(&s->raw);
        free(s->chunks);
        free(s->body);
    }
    free(rs->slots);
}

static int busy_count(const run_state *rs)
{
    int n = 0;
    for (int i = 0; i < rs->n_slots; i++)
        n += rs->slots[i].busy;
    return n;
}

static slot *free_slot(run_state *rs)
{
    for (int i = 0; i < rs->n_slots; i++)
        if (!rs->slots[i].busy)
            return &rs->slots[i];
    return NULL;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

int oa_run(aieb_backend *b, const aieb_request *reqs, size_t n, int max_concurrency, int grace_ms,
           aieb_result_cb cb, void *user, const volatile sig_atomic_t *stop, aieb_err *err)
{
    if (n == 0)
        return 0;
    run_state rs;
    memset(&rs, 0, sizeof rs);
    rs.epfd = -1;
    rs.c = b->ctx;
    rs.cb = cb;
    rs.user = user;
    rs.n_slots = max_concurrency < 1 ? 1 : max_concurrency;
    if ((size_t)rs.n_slots > n)
        rs.n_slots = (int)n;
    rs.slots = calloc((size_t)rs.n_slots, sizeof *rs.slots);
    rs.multi = curl_multi_init();
    rs.epfd = epoll_create1(EPOLL_CLOEXEC);
    int rc = 0;
    if (!rs.slots || !rs.multi || rs.epfd < 0) {
        rc = aieb_errf(err, AIEB_ENOMEM, "backend: out of memory or file descriptors");
        goto out;
    }
    curl_multi_setopt(rs.multi, CURLMOPT_MAXCONNECTS, (long)rs.n_slots + 2);
    curl_multi_setopt(rs.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(rs.multi, CURLMOPT_SOCKETDATA, &rs);
    curl_multi_setopt(rs.multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(rs.multi, CURLMOPT_TIMERDATA, &rs);
    if ((rc = setup_slots(&rs, err)) != 0)
        goto out;

    size_t next = 0;
    int64_t stop_deadline = 0;
    rs.run_start_ns = aieb_now_ns();
    for (;;) {
        int64_t now = aieb_now_ns();
        int stop_now = stop ? *stop : 0;
        if (stop_now && !rs.stopping) {
            rs.stopping = 1;
            stop_deadline = now + (int64_t)grace_ms * AIEB_NS_PER_MS;
            AIEB_INFO("stopping: no new requests; %d in flight get %d ms", busy_count(&rs),
                      grace_ms);
        }
        if (rs.stopping && stop_now >= 2)
            stop_deadline = now;
        if (rs.cb_stop) {
            cancel_all(&rs, 0, "cancelled: the run was stopped after a failure");
            rc = aieb_errf(err, AIEB_EFAIL, "run stopped by the result callback");
            break;
        }
        if (rs.stopping) {
            cancel_all(&rs, 1, "cancelled: the run was stopped before a retry");
            if (now >= stop_deadline) {
                cancel_all(&rs, 0, "cancelled: the run was stopped and the grace period ended");
                rc = aieb_errf(err, AIEB_EINTR, "run stopped after %zu of %zu requests were sent",
                               next, n);
                break;
            }
        }
        slot *s;
        while (!rs.stopping && next < n && reqs[next].arrival_ns <= now && (s = free_slot(&rs))) {
            if ((rc = start(s, &reqs[next])) != 0) {
                rc = aieb_errf(err, rc, "backend: could not start request %zu: %s",
                               reqs[next].index, aieb_strerror(rc));
                goto out;
            }
            next++;
        }
        for (int i = 0; i < rs.n_slots; i++) {
            s = &rs.slots[i];
            if (s->busy && !s->attached && s->retry_at_ns <= now && (rc = attach(s)) != 0) {
                rc = aieb_errf(err, rc, "backend: could not resend request %zu", s->res.index);
                goto out;
            }
        }
        if ((next >= n || rs.stopping) && busy_count(&rs) == 0) {
            if (rs.stopping)
                rc = aieb_errf(err, AIEB_EINTR, "run stopped; every request sent had finished");
            break;
        }

        /* sleep until a socket is ready or something is due */
        int64_t wake = now + STOP_POLL_MS * AIEB_NS_PER_MS;
        if (!rs.stopping && next < n && free_slot(&rs))
            wake = min64(wake, reqs[next].arrival_ns);
        for (int i = 0; i < rs.n_slots; i++) {
            s = &rs.slots[i];
            if (s->busy && !s->attached)
                wake = min64(wake, s->retry_at_ns);
            else if (s->attached)
                wake = min64(wake, slot_deadline(s, rs.c));
        }
        if (rs.stopping)
            wake = min64(wake, stop_deadline);
        if (rs.timer_ns)
            wake = min64(wake, rs.timer_ns);
        int64_t wait_ns = wake - now;
        int wait_ms = wait_ns > 0 ? (int)((wait_ns + AIEB_NS_PER_MS - 1) / AIEB_NS_PER_MS) : 0;
        struct epoll_event evs[64];
        int n_ev = epoll_wait(rs.epfd, evs, 64, wait_ms);
        int running;
        for (int i = 0; i < n_ev; i++) {
            int flags = 0;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))
                flags |= CURL_CSELECT_IN;
            if (evs[i].events & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
            if (evs[i].events & EPOLLERR)
                flags |= CURL_CSELECT_ERR;
            curl_multi_socket_action(rs.multi, evs[i].data.fd, flags, &running);
        }
        if (rs.timer_ns && aieb_now_ns() >= rs.timer_ns) {
            rs.timer_ns = 0;
            curl_multi_socket_action(rs.multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        CURLMsg *m;
        int queued;
        while ((m = curl_multi_info_read(rs.multi, &queued)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            slot *done = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&done);
            CURLcode result = m->data.result;
            if (done)
                on_done(done, result);
        }
        check_timeouts(&rs, aieb_now_ns());
    }
out:
    if (rs.slots)
        free_slots(&rs);
    if (rs.multi)
        curl_multi_cleanup(rs.multi);
    if (rs.epfd >= 0)
        close(rs.epfd);
    return rc;
}
