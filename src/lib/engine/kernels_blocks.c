/* kernels_blocks.c - AVX2 products for the block types other than Q8_0 / Q4_0:
 * Q4_1, Q5_0, Q5_1, IQ4_NL (blocks of 32) and Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS
 * (super-blocks of 256). The AVX-512 tables use them too.
 *
 * Each group of 32 values (one block of 32, or an eighth of a super-block) is unpacked
 * in registers into one common form, and one dot product serves every type:
 *   value = f * s * q  +  mg  +  fm * m
 * q a signed byte, f a float per group (d, times the 6-bit scale for Q4_K/Q5_K/IQ4_XS),
 * s the int16 scale of the value's 16 (Q2_K, Q3_K, Q6_K: scales change every 16 values).
 * Offsets that are the same for 32 values (Q4_1/Q5_1's m, Q4_K/Q5_K's -dmin * min)
 * multiply the activation block's sum, which act_q8 already holds (s = d_x * sum(x));
 * Q2_K's mins change every 16 values and are taken in integers against the activations
 * (m, fm = -dmin). Integer part: maddubs(|q|, x with q's sign) gives 16 pair sums (each
 * below 2^15: |q| <= 127, |x| <= 127), madd with the scales (or ones) 8 int32 lanes.
 * Prefill unpacks each group once for up to 4 tokens; decode unpacks and multiplies
 * in registers, one row after the other.
 */
#include <immintrin.h>

#include "engine/kernels.h"
#include "engine/kernels_simd.h"

#define TARGET __attribute__((target("avx2,fma,f16c")))
#define INLINE static inline __attribute__((always_inline))

/* Types whose values carry an offset per 32 (MIN32: times act_q8.s) or per 16 (MIN16),
 * whose scale changes every 16 values (PER16: an int16 scale vector), whose levels are
 * never negative (UNSIGNED: no sign moving), and the blocks of 32 (SMALL). */
#define MIN32(kt)    ((kt) == KT_Q4_1 || (kt) == KT_Q5_1 || (kt) == KT_Q4_K || (kt) == KT_Q5_K)
#define MIN16(kt)    ((kt) == KT_Q2_K)
#define PER16(kt)    ((kt) == KT_Q2_K || (kt) == KT_Q3_K || (kt) == KT_Q6_K)
#define UNSIGNED(kt) (MIN32(kt) || (kt) == KT_Q2_K)
#define SMALL(kt)    ((kt) == KT_Q4_1 || (kt) == KT_Q5_0 || (kt) == KT_Q5_1 || (kt) == KT_IQ4_NL)

/* Group g (32 values) of a unit (one super-block, or 8 blocks of 32), in the common
 * form: value = f * s * q + mg (per 32) + fm * m (per 16), s and m the int16 lanes of
 * sv / mv (16 values each half) where the type has them. */
typedef struct grp {
    __m256i q, sv, mv;
    float f, mg, fm;
} grp;

/* ==== unpacking ============================================================ */

TARGET INLINE float half_at(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

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
    return _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(g)), _mm256_set1_epi8(1));
}

TARGET INLINE __m256i iq4_lookup(__m256i nib)
{
    const __m256i tbl =
        _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)kvalues_iq4nl));
    return _mm256_shuffle_epi8(tbl, nib);
}

/* int16 lanes: lo for the first 16 values, hi for the next 16 */
TARGET INLINE __m256i halves(int lo, int hi)
{
    return _mm256_set_m128i(_mm_set1_epi16((short)hi), _mm_set1_epi16((short)lo));
}

