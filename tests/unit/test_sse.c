/* test_sse.c - the SSE parser: line handling, event decoding, failures, caps,
 * and the fast decoder agreeing with jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/buf.h"
#include "aieb/sse.h"
#include "backend/sse_json.h"

/* ==== helpers ============================================================== */

/* Writes every event as text into an aieb_buf: C[content] R[reasoning]
 * U[prompt,completion,reasoning] then ';'. */
static int record(void *user, const aieb_sse_event *ev, aieb_err *err)
{
    aieb_buf *log = user;
    if (ev->content)
        aieb_buf_printf(log, "C[%s]", ev->content);
    if (ev->reasoning)
        aieb_buf_printf(log, "R[%s]", ev->reasoning);
    if (ev->has_usage)
        aieb_buf_printf(log, "U[%lld,%lld,%lld]", ev->prompt_tokens, ev->completion_tokens,
                        ev->reasoning_tokens);
    aieb_buf_puts(log, ";");
    return 0;
}

/* Parses body fed in pieces of `step` bytes (0 = at once), then finishes.
 * Returns the code; *out is the malloc'd event log. */
static int parse(const char *body, size_t step, char **out, aieb_err *err)
{
    aieb_sse p;
    aieb_sse_init(&p, 0, 0);
    aieb_buf log;
    aieb_buf_init(&log, 0);
    size_t n = strlen(body);
    int rc = 0;
    if (step == 0)
        step = n ? n : 1;
    for (size_t at = 0; at < n && rc == 0; at += step) {
        size_t k = n - at < step ? n - at : step;
        rc = aieb_sse_feed(&p, body + at, k, record, &log, err);
    }
    if (rc == 0)
        rc = aieb_sse_finish(&p, record, &log, err);
    aieb_buf_puts(&log, "");
    *out = aieb_buf_steal(&log);
    aieb_sse_free(&p);
    return rc;
}

/* Same body, every split: at once, one byte at a time, and 2, 3, 7 bytes. */
static void expect_events(const char *body, const char *want)
{
    size_t steps[] = {0, 1, 2, 3, 7};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char *got = NULL;
        aieb_err err = {0};
        int rc = parse(body, steps[i], &got, &err);
        if (rc != 0)
            fail_msg("step %zu: rc %d: %s", steps[i], rc, err.msg);
        assert_string_equal(got, want);
        free(got);
    }
}

/* Same body, every split, must fail with code and a message containing part. */
static void expect_failure(const char *body, int code, const char *part)
{
    size_t steps[] = {0, 1, 5};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char *got = NULL;
        aieb_err err = {0};
        int rc = parse(body, steps[i], &got, &err);
        assert_int_equal(rc, code);
        if (!strstr(err.msg, part))
            fail_msg("step %zu: '%s' not in '%s'", steps[i], part, err.msg);
        free(got);
    }
}

/* ==== line handling ======================================================== */

static void chat_stream_with_usage_chunk(void **state)
{
    const char *body = "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"choices\":[{"
                       "\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
                       "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n"
                       "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},"
                       "\"finish_reason\":\"length\"}]}\n\n"
                       "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,"
                       "\"completion_tokens\":2,\"total_tokens\":7}}\n\n"
                       "data: [DONE]\n\n";
    expect_events(body, ";C[Hel];C[lo];U[5,2,-1];");
}

static void line_forms(void **state)
{
    /* no space after data:, CRLF, bare CR, comments, event/id/retry lines,
     * unknown fields, blank lines, trailing spaces after [DONE] */
    const char *body = ": keep-alive comment\r\n"
                       "event: message\r\n"
                       "id: 7\r\n"
                       "retry: 1000\r\n"
                       "data:{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\n\r\n"
                       "foo: bar\r"
                       "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\r\r"
                       "data:  {\"choices\":[{\"delta\":{\"content\":\"c\"}}]}\n"
                       "data\n"
                       "data:\n"
                       "data: [DONE]  \r\n";
    expect_events(body, "C[a];C[b];C[c];");
}

static void done_without_final_newline_and_after_done(void **state)
{
    expect_events("data: {\"choices\":[{\"text\":\"x\"}]}\ndata: [DONE]", "C[x];");
    /* anything after [DONE] is ignored, even garbage */
    expect_events("data: [DONE]\ndata: not json\ndata: {\"choices\":[{\"text\":\"y\"}]}\n", "");
    /* a byte-order mark may lead the stream */
    expect_events("\xEF\xBB\xBF"
                  "data: {\"choices\":[{\"text\":\"z\"}]}\ndata: [DONE]\n",
                  "C[z];");
}

/* ==== event decoding ======================================================= */

