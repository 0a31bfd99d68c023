/* kernels_avx512.c - AVX-512 kernels (F/BW/VL/DQ, and VNNI for int8 dot products).
 *
 * Float weights use 512-bit registers, 16 values per load. Q8_0 and Q4_0 use
 * vpdpbusd (VNNI: unsigned x signed bytes summed into int32 in one instruction) on
 * one 32-value block at a time: Q4_0's nibbles are already unsigned; Q8_0's weights
 * are made unsigned by adding 128 (xor 0x80), which adds 128 * sum(x) per block,
 * taken back with the activation block's sum. The K-quants use kernels_kquant.inc
 * built with vpdpwssd and 512-bit registers. Without VNNI the AVX2 int8 kernels run.
 */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels.h"
#include "engine/kernels_simd.h"

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))
#define TARGET_VNNI                                                                                \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))

/* ==== float weights ======================================================= */

TARGET static inline __m512 load16(const uint8_t *p, int kind)
{
    if (kind == KT_F32)
        return _mm512_loadu_ps((const float *)(const void *)p);
    __m256i h = _mm256_loadu_si256((const __m256i *)p);
    if (kind == KT_F16)
        return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
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

/* y[0..4) = 4 rows . x: 16 values per load, two loads in flight per row */
TARGET static inline void dot4_f(const uint8_t *w0, size_t rb, int n, const float *x, float *y,
                                 int kind)
{
    int es = kind == KT_F32 ? 4 : 2;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m512 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 xv = _mm512_loadu_ps(x + i), xw = _mm512_loadu_ps(x + i + 16);
        const uint8_t *p = w0 + (size_t)i * es, *q = p + 16 * es;
        a0 = _mm512_fmadd_ps(load16(p, kind), xv, a0);
        b0 = _mm512_fmadd_ps(load16(q, kind), xw, b0);
        a1 = _mm512_fmadd_ps(load16(p + rb, kind), xv, a1);
        b1 = _mm512_fmadd_ps(load16(q + rb, kind), xw, b1);
        a2 = _mm512_fmadd_ps(load16(p + 2 * rb, kind), xv, a2);
        b2 = _mm512_fmadd_ps(load16(q + 2 * rb, kind), xw, b2);
        a3 = _mm512_fmadd_ps(load16(p + 3 * rb, kind), xv, a3);
        b3 = _mm512_fmadd_ps(load16(q + 3 * rb, kind), xw, b3);
    }
    for (; i + 16 <= n; i += 16) {
        __m512 xv = _mm512_loadu_ps(x + i);
        const uint8_t *p = w0 + (size_t)i * es;
        a0 = _mm512_fmadd_ps(load16(p, kind), xv, a0);
        a1 = _mm512_fmadd_ps(load16(p + rb, kind), xv, a1);
        a2 = _mm512_fmadd_ps(load16(p + 2 * rb, kind), xv, a2);
        a3 = _mm512_fmadd_ps(load16(p + 3 * rb, kind), xv, a3);
    }
    float s[4] = {
        _mm512_reduce_add_ps(_mm512_add_ps(a0, b0)), _mm512_reduce_add_ps(_mm512_add_ps(a1, b1)),
        _mm512_reduce_add_ps(_mm512_add_ps(a2, b2)), _mm512_reduce_add_ps(_mm512_add_ps(a3, b3))};
    for (int r = 0; r < 4; r++) {
        for (int k = i; k < n; k++)
            s[r] += tail_w(w0 + r * rb, k, kind) * x[k];
        y[r] = s[r];
    }
}

TARGET static inline float dot1_f(const uint8_t *w0, int n, const float *x, int kind)
{
    int es = kind == KT_F32 ? 4 : 2;
    __m512 a = _mm512_setzero_ps(), b = a, c = a, d = a;
    int i = 0;
    for (; i + 64 <= n; i += 64) {
        const uint8_t *p = w0 + (size_t)i * es;
        a = _mm512_fmadd_ps(load16(p, kind), _mm512_loadu_ps(x + i), a);
        b = _mm512_fmadd_ps(load16(p + 16 * es, kind), _mm512_loadu_ps(x + i + 16), b);
        c = _mm512_fmadd_ps(load16(p + 32 * es, kind), _mm512_loadu_ps(x + i + 32), c);
        d = _mm512_fmadd_ps(load16(p + 48 * es, kind), _mm512_loadu_ps(x + i + 48), d);
    }
    for (; i + 16 <= n; i += 16)
        a = _mm512_fmadd_ps(load16(w0 + (size_t)i * es, kind), _mm512_loadu_ps(x + i), a);
    float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a, b), _mm512_add_ps(c, d)));
    for (; i < n; i++)
        s += tail_w(w0, i, kind) * x[i];
    return s;
}

