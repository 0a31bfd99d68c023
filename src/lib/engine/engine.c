/* engine.c - the public engine API: open, describe, tokenize, generate (see engine.h). */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aieb/buf.h"
#include "aieb/clock.h"
#include "aieb/log.h"
#include "engine/engine_impl.h"

#define DEFAULT_CTX   4096
#define DEFAULT_BATCH 256
#define MAX_CTX       (1 << 20)
#define MAX_THREADS   1024

void aieb_engine_opts_init(aieb_engine_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->kernels = AIEB_KERNELS_AUTO;
    opts->use_blas = 1;
}

void aieb_sample_params_init(aieb_sample_params *p)
{
    memset(p, 0, sizeof *p);
    p->max_new_tokens = 16;
}

/* CPUs this process may run on (affinity), else the online count. */
static int usable_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* The chat template's family and the pre-tokenizer's name, for what the engine reports
 * and for rendering conversations. Absent keys leave them empty. */
static void read_chat_facts(aieb_engine *e, const aieb_gguf *g)
{
    aieb_gguf_str s;
    if (aieb_gguf_get_str(g, "tokenizer.chat_template", &s, NULL) == 0)
        aieb_chat_detect(s.ptr, s.len, &e->chat);
    else
        aieb_chat_detect(NULL, 0, &e->chat);
    /* the EOS token's text, for templates that write eos_token (Zephyr) */
    if (e->tok.tokens && e->tok.eos_id >= 0 && (uint64_t)e->tok.eos_id < e->tok.tokens->arr_n) {
        s = aieb_gguf_arr_str(e->tok.tokens, (uint64_t)e->tok.eos_id);
        if (s.len < sizeof e->chat.eos)
            snprintf(e->chat.eos, sizeof e->chat.eos, "%.*s", (int)s.len, s.ptr);
    }
}

static int load_model(aieb_engine *e, const char *name, aieb_err *err)
{
    int rc;
    if (strncmp(name, "synthetic:", 10) == 0) {
        if ((rc = model_synthetic(&e->m, name + 10, e->pool, err)) != 0)
            return rc;
        return tokenizer_init_bytes(&e->tok, e->m.hp.n_vocab, err);
    }
    aieb_gguf *g;
    if ((rc = aieb_gguf_open(name, &g, err)) != 0)
        return rc;
    if (e->vocab_only) { /* the file's tensors (if any) are not looked at */
        e->m.gguf = g;
        if ((rc = tokenizer_init_gguf(&e->tok, g, 0, err)) != 0)
            return aieb_err_prefix(err, "%s", name);
        if (e->tok.kind == TOK_NONE)
            return aieb_errf(err, AIEB_EUNSUPPORTED,
                             "%s: no vocabulary this engine reads (tokenizer.ggml.model missing "
                             "or not 'llama' or 'gpt2')",
                             name);
        e->m.hp.n_vocab = e->tok.n_vocab;
        return 0;
    }
    if ((rc = model_load_gguf(&e->m, g, err)) != 0)
        return aieb_err_prefix(err, "%s", name);
    if ((rc = tokenizer_init_gguf(&e->tok, g, e->m.hp.n_vocab, err)) != 0)
        return aieb_err_prefix(err, "%s", name);
    read_chat_facts(e, g);
    if (!e->m.name[0]) {
        const char *base = strrchr(name, '/');
        snprintf(e->m.name, sizeof e->m.name, "%s", base ? base + 1 : name);
    }
    return 0;
}

