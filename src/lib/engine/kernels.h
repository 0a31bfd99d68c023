/* kernels.h - the arithmetic the forward pass spends its time in, per instruction set.
 *
 * One read-only table per instruction set (scalar, AVX2+FMA+F16C, AVX-512); the engine
 * picks one at open from what the CPU reports (cpuid + xgetbv). The SIMD kernels are
 * compiled with __attribute__((target(...))) so no global compiler flag is needed, and
 * they compute the same sums as the scalar ones up to float reassociation.
 */
#ifndef AIEB_ENGINE_KERNELS_H
#define AIEB_ENGINE_KERNELS_H

#include <stdint.h>

#include "aieb/engine.h"
#include "engine/model.h"
#include "engine/quant.h"

/* Activations a matrix product reads: float rows for F32/F16/BF16 weights, int8 blocks
 * of 32 for the quantized types with blocks of 32, int8 super-blocks of 256 for the
 * K-quant types (both quantized from the same rows, each only where a reader needs it). */
typedef struct act {
    const float *f; /* (n_tok, ldf) */
    int ldf;
    act_q8 q; /* rows of n values, n = the weight's cols */
    act_k k;  /* the same, per 256 */
    /* the calling thread's own memory for packed weight rows (64-byte aligned; NULL
     * or too small: the products that pack allocate their own) */
    void *scratch;
    size_t scratch_bytes;
} act;

/* y[t*ldy + r] = dot(row r of w, activation row t), for r in [r0, r1), t < n_tok. */
typedef void (*mm_fn)(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy);

enum {
    KT_F32,
    KT_F16,
    KT_BF16,
    KT_Q8_0,
    KT_Q4_0,
    KT_Q4_1,
    KT_Q5_0,
    KT_Q5_1,
    KT_IQ4_NL,
    KT_Q2_K,
    KT_Q3_K,
    KT_Q4_K,
    KT_Q5_K,
    KT_Q6_K,
    KT_IQ4_XS,
    KT_COUNT
};

typedef struct kernels {
    const char *name;
    mm_fn mm[KT_COUNT];
    /* quantizes n floats (multiple of 32) into int8 blocks (see quant.h act_q8) */
    void (*quantize_act)(const float *x, int n, int8_t *q, float *d, float *s, int32_t *nsum);
    /* quantizes n floats (multiple of 256) into int8 super-blocks (quant.h act_k) */
    void (*quantize_act_k)(const float *x, int n, int8_t *q, float *d, int16_t *bsum);
    /* sum a[i]*b[i] */
    float (*dot)(const float *a, const float *b, int n);
    /* y[i] += a * x[i] */
    void (*axpy)(float a, const float *x, float *y, int n);
    /* attention scores: out[p] = scale * dot(q, k + p * stride, hd) for p < n */
    void (*scores)(const float *q, const float *k, size_t stride, int n, int hd, float scale,
                   float *out);
    /* attention output: out[0..hd) = sum over p < n of w[p] * v[p * stride ..] */
    void (*mix)(const float *w, const float *v, size_t stride, int n, int hd, float *out);
    /* converts one row of a weight type to float (for embeddings and tiles) */
    void (*to_f32)(uint32_t type, const void *src, float *dst, int n);
    /* bit kt set: mm[kt] computes several tokens faster than OpenBLAS sgemm, so the
     * forward pass calls it even when the library is loaded */
    unsigned no_blas;
} kernels;

/* Index of a weight type in kernels.mm, or -1 for types the forward pass lacks. */
static inline int kt_index(uint32_t type)
{
    switch (type) {
    case AIEB_GGML_F32:
        return KT_F32;
    case AIEB_GGML_F16:
        return KT_F16;
    case AIEB_GGML_BF16:
        return KT_BF16;
    case AIEB_GGML_Q8_0:
        return KT_Q8_0;
    case AIEB_GGML_Q4_0:
        return KT_Q4_0;
    case AIEB_GGML_Q4_1:
        return KT_Q4_1;
    case AIEB_GGML_Q5_0:
        return KT_Q5_0;
    case AIEB_GGML_Q5_1:
        return KT_Q5_1;
    case AIEB_GGML_IQ4_NL:
        return KT_IQ4_NL;
    case AIEB_GGML_Q2_K:
        return KT_Q2_K;
    case AIEB_GGML_Q3_K:
        return KT_Q3_K;
    case AIEB_GGML_Q4_K:
        return KT_Q4_K;
    case AIEB_GGML_Q5_K:
        return KT_Q5_K;
    case AIEB_GGML_Q6_K:
        return KT_Q6_K;
    case AIEB_GGML_IQ4_XS:
        return KT_IQ4_XS;
    default:
        return -1;
    }
}

/* Whether products with this weight type read int8 activations (act.q or act.k). */
static inline int type_is_quant(uint32_t type)
{
    int k = kt_index(type);
    return k >= KT_Q8_0;
}

/* Whether they read them per super-block of 256 (act.k) rather than per 32 (act.q). */
static inline int type_is_kquant(uint32_t type)
{
    int k = kt_index(type);
    return k >= KT_Q2_K;
}

/* CPU features as cpuid/xgetbv report them (the OS must save the registers). */
typedef struct cpu_features {
    int avx2_fma_f16c;
    int avx512; /* F + BW + VL + DQ */
    int avx512_vnni;
} cpu_features;

void cpu_detect(cpu_features *f);

extern const kernels kernels_scalar;
extern const kernels kernels_avx2;
extern const kernels kernels_avx512;
extern const kernels kernels_avx512_vnni;

/* The kernels to use for want on this CPU; AIEB_EUNSUPPORTED when the CPU lacks them. */
int kernels_select(aieb_kernels want, const kernels **out, aieb_err *err);

#endif