#include "engine/kernels_float.inc"

/* Several tokens at once (prefill): a block of 4 rows x nt <= 6 tokens held in 24
 * accumulators; each step of 16 values converts the 4 weight vectors once and uses
 * them for all nt tokens (24 FMAs for 4 weight and 6 activation loads). A block of
 * about 64 KiB of weight rows stays in cache while every token passes over it. The
 * last partial vector of a row is read with masked loads. */
TARGET static inline __attribute__((always_inline)) __m512 load16_mask(const uint8_t *p, int kind,
                                                                       __mmask16 m)
{
    if (kind == KT_F32)
        return _mm512_maskz_loadu_ps(m, p);
    __m256i h = _mm256_maskz_loadu_epi16(m, p);
    if (kind == KT_F16)
        return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

#define GEMM_NT 6

/* the float types whose products beat OpenBLAS sgemm here (measured in docs/engine.md) */
#define NO_BLAS (1u << KT_F32 | 1u << KT_F16 | 1u << KT_BF16)

TARGET static inline __attribute__((always_inline)) void gemm4(const uint8_t *w0, size_t rb, int n,
                                                               const float *x, int ldx, float *y,
                                                               int ldy, int kind, int nt)
{
    int es = kind == KT_F32 ? 4 : 2;
    __m512 acc[4][GEMM_NT];
    for (int r = 0; r < 4; r++)
        for (int t = 0; t < nt; t++)
            acc[r][t] = _mm512_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        const uint8_t *p = w0 + (size_t)i * es;
        __m512 wv[4];
        for (int r = 0; r < 4; r++)
            wv[r] = load16(p + r * rb, kind);
        for (int t = 0; t < nt; t++) {
            __m512 xv = _mm512_loadu_ps(x + (size_t)t * ldx + i);
            for (int r = 0; r < 4; r++)
                acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
        }
    }
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        const uint8_t *p = w0 + (size_t)i * es;
        __m512 wv[4];
        for (int r = 0; r < 4; r++)
            wv[r] = load16_mask(p + r * rb, kind, m);
        for (int t = 0; t < nt; t++) {
            __m512 xv = _mm512_maskz_loadu_ps(m, x + (size_t)t * ldx + i);
            for (int r = 0; r < 4; r++)
                acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
        }
    }
    for (int t = 0; t < nt; t++)
        for (int r = 0; r < 4; r++)
            y[(size_t)t * ldy + r] = _mm512_reduce_add_ps(acc[r][t]);
}

TARGET static inline __attribute__((always_inline)) void
mm_float_gemm(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy, int kind)
{
    size_t rb = w->row_bytes;
    int n = w->cols, ldx = x->ldf;
    int rbk = block_rows(rb);
    for (int b0 = r0; b0 < r1; b0 += rbk) {
        int b1 = b0 + rbk < r1 ? b0 + rbk : r1;
        for (int t = 0; t < n_tok; t += GEMM_NT) {
            int nt = n_tok - t < GEMM_NT ? n_tok - t : GEMM_NT;
            const float *xt = x->f + (size_t)t * ldx;
            float *yt = y + (size_t)t * ldy;
            int r = b0;
            for (; r + 4 <= b1; r += 4) {
                const uint8_t *wr = w->data + (size_t)r * rb;
#define GEMM_CASE(N)                                                                               \
    case N:                                                                                        \
        gemm4(wr, rb, n, xt, ldx, yt + r, ldy, kind, N);                                           \
        break;
                switch (nt) { /* the token count as a constant: its accumulators in registers */
                    GEMM_CASE(6)
                    GEMM_CASE(5)
                    GEMM_CASE(4)
                    GEMM_CASE(3)
                    GEMM_CASE(2)
                    GEMM_CASE(1)
                }
#undef GEMM_CASE
            }
            for (; r < b1; r++)
                for (int k = 0; k < nt; k++)
                    yt[(size_t)k * ldy + r] =
                        dot1_f(w->data + (size_t)r * rb, n, xt + (size_t)k * ldx, kind);
        }
    }
}

