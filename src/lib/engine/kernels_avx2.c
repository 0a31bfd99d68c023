/* kernels_avx2.c - AVX2 + FMA + F16C kernels (Haswell and later, Zen and later).
 *
 * Compiled per function with target attributes, so the rest of the build needs no
 * -mavx2; kernels_select() only hands these out when cpuid says the CPU has them.
 * Matrix products walk a block of rows that stays in cache for every token of a
 * batch, and take four rows at a time so each activation load feeds four rows.
 */
#include <immintrin.h>

#include "engine/kernels.h"
#include "engine/kernels_simd.h"

#define TARGET __attribute__((target("avx2,fma,f16c")))

TARGET static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* ==== float weights ======================================================= */

TARGET static inline __m256 load_w(const uint8_t *p, int kind)
{
    if (kind == KT_F32)
        return _mm256_loadu_ps((const float *)(const void *)p);
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    if (kind == KT_F16)
        return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)); /* bf16 */
}

static inline float tail_w(const uint8_t *p, int i, int kind)
{
    uint16_t h;
    if (kind == KT_F32) {
        float f;
        memcpy(&f, p + 4 * i, 4);
        return f;
    }
    memcpy(&h, p + 2 * i, 2);
    return kind == KT_F16 ? fp16_to_f32(h) : bf16_to_f32(h);
}

/* y[0..4) = 4 rows . x, accumulators in registers */
TARGET static inline void dot4_f(const uint8_t *w0, size_t rb, int n, const float *x, float *y,
                                 int kind)
{
    int es = kind == KT_F32 ? 4 : 2;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 xv = _mm256_loadu_ps(x + i);
        const uint8_t *p = w0 + (size_t)i * es;
        a0 = _mm256_fmadd_ps(load_w(p, kind), xv, a0);
        a1 = _mm256_fmadd_ps(load_w(p + rb, kind), xv, a1);
        a2 = _mm256_fmadd_ps(load_w(p + 2 * rb, kind), xv, a2);
        a3 = _mm256_fmadd_ps(load_w(p + 3 * rb, kind), xv, a3);
    }
    float s[4] = {hsum8(a0), hsum8(a1), hsum8(a2), hsum8(a3)};
    for (int r = 0; r < 4; r++) {
        for (int k = i; k < n; k++)
            s[r] += tail_w(w0 + r * rb, k, kind) * x[k];
        y[r] = s[r];
    }
}

TARGET static inline float dot1_f(const uint8_t *w0, int n, const float *x, int kind)
{
    int es = kind == KT_F32 ? 4 : 2;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(load_w(w0 + (size_t)i * es, kind), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(load_w(w0 + (size_t)(i + 8) * es, kind), _mm256_loadu_ps(x + i + 8),
                             a1);
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_fmadd_ps(load_w(w0 + (size_t)i * es, kind), _mm256_loadu_ps(x + i), a0);
    float s = hsum8(_mm256_add_ps(a0, a1));
    for (; i < n; i++)
        s += tail_w(w0, i, kind) * x[i];
    return s;
}

#include "engine/kernels_float.inc"

/* ==== 8-bit blocks ======================================================== */

/* sum over 32 pairs of (unsigned u) * (signed s), as 8 int32 lanes; a pair sum stays
 * below 2^15 because u <= 128 (|w|) or u <= 15 (nibbles) */
TARGET static inline __m256i dot_us(__m256i u, __m256i s)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

/* Q8_0: |w| is the unsigned operand and w's sign moves to x (x never holds -128) */
#define TMPL_TARGET  TARGET
#define TMPL_NAME(x) avx2_q_##x
#define TMPL_Q8_PREP(qs, wu, ws)                                                                   \
    do {                                                                                           \
        ws = _mm256_loadu_si256((const __m256i *)(qs));                                            \
        wu = _mm256_sign_epi8(ws, ws);                                                             \
    } while (0)
#define TMPL_Q8_DOT(wu, ws, x) dot_us(wu, _mm256_sign_epi8(x, ws))
#define TMPL_Q8_BIAS           0
#define TMPL_Q4_DOT(wu, x)     dot_us(wu, x)
#define TMPL_EXACT             0
#define TMPL_Q4_SPLIT(v)       _mm256_blend_epi32(v, _mm256_srli_epi16(v, 4), 0xf0)
#include "engine/kernels_quant.inc"

TARGET void avx2_mm_q8_0(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy)
{
    avx2_q_mm_quant(w, r0, r1, x, n_tok, y, ldy, 0);
}

TARGET void avx2_mm_q4_0(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy)
{
    avx2_q_mm_quant(w, r0, r1, x, n_tok, y, ldy, 1);
}

/* ==== activations and attention =========================================== */

TARGET void avx2_quantize_act(const float *x, int n, int8_t *q, float *d, float *s, int32_t *nsum)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int b = 0; b < n / QK; b++, x += QK, q += QK) {
        __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
        __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
        __m256 m =
            _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                          _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        float amax = _mm_cvtss_f32(m4);
        float id = amax != 0 ? 127.0f / amax : 0;
        d[b] = amax / 127.0f;
        __m256 idv = _mm256_set1_ps(id);
        /* cvtps rounds to nearest even, as lrintf does in the scalar kernel */
        __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, idv));
        __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, idv));
        __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, idv));
        __m256i i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, idv));
        __m256i sum = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
        s4 = _mm_hadd_epi32(s4, s4);
        s4 = _mm_hadd_epi32(s4, s4);
        int isum = _mm_cvtsi128_si32(s4);
        s[b] = d[b] * (float)isum;
        nsum[b] = -isum;
        /* packs interleave 128-bit lanes; the permute puts elements back in order */
        __m256i p16 = _mm256_packs_epi32(i0, i1), p16b = _mm256_packs_epi32(i2, i3);
        __m256i p8 = _mm256_packs_epi16(p16, p16b);
        p8 = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)q, p8);
    }
}

