/* hub.c - Hugging Face datasets through the dataset viewer API, with a disk cache.
 *
 * GET <endpoint>/rows?dataset=D&config=C&split=S&offset=O&length=100 answers
 *   {"features": [{"name": ...}, ...], "rows": [{"row_idx": i, "row": {...},
 *    "truncated_cells": [...]}, ...], "num_rows_total": N, ...}
 * and GET <endpoint>/splits?dataset=D answers {"splits": [{"config", "split"}, ...]}
 * (https://huggingface.co/docs/dataset-viewer). Pages are fetched until the split
 * ends or num_samples non-empty prompts are in; the rows (all columns) are then
 * cached, and a cache that covers the request is used without the network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "aieb/buf.h"
#include "aieb/clock.h"
#include "aieb/log.h"
#include "dataset/cache.h"
#include "dataset/internal.h"

#define CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_TIMEOUT_S  60.0
#define DEFAULT_BACKOFF_MS 500u

typedef struct hub {
    const char *dataset;
    const char *split;
    const char *text_column;
    size_t num_samples;
    size_t max_rows;
    char *config;   /* resolved */
    char *endpoint; /* no trailing '/' */
    const char *token;
    bool offline;
    long timeout_ms;
    int retries;
    unsigned backoff_ms;
    char *cache_dir; /* NULL when there is none */
    CURL *curl;
    struct curl_slist *headers;
    aieb_buf body;
} hub;

/* ==== Settings =============================================================== */

static bool env_true(const char *name)
{
    const char *v = getenv(name);
    return v && (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
                 !strcasecmp(v, "on"));
}

static int hub_init(hub *h, const char *name, const aieb_dataset_options *o, const ds_opts *opts,
                    aieb_err *err)
{
    memset(h, 0, sizeof *h);
    h->dataset = name;
    h->split = opts->split;
    h->text_column = opts->text_column;
    h->num_samples = opts->num_samples;
    h->max_rows = opts->max_rows;
    h->offline = (o && o->offline) || env_true("HF_HUB_OFFLINE") || env_true("HF_DATASETS_OFFLINE");
    double t = o && o->hf_timeout_s > 0 ? o->hf_timeout_s : DEFAULT_TIMEOUT_S;
    h->timeout_ms = (long)(t * 1000.0);
    h->retries = o && o->hf_retries > 0 ? o->hf_retries : 0;
    h->backoff_ms = o && o->hf_backoff_ms ? o->hf_backoff_ms : DEFAULT_BACKOFF_MS;
    aieb_buf_init(&h->body, AIEB_DATASET_MAX_PAGE_BYTES);

    const char *ep =
        o && o->hf_endpoint && *o->hf_endpoint ? o->hf_endpoint : getenv("HF_ENDPOINT");
    /* HF_ENDPOINT usually names the hub itself; its viewer lives on another host. */
    if (!ep || !*ep || !strcmp(ep, "https://huggingface.co") ||
        !strcmp(ep, "https://huggingface.co/"))
        ep = AIEB_DATASET_HF_DEFAULT_URL;
    h->endpoint = strdup(ep);
    if (!h->endpoint)
        return aieb_errf(err, AIEB_ENOMEM, "hub: out of memory");
    size_t n = strlen(h->endpoint);
    while (n > 0 && h->endpoint[n - 1] == '/')
        h->endpoint[--n] = '\0';

    const char *tok = o && o->hf_token ? o->hf_token : getenv("HF_TOKEN");
    h->token = tok && *tok ? tok : NULL;
    if (h->token && strpbrk(h->token, "\r\n"))
        return aieb_errf(err, AIEB_EINVAL, "hub: the HF token contains a line break");
    if (o && o->config && *o->config && !(h->config = strdup(o->config)))
        return aieb_errf(err, AIEB_ENOMEM, "hub: out of memory");

    aieb_err cerr = {0};
    if (aieb_dataset_cache_dir(o, &h->cache_dir, &cerr))
        AIEB_WARN("hub: %s; rows will not be cached", cerr.msg);
    return 0;
}

static void hub_free(hub *h)
{
    if (h->curl)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    aieb_buf_free(&h->body);
    free(h->config);
    free(h->endpoint);
    free(h->cache_dir);
}

