/* sse.h - incremental parser for OpenAI-style server-sent event streams.
 *
 * The body of a streamed /v1/chat/completions or /v1/completions response is a
 * series of lines (W3C "Server-Sent Events"; OpenAI API reference, "stream"):
 *
 *     data: {"choices":[{"delta":{"content":"Hel"}}]}
 *     data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":9}}
 *     data: [DONE]
 *
 * Feed the body in chunks of any size (a line may be split anywhere, even
 * between CR and LF); each complete `data:` line is decoded as JSON at once and
 * handed to a callback as an aieb_sse_event. Accepted: `data:` with or without
 * the one optional space, LF, CRLF or CR line ends, `:` comment lines, and
 * event:/id:/retry:/unknown field lines (ignored). Each data line is one event
 * (servers send one JSON object per line; lines are not joined as the W3C
 * dispatch-on-blank-line rule would, so an event is seen the moment its line
 * ends). Empty data lines are ignored; lines after [DONE] are ignored.
 *
 * Failures (the parser keeps the first one; later feeds return it again):
 * - a data line that is not a JSON object: AIEB_EFAIL, with the offending
 *   bytes (at most 80, escaped) in the message;
 * - a mid-stream error chunk ({"error": ...} or {"object": "error", ...}):
 *   AIEB_EFAIL, "server error mid-stream: <message>";
 * - a line longer than max_line_bytes or a body longer than max_body_bytes:
 *   AIEB_ETOOBIG naming the cap;
 * - aieb_sse_finish() on a body that never said [DONE]: AIEB_EFAIL.
 */
#ifndef AIEB_SSE_H
#define AIEB_SSE_H

#include <stddef.h>

#include "aieb/buf.h"
#include "aieb/err.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default caps (bytes), used when 0 is passed to aieb_sse_init. */
#define AIEB_SSE_DEFAULT_MAX_LINE (1u << 20)  /* 1 MiB */
#define AIEB_SSE_DEFAULT_MAX_BODY (64u << 20) /* 64 MiB */

/* One decoded data line. Strings are NUL-terminated, valid only during the
 * callback, and NULL when absent or empty. */
typedef struct aieb_sse_event {
    /* choices[].delta.content (chat) or choices[].text (completions): the first
     * choice with a non-empty one. */
    const char *content;
    size_t content_len;
    /* choices[].delta.reasoning_content, else choices[].delta.reasoning (vLLM,
     * SGLang, llama.cpp and Ollama spell it either way): first non-empty one. */
    const char *reasoning;
    size_t reasoning_len;
    /* A "usage" object was present (on any chunk, with or without choices).
     * Counts are -1 when absent, negative or not integers. reasoning_tokens is
     * usage.completion_tokens_details.reasoning_tokens. */
    int has_usage;
    long long prompt_tokens;
    long long completion_tokens;
    long long reasoning_tokens;
} aieb_sse_event;

/* Receives each event. Returns 0 to go on, or a negative AIEB_E* code (with err
 * filled by the callback) to stop parsing; the code is returned by the feed. */
typedef int (*aieb_sse_event_cb)(void *user, const aieb_sse_event *ev, aieb_err *err);

/* Parser state. Fields are private; the struct is public so that a caller can
 * embed one per connection and reuse it without allocating per request. */
typedef struct aieb_sse {
    aieb_buf line;         /* bytes of the current, unfinished line */
    aieb_buf scratch;      /* decoded strings of the current event */
    size_t max_line_bytes; /* cap on one line */
    size_t max_body_bytes; /* cap on the whole body */
    size_t body_bytes;     /* bytes fed so far */
    size_t n_data;         /* data lines decoded */
    size_t n_fast;         /* of which decoded without building a JSON tree */
    int pending_cr;        /* the last byte fed ended a line with CR */
    int seen_line;         /* a line ended already (a BOM can only lead the first) */
    int done;              /* [DONE] seen */
    int failed;            /* first failure code, 0 while healthy */
    char head[64];         /* first bytes of the body, for diagnostics */
    size_t head_len;
    aieb_err fail_err; /* the first failure's message */
} aieb_sse;

/* Prepares p for a new body. Caps of 0 take the defaults above. Can't fail
 * (memory is allocated on first use). */
AIEB_API void aieb_sse_init(aieb_sse *p, size_t max_line_bytes, size_t max_body_bytes);

/* Forgets the current body but keeps memory and caps, ready for the next
 * response on the same connection. Can't fail. */
AIEB_API void aieb_sse_reset(aieb_sse *p);

/* Frees the memory held by p; p may be initialised again afterwards. */
AIEB_API void aieb_sse_free(aieb_sse *p);

/* Feeds len bytes of the body. Calls cb for each complete data line. Returns 0,
 * the callback's code, or a failure described above (also on every later call).
 * AIEB_ENOMEM when memory runs out. */
AIEB_API int aieb_sse_feed(aieb_sse *p, const char *data, size_t len, aieb_sse_event_cb cb,
                           void *user, aieb_err *err);

/* Ends the body: a last line without a line end is processed, then the stream
 * must have said [DONE]; otherwise AIEB_EFAIL "stream ended without [DONE]"
 * (naming how many data lines came, or the first bytes when none did). */
AIEB_API int aieb_sse_finish(aieb_sse *p, aieb_sse_event_cb cb, void *user, aieb_err *err);

/* Decodes one data payload (the text after "data:", without the line end) as
 * aieb_sse_feed does, filling *ev (its strings live in p's scratch until the
 * next call). Returns 0, or AIEB_EFAIL for non-JSON / non-object / error
 * chunks (message as above). Does not change p's stream state. */
AIEB_API int aieb_sse_decode(aieb_sse *p, const char *json, size_t len, aieb_sse_event *ev,
                             aieb_err *err);

/* Whether [DONE] was seen. */
AIEB_API int aieb_sse_saw_done(const aieb_sse *p);

/* Number of data lines decoded so far. */
AIEB_API size_t aieb_sse_data_lines(const aieb_sse *p);

/* Extracts a human-readable message from an error body in either shape servers
 * use: {"error": {"message": ...}} (OpenAI, vLLM >= 0.6, TGI as {"error": "..."})
 * or {"object": "error", "message": ...} (older vLLM, SGLang). Writes at most
 * cap-1 bytes plus a NUL to out and returns 1 when a message was found; else
 * writes the body's first bytes, escaped, and returns 0. */
AIEB_API int aieb_sse_error_message(const char *body, size_t len, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
