/* test_openai_health.c - the backend's health check against the real test
 * server (ready, loading then ready, no /health as on Ollama, model missing,
 * server down, unauthorised, stopped while waiting) and option checking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "test_openai_support.h"

/* When the last fake_start() began: the server's loading time (--health-503-s)
 * counts from its start, which is after this. */
static int64_t started_ns;

/* Runs health() against a server started with args, model as given, the API
 * key read from key_env; returns its code with the message in *err and the
 * time it took in *ms. */
static int health_keyed(fake_server *fs, const char *const *args, const char *model,
                        const char *key_env, double startup_s, aieb_err *err, double *ms)
{
    started_ns = aieb_now_ns();
    assert_int_equal(fake_start(fs, args), 0);
    aieb_openai_opts o;
    aieb_openai_opts_init(&o);
    o.endpoint = fs->endpoint;
    o.model = model;
    o.api_key_env = key_env;
    o.startup_timeout_s = startup_s;
    aieb_backend *b = open_backend(&o);
    assert_non_null(b);
    int64_t t0 = aieb_now_ns();
    int rc = b->ops->health(b, NULL, err);
    *ms = ms_between(t0, aieb_now_ns());
    b->ops->close(b);
    return rc;
}

/* The same without an API key. */
static int health_of(fake_server *fs, const char *const *args, const char *model, double startup_s,
                     aieb_err *err, double *ms)
{
    return health_keyed(fs, args, model, "AIEB_TEST_NO_SUCH_KEY", startup_s, err, ms);
}

/* The paths the server was asked for, joined with spaces. */
static void paths_asked(const fake_server *fs, char *out, size_t cap)
{
    json_t *all = fake_log(fs);
    size_t i;
    json_t *o;
    out[0] = '\0';
    json_array_foreach(all, i, o)
    {
        size_t at = strlen(out);
        snprintf(out + at, cap - at, "%s%s", at ? " " : "",
                 json_string_value(json_object_get(o, "path")));
    }
    json_decref(all);
}

static void ready_server(void **state)
{
    fake_server fs;
    const char *args[] = {NULL};
    aieb_err err = {0};
    double ms;
    assert_int_equal(health_of(&fs, args, "test-model", 5, &err, &ms), 0);
    char paths[256];
    paths_asked(&fs, paths, sizeof paths);
    assert_string_equal(paths, "/health /v1/models");
    fake_stop(&fs);
}

/* When (CLOCK_MONOTONIC ns, as the server logs it) the first request to path came. */
static int64_t first_asked_ns(const fake_server *fs, const char *path)
{
    json_t *all = fake_log(fs);
    size_t i;
    json_t *o;
    int64_t t = 0;
    json_array_foreach(all, i, o)
    {
        const char *p = json_string_value(json_object_get(o, "path"));
        if (!t && p && strcmp(p, path) == 0)
            t = json_integer_value(json_object_get(o, "t_ns"));
    }
    json_decref(all);
    return t;
}

/* The server answers 503 for its first seconds. How long health() waits is
 * judged from before the server started (the loading time is an exact lower
 * bound from there), not from health()'s own start, which a busy machine may
 * delay; the upper bound is generous (a machine 20x slower). That health()
 * polled again after a 503 is checked when its first poll came well inside the
 * loading time, as it does unless this machine stalls for over half of it. */
static void loading_then_ready(void **state)
{
    fake_server fs;
    const char *args[] = {"--health-503-s", "1.2", NULL};
    aieb_err err = {0};
    double ms;
    assert_int_equal(health_of(&fs, args, "test-model", 60, &err, &ms), 0);
    double since_start = ms_between(started_ns, aieb_now_ns());
    if (since_start < 1200 || ms > 24000)
        fail_msg("waited %.0f ms (%.0f since the server started) for a server loading for 1.2 s",
                 ms, since_start);
    if (first_asked_ns(&fs, "/health") < started_ns + 600 * AIEB_NS_PER_MS)
        assert_true(fake_count(&fs, "/health") >= 2);
    assert_int_equal(fake_count(&fs, "/v1/models"), 1);
    fake_stop(&fs);

    /* still loading when the start-up timeout ends (not at its 30 s end) */
    const char *slow[] = {"--health-503-s", "30", NULL};
    assert_int_equal(health_of(&fs, slow, "test-model", 0.6, &err, &ms), AIEB_EENV);
    assert_non_null(strstr(err.msg, "still loading after 0.6 s"));
    assert_non_null(strstr(err.msg, "backend.startup_timeout_s"));
    assert_true(ms < 12000);
    fake_stop(&fs);

    /* no /health and loading: /v1/models answers 503 and is waited for too */
    const char *ollama_loading[] = {"--no-health", "--health-503-s", "0.8", NULL};
    assert_int_equal(health_of(&fs, ollama_loading, "test-model", 60, &err, &ms), 0);
    assert_true(ms_between(started_ns, aieb_now_ns()) >= 800);
    if (first_asked_ns(&fs, "/v1/models") < started_ns + 400 * AIEB_NS_PER_MS)
        assert_true(fake_count(&fs, "/v1/models") >= 2);
    fake_stop(&fs);
}

static void no_health_endpoint_like_ollama(void **state)
{
    fake_server fs;
    const char *args[] = {"--no-health", "--models", "llama3.2:latest,qwen3:8b", NULL};
    aieb_err err = {0};
    double ms;
    /* "llama3.2" is served as "llama3.2:latest" */
    assert_int_equal(health_of(&fs, args, "llama3.2", 5, &err, &ms), 0);
    char paths[256];
    paths_asked(&fs, paths, sizeof paths);
    assert_string_equal(paths, "/health /v1/models");
    fake_stop(&fs);
    assert_int_equal(health_of(&fs, args, "qwen3:8b", 5, &err, &ms), 0);
    fake_stop(&fs);
}

