/* synthetic.c - models with published shapes and seeded random weights.
 *
 * Like optimum-benchmark's no_weights models: time and energy depend on the shapes
 * and the weight type, not on the values, so these are real workloads; their text is
 * meaningless. Values are uniform with standard deviation 0.02 (the usual init
 * scale; float types take it from a table of 4096 levels), which keeps activations
 * finite through every layer; norms are 1. Each row's
 * values come from its own generator seeded by (seed, tensor, row), so a model is the
 * same whatever the thread count.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

#include "engine/model.h"
#include "engine/pool.h"
#include "engine/quant.h"

/* Shapes as the model cards publish them (config.json of each: hidden_size,
 * intermediate_size, num_hidden_layers, num_attention_heads, num_key_value_heads,
 * head_dim where it is not hidden / heads, vocab_size, tie_word_embeddings, rope_theta,
 * rms_norm_eps, max_position_embeddings). */
static const struct preset {
    const char *name;
    model_arch arch;
    int n_embd, n_ff, n_layers, n_heads, n_kv_heads, n_vocab, tied;
    float rope_base, norm_eps;
    int n_ctx_train;
    int head_dim; /* 0: n_embd / n_heads */
} presets[] = {
    {"smollm-135m", ARCH_LLAMA, 576, 1536, 30, 9, 3, 49152, 1, 10000.0f, 1e-5f, 2048, 0},
    {"smollm-360m", ARCH_LLAMA, 960, 2560, 32, 15, 5, 49152, 1, 10000.0f, 1e-5f, 2048, 0},
    {"qwen2.5-0.5b", ARCH_QWEN2, 896, 4864, 24, 14, 2, 151936, 1, 1000000.0f, 1e-6f, 32768, 0},
    {"tinyllama-1.1b", ARCH_LLAMA, 2048, 5632, 22, 32, 4, 32000, 0, 10000.0f, 1e-5f, 2048, 0},
    {"llama-3.2-1b", ARCH_LLAMA, 2048, 8192, 16, 32, 8, 128256, 1, 500000.0f, 1e-5f, 131072, 0},
    /* Qwen/Qwen3-0.6B: head_dim 128 although hidden / heads is 64 */
    {"qwen3-0.6b", ARCH_QWEN3, 1024, 3072, 28, 16, 8, 151936, 1, 1000000.0f, 1e-6f, 40960, 128},
    /* microsoft/Phi-3-mini-4k-instruct; phi3 files fuse q|k|v and gate|up, which costs
     * the same as the separate matrices made here */
    {"phi-3-mini", ARCH_PHI3, 3072, 8192, 32, 32, 32, 32064, 0, 10000.0f, 1e-5f, 4096, 0},
};

#define N_PRESETS  (sizeof presets / sizeof presets[0])
#define WEIGHT_STD 0.02f

/* "_m" mixes follow llama.cpp's Q4_K_M / Q5_K_M choice (src/llama-quant.cpp): the
 * output Q6_K, attn_v and ffn_down Q6_K in the layers use_more_bits() picks (the first
 * and last eighth, every third between); the rest the base type. */
static const struct {
    const char *name;
    uint32_t type;
    int mix_m;
} type_names[] = {
    {"f32", AIEB_GGML_F32, 0},     {"f16", AIEB_GGML_F16, 0},     {"bf16", AIEB_GGML_BF16, 0},
    {"q8_0", AIEB_GGML_Q8_0, 0},   {"q4_0", AIEB_GGML_Q4_0, 0},   {"q4_1", AIEB_GGML_Q4_1, 0},
    {"q5_0", AIEB_GGML_Q5_0, 0},   {"q5_1", AIEB_GGML_Q5_1, 0},   {"iq4_nl", AIEB_GGML_IQ4_NL, 0},
    {"q2_k", AIEB_GGML_Q2_K, 0},   {"q3_k", AIEB_GGML_Q3_K, 0},   {"q4_k", AIEB_GGML_Q4_K, 0},
    {"q5_k", AIEB_GGML_Q5_K, 0},   {"q6_k", AIEB_GGML_Q6_K, 0},   {"iq4_xs", AIEB_GGML_IQ4_XS, 0},
    {"q4_k_m", AIEB_GGML_Q4_K, 1}, {"q5_k_m", AIEB_GGML_Q5_K, 1},
};
#define N_TYPES (sizeof type_names / sizeof type_names[0])

