/* native.c - the `native` backend: the embedded engine driven in-process. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/buf.h"
#include "aieb/chat.h"
#include "aieb/clock.h"
#include "aieb/engine.h"
#include "aieb/log.h"
#include "aieb/native.h"

typedef struct native {
    char *model;
    aieb_engine_opts eopts;
    aieb_gen_params gen;
    aieb_engine *engine;
    int32_t *ids; /* (context_length) prompt token ids, allocated at load */
    size_t ids_cap;
    int64_t load_ns;
    size_t n_truncated;    /* prompts that kept only their last tokens */
    int concurrency_asked; /* the largest max_concurrency run() was given */
    int64_t *chunks;       /* (max_new_tokens) token times of the current request */
    size_t n_chunks;
    const volatile sig_atomic_t *stop;  /* the run's stop flag */
    int grace_ms;                       /* in-flight grace after a stop */
    int64_t stop_seen_ns;               /* when the stop was first seen, 0 before */
    double rss_before_mb, rss_after_mb; /* resident memory around the load */
    double rss_unloaded_mb;             /* after unload(), NAN before */
    int loaded_once;                    /* info stays valid after unload() */
    aieb_model_info mi;
    int bos_id;
    int chat;                /* api chat: render with the model's chat template */
    aieb_chat_template tmpl; /* copied at load (info stays valid after unload) */
    char chat_note[256];     /* why a rendering was not exact, "" when it was */
    size_t n_chat_notes;     /* requests that got that note */
} native;

/* VmRSS of this process in MB (from /proc/self/status), NAN when unknown. */
static double rss_mb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return NAN;
    char line[256];
    double kb = NAN;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %lf kB", &kb) == 1)
            break;
    fclose(f);
    return kb / 1024.0;
}

/* ==== Loading ============================================================== */

static int native_load(aieb_backend *b, aieb_err *err)
{
    native *n = b->ctx;
    if (n->engine)
        return 0;
    n->rss_before_mb = rss_mb();
    int64_t t0 = aieb_now_ns();
    int rc = aieb_engine_open(n->model, &n->eopts, &n->engine, err);
    if (rc)
        return aieb_err_prefix(err, "native: %s", n->model);
    n->load_ns = aieb_now_ns() - t0;
    n->rss_after_mb = rss_mb();
    aieb_model_info info;
    aieb_engine_info(n->engine, &info);
    n->mi = info;
    n->loaded_once = 1;
    n->bos_id = info.bos_id;
    n->tmpl = *aieb_engine_chat_template(n->engine);
    /* A tokenizer that cannot encode text fails here, not request by request. */
    int32_t probe[16];
    size_t n_probe = 0;
    rc = aieb_engine_tokenize(n->engine, "Hello", 1, probe, 16, &n_probe, err);
    if (rc)
        return aieb_err_prefix(err, "native: %s: tokenizer", n->model);
    n->ids_cap = (size_t)info.context_length;
    n->ids = malloc(n->ids_cap * sizeof *n->ids);
    n->chunks = malloc(((size_t)n->gen.max_new_tokens + 1) * sizeof *n->chunks);
    if (!n->ids || !n->chunks)
        return aieb_errf(err, AIEB_ENOMEM, "native: out of memory");
    if ((size_t)n->gen.max_new_tokens >= n->ids_cap)
        return aieb_errf(err, AIEB_EINVAL,
                         "native: max_new_tokens %d does not fit the context of %zu positions; "
                         "lower scenario.generate_kwargs.max_new_tokens or raise "
                         "backend.context_length",
                         n->gen.max_new_tokens, n->ids_cap);
    AIEB_INFO("native: loaded %s (%s, %s, %d layers, %.1f MB of weights, %d threads, %s) in "
              "%.2f s",
              info.name, info.arch, info.weight_type, info.n_layers,
              (double)info.weight_bytes / 1e6, info.threads, info.kernels,
              (double)n->load_ns / 1e9);
    return 0;
}

/* ==== Running ============================================================== */

static int on_token(void *user, int32_t token, int64_t t_ns)
{
    native *n = user;
    (void)token;
    n->chunks[n->n_chunks++] = t_ns;
    if (!n->stop || !*n->stop)
        return 0;
    /* Stopped: the request in flight gets grace_ms to finish, then is cut. */
    if (!n->stop_seen_ns)
        n->stop_seen_ns = t_ns;
    return t_ns - n->stop_seen_ns >= (int64_t)n->grace_ms * AIEB_NS_PER_MS;
}

/* chat_template_kwargs.enable_thinking (or .thinking, DeepSeek V3.1's name) from the
 * formatter's extra request fields: 1, 0, or -1 when not set. */
