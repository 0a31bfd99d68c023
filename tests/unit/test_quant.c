/* test_quant.c - the block types other than Q8_0 / Q4_0: hand-built blocks with known
 * values (layouts as ggml-common.h and ggml's dequantize_row_* define them; each
 * expected value below is worked out by hand in its comment), the quantizers' round
 * trip, and every kernel set against the scalar one on the unpacking's corner cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "engine/kernels.h"
#include "engine/quant.h"

static float out[QK_K];

static void put_half(uint8_t *p, float v)
{
    uint16_t h = f32_to_fp16(v);
    memcpy(p, &h, 2);
}

static void small_blocks(void **state)
{
    /* Q4_1: d 0.5, m -1, byte j = j | (15 - j) << 4: element j = 0.5 j - 1 */
    uint8_t b[24];
    put_half(b, 0.5f);
    put_half(b + 2, -1.0f);
    for (int j = 0; j < 16; j++)
        b[4 + j] = (uint8_t)(j | (15 - j) << 4);
    dequantize_row(AIEB_GGML_Q4_1, b, out, 32);
    assert_true(out[3] == 0.5f);   /* 0.5 * 3 - 1 */
    assert_true(out[16] == 6.5f);  /* 0.5 * 15 - 1 */
    assert_true(out[31] == -1.0f); /* 0.5 * 0 - 1 */

    /* Q5_0: d 0.25, qh bits 0 and 31, byte j = j | j << 4 */
    put_half(b, 0.25f);
    uint32_t qh = 0x80000001u;
    memcpy(b + 2, &qh, 4);
    for (int j = 0; j < 16; j++)
        b[6 + j] = (uint8_t)(j | j << 4);
    dequantize_row(AIEB_GGML_Q5_0, b, out, 32);
    assert_true(out[0] == 0.0f);   /* (0 | 16) - 16 */
    assert_true(out[1] == -3.75f); /* (1 - 16) * 0.25 */
    assert_true(out[16] == -4.0f); /* (0 - 16) * 0.25 */
    assert_true(out[31] == 3.75f); /* (15 | 16) - 16 = 15 */

    /* Q5_1: d 1, m 0.5, the same bits */
    put_half(b, 1.0f);
    put_half(b + 2, 0.5f);
    memcpy(b + 4, &qh, 4);
    for (int j = 0; j < 16; j++)
        b[8 + j] = (uint8_t)(j | j << 4);
    dequantize_row(AIEB_GGML_Q5_1, b, out, 32);
    assert_true(out[0] == 16.5f);
    assert_true(out[1] == 1.5f);
    assert_true(out[16] == 0.5f);
    assert_true(out[31] == 31.5f);

    /* IQ4_NL: d 2, byte j = j | (15 - j) << 4; levels -127 (0), 1 (8), 113 (15) */
    put_half(b, 2.0f);
    for (int j = 0; j < 16; j++)
        b[2 + j] = (uint8_t)(j | (15 - j) << 4);
    dequantize_row(AIEB_GGML_IQ4_NL, b, out, 32);
    assert_true(out[0] == -254.0f);
    assert_true(out[8] == 2.0f);
    assert_true(out[16] == 226.0f);
}

