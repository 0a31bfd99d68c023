/* kernels_quant_tmpl.h - Q8_0 / Q4_0 matrix products, written once, included by
 * kernels_avx2.c and kernels_avx512.c with their own 32-byte dot product.
 *
 * The includer defines:
 *   TMPL_TARGET                     function attribute (target ISA)
 *   TMPL_NAME(x)                    prefixes x with the ISA's name
 *   TMPL_Q8_PREP(qs, wu, ws)        from 32 weight bytes, the operands of TMPL_Q8_DOT
 *   TMPL_Q8_DOT(wu, ws, x)          8 int32 lanes summing to sum(w * x) + TMPL_Q8_BIAS * sum(x)
 *   TMPL_Q8_BIAS                    0, or 128 when weights were made unsigned by w + 128
 *   TMPL_EXACT                      1: TMPL_Q8_DOTI / TMPL_Q4_DOTI start from an int32
 *                                   accumulator, which then carries -bias * sum(x) (from
 *                                   act_q8.nsum), so the block sums come out exact
 *   TMPL_Q4_DOT(wu, x)              8 int32 lanes summing to sum(wu * x), wu unsigned nibbles
 *   TMPL_Q4_SPLIT(v)                v with its high 128-bit lane's 16-bit words shifted right 4
 *
 * A block's float result is d_w * d_x * dot. The bias (and Q4_0's -8) is removed either
 * inside the integer sum (TMPL_EXACT: the accumulator starts at -bias * sum(x) spread
 * over its 8 lanes) or afterwards as bias * sum_blocks(d_w * s_x), s_x = d_x * sum(x).
 * Prefill holds a tile of 4 rows x 4 tokens in registers, so each weight load feeds 4
 * tokens and each activation load 4 rows; decode walks one row at a time.
 */

TMPL_TARGET static inline __attribute__((always_inline)) float TMPL_NAME(hsum)(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* 16 bytes of nibbles -> 32 bytes: low nibbles (elements 0..15) in the low lane, high
 * nibbles (16..31) in the high lane; TMPL_Q4_SPLIT(v) shifts v's high lane right by 4. */
TMPL_TARGET static inline __attribute__((always_inline)) __m256i
TMPL_NAME(q4_unpack)(const uint8_t *qs)
{
    __m256i b = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs));
    return _mm256_and_si256(TMPL_Q4_SPLIT(b), _mm256_set1_epi8(0x0f));
}

/* One weight block's operands: wu (and ws) and its scale broadcast to 8 floats. */
#define TMPL_LOAD(q4, blkp, wu, ws, dwv)                                                           \
    do {                                                                                           \
        if (q4) {                                                                                  \
            const blk_q4_0 *b_ = (const blk_q4_0 *)(blkp);                                         \
            wu = TMPL_NAME(q4_unpack)(b_->qs);                                                     \
            ws = wu;                                                                               \
            dwv = _mm256_cvtph_ps(_mm_set1_epi16((short)b_->d));                                   \
        } else {                                                                                   \
            const blk_q8_0 *b_ = (const blk_q8_0 *)(blkp);                                         \
            TMPL_Q8_PREP(b_->qs, wu, ws);                                                          \
            dwv = _mm256_cvtph_ps(_mm_set1_epi16((short)b_->d));                                   \
        }                                                                                          \
    } while (0)

/* int32 lanes of one block's dot product; ns is the activation block's -sum(x) */
#if TMPL_EXACT
#define TMPL_DOT(q4, wu, ws, x, ns)                                                                \
    ((void)(ws), (q4) ? TMPL_Q4_DOTI(_mm256_set1_epi32(ns), wu, x)                                 \
                      : TMPL_Q8_DOTI(_mm256_set1_epi32((ns) * (TMPL_Q8_BIAS / 8)), wu, ws, x))
#define TMPL_BIAS(q4) 0.0f
#else
#define TMPL_DOT(q4, wu, ws, x, ns)                                                                \
    ((void)(ns), (void)(ws), (q4) ? TMPL_Q4_DOT(wu, x) : TMPL_Q8_DOT(wu, ws, x))
