/* hub_server.c - a stand-in for the Hugging Face dataset viewer on loopback.
 *
 * Serves GET /rows?dataset=D&config=C&split=S&offset=O&length=L and
 * GET /splits?dataset=D in the viewer's JSON shapes, from a JSONL file of row
 * objects. Prints "PORT <n>" on stdout once listening; runs until SIGTERM/SIGINT.
 *
 * Options:
 *   --port N           port on 127.0.0.1 (0 = any free one; default 0)
 *   --rows-file F      JSONL, one row object per line (required)
 *   --dataset D        the only dataset served (default: any)
 *   --splits LIST      config/split pairs served, comma-separated (default default/train)
 *   --token T          require "Authorization: Bearer T", else 401
 *   --fail-status N    answer every request with HTTP N and {"error": ...}
 *   --fail-first K     ... but only the first K requests (then serve normally)
 *   --delay-ms D       wait D ms before each answer
 *   --log-file P       append one line per request: "<url>?<query> auth=<header or ->"
 *   --truncate-cells C list column C in every row's truncated_cells
 *   --no-splits        answer /splits with 404, as servers without it do
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <jansson.h>
#include <microhttpd.h>

#define PAGE_MAX 100

typedef struct server {
    json_t *rows; /* array of row objects */
    const char *dataset;
    char *splits; /* "cfg/split,cfg/split" */
    const char *token;
    int fail_status;
    long fail_first; /* -1 = always */
    long delay_ms;
    const char *log_file;
    const char *truncate_col;
    bool no_splits;
    atomic_long hits;
} server;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    return reply(c, status, json_pack("{s:s}", "error", msg));
}

static void log_request(const server *s, const char *url, const char *query, const char *auth)
{
    if (!s->log_file)
        return;
    char line[2048];
    int n = snprintf(line, sizeof line, "%s?%s auth=%s\n", url, query, auth ? auth : "-");
    if (n < 0 || (size_t)n >= sizeof line)
        n = (int)sizeof line - 1;
    int fd = open(s->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ssize_t w = write(fd, line, (size_t)n);
        (void)w;
        close(fd);
    }
}

/* Collects "k=v&k=v" for the log. */
static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    (void)kind;
    char *q = cls;
    size_t n = strlen(q);
    snprintf(q + n, 1024 - n, "%s%s=%s", n ? "&" : "", key, value ? value : "");
    return MHD_YES;
}

static bool split_served(const server *s, const char *config, const char *split)
{
    char want[512];
    snprintf(want, sizeof want, "%s/%s", config, split);
    char *copy = strdup(s->splits), *save = NULL;
    bool ok = false;
    for (char *t = strtok_r(copy, ",", &save); t && !ok; t = strtok_r(NULL, ",", &save))
        ok = strcmp(t, want) == 0;
    free(copy);
    return ok;
}

static json_t *splits_body(const server *s, const char *dataset)
{
    json_t *list = json_array();
    char *copy = strdup(s->splits), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *slash = strchr(t, '/');
        if (!slash)
            continue;
        *slash = '\0';
        json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "dataset", dataset, "config", t,
                                              "split", slash + 1));
    }
    free(copy);
    return json_pack("{s:o, s:[], s:[]}", "splits", list, "pending", "failed");
}