static void k_blocks(void **state)
{
    /* Q2_K: d 1, dmin 0.5, scales[s] = (s % 15 + 1) | s << 4, every qs byte 0xe4 so
     * group g (of 32) reads q = g % 4; value = scale * q - 0.5 * min */
    blk_q2_k q2;
    for (int s = 0; s < 16; s++)
        q2.scales[s] = (uint8_t)((s % 15 + 1) | s << 4);
    memset(q2.qs, 0xe4, sizeof q2.qs);
    q2.d = f32_to_fp16(1.0f);
    q2.dmin = f32_to_fp16(0.5f);
    dequantize_row(AIEB_GGML_Q2_K, &q2, out, QK_K);
    assert_true(out[40] == 2.0f);   /* g 1, s 2: 3 * 1 - 1 */
    assert_true(out[100] == 18.0f); /* g 3, s 6: 7 * 3 - 3 */
    assert_true(out[130] == -4.0f); /* g 4, s 8: 9 * 0 - 4 */
    assert_true(out[255] == -4.5f); /* g 7, s 15: 1 * 3 - 7.5 */

    /* Q3_K: d 0.5, scale of sub-block s = s (stored s + 32: low nibbles s | (s + 8) << 4,
     * top bits 2 everywhere = 0xaa), qs 0xe4, hmask 0x0f: groups 0-3 keep q, 4-7 q - 4 */
    blk_q3_k q3;
    for (int k = 0; k < 8; k++)
        q3.scales[k] = (uint8_t)(k | (k + 8) << 4);
    memset(q3.scales + 8, 0xaa, 4);
    memset(q3.qs, 0xe4, sizeof q3.qs);
    memset(q3.hmask, 0x0f, sizeof q3.hmask);
    q3.d = f32_to_fp16(0.5f);
    dequantize_row(AIEB_GGML_Q3_K, &q3, out, QK_K);
    assert_true(out[40] == 1.0f);    /* g 1, s 2: 0.5 * 2 * 1 */
    assert_true(out[17] == 0.0f);    /* g 0: q 0 */
    assert_true(out[200] == -12.0f); /* g 6, s 12: 0.5 * 12 * (2 - 4) */
    assert_true(out[255] == -7.5f);  /* g 7, s 15: 0.5 * 15 * (3 - 4) */

    /* Q4_K: d 1, dmin 2; scale/min of sub-block j: 1,2,3,4 / 0,1,2,3 for j < 4 and
     * 44..47 / 17 for j >= 4 (6 bits: low nibbles in bytes 8..11, top bits in bytes
     * 0..3 (scales) and 4..7 (mins)); qs bytes 0x5a: even groups q 10, odd 5 */
    uint8_t k4[sizeof(blk_q5_k)];
    put_half(k4, 1.0f);
    put_half(k4 + 2, 2.0f);
    const uint8_t sc[12] = {0x81, 0x82, 0x83, 0x84, 0x40, 0x41, 0x42, 0x43, 0x1c, 0x1d, 0x1e, 0x1f};
    memcpy(k4 + 4, sc, 12);
    memset(k4 + 16, 0x5a, 128);
    dequantize_row(AIEB_GGML_Q4_K, k4, out, QK_K);
    assert_true(out[0] == 10.0f);    /* 1 * 10 - 0 */
    assert_true(out[40] == 8.0f);    /* 2 * 5 - 2 * 1 */
    assert_true(out[100] == 14.0f);  /* 4 * 5 - 2 * 3 */
    assert_true(out[130] == 406.0f); /* 44 * 10 - 2 * 17 */
    assert_true(out[255] == 201.0f); /* 47 * 5 - 34 */

    /* Q5_K: the same scales and nibbles, qh bytes 0xaa: odd groups get + 16 */
    memset(k4 + 16, 0xaa, 32);
    memset(k4 + 48, 0x5a, 128);
    dequantize_row(AIEB_GGML_Q5_K, k4, out, QK_K);
    assert_true(out[0] == 10.0f);
    assert_true(out[40] == 40.0f);   /* 2 * 21 - 2 */
    assert_true(out[255] == 953.0f); /* 47 * 21 - 34 */

    /* Q6_K: d 0.5, scales[s] = s - 8, ql bytes 0x21, qh bytes 0xe4: in each half the
     * groups read q = 1 | 0 << 4, 1 | 1 << 4, 2 | 2 << 4, 2 | 3 << 4 = 1, 17, 34, 50 */
    blk_q6_k q6;
    memset(q6.ql, 0x21, sizeof q6.ql);
    memset(q6.qh, 0xe4, sizeof q6.qh);
    for (int s = 0; s < 16; s++)
        q6.scales[s] = (int8_t)(s - 8);
    q6.d = f32_to_fp16(0.5f);
    dequantize_row(AIEB_GGML_Q6_K, &q6, out, QK_K);
    assert_true(out[0] == 124.0f);   /* 0.5 * -8 * (1 - 32) */
    assert_true(out[40] == 45.0f);   /* 0.5 * -6 * (17 - 32) */
    assert_true(out[70] == -4.0f);   /* 0.5 * -4 * (34 - 32) */
    assert_true(out[150] == -15.5f); /* g 4 (first of the half), s 9: 0.5 * 1 * -31 */
    assert_true(out[255] == 63.0f);  /* 0.5 * 7 * (50 - 32) */

    /* IQ4_XS: d 1, ls of group g = 28 + g (value g - 4): nibbles 12,13 | 14,15 | 0,1 |
     * 2,3, top bits 1 (g < 4) or 2: scales_h 0xaa55; qs 0xf0: levels -127 then 113 */
    blk_iq4_xs x4;
    x4.d = f32_to_fp16(1.0f);
    x4.scales_h = 0xaa55;
    const uint8_t sl[4] = {0xdc, 0xfe, 0x10, 0x32};
    memcpy(x4.scales_l, sl, 4);
    memset(x4.qs, 0xf0, sizeof x4.qs);
    dequantize_row(AIEB_GGML_IQ4_XS, &x4, out, QK_K);
    assert_true(out[0] == 508.0f);   /* -4 * -127 */
    assert_true(out[16] == -452.0f); /* -4 * 113 */
    assert_true(out[140] == 0.0f);   /* g 4: 0 */
    assert_true(out[255] == 339.0f); /* 3 * 113 */
}

