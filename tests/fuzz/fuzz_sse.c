/* fuzz_sse.c - libFuzzer target for the SSE parser.
 *
 * Input: byte 0 seeds how the body is cut into feeds, byte 1 picks a line cap,
 * the rest is the response body. Checks, beyond "no crash, no leak":
 * - cutting the body differently never changes the events, the result code or
 *   the error message (the parser is incremental, not chunk-dependent);
 * - whenever the fast decoder accepts a payload (the whole body, or any single
 *   line of it), jansson accepts it too and finds the same event.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/buf.h"
#include "aieb/sse.h"
#include "backend/sse_json.h"

static int record(void *user, const aieb_sse_event *ev, aieb_err *err)
{
    aieb_buf *log = user;
    (void)err;
    aieb_buf_printf(log, "C%zu:", ev->content_len);
    if (ev->content)
        aieb_buf_append(log, ev->content, ev->content_len);
    aieb_buf_printf(log, "R%zu:", ev->reasoning_len);
    if (ev->reasoning)
        aieb_buf_append(log, ev->reasoning, ev->reasoning_len);
    aieb_buf_printf(log, "U%d,%lld,%lld,%lld;", ev->has_usage, ev->prompt_tokens,
                    ev->completion_tokens, ev->reasoning_tokens);
    return 0;
}

/* Parses body in feeds whose sizes come from seed (0 = one feed). */
static int run(const char *body, size_t n, unsigned seed, size_t max_line, aieb_buf *log,
               aieb_err *err)
{
    aieb_sse p;
    aieb_sse_init(&p, max_line, 0);
    int rc = 0;
    size_t at = 0;
    unsigned x = seed * 2654435761u + 1;
    while (at < n && rc == 0) {
        size_t k = n - at;
        if (seed) {
            x = x * 1103515245u + 12345u;
            size_t want = 1 + (x >> 16) % 23;
            if (want < k)
                k = want;
        }
        rc = aieb_sse_feed(&p, body + at, k, record, log, err);
        at += k;
    }
    if (rc == 0)
        rc = aieb_sse_finish(&p, record, log, err);
    aieb_sse_free(&p);
    return rc;
}

static void same_event(const aieb_sse_event *a, const aieb_sse_event *b)
{
    if (a->content_len != b->content_len || a->reasoning_len != b->reasoning_len ||
        (a->content == NULL) != (b->content == NULL) ||
        (a->reasoning == NULL) != (b->reasoning == NULL) ||
        (a->content && memcmp(a->content, b->content, a->content_len) != 0) ||
        (a->reasoning && memcmp(a->reasoning, b->reasoning, a->reasoning_len) != 0) ||
        a->has_usage != b->has_usage || a->prompt_tokens != b->prompt_tokens ||
        a->completion_tokens != b->completion_tokens ||
        a->reasoning_tokens != b->reasoning_tokens) {
        fprintf(stderr, "fast and jansson decoders disagree\n");
        abort();
    }
}

/* Whenever the fast decoder accepts s, jansson must accept it with the same event. */
static void differential(const char *s, size_t n, aieb_buf *s1, aieb_buf *s2)
{
    aieb_sse_event a, b;
    if (sse_json_fast(s, n, s1, &a) != 1)
        return;
    aieb_err err = {0};
    if (sse_json_slow(s, n, s2, &b, &err) != 0) {
        fprintf(stderr, "fast decoder accepted what jansson rejects: %s\n", err.msg);
        abort();
    }
    same_event(&a, &b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned seed = data[0];
    size_t caps[4] = {0, 16, 64, 300};
    size_t max_line = caps[data[1] & 3];
    const char *body = (const char *)data + 2;
    size_t n = size - 2;

    aieb_buf log1, log2;
    aieb_buf_init(&log1, 0);
    aieb_buf_init(&log2, 0);
    aieb_err e1 = {0}, e2 = {0};
    int rc1 = run(body, n, 0, max_line, &log1, &e1);
    int rc2 = run(body, n, seed | 1, max_line, &log2, &e2);
    if (rc1 != rc2 || log1.len != log2.len ||
        (log1.len && memcmp(log1.data, log2.data, log1.len)) ||
        (rc1 && strcmp(e1.msg, e2.msg) != 0)) {
        fprintf(stderr, "feeds changed the outcome: %d '%s' vs %d '%s'\n", rc1, e1.msg, rc2,
                e2.msg);
        abort();
    }
    aieb_buf_free(&log1);
    aieb_buf_free(&log2);

    aieb_buf s1, s2;
    aieb_buf_init(&s1, 0);
    aieb_buf_init(&s2, 0);
    differential(body, n, &s1, &s2);
    const char *line = body, *end = body + n;
    while (line < end) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);
        if (len > 5 && memcmp(line, "data:", 5) == 0)
            differential(line + 5, len - 5, &s1, &s2);
        line += len + 1;
    }
    aieb_buf_free(&s1);
    aieb_buf_free(&s2);
    return 0;
}
