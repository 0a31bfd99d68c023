/* model.c - shapes and weights from a GGUF file (llama, qwen2, qwen3, phi3).
 *
 * Tensor names and metadata keys follow llama.cpp's GGUF conventions:
 * token_embd, output_norm, output (absent when tied to token_embd), rope_freqs, and
 * blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate, ffn_up,
 * ffn_down}.weight with blk.N.attn_{q,k,v}.bias for qwen2, blk.N.attn_{q,k}_norm.weight
 * for qwen3, and for phi3 blk.N.attn_qkv.weight (q, k, v rows one after the other) and
 * an ffn_up.weight of 2 x feed_forward_length rows, gate rows first, then up (Hugging
 * Face Phi3MLP's gate_up_proj, chunked in two, gate first, as the converter keeps it);
 * keys <arch>.embedding_length, .block_count, .feed_forward_length,
 * .attention.head_count(_kv), .rope.freq_base, .rope.scaling.type/.factor, ...
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "engine/model.h"
#include "engine/quant.h"

#define MAX_LAYERS 4096
#define MAX_DIM    (1 << 20)

int model_type_supported(uint32_t type)
{
    switch (type) {
    case AIEB_GGML_F32:
    case AIEB_GGML_F16:
    case AIEB_GGML_BF16:
    case AIEB_GGML_Q8_0:
    case AIEB_GGML_Q4_0:
    case AIEB_GGML_Q4_1:
    case AIEB_GGML_Q5_0:
    case AIEB_GGML_Q5_1:
    case AIEB_GGML_IQ4_NL:
    case AIEB_GGML_Q2_K:
    case AIEB_GGML_Q3_K:
    case AIEB_GGML_Q4_K:
    case AIEB_GGML_Q5_K:
    case AIEB_GGML_Q6_K:
    case AIEB_GGML_IQ4_XS:
        return 1;
    default:
        return 0;
    }
}

void model_free(model *m)
{
    free(m->layers);
    free(m->fvec);
    if (m->arena)
        munmap(m->arena, m->arena_bytes);
    aieb_gguf_close(m->gguf);
    memset(m, 0, sizeof *m);
}

/* ==== loading helpers ===================================================== */

typedef struct loader {
    model *m;
    const aieb_gguf *g;
    const char *arch;
    float *fv; /* next free float in m->fvec */
    size_t fv_left;
    uint64_t type_bytes[MODEL_N_TYPES]; /* bytes of weight matrices of each type */
    aieb_err *err;
} loader;

const char *model_arch_name(model_arch a)
{
    switch (a) {
    case ARCH_QWEN2:
        return "qwen2";
    case ARCH_QWEN3:
        return "qwen3";
    case ARCH_PHI3:
        return "phi3";
    case ARCH_LLAMA:
        break;
    }
    return "llama";
}

/* Counts a tensor in the per-type statistics the engine reports. */
static void count_tensor(loader *ld, const aieb_gguf_tensor *t)
{
    ld->m->n_params += t->n_elements;
    ld->m->weight_bytes += t->size;
    if (t->type < MODEL_N_TYPES) {
        ld->m->type_tensors[t->type]++;
        ld->m->type_bytes[t->type] += t->size;
    }
}

static int get_dim(loader *ld, const char *suffix, int required, int def, int *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", ld->arch, suffix);
    uint32_t v;
    int rc = aieb_gguf_get_u32(ld->g, key, &v, ld->err);
    if (rc == AIEB_ENOTFOUND) {
        if (required)
            return aieb_errf(ld->err, AIEB_EINVAL, "model: metadata key '%s' is missing", key);
        *out = def;
        return 0;
    }
    if (rc)
        return rc;
    if (v == 0 || v > MAX_DIM)
        return aieb_errf(ld->err, AIEB_EINVAL, "model: %s = %u is not 1..%d", key, v, MAX_DIM);
    *out = (int)v;
    return 0;
}

static int get_float(loader *ld, const char *suffix, double def, float *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", ld->arch, suffix);
    double v;
    int rc = aieb_gguf_get_f64(ld->g, key, &v, ld->err);
    if (rc == AIEB_ENOTFOUND)
        v = def;
    else if (rc)
        return rc;
    if (!(v > 0) || v > 1e30)
        return aieb_errf(ld->err, AIEB_EINVAL, "model: %s = %g must be a positive number", key, v);
    *out = (float)v;
    return 0;
}

