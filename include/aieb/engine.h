/* engine.h - the embedded inference engine: GGUF or synthetic models on the CPU.
 *
 * One aieb_engine holds a model (weights mmap'ed from a GGUF file, or seeded random
 * weights with a preset's real shapes), a KV cache allocated once, a pthread pool and
 * every activation buffer; generating allocates nothing per token. Architectures:
 * llama, qwen2, qwen3 and phi3. Weight types: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0,
 * Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS, each tensor in its own.
 *
 * Model names: a path to a .gguf file, or "synthetic:<preset>[?type=<t>&seed=<n>]"
 * with preset one of smollm-135m, smollm-360m, qwen2.5-0.5b, tinyllama-1.1b,
 * llama-3.2-1b, qwen3-0.6b, phi-3-mini and t one of f32 (default), f16, bf16, q8_0,
 * q4_0, q4_1, q5_0, q5_1, iq4_nl, q2_k, q3_k, q4_k, q5_k, q6_k, iq4_xs, q4_k_m,
 * q5_k_m. Synthetic models use a byte-level tokenizer; their text is meaningless,
 * their cost is real.
 *
 * An engine is used by one thread at a time.
 */
#ifndef AIEB_ENGINE_H
#define AIEB_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "aieb/chat.h"
#include "aieb/err.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aieb_engine aieb_engine;

/* Which kernels run the dot products. AUTO picks the best the CPU supports. */
typedef enum {
    AIEB_KERNELS_AUTO = 0,
    AIEB_KERNELS_SCALAR = 1,
    AIEB_KERNELS_AVX2 = 2,   /* AVX2 + FMA + F16C */
    AIEB_KERNELS_AVX512 = 3, /* AVX-512 F/BW/VL (+ VNNI when present) */
} aieb_kernels;

typedef struct aieb_engine_opts {
    int threads;        /* worker threads including the caller; 0 = all online cores */
    int context_length; /* KV cache positions; 0 = min(model's, 4096) */
    aieb_kernels kernels;
    int use_blas;   /* 1: OpenBLAS sgemm for F32 prefill when libopenblas loads; 0: never */
    int max_batch;  /* prompt tokens processed per batch; 0 = 256 */
    int vocab_only; /* 1: read only the tokenizer (files without tensors work); such an
                       engine tokenizes and detokenizes but cannot generate */
} aieb_engine_opts;

/* Fills opts with the defaults above (threads 0, context 0, AUTO, use_blas 1). */
AIEB_API void aieb_engine_opts_init(aieb_engine_opts *opts);

/* Opens a model (path or "synthetic:..." name, see above) and prepares everything a
 * generation needs. opts may be NULL for defaults. Fails with AIEB_ENOTFOUND (no
 * file, unknown preset), AIEB_EINVAL (malformed file: the message names the field),
 * AIEB_EUNSUPPORTED (architecture, weight type or tokenizer not supported, kernels
 * not available on this CPU), AIEB_ENOMEM; *out is NULL then. */
AIEB_API int aieb_engine_open(const char *model, const aieb_engine_opts *opts, aieb_engine **out,
                              aieb_err *err);

/* Frees everything; e may be NULL. */
AIEB_API void aieb_engine_close(aieb_engine *e);

typedef struct aieb_model_info {
    char name[96];       /* general.name, or the synthetic preset */
    char arch[16];       /* "llama", "qwen2", "qwen3" or "phi3" */
    char weight_type[8]; /* type of most weight bytes: "f32", "q8_0", ... */
    char tokenizer[16];  /* "llama" (SentencePiece), "gpt2" (byte-level BPE), "bytes", "none" */
    char kernels[16];    /* "scalar", "avx2", "avx512", "avx512-vnni" */
    int synthetic;       /* 1 for synthetic models */
    int n_layers, n_embd, n_ff, n_heads, n_kv_heads, head_dim, n_vocab;
    int context_length;       /* positions in this engine's KV cache */
    int model_context_length; /* what the model was trained for */
    int threads;
    int blas;              /* 1 when F32 prefill uses OpenBLAS */
    int bos_id, eos_id;    /* -1 when none */
    int eot_id;            /* end of turn (tokenizer.ggml.eot_token_id), -1 when none */
    int n_eog;             /* tokens that end a generation: EOS, EOT, EOM and end-of-turn */
    int eog_ids[16];       /* tokens found by text (<|im_end|>, <|eot_id|>, <|end|>, ...) */
    int add_bos;           /* 1 when the vocabulary asks for BOS before a text */
    uint64_t n_params;     /* parameters in all weight tensors */
    uint64_t weight_bytes; /* bytes of all weight tensors */
    uint64_t decode_bytes; /* weight bytes one decode step reads (all but the
                              embedding table, unless it is also the output) */
    uint64_t kv_cache_bytes;
    char tokenizer_pre[32]; /* tokenizer.ggml.pre ("llama-bpe", "qwen2", ...), "" if none */
    char chat_template[16]; /* the chat template's family (aieb_chat_family_name) */
    int n_tensor_types;     /* entries used in tensor_types, by ggml type id */
    struct {
        char type[12];    /* "q4_0", "f32", ... */
        uint32_t tensors; /* tensors of that type, vectors included */
        uint64_t bytes;
    } tensor_types[16];
} aieb_model_info;

/* Copies the model's description into *info. This function can't fail. */
AIEB_API void aieb_engine_info(const aieb_engine *e, aieb_model_info *info);

/* What the loader found, as JSON: {"arch", "tensors" (one line: "q8_0 14 tensors
 * 1.2 MB, f32 9 tensors 0.0 MB"), "tensor_types" ({type: {"tensors", "bytes"}}),
 * "tokenizer", "tokenizer_pre", "chat_template"}. NULL when out of memory. */
