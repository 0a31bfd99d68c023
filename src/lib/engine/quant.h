/* quant.h - number formats of the weights: fp16, bf16 and ggml's quantized blocks.
 *
 * Block layouts as ggml documents them (ggml-common.h, block_* structs; the element
 * order within a block as its dequantize_row_* functions define it). "Nibble pairs":
 * byte j of 16 holds element j in its low nibble and element j + 16 in its high one.
 *   Q8_0: 32 values = fp16 d + 32 int8 q;                     value = d * q
 *   Q4_0: 32 values = fp16 d + 16 bytes of nibble pairs;      value = d * (q - 8)
 *   Q4_1: fp16 d, fp16 m + nibble pairs;                      value = d * q + m
 *   Q5_0: fp16 d + 32 high bits (bit j: element j) + nibble pairs; d * (q5 - 16)
 *   Q5_1: fp16 d, fp16 m + high bits + nibble pairs;          value = d * q5 + m
 *   IQ4_NL: fp16 d + nibble pairs;                            value = d * kvalues[q]
 * Super-blocks of 256 values (QK_K):
 *   Q2_K: 16 sub-blocks of 16; scales[i] = scale (low 4 bits) | min (high 4); value =
 *         d * scale * q - dmin * min, q 2 bits: in each half of 128, group j (0..3) of
 *         32 values is bits 2j..2j+1 of the half's 32 bytes qs.
 *   Q3_K: 16 sub-blocks of 16, 6-bit scales s (value d * (s - 32) * q), q = low 2 bits
 *         (as Q2_K) - 4 unless bit g of hmask[l] is set (g = the group of 32).
 *   Q4_K: 8 sub-blocks of 32, 6-bit scale and min packed in 12 bytes; value = d * sc *
 *         q - dmin * m; 64 values per 32 bytes of qs: low nibbles first, then high.
 *   Q5_K: as Q4_K with a fifth bit: bit g of qh[l] for element l of group g.
 *   Q6_K: 16 sub-blocks of 16, int8 scales; value = d * sc * (q6 - 32); per half of
 *         128: ql low nibbles (64 bytes) give groups 0-1, high nibbles groups 2-3, qh's
 *         bit pairs 0-1, 2-3, 4-5, 6-7 the top two bits of groups 0, 1, 2, 3.
 *   IQ4_XS: fp16 d, 8 sub-blocks of 32 with 6-bit scales ls (value d * (ls - 32) *
 *         kvalues[q]), nibble pairs per sub-block.
 * Activations meeting quantized weights are quantized to int8 with a float scale, so
 * a block's dot product is integer arithmetic: per 32 values for the blocks of 32
 * (act_q8 below), per 256 for the super-blocks (act_k), whose products then sum a
 * whole super-block in integers and convert it to float once.
 */
#ifndef AIEB_ENGINE_QUANT_H
#define AIEB_ENGINE_QUANT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "aieb/gguf.h"

#define QK 32 /* values per Q8_0 / Q4_0 block */

typedef struct blk_q8_0 {
    uint16_t d; /* fp16 */
    int8_t qs[QK];
} blk_q8_0;

typedef struct blk_q4_0 {
    uint16_t d; /* fp16 */
    uint8_t qs[QK / 2];
} blk_q4_0;

typedef struct blk_q4_1 {
    uint16_t d, m;
    uint8_t qs[QK / 2];
} blk_q4_1;

typedef struct blk_q5_0 {
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[QK / 2];
} blk_q5_0;

typedef struct blk_q5_1 {
    uint16_t d, m;
    uint8_t qh[4];
    uint8_t qs[QK / 2];
} blk_q5_1;

typedef struct blk_iq4_nl {
    uint16_t d;
    uint8_t qs[QK / 2];
} blk_iq4_nl;

#define QK_K 256 /* values per K-quant super-block */

typedef struct blk_q2_k {
    uint8_t scales[QK_K / 16];
    uint8_t qs[QK_K / 4];
    uint16_t d, dmin;
} blk_q2_k;

typedef struct blk_q3_k {
    uint8_t hmask[QK_K / 8];
    uint8_t qs[QK_K / 4];
    uint8_t scales[12];
    uint16_t d;
} blk_q3_k;

typedef struct blk_q4_k {
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qs[QK_K / 2];
} blk_q4_k;

typedef struct blk_q5_k {
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
} blk_q5_k;

typedef struct blk_q6_k {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    uint16_t d;
} blk_q6_k;

typedef struct blk_iq4_xs {
    uint16_t d;
    uint16_t scales_h;
    uint8_t scales_l[QK_K / 64];
    uint8_t qs[QK_K / 2];
} blk_iq4_xs;