static int thinking_switch(const json_t *extra)
{
    json_t *kw = json_object_get(extra, "chat_template_kwargs");
    json_t *v = json_object_get(kw, "enable_thinking");
    if (!json_is_boolean(v))
        v = json_object_get(kw, "thinking");
    return json_is_boolean(v) ? json_is_true(v) : -1;
}

/* The text a request's prompt becomes: rendered with the chat template (api chat), the
 * raw prompt (api completions, Harmony), or system prompt and prompt as plain text. */
static int prompt_text(native *n, const aieb_request *rq, aieb_buf *text, int *special,
                       aieb_err *err)
{
    *special = 0;
    const char *sys = rq->system_prompt && *rq->system_prompt ? rq->system_prompt : NULL;
    const char *prompt = rq->prompt ? rq->prompt : "";
    if (n->chat && n->tmpl.family != AIEB_CHAT_NONE) {
        aieb_chat_msg msgs[2];
        size_t k = 0;
        if (sys)
            msgs[k++] = (aieb_chat_msg){AIEB_CHAT_SYSTEM, sys};
        msgs[k++] = (aieb_chat_msg){AIEB_CHAT_USER, prompt};
        aieb_chat_opts o = {.add_generation_prompt = 1,
                            .enable_thinking = thinking_switch(rq->extra_params)};
        char note[256];
        int rc = aieb_chat_render(&n->tmpl, msgs, k, &o, text, note, sizeof note, err);
        /* The template's markers (<|im_start|>, [INST]) are special tokens. */
        *special = 1;
        if (!rc && note[0]) {
            if (!n->n_chat_notes++) {
                snprintf(n->chat_note, sizeof n->chat_note, "%s", note);
                AIEB_WARN("native: %s", note);
            }
        }
        return rc;
    }
    if (!n->chat && rq->raw_prompt)
        return aieb_buf_puts(text, rq->raw_prompt) ? aieb_errf(err, AIEB_ENOMEM, "out of memory")
                                                   : 0;
    int rc = sys ? aieb_buf_printf(text, "%s\n\n", sys) : 0;
    if (!rc)
        rc = aieb_buf_puts(text, prompt);
    return rc ? aieb_errf(err, AIEB_ENOMEM, "out of memory") : 0;
}

static int tokenize_prompt(native *n, const aieb_request *rq, size_t *n_ids, aieb_err *err)
{
    aieb_buf text;
    aieb_buf_init(&text, 0);
    int special = 0;
    int rc = prompt_text(n, rq, &text, &special, err);
    if (rc) {
        aieb_buf_free(&text);
        return rc;
    }
    size_t room = n->ids_cap - (size_t)n->gen.max_new_tokens;
    rc = aieb_engine_tokenize_ex(n->engine, text.data, text.len, 1, special, n->ids, n->ids_cap,
                                 n_ids, err);
    if (rc == AIEB_ETOOBIG || (!rc && *n_ids > room)) {
        /* Keep the prompt's end (the question usually comes last). Tokenize into a
         * bigger scratch buffer to find the tail. */
        /* Byte fallback can spend a token per byte, plus word markers. */
        size_t cap = 2 * text.len + 8;
        int32_t *all = malloc(cap * sizeof *all);
        size_t n_all = 0;
        rc = all ? aieb_engine_tokenize_ex(n->engine, text.data, text.len, 1, special, all, cap,
                                           &n_all, err)
                 : aieb_errf(err, AIEB_ENOMEM, "out of memory");
        if (!rc) {
            /* Keep BOS, then the last tokens that fit. */
            size_t keep_bos = n_all && n->bos_id >= 0 && all[0] == n->bos_id ? 1 : 0;
            n->ids[0] = all[0];
            memcpy(n->ids + keep_bos, all + (n_all - (room - keep_bos)),
                   (room - keep_bos) * sizeof *all);
            *n_ids = room;
            n->n_truncated++;
        }
        free(all);
    }
    aieb_buf_free(&text);
    return rc;
}

