/* openai_server.c - a scripted OpenAI-compatible HTTP server for tests.
 *
 * Serves, on 127.0.0.1 only:
 *   GET  /health                 200; 503 while "loading"; 404 with --no-health (as Ollama)
 *   GET  /v1/models              the --models list (503 while loading)
 *   POST /v1/chat/completions    streamed (SSE) or whole, scripted below
 *   POST /v1/completions         the same in the completions shape
 *   GET  /rows, /splits          the Hugging Face dataset viewer's shapes, from --rows-file
 *                                (viewer_rows.c; its options are listed in viewer_rows.h)
 *
 * Usage: openai_server [--port N] [--log FILE] [server options] [behaviour options]
 *   --port N            0 (default) picks a free port; the first stdout line is "PORT <n>"
 *   --log FILE          appends one JSON line per request: method, path, query,
 *                       authorization (the header as received), body (parsed JSON)
 *   --models a,b        model ids listed and accepted (default test-model); other
 *                       models get 404 in vLLM's error shape
 *   --api-key K         /v1/... answers 401 unless "Authorization: Bearer K" (the 401
 *                       message echoes what was sent, as OpenAI's does, partly)
 *   --health-503-s S    /health and /v1/models answer 503 for the first S seconds
 *   --no-health         /health answers 404 (Ollama has none)
 *   --server NAME       the Server header (default aieb-openai-fake/1)
 *   --rows-file F       JSONL, one row object per line, for /rows
 *   --rows-dataset D    only this dataset name exists (404 otherwise)
 *   --rows-config C, --rows-split S   the one config and split (default, train)
 *   --rows-splits LIST  several config/split pairs instead ("default/train,other/test")
 *   --hf-token T        /rows and /splits answer 401 unless "Authorization: Bearer T"
 *   --rows-status N, --rows-faults-first K, --rows-delay-ms D, --no-splits
 *                       /rows and /splits fail with HTTP N (only the first K of
 *                       them), answer after D ms, or /splits is 404
 *
 * Behaviour options (defaults for every completion request; each can be
 * overridden per request with a header "X-Fake: key=value ..." or by putting
 * "[[fake key=value ...]]" in the prompt; keys are the option names without --):
 *   --tokens N            content tokens (default: the request's max_tokens, else 16)
 *   --reasoning N         reasoning deltas before the content (default 0)
 *   --reasoning-field F   reasoning_content (default) or reasoning
 *   --first-token-ms MS   delay from the response headers to the first token
 *   --token-ms MS         delay between tokens
 *   --pause-after N       before token N (0-based) wait --pause-ms MS more: a stall
 *   --pause-ms MS         whose place in the stream is exact however late tokens go
 *   --first-byte-ms MS    delay before the response headers are sent
 *   --usage own|last|none usage in its own chunk (default), on the last content
 *                         chunk, or never (only when stream_options.include_usage)
 *   --status CODE         answer with this HTTP error status (e.g. 500, 429)
 *   --error-shape S       openai: {"error":{"message":..}} (default); object:
 *                         {"object":"error","message":..} (vLLM, SGLang)
 *   --error-after N       a mid-stream {"error":..} chunk after N tokens
 *   --disconnect-after N  close the connection after N tokens (no [DONE])
 *   --garbage-after N     a non-JSON data line after N tokens
 *   --huge-line BYTES     one data line of about BYTES bytes after the first token
 *   --no-done 1           end the stream without [DONE]
 *   --drop 1              close the connection without any reply
 *   --crlf 1, --no-space 1, --comments 1   CRLF line ends, "data:" without the
 *                         space, ": ping" comment lines between events
 *   --coalesce 1          events already due go out in one write (by default every
 *                         event is written on its own, even with zero delays)
 *   --faults-first N      status/drop/disconnect/error/garbage/huge-line/first-byte
 *                         apply only to the first N completion requests
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "aieb/buf.h"
#include "aieb/clock.h"
#include "openai_behaviour.h"
#include "viewer_rows.h"

#define MAX_BODY       (16u << 20)
#define DEFAULT_TOKENS 16

/* ==== Configuration ======================================================== */

typedef struct server {
    behaviour defaults;
    const char *log_path;
    pthread_mutex_t log_lock;
    FILE *log;
    char **models;
    size_t n_models;
    const char *api_key;
    double health_503_s;
    int no_health;
    const char *server_name;
    viewer viewer; /* /rows and /splits */
    int64_t start_ns;
    atomic_long n_completions;
    atomic_long n_ids;
} server;

