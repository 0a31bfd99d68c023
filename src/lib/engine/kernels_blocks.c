/* kernels_blocks.c - AVX2 products for the block types other than Q8_0 / Q4_0:
 * Q4_1, Q5_0, Q5_1, IQ4_NL (blocks of 32) and Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS
 * (super-blocks of 256). The AVX-512 tables use them too.
 *
 * Every type is first unpacked, 256 values at a time (one super-block, or 8 blocks of
 * 32), into one common form, and one dot product serves them all:
 *   value = dg[g] * s16[g][e] * q[e]  +  mg[g] * (per-32 offset)  +  dm * m16[g][e]
 * for element e of group g (32 values): q a signed byte, s16 the integer scale of the
 * value's sub-block (16 values share one), dg a float per group (the block's or
 * super-block's d). Offsets that are the same for a group of 32 (Q4_1/Q5_1's m,
 * Q4_K/Q5_K's -dmin * min) multiply the activation block's sum, which act_q8 already
 * holds (s = d_x * sum(x)); Q2_K's mins change every 16 values and are taken in
 * integers against the activations (m16, dm = -dmin).
 * Integer part of a group: maddubs(|q|, x with q's sign) gives 16 pair sums (each
 * below 2^15: |q| <= 127, |x| <= 127), madd with the 16-bit scales gives 8 int32 lanes.
 * Prefill unpacks a row's 256 values once for up to 4 tokens.
 */
#include <immintrin.h>

#include "engine/kernels.h"
#include "engine/kernels_simd.h"

#define TARGET __attribute__((target("avx2,fma,f16c")))
#define INLINE static inline __attribute__((always_inline))

/* 256 values in the common form */
typedef struct ublk {
    int8_t q[QK_K];
    int16_t s16[8][16];
    int16_t m16[8][16]; /* Q2_K only */
    float dg[8];
    float mg[8]; /* 0 for types without a per-32 offset */
    float dm;    /* Q2_K only */
} ublk;

/* Types whose values carry an offset per 32 (mg) or per 16 (m16). */
#define HAS_MIN32(kt) ((kt) == KT_Q4_1 || (kt) == KT_Q5_1 || (kt) == KT_Q4_K || (kt) == KT_Q5_K)
#define HAS_MIN16(kt) ((kt) == KT_Q2_K)
#define IS_SMALL(kt)  ((kt) == KT_Q4_1 || (kt) == KT_Q5_0 || (kt) == KT_Q5_1 || (kt) == KT_IQ4_NL)

/* ==== unpacking ============================================================ */

/* 16 bytes of nibble pairs -> 32 bytes: low nibbles (elements 0..15), then high */
TARGET INLINE __m256i nib_pair(const uint8_t *qs)
{
    __m128i b = _mm_loadu_si128((const __m128i *)qs);
    __m256i v = _mm256_set_m128i(_mm_srli_epi16(b, 4), b);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
}

/* bit j of h -> 0x10 in byte j */
TARGET INLINE __m256i bits_to_16(uint32_t h)
{
    const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2,
                                          2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)h), shuf);
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

/* bit g of each of 32 bytes -> 0 or 1 per byte */
TARGET INLINE __m256i bit_of(__m256i v, int g)
{
    return _mm256_and_si256(_mm256_srli_epi16(v, g), _mm256_set1_epi8(1));
}

TARGET INLINE __m256i iq4_lookup(__m256i nib)
{
    const __m256i tbl =
        _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)kvalues_iq4nl));
    return _mm256_shuffle_epi8(tbl, nib);
}

TARGET INLINE void set_scale(ublk *u, int g, int lo, int hi)
{
    _mm256_storeu_si256((__m256i *)u->s16[g],
                        _mm256_set_m128i(_mm_set1_epi16((short)hi), _mm_set1_epi16((short)lo)));
}

static inline float half_at(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return fp16_to_f32(h);
}

