/* openai_health.c - is the server up and does it serve the model?
 *
 * GET {root}/health first: vLLM and SGLang answer 200 when ready; TGI, SGLang
 * and llama.cpp's server answer 503 while the model loads, so 503 means "wait
 * up to startup_timeout_s". Ollama has no /health (404): any answer other than
 * 200 or 503 falls through to GET {endpoint}/models, which every one of them
 * serves and which must list the model. */
#include <stdlib.h>
#include <string.h>

#include "aieb/clock.h"
#include "aieb/log.h"
#include "aieb/sse.h"
#include "backend/openai_internal.h"

#define HEALTH_BODY_MAX (4u << 20)
#define HEALTH_POLL_NS  (500 * AIEB_NS_PER_MS)

typedef struct get_result {
    oa_ctx *c;
    long status;
    aieb_buf body;
    CURLcode rc;
    char errbuf[CURL_ERROR_SIZE];
} get_result;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    get_result *g = ud;
    return aieb_buf_append(&g->body, data, size * nmemb) == 0 ? size * nmemb : 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    get_result *g = ud;
    oa_note_server(g->c, data, size * nmemb);
    return size * nmemb;
}

/* GET url into g (status 0 when no answer). */
static void http_get(oa_ctx *c, const char *url, get_result *g)
{
    g->c = c;
    g->status = 0;
    g->errbuf[0] = '\0';
    aieb_buf_reset(&g->body);
    CURL *e = curl_easy_init();
    if (!e) {
        g->rc = CURLE_OUT_OF_MEMORY;
        return;
    }
    double limit_s = c->o.timeout_s < 60 ? c->o.timeout_s : 60;
    g->rc = (CURLcode)oa_easy_setup(c, e);
    if (g->rc == CURLE_OK) {
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(limit_s * 1000));
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, g);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, g);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, g->errbuf);
        g->rc = curl_easy_perform(e);
    }
    if (g->rc == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &g->status);
    if (!g->errbuf[0])
        snprintf(g->errbuf, sizeof g->errbuf, "%s", curl_easy_strerror(g->rc));
    curl_easy_cleanup(e);
}

static int unreachable(oa_ctx *c, get_result *g, aieb_err *err)
{
    oa_scrub(c, g->errbuf);
    return aieb_errf(err, AIEB_EENV,
                     "server not reachable at %s (%s); start it or fix backend.endpoint", c->shown,
                     g->errbuf);
}

/* GETs url until it stops answering 503 or the start-up deadline passes.
 * Returns 0 with g filled (any status), or an error. */
static int get_when_loaded(oa_ctx *c, const char *url, int64_t deadline_ns, get_result *g,
                           const volatile sig_atomic_t *stop, aieb_err *err)
{
    for (int logged = 0;; logged = 1) {
        http_get(c, url, g);
        if (g->rc != CURLE_OK)
            return unreachable(c, g, err);
        if (g->status != 503)
            return 0;
        if (aieb_now_ns() >= deadline_ns) {
            char shown[512];
            return aieb_errf(err, AIEB_EENV,
                             "server at %s still loading after %g s (%s answered 503); wait "
                             "longer with backend.startup_timeout_s",
                             c->shown, c->o.startup_timeout_s,
                             aieb_url_redact(url, shown, sizeof shown));
        }
        if (!logged)
            AIEB_INFO("server at %s is loading (503); waiting up to %g s", c->shown,
                      c->o.startup_timeout_s);
        if (aieb_sleep_ns(HEALTH_POLL_NS, stop) != 0)
            return aieb_errf(err, AIEB_EINTR, "stopped while waiting for %s to load", c->shown);
    }
}

/* Ollama lists "llama3:latest" for a model requested as "llama3". */
static int same_model(const char *listed, const char *want)
{
    size_t n = strlen(want);
    return strcmp(listed, want) == 0 ||
           (strncmp(listed, want, n) == 0 && strcmp(listed + n, ":latest") == 0);
}

