/* kernels_scalar.c - the portable kernels, the reference the SIMD ones are held to,
 * and the run-time choice between them. */
#include <cpuid.h>

#include "engine/kernels.h"

/* ==== CPU detection ====================================================== */

static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

void cpu_detect(cpu_features *f)
{
    unsigned a, b, c, d;
    f->avx2_fma_f16c = f->avx512 = f->avx512_vnni = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !avx)
        return;
    uint64_t xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) /* the OS does not save YMM state */
        return;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return;
    int avx2 = (b >> 5) & 1;
    f->avx2_fma_f16c = avx2 && fma && f16c;
    int avx512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1);
    if (f->avx2_fma_f16c && avx512 && (xcr0 & 0xe0) == 0xe0) {
        f->avx512 = 1;
        f->avx512_vnni = (c >> 11) & 1;
    }
}

int kernels_select(aieb_kernels want, const kernels **out, aieb_err *err)
{
    cpu_features f;
    cpu_detect(&f);
    switch (want) {
    case AIEB_KERNELS_SCALAR:
        *out = &kernels_scalar;
        return 0;
    case AIEB_KERNELS_AVX2:
        if (!f.avx2_fma_f16c)
            return aieb_errf(err, AIEB_EUNSUPPORTED, "engine: this CPU lacks AVX2/FMA/F16C");
        *out = &kernels_avx2;
        return 0;
    case AIEB_KERNELS_AVX512:
        if (!f.avx512)
            return aieb_errf(err, AIEB_EUNSUPPORTED, "engine: this CPU lacks AVX-512 F/BW/VL/DQ");
        *out = f.avx512_vnni ? &kernels_avx512_vnni : &kernels_avx512;
        return 0;
    case AIEB_KERNELS_AUTO:
    default:
        *out = f.avx512          ? (f.avx512_vnni ? &kernels_avx512_vnni : &kernels_avx512)
               : f.avx2_fma_f16c ? &kernels_avx2
                                 : &kernels_scalar;
        return 0;
    }
}

/* ==== scalar kernels ===================================================== */

static void mm_f32(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy)
{
    for (int t = 0; t < n_tok; t++) {
        const float *xv = x->f + (size_t)t * x->ldf;
        for (int r = r0; r < r1; r++) {
            const float *wr = (const float *)(const void *)(w->data + (size_t)r * w->row_bytes);
            float s = 0;
            for (int i = 0; i < w->cols; i++)
                s += wr[i] * xv[i];
            y[(size_t)t * ldy + r] = s;
        }
    }
}

static void mm_half(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy,
                    int bf16)
{
    for (int t = 0; t < n_tok; t++) {
        const float *xv = x->f + (size_t)t * x->ldf;
        for (int r = r0; r < r1; r++) {
            const uint8_t *wr = w->data + (size_t)r * w->row_bytes;
            float s = 0;
            for (int i = 0; i < w->cols; i++) {
                uint16_t h;
                memcpy(&h, wr + 2 * i, 2);
                s += (bf16 ? bf16_to_f32(h) : fp16_to_f32(h)) * xv[i];
            }
            y[(size_t)t * ldy + r] = s;
        }
    }
}

static void mm_f16(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy)
{
    mm_half(w, r0, r1, x, n_tok, y, ldy, 0);
}

static void mm_bf16(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy)
{
    mm_half(w, r0, r1, x, n_tok, y, ldy, 1);
}

static void mm_q8_0(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy)
{
    int nb = w->cols / QK;
    for (int t = 0; t < n_tok; t++) {
        const int8_t *xq = x->q.q + (size_t)t * w->cols;
        const float *xd = x->q.d + (size_t)t * nb;
        for (int r = r0; r < r1; r++) {
            const blk_q8_0 *b = (const blk_q8_0 *)(w->data + (size_t)r * w->row_bytes);
            float s = 0;
            for (int i = 0; i < nb; i++) {
                int is = 0;
                for (int j = 0; j < QK; j++)
                    is += b[i].qs[j] * xq[i * QK + j];
                s += fp16_to_f32(b[i].d) * xd[i] * (float)is;
            }
            y[(size_t)t * ldy + r] = s;
        }
    }
}