/* Blocks of 32: ng (<= 8) consecutive blocks from p. */
TARGET INLINE void unpack_small(int kt, const uint8_t *p, int ng, ublk *u)
{
    size_t bs = kt == KT_Q4_1 ? 20 : kt == KT_Q5_0 ? 22 : kt == KT_Q5_1 ? 24 : 18;
    for (int g = 0; g < ng; g++, p += bs) {
        __m256i q;
        u->dg[g] = half_at(p);
        u->mg[g] = 0;
        if (kt == KT_Q4_1) {
            u->mg[g] = half_at(p + 2);
            q = nib_pair(p + 4);
        } else if (kt == KT_IQ4_NL) {
            q = iq4_lookup(nib_pair(p + 2));
        } else {
            int one = kt == KT_Q5_1;
            const uint8_t *qh = p + (one ? 4 : 2);
            uint32_t h;
            memcpy(&h, qh, 4);
            q = _mm256_or_si256(nib_pair(qh + 4), bits_to_16(h));
            if (one)
                u->mg[g] = half_at(p + 2);
            else
                q = _mm256_sub_epi8(q, _mm256_set1_epi8(16));
        }
        _mm256_storeu_si256((__m256i *)(u->q + 32 * g), q);
        set_scale(u, g, 1, 1);
    }
}

TARGET INLINE void unpack_q2_k(const blk_q2_k *b, ublk *u)
{
    float d = fp16_to_f32(b->d);
    u->dm = -fp16_to_f32(b->dmin);
    for (int h = 0; h < 2; h++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * h));
        for (int j = 0; j < 4; j++) {
            int g = 4 * h + j;
            __m256i q = _mm256_and_si256(_mm256_srli_epi16(v, 2 * j), _mm256_set1_epi8(3));
            _mm256_storeu_si256((__m256i *)(u->q + 32 * g), q);
            int s0 = b->scales[2 * g], s1 = b->scales[2 * g + 1];
            set_scale(u, g, s0 & 15, s1 & 15);
            _mm256_storeu_si256((__m256i *)u->m16[g],
                                _mm256_set_m128i(_mm_set1_epi16((short)(s1 >> 4)),
                                                 _mm_set1_epi16((short)(s0 >> 4))));
            u->dg[g] = d;
        }
    }
}

TARGET INLINE void unpack_q3_k(const blk_q3_k *b, ublk *u)
{
    float d = fp16_to_f32(b->d);
    __m256i hm = _mm256_loadu_si256((const __m256i *)b->hmask);
    for (int h = 0; h < 2; h++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * h));
        for (int j = 0; j < 4; j++) {
            int g = 4 * h + j;
            __m256i q = _mm256_and_si256(_mm256_srli_epi16(v, 2 * j), _mm256_set1_epi8(3));
            /* low 2 bits - 4, plus 4 when the high bit is set */
            q = _mm256_add_epi8(q, _mm256_slli_epi16(bit_of(hm, g), 2));
            q = _mm256_sub_epi8(q, _mm256_set1_epi8(4));
            _mm256_storeu_si256((__m256i *)(u->q + 32 * g), q);
            set_scale(u, g, q3k_scale(b->scales, 2 * g) - 32, q3k_scale(b->scales, 2 * g + 1) - 32);
            u->dg[g] = d;
        }
    }
}

TARGET INLINE void unpack_q45_k(const uint8_t *p, int five, ublk *u)
{
    float d = half_at(p), dmin = half_at(p + 2);
    const uint8_t *scales = p + 4, *qs = p + (five ? 48 : 16);
    __m256i hb = five ? _mm256_loadu_si256((const __m256i *)(p + 16)) : _mm256_setzero_si256();
    for (int c = 0; c < 4; c++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
        __m256i lo = _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0f));
        if (five) {
            lo = _mm256_or_si256(lo, _mm256_slli_epi16(bit_of(hb, 2 * c), 4));
            hi = _mm256_or_si256(hi, _mm256_slli_epi16(bit_of(hb, 2 * c + 1), 4));
        }
        _mm256_storeu_si256((__m256i *)(u->q + 64 * c), lo);
        _mm256_storeu_si256((__m256i *)(u->q + 64 * c + 32), hi);
    }
    for (int g = 0; g < 8; g++) {
        int sc, m;
        kq_scale_min(scales, g, &sc, &m);
        set_scale(u, g, sc, sc);
        u->dg[g] = d;
        u->mg[g] = -dmin * (float)m;
    }
}