static int use_more_bits(int layer, int n_layers)
{
    return layer < n_layers / 8 || layer >= 7 * n_layers / 8 || (layer - n_layers / 8) % 3 == 2;
}

/* A super-block type on rows that are not a multiple of 256 becomes what llama.cpp's
 * quantizer falls back to (tensor_type_fallback in src/llama-quant.cpp). */
static uint32_t fit_type(uint32_t type, int cols)
{
    uint32_t be = 1, bb = 1;
    aieb_ggml_type_size(type, &be, &bb);
    if (cols % (int)be == 0)
        return type;
    switch (type) {
    case AIEB_GGML_Q4_K:
        return AIEB_GGML_Q5_0;
    case AIEB_GGML_Q5_K:
        return AIEB_GGML_Q5_1;
    case AIEB_GGML_Q6_K:
        return AIEB_GGML_Q8_0;
    case AIEB_GGML_IQ4_XS:
        return AIEB_GGML_IQ4_NL;
    default: /* Q2_K, Q3_K */
        return AIEB_GGML_Q4_0;
    }
}

/* ==== random numbers ====================================================== */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* splitmix64 stream */
static inline float next_uniform(uint64_t *s, float a)
{
    uint64_t z = mix64(*s += 0x9e3779b97f4a7c15ull);
    return ((float)(z >> 40) * 0x1p-24f * 2.0f - 1.0f) * a;
}

/* ==== filling ============================================================= */

/* Float weights are drawn from a table of LEVELS values evenly spread over
 * [-a, a] (a discrete uniform; std 0.02 all the same), already in the weight's
 * format, five 12-bit indices per random draw: fast enough to make 2 GB in a second. */
#define LEVEL_BITS 12
#define LEVELS     (1 << LEVEL_BITS)

typedef struct fill_job {
    wmat **mats; /* matrices to fill (data points into the arena) */
    int n_mats;
    int max_cols;
    uint64_t seed;
    float lv_f32[LEVELS];
    uint16_t lv_f16[LEVELS], lv_bf16[LEVELS];
} fill_job;

static void make_levels(fill_job *f)
{
    float a = WEIGHT_STD * 1.7320508f; /* uniform(-a, a) has std a / sqrt(3) */
    for (int i = 0; i < LEVELS; i++) {
        f->lv_f32[i] = a * ((2.0f * (float)i + 1.0f) / LEVELS - 1.0f);
        f->lv_f16[i] = f32_to_fp16(f->lv_f32[i]);
        f->lv_bf16[i] = f32_to_bf16(f->lv_f32[i]);
    }
}

static void fill_float(const fill_job *f, uint32_t type, uint8_t *dst, int n, uint64_t *s)
{
    for (int c = 0; c < n;) {
        uint64_t z = mix64(*s += 0x9e3779b97f4a7c15ull);
        for (int k = 0; k < 5 && c < n; k++, c++, z >>= LEVEL_BITS) {
            unsigned i = (unsigned)(z & (LEVELS - 1));
            if (type == AIEB_GGML_F32)
                memcpy(dst + 4 * (size_t)c, &f->lv_f32[i], 4);
            else
                memcpy(dst + 2 * (size_t)c, type == AIEB_GGML_F16 ? &f->lv_f16[i] : &f->lv_bf16[i],
                       2);
        }
    }
}

static void fill_q8_0(blk_q8_0 *b, int nb, uint64_t *s)
{
    uint16_t d = f32_to_fp16(WEIGHT_STD / 73.3f);
    for (int i = 0; i < nb; i++) {
        b[i].d = d;
        for (int j = 0; j < QK; j += 8) {
            uint64_t z = mix64(*s += 0x9e3779b97f4a7c15ull);
            for (int k = 0; k < 8; k++) {
                int8_t q = (int8_t)(uint8_t)(z >> (8 * k));
                b[i].qs[j + k] = q == -128 ? -127 : q;
            }
        }
    }
}

static void fill_q4_0(blk_q4_0 *b, int nb, uint64_t *s)
{
    uint16_t d = f32_to_fp16(WEIGHT_STD / 4.61f);
    for (int i = 0; i < nb; i++) {
        b[i].d = d;
        uint64_t z0 = mix64(*s += 0x9e3779b97f4a7c15ull), z1 = mix64(*s += 0x9e3779b97f4a7c15ull);
        memcpy(b[i].qs, &z0, 8);
        memcpy(b[i].qs + 8, &z1, 8);
    }
}