static int native_run(aieb_backend *b, const aieb_request *reqs, size_t count, int max_concurrency,
                      int grace_ms, aieb_result_cb cb, void *user,
                      const volatile sig_atomic_t *stop, aieb_err *err)
{
    native *n = b->ctx;
    n->grace_ms = grace_ms > 0 ? grace_ms : 0;
    n->stop_seen_ns = 0;
    if (!n->engine)
        return aieb_errf(err, AIEB_EINVAL, "native: model not loaded");
    if (max_concurrency > n->concurrency_asked)
        n->concurrency_asked = max_concurrency;
    n->stop = stop;
    aieb_sample_params sp;
    aieb_sample_params_init(&sp);
    sp.max_new_tokens = n->gen.max_new_tokens;
    sp.min_new_tokens = n->gen.min_new_tokens;
    int ignore_eos = n->gen.ignore_eos > 0 ||
                     (n->gen.ignore_eos < 0 && n->gen.min_new_tokens == n->gen.max_new_tokens);
    /* do_sample false: greedy. Otherwise the configured temperature; sampling
     * asked for without one uses 1.0 (transformers' default); neither: greedy. */
    float temperature;
    if (n->gen.do_sample == 0)
        temperature = 0.0f;
    else if (n->gen.temperature >= 0)
        temperature = (float)n->gen.temperature;
    else
        temperature = n->gen.do_sample == 1 ? 1.0f : 0.0f;
    sp.top_k = n->gen.top_k > 0 ? n->gen.top_k : 0;
    sp.top_p = n->gen.top_p > 0 ? (float)n->gen.top_p : 0.0f;
    sp.seed = n->gen.seed >= 0 ? (uint64_t)n->gen.seed : 0;

    for (size_t i = 0; i < count; i++) {
        const aieb_request *rq = &reqs[i];
        aieb_result r;
        memset(&r, 0, sizeof r);
        r.index = rq->index;
        r.prompt_tokens = r.completion_tokens = r.reasoning_tokens = -1;
        r.prompt_chars = rq->prompt ? strlen(rq->prompt) : 0;
        if (rq->arrival_ns && aieb_sleep_ns(rq->arrival_ns - aieb_now_ns(), stop) != 0)
            break;
        if (stop && *stop)
            break;
        r.queued_ns = aieb_now_ns();
        size_t n_ids = 0;
        aieb_err rerr = {0};
        aieb_engine_reset(n->engine);
        n->n_chunks = 0;
        r.sent_ns = aieb_now_ns();
        int rc = tokenize_prompt(n, rq, &n_ids, &rerr);
        aieb_gen_stats st;
        memset(&st, 0, sizeof st);
        /* energy_star's passes ask for an exact count, never above the
         * configured maximum the buffers are sized for. */
        sp.max_new_tokens = n->gen.max_new_tokens;
        sp.min_new_tokens = n->gen.min_new_tokens;
        sp.ignore_eos = ignore_eos;
        if (rq->new_tokens > 0) {
            sp.max_new_tokens = sp.min_new_tokens =
                rq->new_tokens < n->gen.max_new_tokens ? rq->new_tokens : n->gen.max_new_tokens;
            sp.ignore_eos = 1;
        }
        sp.temperature = rq->greedy ? 0.0f : temperature;
        if (!rc) {
            /* Each request gets its own sampling stream, reproducible by index. */
            sp.seed = (n->gen.seed >= 0 ? (uint64_t)n->gen.seed : 0) + rq->index;
            rc = aieb_engine_generate(n->engine, n->ids, n_ids, &sp, on_token, n, &st, &rerr);
        }
        r.done_ns = aieb_now_ns();
        if (rc) {
            r.error_kind = AIEB_REQ_ENGINE;
            r.error = strdup(rerr.msg);
        } else {
            r.prompt_tokens = st.prompt_tokens;
            r.completion_tokens = st.completion_tokens;
            r.prefill_end_ns = st.prefill_end_ns;
            r.done_ns = st.done_ns ? st.done_ns : r.done_ns;
            if (n->n_chunks) {
                r.first_token_ns = r.first_content_ns = n->chunks[0];
                r.chunk_ns = n->chunks;
                r.n_chunks = n->n_chunks;
            }
            if (st.stop == AIEB_STOP_CALLBACK && stop && *stop) {
                r.error_kind = AIEB_REQ_CANCELLED;
                r.error = strdup("stopped by an interrupt");
            }
        }
        int want_stop = cb ? cb(user, &r) : 0;
        r.chunk_ns = NULL; /* owned by the backend */
        aieb_result_clear(&r);
        if (want_stop || (stop && *stop))
            break;
    }
    return 0;
}

/* ==== Info and life cycle ================================================== */