TARGET INLINE void unpack_q6_k(const blk_q6_k *b, ublk *u)
{
    float d = fp16_to_f32(b->d);
    const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30);
    const __m256i k32 = _mm256_set1_epi8(32);
    for (int h = 0; h < 2; h++) {
        __m256i l0 = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * h));
        __m256i l1 = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * h + 32));
        __m256i qh = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * h));
        __m256i q0 = _mm256_or_si256(_mm256_and_si256(l0, m4),
                                     _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
        __m256i q1 = _mm256_or_si256(_mm256_and_si256(l1, m4),
                                     _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
        __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                     _mm256_and_si256(qh, m30));
        __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                     _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
        int8_t *o = u->q + 128 * h;
        _mm256_storeu_si256((__m256i *)o, _mm256_sub_epi8(q0, k32));
        _mm256_storeu_si256((__m256i *)(o + 32), _mm256_sub_epi8(q1, k32));
        _mm256_storeu_si256((__m256i *)(o + 64), _mm256_sub_epi8(q2, k32));
        _mm256_storeu_si256((__m256i *)(o + 96), _mm256_sub_epi8(q3, k32));
    }
    for (int g = 0; g < 8; g++) {
        set_scale(u, g, b->scales[2 * g], b->scales[2 * g + 1]);
        u->dg[g] = d;
    }
}

TARGET INLINE void unpack_iq4_xs(const blk_iq4_xs *b, ublk *u)
{
    float d = fp16_to_f32(b->d);
    for (int g = 0; g < 8; g++) {
        int ls = ((b->scales_l[g / 2] >> 4 * (g % 2)) & 0x0f) | ((b->scales_h >> 2 * g) & 3) << 4;
        _mm256_storeu_si256((__m256i *)(u->q + 32 * g), iq4_lookup(nib_pair(b->qs + 16 * g)));
        set_scale(u, g, ls - 32, ls - 32);
        u->dg[g] = d;
    }
}

/* Unit k (256 values) of a row: fills u, returns its number of groups of 32. */
TARGET INLINE int unpack(int kt, const uint8_t *row, int k, int n, ublk *u)
{
    if (IS_SMALL(kt)) {
        int ng = (n - 256 * k) / 32;
        ng = ng > 8 ? 8 : ng;
        size_t bs = kt == KT_Q4_1 ? 20 : kt == KT_Q5_0 ? 22 : kt == KT_Q5_1 ? 24 : 18;
        unpack_small(kt, row + (size_t)k * 8 * bs, ng, u);
        return ng;
    }
    switch (kt) {
    case KT_Q2_K:
        unpack_q2_k((const blk_q2_k *)(const void *)row + k, u);
        break;
    case KT_Q3_K:
        unpack_q3_k((const blk_q3_k *)(const void *)row + k, u);
        break;
    case KT_Q4_K:
        unpack_q45_k(row + (size_t)k * sizeof(blk_q4_k), 0, u);
        break;
    case KT_Q5_K:
        unpack_q45_k(row + (size_t)k * sizeof(blk_q5_k), 1, u);
        break;
    case KT_Q6_K:
        unpack_q6_k((const blk_q6_k *)(const void *)row + k, u);
        break;
    default:
        unpack_iq4_xs((const blk_iq4_xs *)(const void *)row + k, u);
        break;
    }
    return 8;
}

/* ==== products ============================================================= */

