/* forward.c - the transformer's forward pass, run by every pool thread on its share.
 *
 * Per layer (every architecture shares it; qwen2 adds q/k/v biases, qwen3 normalizes
 * each head of q and k, phi3's fused matrices are loaded as views; all but llama
 * rotate halves):
 *   xn = rmsnorm(x) * attn_norm
 *   q, k, v = Wq xn (+bq), Wk xn (+bk), Wv xn (+bv)
 *   q, k per head = rmsnorm(q) * q_norm, rmsnorm(k) * k_norm   (qwen3)
 *   RoPE on q and k; k, v -> cache
 *   att_out = softmax(q k^T / sqrt(head_dim), causal) v    (grouped-query heads)
 *   x += Wo att_out
 *   xn = rmsnorm(x) * ffn_norm
 *   x += W_down (silu(W_gate xn) * (W_up xn))
 * then logits = W_out (rmsnorm(x) * output_norm) at the last position.
 *
 * The whole pass is one pool job: threads split rows of each matrix product (whole
 * heads for q/k/v, so the thread that made a head also rotates it) and meet at a
 * barrier where the next step needs all of the previous one.
 */
#include <math.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "engine/engine_impl.h"

/* Below this many tokens a batch uses the engine's kernels rather than sgemm. */
#define BLAS_MIN_BATCH 8
/* Rows of a matrix product are shared out in multiples of this (a 64-byte line of y). */
#define ROW_UNIT 16

typedef struct job {
    aieb_engine *e;
    const int32_t *tokens;
    int n_tok;
    int pos0;
    int want_logits;
} job;

/* ==== buffers ============================================================= */

static void *alloc_floats(size_t n)
{
    if (n == 0)
        n = 1;
    void *p = NULL;
    if (posix_memalign(&p, 64, n * sizeof(float)) != 0)
        return NULL;
    return p;
}

static void *big_zeroed(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE);
#endif
    /* fault every page in now, so that opening pays for it and not the first request */
    for (size_t i = 0; i < bytes; i += 4096)
        ((volatile char *)p)[i] = 0;
    return p;
}

int forward_alloc(aieb_engine *e, aieb_err *err)
{
    const hparams *hp = &e->m.hp;
    size_t B = (size_t)e->max_batch;
    size_t qd = (size_t)hp->n_heads * hp->head_dim, kvd = (size_t)hp->n_kv_heads * hp->head_dim;
    size_t widest = (size_t)hp->n_embd;
    if (qd > widest)
        widest = qd;
    if ((size_t)hp->n_ff > widest)
        widest = (size_t)hp->n_ff;
    size_t half = (size_t)hp->n_rot / 2;

    e->x = alloc_floats(B * hp->n_embd);
    e->xn = alloc_floats(B * widest);
    e->q = alloc_floats(B * qd);
    e->att_out = alloc_floats(B * qd);
    e->tmp = alloc_floats(B * hp->n_embd);
    e->hb = alloc_floats(B * hp->n_ff);
    e->hb2 = alloc_floats(B * hp->n_ff);
    e->logits = alloc_floats((size_t)hp->n_vocab);
    e->xq.q = (int8_t *)alloc_floats(B * widest / 4 + 16);
    e->xq.d = alloc_floats(B * widest / QK + 16);
    e->xq.s = alloc_floats(B * widest / QK + 16);
    e->xq.nsum = (int32_t *)alloc_floats(B * widest / QK + 16);
    e->xk.q = (int8_t *)alloc_floats(B * widest / 4 + 16);
    e->xk.d = alloc_floats(B * widest / QK_K + 16);
    e->xk.bsum = (int16_t *)alloc_floats(B * widest / 32 + 16);
    e->att = alloc_floats((size_t)e->n_threads * e->n_ctx);
    e->tile_floats = TILE_ROWS * widest;
    e->tile = alloc_floats((size_t)e->n_threads * e->tile_floats);
    e->rope_cos = alloc_floats((size_t)e->n_ctx * half);
    e->rope_sin = alloc_floats((size_t)e->n_ctx * half);
    e->kv_bytes = (size_t)hp->n_layers * e->n_ctx * kvd * sizeof(float);
    e->key_cache = big_zeroed(e->kv_bytes);
    e->value_cache = big_zeroed(e->kv_bytes);
    if (!e->x || !e->xn || !e->q || !e->att_out || !e->tmp || !e->hb || !e->hb2 || !e->logits ||
        !e->xq.q || !e->xq.d || !e->xq.s || !e->xq.nsum || !e->xk.q || !e->xk.d || !e->xk.bsum ||
        !e->att || !e->tile || !e->rope_cos || !e->rope_sin || !e->key_cache || !e->value_cache)
        return aieb_errf(err, AIEB_ENOMEM,
                         "engine: out of memory for activations and a %d-position KV cache "
                         "(%.0f MiB); lower the context length",
                         e->n_ctx, 2.0 * (double)e->kv_bytes / (1 << 20));

    /* RoPE angle of pair i at position p: p * scale * base^(-2i/n_rot) / freq_factor[i]
     * (RoFormer, Su et al. 2021; rope_freqs as Llama 3 GGUF files carry them; scale is
     * 1 / the linear scaling factor, "position interpolation", Chen et al. 2023). */
    for (int p = 0; p < e->n_ctx; p++)
        for (size_t i = 0; i < half; i++) {
            double inv = pow((double)hp->rope_base, -2.0 * (double)i / hp->n_rot);
            if (e->m.rope_freqs)
                inv /= (double)e->m.rope_freqs[i];
            double a = (double)p * (double)hp->rope_scale * inv;
            e->rope_cos[(size_t)p * half + i] = (float)cos(a);
            e->rope_sin[(size_t)p * half + i] = (float)sin(a);
        }
    return 0;
}