static void fill_rows(void *arg, int ith, int nth)
{
    const fill_job *f = arg;
    float *row = NULL; /* other block types: float values, then quantize_row */
    for (int i = 0; i < f->n_mats; i++) {
        wmat *w = f->mats[i];
        int r0, r1;
        pool_share(w->rows, 64, ith, nth, &r0, &r1);
        for (int r = r0; r < r1; r++) {
            uint64_t s = mix64(f->seed ^ mix64((uint64_t)i << 32 ^ (uint64_t)r));
            uint8_t *dst = (uint8_t *)w->data + (size_t)r * w->row_bytes;
            if (w->type == AIEB_GGML_Q8_0)
                fill_q8_0((blk_q8_0 *)dst, w->cols / QK, &s);
            else if (w->type == AIEB_GGML_Q4_0)
                fill_q4_0((blk_q4_0 *)dst, w->cols / QK, &s);
            else if (w->type == AIEB_GGML_F32 || w->type == AIEB_GGML_F16 ||
                     w->type == AIEB_GGML_BF16)
                fill_float(f, w->type, dst, w->cols, &s);
            else {
                if (!row && !(row = malloc((size_t)f->max_cols * sizeof *row)))
                    continue; /* left zero: the model stays usable for timing */
                fill_float(f, AIEB_GGML_F32, (uint8_t *)row, w->cols, &s);
                quantize_row(w->type, row, dst, w->cols);
            }
        }
    }
    free(row);
}

static int parse_spec(const char *spec, const struct preset **pr, size_t *type, uint64_t *seed,
                      aieb_err *err)
{
    size_t nlen = strcspn(spec, "?");
    *pr = NULL;
    for (size_t i = 0; i < N_PRESETS; i++)
        if (strlen(presets[i].name) == nlen && strncasecmp(presets[i].name, spec, nlen) == 0)
            *pr = &presets[i];
    if (!*pr)
        return aieb_errf(err, AIEB_ENOTFOUND,
                         "synthetic: unknown preset '%.*s' (smollm-135m, smollm-360m, "
                         "qwen2.5-0.5b, tinyllama-1.1b, llama-3.2-1b, qwen3-0.6b, phi-3-mini)",
                         (int)(nlen > 64 ? 64 : nlen), spec);
    *type = 0; /* index in type_names: f32 */
    *seed = 0;
    const char *p = spec + nlen;
    while (*p == '?' || *p == '&') {
        p++;
        size_t klen = strcspn(p, "=&");
        if (p[klen] != '=')
            return aieb_errf(err, AIEB_EINVAL, "synthetic: option '%.*s' needs a value (key=value)",
                             (int)(klen > 32 ? 32 : klen), p);
        const char *v = p + klen + 1;
        size_t vlen = strcspn(v, "&");
        if (klen == 4 && strncmp(p, "type", 4) == 0) {
            size_t i;
            for (i = 0; i < N_TYPES; i++)
                if (strlen(type_names[i].name) == vlen &&
                    strncasecmp(type_names[i].name, v, vlen) == 0)
                    break;
            if (i == N_TYPES)
                return aieb_errf(err, AIEB_EINVAL,
                                 "synthetic: type '%.*s' is not one of f32, f16, bf16, q8_0, "
                                 "q4_0, q4_1, q5_0, q5_1, iq4_nl, q2_k, q3_k, q4_k, q5_k, q6_k, "
                                 "iq4_xs, q4_k_m, q5_k_m",
                                 (int)(vlen > 32 ? 32 : vlen), v);
            *type = i;
        } else if (klen == 4 && strncmp(p, "seed", 4) == 0) {
            char buf[32], *end;
            if (vlen == 0 || vlen >= sizeof buf || !isdigit((unsigned char)v[0]))
                return aieb_errf(err, AIEB_EINVAL,
                                 "synthetic: seed must be a non-negative "
                                 "integer");
            memcpy(buf, v, vlen);
            buf[vlen] = 0;
            errno = 0;
            *seed = strtoull(buf, &end, 10);
            if (*end || errno)
                return aieb_errf(err, AIEB_EINVAL, "synthetic: seed '%s' is not an integer", buf);
        } else {
            return aieb_errf(err, AIEB_EINVAL, "synthetic: unknown option '%.*s' (type, seed)",
                             (int)(klen > 32 ? 32 : klen), p);
        }
        p = v + vlen;
    }
    if (*p)
        return aieb_errf(err, AIEB_EINVAL, "synthetic: cannot parse '%s'", p);
    return 0;
}