int aieb_engine_open(const char *model_name, const aieb_engine_opts *opts, aieb_engine **out,
                     aieb_err *err)
{
    *out = NULL;
    aieb_engine_opts o;
    if (opts)
        o = *opts;
    else
        aieb_engine_opts_init(&o);
    if (!model_name || !*model_name)
        return aieb_errf(err, AIEB_EINVAL, "engine: no model given");
    if (o.threads < 0 || o.threads > MAX_THREADS)
        return aieb_errf(err, AIEB_EINVAL, "engine: threads must be 0..%d, not %d", MAX_THREADS,
                         o.threads);
    if (o.context_length < 0 || o.context_length > MAX_CTX)
        return aieb_errf(err, AIEB_EINVAL, "engine: context_length must be 0..%d, not %d", MAX_CTX,
                         o.context_length);
    if (o.max_batch < 0 || o.max_batch > 65536)
        return aieb_errf(err, AIEB_EINVAL, "engine: max_batch must be 0..65536, not %d",
                         o.max_batch);
    aieb_engine *e = calloc(1, sizeof *e);
    if (!e)
        return aieb_errf(err, AIEB_ENOMEM, "engine: out of memory");
    e->vocab_only = o.vocab_only;
    e->n_threads = o.vocab_only ? 1 : o.threads ? o.threads : usable_cores();
    int rc = kernels_select(o.kernels, &e->k, err);
    if (!rc)
        rc = pool_create(e->n_threads, &e->pool, err);
    if (!rc)
        rc = load_model(e, model_name, err);
    if (rc) {
        aieb_engine_close(e);
        return rc;
    }
    if (e->vocab_only) {
        *out = e;
        return 0;
    }
    const hparams *hp = &e->m.hp;
    e->n_ctx = o.context_length ? o.context_length
                                : (hp->n_ctx_train < DEFAULT_CTX ? hp->n_ctx_train : DEFAULT_CTX);
    if (e->n_ctx > hp->n_ctx_train)
        AIEB_WARN("engine: context_length %d is longer than the %d positions %s was trained for",
                  e->n_ctx, hp->n_ctx_train, e->m.name);
    e->max_batch = o.max_batch ? o.max_batch : DEFAULT_BATCH;
    if (e->max_batch > e->n_ctx)
        e->max_batch = e->n_ctx;
    if (o.use_blas)
        blas_load(&e->blas);
    if ((rc = sampler_init(&e->smp, hp->n_vocab, err)) != 0 || (rc = forward_alloc(e, err)) != 0) {
        aieb_engine_close(e);
        return rc;
    }
    *out = e;
    return 0;
}

void aieb_engine_close(aieb_engine *e)
{
    if (!e)
        return;
    forward_free(e);
    sampler_free(&e->smp);
    tokenizer_free(&e->tok);
    model_free(&e->m);
    pool_destroy(e->pool);
    blas_unload(&e->blas);
    free(e);
}

static const char *type_name(uint32_t t)
{
    const char *n = aieb_ggml_type_name(t);
    return n ? n : "?";
}

void aieb_engine_info(const aieb_engine *e, aieb_model_info *info)
{
    const model *m = &e->m;
    const hparams *hp = &m->hp;
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "%s", m->name);
    snprintf(info->arch, sizeof info->arch, "%s", model_arch_name(hp->arch));
    snprintf(info->weight_type, sizeof info->weight_type, "%s", type_name(m->main_type));
    snprintf(info->tokenizer, sizeof info->tokenizer, "%s", tokenizer_kind_name(e->tok.kind));
    if (e->tok.kind == TOK_GPT2)
        snprintf(info->tokenizer_pre, sizeof info->tokenizer_pre, "%s", e->tok.pre);
    snprintf(info->kernels, sizeof info->kernels, "%s", e->k->name);
    info->synthetic = m->synthetic;
    info->n_layers = hp->n_layers;
    info->n_embd = hp->n_embd;
    info->n_ff = hp->n_ff;
    info->n_heads = hp->n_heads;
    info->n_kv_heads = hp->n_kv_heads;
    info->head_dim = hp->head_dim;
    info->n_vocab = hp->n_vocab;
    info->context_length = e->n_ctx;
    info->model_context_length = hp->n_ctx_train;
    info->threads = e->n_threads;
    info->blas = e->blas.sgemm != NULL;
    info->bos_id = e->tok.bos_id;
    info->eos_id = e->tok.eos_id;
    info->eot_id = e->tok.eot_id;
    _Static_assert(sizeof info->eog_ids == sizeof e->tok.eog, "eog_ids holds TOK_MAX_EOG ids");
    info->n_eog = e->tok.n_eog;
    memcpy(info->eog_ids, e->tok.eog, sizeof e->tok.eog);
    info->add_bos = e->tok.add_bos;
    info->n_params = m->n_params;
    info->weight_bytes = m->weight_bytes;
    uint64_t embd_bytes = (uint64_t)m->tok_embd.row_bytes * (uint64_t)m->tok_embd.rows;
    info->decode_bytes = m->weight_bytes - (m->tied ? 0 : embd_bytes);
    info->kv_cache_bytes = 2 * (uint64_t)e->kv_bytes;
    snprintf(info->chat_template, sizeof info->chat_template, "%s",
             aieb_chat_family_name(e->chat.family));
    int k = 0;
    for (uint32_t t = 0; t < MODEL_N_TYPES && k < 16; t++) {
        if (!m->type_tensors[t])
            continue;
        snprintf(info->tensor_types[k].type, sizeof info->tensor_types[k].type, "%s", type_name(t));
        info->tensor_types[k].tensors = m->type_tensors[t];
        info->tensor_types[k].bytes = m->type_bytes[t];
        k++;
    }
    info->n_tensor_types = k;
}

