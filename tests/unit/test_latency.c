/* test_latency.c - TTFT/TPOT/ITL/e2el, throughput and goodput on hand-made records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "aieb/latency.h"

#define MS 1000000LL

/* A request sent at t0 ms, first token after ttft ms, then (tokens-1) tokens
 * every step ms. */
static void make(aieb_result *r, int64_t *chunks, int64_t t0, int64_t ttft, int64_t step,
                 long tokens)
{
    memset(r, 0, sizeof *r);
    t0 += 1000; /* time 0 means "did not happen" */
    r->sent_ns = t0 * MS;
    r->first_token_ns = (t0 + ttft) * MS;
    for (long i = 0; i < tokens; i++)
        chunks[i] = (t0 + ttft + i * step) * MS;
    r->chunk_ns = chunks;
    r->n_chunks = (size_t)tokens;
    r->done_ns = chunks[tokens - 1];
    r->prompt_tokens = 10;
    r->completion_tokens = tokens;
}

static void per_request_figures(void **state)
{
    int64_t c[5];
    aieb_result r;
    make(&r, c, 100, 50, 20, 5);
    assert_float_equal(aieb_result_ttft_ms(&r), 50, 1e-9);
    assert_float_equal(aieb_result_tpot_ms(&r), 20, 1e-9); /* 80 ms over 4 gaps */
    assert_float_equal(aieb_result_e2el_ms(&r), 130, 1e-9);
    r.completion_tokens = 1;
    assert_true(isnan(aieb_result_tpot_ms(&r)));
    r.error_kind = AIEB_REQ_HTTP;
    assert_true(isnan(aieb_result_ttft_ms(&r)));
}

static void summary_over_requests(void **state)
{
    int64_t c0[5], c1[5], c2[3];
    aieb_result r[3];
    make(&r[0], c0, 0, 50, 20, 5);    /* ends at 130 ms */
    make(&r[1], c1, 100, 150, 10, 5); /* ends at 290 ms */
    make(&r[2], c2, 200, 10, 10, 3);
    r[2].error_kind = AIEB_REQ_TIMEOUT;
    r[2].done_ns = 2000 * MS; /* a failed request still ends the run's wall time */
    aieb_slo slo = {.ttft_ms = 100};
    aieb_latency_summary s;
    assert_int_equal(aieb_latency_summarize(r, 3, &slo, &s), 0);
    assert_int_equal(s.n_total, 3);
    assert_int_equal(s.n_ok, 2);
    assert_int_equal(s.n_failed, 1);
    assert_int_equal(s.errors_by_kind[AIEB_REQ_TIMEOUT], 1);
    assert_float_equal(s.duration_s, 1.0, 1e-12);
    assert_int_equal(s.completion_tokens, 10);
    assert_int_equal(s.prompt_tokens, 20);
    assert_float_equal(s.ttft_ms.mean, 100, 1e-9);
    assert_float_equal(s.tpot_ms.mean, 15, 1e-9);
    assert_int_equal(s.itl_ms.n, 8);
    assert_float_equal(s.itl_ms.mean, 15, 1e-9);
    assert_float_equal(s.e2el_ms.max, 190, 1e-9);
    assert_float_equal(s.request_throughput, 2.0, 1e-12);
    assert_float_equal(s.output_throughput, 10.0, 1e-12);
    assert_float_equal(s.total_throughput, 30.0, 1e-12);
    assert_true(s.has_slo);
    assert_int_equal(s.n_good, 1); /* only the 50 ms TTFT meets 100 ms */
    assert_float_equal(s.goodput, 1.0, 1e-12);
}

static void empty_and_all_failed(void **state)
{
    aieb_latency_summary s;
    assert_int_equal(aieb_latency_summarize(NULL, 0, NULL, &s), 0);
    assert_int_equal(s.n_total, 0);
    assert_float_equal(s.duration_s, 0, 0);
    aieb_result r = {0};
    r.error_kind = AIEB_REQ_CONNECT;
    assert_int_equal(aieb_latency_summarize(&r, 1, NULL, &s), 0);
    assert_int_equal(s.n_failed, 1);
    assert_int_equal(s.ttft_ms.n, 0);
    assert_false(s.has_slo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(per_request_figures),
        cmocka_unit_test(summary_over_requests),
        cmocka_unit_test(empty_and_all_failed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