static void reasoning_both_spellings(void **state)
{
    const char *body = "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"think\"}}]}\n"
                       "data: {\"choices\":[{\"delta\":{\"reasoning\":\"more\","
                       "\"content\":null}}]}\n"
                       "data: {\"choices\":[{\"delta\":{\"reasoning_content\":null,"
                       "\"reasoning\":\"\",\"content\":\"answer\"}}]}\n"
                       "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"rc\","
                       "\"reasoning\":\"r\"}}]}\n"
                       "data: [DONE]\n";
    expect_events(body, "R[think];R[more];C[answer];R[rc];");
}

static void completions_shape_and_usage_on_last_chunk(void **state)
{
    const char *body = "data: {\"object\":\"text_completion\",\"choices\":[{\"index\":0,"
                       "\"text\":\" one\",\"logprobs\":null,\"finish_reason\":null}]}\n\n"
                       "data: {\"choices\":[{\"index\":0,\"text\":\" two\","
                       "\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":3,"
                       "\"completion_tokens\":2,\"completion_tokens_details\":"
                       "{\"reasoning_tokens\":0}}}\n\n"
                       "data: [DONE]\n\n";
    expect_events(body, "C[ one];C[ two]U[3,2,0];");
}

static void escapes_and_utf8(void **state)
{
    const char *body =
        "data: {\"choices\":[{\"delta\":{\"content\":\"line\\nnext \\\"q\\\" \\\\ \\/ \\t\"}}]}\n"
        "data: {\"choices\":[{\"delta\":{\"content\":\"caf\\u00e9 \\ud83d\\ude00 "
        "\xe6\x97\xa5\"}}]}\n"
        "data: [DONE]\n";
    expect_events(body,
                  "C[line\nnext \"q\" \\ / \t];C[caf\xc3\xa9 \xf0\x9f\x98\x80 \xe6\x97\xa5];");
}

static void counts_and_duplicates(void **state)
{
    /* negative, real and string counts are unknown (-1); the last duplicate key
     * wins, as in jansson; usage null is no usage */
    const char *body =
        "data: {\"usage\":{\"prompt_tokens\":-1,\"completion_tokens\":2.0,"
        "\"completion_tokens_details\":{\"reasoning_tokens\":\"3\"}}}\n"
        "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}],"
        "\"choices\":[{\"delta\":{\"content\":\"b\",\"content\":\"c\"}}]}\n"
        "data: {\"choices\":[{\"delta\":{}},{\"delta\":{\"content\":\"second\"}}],\"usage\":null}\n"
        "data: {\"usage\":{\"prompt_tokens\":1},\"usage\":{\"completion_tokens\":4}}\n"
        "data: [DONE]\n";
    expect_events(body, "U[-1,-1,-1];C[c];C[second];U[-1,4,-1];");
}

/* Each of these goes through the fast decoder or jansson, and both must agree. */
static void fast_and_slow_agree(void **state)
{
    const char *cases[] = {
        "{\"choices\":[{\"delta\":{\"content\":\"x\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"\\u00e9\\ud83d\\ude00\"}}],\"usage\":null}",
        "{\"choices\":[{\"text\":\"t\",\"delta\":{\"content\":\"\"}}]}",
        "{\"choices\":[1,\"s\",null,{\"delta\":[]},{\"delta\":{\"reasoning\":\"r\"}}]}",
        "{\"usage\":{\"prompt_tokens\":123456789012345678,\"completion_tokens\":0}}",
        "{\"a\":[1.5e10,-0,true,false,null,{\"b\":[]}],\"usage\":{\"prompt_tokens\":-0}}",
        " {\"choices\":[]} ",
        "{}",
    };
    aieb_buf s1, s2;
    aieb_buf_init(&s1, 0);
    aieb_buf_init(&s2, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        aieb_sse_event a, b;
        aieb_err err = {0};
        size_t n = strlen(cases[i]);
        assert_int_equal(sse_json_fast(cases[i], n, &s1, &a), 1);
        assert_int_equal(sse_json_slow(cases[i], n, &s2, &b, &err), 0);
        assert_int_equal(a.content_len, b.content_len);
        assert_int_equal(a.reasoning_len, b.reasoning_len);
        if (a.content)
            assert_memory_equal(a.content, b.content, a.content_len);
        else
            assert_null(b.content);
        if (a.reasoning)
            assert_memory_equal(a.reasoning, b.reasoning, a.reasoning_len);
        else
            assert_null(b.reasoning);
        assert_int_equal(a.has_usage, b.has_usage);
        assert_int_equal(a.prompt_tokens, b.prompt_tokens);
        assert_int_equal(a.completion_tokens, b.completion_tokens);
        assert_int_equal(a.reasoning_tokens, b.reasoning_tokens);
    }
    /* and these are left to jansson: error chunks, escaped keys, 19-digit
     * integers, huge reals, deep nesting, \u0000, lone surrogates, bad UTF-8 */
    const char *declined[] = {
        "{\"error\":null}",
        "{\"object\":\"error\"}",
        "{\"choi\\u0063es\":[]}",
        "{\"n\":1234567890123456789}",
        "{\"n\":1e400}",
        "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
        "{\"s\":\"\\u0000\"}",
        "{\"s\":\"\\ud800\"}",
        "{\"s\":\"\xc0\xaf\"}",
        "{\"s\":\"\xed\xa0\x80\"}",
        "{\"a\":01}",
        "{\"a\":1,}",
        "[1]",
        "{\"a\":tru}",
        "{} x",
    };
    for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++) {
        aieb_sse_event a;
        if (sse_json_fast(declined[i], strlen(declined[i]), &s1, &a) != 0)
            fail_msg("fast path accepted %s", declined[i]);
    }
    aieb_buf_free(&s1);
    aieb_buf_free(&s2);
}