/* ==== Small helpers ======================================================== */

static void sleep_ms(long ms)
{
    if (ms > 0)
        aieb_sleep_ns(ms * AIEB_NS_PER_MS, NULL);
}

static void sleep_until(int64_t t_ns)
{
    int64_t left = t_ns - aieb_now_ns();
    if (left > 0)
        aieb_sleep_ns(left, NULL);
}

static enum MHD_Result respond(struct MHD_Connection *c, server *s, unsigned status,
                               const char *type, const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Server", s->server_name);
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

/* Responds with a JSON value (stolen). */
static enum MHD_Result respond_json(struct MHD_Connection *c, server *s, unsigned status, json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    if (!text)
        return MHD_NO;
    enum MHD_Result ok = respond(c, s, status, "application/json", text);
    free(text);
    return ok;
}

static json_t *error_body(int object_shape, int status, const char *msg)
{
    const char *type = status == 429   ? "RateLimitError"
                       : status == 401 ? "AuthenticationError"
                       : status == 404 ? "NotFoundError"
                       : status < 500  ? "BadRequestError"
                                       : "InternalServerError";
    if (object_shape)
        return json_pack("{s:s, s:s, s:s, s:n, s:i}", "object", "error", "message", msg, "type",
                         type, "param", "code", status);
    return json_pack("{s:{s:s, s:s, s:n, s:i}}", "error", "message", msg, "type", type, "param",
                     "code", status);
}

static void log_request(server *s, const char *method, const char *url, const char *query,
                        const char *auth, const aieb_buf *body)
{
    if (!s->log)
        return;
    json_t *b = json_null();
    if (body && body->len) {
        b = json_loadb(body->data, body->len, 0, NULL);
        if (!b)
            b = json_stringn_nocheck(body->data, body->len);
    }
    json_t *line =
        json_pack("{s:s, s:s, s:s?, s:s?, s:o, s:I}", "method", method, "path", url, "query", query,
                  "authorization", auth, "body", b, "t_ns", (json_int_t)aieb_now_ns());
    char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
    json_decref(line);
    if (!text)
        return;
    pthread_mutex_lock(&s->log_lock);
    fprintf(s->log, "%s\n", text);
    fflush(s->log);
    pthread_mutex_unlock(&s->log_lock);
    free(text);
}

static int loading(server *s)
{
    return s->health_503_s > 0 && (double)(aieb_now_ns() - s->start_ns) / 1e9 < s->health_503_s;
}

static int model_known(server *s, const char *m)
{
    for (size_t i = 0; i < s->n_models; i++)
        if (strcmp(s->models[i], m) == 0)
            return 1;
    return 0;
}

/* Whitespace-separated words in every string inside v (a crude prompt token count). */
static long count_words(json_t *v)
{
    long n = 0;
    if (json_is_string(v)) {
        int in_word = 0;
        for (const char *p = json_string_value(v); *p; p++) {
            int ws = *p == ' ' || *p == '\n' || *p == '\t' || *p == '\r';
            if (!ws && !in_word)
                n++;
            in_word = !ws;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) n += count_words(e);
    } else if (json_is_object(v)) {
        n += count_words(json_object_get(v, "content"));
    }
    return n;
}

/* ==== Streaming completions ================================================ */

typedef struct stream {
    server *srv;
    behaviour b;
    int chat;
    int include_usage;
    char *model_json; /* the model id as a JSON string literal */
    long id;
    long created;
    long prompt_tokens;
    int total; /* reasoning + content tokens */
    int next;  /* index of the next token */
    int phase; /* 0 role chunk, 1 tokens, 2 usage, 3 [DONE], 4 end */
    int64_t t0_ns;
    aieb_buf out;
    size_t off;
} stream;

static const char *eol(const stream *st)
{
    return st->b.crlf ? "\r\n\r\n" : "\n\n";
}

static const char *data_prefix(const stream *st)
{
    return st->b.no_space ? "data:" : "data: ";
}

/* When token i is due: the scripted delays from the start of the stream. */
static int64_t token_due_ns(const stream *st, int i)
{
    const behaviour *b = &st->b;
    int64_t ms = (int64_t)b->first_token_ms + (int64_t)i * b->token_ms;
    if (b->pause_after >= 0 && i >= b->pause_after)
        ms += b->pause_ms;
    return st->t0_ns + ms * AIEB_NS_PER_MS;
}

static void put_usage(stream *st)
{
    aieb_buf_printf(&st->out,
                    "\"usage\":{\"prompt_tokens\":%ld,\"completion_tokens\":%d,"
                    "\"total_tokens\":%ld,\"completion_tokens_details\":{\"reasoning_tokens\":%d}}",
                    st->prompt_tokens, st->total, st->prompt_tokens + st->total, st->b.reasoning);
}

static void put_head(stream *st)
{
    aieb_buf_printf(
        &st->out, "%s{\"id\":\"%s-%ld\",\"object\":\"%s\",\"created\":%ld,\"model\":%s,",
        data_prefix(st), st->chat ? "chatcmpl" : "cmpl", st->id,
        st->chat ? "chat.completion.chunk" : "text_completion", st->created, st->model_json);
}

/* The chunk carrying token i (reasoning first, then content). */
static void put_token(stream *st, int i)
{
    int last = i == st->total - 1;
    int reasoning = i < st->b.reasoning;
    put_head(st);
    const char *finish = last ? "\"length\"" : "null";
    if (!st->chat) {
        aieb_buf_printf(&st->out,
                        "\"choices\":[{\"index\":0,\"text\":\" t%d\",\"logprobs\":null,"
                        "\"finish_reason\":%s}]",
                        i, finish);
    } else if (reasoning) {
        aieb_buf_printf(&st->out,
                        "\"choices\":[{\"index\":0,\"delta\":{\"%s\":\" r%d\"},\"logprobs\":null,"
                        "\"finish_reason\":%s}]",
                        st->b.reasoning_field_plain ? "reasoning" : "reasoning_content", i, finish);
    } else {
        aieb_buf_printf(&st->out,
                        "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" t%d\"},"
                        "\"logprobs\":null,\"finish_reason\":%s}]",
                        i, finish);
    }
    if (last && st->include_usage && st->b.usage == USAGE_LAST) {
        aieb_buf_puts(&st->out, ",");
        put_usage(st);
    }
    aieb_buf_printf(&st->out, "}%s", eol(st));
}

/* Appends the next piece of the body to st->out, sleeping as scripted.
 * Returns 0 (more to come), 1 (end of stream) or -1 (drop the connection). */
static int produce(stream *st)
{
    behaviour *b = &st->b;
    switch (st->phase) {
    case 0:
        st->phase = 1;
        if (st->chat) {
            put_head(st);
            aieb_buf_printf(&st->out,
                            "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
                            "\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}%s",
                            eol(st));
            return 0;
        }
        /* fall through */
    case 1:
        if (st->next >= st->total) {
            st->phase = 2;
            return 0;
        }
        if (b->disconnect_after == st->next)
            return -1;
        if (b->error_after == st->next) {
            json_t *e = error_body(b->error_shape_object, 500, "scripted mid-stream error");
            char *text = json_dumps(e, JSON_COMPACT);
            json_decref(e);
            aieb_buf_printf(&st->out, "%s%s%s%s[DONE]%s", data_prefix(st), text, eol(st),
                            data_prefix(st), eol(st));
            free(text);
            st->phase = 4;
            return 0;
        }
        if (b->garbage_after == st->next) {
            aieb_buf_printf(&st->out, "%sthis is not json {{{%s", data_prefix(st), eol(st));
            b->garbage_after = -1;
            return 0;
        }
        sleep_until(token_due_ns(st, st->next));
        if (b->comments)
            aieb_buf_printf(&st->out, ": ping%s", eol(st));
        put_token(st, st->next);
        if (st->next == 0 && b->huge_line > 0) {
            put_head(st);
            aieb_buf_puts(&st->out, "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"");
            for (int i = 0; i < b->huge_line; i++)
                aieb_buf_append(&st->out, "x", 1);
            aieb_buf_printf(&st->out, "\"}}]}%s", eol(st));
        }
        st->next++;
        return 0;
    case 2:
        st->phase = 3;
        if (st->include_usage &&
            (b->usage == USAGE_OWN || (b->usage == USAGE_LAST && !st->total))) {
            put_head(st);
            aieb_buf_puts(&st->out, "\"choices\":[],");
            put_usage(st);
            aieb_buf_printf(&st->out, "}%s", eol(st));
        }
        return 0;
    case 3:
        st->phase = 4;
        if (!b->no_done)
            aieb_buf_printf(&st->out, "%s[DONE]%s", data_prefix(st), eol(st));
        return 0;
    default:
        return 1;
    }
}

/* Whether the next piece can go out without waiting (and so in the same write). */
static int next_is_due(const stream *st)
{
    if (st->phase == 0 || st->phase == 2 || st->phase == 3)
        return 1;
    if (st->phase != 1)
        return 0;
    if (st->next >= st->total)
        return 1;
    if (st->b.disconnect_after == st->next)
        return 0; /* let what came before go out first */
    return aieb_now_ns() >= token_due_ns(st, st->next);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream *st = cls;
    while (st->off >= st->out.len) {
        aieb_buf_reset(&st->out);
        st->off = 0;
        int r = produce(st);
        if (r > 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (r < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    /* --coalesce: events already due go out together, as from a server that
     * is ahead of its socket */
    while (st->b.coalesce && st->out.len - st->off < max && next_is_due(st))
        if (produce(st) != 0)
            break;
    size_t k = st->out.len - st->off < max ? st->out.len - st->off : max;
    memcpy(buf, st->out.data + st->off, k);
    st->off += k;
    return (ssize_t)k;
}

static void stream_free(void *cls)
{
    stream *st = cls;
    aieb_buf_free(&st->out);
    free(st->model_json);
    free(st);
}

/* The whole (non-streamed) answer, after the scripted time has passed. */
static json_t *whole_answer(stream *st)
{
    st->t0_ns = aieb_now_ns();
    sleep_until(token_due_ns(st, st->total > 0 ? st->total - 1 : 0));
    aieb_buf text, reasoning;
    aieb_buf_init(&text, 0);
    aieb_buf_init(&reasoning, 0);
    for (int i = 0; i < st->total; i++)
        aieb_buf_printf(i < st->b.reasoning ? &reasoning : &text, " %c%d",
                        i < st->b.reasoning ? 'r' : 't', i);
    json_t *model = json_loads(st->model_json, JSON_DECODE_ANY, NULL);
    json_t *choice;
    if (st->chat) {
        json_t *msg =
            json_pack("{s:s, s:s}", "role", "assistant", "content", text.data ? text.data : "");
        if (reasoning.len)
            json_object_set_new(msg,
                                st->b.reasoning_field_plain ? "reasoning" : "reasoning_content",
                                json_string(reasoning.data));
        choice =
            json_pack("{s:i, s:o, s:s}", "index", 0, "message", msg, "finish_reason", "length");
    } else {
        choice = json_pack("{s:i, s:s, s:s}", "index", 0, "text", text.data ? text.data : "",
                           "finish_reason", "length");
    }
    json_t *answer = json_pack(
        "{s:s, s:s, s:i, s:o, s:[o], s:{s:i, s:i, s:i}}", "id", st->chat ? "chatcmpl-1" : "cmpl-1",
        "object", st->chat ? "chat.completion" : "text_completion", "created", (int)st->created,
        "model", model, "choices", choice, "usage", "prompt_tokens", (int)st->prompt_tokens,
        "completion_tokens", st->total, "total_tokens", (int)st->prompt_tokens + st->total);
    aieb_buf_free(&text);
    aieb_buf_free(&reasoning);
    return answer;
}

/* ==== Request handlers ===================================================== */

static enum MHD_Result handle_completion(struct MHD_Connection *c, server *s, int chat,
                                         const aieb_buf *body)
{
    behaviour b = s->defaults;
    const char *hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Fake");
    if (hdr)
        fake_behaviour_apply(&b, hdr, strlen(hdr));
    const char *mark = body->data ? strstr(body->data, "[[fake ") : NULL;
    if (mark) {
        const char *close = strstr(mark, "]]");
        if (close)
            fake_behaviour_apply(&b, mark + 7, (size_t)(close - mark - 7));
    }
    long n = atomic_fetch_add(&s->n_completions, 1);
    if (b.faults_first >= 0 && n >= b.faults_first) {
        b.status = 0;
        b.drop = 0;
        b.disconnect_after = b.error_after = b.garbage_after = -1;
        b.huge_line = 0;
        b.first_byte_ms = 0;
    }
    if (b.drop)
        return MHD_NO; /* MHD closes the connection without a reply */
    sleep_ms(b.first_byte_ms);

    json_t *req = json_loadb(body->data ? body->data : "", body->len, 0, NULL);
    if (!json_is_object(req)) {
        json_decref(req);
        return respond_json(c, s, 400, error_body(b.error_shape_object, 400, "body is not JSON"));
    }
    if (b.status >= 400) {
        char msg[128];
        snprintf(msg, sizeof msg, "scripted HTTP %d from the test server", b.status);
        json_decref(req);
        return respond_json(c, s, (unsigned)b.status,
                            error_body(b.error_shape_object, b.status, msg));
    }
    const char *model = json_string_value(json_object_get(req, "model"));
    if (!model || !model_known(s, model)) {
        char msg[300];
        snprintf(msg, sizeof msg, "The model `%s` does not exist.", model ? model : "");
        json_decref(req);
        return respond_json(c, s, 404, error_body(1, 404, msg));
    }
    json_t *prompt = chat ? json_object_get(req, "messages") : json_object_get(req, "prompt");
    if (!prompt) {
        json_decref(req);
        return respond_json(c, s, 400,
                            error_body(b.error_shape_object, 400,
                                       chat ? "messages is required" : "prompt is required"));
    }
    stream *st = calloc(1, sizeof *st);
    if (!st) {
        json_decref(req);
        return MHD_NO;
    }
    st->srv = s;
    st->b = b;
    st->chat = chat;
    st->model_json = json_dumps(json_object_get(req, "model"), JSON_ENCODE_ANY);
    st->id = atomic_fetch_add(&s->n_ids, 1);
    st->created = (long)(aieb_wall_ns() / AIEB_NS_PER_S);
    st->prompt_tokens = count_words(prompt);
    json_t *mt = json_object_get(req, "max_tokens");
    int tokens = b.tokens >= 0         ? b.tokens
                 : json_is_integer(mt) ? (int)json_integer_value(mt)
                                       : DEFAULT_TOKENS;
    st->total = tokens + (chat ? b.reasoning : 0);
    if (!chat)
        st->b.reasoning = 0;
    st->include_usage =
        json_is_true(json_object_get(json_object_get(req, "stream_options"), "include_usage"));
    int streaming = json_is_true(json_object_get(req, "stream"));
    json_decref(req);
    aieb_buf_init(&st->out, 0);

    if (!streaming) {
        json_t *answer = whole_answer(st);
        stream_free(st);
        return respond_json(c, s, 200, answer);
    }
    st->t0_ns = aieb_now_ns();
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
                                                               stream_read, st, stream_free);
    if (!r) {
        stream_free(st);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_add_response_header(r, "Server", s->server_name);
    enum MHD_Result ok = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result handle_models(struct MHD_Connection *c, server *s)
{
    json_t *data = json_array();
    for (size_t i = 0; i < s->n_models; i++)
        json_array_append_new(data,
                              json_pack("{s:s, s:s, s:i, s:s}", "id", s->models[i], "object",
                                        "model", "created", 1700000000, "owned_by", "aieb-fake"));
    return respond_json(c, s, 200, json_pack("{s:s, s:o}", "object", "list", "data", data));
}

static const char *arg(struct MHD_Connection *c, const char *key)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

typedef struct request {
    aieb_buf body;
    int too_big;
} request;

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    server *s = cls;
    request *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        aieb_buf_init(&rq->body, MAX_BODY);
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (aieb_buf_append(&rq->body, upload_data, *upload_data_size) != 0)
            rq->too_big = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *query = NULL;
    char qbuf[1024] = "";
    const char *keys[] = {"dataset", "config", "split", "offset", "length"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = arg(c, keys[i]);
        if (v) {
            size_t at = strlen(qbuf);
            snprintf(qbuf + at, sizeof qbuf - at, "%s%s=%s", at ? "&" : "", keys[i], v);
            query = qbuf;
        }
    }
    log_request(s, method, url, query, auth, &rq->body);
    if (rq->too_big)
        return respond_json(c, s, 413, error_body(0, 413, "request body too large"));

    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    if (strcmp(url, "/health") == 0 && get) {
        if (s->no_health)
            return respond(c, s, 404, "text/plain", "404 page not found");
        if (loading(s))
            return respond_json(c, s, 503,
                                json_pack("{s:{s:i, s:s, s:s}}", "error", "code", 503, "message",
                                          "Loading model", "type", "unavailable_error"));
        return respond(c, s, 200, "application/json", "");
    }
    if ((strcmp(url, "/rows") == 0 || strcmp(url, "/splits") == 0) && get)
        return viewer_handle(&s->viewer, c, url);
    if (strncmp(url, "/v1/", 4) != 0)
        return respond(c, s, 404, "application/json", "{\"detail\":\"Not Found\"}");

    if (s->api_key) {
        char want[512];
        snprintf(want, sizeof want, "Bearer %s", s->api_key);
        if (!auth || strcmp(auth, want) != 0) {
            char msg[700];
            snprintf(msg, sizeof msg, "Incorrect API key provided: %s", auth ? auth : "(none)");
            return respond_json(c, s, 401, error_body(0, 401, msg));
        }
    }
    if (loading(s))
        return respond_json(c, s, 503, error_body(0, 503, "Loading model"));
    if (strcmp(url, "/v1/models") == 0 && get)
        return handle_models(c, s);
    if (strcmp(url, "/v1/chat/completions") == 0 && post)
        return handle_completion(c, s, 1, &rq->body);
    if (strcmp(url, "/v1/completions") == 0 && post)
        return handle_completion(c, s, 0, &rq->body);
    return respond(c, s, 404, "application/json", "{\"detail\":\"Not Found\"}");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    request *rq = *con_cls;
    if (rq) {
        aieb_buf_free(&rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

/* ==== Start-up ============================================================= */

static void split_models(server *s, const char *list)
{
    char *copy = strdup(list), *save = NULL;
    for (char *m = strtok_r(copy, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
        s->models = realloc(s->models, (s->n_models + 1) * sizeof *s->models);
        s->models[s->n_models++] = strdup(m);
    }
    free(copy);
}

/* Frees what start-up allocated (on the ways out before serving). */
static void server_free(server *s)
{
    for (size_t i = 0; i < s->n_models; i++)
        free(s->models[i]);
    free(s->models);
    s->models = NULL;
    s->n_models = 0;
    viewer_free(&s->viewer);
    if (s->log)
        fclose(s->log);
    s->log = NULL;
}

static int usage_error(const char *msg, const char *opt)
{
    fprintf(stderr, "openai_server: %s: %s (see the comment at the top of openai_server.c)\n", msg,
            opt);
    return 2;
}

int main(int argc, char **argv)
{
    server s;
    memset(&s, 0, sizeof s);
    s.defaults = fake_behaviour_defaults;
    s.server_name = "aieb-openai-fake/1";
    viewer_init(&s.viewer);
    pthread_mutex_init(&s.log_lock, NULL);
    int port = 0;
    const char *models = "test-model";
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strncmp(opt, "--", 2) != 0)
            return usage_error("unexpected argument", opt);
        const char *key = opt + 2, *val = NULL;
        char keybuf[64];
        const char *eq = strchr(key, '=');
        if (eq) {
            snprintf(keybuf, sizeof keybuf, "%.*s", (int)(eq - key), key);
            key = keybuf;
            val = eq + 1;
        }
        if (strcmp(key, "no-health") == 0) {
            s.no_health = 1;
            continue;
        }
        if (strcmp(key, "no-splits") == 0) {
            s.viewer.no_splits = 1;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc)
                return usage_error("missing value", opt);
            val = argv[++i];
        }
        if (strcmp(key, "port") == 0)
            port = atoi(val);
        else if (strcmp(key, "log") == 0)
            s.log_path = val;
        else if (strcmp(key, "models") == 0)
            models = val;
        else if (strcmp(key, "api-key") == 0)
            s.api_key = val;
        else if (strcmp(key, "health-503-s") == 0)
            s.health_503_s = atof(val);
        else if (strcmp(key, "server") == 0)
            s.server_name = val;
        else {
            int taken = viewer_option(&s.viewer, key, val);
            if (taken < 0 || (taken == 0 && fake_behaviour_set(&s.defaults, key, val) != 0))
                return usage_error("unknown option or bad value", opt);
        }
    }
    s.viewer.server_name = s.server_name;
    if (viewer_start(&s.viewer) != 0) {
        viewer_free(&s.viewer);
        return 1;
    }
    if (s.log_path && !(s.log = fopen(s.log_path, "a"))) {
        fprintf(stderr, "openai_server: %s: %s\n", s.log_path, strerror(errno));
        server_free(&s);
        return 1;
    }
    split_models(&s, models);

    /* signals are taken by sigwait below; threads MHD starts inherit the mask */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s.start_ns = aieb_now_ns();
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD |
                             MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
                         (uint16_t)port, NULL, NULL, handle, &s, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, completed, &s,
                         MHD_OPTION_CONNECTION_TIMEOUT, 0u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "openai_server: cannot listen on 127.0.0.1:%d\n", port);
        server_free(&s);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("PORT %u\n", info ? (unsigned)info->port : (unsigned)port);
    fflush(stdout);

    int sig;
    sigwait(&set, &sig);
    /* connection threads may be sleeping mid-script; leave without joining them */
    if (s.log)
        fflush(s.log);
    _exit(0);
}