/* ==== HTTP =================================================================== */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    aieb_buf *b = ud;
    return aieb_buf_append(b, p, size * n) == 0 ? size * n : 0;
}

static int http_setup(hub *h, aieb_err *err)
{
    if (h->curl)
        return 0;
    h->curl = curl_easy_init();
    if (!h->curl)
        return aieb_errf(err, AIEB_ENOMEM, "hub: cannot start libcurl");
    if (h->token) {
        char *auth = NULL;
        if (asprintf(&auth, "Authorization: Bearer %s", h->token) < 0)
            return aieb_errf(err, AIEB_ENOMEM, "hub: out of memory");
        struct curl_slist *l = curl_slist_append(h->headers, auth);
        free(auth);
        if (!l)
            return aieb_errf(err, AIEB_ENOMEM, "hub: out of memory");
        h->headers = l;
    }
    struct curl_slist *l = curl_slist_append(h->headers, "Accept: application/json");
    if (!l)
        return aieb_errf(err, AIEB_ENOMEM, "hub: out of memory");
    h->headers = l;
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "aieb/" AIEB_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &h->body);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     h->timeout_ms < CONNECT_TIMEOUT_MS ? h->timeout_ms : CONNECT_TIMEOUT_MS);
    return 0;
}

/* The "error" text of a viewer error body, cut short, or "" when there is none. */
static void error_text(const aieb_buf *body, char *out, size_t cap)
{
    out[0] = '\0';
    if (!body->data)
        return;
    json_t *j = json_loadb(body->data, body->len, 0, NULL);
    const char *e = json_string_value(json_object_get(j, "error"));
    if (e)
        snprintf(out, cap, ": %s", e);
    json_decref(j);
}

/* One GET, retried (with doubling backoff) after transport errors, 429 and 5xx.
 * Returns 0 with *out parsed from a 200 answer; otherwise an error, with
 * *transient telling whether the cause may go away (the server down or failing)
 * as opposed to a definitive answer (no such dataset, access refused). */
static int get_json(hub *h, const char *url, json_t **out, bool *transient, aieb_err *err)
{
    *out = NULL;
    *transient = false;
    int rc = http_setup(h, err);
    if (rc)
        return rc;
    for (int attempt = 0;; attempt++) {
        aieb_buf_reset(&h->body);
        curl_easy_setopt(h->curl, CURLOPT_URL, url);
        CURLcode cc = curl_easy_perform(h->curl);
        long status = 0;
        curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
        char detail[300];
        if (cc == CURLE_WRITE_ERROR && h->body.len + CURL_MAX_WRITE_SIZE > h->body.max_len)
            return aieb_errf(err, AIEB_ETOOBIG, "hub: %s: answer larger than the %u-byte limit",
                             url, AIEB_DATASET_MAX_PAGE_BYTES);
        if (cc != CURLE_OK) {
            *transient = true;
            rc = aieb_errf(err, cc == CURLE_OPERATION_TIMEDOUT ? AIEB_ETIMEOUT : AIEB_EENV,
                           "hub: cannot fetch %s: %s", url, curl_easy_strerror(cc));
        } else if (status == 200) {
            json_error_t jerr;
            *out = json_loadb(h->body.data ? h->body.data : "", h->body.len, 0, &jerr);
            if (*out && json_is_object(*out))
                return 0;
            json_decref(*out);
            *out = NULL;
            return aieb_errf(err, AIEB_EINVAL, "hub: %s: the answer is not a JSON object (%s)", url,
                             jerr.text);
        } else if (status == 401 || status == 403) {
            error_text(&h->body, detail, sizeof detail);
            return aieb_errf(err, AIEB_EENV, "hub: %s answered HTTP %ld for dataset %s%s; %s",
                             h->endpoint, status, h->dataset, detail,
                             h->token ? "the token in HF_TOKEN was refused"
                                      : "it may be gated or private: set HF_TOKEN");
        } else if (status == 404) {
            error_text(&h->body, detail, sizeof detail);
            return aieb_errf(err, AIEB_ENOTFOUND,
                             "hub: dataset %s (config %s, split %s) not found at %s%s", h->dataset,
                             h->config ? h->config : "?", h->split, h->endpoint, detail);
        } else {
            error_text(&h->body, detail, sizeof detail);
            *transient = status == 429 || status >= 500;
            rc = aieb_errf(err, *transient ? AIEB_EENV : AIEB_EINVAL, "hub: %s answered HTTP %ld%s",
                           url, status, detail);
        }
        if (!*transient || attempt >= h->retries)
            return rc;
        int64_t wait_ns = (int64_t)h->backoff_ms * AIEB_NS_PER_MS << (attempt < 10 ? attempt : 10);
        AIEB_INFO("%s; retrying in %.1f s", err->msg, aieb_ns_to_s(wait_ns));
        aieb_sleep_ns(wait_ns, NULL);
    }
}

