/* openai.c - the OpenAI-compatible backend: options, request bodies, info and
 * the backend object (health in openai_health.c, the request loop in
 * openai_run.c). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aieb/log.h"
#include "backend/openai_internal.h"

void aieb_openai_opts_init(aieb_openai_opts *o)
{
    memset(o, 0, sizeof *o);
    o->api = "chat";
    o->api_key_env = "OPENAI_API_KEY";
    o->stream = 1;
    o->timeout_s = 300;
    o->connect_timeout_s = 10;
    o->startup_timeout_s = 600;
    o->max_retries = 3;
    o->retry_backoff_s = 0.25;
    o->gen.max_new_tokens = 0;
    o->gen.min_new_tokens = 0;
    o->gen.temperature = -1;
    o->gen.top_p = 0;
    o->gen.top_k = 0;
    o->gen.do_sample = -1;
    o->gen.seed = -1;
    o->gen.ignore_eos = -1;
}

/* ==== Where the server is ================================================ */

int aieb_openai_endpoint_is_local(const char *endpoint)
{
    const char *p = endpoint ? strstr(endpoint, "://") : NULL;
    if (!p)
        return -1;
    p += 3;
    const char *at = strchr(p, '@'), *slash = strchr(p, '/');
    if (at && (!slash || at < slash))
        p = at + 1; /* user:password@host */
    char host[256];
    size_t n;
    if (*p == '[') { /* [IPv6]:port */
        const char *end = strchr(p, ']');
        if (!end)
            return -1;
        n = (size_t)(end - p - 1);
        p++;
    } else {
        n = strcspn(p, ":/?#");
    }
    if (n == 0 || n >= sizeof host)
        return -1;
    memcpy(host, p, n);
    host[n] = '\0';
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
        strcmp(host, "0.0.0.0") == 0)
        return 1;
    unsigned a, b, c, d;
    char tail;
    if (sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 &&
        c < 256 && d < 256)
        return 1;
    return 0;
}

/* ==== Secrets ============================================================== */

void oa_redact(char *msg, const char *secret)
{
    if (!msg || !secret || !*secret)
        return;
    size_t k = strlen(secret), mark = k < 3 ? k : 3;
    char *r = msg, *w = msg; /* w never passes r: the mark is never longer than the key */
    while (*r) {
        if (*r == *secret && strncmp(r, secret, k) == 0) {
            memset(w, '*', mark);
            w += mark;
            r += k;
        } else {
            *w++ = *r++;
        }
    }
    *w = 0;
}

void oa_scrub(const oa_ctx *c, char *msg)
{
    oa_redact(msg, c->api_key);
}

/* Zeroes a string in a way the compiler may not drop as a dead store. */
static void wipe(char *s)
{
    volatile char *v = s;
    while (*v)
        *v++ = 0;
}

static void wipe_free(char *s)
{
    if (!s)
        return;
    wipe(s);
    free(s);
}

/* ==== Request bodies ======================================================= */

char *oa_request_body(const oa_ctx *c, const aieb_request *r)
{
    const aieb_gen_params gp = aieb_request_gen(&c->o.gen, r), *g = &gp;
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "model", json_string(c->model ? c->model : ""));
    if (c->chat) {
        json_t *msgs = json_array();
        if (r->system_prompt)
            json_array_append_new(
                msgs, json_pack("{s:s, s:s}", "role", "system", "content", r->system_prompt));
        json_array_append_new(
            msgs, json_pack("{s:s, s:s}", "role", "user", "content", r->prompt ? r->prompt : ""));
        json_object_set_new(o, "messages", msgs);
    } else if (r->raw_prompt) {
        /* The whole conversation already rendered (Harmony) for raw-text APIs. */
        json_object_set_new(o, "prompt", json_string(r->raw_prompt));
    } else if (r->system_prompt && *r->system_prompt) {
        /* /v1/completions has no roles: the system text goes first. */
        json_object_set_new(o, "prompt",
                            json_sprintf("%s\n\n%s", r->system_prompt, r->prompt ? r->prompt : ""));
    } else {
        json_object_set_new(o, "prompt", json_string(r->prompt ? r->prompt : ""));
    }
    if (g->max_new_tokens > 0)
        json_object_set_new(o, "max_tokens", json_integer(g->max_new_tokens));
    if (g->min_new_tokens > 0)
        json_object_set_new(o, "min_tokens", json_integer(g->min_new_tokens)); /* vLLM extension */
    if (g->do_sample == 0)
        json_object_set_new(o, "temperature", json_real(0.0)); /* greedy */
    else if (g->temperature >= 0)
        json_object_set_new(o, "temperature", json_real(g->temperature));
    if (g->top_p > 0)
        json_object_set_new(o, "top_p", json_real(g->top_p));
    if (g->top_k > 0)
        json_object_set_new(o, "top_k", json_integer(g->top_k));
    if (g->seed >= 0)
        json_object_set_new(o, "seed", json_integer(g->seed));
    int ignore_eos = g->ignore_eos == 1 || (g->ignore_eos < 0 && g->min_new_tokens > 0 &&
                                            g->min_new_tokens == g->max_new_tokens);
    if (ignore_eos)
        json_object_set_new(o, "ignore_eos", json_true());
    if (c->o.stream) {
        json_object_set_new(o, "stream", json_true());
        json_object_set_new(o, "stream_options", json_pack("{s:b}", "include_usage", 1));
    } else {
        json_object_set_new(o, "stream", json_false());
    }
    if (json_is_object(r->extra_params))
        json_object_update(o, r->extra_params);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