TARGET INLINE void group(int kt, const uint8_t *u, int g, grp *o)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    o->mg = 0;
    switch (kt) {
    case KT_Q4_1: {
        const uint8_t *p = u + (size_t)g * sizeof(blk_q4_1);
        o->f = half_at(p);
        o->mg = half_at(p + 2);
        o->q = nib_pair(p + 4);
        break;
    }
    case KT_Q5_0:
    case KT_Q5_1: {
        int one = kt == KT_Q5_1;
        const uint8_t *p = u + (size_t)g * (one ? sizeof(blk_q5_1) : sizeof(blk_q5_0));
        const uint8_t *qh = p + (one ? 4 : 2);
        uint32_t h;
        memcpy(&h, qh, 4);
        o->f = half_at(p);
        o->q = _mm256_or_si256(nib_pair(qh + 4), bits_to_16(h));
        if (one)
            o->mg = half_at(p + 2);
        else
            o->q = _mm256_sub_epi8(o->q, _mm256_set1_epi8(16));
        break;
    }
    case KT_IQ4_NL: {
        const uint8_t *p = u + (size_t)g * sizeof(blk_iq4_nl);
        o->f = half_at(p);
        o->q = iq4_lookup(nib_pair(p + 2));
        break;
    }
    case KT_Q2_K: {
        const blk_q2_k *b = (const blk_q2_k *)(const void *)u;
        __m256i v = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * (g / 4)));
        o->q = _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(2 * (g % 4))),
                                _mm256_set1_epi8(3));
        int s0 = b->scales[2 * g], s1 = b->scales[2 * g + 1];
        o->sv = halves(s0 & 15, s1 & 15);
        o->mv = halves(s0 >> 4, s1 >> 4);
        o->f = _cvtsh_ss(b->d);
        o->fm = -_cvtsh_ss(b->dmin);
        break;
    }
    case KT_Q3_K: {
        const blk_q3_k *b = (const blk_q3_k *)(const void *)u;
        __m256i v = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * (g / 4)));
        __m256i hm = _mm256_loadu_si256((const __m256i *)b->hmask);
        __m256i q = _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(2 * (g % 4))),
                                     _mm256_set1_epi8(3));
        /* low 2 bits - 4, plus 4 when the high bit is set */
        q = _mm256_add_epi8(q, _mm256_slli_epi16(bit_of(hm, g), 2));
        o->q = _mm256_sub_epi8(q, _mm256_set1_epi8(4));
        o->sv = halves(q3k_scale(b->scales, 2 * g) - 32, q3k_scale(b->scales, 2 * g + 1) - 32);
        o->f = _cvtsh_ss(b->d);
        break;
    }
    case KT_Q4_K:
    case KT_Q5_K: {
        int five = kt == KT_Q5_K, sc, m;
        const uint8_t *qs = u + (five ? 48 : 16);
        __m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * (g / 2)));
        __m256i q = g % 2 ? _mm256_and_si256(_mm256_srli_epi16(v, 4), m4) : _mm256_and_si256(v, m4);
        if (five)
            q = _mm256_or_si256(
                q, _mm256_slli_epi16(bit_of(_mm256_loadu_si256((const __m256i *)(u + 16)), g), 4));
        o->q = q;
        kq_scale_min(u + 4, g, &sc, &m);
        o->f = half_at(u) * (float)sc;
        o->mg = -half_at(u + 2) * (float)m;
        break;
    }
    case KT_Q6_K: {
        const blk_q6_k *b = (const blk_q6_k *)(const void *)u;
        int h = g / 4, gi = g % 4;
        __m256i l = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * h + 32 * (gi % 2)));
        __m256i qh = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * h));
        __m256i lo =
            gi < 2 ? _mm256_and_si256(l, m4) : _mm256_and_si256(_mm256_srli_epi16(l, 4), m4);
        /* bits 2 gi, 2 gi + 1 of qh to bits 4, 5 */
        __m256i hi =
            _mm256_and_si256(_mm256_slli_epi16(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * gi)), 4),
                             _mm256_set1_epi8(0x30));
        o->q = _mm256_sub_epi8(_mm256_or_si256(lo, hi), _mm256_set1_epi8(32));
        o->sv = halves(b->scales[2 * g], b->scales[2 * g + 1]);
        o->f = _cvtsh_ss(b->d);
        break;
    }
    default: { /* IQ4_XS */
        const blk_iq4_xs *b = (const blk_iq4_xs *)(const void *)u;
        int ls = ((b->scales_l[g / 2] >> 4 * (g % 2)) & 0x0f) | ((b->scales_h >> 2 * g) & 3) << 4;
        o->q = iq4_lookup(nib_pair(b->qs + 16 * g));
        o->f = _cvtsh_ss(b->d) * (float)(ls - 32);
        break;
    }
    }
}