/* per 256 values (act_k): the same rounding as above, sums per 16 from the int32 lanes */
TARGET void avx2_quantize_act_k(const float *x, int n, int8_t *q, float *d, int16_t *bsum)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int b = 0; b < n / QK_K; b++, x += QK_K, q += QK_K, bsum += QK_K / 16) {
        __m256 m = _mm256_setzero_ps();
        for (int i = 0; i < QK_K; i += 8)
            m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        float amax = _mm_cvtss_f32(m4);
        __m256 idv = _mm256_set1_ps(amax != 0 ? 127.0f / amax : 0);
        d[b] = amax / 127.0f;
        for (int j = 0; j < QK_K; j += 32) {
            __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + j), idv));
            __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + j + 8), idv));
            __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + j + 16), idv));
            __m256i i3 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + j + 24), idv));
            /* lanes of i0 + i1 sum to values j..j+15, of i2 + i3 to the next 16 */
            __m256i h = _mm256_hadd_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
            h = _mm256_hadd_epi32(h, h);
            __m128i s2 = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
            bsum[j / 16] = (int16_t)_mm_cvtsi128_si32(s2);
            bsum[j / 16 + 1] = (int16_t)_mm_extract_epi32(s2, 1);
            __m256i p8 = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
            p8 = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(q + j), p8);
        }
    }
}

TARGET float avx2_dot(const float *a, const float *b, int n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    float s = hsum8(_mm256_add_ps(s0, s1));
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}

TARGET void avx2_axpy(float a, const float *x, float *y, int n)
{
    __m256 av = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i,
                         _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++)
        y[i] += a * x[i];
}

/* one position per step for the scores, the output row kept in registers for the mix
 * when the head is at most 64 wide (the common size), else in memory */
TARGET void avx2_scores(const float *q, const float *k, size_t stride, int n, int hd, float scale,
                        float *out)
{
    for (int p = 0; p < n; p++) {
        const float *kp = k + (size_t)p * stride;
        __m256 a = _mm256_setzero_ps(), b = a;
        int i = 0;
        for (; i + 16 <= hd; i += 16) {
            a = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(kp + i), a);
            b = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), _mm256_loadu_ps(kp + i + 8), b);
        }
        float s = hsum8(_mm256_add_ps(a, b));
        for (; i < hd; i++)
            s += q[i] * kp[i];
        out[p] = scale * s;
    }
}

TARGET void avx2_mix(const float *w, const float *v, size_t stride, int n, int hd, float *out)
{
    if (hd == 64) {
        __m256 o[8];
        for (int j = 0; j < 8; j++)
            o[j] = _mm256_setzero_ps();
        for (int p = 0; p < n; p++) {
            __m256 wp = _mm256_broadcast_ss(w + p);
            const float *vp = v + (size_t)p * stride;
            for (int j = 0; j < 8; j++)
                o[j] = _mm256_fmadd_ps(wp, _mm256_loadu_ps(vp + 8 * j), o[j]);
        }
        for (int j = 0; j < 8; j++)
            _mm256_storeu_ps(out + 8 * j, o[j]);
        return;
    }
    memset(out, 0, (size_t)hd * sizeof *out);
    for (int p = 0; p < n; p++)
        avx2_axpy(w[p], v + (size_t)p * stride, out, hd);
}

TARGET void avx2_to_f32(uint32_t type, const void *src, float *dst, int n)
{
    int kind = kt_index(type);
    if (kind != KT_F16 && kind != KT_BF16) {
        dequantize_row(type, src, dst, n);
        return;
    }
    const uint8_t *p = src;
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, load_w(p + 2 * (size_t)i, kind));
    for (; i < n; i++)
        dst[i] = tail_w(p, i, kind);
}

const kernels kernels_avx2 = {
    .name = "avx2",
    .mm = {mm_f32, mm_f16, mm_bf16, avx2_mm_q8_0, avx2_mm_q4_0, AVX2_MM_BLOCKS},
    .quantize_act = avx2_quantize_act,
    .quantize_act_k = avx2_quantize_act_k,
    .dot = avx2_dot,
    .axpy = avx2_axpy,
    .scores = avx2_scores,
    .mix = avx2_mix,
    .to_f32 = avx2_to_f32,
};