void forward_free(aieb_engine *e)
{
    free(e->x);
    free(e->xn);
    free(e->q);
    free(e->att_out);
    free(e->tmp);
    free(e->hb);
    free(e->hb2);
    free(e->logits);
    free(e->xq.q);
    free(e->xq.d);
    free(e->xq.s);
    free(e->xq.nsum);
    free(e->xk.q);
    free(e->xk.d);
    free(e->xk.bsum);
    free(e->att);
    free(e->tile);
    free(e->rope_cos);
    free(e->rope_sin);
    if (e->key_cache)
        munmap(e->key_cache, e->kv_bytes);
    if (e->value_cache)
        munmap(e->value_cache, e->kv_bytes);
}

/* ==== building blocks ====================================================== */

/* out = x / sqrt(mean(x^2) + eps) * w, for token rows [t0, t1) */
static void rmsnorm_rows(const float *x, const float *w, float *out, int n, int t0, int t1,
                         float eps)
{
    for (int t = t0; t < t1; t++) {
        const float *xr = x + (size_t)t * n;
        float *o = out + (size_t)t * n;
        double ss = 0;
        for (int i = 0; i < n; i++)
            ss += (double)xr[i] * xr[i];
        float scale = (float)(1.0 / sqrt(ss / n + (double)eps));
        for (int i = 0; i < n; i++)
            o[i] = xr[i] * scale * w[i];
    }
}

/* The activation forms products with w read: ACT_Q32 (e->xq), ACT_K256 (e->xk), or
 * none (float weights read the float rows). */
enum { ACT_Q32 = 1, ACT_K256 = 2 };

static int act_forms(const wmat *w)
{
    return type_is_kquant(w->type) ? ACT_K256 : type_is_quant(w->type) ? ACT_Q32 : 0;
}

/* Quantizes token rows [t0, t1) of src (n wide) into the forms named (a file mixes
 * types per tensor, so one input may feed both kinds of product). */
static void quantize_rows(aieb_engine *e, const float *src, int n, int t0, int t1, int forms)
{
    for (int t = t0; t < t1; t++) {
        const float *x = src + (size_t)t * n;
        if (forms & ACT_Q32)
            e->k->quantize_act(x, n, e->xq.q + (size_t)t * n, e->xq.d + (size_t)t * (n / QK),
                               e->xq.s + (size_t)t * (n / QK), e->xq.nsum + (size_t)t * (n / QK));
        if (forms & ACT_K256)
            e->k->quantize_act_k(x, n, e->xk.q + (size_t)t * n, e->xk.d + (size_t)t * (n / QK_K),
                                 e->xk.bsum + (size_t)t * (n / 16));
    }
}