static uint64_t rng = 12345;

static float uniform(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (float)(z >> 40) * 0x1p-24f * 2.0f - 1.0f;
}

/* Quantize then dequantize: the RMS error relative to the values' RMS stays within
 * what the bits allow (plain rounding; ggml's searched scales do better). */
static void round_trip(void **state)
{
    const struct {
        uint32_t type;
        double max_rel;
    } cases[] = {
        {AIEB_GGML_Q4_1, 0.08},   {AIEB_GGML_Q5_0, 0.06}, {AIEB_GGML_Q5_1, 0.04},
        {AIEB_GGML_IQ4_NL, 0.12}, {AIEB_GGML_Q2_K, 0.45}, {AIEB_GGML_Q3_K, 0.25},
        {AIEB_GGML_Q4_K, 0.10},   {AIEB_GGML_Q5_K, 0.05}, {AIEB_GGML_Q6_K, 0.03},
        {AIEB_GGML_IQ4_XS, 0.12},
    };
    enum { N = 4 * QK_K };
    static float v[N], back[N];
    static uint8_t buf[N * 2];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int i = 0; i < N; i++) /* one part with an offset, one with an outlier */
            v[i] = uniform() + (i < QK_K ? 0.7f : 0) + (i == 600 ? 9.0f : 0);
        quantize_row(cases[c].type, v, buf, N);
        dequantize_row(cases[c].type, buf, back, N);
        double se = 0, sv = 0;
        for (int i = 0; i < N; i++) {
            se += (double)(back[i] - v[i]) * (back[i] - v[i]);
            sv += (double)v[i] * v[i];
        }
        double rel = sqrt(se / sv);
        print_message("%-7s relative RMS error %.4f\n", aieb_ggml_type_name(cases[c].type), rel);
        if (!(rel <= cases[c].max_rel))
            fail_msg("%s: relative RMS error %g over %g", aieb_ggml_type_name(cases[c].type), rel,
                     cases[c].max_rel);
        /* zeros stay zeros (no division by a zero scale) */
        memset(v, 0, sizeof v);
        quantize_row(cases[c].type, v, buf, N);
        dequantize_row(cases[c].type, buf, back, N);
        for (int i = 0; i < N; i++)
            assert_true(back[i] == 0.0f);
    }
}

/* The SIMD kernel sets this CPU runs (NULL where it lacks the instructions). */
static void simd_sets(const kernels *sets[3])
{
    cpu_features f;
    cpu_detect(&f);
    sets[0] = f.avx2_fma_f16c ? &kernels_avx2 : NULL;
    sets[1] = f.avx512 ? &kernels_avx512 : NULL;
    sets[2] = f.avx512_vnni ? &kernels_avx512_vnni : NULL;
}

/* TOK rows of COLS random activations, quantized per 32 as the forward pass does */
static void random_act_q8(int tok, int cols, float *xf, int8_t *xq, float *xd, float *xs,
                          int32_t *xn)
{
    for (int i = 0; i < tok * cols; i++)
        xf[i] = uniform();
    for (int t = 0; t < tok; t++)
        quantize_act_scalar(xf + t * cols, cols, xq + t * cols, xd + t * cols / QK,
                            xs + t * cols / QK, xn + t * cols / QK);
}

/* rows x cols of type as random bytes (every bit pattern; the caller makes the fp16
 * fields finite); returns the row's bytes, *bb the block's */
