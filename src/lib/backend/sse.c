/* sse.c - cutting a server-sent event body into lines and lines into events
 * (the contract is in include/aieb/sse.h; JSON decoding in sse_json.c). */
#include <string.h>

#include "aieb/sse.h"
#include "backend/sse_json.h"

void aieb_sse_init(aieb_sse *p, size_t max_line_bytes, size_t max_body_bytes)
{
    memset(p, 0, sizeof *p);
    p->max_line_bytes = max_line_bytes ? max_line_bytes : AIEB_SSE_DEFAULT_MAX_LINE;
    p->max_body_bytes = max_body_bytes ? max_body_bytes : AIEB_SSE_DEFAULT_MAX_BODY;
    aieb_buf_init(&p->line, p->max_line_bytes);
    /* decoded strings are never longer than their line, plus two NULs */
    aieb_buf_init(&p->scratch, p->max_line_bytes + 2);
}

void aieb_sse_reset(aieb_sse *p)
{
    aieb_buf_reset(&p->line);
    aieb_buf_reset(&p->scratch);
    p->body_bytes = 0;
    p->n_data = 0;
    p->n_fast = 0;
    p->pending_cr = 0;
    p->seen_line = 0;
    p->done = 0;
    p->failed = 0;
    p->head_len = 0;
    aieb_err_clear(&p->fail_err);
}

void aieb_sse_free(aieb_sse *p)
{
    aieb_buf_free(&p->line);
    aieb_buf_free(&p->scratch);
}

int aieb_sse_saw_done(const aieb_sse *p)
{
    return p->done;
}

size_t aieb_sse_data_lines(const aieb_sse *p)
{
    return p->n_data;
}

/* Records the first failure (its message is in p->fail_err) and reports it. */
static int fail(aieb_sse *p, int rc, aieb_err *err)
{
    if (!p->failed)
        p->failed = rc;
    if (err)
        *err = p->fail_err;
    return p->failed;
}

int aieb_sse_decode(aieb_sse *p, const char *json, size_t len, aieb_sse_event *ev, aieb_err *err)
{
    int rc = sse_json_fast(json, len, &p->scratch, ev);
    if (rc == 1)
        return 0;
    if (rc < 0)
        return aieb_errf(err, rc, "data line: %s (%zu bytes)", aieb_strerror(rc), len);
    return sse_json_slow(json, len, &p->scratch, ev, err);
}

static int is_done_marker(const char *v, size_t n)
{
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    return n == 6 && memcmp(v, "[DONE]", 6) == 0;
}

/* One complete line, without its line end. */
static int process_line(aieb_sse *p, const char *line, size_t n, aieb_sse_event_cb cb, void *user)
{
    if (!p->seen_line) {
        p->seen_line = 1;
        if (n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) { /* a BOM may lead the stream */
            line += 3;
            n -= 3;
        }
    }
    /* empty lines end W3C events; ':' starts a comment; other fields
     * (event, id, retry, unknown) carry nothing for us */
    if (n < 5 || p->done || memcmp(line, "data:", 5) != 0)
        return 0;
    const char *v = line + 5;
    size_t vn = n - 5;
    if (vn > 0 && *v == ' ')
        v++, vn--;
    if (vn == 0)
        return 0;
    if (is_done_marker(v, vn)) {
        p->done = 1;
        return 0;
    }
    aieb_sse_event ev;
    int rc = sse_json_fast(v, vn, &p->scratch, &ev);
    if (rc == 1) {
        p->n_fast++;
    } else if (rc < 0) {
        return aieb_errf(&p->fail_err, rc, "SSE data line of %zu bytes: %s", vn, aieb_strerror(rc));
    } else if ((rc = sse_json_slow(v, vn, &p->scratch, &ev, &p->fail_err)) != 0) {
        return rc;
    }
    p->n_data++;
    return cb ? cb(user, &ev, &p->fail_err) : 0;
}

static int line_too_long(aieb_sse *p)
{
    return aieb_errf(&p->fail_err, AIEB_ETOOBIG,
                     "SSE line longer than %zu bytes (the line cap); the server sent an "
                     "oversized event",
                     p->max_line_bytes);
}

int aieb_sse_feed(aieb_sse *p, const char *data, size_t len, aieb_sse_event_cb cb, void *user,
                  aieb_err *err)
{
    if (p->failed)
        return fail(p, p->failed, err);
    if (len > p->max_body_bytes - p->body_bytes) {
        aieb_errf(&p->fail_err, AIEB_ETOOBIG, "response body longer than %zu bytes (the body cap)",
                  p->max_body_bytes);
        return fail(p, AIEB_ETOOBIG, err);
    }
    if (p->head_len < sizeof p->head) {
        size_t k = sizeof p->head - p->head_len < len ? sizeof p->head - p->head_len : len;
        memcpy(p->head + p->head_len, data, k);
        p->head_len += k;
    }
    p->body_bytes += len;

    const char *s = data, *end = data + len;
    if (p->pending_cr && s < end && *s == '\n')
        s++; /* the LF of a CRLF split across feeds */
    p->pending_cr = 0;
    while (s < end) {
        size_t left = (size_t)(end - s);
        const char *nl = memchr(s, '\n', left);
        const char *eol = memchr(s, '\r', nl ? (size_t)(nl - s) : left);
        if (!eol)
            eol = nl;
        if (!eol) {
            int rc = aieb_buf_append(&p->line, s, left);
            if (rc == AIEB_ETOOBIG)
                return fail(p, line_too_long(p), err);
            if (rc)
                return fail(p, aieb_errf(&p->fail_err, rc, "SSE line: %s", aieb_strerror(rc)), err);
            break;
        }
        size_t n = (size_t)(eol - s);
        int rc;
        if (p->line.len) {
            if ((rc = aieb_buf_append(&p->line, s, n)) != 0)
                return fail(p, rc == AIEB_ETOOBIG ? line_too_long(p) : rc, err);
            rc = process_line(p, p->line.data, p->line.len, cb, user);
            aieb_buf_reset(&p->line);
        } else if (n > p->max_line_bytes) {
            return fail(p, line_too_long(p), err);
        } else {
            rc = process_line(p, s, n, cb, user);
        }
        if (rc)
            return fail(p, rc, err);
        if (*eol == '\r') {
            if (eol + 1 < end) {
                if (eol[1] == '\n')
                    eol++;
            } else {
                p->pending_cr = 1;
            }
        }
        s = eol + 1;
    }
    return 0;
}

int aieb_sse_finish(aieb_sse *p, aieb_sse_event_cb cb, void *user, aieb_err *err)
{
    if (p->failed)
        return fail(p, p->failed, err);
    p->pending_cr = 0;
    if (p->line.len) {
        int rc = process_line(p, p->line.data, p->line.len, cb, user);
        aieb_buf_reset(&p->line);
        if (rc)
            return fail(p, rc, err);
    }
    if (p->done)
        return 0;
    if (p->n_data > 0) {
        aieb_errf(&p->fail_err, AIEB_EFAIL,
                  "stream ended without [DONE] after %zu data lines (connection closed early?)",
                  p->n_data);
    } else if (p->head_len > 0) {
        char shown[300];
        aieb_errf(&p->fail_err, AIEB_EFAIL,
                  "stream ended without [DONE] and without data lines; the body began: '%s'",
                  sse_quote(p->head, p->head_len, 60, shown, sizeof shown));
    } else {
        aieb_errf(&p->fail_err, AIEB_EFAIL, "stream ended without [DONE]: empty body");
    }
    return fail(p, AIEB_EFAIL, err);
}