static int type_error(loader *ld, const char *name, uint32_t type)
{
    const char *tn = aieb_ggml_type_name(type);
    char num[16];
    if (!tn) {
        snprintf(num, sizeof num, "%u", type);
        tn = num;
    }
    return aieb_errf(ld->err, AIEB_EUNSUPPORTED,
                     "model: tensor '%s' has type %s, which the engine cannot multiply "
                     "(it runs F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, "
                     "Q5_K, Q6_K, IQ4_NL, IQ4_XS)",
                     name, tn);
}

/* A (rows, cols) matrix: GGUF ne = [cols, rows]. Absent and not required: data NULL. */
static int get_mat(loader *ld, const char *name, int rows, int cols, int required, wmat *out)
{
    const aieb_gguf_tensor *t = aieb_gguf_find_tensor(ld->g, name);
    memset(out, 0, sizeof *out);
    if (!t) {
        if (required)
            return aieb_errf(ld->err, AIEB_EINVAL, "model: tensor '%s' is missing", name);
        return 0;
    }
    if (t->ne[2] != 1 || t->ne[3] != 1 || t->ne[0] != (uint64_t)cols || t->ne[1] != (uint64_t)rows)
        return aieb_errf(ld->err, AIEB_EINVAL,
                         "model: tensor '%s' has shape [%" PRIu64 ", %" PRIu64 ", %" PRIu64
                         ", %" PRIu64 "], expected [%d, %d] (cols, rows)",
                         name, t->ne[0], t->ne[1], t->ne[2], t->ne[3], cols, rows);
    if (!model_type_supported(t->type))
        return type_error(ld, name, t->type);
    if ((uintptr_t)t->data % 4 != 0)
        return aieb_errf(ld->err, AIEB_EINVAL,
                         "model: tensor '%s' is not 4-byte aligned (general.alignment %u)", name,
                         aieb_gguf_alignment(ld->g));
    out->type = t->type;
    out->rows = rows;
    out->cols = cols;
    out->row_bytes = row_bytes(t->type, cols);
    out->data = t->data;
    count_tensor(ld, t);
    ld->type_bytes[t->type] += t->size;
    return 0;
}

/* A vector of n values, converted to float into m->fvec. */
static int get_vec(loader *ld, const char *name, int n, int required, const float **out)
{
    const aieb_gguf_tensor *t = aieb_gguf_find_tensor(ld->g, name);
    *out = NULL;
    if (!t) {
        if (required)
            return aieb_errf(ld->err, AIEB_EINVAL, "model: tensor '%s' is missing", name);
        return 0;
    }
    if (t->n_elements != (uint64_t)n || t->ne[0] != (uint64_t)n)
        return aieb_errf(ld->err, AIEB_EINVAL,
                         "model: tensor '%s' has %" PRIu64 " values in [%" PRIu64 ", %" PRIu64
                         "], expected a vector of %d",
                         name, t->n_elements, t->ne[0], t->ne[1], n);
    if (t->type != AIEB_GGML_F32 && t->type != AIEB_GGML_F16 && t->type != AIEB_GGML_BF16)
        return aieb_errf(ld->err, AIEB_EUNSUPPORTED,
                         "model: tensor '%s' has type %s; vectors must be F32, F16 or BF16", name,
                         aieb_ggml_type_name(t->type));
    if ((size_t)n > ld->fv_left)
        return aieb_errf(ld->err, AIEB_EINVAL, "model: tensor '%s': too many vector values", name);
    dequantize_row(t->type, t->data, ld->fv, n);
    *out = ld->fv;
    ld->fv += n;
    ld->fv_left -= (size_t)n;
    count_tensor(ld, t);
    return 0;
}

/* RoPE scaling: none, or linear (positions divided by the factor; llama.cpp's GGUF keys
 * <arch>.rope.scaling.type "linear" with .rope.scaling.factor, or the older
 * .rope.scale_linear). YaRN and LongRoPE change the angles per frequency and the
 * attention scale, which this engine does not do, so they are refused. */