static size_t random_rows(uint32_t type, int rows, int cols, uint8_t *wbuf, size_t *bb)
{
    uint32_t be, b;
    aieb_ggml_type_size(type, &be, &b);
    size_t rb = row_bytes(type, cols);
    for (size_t i = 0; i < rb * (size_t)rows; i++)
        wbuf[i] = (uint8_t)(uniform() * 128 + 128);
    *bb = b;
    return rb;
}

/* Random bytes as blocks (any scales, every bit pattern; fp16 scales kept finite), all
 * kernel sets against the scalar one: the SIMD unpacking is checked on values a
 * quantizer never writes (negative Q6_K scales, Q3_K scales below 32, ...). */
static void random_blocks(void **state)
{
    const kernels *sets[3];
    simd_sets(sets);
    const uint32_t types[] = {AIEB_GGML_Q4_1, AIEB_GGML_Q5_0,  AIEB_GGML_Q5_1, AIEB_GGML_IQ4_NL,
                              AIEB_GGML_Q2_K, AIEB_GGML_Q3_K,  AIEB_GGML_Q4_K, AIEB_GGML_Q5_K,
                              AIEB_GGML_Q6_K, AIEB_GGML_IQ4_XS};
    enum { COLS = 768, ROWS = 6, TOK = 6 };
    static uint8_t wbuf[ROWS * COLS];
    static int8_t xq[TOK * COLS];
    static float xd[TOK * COLS / QK], xs[TOK * COLS / QK], xf[TOK * COLS];
    static int32_t xn[TOK * COLS / QK];
    random_act_q8(TOK, COLS, xf, xq, xd, xs, xn);
    static int8_t kq[TOK * COLS];
    static float kd[TOK * COLS / QK_K];
    static int16_t kb[TOK * COLS / 16];
    quantize_act_k_scalar(xf, TOK * COLS, kq, kd, kb); /* rows COLS apart, 3 super-blocks */
    act a = {.f = xf, .ldf = COLS, .q = {xq, xd, xs, xn}, .k = {kq, kd, kb}};
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        size_t bb, rb = random_rows(types[ti], ROWS, COLS, wbuf, &bb);
        /* every fp16 field to a small finite value: the offsets of d / m / dmin */
        for (size_t blk = 0; blk < rb * ROWS / bb; blk++) {
            uint8_t *p = wbuf + blk * bb;
            size_t at[2] = {0, 2}; /* most types: d (and m / dmin) first */
            int n_at = types[ti] == AIEB_GGML_Q5_0 || types[ti] == AIEB_GGML_IQ4_NL ||
                               types[ti] == AIEB_GGML_IQ4_XS
                           ? 1
                           : 2;
            if (types[ti] == AIEB_GGML_Q2_K)
                at[0] = 80, at[1] = 82;
            if (types[ti] == AIEB_GGML_Q3_K)
                at[0] = 108, n_at = 1;
            if (types[ti] == AIEB_GGML_Q6_K)
                at[0] = 208, n_at = 1;
            for (int k = 0; k < n_at; k++)
                put_half(p + at[k], uniform() * 0.01f);
        }
        wmat w = {types[ti], ROWS, COLS, rb, wbuf};
        float want[TOK * ROWS], got[TOK * ROWS];
        kernels_scalar.mm[kt_index(types[ti])](&w, 0, ROWS, &a, TOK, want, ROWS);
        /* against the dequantized weights in double */
        for (int r = 0; r < ROWS; r++) {
            float wf[COLS];
            dequantize_row(types[ti], wbuf + rb * r, wf, COLS);
            for (int t = 0; t < TOK; t++) {
                double s = 0, mag = 0;
                for (int i = 0; i < COLS; i++) {
                    double xv = type_is_kquant(types[ti])
                                    ? (double)kq[t * COLS + i] * kd[(t * COLS + i) / QK_K]
                                    : (double)xq[t * COLS + i] * xd[t * COLS / QK + i / QK];
                    s += wf[i] * xv;
                    mag += fabs(wf[i] * xv);
                }
                assert_true(fabs(s - want[t * ROWS + r]) <= 1e-5 * mag + 1e-6);
            }
        }
        for (size_t si = 0; si < 3; si++) {
            if (!sets[si])
                continue;
            sets[si]->mm[kt_index(types[ti])](&w, 0, ROWS, &a, TOK, got, ROWS);
            for (int i = 0; i < TOK * ROWS; i++)
                if (fabsf(got[i] - want[i]) > 1e-4f * (1 + fabsf(want[i])))
                    fail_msg("%s %s: %d: %g vs scalar %g", sets[si]->name,
                             aieb_ggml_type_name(types[ti]), i, got[i], want[i]);
        }
    }
}

