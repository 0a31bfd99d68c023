/* test_engine_model.h - writes tiny llama/qwen2/qwen3/phi3 GGUF files with random weights for the
 * engine's tests (the project's own writer; the NumPy reference reads them back). */
#ifndef AIEB_TEST_ENGINE_MODEL_H
#define AIEB_TEST_ENGINE_MODEL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/gguf.h"
#include "engine/quant.h"

typedef struct tiny_cfg {
    const char *arch; /* "llama", "qwen2", "qwen3", "phi3" (any string, to test rejection) */
    uint32_t wtype;   /* type of every 2-D weight */
    uint32_t vtype;   /* type of norms and biases (F32, F16 or BF16) */
    int tied;         /* no output.weight */
    int n_embd, n_ff, n_layers, n_heads, n_kv_heads, n_vocab, n_ctx;
    float rope_base, eps;
    int rope_freqs;    /* write rope_freqs.weight */
    int biases;        /* write q/k/v biases (qwen2 needs them) */
    int head_dim;      /* when non-zero, attention.key_length/value_length (else n_embd / heads) */
    int qk_norm;       /* write attn_q_norm/attn_k_norm (qwen3) */
    int fused;         /* attn_qkv and a gate|up ffn_up instead of separate tensors (phi3) */
    float rope_linear; /* when > 0, rope.scaling.type linear with this factor */
    uint64_t seed;
    float std;                /* weights are uniform with this standard deviation */
    const char *skip_tensor;  /* leave this tensor out (error tests) */
    uint32_t odd_type_tensor; /* when non-zero, blk.0.ffn_down.weight gets this type */
    /* per-tensor types of a mixed file (llama.cpp's _S/_M/_L); 0 = wtype */
    uint32_t t_embd, t_output, t_q, t_k, t_v, t_o, t_gate, t_up, t_down;
    const char *const *tokens; /* optional vocabulary (tokenizer.ggml.model "llama") */
    const float *scores;
    const int32_t *token_types;
    int n_tokens;
    const char *tok_model;     /* tokenizer.ggml.model, default "llama" */
    const char *tok_pre;       /* tokenizer.ggml.pre, or NULL */
    const char *const *merges; /* tokenizer.ggml.merges (gpt2), or NULL */
    int n_merges;
    int eos_id;                /* tokenizer.ggml.eos_token_id (default 2) */
    const char *chat_template; /* tokenizer.chat_template, or NULL */
} tiny_cfg;

static inline void tiny_defaults(tiny_cfg *c, const char *arch, uint32_t wtype, int tied)
{
    memset(c, 0, sizeof *c);
    c->arch = arch;
    c->wtype = wtype;
    c->vtype = AIEB_GGML_F32;
    c->tied = tied;
    c->n_embd = 64;
    c->n_ff = 96;
    c->n_layers = 2;
    c->n_heads = 4;
    c->n_kv_heads = 2;
    c->n_vocab = 300;
    c->n_ctx = 128;
    c->rope_base = strcmp(arch, "qwen2") == 0 ? 1000000.0f : 10000.0f;
    c->eps = 1e-5f;
    c->biases = strcmp(arch, "qwen2") == 0;
    c->qk_norm = strcmp(arch, "qwen3") == 0;
    c->fused = strcmp(arch, "phi3") == 0;
    if (strcmp(arch, "qwen3") == 0) {
        c->rope_base = 1000000.0f;
        c->head_dim = 32; /* not n_embd / n_heads, as in Qwen3's own shapes */
    }
    c->seed = 1;
    c->std = 0.08f;
    c->eos_id = 2;
}

static inline float tiny_uniform(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (float)(z >> 40) * 0x1p-24f * 2.0f - 1.0f;
}

