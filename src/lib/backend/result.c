/* result.c - reading and clearing a request's result (result.h). */
#include <math.h>
#include <stdlib.h>

#include "aieb/result.h"

void aieb_result_clear(aieb_result *r)
{
    free(r->chunk_ns);
    free(r->error);
    r->chunk_ns = NULL;
    r->n_chunks = 0;
    r->error = NULL;
}

double aieb_result_ttft_ms(const aieb_result *r)
{
    if (r->error_kind != AIEB_REQ_OK || !r->sent_ns || !r->first_token_ns)
        return NAN;
    return (double)(r->first_token_ns - r->sent_ns) / 1e6;
}

double aieb_result_tpot_ms(const aieb_result *r)
{
    if (r->error_kind != AIEB_REQ_OK || !r->first_token_ns || !r->done_ns ||
        r->completion_tokens < 2)
        return NAN;
    return (double)(r->done_ns - r->first_token_ns) / 1e6 / (double)(r->completion_tokens - 1);
}

double aieb_result_e2el_ms(const aieb_result *r)
{
    if (r->error_kind != AIEB_REQ_OK || !r->sent_ns || !r->done_ns)
        return NAN;
    return (double)(r->done_ns - r->sent_ns) / 1e6;
}

const char *aieb_req_error_kind_name(aieb_req_error_kind kind)
{
    static const char *const names[AIEB_REQ_KIND_COUNT] = {
        "", "connect", "http", "timeout", "stream", "engine", "cancelled",
    };
    return (unsigned)kind < AIEB_REQ_KIND_COUNT ? names[kind] : "unknown";
}