static int load_rope_scaling(loader *ld, hparams *hp)
{
    char key[128];
    aieb_gguf_str st;
    snprintf(key, sizeof key, "%s.rope.scaling.type", ld->arch);
    int rc = aieb_gguf_get_str(ld->g, key, &st, ld->err);
    if (rc && rc != AIEB_ENOTFOUND)
        return rc;
    double factor = 1;
    if (rc == 0 && !(st.len == 4 && memcmp(st.ptr, "none", 4) == 0)) {
        if (!(st.len == 6 && memcmp(st.ptr, "linear", 6) == 0))
            return aieb_errf(ld->err, AIEB_EUNSUPPORTED,
                             "model: %s '%.*s' is not supported (none or linear)", key,
                             (int)(st.len > 32 ? 32 : st.len), st.ptr);
        snprintf(key, sizeof key, "%s.rope.scaling.factor", ld->arch);
        rc = aieb_gguf_get_f64(ld->g, key, &factor, ld->err);
        if (rc && rc != AIEB_ENOTFOUND)
            return rc;
        if (rc == AIEB_ENOTFOUND)
            factor = 1;
    }
    snprintf(key, sizeof key, "%s.rope.scale_linear", ld->arch);
    double lin = 1;
    rc = aieb_gguf_get_f64(ld->g, key, &lin, ld->err);
    if (rc && rc != AIEB_ENOTFOUND)
        return rc;
    if (rc == AIEB_ENOTFOUND)
        lin = 1;
    /* 0 means "not set" in llama.cpp's reading of both keys */
    if (factor == 0)
        factor = 1;
    if (lin == 0)
        lin = 1;
    if (!(factor > 0 && factor <= 1024 && lin > 0 && lin <= 1024))
        return aieb_errf(ld->err, AIEB_EINVAL,
                         "model: %s.rope scaling factor %g must be in (0, 1024]", ld->arch,
                         factor * lin);
    hp->rope_scale = (float)(1.0 / (factor * lin));
    return 0;
}

/* ==== hyperparameters ===================================================== */

static int load_hparams(loader *ld, hparams *hp)
{
    int rc;
    if ((rc = get_dim(ld, "embedding_length", 1, 0, &hp->n_embd)) ||
        (rc = get_dim(ld, "block_count", 1, 0, &hp->n_layers)) ||
        (rc = get_dim(ld, "feed_forward_length", 1, 0, &hp->n_ff)) ||
        (rc = get_dim(ld, "attention.head_count", 1, 0, &hp->n_heads)) ||
        (rc = get_dim(ld, "attention.head_count_kv", 0, hp->n_heads, &hp->n_kv_heads)) ||
        (rc = get_dim(ld, "context_length", 0, 2048, &hp->n_ctx_train)))
        return rc;
    if (hp->n_layers > MAX_LAYERS)
        return aieb_errf(ld->err, AIEB_EINVAL, "model: %s.block_count %d is over %d", ld->arch,
                         hp->n_layers, MAX_LAYERS);
    /* without attention.key_length the head size is embedding_length / head_count */
    int kl = 0, vl = 0;
    int def_head = hp->n_embd % hp->n_heads == 0 ? hp->n_embd / hp->n_heads : 0;
    if ((rc = get_dim(ld, "attention.key_length", 0, def_head, &kl)) ||
        (rc = get_dim(ld, "attention.value_length", 0, kl, &vl)))
        return rc;
    if (kl != vl)
        return aieb_errf(ld->err, AIEB_EUNSUPPORTED,
                         "model: %s.attention.key_length %d differs from value_length %d", ld->arch,
                         kl, vl);
    hp->head_dim = kl;
    if (hp->head_dim == 0 || hp->head_dim % 2 != 0)
        return aieb_errf(ld->err, AIEB_EINVAL,
                         "model: head size %d (%s.embedding_length / attention.head_count, or "
                         "attention.key_length) must be even and positive",
                         hp->head_dim, ld->arch);
    if (hp->n_kv_heads > hp->n_heads || hp->n_heads % hp->n_kv_heads != 0)
        return aieb_errf(ld->err, AIEB_EINVAL,
                         "model: %s.attention.head_count_kv %d does not divide head_count %d",
                         ld->arch, hp->n_kv_heads, hp->n_heads);
    if ((rc = get_dim(ld, "rope.dimension_count", 0, hp->head_dim, &hp->n_rot)))
        return rc;
    if (hp->n_rot > hp->head_dim || hp->n_rot % 2 != 0)
        return aieb_errf(ld->err, AIEB_EINVAL,
                         "model: %s.rope.dimension_count %d must be even and at most the head "
                         "size %d",
                         ld->arch, hp->n_rot, hp->head_dim);
    if ((rc = get_float(ld, "rope.freq_base", 10000.0, &hp->rope_base)) ||
        (rc = get_float(ld, "attention.layer_norm_rms_epsilon", 1e-5, &hp->norm_eps)))
        return rc;
    char key[128];
    snprintf(key, sizeof key, "%s.expert_count", ld->arch);
    uint32_t experts = 0;
    rc = aieb_gguf_get_u32(ld->g, key, &experts, ld->err);
    if (rc && rc != AIEB_ENOTFOUND)
        return rc;
    if (experts > 0)
        return aieb_errf(ld->err, AIEB_EUNSUPPORTED,
                         "model: mixture-of-experts models (%s = %u) are not supported", key,
                         experts);
    return load_rope_scaling(ld, hp);
}