/* Float weights (F32, F16, BF16), every kernel set against the scalar one on shapes
 * that reach each edge of the blocked products: columns not a multiple of 16 (masked
 * tails) or of 32 (the packed transpose's tail), row ranges not a multiple of 4 and not
 * starting at 0 (for the packed products: two groups of 16 rows, one, and a row left
 * over), every token count from 1 to 26 (blocks of 6, passes of 12, each remainder,
 * and below the 8 tokens where packing starts), padded activation and output rows. */
static void float_blocks(void **state)
{
    const kernels *sets[3];
    simd_sets(sets);
    const uint32_t types[] = {AIEB_GGML_F32, AIEB_GGML_F16, AIEB_GGML_BF16};
    const int cols_list[] = {16, 37, 300};
    enum { ROWS = 50, TOK = 26, LDF = 304, LDY = 53 };
    static uint8_t wbuf[ROWS * 300 * 4];
    static float xf[TOK * LDF], want[TOK * LDY], got[TOK * LDY];
    for (int i = 0; i < TOK * LDF; i++)
        xf[i] = uniform();
    act a = {.f = xf, .ldf = LDF};
    for (size_t ti = 0; ti < 3; ti++) {
        for (size_t ci = 0; ci < 3; ci++) {
            int cols = cols_list[ci];
            int es = types[ti] == AIEB_GGML_F32 ? 4 : 2;
            size_t rb = (size_t)cols * es;
            for (int i = 0; i < ROWS * cols; i++) {
                float v = uniform();
                uint16_t h = types[ti] == AIEB_GGML_F16 ? f32_to_fp16(v) : f32_to_bf16(v);
                if (es == 4)
                    memcpy(wbuf + 4 * i, &v, 4);
                else
                    memcpy(wbuf + 2 * i, &h, 2);
            }
            wmat w = {types[ti], ROWS, cols, rb, wbuf};
            for (int nt = 1; nt <= TOK; nt++) {
                memset(want, 0, sizeof want);
                kernels_scalar.mm[kt_index(types[ti])](&w, 1, ROWS, &a, nt, want, LDY);
                for (size_t si = 0; si < 3; si++) {
                    if (!sets[si])
                        continue;
                    memset(got, 0, sizeof got);
                    sets[si]->mm[kt_index(types[ti])](&w, 1, ROWS, &a, nt, got, LDY);
                    for (int i = 0; i < TOK * LDY; i++) {
                        int inside = i / LDY < nt && i % LDY >= 1 && i % LDY < ROWS;
                        if (!inside && got[i] != 0.0f)
                            fail_msg("%s %s: wrote y[%d] outside the rows", sets[si]->name,
                                     aieb_ggml_type_name(types[ti]), i);
                        if (fabsf(got[i] - want[i]) > 1e-5f * (float)cols)
                            fail_msg("%s %s cols %d tokens %d: y[%d] %g vs scalar %g",
                                     sets[si]->name, aieb_ggml_type_name(types[ti]), cols, nt, i,
                                     got[i], want[i]);
                    }
                }
            }
        }
    }
}

/* Blocks of 32 in prefill: the VNNI table packs 16 rows to a register (kernels_pack.inc)
 * from 4 tokens on. Random bytes (every bit pattern, finite fp16 scales) on 53 rows, a
 * row range starting at 3 (two groups of 16, then one, then 2 rows left to the other
 * products), every token count from 1 to 13 (passes of 6 and each remainder) and a
 * padded output; every kernel set against the scalar one, nothing written outside. */