static json_t *rows_body(const server *s, long offset, long length)
{
    json_t *features = json_array(), *page = json_array();
    const json_t *first = json_array_get(s->rows, 0);
    const char *key;
    json_t *v;
    long idx = 0;
    json_object_foreach((json_t *)first, key, v)
    {
        json_array_append_new(features, json_pack("{s:I, s:s, s:{s:s, s:s}}", "feature_idx",
                                                  (json_int_t)idx++, "name", key, "type", "dtype",
                                                  "string", "_type", "Value"));
    }
    long total = (long)json_array_size(s->rows);
    for (long i = offset; i < total && i < offset + length; i++) {
        json_t *cut = json_array();
        if (s->truncate_col)
            json_array_append_new(cut, json_string(s->truncate_col));
        json_array_append_new(page, json_pack("{s:I, s:O, s:o}", "row_idx", (json_int_t)i, "row",
                                              json_array_get(s->rows, (size_t)i), "truncated_cells",
                                              cut));
    }
    return json_pack("{s:o, s:o, s:I, s:I, s:b}", "features", features, "rows", page,
                     "num_rows_total", (json_int_t)total, "num_rows_per_page", (json_int_t)PAGE_MAX,
                     "partial", 0);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)con_cls;
    server *s = cls;
    long hit = atomic_fetch_add(&s->hits, 1) + 1;
    char query[1024] = "";
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, query);
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    log_request(s, url, query, auth);
    if (s->delay_ms > 0) {
        struct timespec ts = {s->delay_ms / 1000, (s->delay_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
    if (strcmp(method, "GET") != 0)
        return reply_error(c, 405, "only GET");
    if (s->fail_status && (s->fail_first < 0 || hit <= s->fail_first))
        return reply_error(c, (unsigned)s->fail_status, "scripted failure");
    if (s->token) {
        char want[1024];
        snprintf(want, sizeof want, "Bearer %s", s->token);
        if (!auth || strcmp(auth, want) != 0)
            return reply_error(c, 401,
                               "The dataset does not exist, or is not accessible "
                               "without authentication (private or gated).");
    }
    const char *dataset = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "dataset");
    if (!dataset)
        return reply_error(c, 422, "Parameter 'dataset' is required");
    if (s->dataset && strcmp(dataset, s->dataset) != 0)
        return reply_error(c, 404, "The dataset does not exist.");
    if (strcmp(url, "/splits") == 0 && !s->no_splits)
        return reply(c, 200, splits_body(s, dataset));
    if (strcmp(url, "/rows") != 0)
        return reply_error(c, 404, "Not Found");
    const char *config = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "config");
    const char *split = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "split");
    const char *off = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "offset");
    const char *len = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "length");
    if (!config || !split)
        return reply_error(c, 422, "Parameters 'config' and 'split' are required");
    if (!split_served(s, config, split))
        return reply_error(c, 404, "The config or the split does not exist in the dataset");
    long offset = off ? strtol(off, NULL, 10) : 0, length = len ? strtol(len, NULL, 10) : PAGE_MAX;
    if (offset < 0 || length < 0 || length > PAGE_MAX)
        return reply_error(c, 422, "Parameter 'length' must not be greater than 100");
    return reply(c, 200, rows_body(s, offset, length));
}

static json_t *load_rows(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "hub_server: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    json_t *rows = json_array();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (n <= 1)
            continue;
        json_error_t jerr;
        json_t *row = json_loadb(line, (size_t)n, 0, &jerr);
        if (!json_is_object(row)) {
            fprintf(stderr, "hub_server: %s: line %ld: not a JSON object\n", path, lineno);
            json_decref(row);
            json_decref(rows);
            rows = NULL;
            break;
        }
        json_array_append_new(rows, row);
    }
    free(line);
    fclose(f);
    return rows;
}

int main(int argc, char **argv)
{
    server s = {.fail_first = -1};
    const char *rows_file = NULL, *splits = "default/train";
    long port = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-splits")) {
            s.no_splits = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "hub_server: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--port"))
            port = strtol(v, NULL, 10);
        else if (!strcmp(a, "--rows-file"))
            rows_file = v;
        else if (!strcmp(a, "--dataset"))
            s.dataset = v;
        else if (!strcmp(a, "--splits"))
            splits = v;
        else if (!strcmp(a, "--token"))
            s.token = v;
        else if (!strcmp(a, "--fail-status"))
            s.fail_status = (int)strtol(v, NULL, 10);
        else if (!strcmp(a, "--fail-first"))
            s.fail_first = strtol(v, NULL, 10);
        else if (!strcmp(a, "--delay-ms"))
            s.delay_ms = strtol(v, NULL, 10);
        else if (!strcmp(a, "--log-file"))
            s.log_file = v;
        else if (!strcmp(a, "--truncate-cells"))
            s.truncate_col = v;
        else {
            fprintf(stderr, "hub_server: unknown option %s\n", a);
            return 2;
        }
    }
    if (!rows_file) {
        fprintf(stderr, "usage: hub_server --rows-file F [options]\n");
        return 2;
    }
    if (!(s.rows = load_rows(rows_file)))
        return 1;
    s.splits = strdup(splits);

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
        (uint16_t)port, NULL, NULL, handle, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "hub_server: cannot listen on 127.0.0.1:%ld\n", port);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    printf("PORT %u\n", info ? (unsigned)info->port : (unsigned)port);
    fflush(stdout);
    while (!stop_flag) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(d);
    json_decref(s.rows);
    free(s.splits);
    return 0;
}