/* Adds a tensor of rows x cols (cols = ne[0]) filled with random values around base. */
static inline int tiny_tensor(aieb_gguf_writer *w, const tiny_cfg *c, uint64_t *rng,
                              const char *name, uint32_t type, int rows, int cols, float base,
                              float amp)
{
    if (c->skip_tensor && strcmp(c->skip_tensor, name) == 0)
        return 0;
    size_t n = (size_t)rows * cols;
    float *v = malloc(n * sizeof *v);
    size_t bytes = row_bytes(type, cols) * (size_t)rows;
    void *q = malloc(bytes ? bytes : 1);
    if (!v || !q) {
        free(v);
        free(q);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = base + amp * tiny_uniform(rng);
    for (int r = 0; r < rows; r++)
        quantize_row(type, v + (size_t)r * cols, (uint8_t *)q + row_bytes(type, cols) * r, cols);
    uint64_t ne[2] = {(uint64_t)cols, (uint64_t)rows};
    int rc = aieb_gguf_w_tensor(w, name, type, rows == 1 ? 1 : 2, ne, q, bytes);
    free(v);
    free(q);
    return rc;
}

/* Writes the model to path; returns 0 or a negative code. */
static inline int tiny_write(const tiny_cfg *c, const char *path)
{
    aieb_gguf_writer *w = aieb_gguf_writer_new(0);
    if (!w)
        return -1;
    char key[128];
    int rc = aieb_gguf_w_str(w, "general.architecture", c->arch);
    rc |= aieb_gguf_w_str(w, "general.name", "tiny test model");
#define KEY(s) (snprintf(key, sizeof key, "%s." s, c->arch), key)
    rc |= aieb_gguf_w_u32(w, KEY("context_length"), (uint32_t)c->n_ctx);
    rc |= aieb_gguf_w_u32(w, KEY("embedding_length"), (uint32_t)c->n_embd);
    rc |= aieb_gguf_w_u32(w, KEY("block_count"), (uint32_t)c->n_layers);
    rc |= aieb_gguf_w_u32(w, KEY("feed_forward_length"), (uint32_t)c->n_ff);
    rc |= aieb_gguf_w_u32(w, KEY("attention.head_count"), (uint32_t)c->n_heads);
    rc |= aieb_gguf_w_u32(w, KEY("attention.head_count_kv"), (uint32_t)c->n_kv_heads);
    rc |= aieb_gguf_w_f32(w, KEY("rope.freq_base"), c->rope_base);
    rc |= aieb_gguf_w_f32(w, KEY("attention.layer_norm_rms_epsilon"), c->eps);
    if (c->head_dim) {
        rc |= aieb_gguf_w_u32(w, KEY("attention.key_length"), (uint32_t)c->head_dim);
        rc |= aieb_gguf_w_u32(w, KEY("attention.value_length"), (uint32_t)c->head_dim);
    }
    if (c->rope_linear > 0) {
        rc |= aieb_gguf_w_str(w, KEY("rope.scaling.type"), "linear");
        rc |= aieb_gguf_w_f32(w, KEY("rope.scaling.factor"), c->rope_linear);
    }
#undef KEY
    if (c->tokens) {
        rc |= aieb_gguf_w_str(w, "tokenizer.ggml.model", c->tok_model ? c->tok_model : "llama");
        rc |= aieb_gguf_w_arr(w, "tokenizer.ggml.tokens", AIEB_GGUF_STRING, c->tokens,
                              (uint64_t)c->n_tokens);
        if (c->scores)
            rc |= aieb_gguf_w_arr(w, "tokenizer.ggml.scores", AIEB_GGUF_FLOAT32, c->scores,
                                  (uint64_t)c->n_tokens);
        if (c->token_types)
            rc |= aieb_gguf_w_arr(w, "tokenizer.ggml.token_type", AIEB_GGUF_INT32, c->token_types,
                                  (uint64_t)c->n_tokens);
        rc |= aieb_gguf_w_u32(w, "tokenizer.ggml.bos_token_id", 1);
        rc |= aieb_gguf_w_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)c->eos_id);
        rc |= aieb_gguf_w_u32(w, "tokenizer.ggml.unknown_token_id", 0);
        if (c->tok_pre)
            rc |= aieb_gguf_w_str(w, "tokenizer.ggml.pre", c->tok_pre);
        if (c->merges)
            rc |= aieb_gguf_w_arr(w, "tokenizer.ggml.merges", AIEB_GGUF_STRING, c->merges,
                                  (uint64_t)c->n_merges);
    }
    if (c->chat_template)
        rc |= aieb_gguf_w_str(w, "tokenizer.chat_template", c->chat_template);
    uint64_t rng = c->seed * 0x2545f4914f6cdd1dull + 7;
    int D = c->n_embd, hd = c->head_dim ? c->head_dim : c->n_embd / c->n_heads;
    int qd = c->n_heads * hd, kvd = c->n_kv_heads * hd;
    float a = c->std * 1.7320508f;
