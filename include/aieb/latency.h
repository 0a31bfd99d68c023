/* latency.h - speed metrics from request records: TTFT, TPOT, ITL, end-to-end
 * latency, throughput and goodput, in the units vLLM's benchmarks report.
 */
#ifndef AIEB_LATENCY_H
#define AIEB_LATENCY_H

#include <stddef.h>

#include "aieb/backend.h"
#include "aieb/stats.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Service-level objectives for goodput; a field <= 0 is not checked. */
typedef struct aieb_slo {
    double ttft_ms, tpot_ms, e2el_ms;
} aieb_slo;

typedef struct aieb_latency_summary {
    size_t n_total, n_ok, n_failed;
    size_t errors_by_kind[AIEB_REQ_KIND_COUNT];
    double duration_s;  /* first send to last done, over all requests */
    long prompt_tokens; /* over successful requests (known counts only) */
    long completion_tokens;
    int tokens_estimated;      /* some counts were estimated from chunks */
    aieb_stats ttft_ms;        /* first token (reasoning or content) - sent */
    aieb_stats tpot_ms;        /* (done - first token) / (completion tokens - 1) */
    aieb_stats itl_ms;         /* gaps between consecutive token chunks */
    aieb_stats e2el_ms;        /* done - sent */
    double request_throughput; /* successful requests / duration_s */
    double output_throughput;  /* completion tokens / duration_s */
    double total_throughput;   /* (prompt + completion) tokens / duration_s */
    int has_slo;
    size_t n_good;  /* successful requests meeting every SLO */
    double goodput; /* n_good / duration_s */
} aieb_latency_summary;

/* Summarizes results[0..n). Failed requests count in n_failed and by kind and
 * are left out of every latency statistic. slo may be NULL. Returns 0, or
 * AIEB_ENOMEM (out is then zeroed). */
AIEB_API int aieb_latency_summarize(const aieb_result *results, size_t n, const aieb_slo *slo,
                                    aieb_latency_summary *out);

#ifdef __cplusplus
}
#endif
#endif