static int check_models(oa_ctx *c, get_result *g, aieb_err *err)
{
    char shown[512];
    if (g->status != 200) {
        aieb_sse_error_message(g->body.data ? g->body.data : "", g->body.len, shown, sizeof shown);
        oa_scrub(c, shown);
        int auth = g->status == 401 || g->status == 403;
        return aieb_errf(err, AIEB_EENV, "GET %s/models answered HTTP %ld: %s%s%s%s", c->shown,
                         g->status, shown, auth ? "; put the API key in $" : "",
                         auth ? c->api_key_env : "", auth ? " (backend.api_key_env)" : "");
    }
    json_t *root = json_loadb(g->body.data ? g->body.data : "", g->body.len, 0, NULL);
    json_t *data = json_object_get(root, "data");
    if (!json_is_array(data)) {
        json_decref(root);
        aieb_sse_error_message(g->body.data ? g->body.data : "", g->body.len, shown, sizeof shown);
        return aieb_errf(err, AIEB_EENV, "GET %s/models did not return a model list: '%s'",
                         c->shown, shown);
    }
    aieb_buf listed;
    aieb_buf_init(&listed, 0);
    const char *first = NULL;
    int found = 0, truncated = 0;
    size_t i;
    json_t *m;
    json_array_foreach(data, i, m)
    {
        const char *id = json_string_value(json_object_get(m, "id"));
        if (!id)
            continue;
        if (!first)
            first = id;
        if (c->model && same_model(id, c->model))
            found = 1;
        if (listed.len < 500)
            aieb_buf_printf(&listed, "%s'%.200s'", listed.len ? ", " : "", id);
        else if (!truncated && (truncated = 1))
            aieb_buf_puts(&listed, ", ...");
    }
    int rc = 0;
    if (!c->model && first) {
        c->model = strdup(first);
        if (!c->model)
            rc = aieb_errf(err, AIEB_ENOMEM, "backend: out of memory");
        else
            AIEB_INFO("backend.model not set; using '%s', the first model %s lists", first,
                      c->shown);
    } else if (!c->model) {
        rc = aieb_errf(err, AIEB_EENV, "server at %s lists no models", c->shown);
    } else if (!found) {
        rc = aieb_errf(err, AIEB_EENV,
                       "model '%s' is not served at %s; the server lists: %s; fix backend.model",
                       c->model, c->shown, listed.len ? listed.data : "nothing");
    }
    aieb_buf_free(&listed);
    json_decref(root);
    return rc;
}

int oa_health(aieb_backend *b, const volatile sig_atomic_t *stop, aieb_err *err)
{
    oa_ctx *c = b->ctx;
    int64_t deadline = aieb_now_ns() + (int64_t)(c->o.startup_timeout_s * 1e9);
    size_t n = strlen(c->root) + strlen(c->endpoint) + 16;
    char *health_url = malloc(n), *models_url = malloc(n);
    get_result g;
    memset(&g, 0, sizeof g);
    aieb_buf_init(&g.body, HEALTH_BODY_MAX);
    int rc = 0;
    if (!health_url || !models_url) {
        rc = aieb_errf(err, AIEB_ENOMEM, "backend: out of memory");
        goto out;
    }
    snprintf(health_url, n, "%s/health", c->root);
    snprintf(models_url, n, "%s/models", c->endpoint);
    if ((rc = get_when_loaded(c, health_url, deadline, &g, stop, err)) != 0)
        goto out;
    if (g.status != 200) {
        char a[512], m[512];
        AIEB_DEBUG("%s answered HTTP %ld; asking %s instead",
                   aieb_url_redact(health_url, a, sizeof a), g.status,
                   aieb_url_redact(models_url, m, sizeof m));
    }
    if ((rc = get_when_loaded(c, models_url, deadline, &g, stop, err)) != 0)
        goto out;
    rc = check_models(c, &g, err);
out:
    free(health_url);
    free(models_url);
    aieb_buf_free(&g.body);
    return rc;
}