static void model_missing(void **state)
{
    fake_server fs;
    const char *args[] = {"--models", "org/a,org/b", NULL};
    aieb_err err = {0};
    double ms;
    assert_int_equal(health_of(&fs, args, "org/c", 5, &err, &ms), AIEB_EENV);
    assert_non_null(strstr(err.msg, "model 'org/c' is not served at http://127.0.0.1:"));
    assert_non_null(strstr(err.msg, "the server lists: 'org/a', 'org/b'"));
    assert_non_null(strstr(err.msg, "backend.model"));
    fake_stop(&fs);
}

static void server_down(void **state)
{
    int held;
    int port = refused_port(&held);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d/v1/", port);
    aieb_openai_opts o;
    aieb_openai_opts_init(&o);
    o.endpoint = endpoint;
    o.model = "m";
    aieb_backend *b = open_backend(&o);
    aieb_err err = {0};
    assert_int_equal(b->ops->health(b, NULL, &err), AIEB_EENV);
    char want[128];
    snprintf(want, sizeof want, "server not reachable at http://127.0.0.1:%d/v1 (", port);
    if (!strstr(err.msg, want) || !strstr(err.msg, "start it or fix backend.endpoint"))
        fail_msg("unexpected message: %s", err.msg);
    assert_int_equal(aieb_exit_status(AIEB_EENV), 3);
    b->ops->close(b);
    close(held);
}

static void unauthorised(void **state)
{
    fake_server fs;
    const char *args[] = {"--api-key", "right-key", NULL};
    aieb_err err = {0};
    double ms;
    assert_int_equal(health_of(&fs, args, "test-model", 5, &err, &ms), AIEB_EENV);
    assert_non_null(strstr(err.msg, "HTTP 401: Incorrect API key provided: (none)"));
    assert_non_null(strstr(err.msg, "$AIEB_TEST_NO_SUCH_KEY (backend.api_key_env)"));
    fake_stop(&fs);

    /* a wrong one-byte key (a common dummy): the server echoes it, the
     * message shows it redacted and the same length */
    setenv("AIEB_TEST_SHORT_KEY", "x", 1);
    aieb_err_clear(&err);
    assert_int_equal(health_keyed(&fs, args, "test-model", "AIEB_TEST_SHORT_KEY", 5, &err, &ms),
                     AIEB_EENV);
    const char *shown = strstr(err.msg, "Incorrect API key provided: Bearer *");
    assert_non_null(shown);
    assert_true(shown[strlen("Incorrect API key provided: Bearer *")] != '*');
    assert_null(strstr(err.msg, "Bearer x"));
    unsetenv("AIEB_TEST_SHORT_KEY");
    fake_stop(&fs);
}

static void stopped_while_loading(void **state)
{
    fake_server fs;
    const char *args[] = {"--health-503-s", "30", NULL};
    assert_int_equal(fake_start(&fs, args), 0);
    aieb_openai_opts o;
    aieb_openai_opts_init(&o);
    o.endpoint = fs.endpoint;
    o.model = "test-model";
    aieb_backend *b = open_backend(&o);
    volatile int stop = 1;
    aieb_err err = {0};
    assert_int_equal(b->ops->health(b, &stop, &err), AIEB_EINTR);
    assert_non_null(strstr(err.msg, "stopped while waiting"));
    b->ops->close(b);
    fake_stop(&fs);
}

static void bad_options(void **state)
{
    struct {
        const char *endpoint, *api;
        const char *part;
    } cases[] = {
        {NULL, NULL, "backend.endpoint is empty"},
        {"", NULL, "backend.endpoint is empty"},
        {"localhost:8000/v1", NULL, "not an http:// or https:// URL"},
        {"ftp://x/v1", NULL, "not an http:// or https:// URL"},
        {"http://x/v1", "responses", "backend.api 'responses'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        aieb_openai_opts o;
        aieb_openai_opts_init(&o);
        o.endpoint = cases[i].endpoint;
        if (cases[i].api)
            o.api = cases[i].api;
        aieb_backend *b = (aieb_backend *)1;
        aieb_err err = {0};
        assert_int_equal(aieb_openai_backend_open(&o, &b, &err), AIEB_EINVAL);
        assert_null(b);
        if (!strstr(err.msg, cases[i].part))
            fail_msg("'%s' not in '%s'", cases[i].part, err.msg);
    }
    aieb_openai_opts o;
    aieb_openai_opts_init(&o);
    o.endpoint = "http://x/v1";
    o.timeout_s = -1;
    aieb_backend *b;
    aieb_err err = {0};
    assert_int_equal(aieb_openai_backend_open(&o, &b, &err), AIEB_EINVAL);
    /* a trailing slash and no /v1 are both fine */
    o.timeout_s = 0;
    o.endpoint = "https://example.invalid/api/";
    assert_int_equal(aieb_openai_backend_open(&o, &b, &err), 0);
    json_t *info = b->ops->info(b);
    assert_string_equal(json_string_value(json_object_get(info, "url")),
                        "https://example.invalid/api/chat/completions");
    json_decref(info);
    b->ops->close(b);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ready_server),
        cmocka_unit_test(loading_then_ready),
        cmocka_unit_test(no_health_endpoint_like_ollama),
        cmocka_unit_test(model_missing),
        cmocka_unit_test(server_down),
        cmocka_unit_test(unauthorised),
        cmocka_unit_test(stopped_while_loading),
        cmocka_unit_test(bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
