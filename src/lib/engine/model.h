/* model.h - a transformer's shapes and weights, from a GGUF file or made up (synthetic).
 *
 * Weight matrices keep GGUF's layout: a (rows, cols) matrix is stored as rows of cols
 * values (GGUF ne[0] = cols, ne[1] = rows), so y = W x is one dot product per row.
 */
#ifndef AIEB_ENGINE_MODEL_H
#define AIEB_ENGINE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "aieb/err.h"
#include "aieb/gguf.h"
#include "engine/pool.h"

/* llama: adjacent-pair RoPE; qwen2: q/k/v biases; qwen3: per-head RMSNorm of q and k;
 * phi3: fused attn_qkv and gate|up (qwen2, qwen3 and phi3 rotate halves, NEOX style). */
typedef enum { ARCH_LLAMA = 0, ARCH_QWEN2 = 1, ARCH_QWEN3 = 2, ARCH_PHI3 = 3 } model_arch;

/* Slots of per-type tensor statistics (ggml type ids are below this). */
#define MODEL_N_TYPES 64

/* A weight matrix: rows x cols values of one type, rows row_bytes apart. */
typedef struct wmat {
    uint32_t type; /* aieb_ggml_type: one model_type_supported() accepts */
    int rows, cols;
    size_t row_bytes;
    const uint8_t *data;
} wmat;

typedef struct hparams {
    model_arch arch;
    int n_embd, n_ff, n_layers, n_heads, n_kv_heads, head_dim, n_vocab;
    int n_rot;        /* dimensions of each head that RoPE rotates (<= head_dim) */
    int n_ctx_train;  /* context the model was trained for */
    int rope_neox;    /* 1: rotate (i, i + n_rot/2) (qwen2); 0: (2i, 2i+1) (llama) */
    float rope_base;  /* rope.freq_base */
    float rope_scale; /* positions are multiplied by this (1 / linear scaling factor) */
    float norm_eps;   /* RMSNorm epsilon */
} hparams;

typedef struct layer_w {
    const float *attn_norm, *ffn_norm; /* (n_embd) */
    const float *bq, *bk, *bv;         /* (q_dim), (kv_dim), (kv_dim); qwen2 only, else NULL */
    const float *q_norm, *k_norm;      /* (head_dim) each; qwen3 only, else NULL */
    wmat wq;                           /* (n_heads*head_dim, n_embd) */
    wmat wk, wv;                       /* (n_kv_heads*head_dim, n_embd); phi3: views of attn_qkv */
    wmat wo;                           /* (n_embd, n_heads*head_dim) */
    wmat w_gate, w_up;                 /* (n_ff, n_embd); phi3: views of one fused tensor */
    wmat w_down;                       /* (n_embd, n_ff) */
} layer_w;

typedef struct model {
    hparams hp;
    char name[96];
    int synthetic;
    wmat tok_embd; /* (n_vocab, n_embd) */
    wmat output;   /* (n_vocab, n_embd); = tok_embd when tied */
    int tied;
    const float *output_norm; /* (n_embd) */
    const float *rope_freqs;  /* (n_rot/2) divisors of each pair's frequency, or NULL */
    layer_w *layers;          /* (n_layers) */
    uint32_t main_type;       /* the type holding most weight bytes */
    uint64_t n_params, weight_bytes;
    uint32_t type_tensors[MODEL_N_TYPES]; /* tensors of each ggml type (file-backed models) */
    uint64_t type_bytes[MODEL_N_TYPES];   /* their bytes */

    /* storage */
    aieb_gguf *gguf; /* file-backed weights, or NULL */
    void *arena;     /* synthetic weights (mmap'ed), or NULL */
    size_t arena_bytes;
    float *fvec; /* norms and biases converted to float */
} model;

/* Loads shapes and weights from a parsed GGUF file; m takes ownership of g (also on
 * failure). Checks the architecture, every tensor's presence, type and shape, and the
 * hyperparameters' consistency; errors name the key or tensor. */
int model_load_gguf(model *m, aieb_gguf *g, aieb_err *err);

/* Builds a synthetic model from "preset[?type=t&seed=n]" (the part after
 * "synthetic:"), filling the weights in parallel on the pool. Fails with
 * AIEB_ENOTFOUND (unknown preset), AIEB_EINVAL (bad option), AIEB_ENOMEM. */
int model_synthetic(model *m, const char *spec, pool *p, aieb_err *err);

/* Frees what the model owns (also after a failed load). */
void model_free(model *m);

/* "llama", "qwen2", "qwen3" or "phi3". This function can't fail. */
const char *model_arch_name(model_arch a);

/* Whether a weight type is one the forward pass can multiply with. */
int model_type_supported(uint32_t type);

#endif