/* ==== tensors ============================================================= */

/* Rows [r0, r0 + n) of w, as a matrix of its own (no copy). */
static wmat mat_rows(const wmat *w, int r0, int n)
{
    wmat v = *w;
    v.rows = n;
    v.data = w->data + (size_t)r0 * w->row_bytes;
    return v;
}

/* q, k, v projections of layer l: separate tensors (with biases for qwen2), or phi3's
 * fused attn_qkv; qwen3's per-head norms of q and k. */
static int load_attention(loader *ld, int l, layer_w *L)
{
    const hparams *hp = &ld->m->hp;
    int D = hp->n_embd, qd = hp->n_heads * hp->head_dim, kvd = hp->n_kv_heads * hp->head_dim;
    char n[96];
    int rc;
    snprintf(n, sizeof n, "blk.%d.attn_qkv.weight", l);
    if (hp->arch == ARCH_PHI3 && aieb_gguf_find_tensor(ld->g, n)) {
        wmat qkv;
        if ((rc = get_mat(ld, n, qd + 2 * kvd, D, 1, &qkv)) != 0)
            return rc;
        L->wq = mat_rows(&qkv, 0, qd);
        L->wk = mat_rows(&qkv, qd, kvd);
        L->wv = mat_rows(&qkv, qd + kvd, kvd);
    } else {
        const struct {
            const char *name;
            int rows;
            wmat *w;
            const float **bias;
        } p[3] = {
            {"q", qd, &L->wq, &L->bq}, {"k", kvd, &L->wk, &L->bk}, {"v", kvd, &L->wv, &L->bv}};
        for (int i = 0; i < 3; i++) {
            snprintf(n, sizeof n, "blk.%d.attn_%s.weight", l, p[i].name);
            if ((rc = get_mat(ld, n, p[i].rows, D, 1, p[i].w)) != 0)
                return rc;
            snprintf(n, sizeof n, "blk.%d.attn_%s.bias", l, p[i].name);
            if ((rc = get_vec(ld, n, p[i].rows, 0, p[i].bias)) != 0)
                return rc;
        }
        if (hp->arch == ARCH_QWEN2 && (!L->bq || !L->bk || !L->bv))
            return aieb_errf(ld->err, AIEB_EINVAL,
                             "model: qwen2 layer %d lacks attn_q/attn_k/attn_v biases", l);
    }
    if (hp->arch == ARCH_QWEN3) {
        snprintf(n, sizeof n, "blk.%d.attn_q_norm.weight", l);
        if ((rc = get_vec(ld, n, hp->head_dim, 1, &L->q_norm)) != 0)
            return rc;
        snprintf(n, sizeof n, "blk.%d.attn_k_norm.weight", l);
        if ((rc = get_vec(ld, n, hp->head_dim, 1, &L->k_norm)) != 0)
            return rc;
    }
    return 0;
}

/* Gate and up projections of layer l: two tensors, or phi3's one ffn_up of 2 x n_ff
 * rows (gate first) when ffn_gate is absent. */
