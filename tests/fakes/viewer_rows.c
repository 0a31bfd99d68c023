/* viewer_rows.c - the dataset viewer's /rows and /splits for the test server
 * (see viewer_rows.h for the options). Shapes as documented at
 * https://huggingface.co/docs/dataset-viewer/rows and .../splits. */
#include "viewer_rows.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/clock.h"

#define PAGE_MAX 100 /* the viewer's largest page ("length" at most 100) */

void viewer_init(viewer *v)
{
    memset(v, 0, sizeof *v);
    v->faults_first = -1;
    v->server_name = "aieb-openai-fake/1";
    atomic_init(&v->hits, 0);
}

/* A whole non-negative decimal number, or -1. */
static long parse_count(const char *val)
{
    char *end;
    errno = 0;
    long n = strtol(val, &end, 10);
    return *val && *end == '\0' && errno == 0 && n >= 0 ? n : -1;
}

int viewer_option(viewer *v, const char *key, const char *val)
{
    const struct {
        const char *key;
        const char **field;
    } strs[] = {
        {"rows-file", &v->rows_file}, {"rows-dataset", &v->dataset},    {"rows-config", &v->config},
        {"rows-split", &v->split},    {"rows-splits", &v->splits_list}, {"hf-token", &v->token},
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        if (strcmp(key, strs[i].key) == 0) {
            *strs[i].field = val;
            return 1;
        }
    }
    long n;
    if (strcmp(key, "rows-status") == 0) {
        n = parse_count(val);
        if (n < 100 || n > 599)
            return -1;
        v->fail_status = (int)n;
        return 1;
    }
    if (strcmp(key, "rows-faults-first") == 0) {
        if ((n = parse_count(val)) < 0)
            return -1;
        v->faults_first = n;
        return 1;
    }
    if (strcmp(key, "rows-delay-ms") == 0) {
        if ((n = parse_count(val)) < 0)
            return -1;
        v->delay_ms = n;
        return 1;
    }
    return 0;
}