static char *escape(hub *h, const char *s)
{
    return curl_easy_escape(h->curl, s, 0);
}

/* ==== Splits ================================================================= */

/* Picks the config that has the wanted split ("default" first) via /splits; when
 * the server has no /splits (404), "default". */
static int resolve_config(hub *h, bool *transient, aieb_err *err)
{
    int rc = http_setup(h, err);
    if (rc)
        return rc;
    char *ds = escape(h, h->dataset), *url = NULL;
    if (!ds || asprintf(&url, "%s/splits?dataset=%s", h->endpoint, ds) < 0)
        url = NULL;
    curl_free(ds);
    if (!url)
        return aieb_errf(err, AIEB_ENOMEM, "hub: out of memory");
    json_t *doc = NULL;
    rc = get_json(h, url, &doc, transient, err);
    free(url);
    if (rc == AIEB_ENOTFOUND) {
        /* No /splits here (a minimal mirror or test server): try the usual name; /rows
         * will say if the dataset itself is missing. */
        AIEB_DEBUG("hub: %s; trying config 'default'", err->msg);
        aieb_err_clear(err);
        h->config = strdup("default");
        return h->config ? 0 : aieb_errf(err, AIEB_ENOMEM, "hub: out of memory");
    }
    if (rc)
        return rc;
    const json_t *splits = json_object_get(doc, "splits");
    const char *pick = NULL;
    aieb_buf seen;
    aieb_buf_init(&seen, 2048);
    for (size_t i = 0; i < json_array_size(splits); i++) {
        const json_t *s = json_array_get(splits, i);
        const char *cfg = json_string_value(json_object_get(s, "config"));
        const char *sp = json_string_value(json_object_get(s, "split"));
        if (!cfg || !sp)
            continue;
        aieb_buf_printf(&seen, "%s%s/%s", seen.len ? ", " : "", cfg, sp);
        if (strcmp(sp, h->split) == 0 && (!pick || strcmp(cfg, "default") == 0))
            pick = cfg;
    }
    if (pick && !(h->config = strdup(pick)))
        rc = aieb_errf(err, AIEB_ENOMEM, "hub: out of memory");
    else if (!pick)
        rc = aieb_errf(err, AIEB_ENOTFOUND, "hub: dataset %s has no split '%s' (config/split: %s)",
                       h->dataset, h->split, seen.data ? seen.data : "none");
    aieb_buf_free(&seen);
    json_decref(doc);
    return rc;
}

/* ==== Rows =================================================================== */

static bool text_present(const json_t *row, const char *col)
{
    const char *s = json_string_value(json_object_get(row, col));
    if (!s)
        return false;
    return s[strspn(s, " \t\r\n\v\f")] != '\0';
}

static size_t count_present(const json_t *rows, const char *col)
{
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(rows); i++)
        n += text_present(json_array_get(rows, i), col);
    return n;
}

/* Checks the first page's features for the text column. */
static int check_features(hub *h, const json_t *page, json_t *names, aieb_err *err)
{
    const json_t *features = json_object_get(page, "features");
    bool found = !json_is_array(features) || json_array_size(features) == 0;
    aieb_buf list;
    aieb_buf_init(&list, 2048);
    for (size_t i = 0; i < json_array_size(features); i++) {
        const char *name = json_string_value(json_object_get(json_array_get(features, i), "name"));
        if (!name)
            continue;
        json_array_append_new(names, json_string(name));
        aieb_buf_printf(&list, "%s%s", list.len ? ", " : "", name);
        found |= strcmp(name, h->text_column) == 0;
    }
    int rc = 0;
    if (!found)
        rc = aieb_errf(err, AIEB_EINVAL,
                       "hub: dataset %s (config %s, split %s) has no column '%s' (columns: %s); "
                       "set the text column name",
                       h->dataset, h->config, h->split, h->text_column,
                       list.data ? list.data : "none");
    aieb_buf_free(&list);
    return rc;
}

