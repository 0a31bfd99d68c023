/* engine_impl.h - the engine's state, shared by engine.c and forward.c. */
#ifndef AIEB_ENGINE_IMPL_H
#define AIEB_ENGINE_IMPL_H

#include "aieb/engine.h"
#include "engine/blas.h"
#include "engine/kernels.h"
#include "engine/model.h"
#include "engine/pool.h"
#include "engine/sampler.h"
#include "engine/tokenizer.h"

/* Rows a thread converts to float at a time before handing them to sgemm. */
#define TILE_ROWS 32

struct aieb_engine {
    model m;
    tokenizer tok;
    sampler smp;
    const kernels *k;
    pool *pool;
    blas_lib blas; /* loaded OpenBLAS, or .sgemm NULL */
    int n_threads;
    int vocab_only; /* only e->tok is usable */
    int n_ctx;      /* KV cache positions */
    int max_batch;  /* tokens per forward call */
    int n_past;     /* positions filled in the KV cache */
    int have_logits;
    aieb_chat_template chat; /* from tokenizer.chat_template */

    /* activations, allocated once for max_batch tokens */
    float *x;           /* (B, n_embd) residual stream */
    float *xn;          /* (B, max(n_embd, q_dim)) normed input of the next matmul */
    float *q;           /* (B, q_dim) */
    float *att_out;     /* (B, q_dim) */
    float *tmp;         /* (B, n_embd) matmul output before the residual add */
    float *hb, *hb2;    /* (B, n_ff) gate and up */
    float *logits;      /* (n_vocab) at the last processed position */
    act_q8 xq;          /* (B, max(n_embd, q_dim, n_ff)) quantized matmul input */
    act_k xk;           /* the same per 256, for K-quant weights */
    float *att;         /* (n_threads, n_ctx) attention scores */
    float *tile;        /* (n_threads, TILE_ROWS * max cols) float copy of weight rows */
    size_t tile_floats; /* per thread: TILE_ROWS * max cols (also the packed products' scratch) */
    float *key_cache;   /* (n_layers, n_ctx, kv_dim) */
    float *value_cache; /* (n_layers, n_ctx, kv_dim) */
    float *rope_cos, *rope_sin; /* (n_ctx, n_rot/2) */
    size_t kv_bytes;
};

/* Allocates the activation buffers, KV cache and RoPE tables for e->m, e->n_ctx,
 * e->max_batch and e->n_threads. */
int forward_alloc(aieb_engine *e, aieb_err *err);
void forward_free(aieb_engine *e);

/* Runs tokens[0..n_tok) (n_tok <= max_batch) at positions n_past.. through the model
 * on the pool, filling the KV cache; when want_logits, e->logits holds the last
 * position's logits. The caller checks ranges and advances n_past. Can't fail. */
void forward(aieb_engine *e, const int32_t *tokens, int n_tok, int want_logits);

#endif