static json_t *native_info(aieb_backend *b)
{
    native *n = b->ctx;
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string("native"));
    json_object_set_new(o, "model", json_string(n->model));
    if (n->loaded_once) {
        const aieb_model_info mi = n->mi;
        json_object_set_new(o, "name", json_string(mi.name));
        json_object_set_new(o, "arch", json_string(mi.arch));
        json_object_set_new(o, "weight_type", json_string(mi.weight_type));
        json_object_set_new(o, "tokenizer", json_string(mi.tokenizer));
        json_object_set_new(o, "kernels", json_string(mi.kernels));
        json_object_set_new(o, "synthetic", json_boolean(mi.synthetic));
        json_object_set_new(o, "n_layers", json_integer(mi.n_layers));
        json_object_set_new(o, "n_params", json_integer((json_int_t)mi.n_params));
        json_object_set_new(o, "weight_bytes", json_integer((json_int_t)mi.weight_bytes));
        json_object_set_new(o, "context_length", json_integer(mi.context_length));
        json_object_set_new(o, "threads", json_integer(mi.threads));
        json_object_set_new(o, "blas", json_boolean(mi.blas));
        json_object_set_new(o, "load_time_s", json_real((double)n->load_ns / 1e9));
        json_t *loaded = aieb_model_info_loaded_json(&mi);
        if (loaded)
            json_object_update(o, loaded);
        json_decref(loaded);
        json_object_set_new(o, "prompt_format",
                            json_string(!n->chat                              ? "plain text"
                                        : n->tmpl.family == AIEB_CHAT_NONE    ? "plain text (no "
                                                                                "chat template)"
                                        : n->tmpl.family == AIEB_CHAT_UNKNOWN ? "plain text "
                                                                                "(template not "
                                                                                "recognised)"
                                                                              : "chat template"));
        if (!isnan(n->rss_before_mb) && !isnan(n->rss_after_mb)) {
            json_object_set_new(o, "rss_before_load_mb", json_real(n->rss_before_mb));
            json_object_set_new(o, "rss_after_load_mb", json_real(n->rss_after_mb));
            json_object_set_new(o, "load_rss_growth_mb",
                                json_real(n->rss_after_mb - n->rss_before_mb));
        }
        if (!isnan(n->rss_unloaded_mb) && !isnan(n->rss_after_mb)) {
            json_object_set_new(o, "rss_after_unload_mb", json_real(n->rss_unloaded_mb));
            json_object_set_new(o, "unload_rss_freed_mb",
                                json_real(n->rss_after_mb - n->rss_unloaded_mb));
        }
    }
    json_object_set_new(o, "prompts_truncated_to_context",
                        json_integer((json_int_t)n->n_truncated));
    if (n->chat_note[0]) {
        char w[400];
        snprintf(w, sizeof w, "native: %s (%zu request(s))", n->chat_note, n->n_chat_notes);
        json_object_set_new(o, "warnings", json_pack("[s]", w));
    }
    if (n->concurrency_asked > 1)
        json_object_set_new(o, "note",
                            json_string("native runs one request at a time; "
                                        "scenario.max_concurrency was ignored"));
    return o;
}

/* Frees the model and its buffers after the workload; the runner calls this
 * while the meter still runs. */
static int native_unload(aieb_backend *b, aieb_err *err)
{
    native *n = b->ctx;
    (void)err;
    aieb_engine_close(n->engine);
    n->engine = NULL;
    n->rss_unloaded_mb = rss_mb();
    return 0;
}

static void native_close(aieb_backend *b)
{
    if (!b)
        return;
    native *n = b->ctx;
    aieb_engine_close(n->engine);
    free(n->ids);
    free(n->chunks);
    free(n->model);
    free(n);
    free(b);
}

static const aieb_backend_ops native_ops = {
    .load = native_load,
    .health = NULL,
    .run = native_run,
    .unload = native_unload,
    .info = native_info,
    .close = native_close,
};

int aieb_native_backend_open(const aieb_native_opts *opts, aieb_backend **out, aieb_err *err)
{
    *out = NULL;
    if (!opts->model || !*opts->model)
        return aieb_errf(err, AIEB_EINVAL, "native: backend.model is not set");
    if (opts->gen.max_new_tokens < 1)
        return aieb_errf(err, AIEB_EINVAL, "native: max_new_tokens must be >= 1");
    aieb_backend *b = calloc(1, sizeof *b);
    native *n = calloc(1, sizeof *n);
    if (!b || !n || !(n->model = strdup(opts->model))) {
        free(b);
        free(n);
        return aieb_errf(err, AIEB_ENOMEM, "out of memory");
    }
    aieb_engine_opts_init(&n->eopts);
    n->rss_unloaded_mb = NAN;
    n->eopts.threads = opts->threads;
    n->eopts.context_length = opts->context_length;
    n->chat = !opts->api || strcmp(opts->api, "completions") != 0;
    n->gen = opts->gen;
    b->ops = &native_ops;
    b->ctx = n;
    *out = b;
    return 0;
}