static void normal_chunks_take_the_fast_path(void **state)
{
    aieb_sse p;
    aieb_sse_init(&p, 0, 0);
    const char *body = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n"
                       "data: {\"choices\":[{\"delta\":{\"content\":\"b\\n\"}}]}\n"
                       "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\n"
                       "data: [DONE]\n";
    aieb_err err = {0};
    assert_int_equal(aieb_sse_feed(&p, body, strlen(body), NULL, NULL, &err), 0);
    assert_int_equal(aieb_sse_finish(&p, NULL, NULL, &err), 0);
    assert_int_equal(aieb_sse_data_lines(&p), 3);
    assert_int_equal(p.n_fast, 3);
    assert_true(aieb_sse_saw_done(&p));
    /* reset: reusable for the next response */
    aieb_sse_reset(&p);
    assert_false(aieb_sse_saw_done(&p));
    assert_int_equal(aieb_sse_feed(&p, "data: [DONE]\n", 13, NULL, NULL, &err), 0);
    assert_int_equal(aieb_sse_finish(&p, NULL, NULL, &err), 0);
    aieb_sse_free(&p);
}

/* ==== failures ============================================================= */

static void mid_stream_errors(void **state)
{
    expect_failure("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n"
                   "data: {\"error\":{\"message\":\"engine died\",\"type\":\"InternalError\","
                   "\"code\":500}}\n"
                   "data: [DONE]\n",
                   AIEB_EFAIL, "server error mid-stream: engine died");
    expect_failure("data: {\"object\":\"error\",\"message\":\"out of KV cache\",\"code\":503}\n",
                   AIEB_EFAIL, "server error mid-stream: out of KV cache");
    expect_failure("data: {\"error\":\"plain string\"}\n", AIEB_EFAIL, "plain string");
    expect_failure("data: {\"error\":{\"code\":7}}\n", AIEB_EFAIL, "{\"code\":7}");
}

static void non_json_data_is_quoted_and_truncated(void **state)
{
    expect_failure("data: {\"choices\":[]}\ndata: this is not json\n", AIEB_EFAIL,
                   "data line is not JSON");
    expect_failure("data: this is not json\n", AIEB_EFAIL, "'this is not json'");
    expect_failure("data: [1,2]\n", AIEB_EFAIL, "not an object: '[1,2]'");
    expect_failure("data: bad\x01\xff\n", AIEB_EFAIL, "'bad\\x01\\xff'");
    /* long garbage: at most 80 bytes are quoted, then "..." */
    char body[400];
    memset(body, 'g', sizeof body);
    memcpy(body, "data: ", 6);
    body[sizeof body - 2] = '\n';
    body[sizeof body - 1] = '\0';
    char *got;
    aieb_err err = {0};
    assert_int_equal(parse(body, 0, &got, &err), AIEB_EFAIL);
    free(got);
    const char *q = strstr(err.msg, "): '");
    assert_non_null(q);
    assert_non_null(strstr(q, "gggg...'"));
    assert_int_equal(strlen(q), strlen("): '") + 80 + strlen("...'"));
}

static void stream_without_done(void **state)
{
    expect_failure("data: {\"choices\":[{\"text\":\"a\"}]}\n", AIEB_EFAIL,
                   "stream ended without [DONE] after 1 data lines");
    expect_failure("", AIEB_EFAIL, "empty body");
    expect_failure("<html>busy</html>\n", AIEB_EFAIL, "the body began: '<html>busy</html>\\x0a'");
}

