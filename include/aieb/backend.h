/* backend.h - what every backend (openai, native, pytorch) does: run requests
 * and record, per request, monotonic timestamps and token counts.
 *
 * Backends never touch energy code (docs/design.md): they only stamp times with
 * aieb_now_ns(); attribution joins those stamps to the meter's timeline later.
 */
#ifndef AIEB_BACKEND_H
#define AIEB_BACKEND_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "aieb/err.h"
#include "aieb/export.h"
#include "aieb/result.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sampling and length settings, from scenario.generate_kwargs. A field left at
 * its "unset" value is not sent (servers apply their own default). */
typedef struct aieb_gen_params {
    int max_new_tokens; /* > 0 */
    int min_new_tokens; /* 0 = unset */
    double temperature; /* < 0 = unset */
    double top_p;       /* <= 0 = unset */
    int top_k;          /* <= 0 = unset */
    int do_sample;      /* 0: greedy (temperature 0 is sent); 1: sample; -1 unset */
    long long seed;     /* < 0 = unset */
    int ignore_eos;     /* 1: ask the engine to ignore EOS; 0: don't; -1: auto
                           (on when min_new_tokens == max_new_tokens) */
} aieb_gen_params;

/* One request to send. The backend does not own the strings. */
typedef struct aieb_request {
    size_t index;              /* position in the workload (0-based, warmup excluded) */
    const char *prompt;        /* prompt text after reasoning formatting */
    const char *system_prompt; /* NULL for none */
    const char *raw_prompt;    /* the whole conversation as raw text (Harmony), for APIs
                                  without roles (/v1/completions); NULL for none */
    json_t *extra_params;      /* extra body fields from the formatter, or NULL */
    int64_t arrival_ns;        /* earliest send time (CLOCK_MONOTONIC); 0 = at once */
    int new_tokens;            /* > 0: exactly this many new tokens (max = min, EOS ignored),
                                  whatever the backend's aieb_gen_params say; 0: those */
    int greedy;                /* 1: greedy decoding whatever the settings; 0: the settings */
} aieb_request;

/* The sampling and length settings for one request: g, with exactly
 * r->new_tokens new tokens when the request asks for a count and greedy
 * decoding when it asks for it (energy_star's passes). */
static inline aieb_gen_params aieb_request_gen(const aieb_gen_params *g, const aieb_request *r)
{
    aieb_gen_params p = *g;
    if (r->new_tokens > 0) {
        p.max_new_tokens = r->new_tokens;
        p.min_new_tokens = r->new_tokens;
        p.ignore_eos = 1;
    }
    if (r->greedy)
        p.do_sample = 0;
    return p;
}

/* Called once per finished request (success or failure), from the thread that
 * called run(); the callback may keep nothing of r after it returns (copy what
 * it needs). Returning non-zero asks the backend to stop (fail-fast). */
typedef int (*aieb_result_cb)(void *user, const aieb_result *r);

typedef struct aieb_backend aieb_backend;

typedef struct aieb_backend_ops {
    /* Loads the model where the backend holds one (native, pytorch); the runner
     * times it and measures its energy apart from the workload. NULL for servers.
     * Returns 0, or an AIEB_E* code with err saying what failed. */
    int (*load)(aieb_backend *b, aieb_err *err);
    /* Waits until the backend can serve (server health, model listed); returns
     * AIEB_EENV with what was found otherwise. */
    int (*health)(aieb_backend *b, const volatile sig_atomic_t *stop, aieb_err *err);
    /* Runs reqs[0..n) with at most max_concurrency in flight, honouring each
     * arrival_ns, calling cb as each finishes. Returns when all finished, when cb
     * returned non-zero, or when *stop became non-zero (in-flight requests get
     * grace_ms to finish, then are cancelled and reported as CANCELLED). */
    int (*run)(aieb_backend *b, const aieb_request *reqs, size_t n, int max_concurrency,
               int grace_ms, aieb_result_cb cb, void *user, const volatile sig_atomic_t *stop,
               aieb_err *err);
    /* Frees the model after the workload, while the meter still runs, so the
     * memory it gives back shows on the timeline (native, pytorch); NULL for
     * servers. Failures are reported, never fatal. */
    int (*unload)(aieb_backend *b, aieb_err *err);
    /* Describes the backend for summary.json's backend_info (new object). */
    json_t *(*info)(aieb_backend *b);
    void (*close)(aieb_backend *b);
} aieb_backend_ops;

struct aieb_backend {
    const aieb_backend_ops *ops;
    void *ctx;
};

#ifdef __cplusplus
}
#endif
#endif