/* Fetches pages into a new cache document. */
static int fetch_rows(hub *h, json_t **doc_out, bool *transient, aieb_err *err)
{
    *doc_out = NULL;
    char *ds = escape(h, h->dataset), *cfg = escape(h, h->config), *sp = escape(h, h->split);
    json_t *rows = json_array(), *names = json_array();
    int rc =
        ds && cfg && sp && rows && names ? 0 : aieb_errf(err, AIEB_ENOMEM, "hub: out of memory");
    size_t total = 0, offset = 0, cut_cells = 0;
    bool first = true;
    while (!rc && (first || offset < total)) {
        if (offset >= h->max_rows) {
            rc = aieb_errf(err, AIEB_ETOOBIG,
                           "hub: dataset %s has more than %zu rows (the row "
                           "limit); set num_samples",
                           h->dataset, h->max_rows);
            break;
        }
        char *url = NULL;
        if (asprintf(&url, "%s/rows?dataset=%s&config=%s&split=%s&offset=%zu&length=%u",
                     h->endpoint, ds, cfg, sp, offset, AIEB_DATASET_HF_PAGE_ROWS) < 0) {
            rc = aieb_errf(err, AIEB_ENOMEM, "hub: out of memory");
            break;
        }
        json_t *page = NULL;
        rc = get_json(h, url, &page, transient, err);
        const json_t *prow = json_object_get(page, "rows");
        const json_t *ntot = json_object_get(page, "num_rows_total");
        if (!rc && (!json_is_array(prow) || !json_is_integer(ntot) || json_integer_value(ntot) < 0))
            rc = aieb_errf(err, AIEB_EINVAL,
                           "hub: %s: the answer has no \"rows\" list or \"num_rows_total\"", url);
        free(url);
        if (!rc && first) {
            total = (size_t)json_integer_value(ntot);
            rc = check_features(h, page, names, err);
            first = false;
        }
        size_t n = json_array_size(prow);
        for (size_t i = 0; !rc && i < n; i++) {
            const json_t *r = json_array_get(prow, i);
            json_t *row = json_object_get(r, "row");
            if (!json_is_object(row)) {
                rc = aieb_errf(err, AIEB_EINVAL, "hub: row %zu of %s has no \"row\" object",
                               offset + i, h->dataset);
                break;
            }
            const json_t *cut = json_object_get(r, "truncated_cells");
            for (size_t k = 0; k < json_array_size(cut); k++) {
                const char *name = json_string_value(json_array_get(cut, k));
                cut_cells += name && strcmp(name, h->text_column) == 0;
            }
            json_array_append(rows, row);
        }
        json_decref(page);
        if (rc || n == 0)
            break;
        offset += n;
        if (h->num_samples && count_present(rows, h->text_column) >= h->num_samples)
            break;
    }
    curl_free(ds);
    curl_free(cfg);
    curl_free(sp);
    if (!rc && cut_cells)
        AIEB_WARN("hub: %s: the dataset viewer truncated the '%s' cell of %zu rows", h->dataset,
                  h->text_column, cut_cells);
    if (rc) {
        json_decref(rows);
        json_decref(names);
        return rc;
    }
    char when[32];
    aieb_format_utc(aieb_wall_ns(), 0, when);
    *doc_out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:o}", "format", DS_CACHE_FORMAT,
                         "dataset", h->dataset, "config", h->config, "split", h->split, "endpoint",
                         h->endpoint, "fetched_at", when, "num_rows_total", (json_int_t)total,
                         "features", names, "rows", rows);
    return *doc_out ? 0 : aieb_errf(err, AIEB_ENOMEM, "hub: out of memory");
}

/* True when the cached rows answer the request: all rows, or enough prompts. */
static bool cache_covers(const hub *h, const json_t *doc)
{
    const json_t *rows = json_object_get(doc, "rows");
    json_int_t total = json_integer_value(json_object_get(doc, "num_rows_total"));
    if ((json_int_t)json_array_size(rows) >= total)
        return true;
    return h->num_samples && count_present(rows, h->text_column) >= h->num_samples;
}

