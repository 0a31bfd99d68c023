/* test_openai_rows.c - the test server's Hugging Face dataset viewer endpoints
 * (/rows, /splits; tests/fakes/viewer_rows.c), which the dataset module's hub
 * client is tested against: the JSON shape, paging, parameter errors, the token
 * check, the request log, several splits, scripted failures and delays, and the
 * options it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "aieb/buf.h"
#include "test_openai_support.h"

static size_t to_buf(char *data, size_t size, size_t nmemb, void *ud)
{
    aieb_buf_append(ud, data, size * nmemb);
    return size * nmemb;
}

/* GETs path from the server; returns the status, *body the parsed JSON. */
static long get(const fake_server *fs, const char *path, const char *auth, json_t **body)
{
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", fs->port, path);
    CURL *e = curl_easy_init();
    aieb_buf b;
    aieb_buf_init(&b, 0);
    struct curl_slist *h = NULL;
    if (auth)
        h = curl_slist_append(h, auth);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, to_buf);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    long status = 0;
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    *body = json_loadb(b.data ? b.data : "", b.len, 0, NULL);
    aieb_buf_free(&b);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return status;
}

/* Writes n rows {"text": "row <i>", "n": i} to path. */
static void write_rows(const char *path, int n)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < n; i++)
        fprintf(f, "{\"text\": \"row %d\", \"n\": %d}\n", i, i);
    fclose(f);
}

static void rows_and_pages(void **state)
{
    char rows[] = "/tmp/aieb-rows-XXXXXX";
    int fd = mkstemp(rows);
    close(fd);
    write_rows(rows, 5);
    fake_server fs;
    const char *args[] = {"--rows-file", rows, NULL};
    assert_int_equal(fake_start(&fs, args), 0);

    json_t *b;
    assert_int_equal(
        get(&fs, "/rows?dataset=org/ds&config=default&split=train&offset=0&length=2", NULL, &b),
        200);
    assert_int_equal(json_integer_value(json_object_get(b, "num_rows_total")), 5);
    assert_int_equal(json_integer_value(json_object_get(b, "num_rows_per_page")), 100);
    assert_true(json_is_false(json_object_get(b, "partial")));
    json_t *features = json_object_get(b, "features");
    assert_int_equal(json_array_size(features), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(features, 0), "name")),
                        "text");
    json_t *r = json_object_get(b, "rows");
    assert_int_equal(json_array_size(r), 2);
    json_t *r1 = json_array_get(r, 1);
    assert_int_equal(json_integer_value(json_object_get(r1, "row_idx")), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r1, "row"), "text")),
                        "row 1");
    assert_int_equal(json_array_size(json_object_get(r1, "truncated_cells")), 0);
    json_decref(b);

    /* the last page is short; past the end is empty */
    assert_int_equal(
        get(&fs, "/rows?dataset=org/ds&config=default&split=train&offset=4&length=100", NULL, &b),
        200);
    assert_int_equal(json_array_size(json_object_get(b, "rows")), 1);
    assert_int_equal(json_integer_value(
                         json_object_get(json_array_get(json_object_get(b, "rows"), 0), "row_idx")),
                     4);
    json_decref(b);
    assert_int_equal(
        get(&fs, "/rows?dataset=org/ds&config=default&split=train&offset=9&length=10", NULL, &b),
        200);
    assert_int_equal(json_array_size(json_object_get(b, "rows")), 0);
    json_decref(b);

    /* parameter errors in the viewer's {"error": ...} shape */
    assert_int_equal(
        get(&fs, "/rows?dataset=org/ds&config=default&split=train&length=101", NULL, &b), 422);
    assert_true(json_is_string(json_object_get(b, "error")));
    json_decref(b);
    assert_int_equal(get(&fs, "/rows?config=default&split=train", NULL, &b), 422);
    json_decref(b);
    assert_int_equal(get(&fs, "/rows?dataset=org/ds&config=other&split=train", NULL, &b), 404);
    json_decref(b);

    assert_int_equal(get(&fs, "/splits?dataset=org/ds", NULL, &b), 200);
    json_t *sp = json_array_get(json_object_get(b, "splits"), 0);
    assert_string_equal(json_string_value(json_object_get(sp, "dataset")), "org/ds");
    assert_string_equal(json_string_value(json_object_get(sp, "config")), "default");
    assert_string_equal(json_string_value(json_object_get(sp, "split")), "train");
    json_decref(b);

    /* every request is logged with its query */
    json_t *log = fake_log(&fs);
    assert_int_equal(json_array_size(log), 7);
    assert_string_equal(json_string_value(json_object_get(json_array_get(log, 0), "query")),
                        "dataset=org/ds&config=default&split=train&offset=0&length=2");
    json_decref(log);
    fake_stop(&fs);
    unlink(rows);
}