static int load_ffn(loader *ld, int l, layer_w *L)
{
    const hparams *hp = &ld->m->hp;
    int D = hp->n_embd, ff = hp->n_ff;
    char n[96];
    int rc;
    snprintf(n, sizeof n, "blk.%d.ffn_gate.weight", l);
    if (hp->arch == ARCH_PHI3 && !aieb_gguf_find_tensor(ld->g, n)) {
        wmat gate_up;
        snprintf(n, sizeof n, "blk.%d.ffn_up.weight", l);
        if ((rc = get_mat(ld, n, 2 * ff, D, 1, &gate_up)) != 0)
            return rc;
        L->w_gate = mat_rows(&gate_up, 0, ff);
        L->w_up = mat_rows(&gate_up, ff, ff);
        return 0;
    }
    if ((rc = get_mat(ld, n, ff, D, 1, &L->w_gate)) != 0)
        return rc;
    snprintf(n, sizeof n, "blk.%d.ffn_up.weight", l);
    return get_mat(ld, n, ff, D, 1, &L->w_up);
}

static int load_tensors(loader *ld)
{
    model *m = ld->m;
    hparams *hp = &m->hp;
    int D = hp->n_embd, qd = hp->n_heads * hp->head_dim;
    const aieb_gguf_tensor *emb = aieb_gguf_find_tensor(ld->g, "token_embd.weight");
    if (!emb)
        return aieb_errf(ld->err, AIEB_EINVAL, "model: tensor 'token_embd.weight' is missing");
    if (emb->ne[1] == 0 || emb->ne[1] > (uint64_t)INT32_MAX)
        return aieb_errf(ld->err, AIEB_EINVAL, "model: token_embd.weight has %" PRIu64 " rows",
                         emb->ne[1]);
    hp->n_vocab = (int)emb->ne[1];
    int rc;
    if ((rc = get_mat(ld, "token_embd.weight", hp->n_vocab, D, 1, &m->tok_embd)) ||
        (rc = get_mat(ld, "output.weight", hp->n_vocab, D, 0, &m->output)) ||
        (rc = get_vec(ld, "output_norm.weight", D, 1, &m->output_norm)) ||
        (rc = get_vec(ld, "rope_freqs.weight", hp->n_rot / 2, 0, &m->rope_freqs)))
        return rc;
    m->tied = m->output.data == NULL;
    if (m->tied)
        m->output = m->tok_embd;
    for (int i = 0; m->rope_freqs && i < hp->n_rot / 2; i++)
        if (!(m->rope_freqs[i] > 0))
            return aieb_errf(ld->err, AIEB_EINVAL,
                             "model: rope_freqs.weight[%d] = %g is not a positive factor", i,
                             (double)m->rope_freqs[i]);
    if (aieb_gguf_find_tensor(ld->g, "rope_factors_long.weight") ||
        aieb_gguf_find_tensor(ld->g, "rope_factors_short.weight"))
        return aieb_errf(ld->err, AIEB_EUNSUPPORTED,
                         "model: rope_factors_long/short (LongRoPE, Phi-3 128k variants) are not "
                         "supported; use a 4k-context variant");
    for (int l = 0; l < hp->n_layers; l++) {
        layer_w *L = &m->layers[l];
        char n[96];
        snprintf(n, sizeof n, "blk.%d.attn_norm.weight", l);
        if ((rc = get_vec(ld, n, D, 1, &L->attn_norm)) != 0)
            return rc;
        snprintf(n, sizeof n, "blk.%d.ffn_norm.weight", l);
        if ((rc = get_vec(ld, n, D, 1, &L->ffn_norm)) != 0)
            return rc;
        snprintf(n, sizeof n, "blk.%d.attn_output.weight", l);
        if ((rc = get_mat(ld, n, D, qd, 1, &L->wo)) != 0)
            return rc;
        snprintf(n, sizeof n, "blk.%d.ffn_down.weight", l);
        if ((rc = get_mat(ld, n, D, hp->n_ff, 1, &L->w_down)) != 0)
            return rc;
        if ((rc = load_attention(ld, l, L)) != 0 || (rc = load_ffn(ld, l, L)) != 0)
            return rc;
    }
    uint64_t best = 0;
    for (uint32_t t = 0; t < MODEL_N_TYPES; t++)
        if (ld->type_bytes[t] > best) {
            best = ld->type_bytes[t];
            m->main_type = t;
        }
    return 0;
}

/* ==== architectures ======================================================= */

static const struct {
    const char *name;
    model_arch arch;
    int rope_neox;
    int min_layer_tensors; /* tensors a layer has at least (a bound on hostile counts) */
} archs[] = {
    {"llama", ARCH_LLAMA, 0, 9},
    {"qwen2", ARCH_QWEN2, 1, 9},
    {"qwen3", ARCH_QWEN3, 1, 9},
    {"phi3", ARCH_PHI3, 1, 6},
};