static size_t align64(size_t x)
{
    return (x + 63) & ~(size_t)63;
}

int model_synthetic(model *m, const char *spec, pool *p, aieb_err *err)
{
    memset(m, 0, sizeof *m);
    const struct preset *pr = NULL;
    size_t ti = 0;
    uint64_t seed = 0;
    int rc = parse_spec(spec, &pr, &ti, &seed, err);
    if (rc)
        return rc;
    uint32_t type = type_names[ti].type;
    int mix_m = type_names[ti].mix_m;
    hparams *hp = &m->hp;
    *hp = (hparams){.arch = pr->arch,
                    .n_embd = pr->n_embd,
                    .n_ff = pr->n_ff,
                    .n_layers = pr->n_layers,
                    .n_heads = pr->n_heads,
                    .n_kv_heads = pr->n_kv_heads,
                    .head_dim = pr->head_dim ? pr->head_dim : pr->n_embd / pr->n_heads,
                    .n_vocab = pr->n_vocab,
                    .n_ctx_train = pr->n_ctx_train,
                    .rope_neox = pr->arch != ARCH_LLAMA,
                    .rope_base = pr->rope_base,
                    .rope_scale = 1.0f,
                    .norm_eps = pr->norm_eps};
    hp->n_rot = hp->head_dim;
    m->synthetic = 1;
    m->tied = pr->tied;
    m->main_type = type;
    snprintf(m->name, sizeof m->name, "synthetic:%s?type=%s&seed=%llu", pr->name,
             type_names[ti].name, (unsigned long long)seed);

    int D = hp->n_embd, qd = hp->n_heads * hp->head_dim, kvd = hp->n_kv_heads * hp->head_dim;
    int L = hp->n_layers;
    int n_mats = 2 + 7 * L;
    wmat **mats = calloc((size_t)n_mats, sizeof *mats);
    m->layers = calloc((size_t)L, sizeof *m->layers);
    size_t n_fv = (size_t)L * (2 * D + (hp->arch == ARCH_QWEN2 ? qd + 2 * kvd : 0) +
                               (hp->arch == ARCH_QWEN3 ? 2 * hp->head_dim : 0)) +
                  D;
    m->fvec = malloc(n_fv * sizeof *m->fvec);
    if (!mats || !m->layers || !m->fvec) {
        free(mats);
        return aieb_errf(err, AIEB_ENOMEM, "synthetic: out of memory");
    }
    int k = 0;
    mats[k++] = &m->tok_embd;
    *mats[0] = (wmat){.rows = hp->n_vocab, .cols = D};
    if (!m->tied) {
        mats[k++] = &m->output;
        m->output = (wmat){.rows = hp->n_vocab, .cols = D};
    }
    for (int l = 0; l < L; l++) {
        layer_w *lw = &m->layers[l];
        lw->wq = (wmat){.rows = qd, .cols = D};
        lw->wk = (wmat){.rows = kvd, .cols = D};
        lw->wv = (wmat){.rows = kvd, .cols = D};
        lw->wo = (wmat){.rows = D, .cols = qd};
        lw->w_gate = (wmat){.rows = hp->n_ff, .cols = D};
        lw->w_up = (wmat){.rows = hp->n_ff, .cols = D};
        lw->w_down = (wmat){.rows = D, .cols = hp->n_ff};
        wmat *ws[] = {&lw->wq, &lw->wk, &lw->wv, &lw->wo, &lw->w_gate, &lw->w_up, &lw->w_down};
        for (size_t i = 0; i < 7; i++)
            mats[k++] = ws[i];
    }
    n_mats = k;
    for (int i = 0; i < n_mats; i++)
        mats[i]->type = type;
    if (mix_m) {
        if (!m->tied)
            m->output.type = AIEB_GGML_Q6_K;
        for (int l = 0; l < L; l++)
            if (use_more_bits(l, L))
                m->layers[l].wv.type = m->layers[l].w_down.type = AIEB_GGML_Q6_K;
    }
    size_t total = 0;
    int max_cols = 0;
    uint64_t type_bytes[32] = {0};
    for (int i = 0; i < n_mats; i++) {
        mats[i]->type = fit_type(mats[i]->type, mats[i]->cols);
        max_cols = mats[i]->cols > max_cols ? mats[i]->cols : max_cols;
        mats[i]->row_bytes = row_bytes(mats[i]->type, mats[i]->cols);
        total += align64(mats[i]->row_bytes * (size_t)mats[i]->rows);
        m->n_params += (uint64_t)mats[i]->rows * (uint64_t)mats[i]->cols;
        m->weight_bytes += mats[i]->row_bytes * (uint64_t)mats[i]->rows;
        type_bytes[mats[i]->type] += mats[i]->row_bytes * (uint64_t)mats[i]->rows;
    }
    uint64_t best = 0;
    for (uint32_t t = 0; t < 32; t++) /* the type holding most bytes */
        if (type_bytes[t] > best) {
            best = type_bytes[t];
            m->main_type = t;
        }
    m->arena = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fill_job *f = malloc(sizeof *f);
    if (m->arena == MAP_FAILED || !f) {
        m->arena = m->arena == MAP_FAILED ? NULL : m->arena;
        m->arena_bytes = total;
        free(mats);
        free(f);
        return aieb_errf(err, AIEB_ENOMEM, "synthetic: cannot allocate %.1f MiB of weights for %s",
                         total / 1048576.0, pr->name);
    }
    m->arena_bytes = total;
#ifdef MADV_HUGEPAGE
    madvise(m->arena, total, MADV_HUGEPAGE); /* fewer TLB misses while streaming weights */
#endif
    uint8_t *at = m->arena;
    for (int i = 0; i < n_mats; i++) {
        mats[i]->data = at;
        at += align64(mats[i]->row_bytes * (size_t)mats[i]->rows);
    }
    f->mats = mats;
    f->n_mats = n_mats;
    f->max_cols = max_cols;
    f->seed = mix64(seed + 0x5eed);
    make_levels(f);
    pool_run(p, fill_rows, f);
    free(f);
    free(mats);
    if (m->tied)
        m->output = m->tok_embd;

    /* norms are 1 (qwen3's q/k head norms too); qwen2's q/k/v biases are random like
     * the weights */
    float *fv = m->fvec;
    uint64_t s = mix64(seed ^ 0xb1a5);
    for (int l = 0; l < L; l++) {
        layer_w *lw = &m->layers[l];
        for (int i = 0; i < 2 * D; i++)
            fv[i] = 1.0f;
        lw->attn_norm = fv;
        lw->ffn_norm = fv + D;
        fv += 2 * D;
        if (hp->arch == ARCH_QWEN2) {
            for (int i = 0; i < qd + 2 * kvd; i++)
                fv[i] = next_uniform(&s, WEIGHT_STD * 1.7320508f);
            lw->bq = fv;
            lw->bk = fv + qd;
            lw->bv = fv + qd + kvd;
            fv += qd + 2 * kvd;
        }
        if (hp->arch == ARCH_QWEN3) {
            for (int i = 0; i < 2 * hp->head_dim; i++)
                fv[i] = 1.0f;
            lw->q_norm = fv;
            lw->k_norm = fv + hp->head_dim;
            fv += 2 * hp->head_dim;
        }
    }
    for (int i = 0; i < D; i++)
        fv[i] = 1.0f;
    m->output_norm = fv;
    size_t n_vec = n_fv;
    m->n_params += n_vec;
    m->weight_bytes += n_vec * sizeof(float);
    /* what a GGUF file of these shapes would hold: the matrices in their type, every
     * norm and bias as an F32 vector */
    m->type_tensors[type] += (uint32_t)n_mats;
    m->type_bytes[type] += m->weight_bytes - n_vec * sizeof(float);
    m->type_tensors[AIEB_GGML_F32] += (uint32_t)(1 + L * (2 + (hp->arch == ARCH_QWEN2 ? 3 : 0) +
                                                          (hp->arch == ARCH_QWEN3 ? 2 : 0)));
    m->type_bytes[AIEB_GGML_F32] += n_vec * sizeof(float);
    return 0;
}
