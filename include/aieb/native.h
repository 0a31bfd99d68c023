/* native.h - the `native` backend: requests run in-process on the embedded
 * engine, one at a time, with exact timestamps for prefill end and every token.
 */
#ifndef AIEB_NATIVE_H
#define AIEB_NATIVE_H

#include "aieb/backend.h"
#include "aieb/err.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aieb_native_opts {
    const char *model;   /* GGUF path or "synthetic:<preset>[?type=..&seed=..]" */
    int threads;         /* 0 = all cores */
    int context_length;  /* 0 = min(model's, 4096) */
    const char *api;     /* "chat" (default, NULL too): render messages with the model's chat
                            template; "completions": the prompt as plain text */
    aieb_gen_params gen; /* max/min new tokens, temperature, top_k/top_p, seed, ignore_eos */
} aieb_native_opts;

/* Creates the backend; nothing is loaded until ops->load (the runner measures
 * loading apart). The strings in opts are copied. Fails with AIEB_EINVAL (no
 * model, max_new_tokens < 1) or AIEB_ENOMEM.
 *
 * Run semantics: requests run one at a time in the order given (max_concurrency
 * above 1 is noted in info() and ignored: the engine uses every core for one
 * request), each after its arrival time; the KV cache is reset per request; a
 * prompt longer than the context minus max_new_tokens keeps its last tokens (the
 * result's error is NULL but info() counts it). With api "chat" the system prompt
 * (if any) and the prompt become messages rendered with the model's chat template
 * (aieb/chat.h), the generation prompt appended; the request's extra_params
 * chat_template_kwargs.enable_thinking (or .thinking) is the template's thinking
 * switch. Without a template (synthetic models), with api "completions", or with a
 * template not recognised (a warning in info()'s "warnings"), the system prompt is
 * put before the prompt, separated by a blank line (api "completions" takes a
 * request's raw_prompt as it is). Token counts are exact (prompt tokens include
 * BOS). prefill_end_ns is when the last prompt position's logits were
 * ready. */
AIEB_API int aieb_native_backend_open(const aieb_native_opts *opts, aieb_backend **out,
                                      aieb_err *err);

#ifdef __cplusplus
}
#endif
#endif
