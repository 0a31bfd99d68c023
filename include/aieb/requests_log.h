/* requests_log.h - requests.jsonl: one JSON object per request.
 *
 * During a run each finished request is appended as one line (O_APPEND, one
 * write), so a crash loses nothing already done. After attribution the runner
 * rewrites the file atomically with each request's energy share added.
 */
#ifndef AIEB_REQUESTS_LOG_H
#define AIEB_REQUESTS_LOG_H

#include <stdint.h>

#include <jansson.h>

#include "aieb/backend.h"
#include "aieb/buf.h"
#include "aieb/err.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Energy attributed to one request, per domain, in J (NAN = not measured). */
typedef struct aieb_request_energy {
    double gpu_j, cpu_j, dram_j, ram_j;
    double gpu_u_j, cpu_u_j, dram_u_j, ram_u_j; /* bounds on their errors (aieb_share) */
    int short_window; /* shorter than a counter's update period or 3 sampling intervals */
} aieb_request_energy;

/* Builds the JSON object for one request: index, repetition, prompt_chars, prompt_tokens,
 * completion_tokens, tokens_estimated, queued_s/sent_s/first_token_s/
 * first_content_s/prefill_end_s/done_s (seconds since t0_ns, null when the
 * event did not happen), ttft_ms, tpot_ms, itl_ms (list), latency_s, success,
 * error_kind, error, and energy_j {gpu, cpu, dram, ram} with energy_uncertainty_j
 * (the same keys) and energy_short_window when energy is not NULL.
 * Returns a new reference, or NULL when out of memory. */
AIEB_API json_t *aieb_request_to_json(const aieb_result *r, int64_t t0_ns,
                                      const aieb_request_energy *energy);

/* Appends one request as a JSON line (see above, no energy) to b. Returns 0 or
 * AIEB_ENOMEM. */
AIEB_API int aieb_request_line(const aieb_result *r, int64_t t0_ns, aieb_buf *b);

/* Appends one request as a line to path (see above). */
AIEB_API int aieb_requests_log_append(const char *path, const aieb_result *r, int64_t t0_ns,
                                      aieb_err *err);

/* Writes every request (with energy where given; energies may be NULL) to path
 * atomically, one line each. */
AIEB_API int aieb_requests_log_write(const char *path, const aieb_result *rs, size_t n,
                                     int64_t t0_ns, const aieb_request_energy *energies,
                                     aieb_err *err);

#ifdef __cplusplus
}
#endif
#endif