/* ==== K-quant super-blocks with VNNI ===================================== */

/* kernels_kquant.inc again, with vpdpwssd for the scaled pair sums */
#define BLK_TARGET  TARGET_VNNI
#define BLK_NAME(x) vnni_##x
#define KQ_TILE     8
#define KQ_VNNI     1
#define KQ_LINKAGE  static
#include "engine/kernels_kquant.inc"

/* products over rows packed 16 to a register (the tables below use them; the blocks of
 * 32 unpack with kernels_kquant.inc's helpers) */
#include "engine/kernels_pack.inc"

TARGET static void gemm_f32(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y,
                            int ldy)
{
    if (n_tok < 2) /* one token: the row-after-row kernel */
        mm_f32(w, r0, r1, x, n_tok, y, ldy);
    else
        mm_float_gemm(w, r0, r1, x, n_tok, y, ldy, KT_F32);
}

/* F16 / BF16: several tokens over packed rows; the rows packing leaves (and 2 to 7
 * tokens) in 4 x 6 blocks */
TARGET static inline __attribute__((always_inline)) void
gemm_half(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy, int kind)
{
    int done;
    if (n_tok < 2) /* one token: the row-after-row kernel */
        (kind == KT_F16 ? mm_f16 : mm_bf16)(w, r0, r1, x, n_tok, y, ldy);
    else if (!fpk_mm(w, r0, r1, x, n_tok, y, ldy, kind, &done) || done < r1)
        mm_float_gemm(w, done, r1, x, n_tok, y, ldy, kind);
}

TARGET static void gemm_f16(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y,
                            int ldy)
{
    gemm_half(w, r0, r1, x, n_tok, y, ldy, KT_F16);
}

TARGET static void gemm_bf16(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y,
                             int ldy)
{
    gemm_half(w, r0, r1, x, n_tok, y, ldy, KT_BF16);
}

/* ==== 8-bit blocks with VNNI ============================================== */

/* Q8_0: w + 128 (xor 0x80) is the unsigned operand; the accumulator starts at
 * -128 * sum(x) (16 * -sum(x) in each of 8 lanes), Q4_0's at -8 * sum(x), so the
 * integer block sums are exact */
#define TMPL_TARGET  TARGET_VNNI
#define TMPL_NAME(x) vnni_q_##x
#define TMPL_Q8_PREP(qs, wu, ws)                                                                   \
    do {                                                                                           \
        wu = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(qs)),                           \
                              _mm256_set1_epi8((char)0x80));                                       \
        ws = wu;                                                                                   \
    } while (0)
#define TMPL_Q8_DOTI(init, wu, ws, x) _mm256_dpbusd_epi32(init, wu, x)
#define TMPL_Q8_BIAS                  128
#define TMPL_Q4_DOTI(init, wu, x)     _mm256_dpbusd_epi32(init, wu, x)
#define TMPL_EXACT                    1
#define TMPL_Q4_SPLIT(v)                                                                           \
    _mm256_srlv_epi16(v, _mm256_setr_epi16(0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 4, 4, 4))
#include "engine/kernels_quant.inc"

TARGET_VNNI static void mm_q8_0(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y,
                                int ldy)
{
    vnni_q_mm_quant(w, r0, r1, x, n_tok, y, ldy, 0);
}

TARGET_VNNI static void mm_q4_0(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y,
                                int ldy)
{
    vnni_q_mm_quant(w, r0, r1, x, n_tok, y, ldy, 1);
}

/* ==== blocks of 32, rows packed 16 to a register (prefill) ================ */

#define PK_MM(name, kt, fallback)                                                                  \
    TARGET_VNNI static void pk_mm_##name(const wmat *w, int r0, int r1, const act *x, int n_tok,   \
                                         float *y, int ldy)                                        \
    {                                                                                              \
        pk_mm(kt, w, r0, r1, x, n_tok, y, ldy, fallback);                                          \
    }
PK_MM(q8_0, KT_Q8_0, mm_q8_0)
PK_MM(q4_0, KT_Q4_0, mm_q4_0)
PK_MM(q4_1, KT_Q4_1, avx2_mm_q4_1)
PK_MM(q5_0, KT_Q5_0, avx2_mm_q5_0)
PK_MM(q5_1, KT_Q5_1, avx2_mm_q5_1)
PK_MM(iq4_nl, KT_IQ4_NL, avx2_mm_iq4_nl)
#undef PK_MM

