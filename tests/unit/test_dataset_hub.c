/* test_dataset_hub.c - the Hugging Face dataset viewer client against the test
 * server's /rows and /splits (tests/fakes/openai_server.c with viewer_rows.c) on
 * loopback: pagination, HF_TOKEN, HF_ENDPOINT, 401,
 * 404, 500 with retries, timeouts, the cache written and reused offline or with the
 * server down, and the error that names the cache path when nothing works. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "aieb/clock.h"
#include "aieb/dataset.h"
#include "dataset/cache.h"

#define N_ROWS  250
#define N_EMPTY 5 /* rows 7, 57, 107, 157, 207 have an empty text */
#define DATASET "acme/prompts"

static char server_bin[1024];

typedef struct fixture {
    char dir[64];        /* temporary directory */
    char rows_file[128]; /* JSONL served */
    char log_file[128];  /* the server's request log, one JSON object a line */
    char cache_dir[128];
    pid_t pid;
    int port;
    char endpoint[64];
} fixture;

/* ==== Server ================================================================= */

/* Starts the test server with the fixture's rows and log plus extra arguments
 * (a NULL-ended list of its viewer options, or NULL for none). */
static void start_server(fixture *f, const char *const *extra)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = server_bin;
    argv[n++] = "--rows-file";
    argv[n++] = f->rows_file;
    argv[n++] = "--log";
    argv[n++] = f->log_file;
    for (size_t i = 0; extra && extra[i] && n < 30; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(server_bin, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    FILE *out = fdopen(fds[0], "r");
    char line[64] = "";
    if (!fgets(line, sizeof line, out) || sscanf(line, "PORT %d", &f->port) != 1)
        fail_msg("the test server did not start (%s)", server_bin);
    fclose(out);
    f->pid = pid;
    snprintf(f->endpoint, sizeof f->endpoint, "http://127.0.0.1:%d", f->port);
}

static void stop_server(fixture *f)
{
    if (f->pid <= 0)
        return;
    kill(f->pid, SIGTERM);
    int status;
    waitpid(f->pid, &status, 0);
    f->pid = 0;
}

/* Reads the next logged request as "<path>?<query> auth=<Authorization or ->".
 * Returns false at the end of the log. */
static bool next_request(FILE *in, char *out, size_t cap)
{
    char line[8192];
    while (fgets(line, sizeof line, in)) {
        json_t *o = json_loads(line, 0, NULL);
        if (!o)
            continue;
        const char *path = json_string_value(json_object_get(o, "path"));
        const char *query = json_string_value(json_object_get(o, "query"));
        const char *auth = json_string_value(json_object_get(o, "authorization"));
        snprintf(out, cap, "%s?%s auth=%s", path ? path : "", query ? query : "",
                 auth ? auth : "-");
        json_decref(o);
        return true;
    }
    return false;
}

/* Requests logged so far whose path starts with prefix ("/rows", "/splits"). */
static int hits(const fixture *f, const char *prefix)
{
    FILE *in = fopen(f->log_file, "r");
    if (!in)
        return 0;
    char line[4096];
    int n = 0;
    while (next_request(in, line, sizeof line))
        n += strncmp(line, prefix, strlen(prefix)) == 0;
    fclose(in);
    return n;
}

static bool log_has(const fixture *f, const char *needle)
{
    FILE *in = fopen(f->log_file, "r");
    if (!in)
        return false;
    char line[4096];
    bool found = false;
    while (!found && next_request(in, line, sizeof line))
        found = strstr(line, needle) != NULL;
    fclose(in);
    return found;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/aieb-hub-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->rows_file, sizeof f->rows_file, "%s/rows.jsonl", f->dir);
    snprintf(f->log_file, sizeof f->log_file, "%s/requests.jsonl", f->dir);
    snprintf(f->cache_dir, sizeof f->cache_dir, "%s/cache", f->dir);
    FILE *out = fopen(f->rows_file, "w");
    for (int i = 0; i < N_ROWS; i++) {
        if (i % 50 == 7)
            fprintf(out, "{\"text\": \"\", \"label\": %d}\n", i % 3);
        else
            fprintf(out, "{\"text\": \"prompt number %d\", \"label\": %d}\n", i, i % 3);
    }
    fclose(out);
    unsetenv("HF_TOKEN");
    unsetenv("HF_ENDPOINT");
    unsetenv("HF_HUB_OFFLINE");
    unsetenv("HF_DATASETS_OFFLINE");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    stop_server(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    (void)rc;
    free(f);
    return 0;
}

static void opts_for(const fixture *f, aieb_dataset_options *o)
{
    aieb_dataset_options_init(o);
    o->name = DATASET;
    o->config = "default";
    o->cache_dir = f->cache_dir;
    o->hf_endpoint = f->endpoint;
    o->hf_timeout_s = 10;
    o->hf_retries = 0;
    o->hf_backoff_ms = 10;
}

static void expected_cache_path(const fixture *f, const char *config, char *out, size_t cap)
{
    snprintf(out, cap, "%s/acme--prompts/%s/train.json", f->cache_dir, config);
}

static int load(const aieb_dataset_options *o, aieb_dataset *ds, aieb_err *err)
{
    aieb_err_clear(err);
    return aieb_dataset_load(o, ds, err);
}

/* ==== Tests ================================================================== */

static void pages_through_all_rows_and_caches(void **state)
{
    fixture *f = *state;
    start_server(f, (const char *const[]){"--rows-dataset", DATASET, NULL});
    aieb_dataset_options o;
    opts_for(f, &o);
    aieb_dataset ds;
    aieb_err err = {0};
    assert_int_equal(load(&o, &ds, &err), 0);
    assert_int_equal(ds.n, N_ROWS - N_EMPTY);
    assert_int_equal(ds.rows_read, N_ROWS);
    assert_int_equal(ds.rows_empty, N_EMPTY);
    assert_string_equal(ds.prompts[0].text, "prompt number 0");
    assert_string_equal(ds.prompts[ds.n - 1].text, "prompt number 249");
    assert_int_equal(ds.prompts[7].source_row, 8); /* row 7 was empty */
    assert_false(ds.from_cache);
    assert_string_equal(ds.source, "hf:acme/prompts (config default, split train)");
    char path[512];
    expected_cache_path(f, "default", path, sizeof path);
    assert_string_equal(ds.cache_path, path);
    aieb_dataset_free(&ds);

    /* three pages of at most 100 rows, at offsets 0, 100, 200 */
    assert_int_equal(hits(f, "/rows"), 3);
    assert_true(log_has(f, "offset=0&length=100"));
    assert_true(log_has(f, "offset=100&length=100"));
    assert_true(log_has(f, "offset=200&length=100"));
    assert_true(log_has(f, "auth=-")); /* no token, no header */

    /* the cache file: every row with every column */
    json_t *doc = NULL;
    assert_int_equal(ds_cache_read(path, DATASET, "default", "train", &doc, &err), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "rows")), N_ROWS);
    assert_int_equal(json_integer_value(json_object_get(doc, "num_rows_total")), N_ROWS);
    assert_int_equal(json_integer_value(
                         json_object_get(json_array_get(json_object_get(doc, "rows"), 5), "label")),
                     2);
    json_decref(doc);

    /* again: served from the cache, no request; another column works from it too */
    o.text_column = "label";
    assert_int_equal(load(&o, &ds, &err), AIEB_EINVAL); /* numbers are not text */
    assert_non_null(strstr(err.msg, "row 0: field 'label' is a number"));
    o.text_column = NULL;
    o.num_samples = 10;
    assert_int_equal(load(&o, &ds, &err), 0);
    assert_true(ds.from_cache);
    assert_int_equal(ds.n, 10);
    aieb_dataset_free(&ds);
    assert_int_equal(hits(f, "/rows"), 3);
}