static void token_and_dataset_name(void **state)
{
    char rows[] = "/tmp/aieb-rows-XXXXXX";
    int fd = mkstemp(rows);
    close(fd);
    write_rows(rows, 3);
    fake_server fs;
    const char *args[] = {"--rows-file",
                          rows,
                          "--hf-token",
                          "hf_secret",
                          "--rows-dataset",
                          "AIEnergyScore/text_generation",
                          NULL};
    assert_int_equal(fake_start(&fs, args), 0);
    const char *q = "/rows?dataset=AIEnergyScore/text_generation&config=default&split=train";
    json_t *b;
    assert_int_equal(get(&fs, q, NULL, &b), 401);
    json_decref(b);
    assert_int_equal(get(&fs, q, "Authorization: Bearer wrong", &b), 401);
    json_decref(b);
    assert_int_equal(get(&fs, q, "Authorization: Bearer hf_secret", &b), 200);
    assert_int_equal(json_array_size(json_object_get(b, "rows")), 3);
    json_decref(b);
    assert_int_equal(get(&fs, "/rows?dataset=other/ds&config=default&split=train",
                         "Authorization: Bearer hf_secret", &b),
                     404);
    json_decref(b);
    fake_stop(&fs);
    unlink(rows);
}

static void splits_failures_and_delay(void **state)
{
    char rows[] = "/tmp/aieb-rows-XXXXXX";
    int fd = mkstemp(rows);
    close(fd);
    write_rows(rows, 4);
    fake_server fs;
    const char *args[] = {"--rows-file",
                          rows,
                          "--rows-splits",
                          "plain/train,plain/test,extra/dev",
                          "--rows-status",
                          "503",
                          "--rows-faults-first",
                          "2",
                          "--rows-delay-ms",
                          "150",
                          NULL};
    assert_int_equal(fake_start(&fs, args), 0);

    /* the first two viewer requests fail in the viewer's error shape, after the delay */
    json_t *b;
    int64_t t0 = aieb_now_ns();
    assert_int_equal(get(&fs, "/splits?dataset=org/ds", NULL, &b), 503);
    assert_true(aieb_now_ns() - t0 >= 150 * AIEB_NS_PER_MS);
    assert_non_null(strstr(json_string_value(json_object_get(b, "error")), "scripted failure"));
    json_decref(b);
    assert_int_equal(get(&fs, "/rows?dataset=org/ds&config=plain&split=test", NULL, &b), 503);
    json_decref(b);

    /* then every pair is listed and served; others are 404 */
    assert_int_equal(get(&fs, "/splits?dataset=org/ds", NULL, &b), 200);
    json_t *sp = json_object_get(b, "splits");
    assert_int_equal(json_array_size(sp), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(sp, 2), "config")),
                        "extra");
    assert_string_equal(json_string_value(json_object_get(json_array_get(sp, 2), "split")), "dev");
    json_decref(b);
    assert_int_equal(get(&fs, "/rows?dataset=org/ds&config=extra&split=dev", NULL, &b), 200);
    assert_int_equal(json_array_size(json_object_get(b, "rows")), 4);
    json_decref(b);
    assert_int_equal(get(&fs, "/rows?dataset=org/ds&config=default&split=train", NULL, &b), 404);
    json_decref(b);
    assert_int_equal(get(&fs, "/rows?dataset=org/ds&config=plain&split=dev", NULL, &b), 404);
    json_decref(b);
    assert_int_equal(fake_count(&fs, "/rows"), 4);
    assert_int_equal(fake_count(&fs, "/splits"), 2);
    fake_stop(&fs);

    /* a server without /splits still serves /rows */
    const char *none[] = {"--rows-file", rows, "--no-splits", NULL};
    assert_int_equal(fake_start(&fs, none), 0);
    assert_int_equal(get(&fs, "/splits?dataset=org/ds", NULL, &b), 404);
    json_decref(b);
    assert_int_equal(get(&fs, "/rows?dataset=org/ds&config=default&split=train", NULL, &b), 200);
    assert_int_equal(json_array_size(json_object_get(b, "rows")), 4);
    json_decref(b);
    fake_stop(&fs);
    unlink(rows);
}

/* The server refuses to start on bad viewer options (no PORT line). */
static void bad_options_refused(void **state)
{
    const char *bad[][5] = {
        {"--rows-splits", "nopair", NULL},
        {"--rows-splits", "a/b,/c", NULL},
        {"--rows-splits", "a/b", "--rows-config", "x", NULL},
        {"--rows-status", "abc", NULL},
        {"--rows-status", "42", NULL},
        {"--rows-faults-first", "-1", NULL},
        {"--rows-delay-ms", "1s", NULL},
        {"--rows-file", "/nonexistent/rows.jsonl", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fake_server fs;
        assert_int_equal(fake_start(&fs, bad[i]), -1);
        rmdir(fs.dir);
    }
    /* a rows file with a line that is not an object */
    char rows[] = "/tmp/aieb-rows-XXXXXX";
    int fd = mkstemp(rows);
    const char *text = "{\"text\": \"a\"}\n[1, 2]\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    fake_server fs;
    const char *args[] = {"--rows-file", rows, NULL};
    assert_int_equal(fake_start(&fs, args), -1);
    rmdir(fs.dir);
    unlink(rows);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rows_and_pages),
        cmocka_unit_test(token_and_dataset_name),
        cmocka_unit_test(splits_failures_and_delay),
        cmocka_unit_test(bad_options_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
