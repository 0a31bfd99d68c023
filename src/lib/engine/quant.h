/* quant.h - number formats of the weights: fp16, bf16 and ggml's Q8_0 / Q4_0 blocks.
 *
 * Block layouts as ggml documents them (ggml-common.h):
 *   Q8_0: 32 values = fp16 scale d + 32 int8 q;             value = d * q
 *   Q4_0: 32 values = fp16 scale d + 16 bytes of nibbles;   value = d * (q - 8), where
 *         byte j holds element j in its low nibble and element j + 16 in its high nibble.
 * Activations meeting quantized weights are quantized per 32 values too, to int8 with
 * a float scale (act_q8 below), so a block's dot product is integer arithmetic.
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

_Static_assert(sizeof(blk_q8_0) == 34, "Q8_0 block is 34 bytes");
_Static_assert(sizeof(blk_q4_0) == 18, "Q4_0 block is 18 bytes");

/* Rows of activations quantized per block of 32: row t's values are
 * q[t*n + i] * d[t*n/32 + i/32]; s holds d * sum(q) of each block and nsum -sum(q)
 * (for the offsets of Q4_0's q - 8 and of unsigned Q8_0 weights). */
typedef struct act_q8 {
    int8_t *q;     /* (n_tok, n) */
    float *d;      /* (n_tok, n/32) */
    float *s;      /* (n_tok, n/32) */
    int32_t *nsum; /* (n_tok, n/32) */
} act_q8;

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

/* Converts n values of a row of any supported weight type (F32, F16, BF16, Q8_0,
 * Q4_0) to float. */
void dequantize_row(uint32_t type, const void *src, float *dst, int64_t n);

/* Converts n floats to a row of the given type (n a multiple of 32 for Q8_0/Q4_0).
 * Used by the writer of test models and by synthetic models. */
void quantize_row(uint32_t type, const float *src, void *dst, int64_t n);

/* Quantizes n floats (a multiple of 32) to int8 blocks: q, d, s, nsum as in act_q8. */
void quantize_act_scalar(const float *x, int n, int8_t *q, float *d, float *s, int32_t *nsum);

#endif
