/* openai.h - the backend for OpenAI-compatible HTTP servers: vLLM, SGLang, TGI,
 * llama.cpp's server, Ollama (and the OpenAI API itself).
 *
 * Requests go to {endpoint}/chat/completions (api "chat") or
 * {endpoint}/completions (api "completions") with "stream": true and
 * "stream_options": {"include_usage": true}; responses are read as server-sent
 * events (aieb/sse.h). libcurl's multi interface keeps up to max_concurrency
 * requests in flight from the one thread that calls run(), over keep-alive
 * connections, each sent no earlier than its arrival_ns.
 *
 * The API key is read from the environment variable opts.api_key_env when the
 * backend is opened and sent as "Authorization: Bearer <key>". It is never
 * logged, never put in info() or in any error message (a server that echoes it
 * back has it replaced by "***").
 */
#ifndef AIEB_OPENAI_H
#define AIEB_OPENAI_H

#include <stddef.h>

#include "aieb/backend.h"
#include "aieb/err.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aieb_openai_opts {
    const char *endpoint;        /* base URL with the API prefix: "http://localhost:8000/v1" */
    const char *model;           /* model id to request; NULL or "": the first one the server
                                    lists (health() fills it in) */
    const char *api;             /* "chat" (default) or "completions" */
    const char *api_key_env;     /* variable holding the key (default "OPENAI_API_KEY"); unset
                                    or empty variable: no Authorization header */
    int insecure_tls;            /* 1: do not verify the server's TLS certificate */
    int stream;                  /* 1 (default): SSE; 0: one JSON answer per request */
    double timeout_s;            /* whole request (default 300) */
    double connect_timeout_s;    /* TCP + TLS connect (default 10) */
    double first_byte_timeout_s; /* from sending to the first response byte (default timeout_s) */
    double idle_timeout_s;       /* longest gap between response bytes (default timeout_s) */
    double startup_timeout_s;    /* health(): how long to wait while the server answers 503
                                    (loading) (default 600) */
    int max_retries;             /* retries of a request whose connection failed before any
                                    response byte (default 3; 0 = none) */
    double retry_backoff_s;      /* wait before the first retry, doubled each time (0.25) */
    size_t max_line_bytes;       /* SSE line cap (0: AIEB_SSE_DEFAULT_MAX_LINE) */
    size_t max_body_bytes;       /* response body cap (0: AIEB_SSE_DEFAULT_MAX_BODY) */
    aieb_gen_params gen;         /* sampling and length fields sent with every request */
} aieb_openai_opts;

/* Fills o with the defaults above (every gen field unset, max_new_tokens 0 =
 * not sent). Can't fail. */
AIEB_API void aieb_openai_opts_init(aieb_openai_opts *o);

/* Whether endpoint (an http:// or https:// URL) names this machine: localhost,
 * 127.0.0.0/8, ::1 or 0.0.0.0. Returns 1 when it does, 0 for any other host (a
 * server elsewhere, whose energy this machine's meters do not see), -1 when no
 * host can be read from it. Looks nothing up (no DNS). Can't fail. */
AIEB_API int aieb_openai_endpoint_is_local(const char *endpoint);

/* Opens the backend: checks the options, reads the API key from the
 * environment, prepares libcurl; talks to no server yet (health() does).
 * Returns 0 with *out set (free it with out->ops->close), or AIEB_EINVAL (no
 * endpoint, not http:// or https://, unknown api, negative timeout) or
 * AIEB_ENOMEM / AIEB_EENV (libcurl could not start), with err saying which. */
AIEB_API int aieb_openai_backend_open(const aieb_openai_opts *opts, aieb_backend **out,
                                      aieb_err *err);

/* What the ops do (contract in aieb/backend.h), in this backend's terms:
 * - health: GET {root}/health, where root is the endpoint without its trailing
 *   "/v1": 200 is up; 503 is loading (retried every 0.5 s up to
 *   startup_timeout_s, then AIEB_EENV); any other answer (404 on Ollama)
 *   falls through to GET {endpoint}/models, which must list the model (Ollama's
 *   "name:latest" matches "name"). Otherwise AIEB_EENV saying what was listed;
 *   connection refused: AIEB_EENV "server not reachable at ...". AIEB_EINTR
 *   when *stop becomes non-zero while waiting.
 * - run: results carry error kinds CONNECT (no connection, after retries),
 *   HTTP (status >= 400, with the server's message from either error shape),
 *   TIMEOUT, STREAM (bad SSE, mid-stream error, connection closed mid-stream,
 *   no [DONE]) and CANCELLED. *stop == 1 stops sending and gives in-flight
 *   requests grace_ms; *stop >= 2 cancels them at once. Requests not yet sent
 *   are not reported. Returns 0 when every request was reported, AIEB_EINTR
 *   when *stop ended the run, AIEB_EFAIL when the callback did (the requests
 *   then in flight are reported as CANCELLED first), AIEB_ENOMEM.
 * - info: {"type":"openai","endpoint","api","url","model","stream",
 *   "server" (the Server header, when one was seen),"api_key_env","api_key_set"}. */

#ifdef __cplusplus
}
#endif
#endif
