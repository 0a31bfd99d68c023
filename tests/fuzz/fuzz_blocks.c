/* fuzz_blocks.c - libFuzzer target for the weight block decoders and products.
 *
 * The first byte picks a block type (every one the engine multiplies), the second a
 * row length; the rest, repeated to fill the rows, are the weight bytes: any scales,
 * any bit patterns, fp16 infinities and NaNs included. Every row is dequantized
 * (dequantize_row) and multiplied with fixed int8 activations by the scalar kernels
 * and by every SIMD set this CPU has: nothing may read or write outside the rows,
 * and where the weights are finite the SIMD results must match the scalar ones
 * (relative 1e-3 of the sum of |products|, the offsets' share counted apart), or
 * the target aborts with both values printed.
 */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels.h"
#include "engine/quant.h"

/* 19 rows x 5 tokens: the prefill products that pack 16 rows to a register
 * (kernels_pack.inc, from 4 tokens) take one group and leave 3 rows to the others */
enum { MAX_COLS = 1024, ROWS = 19, TOK = 5 };

static const uint32_t types[] = {AIEB_GGML_Q8_0, AIEB_GGML_Q4_0, AIEB_GGML_Q4_1,
                                 AIEB_GGML_Q5_0, AIEB_GGML_Q5_1, AIEB_GGML_IQ4_NL,
                                 AIEB_GGML_Q2_K, AIEB_GGML_Q3_K, AIEB_GGML_Q4_K,
                                 AIEB_GGML_Q5_K, AIEB_GGML_Q6_K, AIEB_GGML_IQ4_XS};

/* |offset| of element i of a row for the types whose values are scale x q + offset:
 * the kernels sum the two parts apart, so their rounding scales with both */
static double offset_mag(uint32_t type, const uint8_t *row, int i)
{
    uint16_t h;
    switch (type) {
    case AIEB_GGML_Q4_1:
    case AIEB_GGML_Q5_1:
        memcpy(&h, row + (size_t)(i / QK) * (type == AIEB_GGML_Q4_1 ? 20 : 24) + 2, 2);
        return fabs((double)fp16_to_f32(h));
    case AIEB_GGML_Q2_K: {
        const blk_q2_k *b = (const blk_q2_k *)(const void *)row + i / QK_K;
        return fabs((double)fp16_to_f32(b->dmin)) * (b->scales[i % QK_K / 16] >> 4);
    }
    case AIEB_GGML_Q4_K:
    case AIEB_GGML_Q5_K: {
        const uint8_t *p = row + (size_t)(i / QK_K) * (type == AIEB_GGML_Q4_K ? 144 : 176);
        int sc, m;
        kq_scale_min(p + 4, i % QK_K / 32, &sc, &m);
        memcpy(&h, p + 2, 2);
        return fabs((double)fp16_to_f32(h)) * m;
    }
    default:
        return 0;
    }
}

static int8_t xq[TOK * MAX_COLS];
static float xd[TOK * MAX_COLS / QK], xs[TOK * MAX_COLS / QK], xf[TOK * MAX_COLS];
static int32_t xn[TOK * MAX_COLS / QK];
/* the same values per 256 (K-quant weights): one long row, so rows cols apart (cols a
 * multiple of 256) start on a super-block */
static int8_t kq[TOK * MAX_COLS];
static float kd[TOK * MAX_COLS / QK_K];
static int16_t kb[TOK * MAX_COLS / 16];
static int ready;

static void setup(void)
{
    uint64_t s = 42;
    for (int i = 0; i < TOK * MAX_COLS; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        xf[i] = (float)(int)(s >> 40 & 0xffff) / 32768.0f - 1.0f;
    }
    for (int t = 0; t < TOK; t++)
        quantize_act_scalar(xf + t * MAX_COLS, MAX_COLS, xq + t * MAX_COLS, xd + t * MAX_COLS / QK,
                            xs + t * MAX_COLS / QK, xn + t * MAX_COLS / QK);
    quantize_act_k_scalar(xf, TOK * MAX_COLS, kq, kd, kb);
    ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready)
        setup();
    if (size < 3)
        return 0;
    uint32_t type = types[data[0] % (sizeof types / sizeof types[0])];
    uint32_t be = 1, bb = 1;
    aieb_ggml_type_size(type, &be, &bb);
    int cols = (int)be * (1 + data[1] % (MAX_COLS / be)); /* 1..MAX_COLS / be blocks */
    size_t rb = row_bytes(type, cols), n = rb * ROWS;
    /* exactly the rows' bytes, so a read past them is caught by ASan */
    uint8_t *w = malloc(n);
    float *deq = malloc((size_t)cols * sizeof *deq);
    if (!w || !deq)
        abort();
    for (size_t i = 0; i < n; i++)
        w[i] = data[2 + i % (size - 2)];
    int finite = 1;
    double mag[ROWS][TOK];
    for (int r = 0; r < ROWS; r++) {
        dequantize_row(type, w + rb * r, deq, cols);
        for (int t = 0; t < TOK; t++) {
            double m = 0;
            for (int i = 0; i < cols; i++) {
                double xv = type_is_kquant(type)
                                ? fabs((double)kq[t * cols + i] * kd[(t * cols + i) / QK_K])
                                : fabs((double)xq[t * cols + i] * xd[(t * cols + i) / QK]);
                m += (fabs((double)deq[i]) + 2 * offset_mag(type, w + rb * r, i)) * xv;
                /* the VNNI Q8_0 / Q4_0 kernels sum (q + 128) x and (q) x in integers and
                 * take 128 / 8 x sum(x) back per 8 lanes: their float rounding scales
                 * with d x that bias, not with the weights' values */
                if (type == AIEB_GGML_Q8_0 || type == AIEB_GGML_Q4_0) {
                    uint16_t h;
                    memcpy(&h, w + rb * r + (size_t)(i / QK) * bb, 2);
                    m += fabs((double)fp16_to_f32(h)) * (type == AIEB_GGML_Q8_0 ? 128 : 8) * xv;
                }
            }
            mag[r][t] = m;
            finite = finite && isfinite(m);
        }
    }
    /* activation rows are cols apart, as the engine lays them out */
    act a = {.f = xf, .ldf = cols, .q = {xq, xd, xs, xn}, .k = {kq, kd, kb}};
    float want[TOK * ROWS], got[TOK * ROWS];
    kernels_scalar.mm[kt_index(type)](&(wmat){type, ROWS, cols, rb, w}, 0, ROWS, &a, TOK, want,
                                      ROWS);
    cpu_features f;
    cpu_detect(&f);
    const kernels *sets[] = {f.avx2_fma_f16c ? &kernels_avx2 : NULL,
                             f.avx512 ? &kernels_avx512 : NULL,
                             f.avx512_vnni ? &kernels_avx512_vnni : NULL};
    for (int k = 0; k < 3; k++) {
        if (!sets[k])
            continue;
        sets[k]->mm[kt_index(type)](&(wmat){type, ROWS, cols, rb, w}, 0, ROWS, &a, TOK, got, ROWS);
        for (int r = 0; finite && r < ROWS; r++)
            for (int t = 0; t < TOK; t++) {
                double tol = 1e-3 * mag[r][t] + 1e-6;
                if (mag[r][t] < 1e30 &&
                    fabs((double)got[t * ROWS + r] - want[t * ROWS + r]) > tol) {
                    fprintf(stderr, "%s t%d r%d got %g want %g mag %g\n", sets[k]->name, t, r,
                            got[t * ROWS + r], want[t * ROWS + r], mag[r][t]);
                    abort();
                }
            }
    }
    free(w);
    free(deq);
    return 0;
}