_Static_assert(sizeof(blk_q8_0) == 34, "Q8_0 block is 34 bytes");
_Static_assert(sizeof(blk_q4_0) == 18, "Q4_0 block is 18 bytes");
_Static_assert(sizeof(blk_q4_1) == 20, "Q4_1 block is 20 bytes");
_Static_assert(sizeof(blk_q5_0) == 22, "Q5_0 block is 22 bytes");
_Static_assert(sizeof(blk_q5_1) == 24, "Q5_1 block is 24 bytes");
_Static_assert(sizeof(blk_iq4_nl) == 18, "IQ4_NL block is 18 bytes");
_Static_assert(sizeof(blk_q2_k) == 84, "Q2_K block is 84 bytes");
_Static_assert(sizeof(blk_q3_k) == 110, "Q3_K block is 110 bytes");
_Static_assert(sizeof(blk_q4_k) == 144, "Q4_K block is 144 bytes");
_Static_assert(sizeof(blk_q5_k) == 176, "Q5_K block is 176 bytes");
_Static_assert(sizeof(blk_q6_k) == 210, "Q6_K block is 210 bytes");
_Static_assert(sizeof(blk_iq4_xs) == 136, "IQ4_XS block is 136 bytes");

/* The 16 values of IQ4_NL / IQ4_XS nibbles: ggml's kvalues_iq4nl (ggml-common.h). */
extern const int8_t kvalues_iq4nl[16];

/* Scale and min j (0..7) of a Q4_K / Q5_K super-block: 6 bits each in 12 bytes; j < 4
 * in the low 6 bits of bytes j and j + 4, j >= 4 as a nibble of byte j + 4 plus the top
 * 2 bits of bytes j - 4 and j. */
static inline void kq_scale_min(const uint8_t *s, int j, int *sc, int *m)
{
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0x0f) | (s[j - 4] >> 6) << 4;
        *m = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
    }
}

/* Scale j (0..15) of a Q3_K super-block, 0..63 (the value uses scale - 32): low 4 bits
 * in a nibble of bytes 0..7, top 2 bits in bytes 8..11. */
static inline int q3k_scale(const uint8_t *s, int j)
{
    int lo = j < 8 ? s[j] & 0x0f : s[j - 8] >> 4;
    return lo | ((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4;
}

/* Rows of activations quantized per block of 32: row t's values are
 * q[t*n + i] * d[t*n/32 + i/32]; s holds d * sum(q) of each block and nsum -sum(q)
 * (for the offsets of Q4_0's q - 8 and of unsigned Q8_0 weights). */
typedef struct act_q8 {
    int8_t *q;     /* (n_tok, n) */
    float *d;      /* (n_tok, n/32) */
    float *s;      /* (n_tok, n/32) */
    int32_t *nsum; /* (n_tok, n/32) */
} act_q8;

/* Rows of activations quantized per super-block of 256 (for Q2_K..Q6_K, IQ4_XS): row
 * t's values are q[t*n + i] * d[t*n/256 + i/256]; bsum holds the sum of q over each
 * 16 values (|sum| <= 16 * 127), which the weights' offsets and mins multiply. */
typedef struct act_k {
    int8_t *q;     /* (n_tok, n) */
    float *d;      /* (n_tok, n/256) */
    int16_t *bsum; /* (n_tok, n/16) */
} act_k;

/* IEEE half <-> float, round to nearest even; exact for every half value. */
static inline float fp16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
    if (exp == 0) {
        float f = (float)mant * 0x1p-24f; /* zero or subnormal */
        return sign ? -f : f;
    }
    if (exp == 31)
        bits = sign | 0x7f800000u | (mant << 13);
    else
        bits = sign | ((exp + 112u) << 23) | (mant << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t f32_to_fp16(float f);

/* Rounds to the nearest integer, ties to even (as lrintf and cvtps2dq do) without a
 * libm call: adding 1.5 * 2^23 leaves the rounded value in the low mantissa bits.
 * Valid for |x| < 2^22. */
static inline int round_even(float x)
{
    float y = x + 12582912.0f;
    int32_t i;
    memcpy(&i, &y, 4);
    return i - 0x4b400000;
}

static inline float bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t f32_to_bf16(float f);

/* Bytes of one row of n values of a weight type (n a multiple of the block size). */
size_t row_bytes(uint32_t type, int64_t n);

/* Converts n values of a row of any supported weight type to float (other types: 0). */
void dequantize_row(uint32_t type, const void *src, float *dst, int64_t n);

/* Converts n floats to a row of the given type (n a multiple of its block size), by
 * plain rounding to the nearest level (no search for better scales): valid blocks,
 * not the best ones. Used by the writer of test models and by synthetic models. */
void quantize_row(uint32_t type, const float *src, void *dst, int64_t n);

/* Quantizes n floats (a multiple of 32) to int8 blocks: q, d, s, nsum as in act_q8. */
void quantize_act_scalar(const float *x, int n, int8_t *q, float *d, float *s, int32_t *nsum);

/* Quantizes n floats (a multiple of 256) as act_k: d = max|x| / 127 per 256 and
 * q = x * 127 / max|x| rounded to even, the per-32 quantizer's rule on a wider block. */
void quantize_act_k_scalar(const float *x, int n, int8_t *q, float *d, int16_t *bsum);

#endif