#define TMPL_BIAS(q4) ((q4) ? 8.0f : (float)TMPL_Q8_BIAS)
#endif

/* 1 row x 1 token, two blocks per step on separate accumulators. Decoding walks the
 * rows one after the other: a single sequential stream is what the hardware prefetcher
 * follows best (interleaving 4 rows halved the bandwidth from DRAM). */
TMPL_TARGET static inline __attribute__((always_inline)) float
TMPL_NAME(tile1x1)(const uint8_t *w0, int nb, int q4, const int8_t *xq, const float *xd,
                   const float *xs, const int32_t *xn)
{
    size_t bs = q4 ? sizeof(blk_q4_0) : sizeof(blk_q8_0);
    __m256 a = _mm256_setzero_ps(), b = a;
    float c = 0, e = 0;
    int i = 0;
    for (; i + 2 <= nb; i += 2) {
        __m256i x0 = _mm256_loadu_si256((const __m256i *)(xq + (size_t)i * QK));
        __m256i x1 = _mm256_loadu_si256((const __m256i *)(xq + (size_t)(i + 1) * QK));
        __m256i wu, ws, wv, wt;
        __m256 dw, dv;
        TMPL_LOAD(q4, w0 + (size_t)i * bs, wu, ws, dw);
        TMPL_LOAD(q4, w0 + (size_t)(i + 1) * bs, wv, wt, dv);
        a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(TMPL_DOT(q4, wu, ws, x0, xn[i])),
                            _mm256_mul_ps(dw, _mm256_broadcast_ss(xd + i)), a);
        b = _mm256_fmadd_ps(_mm256_cvtepi32_ps(TMPL_DOT(q4, wv, wt, x1, xn[i + 1])),
                            _mm256_mul_ps(dv, _mm256_broadcast_ss(xd + i + 1)), b);
        if (!TMPL_EXACT) {
            c += _mm256_cvtss_f32(dw) * xs[i];
            e += _mm256_cvtss_f32(dv) * xs[i + 1];
        }
    }
    for (; i < nb; i++) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(xq + (size_t)i * QK));
        __m256i wu, ws;
        __m256 dw;
        TMPL_LOAD(q4, w0 + (size_t)i * bs, wu, ws, dw);
        a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(TMPL_DOT(q4, wu, ws, x, xn[i])),
                            _mm256_mul_ps(dw, _mm256_broadcast_ss(xd + i)), a);
        if (!TMPL_EXACT)
            c += _mm256_cvtss_f32(dw) * xs[i];
    }
    return TMPL_NAME(hsum)(_mm256_add_ps(a, b)) - TMPL_BIAS(q4) * (c + e);
}

