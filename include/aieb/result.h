/* result.h - what happened to one request (aieb_result), and the helpers that
 * read it: time to first token, time per output token, end-to-end latency, the
 * name of an error kind, and clearing what a result owns. Backends fill
 * results; the runner, attribution, latency statistics and the outputs read
 * them.
 */
#ifndef AIEB_RESULT_H
#define AIEB_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Why a request failed, for counting errors by kind. */
typedef enum {
    AIEB_REQ_OK = 0,
    AIEB_REQ_CONNECT,   /* could not connect / connection reset before any byte */
    AIEB_REQ_HTTP,      /* HTTP status >= 400 */
    AIEB_REQ_TIMEOUT,   /* connect, first byte, idle or total timeout */
    AIEB_REQ_STREAM,    /* malformed SSE, stream ended without [DONE], mid-stream error */
    AIEB_REQ_ENGINE,    /* in-process engine or worker error */
    AIEB_REQ_CANCELLED, /* stopped by SIGINT/SIGTERM or fail-fast */
    AIEB_REQ_KIND_COUNT
} aieb_req_error_kind;

/* What happened to one request. Times are CLOCK_MONOTONIC ns, 0 when the event
 * did not happen. */
/* Characters per token when a count must be estimated (a server that reports
 * no usage): "one token generally corresponds to ~4 characters of text for
 * common English text" (OpenAI's tokenizer guide). */
#define AIEB_CHARS_PER_TOKEN 4

typedef struct aieb_result {
    size_t index;
    int64_t queued_ns;        /* became eligible to send (arrival time reached) */
    int64_t sent_ns;          /* request handed to the transport / engine */
    int64_t first_token_ns;   /* first output token of any kind (reasoning or content) */
    int64_t first_content_ns; /* first content (non-reasoning) token */
    int64_t prefill_end_ns;   /* engines that know it (native); else = first_token_ns */
    int64_t done_ns;          /* last byte / last token */
    int64_t *chunk_ns;        /* time of every token-bearing chunk, n_chunks entries */
    size_t n_chunks;
    long prompt_tokens;     /* -1 when unknown */
    long completion_tokens; /* -1 when unknown */
    long reasoning_tokens;  /* -1 when unknown */
    int tokens_estimated;   /* counts estimated from chunks (no usage reported) */
    size_t prompt_chars;
    int http_status; /* 0 for in-process backends */
    aieb_req_error_kind error_kind;
    char *error;    /* NULL on success; else a message (malloc'd) */
    int repetition; /* which repetition of the workload (0-based); set by the runner */
    int pass;       /* energy_star: AIEB_PASS_PREFILL or AIEB_PASS_GENERATE; else 0 */
} aieb_result;

/* The passes of scenario.method energy_star (docs/ratings.md). */
enum { AIEB_PASS_NONE = 0, AIEB_PASS_PREFILL = 1, AIEB_PASS_GENERATE = 2 };

/* Frees the arrays and strings inside r (not r itself). */
AIEB_API void aieb_result_clear(aieb_result *r);

/* Per-request figures in ms; each returns NAN when the request failed or lacks
 * the events: first token - sent; (done - first token) / (completion tokens -
 * 1), for two tokens or more; done - sent. */
AIEB_API double aieb_result_ttft_ms(const aieb_result *r);
AIEB_API double aieb_result_tpot_ms(const aieb_result *r);
AIEB_API double aieb_result_e2el_ms(const aieb_result *r);

/* Name of an error kind for results files ("connect", "http", ...; "" for ok,
 * "unknown" out of range). Can't fail. */
AIEB_API const char *aieb_req_error_kind_name(aieb_req_error_kind kind);

#ifdef __cplusplus
}
#endif
#endif