/* acc += the unit's dot product with one token's activations (its 8 blocks at xq,
 * scales xd, block sums xs); *accs gathers the per-32 offsets' part. */
TARGET INLINE void unit_dot(int kt, const ublk *u, int ng, const int8_t *xq, const float *xd,
                            const float *xs, __m256 *acc, float *accs)
{
    const __m256i ones = _mm256_set1_epi8(1);
    __m256 a = *acc;
    for (int g = 0; g < ng; g++) {
        __m256i w = _mm256_loadu_si256((const __m256i *)(u->q + 32 * g));
        __m256i x = _mm256_loadu_si256((const __m256i *)(xq + 32 * g));
        __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
        __m256i i = _mm256_madd_epi16(p, _mm256_loadu_si256((const __m256i *)u->s16[g]));
        a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i), _mm256_set1_ps(u->dg[g] * xd[g]), a);
        if (HAS_MIN16(kt)) {
            __m256i mi = _mm256_madd_epi16(_mm256_maddubs_epi16(ones, x),
                                           _mm256_loadu_si256((const __m256i *)u->m16[g]));
            a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mi), _mm256_set1_ps(u->dm * xd[g]), a);
        }
    }
    *acc = a;
    if (HAS_MIN32(kt)) {
        float s = 0;
        for (int g = 0; g < ng; g++)
            s += u->mg[g] * xs[g];
        *accs += s;
    }
}

TARGET INLINE float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Rows [r0, r1) for every token: a ~64 KiB block of rows at a time (it stays in cache
 * for all tokens), each row unpacked once per 4 tokens. */
TARGET INLINE void mm_blocks(int kt, const wmat *w, int r0, int r1, const act *x, int n_tok,
                             float *y, int ldy)
{
    int n = w->cols, nb = n / QK, units = (n + QK_K - 1) / QK_K, rbk = block_rows(w->row_bytes);
    ublk u;
    for (int b0 = r0; b0 < r1; b0 += rbk) {
        int b1 = b0 + rbk < r1 ? b0 + rbk : r1;
        for (int t0 = 0; t0 < n_tok; t0 += 4) {
            int nt = n_tok - t0 < 4 ? n_tok - t0 : 4;
            for (int r = b0; r < b1; r++) {
                const uint8_t *row = w->data + (size_t)r * w->row_bytes;
                __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                                 _mm256_setzero_ps()};
                float accs[4] = {0, 0, 0, 0};
                for (int k = 0; k < units; k++) {
                    int ng = unpack(kt, row, k, n, &u);
                    for (int t = 0; t < nt; t++) {
                        size_t tq = (size_t)(t0 + t) * n + (size_t)k * QK_K;
                        size_t tb = (size_t)(t0 + t) * nb + (size_t)k * 8;
                        unit_dot(kt, &u, ng, x->q.q + tq, x->q.d + tb, x->q.s + tb, &acc[t],
                                 &accs[t]);
                    }
                }
                for (int t = 0; t < nt; t++)
                    y[(size_t)(t0 + t) * ldy + r] = hsum(acc[t]) + accs[t];
            }
        }
    }
}

#define MM(name, kt)                                                                               \
    TARGET void avx2_mm_##name(const wmat *w, int r0, int r1, const act *x, int n_tok, float *y,   \
                               int ldy)                                                            \
    {                                                                                              \
        mm_blocks(kt, w, r0, r1, x, n_tok, y, ldy);                                                \
    }

MM(q4_1, KT_Q4_1)
MM(q5_0, KT_Q5_0)
MM(q5_1, KT_Q5_1)
MM(iq4_nl, KT_IQ4_NL)
MM(q2_k, KT_Q2_K)
MM(q3_k, KT_Q3_K)
MM(q4_k, KT_Q4_K)
MM(q5_k, KT_Q5_K)
MM(q6_k, KT_Q6_K)
MM(iq4_xs, KT_IQ4_XS)