/* Rows [r0, r1) of y = W x for n_tok tokens; x is float rows (ld = W's cols), already
 * quantized into e->xq when W is quantized. */
static void matmul(aieb_engine *e, int ith, const wmat *w, int r0, int r1, const float *x,
                   int n_tok, float *y, int ldy)
{
    if (r0 >= r1)
        return;
    int kt = kt_index(w->type);
    int cols = w->cols;
    sgemm_fn sgemm = e->blas.sgemm;
    if (sgemm && n_tok >= BLAS_MIN_BATCH && !type_is_quant(w->type) &&
        !(e->k->no_blas & (1u << kt))) {
        if (w->type == AIEB_GGML_F32) {
            sgemm(BLAS_ROW_MAJOR, BLAS_NO_TRANS, BLAS_TRANS, n_tok, r1 - r0, cols, 1.0f, x, cols,
                  (const float *)(const void *)(w->data + (size_t)r0 * w->row_bytes), cols, 0.0f,
                  y + r0, ldy);
            return;
        }
        /* F16/BF16: convert a tile of rows to float once, use it for every token */
        float *tile = e->tile + (size_t)ith * e->tile_floats;
        for (int r = r0; r < r1; r += TILE_ROWS) {
            int nr = r1 - r < TILE_ROWS ? r1 - r : TILE_ROWS;
            for (int i = 0; i < nr; i++)
                e->k->to_f32(w->type, w->data + (size_t)(r + i) * w->row_bytes,
                             tile + (size_t)i * cols, cols);
            sgemm(BLAS_ROW_MAJOR, BLAS_NO_TRANS, BLAS_TRANS, n_tok, nr, cols, 1.0f, x, cols, tile,
                  cols, 0.0f, y + r, ldy);
        }
        return;
    }
    act a = {.f = x,
             .ldf = cols,
             .q = e->xq,
             .k = e->xk,
             .scratch = e->tile + (size_t)ith * e->tile_floats,
             .scratch_bytes = e->tile_floats * sizeof(float)};
    e->k->mm[kt](w, r0, r1, &a, n_tok, y, ldy);
}

static void rope(float *v, int n_rot, int neox, const float *c, const float *s)
{
    int half = n_rot / 2;
    if (neox) { /* GPT-NeoX style: pair (i, i + half) */
        for (int i = 0; i < half; i++) {
            float a = v[i], b = v[i + half];
            v[i] = a * c[i] - b * s[i];
            v[i + half] = a * s[i] + b * c[i];
        }
    } else { /* pair (2i, 2i + 1), as GGUF's llama rows are permuted for */
        for (int i = 0; i < half; i++) {
            float a = v[2 * i], b = v[2 * i + 1];
            v[2 * i] = a * c[i] - b * s[i];
            v[2 * i + 1] = a * s[i] + b * c[i];
        }
    }
}

/* q, k, v for this thread's heads: the n_heads + 2 * n_kv_heads heads are shared out
 * whole; k and v go straight into the cache at their positions. */
