/* kernels_avx512.c - AVX-512 kernels (F/BW/VL/DQ, and VNNI for int8 dot products).
 *
 * Float weights use 512-bit registers, 16 values per load. Q8_0 and Q4_0 use
 * vpdpbusd (VNNI: unsigned x signed bytes summed into int32 in one instruction) on
 * one 32-value block at a time: Q4_0's nibbles are already unsigned; Q8_0's weights
 * are made unsigned by adding 128 (xor 0x80), which adds 128 * sum(x) per block,
 * taken back with the activation block's sum. Without VNNI the AVX2 int8 kernels run.
 */
#include <immintrin.h>

#include "engine/kernels.h"
#include "engine/kernels_simd.h"

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))
#define TARGET_VNNI                                                                                \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))

/* ==== float weights ======================================================= */

TARGET static inline __m512 load16(const uint8_t *p, int kind)
{
    if (kind == KT_F32)
        return _mm512_loadu_ps((const float *)p);
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

TARGET static inline void dot_rows_f(const uint8_t *w0, size_t rb, int n, const float *x, float *y,
                                     int nr, int kind)
{
    int es = kind == KT_F32 ? 4 : 2;
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    int i = 0;
    if (nr == 4) {
        for (; i + 16 <= n; i += 16) {
            __m512 xv = _mm512_loadu_ps(x + i);
            const uint8_t *p = w0 + (size_t)i * es;
            acc[0] = _mm512_fmadd_ps(load16(p, kind), xv, acc[0]);
            acc[1] = _mm512_fmadd_ps(load16(p + rb, kind), xv, acc[1]);
            acc[2] = _mm512_fmadd_ps(load16(p + 2 * rb, kind), xv, acc[2]);
            acc[3] = _mm512_fmadd_ps(load16(p + 3 * rb, kind), xv, acc[3]);
        }
    } else {
        for (; i + 16 <= n; i += 16) {
            __m512 xv = _mm512_loadu_ps(x + i);
            for (int r = 0; r < nr; r++)
                acc[r] = _mm512_fmadd_ps(load16(w0 + r * rb + (size_t)i * es, kind), xv, acc[r]);
        }
    }
    for (int r = 0; r < nr; r++) {
        float s = _mm512_reduce_add_ps(acc[r]);
        for (int k = i; k < n; k++)
            s += tail_w(w0 + r * rb, k, kind) * x[k];
        y[r] = s;
    }
}

TARGET static void mm_float(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y,
                            int ldy, int kind)
{
    int rbk = block_rows(w->row_bytes);
    for (int b0 = r0; b0 < r1; b0 += rbk) {
        int b1 = b0 + rbk < r1 ? b0 + rbk : r1;
        for (int t = 0; t < n_tok; t++) {
            const float *xv = x->f + (size_t)t * x->ldf;
            float *yt = y + (size_t)t * ldy;
            for (int r = b0; r < b1; r += 4) {
                int nr = b1 - r < 4 ? b1 - r : 4;
                dot_rows_f(w->data + (size_t)r * w->row_bytes, w->row_bytes, w->cols, xv, yt + r,
                           nr, kind);
            }
        }
    }
}

TARGET static void mm_f32(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy)
{
    mm_float(w, r0, r1, x, n_tok, y, ldy, KT_F32);
}

TARGET static void mm_f16(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy)
{
    mm_float(w, r0, r1, x, n_tok, y, ldy, KT_F16);
}

TARGET static void mm_bf16(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y,
                           int ldy)
{
    mm_float(w, r0, r1, x, n_tok, y, ldy, KT_BF16);
}

/* ==== 8-bit blocks with VNNI ============================================== */

TARGET_VNNI static void rows_q8_0(const uint8_t *w0, size_t rb, int nb, const int8_t *xq,
                                  const float *xd, const float *xs, float *y, int nr)
{
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    float corr[4] = {0, 0, 0, 0};
    for (int i = 0; i < nb; i++) {
        __m256i xv = _mm256_loadu_si256((const __m256i *)(xq + i * QK));
        for (int r = 0; r < nr; r++) {
            const blk_q8_0 *b = (const blk_q8_0 *)(w0 + r * rb) + i;
            __m256i wu = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)b->qs), flip);
            __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), wu, xv);
            float dw = _cvtsh_ss(b->d);
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(dw * xd[i]), acc[r]);
            corr[r] += dw * xs[i];
        }
    }
    for (int r = 0; r < nr; r++) {
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc[r]), _mm256_extractf128_ps(acc[r], 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_movehdup_ps(s));
        y[r] = _mm_cvtss_f32(s) - 128.0f * corr[r];
    }
}