/* sum((q - 8) * x) = sum(q * x) - 8 * sum(x): the second term is act_q8's s. */
static void mm_q4_0(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy)
{
    int nb = w->cols / QK;
    for (int t = 0; t < n_tok; t++) {
        const int8_t *xq = x->q.q + (size_t)t * w->cols;
        const float *xd = x->q.d + (size_t)t * nb, *xs = x->q.s + (size_t)t * nb;
        for (int r = r0; r < r1; r++) {
            const blk_q4_0 *b = (const blk_q4_0 *)(w->data + (size_t)r * w->row_bytes);
            float s = 0;
            for (int i = 0; i < nb; i++) {
                int is = 0;
                for (int j = 0; j < QK / 2; j++)
                    is += (b[i].qs[j] & 0x0f) * xq[i * QK + j] +
                          (b[i].qs[j] >> 4) * xq[i * QK + j + QK / 2];
                s += fp16_to_f32(b[i].d) * (xd[i] * (float)is - 8.0f * xs[i]);
            }
            y[(size_t)t * ldy + r] = s;
        }
    }
}

/* The other blocks of 32: each weight block converted to float by the format's
 * definition (dequantize_row), then multiplied with the int8 activations. Slow, and
 * independent of the SIMD kernels' integer decomposition, which it checks. */
static void mm_blocks(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy)
{
    uint32_t be = 1, bb = 1;
    aieb_ggml_type_size(w->type, &be, &bb);
    int nb = w->cols / QK;
    float wf[QK_K];
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = w->data + (size_t)r * w->row_bytes;
        for (int t = 0; t < n_tok; t++)
            y[(size_t)t * ldy + r] = 0;
        for (int c = 0; c < w->cols; c += (int)be) {
            dequantize_row(w->type, row + (size_t)(c / (int)be) * bb, wf, be);
            for (int t = 0; t < n_tok; t++) {
                const int8_t *xq = x->q.q + (size_t)t * w->cols + c;
                const float *xd = x->q.d + (size_t)t * nb + c / QK;
                float s = 0;
                for (int g = 0; g < (int)be / QK; g++) {
                    float sg = 0;
                    for (int j = 0; j < QK; j++)
                        sg += wf[g * QK + j] * (float)xq[g * QK + j];
                    s += sg * xd[g];
                }
                y[(size_t)t * ldy + r] += s;
            }
        }
    }
}

/* The K-quant super-blocks, the same way against the activations per 256 (act_k):
 * each super-block's dot product with the int8 values, times their one scale. */
static void mm_kblocks(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy)
{
    int nsb = w->cols / QK_K;
    size_t bb = w->row_bytes / (size_t)nsb;
    float wf[QK_K];
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = w->data + (size_t)r * w->row_bytes;
        for (int t = 0; t < n_tok; t++)
            y[(size_t)t * ldy + r] = 0;
        for (int b = 0; b < nsb; b++) {
            dequantize_row(w->type, row + (size_t)b * bb, wf, QK_K);
            for (int t = 0; t < n_tok; t++) {
                const int8_t *xq = x->k.q + (size_t)t * w->cols + (size_t)b * QK_K;
                float s = 0;
                for (int j = 0; j < QK_K; j++)
                    s += wf[j] * (float)xq[j];
                y[(size_t)t * ldy + r] += s * x->k.d[(size_t)t * nsb + b];
            }
        }
    }
}

static float dot(const float *a, const float *b, int n)
{
    float s = 0;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static void axpy(float a, const float *x, float *y, int n)
{
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}

static void scores(const float *q, const float *k, size_t stride, int n, int hd, float scale,
                   float *out)
{
    for (int p = 0; p < n; p++)
        out[p] = scale * dot(q, k + (size_t)p * stride, hd);
}

static void mix(const float *w, const float *v, size_t stride, int n, int hd, float *out)
{
    memset(out, 0, (size_t)hd * sizeof *out);
    for (int p = 0; p < n; p++)
        axpy(w[p], v + (size_t)p * stride, out, hd);
}

static void to_f32(uint32_t type, const void *src, float *dst, int n)
{
    dequantize_row(type, src, dst, n);
}

const kernels kernels_scalar = {
    .name = "scalar",
    .mm = {mm_f32, mm_f16, mm_bf16, mm_q8_0, mm_q4_0, mm_blocks, mm_blocks, mm_blocks, mm_blocks,
           mm_kblocks, mm_kblocks, mm_kblocks, mm_kblocks, mm_kblocks, mm_kblocks},
    .quantize_act = quantize_act_scalar,
    .quantize_act_k = quantize_act_k_scalar,
    .dot = dot,
    .axpy = axpy,
    .scores = scores,
    .mix = mix,
    .to_f32 = to_f32,
};
