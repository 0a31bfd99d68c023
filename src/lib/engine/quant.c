/* quant.c - conversions between float and the weight formats (see quant.h). */
#include <math.h>

#include "engine/quant.h"

uint16_t f32_to_fp16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) /* inf stays inf, NaN stays a (quiet) NaN */
        return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0));
    if (ax >= 0x47800000u) /* >= 65536 overflows */
        return (uint16_t)(sign | 0x7c00u);
    if (ax < 0x38800000u) { /* below 2^-14: a half subnormal (or zero) */
        float af;
        memcpy(&af, &ax, 4);
        return (uint16_t)(sign | (uint32_t)lrintf(af * 0x1p24f));
    }
    uint32_t h = ((ax >> 23) - 112u) << 10 | ((ax & 0x7fffffu) >> 13);
    uint32_t rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
        h++; /* a carry into the exponent is the right answer (up to inf) */
    return (uint16_t)(sign | h);
}

uint16_t f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

size_t row_bytes(uint32_t type, int64_t n)
{
    uint32_t be = 1, bb = 4;
    if (aieb_ggml_type_size(type, &be, &bb) != 0)
        return 0;
    return (size_t)(n / be) * bb;
}

void dequantize_row(uint32_t type, const void *src, float *dst, int64_t n)
{
    switch (type) {
    case AIEB_GGML_F32:
        memcpy(dst, src, (size_t)n * 4);
        break;
    case AIEB_GGML_F16: {
        const uint8_t *p = src;
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = fp16_to_f32(h);
        }
        break;
    }
    case AIEB_GGML_BF16: {
        const uint8_t *p = src;
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = bf16_to_f32(h);
        }
        break;
    }
    case AIEB_GGML_Q8_0: {
        const blk_q8_0 *b = src;
        for (int64_t i = 0; i < n / QK; i++) {
            float d = fp16_to_f32(b[i].d);
            for (int j = 0; j < QK; j++)
                dst[i * QK + j] = d * (float)b[i].qs[j];
        }
        break;
    }
    case AIEB_GGML_Q4_0: {
        const blk_q4_0 *b = src;
        for (int64_t i = 0; i < n / QK; i++) {
            float d = fp16_to_f32(b[i].d);
            for (int j = 0; j < QK / 2; j++) {
                dst[i * QK + j] = d * (float)((b[i].qs[j] & 0x0f) - 8);
                dst[i * QK + j + QK / 2] = d * (float)((b[i].qs[j] >> 4) - 8);
            }
        }
        break;
    }
    default:
        memset(dst, 0, (size_t)n * 4);
    }
}

static void quantize_q8_0(const float *x, blk_q8_0 *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += QK) {
        float amax = 0;
        for (int j = 0; j < QK; j++)
            amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127.0f;
        b[i].d = f32_to_fp16(d);
        float id = d != 0 ? 1.0f / d : 0;
        for (int j = 0; j < QK; j++)
            b[i].qs[j] = (int8_t)round_even(x[j] * id);
    }
}

/* The value of largest magnitude maps to -8 (as in ggml), so its sign decides d's. */
static void quantize_q4_0(const float *x, blk_q4_0 *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += QK) {
        float amax = 0, vmax = 0;
        for (int j = 0; j < QK; j++)
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                vmax = x[j];
            }
        float d = vmax / -8.0f;
        b[i].d = f32_to_fp16(d);
        float id = d != 0 ? 1.0f / d : 0;
        for (int j = 0; j < QK / 2; j++) {
            int lo = round_even(x[j] * id) + 8, hi = round_even(x[j + QK / 2] * id) + 8;
            lo = lo < 0 ? 0 : lo > 15 ? 15 : lo;
            hi = hi < 0 ? 0 : hi > 15 ? 15 : hi;
            b[i].qs[j] = (uint8_t)(lo | hi << 4);
        }
    }
}

void quantize_row(uint32_t type, const float *src, void *dst, int64_t n)
{
    switch (type) {
    case AIEB_GGML_F32:
        memcpy(dst, src, (size_t)n * 4);
        break;
    case AIEB_GGML_F16:
    case AIEB_GGML_BF16: {
        uint8_t *p = dst;
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = type == AIEB_GGML_F16 ? f32_to_fp16(src[i]) : f32_to_bf16(src[i]);
            memcpy(p + 2 * i, &h, 2);
        }
        break;
    }
    case AIEB_GGML_Q8_0:
        quantize_q8_0(src, dst, n / QK);
        break;
    case AIEB_GGML_Q4_0:
        quantize_q4_0(src, dst, n / QK);
        break;
    default:
        break;
    }
}

void quantize_act_scalar(const float *x, int n, int8_t *q, float *d, float *s, int32_t *nsum)
{
    for (int b = 0; b < n / QK; b++, x += QK, q += QK) {
        float amax = 0;
        for (int j = 0; j < QK; j++)
            amax = fmaxf(amax, fabsf(x[j]));
        float dd = amax / 127.0f, id = amax != 0 ? 127.0f / amax : 0;
        int sum = 0;
        for (int j = 0; j < QK; j++) {
            q[j] = (int8_t)round_even(x[j] * id);
            sum += q[j];
        }
        d[b] = dd;
        s[b] = dd * (float)sum;
        nsum[b] = -sum;
    }
}