/* Architectures people meet and what keeps them out, so the refusal says why. */
static const struct {
    const char *prefix;
    const char *why;
} refused[] = {
    {"gemma", "Gemma needs GeGLU, embedding scaling, extra norms, logit soft-capping and "
              "sliding-window layers"},
    {"phi2", "phi2 has LayerNorm with biases, a parallel MLP and partial rotation"},
    {"qwen2moe", "mixture-of-experts models are not supported"},
    {"qwen3moe", "mixture-of-experts models are not supported"},
};

static int select_arch(loader *ld, aieb_gguf_str name)
{
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
        if (strlen(archs[i].name) == name.len && memcmp(archs[i].name, name.ptr, name.len) == 0) {
            ld->arch = archs[i].name;
            ld->m->hp.arch = archs[i].arch;
            ld->m->hp.rope_neox = archs[i].rope_neox;
            return 0;
        }
    int shown = (int)(name.len > 40 ? 40 : name.len);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        size_t pl = strlen(refused[i].prefix);
        if (name.len >= pl && memcmp(refused[i].prefix, name.ptr, pl) == 0)
            return aieb_errf(ld->err, AIEB_EUNSUPPORTED,
                             "model: architecture '%.*s' is not supported (%s); supported: "
                             "llama, qwen2, qwen3, phi3",
                             shown, name.ptr, refused[i].why);
    }
    return aieb_errf(ld->err, AIEB_EUNSUPPORTED,
                     "model: architecture '%.*s' is not supported (llama, qwen2, qwen3, phi3)",
                     shown, name.ptr);
}

static int min_layer_tensors(model_arch a)
{
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
        if (archs[i].arch == a)
            return archs[i].min_layer_tensors;
    return 9;
}

int model_load_gguf(model *m, aieb_gguf *g, aieb_err *err)
{
    memset(m, 0, sizeof *m);
    m->gguf = g;
    aieb_gguf_str arch;
    int rc = aieb_gguf_get_str(g, "general.architecture", &arch, err);
    if (rc == AIEB_ENOTFOUND)
        return aieb_errf(err, AIEB_EINVAL, "model: metadata key 'general.architecture' is missing");
    if (rc)
        return rc;
    loader ld = {.m = m, .g = g, .err = err};
    if ((rc = select_arch(&ld, arch)) != 0)
        return rc;
    if ((rc = load_hparams(&ld, &m->hp)) != 0)
        return rc;
    const hparams *hp = &m->hp;
    size_t per_layer = 2 * (size_t)hp->n_embd +
                       (size_t)(hp->n_heads + 2 * hp->n_kv_heads) * hp->head_dim +
                       (hp->arch == ARCH_QWEN3 ? 2 * (size_t)hp->head_dim : 0);
    size_t n_fv = per_layer * hp->n_layers + hp->n_embd + hp->n_rot / 2 + 16;
    /* every vector and layer must be in the file (2+ bytes a value, 9 tensors a layer):
     * shapes asking for more cannot be real, so nothing that size is allocated */
    if ((n_fv - 16) * 2 > aieb_gguf_file_size(g) ||
        (uint64_t)hp->n_layers * min_layer_tensors(hp->arch) > aieb_gguf_n_tensors(g))
        return aieb_errf(err, AIEB_EINVAL,
                         "model: %s hyperparameters (%d layers of width %d) need more tensors "
                         "than the file holds",
                         ld.arch, hp->n_layers, hp->n_embd);
    m->fvec = malloc(n_fv * sizeof *m->fvec);
    m->layers = calloc((size_t)hp->n_layers, sizeof *m->layers);
    if (!m->fvec || !m->layers)
        return aieb_errf(err, AIEB_ENOMEM, "model: out of memory");
    ld.fv = m->fvec;
    ld.fv_left = n_fv;
    if ((rc = load_tensors(&ld)) != 0)
        return rc;
    aieb_gguf_str name;
    if (aieb_gguf_get_str(g, "general.name", &name, NULL) == 0)
        snprintf(m->name, sizeof m->name, "%.*s", (int)(name.len > 90 ? 90 : name.len), name.ptr);
    return 0;
}