/* ==== libcurl ============================================================== */

int oa_easy_setup(const oa_ctx *c, CURL *e)
{
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(e, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)(c->o.connect_timeout_s * 1000));
    SET(CURLOPT_HTTPHEADER, c->headers);
    SET(CURLOPT_TCP_NODELAY, 1L);
    SET(CURLOPT_USERAGENT, "aieb/" AIEB_VERSION);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    if (c->o.insecure_tls) {
        SET(CURLOPT_SSL_VERIFYPEER, 0L);
        SET(CURLOPT_SSL_VERIFYHOST, 0L);
    }
#undef SET
    return (int)rc;
}

void oa_note_server(oa_ctx *c, const char *line, size_t n)
{
    if (n < 7 || strncasecmp(line, "server:", 7) != 0)
        return;
    line += 7;
    n -= 7;
    while (n > 0 && (*line == ' ' || *line == '\t'))
        line++, n--;
    while (n > 0 && isspace((unsigned char)line[n - 1]))
        n--;
    if (n >= sizeof c->server)
        n = sizeof c->server - 1;
    memcpy(c->server, line, n);
    c->server[n] = '\0';
}

/* ==== The backend object =================================================== */

static json_t *oa_info(aieb_backend *b)
{
    oa_ctx *c = b->ctx;
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:b}", "type", "openai", "endpoint", c->shown,
                  "api", c->chat ? "chat" : "completions", "url", c->shown_url, "stream",
                  c->o.stream, "api_key_env", c->api_key_env, "api_key_set", c->api_key != NULL);
    if (!o)
        return NULL;
    json_object_set_new(o, "model", c->model ? json_string(c->model) : json_null());
    if (c->server[0])
        json_object_set_new(o, "server", json_string(c->server));
    return o;
}

static void oa_close(aieb_backend *b)
{
    if (!b)
        return;
    oa_ctx *c = b->ctx;
    if (c) {
        for (struct curl_slist *h = c->headers; h; h = h->next) /* one line holds the key */
            wipe(h->data);
        curl_slist_free_all(c->headers);
        wipe_free(c->api_key);
        free(c->api_key_env);
        free(c->endpoint);
        free(c->root);
        free(c->url);
        free(c->shown);
        free(c->shown_url);
        free(c->model);
        free(c);
        curl_global_cleanup();
    }
    free(b);
}

static const aieb_backend_ops oa_ops = {
    .health = oa_health,
    .run = oa_run,
    .info = oa_info,
    .close = oa_close,
};

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static char *join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *d = malloc(na + nb + 1);
    if (d) {
        memcpy(d, a, na);
        memcpy(d + na, b, nb + 1);
    }
    return d;
}

