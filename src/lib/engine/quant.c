/* quant.c - conversions between float and the weight formats (see quant.h). */
#include <math.h>

#include "engine/quant.h"

/* ggml-common.h, kvalues_iq4nl: the non-linear levels of IQ4_NL / IQ4_XS */
const int8_t kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                  1,    13,   25,  38,  53,  69,  89,  113};

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
    case AIEB_GGML_Q4_1: {
        const blk_q4_1 *b = src;
        for (int64_t i = 0; i < n / QK; i++, dst += QK) {
            float d = fp16_to_f32(b[i].d), m = fp16_to_f32(b[i].m);
            for (int j = 0; j < QK / 2; j++) {
                dst[j] = d * (float)(b[i].qs[j] & 0x0f) + m;
                dst[j + QK / 2] = d * (float)(b[i].qs[j] >> 4) + m;
            }
        }
        break;
    }
    case AIEB_GGML_Q5_0:
    case AIEB_GGML_Q5_1: {
        int one = type == AIEB_GGML_Q5_1;
        size_t bs = one ? sizeof(blk_q5_1) : sizeof(blk_q5_0);
        for (int64_t i = 0; i < n / QK; i++, dst += QK) {
            const uint8_t *p = (const uint8_t *)src + (size_t)i * bs;
            uint16_t dh, mh = 0;
            memcpy(&dh, p, 2);
            if (one)
                memcpy(&mh, p + 2, 2);
            const uint8_t *qh = p + (one ? 4 : 2), *qs = qh + 4;
            uint32_t h = (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 |
                         (uint32_t)qh[3] << 24;
            float d = fp16_to_f32(dh), m = one ? fp16_to_f32(mh) : 0;
            int off = one ? 0 : 16;
            for (int j = 0; j < QK / 2; j++) {
                int lo = (qs[j] & 0x0f) | (int)((h >> j) & 1) << 4;
                int hi = (qs[j] >> 4) | (int)((h >> (j + 16)) & 1) << 4;
                dst[j] = d * (float)(lo - off) + m;
                dst[j + QK / 2] = d * (float)(hi - off) + m;
            }
        }
        break;
    }
    case AIEB_GGML_IQ4_NL: {
        const blk_iq4_nl *b = src;
        for (int64_t i = 0; i < n / QK; i++, dst += QK) {
            float d = fp16_to_f32(b[i].d);
            for (int j = 0; j < QK / 2; j++) {
                dst[j] = d * (float)kvalues_iq4nl[b[i].qs[j] & 0x0f];
                dst[j + QK / 2] = d * (float)kvalues_iq4nl[b[i].qs[j] >> 4];
            }
        }
        break;
    }
    case AIEB_GGML_Q2_K: {
        const blk_q2_k *b = src;
        for (int64_t i = 0; i < n / QK_K; i++) {
            float d = fp16_to_f32(b[i].d), dmin = fp16_to_f32(b[i].dmin);
            for (int g = 0; g < 8; g++) { /* group of 32: half g / 4, bits 2 * (g % 4) */
                const uint8_t *q = b[i].qs + 32 * (g / 4);
                int shift = 2 * (g % 4);
                for (int l = 0; l < 32; l++) {
                    int sc = b[i].scales[2 * g + l / 16];
                    *dst++ = d * (float)(sc & 0x0f) * (float)((q[l] >> shift) & 3) -
                             dmin * (float)(sc >> 4);
                }
            }
        }
        break;
    }
    case AIEB_GGML_Q3_K: {
        const blk_q3_k *b = src;
        for (int64_t i = 0; i < n / QK_K; i++) {
            float d = fp16_to_f32(b[i].d);
            for (int g = 0; g < 8; g++) {
                const uint8_t *q = b[i].qs + 32 * (g / 4);
                int shift = 2 * (g % 4);
                for (int l = 0; l < 32; l++) {
                    int v = ((q[l] >> shift) & 3) - ((b[i].hmask[l] >> g) & 1 ? 0 : 4);
                    int sc = q3k_scale(b[i].scales, 2 * g + l / 16) - 32;
                    *dst++ = d * (float)sc * (float)v;
                }
            }
        }
        break;
    }
    case AIEB_GGML_Q4_K:
    case AIEB_GGML_Q5_K: {
        int five = type == AIEB_GGML_Q5_K;
        size_t bs = five ? sizeof(blk_q5_k) : sizeof(blk_q4_k);
        for (int64_t i = 0; i < n / QK_K; i++) {
            const uint8_t *p = (const uint8_t *)src + (size_t)i * bs;
            uint16_t dh, mh;
            memcpy(&dh, p, 2);
            memcpy(&mh, p + 2, 2);
            const uint8_t *scales = p + 4, *qh = p + 16, *qs = p + (five ? 48 : 16);
            float d = fp16_to_f32(dh), dmin = fp16_to_f32(mh);
            for (int g = 0; g < 8; g++) {
                int sc, m;
                kq_scale_min(scales, g, &sc, &m);
                const uint8_t *q = qs + 32 * (g / 2);
                for (int l = 0; l < 32; l++) {
                    int v = g % 2 ? q[l] >> 4 : q[l] & 0x0f;
                    if (five)
                        v |= ((qh[l] >> g) & 1) << 4;
                    *dst++ = d * (float)sc * (float)v - dmin * (float)m;
                }
            }
        }
        break;
    }
    case AIEB_GGML_Q6_K: {
        const blk_q6_k *b = src;
        for (int64_t i = 0; i < n / QK_K; i++) {
            float d = fp16_to_f32(b[i].d);
            for (int g = 0; g < 8; g++) {
                const uint8_t *ql = b[i].ql + 64 * (g / 4) + 32 * (g % 2);
                const uint8_t *qh = b[i].qh + 32 * (g / 4);
                int hi_nib = (g % 4) >= 2, hshift = 2 * (g % 4);
                for (int l = 0; l < 32; l++) {
                    int v = (hi_nib ? ql[l] >> 4 : ql[l] & 0x0f) | ((qh[l] >> hshift) & 3) << 4;
                    *dst++ = d * (float)b[i].scales[2 * g + l / 16] * (float)(v - 32);
                }
            }
        }
        break;
    }
    case AIEB_GGML_IQ4_XS: {
        const blk_iq4_xs *b = src;
        for (int64_t i = 0; i < n / QK_K; i++) {
            float d = fp16_to_f32(b[i].d);
            for (int g = 0; g < 8; g++, dst += 32) {
                int ls = ((b[i].scales_l[g / 2] >> 4 * (g % 2)) & 0x0f) |
                         ((b[i].scales_h >> 2 * g) & 3) << 4;
                float dl = d * (float)(ls - 32);
                const uint8_t *q = b[i].qs + 16 * g;
                for (int j = 0; j < 16; j++) {
                    dst[j] = dl * (float)kvalues_iq4nl[q[j] & 0x0f];
                    dst[j + 16] = dl * (float)kvalues_iq4nl[q[j] >> 4];
                }
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

/* ==== quantizers for the other block types (round to nearest) ============= */

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The smallest value (at most 0) and the largest of n values. */
static void range_of(const float *x, int n, float *lo, float *hi)
{
    *lo = 0;
    *hi = x[0];
    for (int j = 0; j < n; j++) {
        *lo = fminf(*lo, x[j]);
        *hi = fmaxf(*hi, x[j]);
    }
}

/* Q4_1 / Q5_1: d = range / levels, m = the minimum. Q5_0: like Q4_0 with 16 levels
 * each side. The packing is the same for all three: nibble pairs plus high bits. */
static void quantize_q4_5(uint32_t type, const float *x, uint8_t *dst, int64_t nb)
{
    size_t bs = type == AIEB_GGML_Q4_1 ? 20 : type == AIEB_GGML_Q5_0 ? 22 : 24;
    for (int64_t i = 0; i < nb; i++, x += QK, dst += bs) {
        float d, m = 0;
        int qmax = type == AIEB_GGML_Q4_1 ? 15 : 31, off = 0;
        if (type == AIEB_GGML_Q5_0) {
            float amax = 0, vmax = 0;
            for (int j = 0; j < QK; j++)
                if (fabsf(x[j]) > amax) {
                    amax = fabsf(x[j]);
                    vmax = x[j];
                }
            d = vmax / -16.0f;
            off = 16;
        } else {
            float lo = x[0], hi = x[0];
            for (int j = 0; j < QK; j++) {
                lo = fminf(lo, x[j]);
                hi = fmaxf(hi, x[j]);
            }
            d = (hi - lo) / (float)qmax;
            m = lo;
        }
        uint16_t dh = f32_to_fp16(d), mh = f32_to_fp16(m);
        d = fp16_to_f32(dh);
        m = fp16_to_f32(mh);
        float id = d != 0 ? 1.0f / d : 0;
        uint8_t *p = dst;
        memcpy(p, &dh, 2);
        p += 2;
        if (type != AIEB_GGML_Q5_0) {
            memcpy(p, &mh, 2);
            p += 2;
        }
        uint32_t h = 0;
        uint8_t *qs = type == AIEB_GGML_Q4_1 ? p : p + 4;
        for (int j = 0; j < QK / 2; j++) {
            int lo = clampi(round_even((x[j] - m) * id) + off, 0, qmax);
            int hi = clampi(round_even((x[j + QK / 2] - m) * id) + off, 0, qmax);
            qs[j] = (uint8_t)((lo & 15) | (hi & 15) << 4);
            h |= (uint32_t)(lo >> 4) << j | (uint32_t)(hi >> 4) << (j + 16);
        }
        if (type != AIEB_GGML_Q4_1)
            for (int k = 0; k < 4; k++)
                p[k] = (uint8_t)(h >> (8 * k));
    }
}

/* The nearest of the 16 IQ4 levels to v. */
static int nearest_iq4(float v)
{
    int best = 0;
    for (int k = 1; k < 16; k++)
        if (fabsf(v - kvalues_iq4nl[k]) < fabsf(v - kvalues_iq4nl[best]))
            best = k;
    return best;
}

static float amax_of(const float *x, int n)
{
    float a = 0;
    for (int j = 0; j < n; j++)
        a = fmaxf(a, fabsf(x[j]));
    return a;
}

/* 32 values scaled by 1/dl into nibble pairs of IQ4 levels */
static void pack_iq4(const float *x, float dl, uint8_t *qs)
{
    float id = dl != 0 ? 1.0f / dl : 0;
    for (int j = 0; j < 16; j++)
        qs[j] = (uint8_t)(nearest_iq4(x[j] * id) | nearest_iq4(x[j + 16] * id) << 4);
}

static void quantize_iq4_nl(const float *x, blk_iq4_nl *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += QK) {
        b[i].d = f32_to_fp16(amax_of(x, QK) / 127.0f);
        pack_iq4(x, fp16_to_f32(b[i].d), b[i].qs);
    }
}

static void quantize_iq4_xs(const float *x, blk_iq4_xs *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += QK_K) {
        float sub[8], smax = 0;
        for (int g = 0; g < 8; g++) {
            sub[g] = amax_of(x + 32 * g, 32) / 127.0f;
            smax = fmaxf(smax, sub[g]);
        }
        b[i].d = f32_to_fp16(smax / 31.0f);
        float d = fp16_to_f32(b[i].d), id = d != 0 ? 1.0f / d : 0;
        b[i].scales_h = 0;
        memset(b[i].scales_l, 0, sizeof b[i].scales_l);
        for (int g = 0; g < 8; g++) {
            int ls = clampi(round_even(sub[g] * id), 0, 31) + 32;
            b[i].scales_l[g / 2] |= (uint8_t)((ls & 15) << 4 * (g % 2));
            b[i].scales_h |= (uint16_t)((ls >> 4) << 2 * g);
            pack_iq4(x + 32 * g, d * (float)(ls - 32), b[i].qs + 16 * g);
        }
    }
}

/* Q2_K / Q4_K / Q5_K: per sub-block, value = scale * q - min with min = -lowest >= 0;
 * scales and mins are quantized against the super-block's largest (smax levels). */
typedef struct kq_sub {
    int sc[16], m[16];
    float d, dmin;
} kq_sub;

static void kq_scales(const float *x, int n_sub, int sub_len, int qmax, int smax, kq_sub *k)
{
    float scale[16], mins[16], sm = 0, mm = 0;
    for (int s = 0; s < n_sub; s++) {
        float lo, hi;
        range_of(x + s * sub_len, sub_len, &lo, &hi);
        scale[s] = (hi - lo) / (float)qmax;
        mins[s] = -lo;
        sm = fmaxf(sm, scale[s]);
        mm = fmaxf(mm, mins[s]);
    }
    uint16_t dh = f32_to_fp16(sm / (float)smax), mh = f32_to_fp16(mm / (float)smax);
    k->d = fp16_to_f32(dh);
    k->dmin = fp16_to_f32(mh);
    for (int s = 0; s < n_sub; s++) {
        /* round the scale up so that the largest value still fits */
        k->sc[s] = k->d != 0 ? clampi((int)ceilf(scale[s] / k->d), 0, smax) : 0;
        k->m[s] = k->dmin != 0 ? clampi(round_even(mins[s] / k->dmin), 0, smax) : 0;
    }
}

static int kq_level(float v, float scale, float min, int qmax)
{
    return scale != 0 ? clampi(round_even((v + min) / scale), 0, qmax) : 0;
}

static void quantize_q2_k(const float *x, blk_q2_k *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += QK_K) {
        kq_sub k;
        kq_scales(x, 16, 16, 3, 15, &k);
        b[i].d = f32_to_fp16(k.d);
        b[i].dmin = f32_to_fp16(k.dmin);
        memset(b[i].qs, 0, sizeof b[i].qs);
        for (int s = 0; s < 16; s++)
            b[i].scales[s] = (uint8_t)(k.sc[s] | k.m[s] << 4);
        for (int e = 0; e < QK_K; e++) {
            int s = e / 16, g = e / 32, l = e % 32;
            int q = kq_level(x[e], k.d * (float)k.sc[s], k.dmin * (float)k.m[s], 3);
            b[i].qs[32 * (g / 4) + l] |= (uint8_t)(q << 2 * (g % 4));
        }
    }
}

static void quantize_q45_k(const float *x, uint8_t *dst, int64_t nb, int five)
{
    size_t bs = five ? sizeof(blk_q5_k) : sizeof(blk_q4_k);
    for (int64_t i = 0; i < nb; i++, x += QK_K, dst += bs) {
        kq_sub k;
        kq_scales(x, 8, 32, five ? 31 : 15, 63, &k);
        uint16_t dh = f32_to_fp16(k.d), mh = f32_to_fp16(k.dmin);
        memcpy(dst, &dh, 2);
        memcpy(dst + 2, &mh, 2);
        uint8_t *sc = dst + 4, *qh = dst + 16, *qs = dst + (five ? 48 : 16);
        memset(sc, 0, 12);
        memset(qs, 0, QK_K / 2);
        if (five)
            memset(qh, 0, QK_K / 8);
        for (int j = 0; j < 8; j++) { /* the packing kq_scale_min() reads */
            if (j < 4) {
                sc[j] |= (uint8_t)k.sc[j];
                sc[j + 4] |= (uint8_t)k.m[j];
            } else {
                sc[j + 4] = (uint8_t)((k.sc[j] & 15) | (k.m[j] & 15) << 4);
                sc[j - 4] |= (uint8_t)((k.sc[j] >> 4) << 6);
                sc[j] |= (uint8_t)((k.m[j] >> 4) << 6);
            }
        }
        for (int e = 0; e < QK_K; e++) {
            int g = e / 32, l = e % 32;
            int q = kq_level(x[e], k.d * (float)k.sc[g], k.dmin * (float)k.m[g], five ? 31 : 15);
            qs[32 * (g / 2) + l] |= (uint8_t)((q & 15) << 4 * (g % 2));
            if (five)
                qh[l] |= (uint8_t)((q >> 4) << g);
        }
    }
}

/* Q3_K and Q6_K: symmetric, value = d * scale * q with signed q and scale */
static void quantize_q3_6_k(const float *x, uint8_t *dst, int64_t nb, int six)
{
    int qmax = six ? 32 : 4, smax = six ? 127 : 31;
    size_t bs = six ? sizeof(blk_q6_k) : sizeof(blk_q3_k);
    for (int64_t i = 0; i < nb; i++, x += QK_K, dst += bs) {
        float sub[16], sm = 0;
        for (int s = 0; s < 16; s++) {
            sub[s] = amax_of(x + 16 * s, 16) / (float)qmax;
            sm = fmaxf(sm, sub[s]);
        }
        uint16_t dh = f32_to_fp16(sm / (float)smax);
        float d = fp16_to_f32(dh);
        int sc[16];
        for (int s = 0; s < 16; s++)
            sc[s] = d != 0 ? clampi(round_even(sub[s] / d), 0, smax) : 0;
        memset(dst, 0, bs);
        if (six) {
            blk_q6_k *b = (blk_q6_k *)(void *)dst;
            b->d = dh;
            for (int s = 0; s < 16; s++)
                b->scales[s] = (int8_t)sc[s];
            for (int e = 0; e < QK_K; e++) {
                int g = e / 32, l = e % 32;
                float ds = d * (float)sc[e / 16];
                int q = (ds != 0 ? clampi(round_even(x[e] / ds), -32, 31) : 0) + 32;
                b->ql[64 * (g / 4) + 32 * (g % 2) + l] |= (uint8_t)((q & 15) << 4 * ((g % 4) / 2));
                b->qh[32 * (g / 4) + l] |= (uint8_t)((q >> 4) << 2 * (g % 4));
            }
        } else {
            blk_q3_k *b = (blk_q3_k *)(void *)dst;
            b->d = dh;
            for (int s = 0; s < 16; s++) { /* the packing q3k_scale() reads */
                int v = sc[s] + 32;
                b->scales[s < 8 ? s : s - 8] |= (uint8_t)((v & 15) << (s < 8 ? 0 : 4));
                b->scales[8 + s % 4] |= (uint8_t)((v >> 4) << 2 * (s / 4));
            }
            for (int e = 0; e < QK_K; e++) {
                int g = e / 32, l = e % 32;
                float ds = d * (float)sc[e / 16];
                int q = (ds != 0 ? clampi(round_even(x[e] / ds), -4, 3) : 0) + 4;
                b->qs[32 * (g / 4) + l] |= (uint8_t)((q & 3) << 2 * (g % 4));
                b->hmask[l] |= (uint8_t)((q >> 2) << g);
            }
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
    case AIEB_GGML_Q4_1:
    case AIEB_GGML_Q5_0:
    case AIEB_GGML_Q5_1:
        quantize_q4_5(type, src, dst, n / QK);
        break;
    case AIEB_GGML_IQ4_NL:
        quantize_iq4_nl(src, dst, n / QK);
        break;
    case AIEB_GGML_IQ4_XS:
        quantize_iq4_xs(src, dst, n / QK_K);
        break;
    case AIEB_GGML_Q2_K:
        quantize_q2_k(src, dst, n / QK_K);
        break;
    case AIEB_GGML_Q3_K:
        quantize_q3_6_k(src, dst, n / QK_K, 0);
        break;
    case AIEB_GGML_Q4_K:
        quantize_q45_k(src, dst, n / QK_K, 0);
        break;
    case AIEB_GGML_Q5_K:
        quantize_q45_k(src, dst, n / QK_K, 1);
        break;
    case AIEB_GGML_Q6_K:
        quantize_q3_6_k(src, dst, n / QK_K, 1);
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

void quantize_act_k_scalar(const float *x, int n, int8_t *q, float *d, int16_t *bsum)
{
    for (int b = 0; b < n / QK_K; b++, x += QK_K, q += QK_K) {
        float amax = 0;
        for (int j = 0; j < QK_K; j++)
            amax = fmaxf(amax, fabsf(x[j]));
        float id = amax != 0 ? 127.0f / amax : 0;
        d[b] = amax / 127.0f;
        for (int j = 0; j < QK_K; j += 16) {
            int sum = 0;
            for (int k = j; k < j + 16; k++) {
                q[k] = (int8_t)round_even(x[k] * id);
                sum += q[k];
            }
            bsum[b * 16 + j / 16] = (int16_t)sum;
        }
    }
}