json_t *aieb_model_info_loaded_json(const aieb_model_info *info)
{
    json_t *o = json_object(), *types = json_object();
    aieb_buf line;
    aieb_buf_init(&line, 0);
    int rc = !o || !types;
    for (int i = 0; !rc && i < info->n_tensor_types; i++) {
        rc |= json_object_set_new(types, info->tensor_types[i].type,
                                  json_pack("{s:i, s:I}", "tensors",
                                            (int)info->tensor_types[i].tensors, "bytes",
                                            (json_int_t)info->tensor_types[i].bytes));
        rc |= aieb_buf_printf(&line, "%s%s %u tensors %.1f MB", i ? ", " : "",
                              info->tensor_types[i].type, info->tensor_types[i].tensors,
                              (double)info->tensor_types[i].bytes / 1e6);
    }
    if (!rc) {
        rc |= json_object_set_new(o, "arch", json_string(info->arch));
        rc |= json_object_set_new(o, "tensors", json_string(line.data ? line.data : ""));
        rc |= json_object_set_new(o, "tensor_types", types);
        types = NULL;
        rc |= json_object_set_new(o, "tokenizer", json_string(info->tokenizer));
        rc |= json_object_set_new(o, "tokenizer_pre", json_string(info->tokenizer_pre));
        rc |= json_object_set_new(o, "chat_template", json_string(info->chat_template));
        json_t *eog = json_array();
        for (int i = 0; eog && i < info->n_eog; i++)
            rc |= json_array_append_new(eog, json_integer(info->eog_ids[i]));
        rc |= json_object_set_new(o, "eog_ids", eog);
    }
    aieb_buf_free(&line);
    json_decref(types);
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

const aieb_chat_template *aieb_engine_chat_template(const aieb_engine *e)
{
    return &e->chat;
}

int aieb_engine_tokenize(aieb_engine *e, const char *text, int add_bos, int32_t *ids,
                         size_t max_ids, size_t *n_ids, aieb_err *err)
{
    return tokenizer_encode(&e->tok, text, strlen(text), add_bos && e->tok.add_bos, 0, ids, max_ids,
                            n_ids, err);
}

int aieb_engine_tokenize_ex(aieb_engine *e, const char *text, size_t len, int add_bos,
                            int parse_special, int32_t *ids, size_t max_ids, size_t *n_ids,
                            aieb_err *err)
{
    return tokenizer_encode(&e->tok, text, len, add_bos && e->tok.add_bos, parse_special, ids,
                            max_ids, n_ids, err);
}

const char *aieb_engine_token_text(aieb_engine *e, int32_t id, size_t *len)
{
    return tokenizer_piece(&e->tok, id, 0, len);
}

const char *aieb_engine_token_piece(aieb_engine *e, int32_t id, size_t *len)
{
    return tokenizer_piece(&e->tok, id, 1, len);
}

int aieb_engine_detokenize(aieb_engine *e, const int32_t *ids, size_t n, aieb_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *p = tokenizer_piece(&e->tok, ids[i], 0, &len);
        int rc = aieb_buf_append(out, p, len);
        if (rc)
            return rc;
    }
    return 0;
}