/* ==== products ============================================================= */

TARGET INLINE float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* acc += group o . one token's 32 activations x (scale xd, block sum xs) */
TARGET INLINE void group_dot(int kt, const grp *o, const int8_t *xq, float xd, float xs,
                             __m256 *acc, float *accs)
{
    __m256i x = _mm256_loadu_si256((const __m256i *)xq);
    __m256i p = UNSIGNED(kt)
                    ? _mm256_maddubs_epi16(o->q, x)
                    : _mm256_maddubs_epi16(_mm256_sign_epi8(o->q, o->q), _mm256_sign_epi8(x, o->q));
    __m256i i = _mm256_madd_epi16(p, PER16(kt) ? o->sv : _mm256_set1_epi16(1));
    *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i), _mm256_set1_ps(o->f * xd), *acc);
    if (MIN16(kt)) {
        __m256i mi = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), x), o->mv);
        *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mi), _mm256_set1_ps(o->fm * xd), *acc);
    }
    if (MIN32(kt))
        *accs += o->mg * xs;
}

/* Rows [r0, r1) for every token: a ~64 KiB block of rows at a time (it stays in cache
 * for all tokens); each group of 32 weights is unpacked once for up to 4 tokens. */
TARGET INLINE void mm_blocks(int kt, const wmat *w, int r0, int r1, const act *x, int n_tok,
                             float *y, int ldy)
{
    int n = w->cols, nb = n / QK, rbk = block_rows(w->row_bytes);
    size_t ub = SMALL(kt) ? 8 * (w->row_bytes / (size_t)nb) : w->row_bytes / (size_t)(n / QK_K);
    for (int b0 = r0; b0 < r1; b0 += rbk) {
        int b1 = b0 + rbk < r1 ? b0 + rbk : r1;
        for (int t0 = 0; t0 < n_tok; t0 += 4) {
            int nt = n_tok - t0 < 4 ? n_tok - t0 : 4;
            const int8_t *xq = x->q.q + (size_t)t0 * n;
            const float *xd = x->q.d + (size_t)t0 * nb, *xs = x->q.s + (size_t)t0 * nb;
            for (int r = b0; r < b1; r++) {
                const uint8_t *row = w->data + (size_t)r * w->row_bytes;
                /* named accumulators (no array) so that they stay in registers; a
                 * single token alternates two to hide the FMA latency */
                __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
                float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (int b = 0; b < nb; b += 8) {
                    const uint8_t *u = row + (size_t)(b / 8) * ub;
                    int ng = nb - b < 8 ? nb - b : 8;
                    for (int g = 0; g < ng; g++) {
                        grp o;
                        group(kt, u, g, &o);
                        size_t i = (size_t)(b + g);
                        const int8_t *xb = xq + i * QK;
                        if (nt == 1) {
                            if (g & 1)
                                group_dot(kt, &o, xb, xd[i], xs[i], &a1, &s1);
                            else
                                group_dot(kt, &o, xb, xd[i], xs[i], &a0, &s0);
                            continue;
                        }
                        group_dot(kt, &o, xb, xd[i], xs[i], &a0, &s0);
                        group_dot(kt, &o, xb + n, xd[nb + i], xs[nb + i], &a1, &s1);
                        if (nt > 2)
                            group_dot(kt, &o, xb + 2 * (size_t)n, xd[2 * (size_t)nb + i],
                                      xs[2 * (size_t)nb + i], &a2, &s2);
                        if (nt > 3)
                            group_dot(kt, &o, xb + 3 * (size_t)n, xd[3 * (size_t)nb + i],
                                      xs[3 * (size_t)nb + i], &a3, &s3);
                    }
                }
                float *yr = y + (size_t)t0 * ldy + r;
                if (nt == 1) {
                    yr[0] = hsum(_mm256_add_ps(a0, a1)) + s0 + s1;
                    continue;
                }
                yr[0] = hsum(a0) + s0;
                yr[ldy] = hsum(a1) + s1;
                if (nt > 2)
                    yr[2 * (size_t)ldy] = hsum(a2) + s2;
                if (nt > 3)
                    yr[3 * (size_t)ldy] = hsum(a3) + s3;
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
