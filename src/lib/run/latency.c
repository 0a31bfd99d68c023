/* latency.c - TTFT, TPOT, ITL, e2e latency, throughput and goodput. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/err.h"
#include "aieb/latency.h"

static int meets_slo(const aieb_result *r, const aieb_slo *slo)
{
    double v;
    if (slo->ttft_ms > 0 && !((v = aieb_result_ttft_ms(r)) <= slo->ttft_ms))
        return 0;
    /* A one-token answer has no TPOT and cannot miss that objective. */
    if (slo->tpot_ms > 0 && (v = aieb_result_tpot_ms(r)) > slo->tpot_ms)
        return 0;
    if (slo->e2el_ms > 0 && !((v = aieb_result_e2el_ms(r)) <= slo->e2el_ms))
        return 0;
    return 1;
}

int aieb_latency_summarize(const aieb_result *results, size_t n, const aieb_slo *slo,
                           aieb_latency_summary *out)
{
    memset(out, 0, sizeof *out);
    size_t n_itl = 0;
    for (size_t i = 0; i < n; i++)
        if (results[i].error_kind == AIEB_REQ_OK && results[i].n_chunks > 1)
            n_itl += results[i].n_chunks - 1;
    double *ttft = malloc((n + 1) * sizeof *ttft), *tpot = malloc((n + 1) * sizeof *tpot);
    double *e2el = malloc((n + 1) * sizeof *e2el), *itl = malloc((n_itl + 1) * sizeof *itl);
    if (!ttft || !tpot || !e2el || !itl) {
        free(ttft);
        free(tpot);
        free(e2el);
        free(itl);
        return AIEB_ENOMEM;
    }
    int64_t t_first = 0, t_last = 0;
    size_t k = 0, m = 0;
    out->n_total = n;
    out->has_slo = slo && (slo->ttft_ms > 0 || slo->tpot_ms > 0 || slo->e2el_ms > 0);
    for (size_t i = 0; i < n; i++) {
        const aieb_result *r = &results[i];
        if (r->sent_ns && (!t_first || r->sent_ns < t_first))
            t_first = r->sent_ns;
        if (r->done_ns > t_last)
            t_last = r->done_ns;
        if (r->error_kind != AIEB_REQ_OK) {
            out->n_failed++;
            out->errors_by_kind[r->error_kind]++;
            continue;
        }
        out->n_ok++;
        if (r->prompt_tokens > 0)
            out->prompt_tokens += r->prompt_tokens;
        if (r->completion_tokens > 0)
            out->completion_tokens += r->completion_tokens;
        if (r->tokens_estimated)
            out->tokens_estimated = 1;
        ttft[k] = aieb_result_ttft_ms(r);
        tpot[k] = aieb_result_tpot_ms(r);
        e2el[k] = aieb_result_e2el_ms(r);
        k++;
        for (size_t c = 1; c < r->n_chunks; c++)
            itl[m++] = (double)(r->chunk_ns[c] - r->chunk_ns[c - 1]) / 1e6;
        if (out->has_slo && meets_slo(r, slo))
            out->n_good++;
    }
    aieb_stats_compute(ttft, k, &out->ttft_ms);
    aieb_stats_compute(tpot, k, &out->tpot_ms);
    aieb_stats_compute(e2el, k, &out->e2el_ms);
    aieb_stats_compute(itl, m, &out->itl_ms);
    free(ttft);
    free(tpot);
    free(e2el);
    free(itl);
    out->duration_s = t_last > t_first ? (double)(t_last - t_first) / 1e9 : 0.0;
    if (out->duration_s > 0) {
        out->request_throughput = (double)out->n_ok / out->duration_s;
        out->output_throughput = (double)out->completion_tokens / out->duration_s;
        out->total_throughput =
            (double)(out->prompt_tokens + out->completion_tokens) / out->duration_s;
        out->goodput = (double)out->n_good / out->duration_s;
    }
    return 0;
}
