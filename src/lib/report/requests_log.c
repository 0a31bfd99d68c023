/* requests_log.c - requests.jsonl lines. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/buf.h"
#include "aieb/fileio.h"
#include "aieb/latency.h"
#include "aieb/requests_log.h"

static json_t *time_s(int64_t t_ns, int64_t t0_ns)
{
    return t_ns ? json_real((double)(t_ns - t0_ns) / 1e9) : json_null();
}

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* {gpu, cpu, dram, ram}, null where a figure is NAN. */
static json_t *by_domain(double gpu, double cpu, double dram, double ram)
{
    return json_pack("{s:o, s:o, s:o, s:o}", "gpu", num_or_null(gpu), "cpu", num_or_null(cpu),
                     "dram", num_or_null(dram), "ram", num_or_null(ram));
}

json_t *aieb_request_to_json(const aieb_result *r, int64_t t0_ns, const aieb_request_energy *e)
{
    json_t *o = json_object();
    json_t *itl = json_array();
    if (!o || !itl) {
        json_decref(o);
        json_decref(itl);
        return NULL;
    }
    int ok = r->error_kind == AIEB_REQ_OK;
    json_object_set_new(o, "index", json_integer((json_int_t)r->index));
    json_object_set_new(o, "prompt_chars", json_integer((json_int_t)r->prompt_chars));
    json_object_set_new(o, "prompt_tokens",
                        r->prompt_tokens >= 0 ? json_integer(r->prompt_tokens) : json_null());
    json_object_set_new(o, "completion_tokens",
                        r->completion_tokens >= 0 ? json_integer(r->completion_tokens)
                                                  : json_null());
    if (r->reasoning_tokens > 0)
        json_object_set_new(o, "reasoning_tokens", json_integer(r->reasoning_tokens));
    json_object_set_new(o, "tokens_estimated", json_boolean(r->tokens_estimated));
    json_object_set_new(o, "queued_s", time_s(r->queued_ns, t0_ns));
    json_object_set_new(o, "repetition", json_integer(r->repetition));
    if (r->pass)
        json_object_set_new(o, "pass",
                            json_string(r->pass == AIEB_PASS_PREFILL ? "prefill" : "generate"));
    json_object_set_new(o, "sent_s", time_s(r->sent_ns, t0_ns));
    json_object_set_new(o, "first_token_s", time_s(r->first_token_ns, t0_ns));
    json_object_set_new(o, "first_content_s", time_s(r->first_content_ns, t0_ns));
    json_object_set_new(o, "prefill_end_s", time_s(r->prefill_end_ns, t0_ns));
    json_object_set_new(o, "done_s", time_s(r->done_ns, t0_ns));
    json_object_set_new(o, "ttft_ms", num_or_null(aieb_result_ttft_ms(r)));
    json_object_set_new(o, "tpot_ms", num_or_null(aieb_result_tpot_ms(r)));
    for (size_t c = 1; ok && c < r->n_chunks; c++)
        json_array_append_new(itl, json_real((double)(r->chunk_ns[c] - r->chunk_ns[c - 1]) / 1e6));
    json_object_set_new(o, "itl_ms", itl);
    double e2el = aieb_result_e2el_ms(r);
    json_object_set_new(o, "latency_s", num_or_null(e2el / 1e3));
    if (e) {
        json_object_set_new(o, "energy_j", by_domain(e->gpu_j, e->cpu_j, e->dram_j, e->ram_j));
        json_object_set_new(o, "energy_uncertainty_j",
                            by_domain(e->gpu_u_j, e->cpu_u_j, e->dram_u_j, e->ram_u_j));
        json_object_set_new(o, "energy_short_window", json_boolean(e->short_window));
    }
    json_object_set_new(o, "success", json_boolean(ok));
    json_object_set_new(o, "error_kind",
                        ok ? json_null() : json_string(aieb_req_error_kind_name(r->error_kind)));
    json_object_set_new(o, "error", r->error ? json_string(r->error) : json_null());
    if (r->http_status)
        json_object_set_new(o, "http_status", json_integer(r->http_status));
    return o;
}

static int dump_line(aieb_buf *b, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(o);
    if (!s)
        return AIEB_ENOMEM;
    int rc = aieb_buf_puts(b, s);
    free(s);
    return rc ? rc : aieb_buf_append(b, "\n", 1);
}

int aieb_request_line(const aieb_result *r, int64_t t0_ns, aieb_buf *b)
{
    return dump_line(b, aieb_request_to_json(r, t0_ns, NULL));
}

int aieb_requests_log_append(const char *path, const aieb_result *r, int64_t t0_ns, aieb_err *err)
{
    aieb_buf b;
    aieb_buf_init(&b, 0);
    int rc = dump_line(&b, aieb_request_to_json(r, t0_ns, NULL));
    if (rc)
        rc = aieb_errf(err, rc, "%s: cannot format request %zu", path, r->index);
    else
        rc = aieb_append_file(path, b.data, b.len, err);
    aieb_buf_free(&b);
    return rc;
}

int aieb_requests_log_write(const char *path, const aieb_result *rs, size_t n, int64_t t0_ns,
                            const aieb_request_energy *energies, aieb_err *err)
{
    aieb_buf b;
    aieb_buf_init(&b, 0);
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++)
        rc = dump_line(&b, aieb_request_to_json(&rs[i], t0_ns, energies ? &energies[i] : NULL));
    if (rc)
        rc = aieb_errf(err, rc, "%s: cannot format requests", path);
    else
        rc = aieb_write_file_atomic(path, b.data ? b.data : "", b.len, err);
    aieb_buf_free(&b);
    return rc;
}