#define TYPE(f) (c->f ? c->f : c->wtype)
    rc |= tiny_tensor(w, c, &rng, "token_embd.weight", TYPE(t_embd), c->n_vocab, D, 0, 4 * a);
    if (!c->tied)
        rc |= tiny_tensor(w, c, &rng, "output.weight", TYPE(t_output), c->n_vocab, D, 0, a);
    rc |= tiny_tensor(w, c, &rng, "output_norm.weight", c->vtype, 1, D, 1.0f, 0.2f);
    if (c->rope_freqs)
        rc |= tiny_tensor(w, c, &rng, "rope_freqs.weight", AIEB_GGML_F32, 1, hd / 2, 2.0f, 0.9f);
    for (int l = 0; l < c->n_layers; l++) {
        char n[96];
#define T(name, type, rows, cols, base, amp)                                                       \
    (snprintf(n, sizeof n, "blk.%d." name, l),                                                     \
     tiny_tensor(w, c, &rng, n, type, rows, cols, base, amp))
        rc |= T("attn_norm.weight", c->vtype, 1, D, 1.0f, 0.2f);
        if (c->fused) {
            rc |= T("attn_qkv.weight", TYPE(t_q), qd + 2 * kvd, D, 0, a);
        } else {
            rc |= T("attn_q.weight", TYPE(t_q), qd, D, 0, a);
            rc |= T("attn_k.weight", TYPE(t_k), kvd, D, 0, a);
            rc |= T("attn_v.weight", TYPE(t_v), kvd, D, 0, a);
        }
        if (c->qk_norm) {
            rc |= T("attn_q_norm.weight", c->vtype, 1, hd, 1.0f, 0.5f);
            rc |= T("attn_k_norm.weight", c->vtype, 1, hd, 1.0f, 0.5f);
        }
        if (c->biases) {
            rc |= T("attn_q.bias", c->vtype, 1, qd, 0, 0.1f);
            rc |= T("attn_k.bias", c->vtype, 1, kvd, 0, 0.1f);
            rc |= T("attn_v.bias", c->vtype, 1, kvd, 0, 0.1f);
        }
        rc |= T("attn_output.weight", TYPE(t_o), D, qd, 0, a);
        rc |= T("ffn_norm.weight", c->vtype, 1, D, 1.0f, 0.2f);
        if (c->fused) {
            rc |= T("ffn_up.weight", TYPE(t_up), 2 * c->n_ff, D, 0, a);
        } else {
            rc |= T("ffn_gate.weight", TYPE(t_gate), c->n_ff, D, 0, a);
            rc |= T("ffn_up.weight", TYPE(t_up), c->n_ff, D, 0, a);
        }
        if (l == 0 && c->odd_type_tensor) {
            /* raw bytes of the right size for that type */
            uint32_t be, bb;
            aieb_ggml_type_size(c->odd_type_tensor, &be, &bb);
            size_t bytes = (size_t)D * (size_t)(c->n_ff / be) * bb;
            uint8_t *raw = calloc(1, bytes);
            uint64_t ne[2] = {(uint64_t)c->n_ff, (uint64_t)D};
            rc |= aieb_gguf_w_tensor(w, "blk.0.ffn_down.weight", c->odd_type_tensor, 2, ne, raw,
                                     bytes);
            free(raw);
        } else {
            rc |= T("ffn_down.weight", TYPE(t_down), D, c->n_ff, 0, a);
        }
#undef T
    }
#undef TYPE
    aieb_err err = {0};
    if (!rc)
        rc = aieb_gguf_writer_save(w, path, &err);
    aieb_gguf_writer_free(w);
    return rc;
}

#endif