/* 4 rows x 4 tokens: x rows are n values (nb blocks) apart, y rows ldy apart */
TMPL_TARGET static inline __attribute__((always_inline)) void
TMPL_NAME(tile4x4)(const uint8_t *w0, size_t rb, int nb, int q4, const int8_t *xq, const float *xd,
                   const float *xs, const int32_t *xn, int n, float *y, int ldy)
{
    size_t bs = q4 ? sizeof(blk_q4_0) : sizeof(blk_q8_0);
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00;
    __m256 a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    __m256 a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    __m256 a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    __m128 c0 = _mm_setzero_ps(), c1 = c0, c2 = c0, c3 = c0; /* lanes: tokens */
    for (int i = 0; i < nb; i++) {
        const int8_t *xb = xq + (size_t)i * QK;
        __m256i x0 = _mm256_loadu_si256((const __m256i *)xb);
        __m256i x1 = _mm256_loadu_si256((const __m256i *)(xb + n));
        __m256i x2 = _mm256_loadu_si256((const __m256i *)(xb + 2 * (size_t)n));
        __m256i x3 = _mm256_loadu_si256((const __m256i *)(xb + 3 * (size_t)n));
        __m256 d0 = _mm256_broadcast_ss(xd + i), d1 = _mm256_broadcast_ss(xd + nb + i);
        __m256 d2 = _mm256_broadcast_ss(xd + 2 * nb + i), d3 = _mm256_broadcast_ss(xd + 3 * nb + i);
        int32_t n0 = xn[i], n1 = xn[nb + i], n2 = xn[2 * nb + i], n3 = xn[3 * nb + i];
        __m128 sx = _mm_setr_ps(xs[i], xs[nb + i], xs[2 * nb + i], xs[3 * nb + i]);
        const uint8_t *p = w0 + (size_t)i * bs;
        __m256i wu, ws;
        __m256 dwv;
#define CELL(r, t)                                                                                 \
    a##r##t = _mm256_fmadd_ps(_mm256_cvtepi32_ps(TMPL_DOT(q4, wu, ws, x##t, n##t)),                \
                              _mm256_mul_ps(dwv, d##t), a##r##t);
#define ROW(r)                                                                                     \
    {                                                                                              \
        TMPL_LOAD(q4, p + (r)*rb, wu, ws, dwv);                                                    \
        CELL(r, 0)                                                                                 \
        CELL(r, 1)                                                                                 \
        CELL(r, 2) CELL(r, 3) if (!TMPL_EXACT) c##r =                                              \
            _mm_fmadd_ps(_mm256_castps256_ps128(dwv), sx, c##r);                                   \
    }
        ROW(0) ROW(1) ROW(2) ROW(3)
#undef ROW
#undef CELL
    }
    float bias = TMPL_BIAS(q4);
    float c[4][4];
    _mm_storeu_ps(c[0], c0);
    _mm_storeu_ps(c[1], c1);
    _mm_storeu_ps(c[2], c2);
    _mm_storeu_ps(c[3], c3);
#define OUT(r, t) y[(size_t)(t)*ldy + (r)] = TMPL_NAME(hsum)(a##r##t) - bias * c[r][t];
    OUT(0, 0)
    OUT(0, 1)
    OUT(0, 2) OUT(0, 3) OUT(1, 0) OUT(1, 1) OUT(1, 2) OUT(1, 3) OUT(2, 0) OUT(2, 1) OUT(2, 2)
        OUT(2, 3) OUT(3, 0) OUT(3, 1) OUT(3, 2) OUT(3, 3)
#undef OUT
}

/* Rows [r0, r1) for every token, a ~64 KiB block of rows at a time. */
TMPL_TARGET static inline __attribute__((always_inline)) void
TMPL_NAME(mm_quant)(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y, int ldy,
                    int q4)
{
    int n = w->cols, nb = n / QK, rbk = block_rows(w->row_bytes);
    size_t rb = w->row_bytes;
    for (int b0 = r0; b0 < r1; b0 += rbk) {
        int b1 = b0 + rbk < r1 ? b0 + rbk : r1;
        int t = 0;
        for (; t + 4 <= n_tok; t += 4) {
            const int8_t *xq = x->q.q + (size_t)t * n;
            const float *xd = x->q.d + (size_t)t * nb, *xs = x->q.s + (size_t)t * nb;
            const int32_t *xn = x->q.nsum + (size_t)t * nb;
            int r = b0;
            for (; r + 4 <= b1; r += 4)
                TMPL_NAME(tile4x4)
            (w->data + (size_t)r * rb, rb, nb, q4, xq, xd, xs, xn, n, y + (size_t)t * ldy + r, ldy);
            for (; r < b1; r++)
                for (int k = 0; k < 4; k++)
                    y[(size_t)(t + k) * ldy + r] = TMPL_NAME(tile1x1)(
                        w->data + (size_t)r * rb, nb, q4, xq + (size_t)k * n, xd + (size_t)k * nb,
                        xs + (size_t)k * nb, xn + (size_t)k * nb);
        }
        for (; t < n_tok; t++) {
            const int8_t *xq = x->q.q + (size_t)t * n;
            const float *xd = x->q.d + (size_t)t * nb, *xs = x->q.s + (size_t)t * nb;
            const int32_t *xn = x->q.nsum + (size_t)t * nb;
            float *yt = y + (size_t)t * ldy;
            for (int r = b0; r < b1; r++)
                yt[r] = TMPL_NAME(tile1x1)(w->data + (size_t)r * rb, nb, q4, xq, xd, xs, xn);
        }
    }
}

#undef TMPL_LOAD
#undef TMPL_DOT
#undef TMPL_BIAS