static int collect_rows(hub *h, const json_t *doc, const ds_opts *opts, aieb_dataset *out,
                        aieb_err *err)
{
    if (asprintf(&out->source, "hf:%s (config %s, split %s)", h->dataset, h->config, h->split) <
        0) {
        out->source = NULL;
        return aieb_errf(err, AIEB_ENOMEM, "hub: out of memory");
    }
    ds_collect c;
    ds_collect_init(&c, opts, out->source, out);
    const json_t *rows = json_object_get(doc, "rows");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < json_array_size(rows); i++) {
        char where[48];
        snprintf(where, sizeof where, "row %zu", i);
        rc = ds_add_json_row(&c, json_array_get(rows, i), false, i, where, err);
    }
    if (rc < 0)
        return rc;
    return ds_collect_finish(&c, err);
}

/* ==== Loading ================================================================ */

/* Adds "; and no cached copy ..." to a transient failure's message. */
static int no_cache(aieb_err *e, int rc, const char *what, const char *where)
{
    char inner[AIEB_ERR_MSG_MAX];
    snprintf(inner, sizeof inner, "%s", e->msg);
    return aieb_errf(e, rc,
                     "%s; and no cached copy of %s at %s (run once with network access "
                     "to fill it)",
                     inner, what, where ? where : "(no cache directory)");
}

int ds_load_hub(const char *name, const aieb_dataset_options *o, const ds_opts *opts,
                aieb_dataset *out, aieb_err *err_out)
{
    memset(out, 0, sizeof *out);
    if (!ds_is_hub_name(name))
        return aieb_errf(err_out, AIEB_EINVAL, "hub: '%s' is not a dataset name like org/name",
                         name);
    aieb_err e = {0}, *err = &e;
    hub h;
    int rc = hub_init(&h, name, o, opts, err);
    bool transient = false;
    if (!rc && !h.config && h.cache_dir)
        h.config = ds_cache_find_config(h.cache_dir, name, h.split);
    if (!rc && !h.config) {
        if (h.offline)
            rc = aieb_errf(err, AIEB_EENV,
                           "hub: offline, and no cached copy of %s (split %s) under %s", name,
                           h.split, h.cache_dir ? h.cache_dir : "(no cache directory)");
        else if ((rc = resolve_config(&h, &transient, err)) != 0 && transient)
            no_cache(err, rc, name, h.cache_dir);
    }
    char *path = NULL;
    json_t *doc = NULL;
    if (!rc && h.cache_dir) {
        rc = ds_cache_path(h.cache_dir, name, h.config, h.split, &path, err);
        aieb_err cerr = {0};
        int crc = rc ? 0 : ds_cache_read(path, name, h.config, h.split, &doc, &cerr);
        if (crc && crc != AIEB_ENOTFOUND)
            AIEB_WARN("hub: ignoring the cache: %s", cerr.msg);
    }
    bool from_cache = doc && cache_covers(&h, doc);
    if (!rc && !from_cache && h.offline) {
        if (doc)
            AIEB_WARN("hub: offline; the cache at %s holds only part of %s", path, name);
        else
            rc = aieb_errf(err, AIEB_EENV, "hub: offline, and no cached copy of %s at %s", name,
                           path ? path : "(no cache directory)");
        from_cache = true;
    }
    if (!rc && !from_cache) {
        json_t *fresh = NULL;
        rc = fetch_rows(&h, &fresh, &transient, err);
        if (!rc) {
            aieb_err werr = {0};
            if (path && ds_cache_write(path, fresh, &werr))
                AIEB_WARN("hub: rows not cached: %s", werr.msg);
            json_decref(doc);
            doc = fresh;
        } else if (transient && doc) {
            AIEB_WARN("%s; using the %zu rows cached at %s", e.msg,
                      json_array_size(json_object_get(doc, "rows")), path);
            aieb_err_clear(err);
            rc = 0;
            from_cache = true;
        } else if (transient) {
            no_cache(err, rc, name, path);
        }
    }
    if (!rc)
        rc = collect_rows(&h, doc, opts, out, err);
    json_decref(doc);
    if (!rc) {
        out->from_cache = from_cache;
        out->cache_path = path;
        path = NULL;
    } else {
        aieb_dataset_free(out);
        aieb_errf(err_out, rc, "%s", e.msg);
    }
    free(path);
    hub_free(&h);
    return rc;
}
