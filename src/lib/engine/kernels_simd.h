/* kernels_simd.h - AVX2 kernels that the AVX-512 table reuses where 512-bit registers
 * bring nothing. Only call them when cpuid reported AVX2 + FMA + F16C. */
#ifndef AIEB_ENGINE_KERNELS_SIMD_H
#define AIEB_ENGINE_KERNELS_SIMD_H

#include "engine/kernels.h"

void avx2_mm_q8_0(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy);
void avx2_mm_q4_0(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy);
/* kernels_blocks.c: the other block types */
void avx2_mm_q4_1(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy);
void avx2_mm_q5_0(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy);
void avx2_mm_q5_1(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy);
void avx2_mm_iq4_nl(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy);
void avx2_mm_q2_k(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy);
void avx2_mm_q3_k(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy);
void avx2_mm_q4_k(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy);
void avx2_mm_q5_k(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy);
void avx2_mm_q6_k(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy);
void avx2_mm_iq4_xs(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy);
#define AVX2_MM_SMALL avx2_mm_q4_1, avx2_mm_q5_0, avx2_mm_q5_1, avx2_mm_iq4_nl
#define AVX2_MM_K                                                                                  \
    avx2_mm_q2_k, avx2_mm_q3_k, avx2_mm_q4_k, avx2_mm_q5_k, avx2_mm_q6_k, avx2_mm_iq4_xs
#define AVX2_MM_BLOCKS AVX2_MM_SMALL, AVX2_MM_K
void avx2_quantize_act(const float *x, int n, int8_t *q, float *d, float *s, int32_t *nsum);
void avx2_quantize_act_k(const float *x, int n, int8_t *q, float *d, int16_t *bsum);
float avx2_dot(const float *a, const float *b, int n);
void avx2_axpy(float a, const float *x, float *y, int n);
void avx2_to_f32(uint32_t type, const void *src, float *dst, int n);
void avx2_scores(const float *q, const float *k, size_t stride, int n, int hd, float scale,
                 float *out);
void avx2_mix(const float *w, const float *v, size_t stride, int n, int hd, float *out);

/* Rows per cache block: about 64 KiB of weights, a multiple of 4. */
static inline int block_rows(size_t row_bytes)
{
    int rb = (int)((64u << 10) / (row_bytes ? row_bytes : 1));
    rb &= ~3;
    return rb < 4 ? 4 : rb;
}

#endif