static void caps(void **state)
{
    aieb_err err = {0};
    aieb_sse p;
    /* line cap 32: a 40-byte line fails whether it arrives whole or in pieces */
    char line[64];
    snprintf(line, sizeof line, "data: {\"choices\":[{\"text\":\"%s\"}]}\n", "0123456789");
    for (int split = 0; split < 2; split++) {
        aieb_sse_init(&p, 32, 0);
        int rc;
        if (split) {
            rc = aieb_sse_feed(&p, line, 20, NULL, NULL, &err);
            assert_int_equal(rc, 0);
            rc = aieb_sse_feed(&p, line + 20, strlen(line) - 20, NULL, NULL, &err);
        } else {
            rc = aieb_sse_feed(&p, line, strlen(line), NULL, NULL, &err);
        }
        assert_int_equal(rc, AIEB_ETOOBIG);
        assert_non_null(strstr(err.msg, "longer than 32 bytes"));
        /* sticky: later calls say the same */
        aieb_err again = {0};
        assert_int_equal(aieb_sse_feed(&p, "\n", 1, NULL, NULL, &again), AIEB_ETOOBIG);
        assert_string_equal(again.msg, err.msg);
        assert_int_equal(aieb_sse_finish(&p, NULL, NULL, &again), AIEB_ETOOBIG);
        aieb_sse_free(&p);
    }
    /* exactly the cap is fine */
    aieb_sse_init(&p, strlen(line) - 1, 0);
    assert_int_equal(aieb_sse_feed(&p, line, strlen(line), NULL, NULL, &err), 0);
    aieb_sse_free(&p);

    /* body cap 100: the feed that crosses it fails */
    aieb_sse_init(&p, 0, 100);
    assert_int_equal(aieb_sse_feed(&p, line, strlen(line), NULL, NULL, &err), 0);
    assert_int_equal(aieb_sse_feed(&p, line, strlen(line), NULL, NULL, &err), 0);
    assert_int_equal(aieb_sse_feed(&p, line, strlen(line), NULL, NULL, &err), AIEB_ETOOBIG);
    assert_non_null(strstr(err.msg, "body longer than 100 bytes"));
    aieb_sse_free(&p);
}

static int stop_on_second(void *user, const aieb_sse_event *ev, aieb_err *err)
{
    int *n = user;
    if (++*n == 2)
        return aieb_errf(err, AIEB_EINTR, "enough");
    return 0;
}

static void callback_stops_the_parse(void **state)
{
    aieb_sse p;
    aieb_sse_init(&p, 0, 0);
    const char *body = "data: {}\ndata: {}\ndata: {}\n";
    int n = 0;
    aieb_err err = {0};
    assert_int_equal(aieb_sse_feed(&p, body, strlen(body), stop_on_second, &n, &err), AIEB_EINTR);
    assert_int_equal(n, 2);
    assert_string_equal(err.msg, "enough");
    aieb_sse_free(&p);
}

static void error_bodies(void **state)
{
    char out[256];
    const char *a = "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"rate_limit\"}}";
    assert_int_equal(aieb_sse_error_message(a, strlen(a), out, sizeof out), 1);
    assert_string_equal(out, "Rate limit reached");
    const char *b = "{\"object\":\"error\",\"message\":\"The model `x` does not exist.\","
                    "\"type\":\"NotFoundError\",\"param\":null,\"code\":404}";
    assert_int_equal(aieb_sse_error_message(b, strlen(b), out, sizeof out), 1);
    assert_string_equal(out, "The model `x` does not exist.");
    const char *c = "{\"error\":\"Input validation error\",\"error_type\":\"validation\"}";
    assert_int_equal(aieb_sse_error_message(c, strlen(c), out, sizeof out), 1);
    assert_string_equal(out, "Input validation error");
    const char *d = "{\"detail\":\"Not Found\"}";
    assert_int_equal(aieb_sse_error_message(d, strlen(d), out, sizeof out), 1);
    assert_string_equal(out, "Not Found");
    const char *e = "Internal Server Error\r\n";
    assert_int_equal(aieb_sse_error_message(e, strlen(e), out, sizeof out), 0);
    assert_string_equal(out, "Internal Server Error");
    /* small output buffers are respected */
    char tiny[8];
    aieb_sse_error_message(a, strlen(a), tiny, sizeof tiny);
    assert_true(strlen(tiny) < sizeof tiny);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chat_stream_with_usage_chunk),
        cmocka_unit_test(line_forms),
        cmocka_unit_test(done_without_final_newline_and_after_done),
        cmocka_unit_test(reasoning_both_spellings),
        cmocka_unit_test(completions_shape_and_usage_on_last_chunk),
        cmocka_unit_test(escapes_and_utf8),
        cmocka_unit_test(counts_and_duplicates),
        cmocka_unit_test(fast_and_slow_agree),
        cmocka_unit_test(normal_chunks_take_the_fast_path),
        cmocka_unit_test(mid_stream_errors),
        cmocka_unit_test(non_json_data_is_quoted_and_truncated),
        cmocka_unit_test(stream_without_done),
        cmocka_unit_test(caps),
        cmocka_unit_test(callback_stops_the_parse),
        cmocka_unit_test(error_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