/* ==== attention =========================================================== */

TARGET static float dot(const float *a, const float *b, int n)
{
    __m512 s = _mm512_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16)
        s = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s);
    float r = _mm512_reduce_add_ps(s);
    for (; i < n; i++)
        r += a[i] * b[i];
    return r;
}

TARGET static void axpy(float a, const float *x, float *y, int n)
{
    __m512 av = _mm512_set1_ps(a);
    int i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i,
                         _mm512_fmadd_ps(av, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    for (; i < n; i++)
        y[i] += a * x[i];
}

TARGET static void scores(const float *q, const float *k, size_t stride, int n, int hd, float scale,
                          float *out)
{
    if (hd == 64) { /* q in registers, 4 positions per step */
        __m512 q0 = _mm512_loadu_ps(q), q1 = _mm512_loadu_ps(q + 16);
        __m512 q2 = _mm512_loadu_ps(q + 32), q3 = _mm512_loadu_ps(q + 48);
        for (int p = 0; p < n; p++) {
            const float *kp = k + (size_t)p * stride;
            __m512 a = _mm512_mul_ps(q0, _mm512_loadu_ps(kp));
            __m512 b = _mm512_mul_ps(q1, _mm512_loadu_ps(kp + 16));
            a = _mm512_fmadd_ps(q2, _mm512_loadu_ps(kp + 32), a);
            b = _mm512_fmadd_ps(q3, _mm512_loadu_ps(kp + 48), b);
            out[p] = scale * _mm512_reduce_add_ps(_mm512_add_ps(a, b));
        }
        return;
    }
    for (int p = 0; p < n; p++)
        out[p] = scale * dot(q, k + (size_t)p * stride, hd);
}

TARGET static void mix(const float *w, const float *v, size_t stride, int n, int hd, float *out)
{
    if (hd == 64) { /* the output row in four registers */
        __m512 o0 = _mm512_setzero_ps(), o1 = o0, o2 = o0, o3 = o0;
        for (int p = 0; p < n; p++) {
            __m512 wp = _mm512_set1_ps(w[p]);
            const float *vp = v + (size_t)p * stride;
            o0 = _mm512_fmadd_ps(wp, _mm512_loadu_ps(vp), o0);
            o1 = _mm512_fmadd_ps(wp, _mm512_loadu_ps(vp + 16), o1);
            o2 = _mm512_fmadd_ps(wp, _mm512_loadu_ps(vp + 32), o2);
            o3 = _mm512_fmadd_ps(wp, _mm512_loadu_ps(vp + 48), o3);
        }
        _mm512_storeu_ps(out, o0);
        _mm512_storeu_ps(out + 16, o1);
        _mm512_storeu_ps(out + 32, o2);
        _mm512_storeu_ps(out + 48, o3);
        return;
    }
    memset(out, 0, (size_t)hd * sizeof *out);
    for (int p = 0; p < n; p++)
        axpy(w[p], v + (size_t)p * stride, out, hd);
}

const kernels kernels_avx512 = {
    .name = "avx512",
    .mm = {gemm_f32, gemm_f16, gemm_bf16, avx2_mm_q8_0, avx2_mm_q4_0, AVX2_MM_BLOCKS},
    .quantize_act = avx2_quantize_act,
    .quantize_act_k = avx2_quantize_act_k,
    .dot = dot,
    .axpy = axpy,
    .scores = scores,
    .mix = mix,
    .to_f32 = avx2_to_f32,
    .no_blas = NO_BLAS,
};

const kernels kernels_avx512_vnni = {
    .name = "avx512-vnni",
    .mm = {gemm_f32, gemm_f16, gemm_bf16, pk_mm_q8_0, pk_mm_q4_0, pk_mm_q4_1, pk_mm_q5_0,
           pk_mm_q5_1, pk_mm_iq4_nl, vnni_mm_q2_k, vnni_mm_q3_k, vnni_mm_q4_k, vnni_mm_q5_k,
           vnni_mm_q6_k, vnni_mm_iq4_xs},
    .quantize_act = avx2_quantize_act,
    .quantize_act_k = avx2_quantize_act_k,
    .dot = dot,
    .axpy = axpy,
    .scores = scores,
    .mix = mix,
    .to_f32 = avx2_to_f32,
    .no_blas = NO_BLAS,
};