static void qkv_step(const job *j, int l, int ith, int nth)
{
    aieb_engine *e = j->e;
    const hparams *hp = &e->m.hp;
    const layer_w *L = &e->m.layers[l];
    int hd = hp->head_dim, nh = hp->n_heads, nkv = hp->n_kv_heads;
    int qd = nh * hd, kvd = nkv * hd, B = j->n_tok;
    size_t half = (size_t)hp->n_rot / 2;
    float *kc = e->key_cache + ((size_t)l * e->n_ctx + j->pos0) * kvd;
    float *vc = e->value_cache + ((size_t)l * e->n_ctx + j->pos0) * kvd;
    int u0, u1;
    pool_share(nh + 2 * nkv, 1, ith, nth, &u0, &u1);

    struct {
        const wmat *w;
        const float *bias, *norm;
        float *y;
        int ld, h0, h1, rot;
    } part[3] = {
        {&L->wq, L->bq, L->q_norm, e->q, qd, 0, nh, 1},
        {&L->wk, L->bk, L->k_norm, kc, kvd, nh, nh + nkv, 1},
        {&L->wv, L->bv, NULL, vc, kvd, nh + nkv, nh + 2 * nkv, 0},
    };
    for (int p = 0; p < 3; p++) {
        int h0 = u0 > part[p].h0 ? u0 : part[p].h0, h1 = u1 < part[p].h1 ? u1 : part[p].h1;
        if (h0 >= h1)
            continue;
        int r0 = (h0 - part[p].h0) * hd, r1 = (h1 - part[p].h0) * hd;
        matmul(e, ith, part[p].w, r0, r1, e->xn, B, part[p].y, part[p].ld);
        for (int t = 0; t < B; t++) {
            float *yt = part[p].y + (size_t)t * part[p].ld;
            if (part[p].bias)
                for (int r = r0; r < r1; r++)
                    yt[r] += part[p].bias[r];
            if (part[p].norm) /* in place: the sum of squares is taken before writing */
                for (int r = r0; r < r1; r += hd)
                    rmsnorm_rows(yt + r, part[p].norm, yt + r, hd, 0, 1, hp->norm_eps);
            if (!part[p].rot)
                continue;
            const float *c = e->rope_cos + (size_t)(j->pos0 + t) * half;
            const float *s = e->rope_sin + (size_t)(j->pos0 + t) * half;
            for (int r = r0; r < r1; r += hd)
                rope(yt + r, hp->n_rot, hp->rope_neox, c, s);
        }
    }
}

/* Causal attention for (token, head) items, dealt round-robin (later tokens see more
 * positions, so interleaving balances the work). */
static void attention_step(const job *j, int l, int ith, int nth)
{
    aieb_engine *e = j->e;
    const hparams *hp = &e->m.hp;
    int hd = hp->head_dim, nh = hp->n_heads, nkv = hp->n_kv_heads;
    int qd = nh * hd, kvd = nkv * hd, group = nh / nkv;
    const float *kc = e->key_cache + (size_t)l * e->n_ctx * kvd;
    const float *vc = e->value_cache + (size_t)l * e->n_ctx * kvd;
    float *att = e->att + (size_t)ith * e->n_ctx;
    float scale = 1.0f / sqrtf((float)hd);
    for (int item = ith; item < j->n_tok * nh; item += nth) {
        int t = item / nh, h = item % nh, kvh = h / group;
        int n_pos = j->pos0 + t + 1;
        const float *qh = e->q + (size_t)t * qd + (size_t)h * hd;
        e->k->scores(qh, kc + (size_t)kvh * hd, (size_t)kvd, n_pos, hd, scale, att);
        float vmax = -INFINITY;
        for (int p = 0; p < n_pos; p++)
            vmax = fmaxf(vmax, att[p]);
        float sum = 0;
        for (int p = 0; p < n_pos; p++) {
            att[p] = expf(att[p] - vmax);
            sum += att[p];
        }
        float inv = 1.0f / sum;
        for (int p = 0; p < n_pos; p++)
            att[p] *= inv;
        e->k->mix(att, vc + (size_t)kvh * hd, (size_t)kvd, n_pos, hd,
                  e->att_out + (size_t)t * qd + (size_t)h * hd);
    }
}

/* x += W in for this thread's rows of W (in already quantized when W is). */
static void residual_matmul(const job *j, const wmat *w, const float *in, int ith, int nth)
{
    aieb_engine *e = j->e;
    int n = e->m.hp.n_embd, r0, r1;
    pool_share(n, ROW_UNIT, ith, nth, &r0, &r1);
    matmul(e, ith, w, r0, r1, in, j->n_tok, e->tmp, n);
    for (int t = 0; t < j->n_tok; t++)
        for (int r = r0; r < r1; r++)
            e->x[(size_t)t * n + r] += e->tmp[(size_t)t * n + r];
}