static void num_samples_fetches_only_needed_pages(void **state)
{
    fixture *f = *state;
    start_server(f, NULL);
    aieb_dataset_options o;
    opts_for(f, &o);
    o.num_samples = 120; /* 120 non-empty rows need 2 pages (2 empties in the first 122) */
    aieb_dataset ds;
    aieb_err err = {0};
    assert_int_equal(load(&o, &ds, &err), 0);
    assert_int_equal(ds.n, 120);
    assert_int_equal(hits(f, "/rows"), 2);
    aieb_dataset_free(&ds);

    /* the partial cache (200 rows) covers 150 samples without the network ... */
    o.num_samples = 150;
    assert_int_equal(load(&o, &ds, &err), 0);
    assert_true(ds.from_cache);
    assert_int_equal(hits(f, "/rows"), 2);
    aieb_dataset_free(&ds);
    /* ... but not the whole split: fetched again, cache completed */
    o.num_samples = 0;
    assert_int_equal(load(&o, &ds, &err), 0);
    assert_false(ds.from_cache);
    assert_int_equal(ds.n, N_ROWS - N_EMPTY);
    assert_int_equal(hits(f, "/rows"), 5);
    aieb_dataset_free(&ds);
    stop_server(f);
    assert_int_equal(load(&o, &ds, &err), 0);
    assert_true(ds.from_cache);
    assert_int_equal(ds.n, N_ROWS - N_EMPTY);
    aieb_dataset_free(&ds);
}

