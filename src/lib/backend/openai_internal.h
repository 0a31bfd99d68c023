/* openai_internal.h - state shared by the OpenAI-compatible backend's files:
 * openai.c (open, info, close, request bodies), openai_health.c, openai_run.c. */
#ifndef AIEB_BACKEND_OPENAI_INTERNAL_H
#define AIEB_BACKEND_OPENAI_INTERNAL_H

#include <curl/curl.h>
#include <jansson.h>

#include "aieb/backend.h"
#include "aieb/buf.h"
#include "aieb/openai.h"

typedef struct oa_ctx {
    aieb_openai_opts o; /* numbers as given (string fields not used after open) */
    char *endpoint;     /* without a trailing '/' */
    char *root;         /* endpoint without its trailing "/v1" */
    char *url;          /* {endpoint}/chat/completions or /completions */
    char *shown;        /* endpoint as messages and outputs show it: a password in it
                           replaced by "***" (aieb_url_redact) */
    char *shown_url;    /* url likewise */
    char *model;        /* NULL until known */
    int chat;           /* api "chat" */
    char *api_key;      /* NULL when none; wiped on close */
    char *api_key_env;
    struct curl_slist *headers; /* JSON, Authorization, no Expect */
    char server[128];           /* the Server header seen, or "" */
} oa_ctx;

/* Replaces, in place and in one left-to-right pass, every occurrence of secret
 * in msg by "***" (by as many '*' as the secret has bytes when it is shorter,
 * so the string never grows). What was written is not searched again, so a
 * secret made of '*' cannot loop. NULL or empty msg or secret: no change.
 * Can't fail. */
void oa_redact(char *msg, const char *secret);

/* oa_redact with the backend's API key (no change when there is none). */
void oa_scrub(const oa_ctx *c, char *msg);

/* The JSON body for one request (malloc'd), or NULL when out of memory. */
char *oa_request_body(const oa_ctx *c, const aieb_request *r);

/* Applies the options every easy handle shares: timeouts, TLS, headers,
 * no signals. Returns 0 or a CURLcode. */
int oa_easy_setup(const oa_ctx *c, CURL *e);

/* Records the Server header from one header line, if it is one. */
void oa_note_server(oa_ctx *c, const char *line, size_t n);

int oa_health(aieb_backend *b, const volatile sig_atomic_t *stop, aieb_err *err);
int oa_run(aieb_backend *b, const aieb_request *reqs, size_t n, int max_concurrency, int grace_ms,
           aieb_result_cb cb, void *user, const volatile sig_atomic_t *stop, aieb_err *err);

#endif