static void packed_blocks(void **state)
{
    const kernels *sets[3];
    simd_sets(sets);
    const uint32_t types[] = {AIEB_GGML_Q8_0, AIEB_GGML_Q4_0, AIEB_GGML_Q4_1,
                              AIEB_GGML_Q5_0, AIEB_GGML_Q5_1, AIEB_GGML_IQ4_NL};
    enum { COLS = 96, ROWS = 53, R0 = 3, TOK = 13, LDY = 57 };
    static uint8_t wbuf[ROWS * COLS * 2];
    static int8_t xq[TOK * COLS];
    static float xd[TOK * COLS / QK], xs[TOK * COLS / QK], xf[TOK * COLS];
    static int32_t xn[TOK * COLS / QK];
    static float want[TOK * LDY], got[TOK * LDY];
    random_act_q8(TOK, COLS, xf, xq, xd, xs, xn);
    act a = {.f = xf, .ldf = COLS, .q = {xq, xd, xs, xn}};
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        size_t bb, rb = random_rows(types[ti], ROWS, COLS, wbuf, &bb);
        int two = types[ti] == AIEB_GGML_Q4_1 || types[ti] == AIEB_GGML_Q5_1; /* d, m */
        for (size_t blk = 0; blk < rb * ROWS / bb; blk++)
            for (int k = 0; k <= two; k++)
                put_half(wbuf + blk * bb + 2 * k, uniform() * 0.01f);
        wmat w = {types[ti], ROWS, COLS, rb, wbuf};
        for (int nt = 1; nt <= TOK; nt++) {
            memset(want, 0, sizeof want);
            kernels_scalar.mm[kt_index(types[ti])](&w, R0, ROWS, &a, nt, want, LDY);
            for (size_t si = 0; si < 3; si++) {
                if (!sets[si])
                    continue;
                memset(got, 0, sizeof got);
                sets[si]->mm[kt_index(types[ti])](&w, R0, ROWS, &a, nt, got, LDY);
                for (int i = 0; i < TOK * LDY; i++) {
                    int inside = i / LDY < nt && i % LDY >= R0 && i % LDY < ROWS;
                    if (!inside && got[i] != 0.0f)
                        fail_msg("%s %s: wrote y[%d] outside the rows", sets[si]->name,
                                 aieb_ggml_type_name(types[ti]), i);
                    if (fabsf(got[i] - want[i]) > 1e-4f * (1 + fabsf(want[i])))
                        fail_msg("%s %s tokens %d: y[%d] %g vs scalar %g", sets[si]->name,
                                 aieb_ggml_type_name(types[ti]), nt, i, got[i], want[i]);
                }
            }
        }
    }
}

/* Activations per 256: ties round to even, the largest magnitude maps to +-127, sums
 * per 16 are the sums of the int8 values, a zero block has scale 0; the AVX2
 * quantizer writes the same bytes. */
static void act_k_rounding(void **state)
{
    enum { N = 2 * QK_K };
    static float x[N];
    static int8_t q[N], q2[N];
    float d[2], d2[2];
    int16_t bs[N / 16], bs2[N / 16];
    for (int i = 0; i < QK_K; i++) /* amax 127: the scale is 1, x * 127 / 127 = x */
        x[i] = (float)((i % 9) - 4) + ((i % 3) ? 0.5f : 0.0f);
    x[100] = -127.0f;
    memset(x + QK_K, 0, QK_K * sizeof *x); /* the second super-block is all zeros */
    quantize_act_k_scalar(x, N, q, d, bs);
    assert_true(d[0] == 1.0f && d[1] == 0.0f);
    assert_int_equal(q[100], -127);
    for (int i = 0; i < QK_K; i++)
        assert_int_equal(q[i], round_even(x[i]));
    assert_int_equal(round_even(2.5f), 2); /* ties to even */
    assert_int_equal(round_even(-3.5f), -4);
    for (int k = 0; k < N / 16; k++) {
        int sum = 0;
        for (int j = 0; j < 16; j++)
            sum += q[16 * k + j];
        assert_int_equal(bs[k], sum);
    }
    for (int i = QK_K; i < N; i++)
        assert_int_equal(q[i], 0);
    cpu_features f;
    cpu_detect(&f);
    if (!f.avx2_fma_f16c)
        return;
    kernels_avx2.quantize_act_k(x, N, q2, d2, bs2);
    assert_memory_equal(q, q2, sizeof q);
    assert_memory_equal(d, d2, sizeof d);
    assert_memory_equal(bs, bs2, sizeof bs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(small_blocks),   cmocka_unit_test(k_blocks),
        cmocka_unit_test(round_trip),     cmocka_unit_test(random_blocks),
        cmocka_unit_test(act_k_rounding), cmocka_unit_test(float_blocks),
        cmocka_unit_test(packed_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