AIEB_API json_t *aieb_model_info_loaded_json(const aieb_model_info *info);

/* The model's chat template family and variants (AIEB_CHAT_NONE for synthetic models
 * and files without tokenizer.chat_template). The pointer lives as long as e. */
AIEB_API const aieb_chat_template *aieb_engine_chat_template(const aieb_engine *e);

/* Tokenizes text into at most max_ids ids (adding BOS first when add_bos and the
 * model asks for one); *n_ids is the count. Special-token text (such as
 * "<|im_start|>") is plain text here: see aieb_engine_tokenize_ex. Fails with
 * AIEB_ETOOBIG when more than max_ids ids would be needed, AIEB_EUNSUPPORTED when
 * the model has no tokenizer, AIEB_ENOMEM. */
AIEB_API int aieb_engine_tokenize(aieb_engine *e, const char *text, int add_bos, int32_t *ids,
                                  size_t max_ids, size_t *n_ids, aieb_err *err);

/* Like aieb_engine_tokenize for text[0..len) (any bytes; invalid UTF-8 is read as
 * U+FFFD by byte-level BPE, as the reference tokenizers do). add_bos: BOS first when
 * the model asks for one (tokenizer.ggml.add_bos_token). parse_special: the text of
 * control tokens becomes those tokens (longest first: "<|im_start|>user" gives the
 * token, then "user"); otherwise it is tokenized as text. User-defined tokens are
 * always matched whole. Fails like aieb_engine_tokenize. */
AIEB_API int aieb_engine_tokenize_ex(aieb_engine *e, const char *text, size_t len, int add_bos,
                                     int parse_special, int32_t *ids, size_t max_ids, size_t *n_ids,
                                     aieb_err *err);

/* Returns the text of one token (bytes, possibly a partial UTF-8 sequence) and its
 * length in *len; "" for control tokens and ids out of range. The pointer stays
 * valid until the next call on e. This function can't fail. */
AIEB_API const char *aieb_engine_token_text(aieb_engine *e, int32_t id, size_t *len);

/* Like aieb_engine_token_text, but control tokens give their text ("<|im_end|>"). */
AIEB_API const char *aieb_engine_token_piece(aieb_engine *e, int32_t id, size_t *len);

struct aieb_buf;

/* Appends the text of n ids to out (see aieb_engine_token_text). Returns 0, or
 * AIEB_ETOOBIG / AIEB_ENOMEM from the buffer (out then holds a prefix). */
AIEB_API int aieb_engine_detokenize(aieb_engine *e, const int32_t *ids, size_t n,
                                    struct aieb_buf *out);

typedef struct aieb_sample_params {
    int max_new_tokens; /* >= 0; 0 = only process the prompt */
    int min_new_tokens; /* end-of-generation tokens (EOS, EOT, ...) are suppressed until
                           this many tokens were made */
    int ignore_eos;     /* 1: never stop at an end-of-generation token (benchmarks) */
    float temperature;  /* <= 0: greedy */
    int top_k;          /* <= 0: off */
    float top_p;        /* <= 0 or >= 1: off */
    uint64_t seed;      /* sampling RNG seed */
} aieb_sample_params;

/* Fills p with greedy decoding of up to 16 tokens, seed 0. */
AIEB_API void aieb_sample_params_init(aieb_sample_params *p);

/* Called for every new token with its id and the CLOCK_MONOTONIC time it was
 * sampled; return non-zero to stop generating. */
typedef int (*aieb_token_fn)(void *user, int32_t token, int64_t t_ns);

typedef enum {
    AIEB_STOP_LENGTH = 0,   /* max_new_tokens reached */
    AIEB_STOP_EOS = 1,      /* the model produced an end-of-generation token: EOS, EOT
                               (<|eot_id|>, <|im_end|>, ...) or EOM */
    AIEB_STOP_CALLBACK = 2, /* the callback asked to stop */
    AIEB_STOP_CONTEXT = 3,  /* the KV cache is full */
} aieb_stop_reason;

typedef struct aieb_gen_stats {
    int64_t start_ns;       /* generate called */
    int64_t prefill_end_ns; /* logits of the last prompt position ready */
    int64_t done_ns;        /* last token sampled */
    int prompt_tokens;
    int completion_tokens; /* tokens passed to the callback (EOS not counted) */
    aieb_stop_reason stop;
} aieb_gen_stats;

/* Processes the n_prompt prompt ids (in batches) after what the KV cache already
 * holds, then samples up to p->max_new_tokens tokens, calling cb (may be NULL) for
 * each. Call aieb_engine_reset() first for an independent request. Fails with
 * AIEB_EINVAL (empty prompt, id out of range, prompt longer than the free context)
 * and leaves the cache as it was before the call. stats may be NULL. */
AIEB_API int aieb_engine_generate(aieb_engine *e, const int32_t *prompt, size_t n_prompt,
                                  const aieb_sample_params *p, aieb_token_fn cb, void *user,
                                  aieb_gen_stats *stats, aieb_err *err);

/* The logits (n_vocab floats) at the last position processed, or NULL before any. */
AIEB_API const float *aieb_engine_logits(const aieb_engine *e);

/* Forgets the KV cache (next generate starts at position 0). Can't fail. */
AIEB_API void aieb_engine_reset(aieb_engine *e);

/* Positions held in the KV cache now. */
AIEB_API int aieb_engine_position(const aieb_engine *e);

#ifdef __cplusplus
}
#endif
#endif