/* Token rows [t0, t1) of this thread for row-wise steps (norms, quantization). */
static void token_share(const job *j, int ith, int nth, int *t0, int *t1)
{
    pool_share(j->n_tok, 1, ith, nth, t0, t1);
}

/* ==== the pass ============================================================= */

static void forward_job(void *arg, int ith, int nth)
{
    const job *j = arg;
    aieb_engine *e = j->e;
    const model *m = &e->m;
    const hparams *hp = &m->hp;
    int D = hp->n_embd, B = j->n_tok, qd = hp->n_heads * hp->head_dim, ff = hp->n_ff;
    int t0, t1;
    token_share(j, ith, nth, &t0, &t1);

    for (int t = t0; t < t1; t++)
        e->k->to_f32(m->tok_embd.type,
                     m->tok_embd.data + (size_t)j->tokens[t] * m->tok_embd.row_bytes,
                     e->x + (size_t)t * D, D);

    for (int l = 0; l < hp->n_layers; l++) {
        const layer_w *L = &m->layers[l];
        rmsnorm_rows(e->x, L->attn_norm, e->xn, D, t0, t1, hp->norm_eps);
        /* a file mixes types per tensor: quantize into what the readers of xn want */
        int forms = act_forms(&L->wq) | act_forms(&L->wk) | act_forms(&L->wv);
        if (forms)
            quantize_rows(e, e->xn, D, t0, t1, forms);
        pool_barrier(e->pool);

        qkv_step(j, l, ith, nth);
        pool_barrier(e->pool);

        attention_step(j, l, ith, nth);
        pool_barrier(e->pool);

        if (act_forms(&L->wo)) {
            quantize_rows(e, e->att_out, qd, t0, t1, act_forms(&L->wo));
            pool_barrier(e->pool);
        }
        residual_matmul(j, &L->wo, e->att_out, ith, nth);
        pool_barrier(e->pool);

        rmsnorm_rows(e->x, L->ffn_norm, e->xn, D, t0, t1, hp->norm_eps);
        forms = act_forms(&L->w_gate) | act_forms(&L->w_up);
        if (forms)
            quantize_rows(e, e->xn, D, t0, t1, forms);
        pool_barrier(e->pool);

        int r0, r1;
        pool_share(ff, ROW_UNIT, ith, nth, &r0, &r1);
        matmul(e, ith, &L->w_gate, r0, r1, e->xn, B, e->hb, ff);
        matmul(e, ith, &L->w_up, r0, r1, e->xn, B, e->hb2, ff);
        for (int t = 0; t < B; t++) {
            float *g = e->hb + (size_t)t * ff, *u = e->hb2 + (size_t)t * ff;
            for (int r = r0; r < r1; r++)
                g[r] = g[r] / (1.0f + expf(-g[r])) * u[r]; /* silu(g) * u */
        }
        pool_barrier(e->pool);

        if (act_forms(&L->w_down)) {
            quantize_rows(e, e->hb, ff, t0, t1, act_forms(&L->w_down));
            pool_barrier(e->pool);
        }
        residual_matmul(j, &L->w_down, e->hb, ith, nth);
        pool_barrier(e->pool);
    }

    if (!j->want_logits)
        return;
    if (ith == 0) {
        rmsnorm_rows(e->x + (size_t)(B - 1) * D, m->output_norm, e->xn, D, 0, 1, hp->norm_eps);
        if (act_forms(&m->output))
            quantize_rows(e, e->xn, D, 0, 1, act_forms(&m->output));
    }
    pool_barrier(e->pool);
    int r0, r1;
    pool_share(hp->n_vocab, ROW_UNIT, ith, nth, &r0, &r1);
    matmul(e, ith, &m->output, r0, r1, e->xn, 1, e->logits, hp->n_vocab);
}

void forward(aieb_engine *e, const int32_t *tokens, int n_tok, int want_logits)
{
    job j = {e, tokens, n_tok, e->n_past, want_logits};
    pool_run(e->pool, forward_job, &j);
    if (want_logits)
        e->have_logits = 1;
}