static int check_options(const aieb_openai_opts *o, aieb_err *err)
{
    if (!o->endpoint || !*o->endpoint)
        return aieb_errf(err, AIEB_EINVAL,
                         "backend.endpoint is empty; give the server's base URL, e.g. "
                         "http://localhost:8000/v1");
    if (strncmp(o->endpoint, "http://", 7) != 0 && strncmp(o->endpoint, "https://", 8) != 0)
        return aieb_errf(err, AIEB_EINVAL,
                         "backend.endpoint '%s' is not an http:// or https:// URL", o->endpoint);
    if (o->api && strcmp(o->api, "chat") != 0 && strcmp(o->api, "completions") != 0)
        return aieb_errf(err, AIEB_EINVAL, "backend.api '%s' is not 'chat' or 'completions'",
                         o->api);
    if (o->timeout_s < 0 || o->connect_timeout_s < 0 || o->first_byte_timeout_s < 0 ||
        o->idle_timeout_s < 0 || o->startup_timeout_s < 0 || o->retry_backoff_s < 0 ||
        o->max_retries < 0)
        return aieb_errf(err, AIEB_EINVAL, "backend: timeouts and retries must not be negative");
    return 0;
}

int aieb_openai_backend_open(const aieb_openai_opts *opts, aieb_backend **out, aieb_err *err)
{
    *out = NULL;
    int rc = check_options(opts, err);
    if (rc)
        return rc;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return aieb_errf(err, AIEB_EENV, "backend: libcurl failed to initialise");
    aieb_backend *b = calloc(1, sizeof *b);
    oa_ctx *c = calloc(1, sizeof *c);
    if (!b || !c) {
        free(b);
        free(c);
        curl_global_cleanup();
        return aieb_errf(err, AIEB_ENOMEM, "backend: out of memory");
    }
    b->ops = &oa_ops;
    b->ctx = c;
    c->o = *opts;
    c->o.endpoint = c->o.model = c->o.api = c->o.api_key_env = NULL;
    if (c->o.timeout_s <= 0)
        c->o.timeout_s = 300;
    if (c->o.first_byte_timeout_s <= 0)
        c->o.first_byte_timeout_s = c->o.timeout_s;
    if (c->o.idle_timeout_s <= 0)
        c->o.idle_timeout_s = c->o.timeout_s;
    c->chat = !opts->api || strcmp(opts->api, "chat") == 0;

    size_t n = strlen(opts->endpoint);
    while (n > 0 && opts->endpoint[n - 1] == '/')
        n--;
    c->endpoint = dup_n(opts->endpoint, n);
    size_t rn = n >= 3 && strncmp(opts->endpoint + n - 3, "/v1", 3) == 0 ? n - 3 : n;
    c->root = dup_n(opts->endpoint, rn);
    c->url = c->endpoint ? join(c->endpoint, c->chat ? "/chat/completions" : "/completions") : NULL;
    if (c->endpoint && c->url) {
        size_t cap = strlen(c->url) + 4;
        c->shown = malloc(cap);
        c->shown_url = malloc(cap);
        if (c->shown && c->shown_url) {
            aieb_url_redact(c->endpoint, c->shown, cap);
            aieb_url_redact(c->url, c->shown_url, cap);
        }
    }
    c->model = opts->model && *opts->model ? strdup(opts->model) : NULL;
    const char *env =
        opts->api_key_env && *opts->api_key_env ? opts->api_key_env : "OPENAI_API_KEY";
    c->api_key_env = strdup(env);
    const char *key = getenv(env);
    if (key && *key)
        c->api_key = strdup(key);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (h)
        h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    if (h && c->o.stream)
        h = curl_slist_append(h, "Accept: text/event-stream");
    if (h && c->api_key) {
        char *line = join("Authorization: Bearer ", c->api_key);
        struct curl_slist *h2 = line ? curl_slist_append(h, line) : NULL;
        wipe_free(line);
        if (!h2)
            curl_slist_free_all(h);
        h = h2;
    }
    c->headers = h;
    if (!c->endpoint || !c->root || !c->url || !c->shown || !c->shown_url || !c->api_key_env ||
        !c->headers || (opts->model && *opts->model && !c->model) || (key && *key && !c->api_key)) {
        oa_close(b);
        return aieb_errf(err, AIEB_ENOMEM, "backend: out of memory");
    }
    AIEB_DEBUG("openai backend: %s (%s), key from $%s: %s", c->shown_url,
               c->chat ? "chat" : "completions", c->api_key_env, c->api_key ? "set" : "not set");
    *out = b;
    return 0;
}
