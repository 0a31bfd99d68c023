/* test_requests_log.c - requests.jsonl lines: fields, nulls, append vs rewrite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "aieb/fileio.h"
#include "aieb/requests_log.h"

#define MS 1000000LL

static void fields_of_a_successful_request(void **state)
{
    int64_t chunks[3] = {1100 * MS, 1120 * MS, 1150 * MS};
    aieb_result r = {.index = 4,
                     .sent_ns = 1000 * MS,
                     .first_token_ns = 1100 * MS,
                     .first_content_ns = 1100 * MS,
                     .done_ns = 1150 * MS,
                     .chunk_ns = chunks,
                     .n_chunks = 3,
                     .prompt_tokens = 7,
                     .completion_tokens = 3,
                     .reasoning_tokens = -1,
                     .prompt_chars = 30};
    aieb_request_energy e = {.gpu_j = 12.5, .cpu_j = 1.0, .dram_j = NAN, .ram_j = 0.25};
    json_t *o = aieb_request_to_json(&r, 900 * MS, &e);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "index")), 4);
    assert_float_equal(json_real_value(json_object_get(o, "sent_s")), 0.1, 1e-9);
    assert_true(json_is_null(json_object_get(o, "queued_s")));
    assert_float_equal(json_real_value(json_object_get(o, "ttft_ms")), 100, 1e-9);
    assert_float_equal(json_real_value(json_object_get(o, "tpot_ms")), 25, 1e-9);
    json_t *itl = json_object_get(o, "itl_ms");
    assert_int_equal(json_array_size(itl), 2);
    assert_float_equal(json_real_value(json_array_get(itl, 1)), 30, 1e-9);
    assert_float_equal(json_real_value(json_object_get(o, "latency_s")), 0.15, 1e-9);
    json_t *en = json_object_get(o, "energy_j");
    assert_float_equal(json_real_value(json_object_get(en, "gpu")), 12.5, 1e-12);
    assert_true(json_is_null(json_object_get(en, "dram")));
    assert_true(json_is_true(json_object_get(o, "success")));
    assert_true(json_is_null(json_object_get(o, "error")));
    json_decref(o);
}

static void failed_request_and_file_round_trip(void **state)
{
    char dir[] = "/tmp/aieb-rl-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/requests.jsonl", dir);
    aieb_result rs[2] = {{.index = 0,
                          .sent_ns = 5,
                          .prompt_tokens = -1,
                          .completion_tokens = -1,
                          .error_kind = AIEB_REQ_HTTP,
                          .http_status = 429,
                          .error = "rate limited"},
                         {.index = 1,
                          .prompt_tokens = -1,
                          .completion_tokens = -1,
                          .error_kind = AIEB_REQ_CANCELLED}};
    aieb_err err = {0};
    assert_int_equal(aieb_requests_log_append(path, &rs[0], 0, &err), 0);
    assert_int_equal(aieb_requests_log_append(path, &rs[1], 0, &err), 0);
    char *d;
    size_t n;
    assert_int_equal(aieb_read_file(path, 1 << 20, &d, &n, &err), 0);
    assert_non_null(strstr(d, "\"error_kind\":\"http\""));
    assert_non_null(strstr(d, "\"http_status\":429"));
    assert_non_null(strstr(d, "\"error_kind\":\"cancelled\""));
    assert_null(strstr(d, "energy_j"));
    int lines = 0;
    for (char *p = d; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 2);
    free(d);

    aieb_request_energy e[2] = {{.gpu_j = 1}, {.gpu_j = 2}};
    assert_int_equal(aieb_requests_log_write(path, rs, 2, 0, e, &err), 0);
    assert_int_equal(aieb_read_file(path, 1 << 20, &d, &n, &err), 0);
    json_error_t je;
    char *nl = strchr(d, '\n');
    *nl = '\0';
    json_t *o = json_loads(d, 0, &je);
    assert_non_null(o);
    assert_float_equal(json_real_value(json_object_get(json_object_get(o, "energy_j"), "gpu")), 1,
                       0);
    json_decref(o);
    free(d);
    assert_int_not_equal(aieb_requests_log_append("/nonexistent/x.jsonl", &rs[0], 0, &err), 0);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fields_of_a_successful_request),
        cmocka_unit_test(failed_request_and_file_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