static int load_rows(viewer *v)
{
    v->rows = json_array();
    if (!v->rows_file)
        return 0;
    FILE *f = fopen(v->rows_file, "r");
    if (!f) {
        fprintf(stderr, "openai_server: %s: %s\n", v->rows_file, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (n == 1 && line[0] == '\n')
            continue;
        json_error_t e;
        json_t *row = json_loadb(line, (size_t)n, 0, &e);
        if (!json_is_object(row)) {
            fprintf(stderr, "openai_server: %s:%d: not a JSON object%s%s\n", v->rows_file, lineno,
                    row ? "" : ": ", row ? "" : e.text);
            json_decref(row);
            rc = -1;
            continue;
        }
        json_array_append_new(v->rows, row);
    }
    free(line);
    fclose(f);
    return rc;
}

/* Splits "cfg/split,cfg/split" into v->cfg/v->spl (pointers into v->pairs_buf). */
static int parse_pairs(viewer *v)
{
    if (v->splits_list && (v->config || v->split)) {
        fprintf(stderr, "openai_server: --rows-splits replaces --rows-config/--rows-split\n");
        return -1;
    }
    if (!v->splits_list) {
        v->cfg[0] = v->config ? v->config : "default";
        v->spl[0] = v->split ? v->split : "train";
        v->n_pairs = 1;
        return 0;
    }
    v->pairs_buf = strdup(v->splits_list);
    if (!v->pairs_buf)
        return -1;
    char *save = NULL;
    for (char *t = strtok_r(v->pairs_buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *slash = strchr(t, '/');
        if (!slash || slash == t || !slash[1] || v->n_pairs == VIEWER_MAX_SPLITS) {
            fprintf(stderr,
                    "openai_server: --rows-splits: '%s' is not config/split (or more than %d)\n", t,
                    VIEWER_MAX_SPLITS);
            return -1;
        }
        *slash = '\0';
        v->cfg[v->n_pairs] = t;
        v->spl[v->n_pairs++] = slash + 1;
    }
    if (v->n_pairs == 0) {
        fprintf(stderr, "openai_server: --rows-splits: empty list\n");
        return -1;
    }
    return 0;
}

int viewer_start(viewer *v)
{
    if (parse_pairs(v) != 0)
        return -1;
    return load_rows(v);
}

void viewer_free(viewer *v)
{
    json_decref(v->rows);
    v->rows = NULL;
    free(v->pairs_buf);
    v->pairs_buf = NULL;
    v->n_pairs = 0;
}

/* ==== Answers ================================================================ */

/* Responds with a JSON value (stolen). */
static enum MHD_Result reply(struct MHD_Connection *c, const viewer *v, unsigned status,
                             json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Server", v->server_name);
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

/* The viewer's error shape: {"error": "..."}. */
static enum MHD_Result reply_error(struct MHD_Connection *c, const viewer *v, unsigned status,
                                   const char *msg)
{
    return reply(c, v, status, json_pack("{s:s}", "error", msg));
}

static const char *arg(struct MHD_Connection *c, const char *key)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

static int pair_served(const viewer *v, const char *config, const char *split)
{
    for (size_t i = 0; i < v->n_pairs; i++)
        if (strcmp(v->cfg[i], config) == 0 && strcmp(v->spl[i], split) == 0)
            return 1;
    return 0;
}

static json_t *splits_body(const viewer *v, const char *dataset)
{
    json_t *list = json_array();
    for (size_t i = 0; i < v->n_pairs; i++)
        json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "dataset", dataset, "config",
                                              v->cfg[i], "split", v->spl[i]));
    return json_pack("{s:o, s:[], s:[]}", "splits", list, "pending", "failed");
}

/* One page: features from the first row's columns, rows [offset, offset+length). */
static json_t *rows_body(const viewer *v, size_t offset, size_t length)
{
    json_t *features = json_array(), *page = json_array();
    const char *key;
    json_t *val;
    int idx = 0;
    json_object_foreach(json_array_get(v->rows, 0), key, val)
    {
        json_array_append_new(features, json_pack("{s:i, s:s, s:{s:s, s:s}}", "feature_idx", idx++,
                                                  "name", key, "type", "dtype",
                                                  json_is_string(val) ? "string" : "int64", "_type",
                                                  "Value"));
    }
    size_t total = json_array_size(v->rows);
    for (size_t i = offset; i < total && i - offset < length; i++)
        json_array_append_new(page, json_pack("{s:I, s:O, s:[]}", "row_idx", (json_int_t)i, "row",
                                              json_array_get(v->rows, i), "truncated_cells"));
    return json_pack("{s:o, s:o, s:I, s:i, s:b}", "features", features, "rows", page,
                     "num_rows_total", (json_int_t)total, "num_rows_per_page", PAGE_MAX, "partial",
                     0);
}

enum MHD_Result viewer_handle(viewer *v, struct MHD_Connection *c, const char *url)
{
    long hit = atomic_fetch_add(&v->hits, 1) + 1;
    if (v->delay_ms > 0)
        aieb_sleep_ns((int64_t)v->delay_ms * AIEB_NS_PER_MS, NULL);
    if (v->fail_status && (v->faults_first < 0 || hit <= v->faults_first)) {
        char msg[96];
        snprintf(msg, sizeof msg, "scripted failure (HTTP %d from the test server)",
                 v->fail_status);
        return reply_error(c, v, (unsigned)v->fail_status, msg);
    }
    int rows = strcmp(url, "/rows") == 0;
    if (!rows && v->no_splits)
        return reply_error(c, v, 404, "Not Found");
    if (v->token) {
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        char want[512];
        snprintf(want, sizeof want, "Bearer %s", v->token);
        if (!auth || strcmp(auth, want) != 0)
            return reply_error(c, v, 401,
                               "The dataset does not exist, or is not accessible without "
                               "authentication (private or gated).");
    }
    const char *dataset = arg(c, "dataset");
    if (!dataset || !*dataset)
        return reply_error(c, v, 422, "Parameter 'dataset' is required");
    if (v->dataset && strcmp(dataset, v->dataset) != 0)
        return reply_error(c, v, 404, "The dataset does not exist on the Hub.");
    if (!rows)
        return reply(c, v, 200, splits_body(v, dataset));
    const char *config = arg(c, "config"), *split = arg(c, "split");
    if (!config || !split)
        return reply_error(c, v, 422, "Parameters 'config' and 'split' are required");
    if (!pair_served(v, config, split))
        return reply_error(c, v, 404, "The config or the split does not exist in the dataset");
    const char *off_s = arg(c, "offset"), *len_s = arg(c, "length");
    long offset = off_s ? parse_count(off_s) : 0;
    long length = len_s ? parse_count(len_s) : PAGE_MAX;
    if (offset < 0 || length < 0 || length > PAGE_MAX)
        return reply_error(c, v, 422, "Parameter 'offset' must be >= 0 and 'length' in [0, 100]");
    return reply(c, v, 200, rows_body(v, (size_t)offset, (size_t)length));
}