static void config_comes_from_splits(void **state)
{
    fixture *f = *state;
    start_server(f,
                 (const char *const[]){"--rows-splits",
                                       "other/train,default/test,default/train,extra/test", NULL});
    aieb_dataset_options o;
    opts_for(f, &o);
    o.config = NULL;
    o.num_samples = 5;
    aieb_dataset ds;
    aieb_err err = {0};
    assert_int_equal(load(&o, &ds, &err), 0);
    assert_string_equal(ds.source, "hf:acme/prompts (config default, split train)");
    assert_int_equal(hits(f, "/splits"), 1);
    aieb_dataset_free(&ds);
    o.split = "test";
    assert_int_equal(load(&o, &ds, &err), 0);
    assert_string_equal(ds.source, "hf:acme/prompts (config default, split test)");
    aieb_dataset_free(&ds);
    o.split = "validation";
    assert_int_equal(load(&o, &ds, &err), AIEB_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no split 'validation'"));
    assert_non_null(strstr(err.msg, "other/train"));
    /* a server without /splits: config "default" */
    stop_server(f);
    start_server(f, (const char *const[]){"--no-splits", NULL});
    o.split = "train";
    char other[160];
    snprintf(other, sizeof other, "%s/cache-nosplits", f->dir);
    o.cache_dir = other;
    assert_int_equal(load(&o, &ds, &err), 0);
    assert_string_equal(ds.source, "hf:acme/prompts (config default, split train)");
    aieb_dataset_free(&ds);
    o.cache_dir = f->cache_dir;
    /* with the server gone, the cached config is found without /splits */
    stop_server(f);
    o.split = "train";
    assert_int_equal(load(&o, &ds, &err), 0);
    assert_true(ds.from_cache);
    assert_string_equal(ds.source, "hf:acme/prompts (config default, split train)");
    aieb_dataset_free(&ds);
}

static void token_is_sent_and_refusals_explained(void **state)
{
    fixture *f = *state;
    start_server(f, (const char *const[]){"--hf-token", "s3cret", NULL});
    aieb_dataset_options o;
    opts_for(f, &o);
    o.num_samples = 3;
    aieb_dataset ds;
    aieb_err err = {0};
    /* no token: 401, told to set HF_TOKEN; nothing cached */
    assert_int_equal(load(&o, &ds, &err), AIEB_EENV);
    assert_non_null(strstr(err.msg, "401"));
    assert_non_null(strstr(err.msg, "set HF_TOKEN"));
    /* wrong token in the environment */
    setenv("HF_TOKEN", "wrong", 1);
    assert_int_equal(load(&o, &ds, &err), AIEB_EENV);
    assert_non_null(strstr(err.msg, "token in HF_TOKEN was refused"));
    assert_null(strstr(err.msg, "wrong"));
    /* the right one from the environment, as a Bearer header */
    setenv("HF_TOKEN", "s3cret", 1);
    assert_int_equal(load(&o, &ds, &err), 0);
    assert_int_equal(ds.n, 3);
    aieb_dataset_free(&ds);
    assert_true(log_has(f, "auth=Bearer s3cret"));
    unsetenv("HF_TOKEN");
    /* the option wins over the environment */
    o.hf_token = "s3cret";
    o.num_samples = 0;
    setenv("HF_TOKEN", "wrong", 1);
    assert_int_equal(load(&o, &ds, &err), 0);
    aieb_dataset_free(&ds);
    unsetenv("HF_TOKEN");
}

static void endpoint_from_environment(void **state)
{
    fixture *f = *state;
    start_server(f, NULL);
    aieb_dataset_options o;
    opts_for(f, &o);
    o.hf_endpoint = NULL;
    char ep[80];
    snprintf(ep, sizeof ep, "%s/", f->endpoint); /* a trailing slash is fine */
    setenv("HF_ENDPOINT", ep, 1);
    o.num_samples = 2;
    aieb_dataset ds;
    aieb_err err = {0};
    assert_int_equal(load(&o, &ds, &err), 0);
    assert_int_equal(hits(f, "/rows?"), 1);
    aieb_dataset_free(&ds);
    unsetenv("HF_ENDPOINT");
}

static void server_errors_and_retries(void **state)
{
    fixture *f = *state;
    char path[512];
    expected_cache_path(f, "default", path, sizeof path);
    /* 500 on every request: one try plus one retry, then an error naming the cache */
    start_server(f, (const char *const[]){"--rows-status", "500", NULL});
    aieb_dataset_options o;
    opts_for(f, &o);
    o.hf_retries = 1;
    aieb_dataset ds;
    aieb_err err = {0};
    assert_int_equal(load(&o, &ds, &err), AIEB_EENV);
    assert_non_null(strstr(err.msg, "HTTP 500"));
    assert_non_null(strstr(err.msg, "scripted failure"));
    assert_non_null(strstr(err.msg, path));
    assert_int_equal(hits(f, "/rows"), 2);
    struct stat st;
    assert_int_not_equal(stat(path, &st), 0); /* nothing cached */
    stop_server(f);

    /* the first request fails, the retry succeeds */
    unlink(f->log_file);
    start_server(f,
                 (const char *const[]){"--rows-status", "503", "--rows-faults-first", "1", NULL});
    assert_int_equal(load(&o, &ds, &err), 0);
    assert_int_equal(ds.n, N_ROWS - N_EMPTY);
    assert_int_equal(hits(f, "/rows"), 4);
    aieb_dataset_free(&ds);
    stop_server(f);

    /* 404 is final: no retry (a fresh cache directory, so the cache cannot answer) */
    char fresh[160];
    snprintf(fresh, sizeof fresh, "%s/cache2", f->dir);
    o.cache_dir = fresh;
    unlink(f->log_file);
    start_server(f, (const char *const[]){"--rows-dataset", "someone/else", NULL});
    o.hf_retries = 3;
    assert_int_equal(load(&o, &ds, &err), AIEB_ENOTFOUND);
    assert_non_null(strstr(err.msg, "not found"));
    assert_int_equal(hits(f, "/rows"), 1);
    stop_server(f);

    /* a column that does not exist is named with the ones that do */
    start_server(f, NULL);
    o.text_column = "prompt";
    assert_int_equal(load(&o, &ds, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "no column 'prompt' (columns: text, label)"));
}

/* The server answers after 30 s, so that the 0.3 s timeout fires however late
 * this machine runs; the time bound tells that it did from a wait for the
 * answer, with room for a machine 20x slower. */
static void slow_server_times_out(void **state)
{
    fixture *f = *state;
    start_server(f, (const char *const[]){"--rows-delay-ms", "30000", NULL});
    aieb_dataset_options o;
    opts_for(f, &o);
    o.hf_timeout_s = 0.3;
    aieb_dataset ds;
    aieb_err err = {0};
    int64_t t0 = aieb_now_ns();
    assert_int_equal(load(&o, &ds, &err), AIEB_ETIMEOUT);
    double took_s = aieb_ns_to_s(aieb_now_ns() - t0);
    assert_true(took_s >= 0.29 && took_s < 6.0);
    assert_non_null(strstr(err.msg, "no cached copy"));
}

static void cache_reused_when_server_down(void **state)
{
    fixture *f = *state;
    start_server(f, NULL);
    aieb_dataset_options o;
    opts_for(f, &o);
    aieb_dataset first, again;
    aieb_err err = {0};
    assert_int_equal(load(&o, &first, &err), 0);
    stop_server(f);

    /* the server is gone: the cache answers, same prompts */
    assert_int_equal(load(&o, &again, &err), 0);
    assert_true(again.from_cache);
    assert_int_equal(again.n, first.n);
    for (size_t i = 0; i < first.n; i++) {
        assert_string_equal(again.prompts[i].text, first.prompts[i].text);
        assert_int_equal(again.prompts[i].source_row, first.prompts[i].source_row);
    }
    aieb_dataset_free(&again);
    /* offline too, by option and by environment */
    o.offline = true;
    o.hf_endpoint = "http://127.0.0.1:1";
    assert_int_equal(load(&o, &again, &err), 0);
    assert_int_equal(again.n, first.n);
    aieb_dataset_free(&again);
    o.offline = false;
    setenv("HF_HUB_OFFLINE", "1", 1);
    assert_int_equal(load(&o, &again, &err), 0);
    aieb_dataset_free(&again);
    unsetenv("HF_HUB_OFFLINE");
    aieb_dataset_free(&first);

    /* a corrupt cache is ignored: with no server that is an error naming the path */
    char path[512];
    expected_cache_path(f, "default", path, sizeof path);
    FILE *out = fopen(path, "w");
    fputs("{ not json", out);
    fclose(out);
    assert_int_not_equal(load(&o, &again, &err), 0);
    assert_non_null(strstr(err.msg, path));
    /* ... and replaced when the server is back */
    start_server(f, NULL);
    o.hf_endpoint = f->endpoint;
    assert_int_equal(load(&o, &again, &err), 0);
    assert_false(again.from_cache);
    aieb_dataset_free(&again);
    json_t *doc = NULL;
    assert_int_equal(ds_cache_read(path, DATASET, "default", "train", &doc, &err), 0);
    json_decref(doc);
}

static void nothing_cached_and_server_down(void **state)
{
    fixture *f = *state;
    /* a port nobody listens on: start and stop a server to get one */
    start_server(f, NULL);
    stop_server(f);
    aieb_dataset_options o;
    opts_for(f, &o);
    aieb_dataset ds;
    aieb_err err = {0};
    char path[512];
    expected_cache_path(f, "default", path, sizeof path);
    assert_int_equal(load(&o, &ds, &err), AIEB_EENV);
    assert_non_null(strstr(err.msg, "cannot fetch"));
    assert_non_null(strstr(err.msg, "no cached copy of acme/prompts at"));
    assert_non_null(strstr(err.msg, path));
    /* offline with nothing cached */
    o.offline = true;
    assert_int_equal(load(&o, &ds, &err), AIEB_EENV);
    assert_non_null(strstr(err.msg, "offline"));
    assert_non_null(strstr(err.msg, path));
    /* no config given, nothing cached, server down: names the cache directory */
    o.offline = false;
    o.config = NULL;
    assert_int_equal(load(&o, &ds, &err), AIEB_EENV);
    assert_non_null(strstr(err.msg, f->cache_dir));
    /* names that are not hub ids */
    o.name = "hf://acme/../etc";
    assert_int_equal(load(&o, &ds, &err), AIEB_EINVAL);
}

static void cache_paths_stay_inside(void **state)
{
    char *p = NULL;
    assert_int_equal(ds_cache_path("/c", "org/name", "default", "train", &p, NULL), 0);
    assert_string_equal(p, "/c/org--name/default/train.json");
    free(p);
    assert_int_equal(ds_cache_path("/c", "org/name", "../x", "a/b", &p, NULL), 0);
    assert_string_equal(p, "/c/org--name/..%2Fx/a%2Fb.json");
    free(p);
    assert_int_equal(ds_cache_path("/c", "org/name", "..", "", &p, NULL), 0);
    assert_string_equal(p, "/c/org--name/%2E%2E/%00.json");
    free(p);
}

int main(void)
{
    const char *build = getenv("AIEB_BUILD_DIR");
    snprintf(server_bin, sizeof server_bin, "%s/tests/fakes/openai_server", build ? build : ".");
    if (access(server_bin, X_OK) != 0) {
        fprintf(stderr, "skipped: %s not built\n", server_bin);
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(pages_through_all_rows_and_caches, setup, teardown),
        cmocka_unit_test_setup_teardown(num_samples_fetches_only_needed_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(config_comes_from_splits, setup, teardown),
        cmocka_unit_test_setup_teardown(token_is_sent_and_refusals_explained, setup, teardown),
        cmocka_unit_test_setup_teardown(endpoint_from_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(server_errors_and_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(slow_server_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(cache_reused_when_server_down, setup, teardown),
        cmocka_unit_test_setup_teardown(nothing_cached_and_server_down, setup, teardown),
        cmocka_unit_test(cache_paths_stay_inside),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