TARGET_VNNI static void rows_q4_0(const uint8_t *w0, size_t rb, int nb, const int8_t *xq,
                                  const float *xd, const float *xs, float *y, int nr)
{
    const __m128i m4 = _mm_set1_epi8(0x0f);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    float corr[4] = {0, 0, 0, 0};
    for (int i = 0; i < nb; i++) {
        __m256i xv = _mm256_loadu_si256((const __m256i *)(xq + i * QK));
        for (int r = 0; r < nr; r++) {
            const blk_q4_0 *b = (const blk_q4_0 *)(w0 + r * rb) + i;
            __m128i q = _mm_loadu_si128((const __m128i *)b->qs);
            __m256i wu =
                _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m4), _mm_and_si128(q, m4));
            __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), wu, xv);
            float dw = _cvtsh_ss(b->d);
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(dw * xd[i]), acc[r]);
            corr[r] += dw * xs[i];
        }
    }
    for (int r = 0; r < nr; r++) {
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc[r]), _mm256_extractf128_ps(acc[r], 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_movehdup_ps(s));
        y[r] = _mm_cvtss_f32(s) - 8.0f * corr[r];
    }
}

TARGET_VNNI static void mm_quant(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y,
                                 int ldy, int q4)
{
    int nb = w->cols / QK, rbk = block_rows(w->row_bytes);
    for (int b0 = r0; b0 < r1; b0 += rbk) {
        int b1 = b0 + rbk < r1 ? b0 + rbk : r1;
        for (int t = 0; t < n_tok; t++) {
            const int8_t *xq = x->q.q + (size_t)t * w->cols;
            const float *xd = x->q.d + (size_t)t * nb, *xs = x->q.s + (size_t)t * nb;
            float *yt = y + (size_t)t * ldy;
            for (int r = b0; r < b1; r += 4) {
                int nr = b1 - r < 4 ? b1 - r : 4;
                const uint8_t *wr = w->data + (size_t)r * w->row_bytes;
                if (q4)
                    rows_q4_0(wr, w->row_bytes, nb, xq, xd, xs, yt + r, nr);
                else
                    rows_q8_0(wr, w->row_bytes, nb, xq, xd, xs, yt + r, nr);
            }
        }
    }
}

TARGET_VNNI static void mm_q8_0(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y,
                                int ldy)
{
    mm_quant(w, r0, r1, x, n_tok, y, ldy, 0);
}

TARGET_VNNI static void mm_q4_0(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y,
                                int ldy)
{
    mm_quant(w, r0, r1, x, n_tok, y, ldy, 1);
}

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

const kernels kernels_avx512 = {
    .name = "avx512",
    .mm = {mm_f32, mm_f16, mm_bf16, avx2_mm_q8_0, avx2_mm_q4_0},
    .quantize_act = avx2_quantize_act,
    .dot = dot,
    .axpy = axpy,
    .to_f32 = avx2_to_f32,
};

const kernels kernels_avx512_vnni = {
    .name = "avx512-vnni",
    .mm = {mm_f32, mm_f16, mm_bf16, mm_q8_0, mm_q4_0},
    .quantize_act = avx2_quantize_act,
    .dot = dot,
    .axpy = axpy,
    .to_f32 = avx2_to_f32,
};