const float *aieb_engine_logits(const aieb_engine *e)
{
    return e->have_logits ? e->logits : NULL;
}

void aieb_engine_reset(aieb_engine *e)
{
    e->n_past = 0;
    e->have_logits = 0;
}

int aieb_engine_position(const aieb_engine *e)
{
    return e->n_past;
}

int aieb_engine_generate(aieb_engine *e, const int32_t *prompt, size_t n_prompt,
                         const aieb_sample_params *p, aieb_token_fn cb, void *user,
                         aieb_gen_stats *stats, aieb_err *err)
{
    aieb_sample_params def;
    aieb_gen_stats local;
    if (!p) {
        aieb_sample_params_init(&def);
        p = &def;
    }
    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof *stats);
    const hparams *hp = &e->m.hp;
    if (e->vocab_only)
        return aieb_errf(err, AIEB_EINVAL, "engine: opened for its vocabulary only; no weights");
    if (n_prompt == 0)
        return aieb_errf(err, AIEB_EINVAL, "engine: the prompt is empty");
    for (size_t i = 0; i < n_prompt; i++)
        if (prompt[i] < 0 || prompt[i] >= hp->n_vocab)
            return aieb_errf(err, AIEB_EINVAL,
                             "engine: prompt token %zu is id %d, outside 0..%d of the vocabulary",
                             i, (int)prompt[i], hp->n_vocab - 1);
    if (p->max_new_tokens < 0 || p->min_new_tokens < 0)
        return aieb_errf(err, AIEB_EINVAL,
                         "engine: max_new_tokens and min_new_tokens must be >= 0");
    if (n_prompt > (size_t)(e->n_ctx - e->n_past))
        return aieb_errf(err, AIEB_EINVAL,
                         "engine: a prompt of %zu tokens does not fit the %d free positions of "
                         "the context (context_length %d)",
                         n_prompt, e->n_ctx - e->n_past, e->n_ctx);

    stats->start_ns = aieb_now_ns();
    stats->prompt_tokens = (int)n_prompt;
    for (size_t i = 0; i < n_prompt; i += (size_t)e->max_batch) {
        int nb = (int)(n_prompt - i < (size_t)e->max_batch ? n_prompt - i : (size_t)e->max_batch);
        forward(e, prompt + i, nb, i + (size_t)nb == n_prompt);
        e->n_past += nb;
    }
    stats->prefill_end_ns = aieb_now_ns();
    stats->stop = AIEB_STOP_LENGTH;
    sampler_seed(&e->smp, p->seed);
    int made = 0;
    while (made < p->max_new_tokens) {
        int hold = p->ignore_eos || made < p->min_new_tokens;
        int32_t tok = sampler_sample(&e->smp, e->logits, p, e->tok.eog, hold ? e->tok.n_eog : 0);
        int64_t t_ns = aieb_now_ns();
        if (tokenizer_is_eog(&e->tok, tok)) {
            stats->stop = AIEB_STOP_EOS;
            break;
        }
        made++;
        stats->completion_tokens = made;
        if (cb && cb(user, tok, t_ns) != 0) {
            stats->stop = AIEB_STOP_CALLBACK;
            break;
        }
        if (made == p->max_new_tokens)
            break;
        if (e->n_past >= e->n_ctx) {
            stats->stop = AIEB_STOP_CONTEXT;
            break;
        }
        forward(e, &tok, 1, 1);
        e->n_past++;
    }
    stats->done_ns = aieb_now_ns();
    return 0;
}
