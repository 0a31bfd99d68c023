/* test_engine.c - the engine in-process on tiny random models: loading and its errors,
 * every kernel set against the scalar one, batch vs one-by-one prefill, threads,
 * generation controls, KV reset, synthetic model specs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aieb/buf.h"
#include "aieb/engine.h"
#include "engine/kernels.h"
#include "test_engine_model.h"

static char dir[64];

static const char *model_path(const char *name)
{
    static char p[256];
    snprintf(p, sizeof p, "%s/%s.gguf", dir, name);
    return p;
}

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/aieb-engine-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static double rel_err(const float *a, const float *b, int n)
{
    double num = 0, den = 0;
    for (int i = 0; i < n; i++) {
        num = fmax(num, fabs((double)a[i] - b[i]));
        den = fmax(den, fabs((double)b[i]));
    }
    return den > 0 ? num / den : num;
}

static aieb_engine *open_tiny(const char *path, aieb_kernels k, int threads, int blas, int batch)
{
    aieb_engine_opts o;
    aieb_engine_opts_init(&o);
    o.kernels = k;
    o.threads = threads;
    o.use_blas = blas;
    o.max_batch = batch;
    aieb_engine *e = NULL;
    aieb_err err = {0};
    int rc = aieb_engine_open(path, &o, &e, &err);
    if (rc)
        fail_msg("open %s: %s", path, err.msg);
    return e;
}

/* logits at the last of n prompt ids */
static float *prompt_logits(aieb_engine *e, const int32_t *ids, size_t n)
{
    aieb_sample_params p;
    aieb_sample_params_init(&p);
    p.max_new_tokens = 0;
    aieb_err err = {0};
    aieb_engine_reset(e);
    assert_int_equal(aieb_engine_generate(e, ids, n, &p, NULL, NULL, NULL, &err), 0);
    aieb_model_info info;
    aieb_engine_info(e, &info);
    float *out = malloc((size_t)info.n_vocab * sizeof *out);
    memcpy(out, aieb_engine_logits(e), (size_t)info.n_vocab * sizeof *out);
    return out;
}

static const int32_t prompt[] = {5, 17, 42, 299, 0, 1, 2, 100, 7, 8, 9, 250, 33};
#define N_PROMPT (sizeof prompt / sizeof prompt[0])

/* ==== paths through the forward pass agree ================================ */

static void paths_agree(void **state)
{
    cpu_features f;
    cpu_detect(&f);
    const uint32_t types[] = {AIEB_GGML_F32, AIEB_GGML_F16, AIEB_GGML_BF16, AIEB_GGML_Q8_0,
                              AIEB_GGML_Q4_0};
    const char *archs[] = {"llama", "qwen2"};
    for (int ai = 0; ai < 2; ai++)
        for (size_t ti = 0; ti < 5; ti++) {
            tiny_cfg c;
            tiny_defaults(&c, archs[ai], types[ti], ai == 0);
            c.rope_freqs = ai == 0;
            char name[64];
            snprintf(name, sizeof name, "%s-%s", archs[ai], aieb_ggml_type_name(types[ti]));
            assert_int_equal(tiny_write(&c, model_path(name)), 0);
            int quant = types[ti] == AIEB_GGML_Q8_0 || types[ti] == AIEB_GGML_Q4_0;

            aieb_engine *ref = open_tiny(model_path(name), AIEB_KERNELS_SCALAR, 1, 0, 1);
            float *base = prompt_logits(ref, prompt, N_PROMPT);
            aieb_model_info info;
            aieb_engine_info(ref, &info);
            assert_int_equal(info.n_vocab, 300);
            assert_string_equal(info.arch, archs[ai]);
            assert_string_equal(info.weight_type, aieb_ggml_type_name(types[ti]));
            aieb_engine_close(ref);

            struct {
                aieb_kernels k;
                int threads, blas, batch, need;
            } v[] = {
                {AIEB_KERNELS_SCALAR, 2, 0, 0, 1}, /* batched, two threads */
                {AIEB_KERNELS_SCALAR, 1, 1, 0, 1}, /* sgemm for float types */
                {AIEB_KERNELS_AVX2, 2, 0, 0, f.avx2_fma_f16c},
                {AIEB_KERNELS_AVX2, 1, 0, 1, f.avx2_fma_f16c},
                {AIEB_KERNELS_AVX512, 2, 0, 4, f.avx512},
                {AIEB_KERNELS_AUTO, 3, 1, 5, 1},
            };
            for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
                if (!v[k].need)
                    continue;
                aieb_engine *e =
                    open_tiny(model_path(name), v[k].k, v[k].threads, v[k].blas, v[k].batch);
                float *lg = prompt_logits(e, prompt, N_PROMPT);
                double re = rel_err(lg, base, 300);
                /* float paths only reassociate sums; in int8 paths such a difference
                 * can also move an activation across a rounding step (1/127 of its
                 * block's largest value), which later layers carry along */
                double tol = quant ? 1e-2 : 2e-5;
                if (re > tol)
                    fail_msg("%s variant %zu: relative error %g > %g", name, k, re, tol);
                free(lg);
                aieb_engine_close(e);
            }
            free(base);
        }
}

/* ==== kernels one by one =================================================== */

static void fill(float *v, size_t n, uint64_t seed, float amp)
{
    for (size_t i = 0; i < n; i++)
        v[i] = amp * tiny_uniform(&seed);
}

static void kernels_match_scalar(void **state)
{
    cpu_features f;
    cpu_detect(&f);
    const kernels *sets[3] = {NULL, NULL, NULL};
    if (f.avx2_fma_f16c)
        sets[0] = &kernels_avx2;
    if (f.avx512)
        sets[1] = &kernels_avx512;
    if (f.avx512 && f.avx512_vnni)
        sets[2] = &kernels_avx512_vnni;
    const uint32_t types[] = {AIEB_GGML_F32,    AIEB_GGML_F16,  AIEB_GGML_BF16,  AIEB_GGML_Q8_0,
                              AIEB_GGML_Q4_0,   AIEB_GGML_Q4_1, AIEB_GGML_Q5_0,  AIEB_GGML_Q5_1,
                              AIEB_GGML_IQ4_NL, AIEB_GGML_Q2_K, AIEB_GGML_Q3_K,  AIEB_GGML_Q4_K,
                              AIEB_GGML_Q5_K,   AIEB_GGML_Q6_K, AIEB_GGML_IQ4_XS};
    const size_t n_types = sizeof types / sizeof types[0];
    /* 288 and 320: blocks of 32 past a unit of 256; 512: two super-blocks */
    const int shapes[][2] = {{7, 64}, {13, 96}, {4, 37}, {9, 160}, {6, 288}, {5, 512}, {11, 320}};
    const size_t n_shapes = sizeof shapes / sizeof shapes[0];
    for (size_t si = 0; si < 3; si++) {
        if (!sets[si])
            continue;
        const kernels *K = sets[si];
        for (size_t ti = 0; ti < n_types; ti++)
            for (size_t sh = 0; sh < n_shapes; sh++) {
                int rows = shapes[sh][0], cols = shapes[sh][1],
                    n_tok = 9; /* 4- and 8-token tiles and one more */
                int quant = type_is_quant(types[ti]);
                uint32_t be = 1, bb = 1;
                aieb_ggml_type_size(types[ti], &be, &bb);
                if (cols % (int)be)
                    continue;
                float *wf = malloc((size_t)rows * cols * sizeof *wf);
                float *x = malloc((size_t)n_tok * cols * sizeof *x);
                fill(wf, (size_t)rows * cols, 11 + sh, 0.5f);
                fill(x, (size_t)n_tok * cols, 23 + sh, 2.0f);
                size_t rb = row_bytes(types[ti], cols);
                uint8_t *wq = malloc(rb * rows);
                for (int r = 0; r < rows; r++)
                    quantize_row(types[ti], wf + (size_t)r * cols, wq + rb * r, cols);
                wmat w = {types[ti], rows, cols, rb, wq};
                int8_t *q = malloc((size_t)n_tok * cols);
                float *d = malloc((size_t)n_tok * cols / 32 * sizeof *d + 4);
                float *s = malloc((size_t)n_tok * cols / 32 * sizeof *s + 4);
                int8_t *q2 = malloc((size_t)n_tok * cols);
                float *d2 = malloc((size_t)n_tok * cols / 32 * sizeof *d + 4);
                float *s2 = malloc((size_t)n_tok * cols / 32 * sizeof *s + 4);
                int32_t *ns = malloc((size_t)n_tok * cols / 32 * sizeof *ns + 4);
                int32_t *ns2 = malloc((size_t)n_tok * cols / 32 * sizeof *ns + 4);
                if (quant)
                    for (int t = 0; t < n_tok; t++) {
                        kernels_scalar.quantize_act(x + t * cols, cols, q + t * cols,
                                                    d + t * cols / 32, s + t * cols / 32,
                                                    ns + t * cols / 32);
                        K->quantize_act(x + t * cols, cols, q2 + t * cols, d2 + t * cols / 32,
                                        s2 + t * cols / 32, ns2 + t * cols / 32);
                        assert_memory_equal(ns + t * cols / 32, ns2 + t * cols / 32,
                                            cols / 32 * sizeof *ns);
                        /* the same rounding: identical quantized activations */
                        assert_memory_equal(q + t * cols, q2 + t * cols, (size_t)cols);
                        assert_memory_equal(d + t * cols / 32, d2 + t * cols / 32,
                                            cols / 32 * sizeof *d);
                        for (int b = 0; b < cols / 32; b++)
                            assert_float_equal(s[t * cols / 32 + b], s2[t * cols / 32 + b], 1e-5);
                    }
                /* per 256 for the K-quant types: the same values from both quantizers */
                int8_t *kq = malloc((size_t)n_tok * cols), *kq2 = malloc((size_t)n_tok * cols);
                float *kd = malloc((size_t)n_tok * cols / 256 * sizeof *kd + 4);
                float *kd2 = malloc((size_t)n_tok * cols / 256 * sizeof *kd + 4);
                int16_t *kb = malloc((size_t)n_tok * cols / 16 * sizeof *kb + 4);
                int16_t *kb2 = malloc((size_t)n_tok * cols / 16 * sizeof *kb + 4);
                if (type_is_kquant(types[ti])) {
                    kernels_scalar.quantize_act_k(x, n_tok * cols, kq, kd, kb);
                    K->quantize_act_k(x, n_tok * cols, kq2, kd2, kb2);
                    assert_memory_equal(kq, kq2, (size_t)n_tok * cols);
                    assert_memory_equal(kd, kd2, (size_t)n_tok * cols / 256 * sizeof *kd);
                    assert_memory_equal(kb, kb2, (size_t)n_tok * cols / 16 * sizeof *kb);
                }
                act a = {.f = x, .ldf = cols, .q = {q, d, s, ns}, .k = {kq, kd, kb}};
                float y1[9 * 16], y2[9 * 16];
                int ldy = 16;
                memset(y1, 0, sizeof y1);
                memset(y2, 0, sizeof y2);
                /* rows [1, rows) so a product that starts off the first row is covered */
                kernels_scalar.mm[kt_index(types[ti])](&w, 1, rows, &a, n_tok, y1, ldy);
                K->mm[kt_index(types[ti])](&w, 1, rows, &a, n_tok, y2, ldy);
                for (int t = 0; t < n_tok; t++) {
                    assert_true(y2[t * ldy] == 0); /* row 0 untouched */
                    for (int r = 1; r < rows; r++) {
                        double want = y1[t * ldy + r], got = y2[t * ldy + r];
                        if (fabs(want - got) > 1e-4 * (1 + fabs(want)))
                            fail_msg("%s %s %dx%d t%d r%d: %g vs scalar %g", K->name,
                                     aieb_ggml_type_name(types[ti]), rows, cols, t, r, got, want);
                    }
                }
                /* dot, axpy, to_f32 */
                assert_float_equal(K->dot(x, x + cols, cols), kernels_scalar.dot(x, x + cols, cols),
                                   1e-3);
                float ya[512], yb[512];
                memcpy(ya, x, (size_t)cols * 4);
                memcpy(yb, x, (size_t)cols * 4);
                K->axpy(0.5f, x + cols, ya, cols);
                kernels_scalar.axpy(0.5f, x + cols, yb, cols);
                for (int i = 0; i < cols; i++)
                    assert_float_equal(ya[i], yb[i], 1e-5);
                /* attention rows: 64-wide heads (the fast path) and others */
                for (int hd = 40; hd <= 64; hd += 24) {
                    float kv[1400], sa[13], sb[13], oa[64], ob[64];
                    fill(kv, 1400, 77, 1.0f);
                    K->scores(kv, kv + 7, 100, 13, hd, 0.125f, sa);
                    kernels_scalar.scores(kv, kv + 7, 100, 13, hd, 0.125f, sb);
                    for (int p = 0; p < 13; p++)
                        assert_float_equal(sa[p], sb[p], 1e-4 * (1 + fabsf(sb[p])));
                    K->mix(kv + 3, kv + 11, 90, 13, hd, oa);
                    kernels_scalar.mix(kv + 3, kv + 11, 90, 13, hd, ob);
                    for (int i = 0; i < hd; i++)
                        assert_float_equal(oa[i], ob[i], 1e-4 * (1 + fabsf(ob[i])));
                }
                K->to_f32(types[ti], wq, ya, cols);
                kernels_scalar.to_f32(types[ti], wq, yb, cols);
                assert_memory_equal(ya, yb, (size_t)cols * 4);
                free(wf);
                free(x);
                free(wq);
                free(q);
                free(d);
                free(s);
                free(q2);
                free(d2);
                free(s2);
                free(ns);
                free(ns2);
                free(kq);
                free(kq2);
                free(kd);
                free(kd2);
                free(kb);
                free(kb2);
            }
    }
}

/* ==== number formats ======================================================= */

static void formats(void **state)
{
    /* every half converts to float and back unchanged (NaNs stay NaN) */
    for (uint32_t h = 0; h < 65536; h++) {
        float v = fp16_to_f32((uint16_t)h);
        if (isnan(v)) {
            assert_true(isnan(fp16_to_f32(f32_to_fp16(v))));
            continue;
        }
        assert_int_equal(f32_to_fp16(v), h);
    }
    assert_int_equal(f32_to_fp16(65504.0f), 0x7bff);
    assert_int_equal(f32_to_fp16(65520.0f), 0x7c00);        /* rounds to inf */
    assert_int_equal(f32_to_fp16(1.0f + 0x1p-11f), 0x3c00); /* tie to even */
    assert_int_equal(f32_to_fp16(1.0f + 3 * 0x1p-11f), 0x3c02);
    assert_int_equal(f32_to_fp16(0x1p-25f), 0); /* tie below the least subnormal */
    assert_int_equal(f32_to_fp16(0x1.8p-25f), 1);
    assert_true(bf16_to_f32(f32_to_bf16(1.5f)) == 1.5f);
    assert_int_equal(f32_to_bf16(1.0f + 0x1p-8f), 0x3f80); /* tie to even */
    assert_int_equal(f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);

    /* Q4_0 layout: low nibbles are elements 0..15, high nibbles 16..31, value (q-8)*d */
    blk_q4_0 b4;
    b4.d = f32_to_fp16(0.5f);
    for (int j = 0; j < 16; j++)
        b4.qs[j] = (uint8_t)(j | (15 - j) << 4);
    float out[32];
    dequantize_row(AIEB_GGML_Q4_0, &b4, out, 32);
    for (int j = 0; j < 16; j++) {
        assert_true(out[j] == 0.5f * (j - 8));
        assert_true(out[j + 16] == 0.5f * (7 - j));
    }
    blk_q8_0 b8;
    b8.d = f32_to_fp16(0.25f);
    for (int j = 0; j < 32; j++)
        b8.qs[j] = (int8_t)(j - 16);
    dequantize_row(AIEB_GGML_Q8_0, &b8, out, 32);
    for (int j = 0; j < 32; j++)
        assert_true(out[j] == 0.25f * (j - 16));
    /* quantizing then dequantizing stays within half a step */
    float v[64], back[64];
    fill(v, 64, 5, 1.0f);
    uint8_t buf[2 * sizeof(blk_q8_0)];
    quantize_row(AIEB_GGML_Q8_0, v, buf, 64);
    dequantize_row(AIEB_GGML_Q8_0, buf, back, 64);
    for (int i = 0; i < 64; i++)
        assert_true(fabsf(back[i] - v[i]) <= 1.0f / 127 * 0.51f + 1e-3f);
    quantize_row(AIEB_GGML_Q4_0, v, buf, 64);
    dequantize_row(AIEB_GGML_Q4_0, buf, back, 64);
    /* half a step, or a whole one for a value clamped at the far end (q = 15) */
    for (int i = 0; i < 64; i++)
        assert_true(fabsf(back[i] - v[i]) <= 1.0f / 8 + 1e-2f);
}

/* ==== generation controls ================================================== */

typedef struct collect {
    int32_t ids[64];
    int64_t t[64];
    int n, stop_after;
} collect;

static int on_tok(void *user, int32_t id, int64_t t_ns)
{
    collect *c = user;
    c->ids[c->n] = id;
    c->t[c->n] = t_ns;
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

/* A vocabulary of 300 plain pieces "t0".."t299" for c (names: their storage). */
static void plain_vocab(tiny_cfg *c, const char **toks, char (*names)[16])
{
    for (int i = 0; i < 300; i++) {
        snprintf(names[i], sizeof names[i], "t%d", i);
        toks[i] = names[i];
    }
    c->tokens = toks;
    c->n_tokens = 300;
}

/* Writes c as name and collects its first n greedy tokens after the test prompt. */
static void first_greedy(const tiny_cfg *c, const char *name, int n, collect *out)
{
    assert_int_equal(tiny_write(c, model_path(name)), 0);
    aieb_engine *e = open_tiny(model_path(name), AIEB_KERNELS_AUTO, 1, 1, 0);
    aieb_sample_params p;
    aieb_sample_params_init(&p);
    p.max_new_tokens = n;
    aieb_err err = {0};
    aieb_gen_stats st;
    assert_int_equal(aieb_engine_generate(e, prompt, N_PROMPT, &p, on_tok, out, &st, &err), 0);
    assert_int_equal(out->n, n);
    aieb_engine_close(e);
}

static void generation(void **state)
{
    tiny_cfg c;
    tiny_defaults(&c, "llama", AIEB_GGML_F32, 1);
    const char *toks[300];
    char names[300][16];
    plain_vocab(&c, toks, names);
    toks[0] = "<unk>";
    toks[1] = "<s>";
    toks[2] = "</s>";
    assert_int_equal(tiny_write(&c, model_path("gen")), 0);
    aieb_engine *e = open_tiny(model_path("gen"), AIEB_KERNELS_AUTO, 2, 1, 4);
    aieb_model_info info;
    aieb_engine_info(e, &info);
    assert_int_equal(info.eos_id, 2);
    assert_int_equal(info.context_length, 128);
    assert_string_equal(info.tokenizer, "llama");

    aieb_sample_params p;
    aieb_sample_params_init(&p);
    p.max_new_tokens = 20;
    p.ignore_eos = 1;
    aieb_gen_stats st;
    aieb_err err = {0};
    collect a = {0}, b = {0};
    assert_int_equal(aieb_engine_generate(e, prompt, N_PROMPT, &p, on_tok, &a, &st, &err), 0);
    assert_int_equal(a.n, 20);
    assert_int_equal(st.completion_tokens, 20);
    assert_int_equal(st.prompt_tokens, N_PROMPT);
    assert_int_equal(st.stop, AIEB_STOP_LENGTH);
    assert_true(st.start_ns <= st.prefill_end_ns && st.prefill_end_ns <= a.t[0]);
    assert_true(a.t[19] <= st.done_ns);
    for (int i = 0; i < 20; i++)
        assert_int_not_equal(a.ids[i], 2); /* EOS suppressed */
    assert_int_equal(aieb_engine_position(e), (int)N_PROMPT + 19);
    /* greedy after a reset repeats itself exactly */
    aieb_engine_reset(e);
    assert_int_equal(aieb_engine_position(e), 0);
    assert_null(aieb_engine_logits(e));
    assert_int_equal(aieb_engine_generate(e, prompt, N_PROMPT, &p, on_tok, &b, &st, &err), 0);
    assert_memory_equal(a.ids, b.ids, sizeof(int32_t) * 20);

    /* sampling: the same seed repeats, another seed differs */
    p.temperature = 1.5f;
    p.seed = 7;
    collect s1 = {0}, s2 = {0}, s3 = {0};
    aieb_engine_reset(e);
    assert_int_equal(aieb_engine_generate(e, prompt, N_PROMPT, &p, on_tok, &s1, &st, &err), 0);
    aieb_engine_reset(e);
    assert_int_equal(aieb_engine_generate(e, prompt, N_PROMPT, &p, on_tok, &s2, &st, &err), 0);
    p.seed = 8;
    aieb_engine_reset(e);
    assert_int_equal(aieb_engine_generate(e, prompt, N_PROMPT, &p, on_tok, &s3, &st, &err), 0);
    assert_memory_equal(s1.ids, s2.ids, sizeof(int32_t) * 20);
    assert_memory_not_equal(s1.ids, s3.ids, sizeof(int32_t) * 20);

    /* the callback stops it */
    collect stop = {.stop_after = 3};
    aieb_engine_reset(e);
    assert_int_equal(aieb_engine_generate(e, prompt, N_PROMPT, &p, on_tok, &stop, &st, &err), 0);
    assert_int_equal(stop.n, 3);
    assert_int_equal(st.stop, AIEB_STOP_CALLBACK);

    /* the context runs out: 128 positions */
    p.max_new_tokens = 500;
    collect full = {.stop_after = 0};
    int32_t long_prompt[120];
    for (int i = 0; i < 120; i++)
        long_prompt[i] = 3 + i;
    aieb_engine_reset(e);
    assert_int_equal(aieb_engine_generate(e, long_prompt, 120, &p, on_tok, &full, &st, &err), 0);
    assert_int_equal(st.stop, AIEB_STOP_CONTEXT);
    assert_int_equal(full.n, 9); /* 8 more positions + the token sampled at the end */
    /* errors leave the cache as it was */
    int pos = aieb_engine_position(e);
    assert_int_equal(aieb_engine_generate(e, prompt, N_PROMPT, &p, NULL, NULL, &st, &err),
                     AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "does not fit"));
    assert_int_equal(aieb_engine_position(e), pos);
    aieb_engine_reset(e);
    int32_t bad[] = {1, 300};
    assert_int_equal(aieb_engine_generate(e, bad, 2, &p, NULL, NULL, &st, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "prompt token 1 is id 300"));
    assert_int_equal(aieb_engine_generate(e, bad, 0, &p, NULL, NULL, &st, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "empty"));
    assert_int_equal(aieb_engine_position(e), 0);

    /* a prompt processed in two calls equals one call */
    p.max_new_tokens = 0;
    float *whole = prompt_logits(e, prompt, N_PROMPT);
    aieb_engine_reset(e);
    assert_int_equal(aieb_engine_generate(e, prompt, 6, &p, NULL, NULL, &st, &err), 0);
    assert_int_equal(aieb_engine_generate(e, prompt + 6, N_PROMPT - 6, &p, NULL, NULL, &st, &err),
                     0);
    assert_true(rel_err(aieb_engine_logits(e), whole, 300) < 1e-5);
    free(whole);

    /* text in, text out */
    int32_t ids[16];
    size_t n;
    assert_int_equal(aieb_engine_tokenize(e, "t5t7", 1, ids, 16, &n, &err), 0);
    /* <s>, then "▁" has no token and no <0xNN> pieces: its 3 bytes become <unk> */
    int32_t want[] = {1, 0, 0, 0, 5, 7};
    assert_int_equal(n, 6);
    assert_memory_equal(ids, want, sizeof want);
    aieb_buf text;
    aieb_buf_init(&text, 0);
    int32_t back[] = {1, 5, 7, 299, 2, 400};
    assert_int_equal(aieb_engine_detokenize(e, back, 6, &text), 0);
    /* without token types <s> is plain text; </s> is one of the end-of-turn texts the
     * reference tokenizer always treats as control (no text); 400 is out of range */
    assert_string_equal(text.data, "<s>t5t7t299");
    aieb_buf_free(&text);
    aieb_engine_close(e);
}

/* A byte-level BPE (gpt2) vocabulary: text prompts work, as does a vocabulary-only
 * open of the same file (which cannot generate). */
static void gpt2_text_prompt(void **state)
{
    /* ids 0..255: GPT-2's characters of bytes 0..255 (printable ASCII is itself; the
     * space is U+0120), then merged pieces */
    static char chars[256][3];
    const char *toks[300];
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
        int cp = b;
        if (!printable) {
            cp = 256;
            for (int x = 0; x < b; x++)
                cp += !((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174);
        }
        if (cp < 0x80) {
            chars[b][0] = (char)cp;
        } else {
            chars[b][0] = (char)(0xc0 | (cp >> 6));
            chars[b][1] = (char)(0x80 | (cp & 0x3f));
        }
        toks[b] = chars[b];
    }
    static const char *const extra[] = {"He", "ll",          "llo", "Hello",        "\xc4\xa0w",
                                        "or", "\xc4\xa0wor", "ld",  "\xc4\xa0world"};
    static const char *const merges[] = {"H e",          "l l",        "ll o",
                                         "He llo",       "\xc4\xa0 w", "o r",
                                         "\xc4\xa0w or", "l d",        "\xc4\xa0wor ld"};
    for (int i = 0; i < 9; i++)
        toks[256 + i] = extra[i];
    for (int i = 265; i < 300; i++)
        toks[i] = chars[0]; /* fillers (duplicates of the NUL piece) */
    tiny_cfg c;
    tiny_defaults(&c, "qwen2", AIEB_GGML_F32, 1);
    c.tokens = toks;
    c.n_tokens = 300;
    c.tok_model = "gpt2";
    c.tok_pre = "qwen2";
    c.merges = merges;
    c.n_merges = 9;
    c.eos_id = 299;
    assert_int_equal(tiny_write(&c, model_path("gpt2")), 0);
    aieb_engine *e = open_tiny(model_path("gpt2"), AIEB_KERNELS_AUTO, 1, 0, 0);
    aieb_model_info mi;
    aieb_engine_info(e, &mi);
    assert_string_equal(mi.tokenizer, "gpt2");
    assert_string_equal(mi.tokenizer_pre, "qwen2");
    int32_t ids[16];
    size_t n;
    aieb_err err = {0};
    assert_int_equal(aieb_engine_tokenize(e, "Hello world", 1, ids, 16, &n, &err), 0);
    int32_t want[] = {259, 264}; /* no BOS: the file does not ask for one */
    assert_int_equal(n, 2);
    assert_memory_equal(ids, want, sizeof want);
    aieb_sample_params p;
    aieb_sample_params_init(&p);
    p.max_new_tokens = 3;
    p.ignore_eos = 1;
    aieb_gen_stats st;
    assert_int_equal(aieb_engine_generate(e, ids, n, &p, NULL, NULL, &st, &err), 0);
    assert_int_equal(st.completion_tokens, 3);
    aieb_buf text;
    aieb_buf_init(&text, 0);
    assert_int_equal(aieb_engine_detokenize(e, ids, n, &text), 0);
    assert_string_equal(text.data, "Hello world");
    aieb_buf_free(&text);
    aieb_engine_close(e);

    aieb_engine_opts o;
    aieb_engine_opts_init(&o);
    o.vocab_only = 1;
    assert_int_equal(aieb_engine_open(model_path("gpt2"), &o, &e, &err), 0);
    assert_int_equal(aieb_engine_tokenize(e, "Hello world", 1, ids, 16, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(ids, want, sizeof want);
    assert_int_equal(aieb_engine_generate(e, ids, n, &p, NULL, NULL, &st, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "vocabulary only"));
    aieb_engine_close(e);
}

/* EOS ends generation unless min_new_tokens or ignore_eos holds it back: the model is
 * written twice, the second time declaring its first greedy token to be EOS. */
static void eos_handling(void **state)
{
    tiny_cfg c;
    tiny_defaults(&c, "llama", AIEB_GGML_F32, 1);
    collect first = {0};
    first_greedy(&c, "eos", 1, &first);
    const char *toks[300];
    char names[300][16];
    plain_vocab(&c, toks, names);
    c.eos_id = first.ids[0];
    assert_int_equal(tiny_write(&c, model_path("eos")), 0);
    aieb_engine *e = open_tiny(model_path("eos"), AIEB_KERNELS_AUTO, 1, 1, 0);
    aieb_sample_params p;
    aieb_sample_params_init(&p);
    aieb_err err = {0};
    aieb_gen_stats st;
    collect a = {0};
    p.max_new_tokens = 5;
    assert_int_equal(aieb_engine_generate(e, prompt, N_PROMPT, &p, on_tok, &a, &st, &err), 0);
    assert_int_equal(st.stop, AIEB_STOP_EOS);
    assert_int_equal(a.n, 0);
    assert_int_equal(st.completion_tokens, 0);

    collect b = {0};
    p.min_new_tokens = 2;
    aieb_engine_reset(e);
    assert_int_equal(aieb_engine_generate(e, prompt, N_PROMPT, &p, on_tok, &b, &st, &err), 0);
    assert_true(b.n >= 2);
    assert_int_not_equal(b.ids[0], c.eos_id);
    assert_int_not_equal(b.ids[1], c.eos_id);

    collect d = {0};
    p.min_new_tokens = 0;
    p.ignore_eos = 1;
    aieb_engine_reset(e);
    assert_int_equal(aieb_engine_generate(e, prompt, N_PROMPT, &p, on_tok, &d, &st, &err), 0);
    assert_int_equal(d.n, 5);
    assert_int_equal(st.stop, AIEB_STOP_LENGTH);
    for (int i = 0; i < 5; i++)
        assert_int_not_equal(d.ids[i], c.eos_id);
    aieb_engine_close(e);
}

/* An end-of-turn token ends generation like EOS: the model is written with its first
 * greedy token named <|im_end|> (eos_token_id elsewhere), as Qwen's instruct files
 * stop; ignore_eos holds back EOS and <|im_end|> alike. */
static void end_of_turn_ends_generation(void **state)
{
    tiny_cfg c;
    tiny_defaults(&c, "llama", AIEB_GGML_F32, 1);
    const char *toks[300];
    char names[300][16];
    plain_vocab(&c, toks, names);
    collect first = {0};
    first_greedy(&c, "eot", 2, &first);
    int32_t eot = first.ids[0];
    c.eos_id = eot == 2 ? 3 : 2;
    toks[eot] = "<|im_end|>";
    assert_int_equal(tiny_write(&c, model_path("eot")), 0);
    aieb_engine *e = open_tiny(model_path("eot"), AIEB_KERNELS_AUTO, 1, 1, 0);
    aieb_sample_params p;
    aieb_sample_params_init(&p);
    aieb_err err = {0};
    aieb_gen_stats st;
    aieb_model_info info;
    aieb_engine_info(e, &info);
    assert_int_equal(info.eos_id, c.eos_id);
    assert_int_equal(info.n_eog, 2); /* EOS, and <|im_end|> found by its text */
    assert_int_equal(info.eog_ids[0], c.eos_id);
    assert_int_equal(info.eog_ids[1], eot);
    json_t *j = aieb_model_info_loaded_json(&info);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "eog_ids")), 2);
    json_decref(j);
    collect a = {0};
    p.max_new_tokens = 5;
    assert_int_equal(aieb_engine_generate(e, prompt, N_PROMPT, &p, on_tok, &a, &st, &err), 0);
    assert_int_equal(st.stop, AIEB_STOP_EOS);
    assert_int_equal(a.n, 0);

    collect d = {0};
    p.ignore_eos = 1;
    aieb_engine_reset(e);
    assert_int_equal(aieb_engine_generate(e, prompt, N_PROMPT, &p, on_tok, &d, &st, &err), 0);
    assert_int_equal(d.n, 5);
    assert_int_equal(st.stop, AIEB_STOP_LENGTH);
    for (int i = 0; i < 5; i++) {
        assert_int_not_equal(d.ids[i], eot);
        assert_int_not_equal(d.ids[i], c.eos_id);
    }
    aieb_engine_close(e);
}

/* ==== loading errors ======================================================== */

static void expect_open_error(const tiny_cfg *c, int code, const char *needle)
{
    assert_int_equal(tiny_write(c, model_path("bad")), 0);
    aieb_engine *e = (aieb_engine *)0x1;
    aieb_err err = {0};
    int rc = aieb_engine_open(model_path("bad"), NULL, &e, &err);
    if (rc != code || !strstr(err.msg, needle))
        fail_msg("rc %d (want %d): '%s' (want '%s')", rc, code, err.msg, needle);
    assert_null(e);
}

static void load_errors(void **state)
{
    tiny_cfg c;
    tiny_defaults(&c, "gemma", AIEB_GGML_F32, 1);
    expect_open_error(&c, AIEB_EUNSUPPORTED, "architecture 'gemma' is not supported");
    tiny_defaults(&c, "llama", AIEB_GGML_F32, 1);
    c.skip_tensor = "blk.1.ffn_up.weight";
    expect_open_error(&c, AIEB_EINVAL, "tensor 'blk.1.ffn_up.weight' is missing");
    tiny_defaults(&c, "qwen2", AIEB_GGML_F32, 1);
    c.biases = 0;
    expect_open_error(&c, AIEB_EINVAL, "lacks attn_q/attn_k/attn_v biases");
    tiny_defaults(&c, "llama", AIEB_GGML_F32, 1);
    c.n_ff = 256;
    /* types the reader knows and the engine refuses, named with their tensor */
    const uint32_t refused[] = {AIEB_GGML_IQ2_XXS, AIEB_GGML_IQ2_XS, AIEB_GGML_IQ2_S,
                                AIEB_GGML_IQ3_XXS, AIEB_GGML_IQ3_S,  AIEB_GGML_IQ1_S,
                                AIEB_GGML_IQ1_M,   AIEB_GGML_TQ1_0,  AIEB_GGML_TQ2_0,
                                AIEB_GGML_MXFP4,   AIEB_GGML_Q8_1,   AIEB_GGML_Q8_K};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char want[128];
        snprintf(want, sizeof want, "tensor 'blk.0.ffn_down.weight' has type %s, which",
                 aieb_ggml_type_name(refused[i]));
        c.odd_type_tensor = refused[i];
        expect_open_error(&c, AIEB_EUNSUPPORTED, want);
    }
    /* the same file with a type the engine runs opens */
    c.odd_type_tensor = AIEB_GGML_Q4_K;
    assert_int_equal(tiny_write(&c, model_path("odd")), 0);
    {
        aieb_engine *ok = NULL;
        aieb_err oerr = {0};
        assert_int_equal(aieb_engine_open(model_path("odd"), NULL, &ok, &oerr), 0);
        aieb_engine_close(ok);
    }
    tiny_defaults(&c, "llama", AIEB_GGML_F32, 1);
    c.n_kv_heads = 3;
    expect_open_error(&c, AIEB_EINVAL, "head_count_kv 3 does not divide head_count 4");
    tiny_defaults(&c, "llama", AIEB_GGML_F32, 1);
    c.skip_tensor = "output_norm.weight";
    expect_open_error(&c, AIEB_EINVAL, "'output_norm.weight' is missing");

    /* shape mismatch: a model whose metadata says 5 heads of a 64-wide embedding */
    aieb_engine *e;
    aieb_err err = {0};
    assert_int_equal(aieb_engine_open("/nonexistent/model.gguf", NULL, &e, &err), AIEB_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/model.gguf"));
    assert_int_equal(aieb_engine_open("synthetic:gpt-5", NULL, &e, &err), AIEB_ENOTFOUND);
    assert_non_null(strstr(err.msg, "unknown preset 'gpt-5'"));
    assert_int_equal(aieb_engine_open("synthetic:smollm-135m?type=q7_k", NULL, &e, &err),
                     AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "type 'q7_k'"));
    assert_int_equal(aieb_engine_open("synthetic:smollm-135m?colour=red", NULL, &e, &err),
                     AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "unknown option 'colour'"));
    assert_int_equal(aieb_engine_open("synthetic:smollm-135m?seed=x", NULL, &e, &err), AIEB_EINVAL);
    aieb_engine_opts o;
    aieb_engine_opts_init(&o);
    o.threads = -1;
    assert_int_equal(aieb_engine_open(model_path("gen"), &o, &e, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "threads"));
}

/* ==== qwen3 and phi3 ======================================================== */

/* Every kernel path, thread count and batch size agrees with one scalar thread on the
 * architectures with per-head norms (qwen3) and fused matrices (phi3). */
static void arch_paths_agree(void **state)
{
    const char *archs[] = {"qwen3", "phi3"};
    const uint32_t types[] = {AIEB_GGML_F32, AIEB_GGML_Q8_0};
    for (int ai = 0; ai < 2; ai++)
        for (int ti = 0; ti < 2; ti++) {
            tiny_cfg c;
            tiny_defaults(&c, archs[ai], types[ti], ai == 0);
            char name[64];
            snprintf(name, sizeof name, "arch-%s-%d", archs[ai], ti);
            assert_int_equal(tiny_write(&c, model_path(name)), 0);
            aieb_engine *ref = open_tiny(model_path(name), AIEB_KERNELS_SCALAR, 1, 0, 1);
            float *base = prompt_logits(ref, prompt, N_PROMPT);
            aieb_model_info info;
            aieb_engine_info(ref, &info);
            assert_string_equal(info.arch, archs[ai]);
            assert_int_equal(info.head_dim, ai == 0 ? 32 : 16);
            aieb_engine_close(ref);
            aieb_engine *e = open_tiny(model_path(name), AIEB_KERNELS_AUTO, 3, 1, 5);
            float *lg = prompt_logits(e, prompt, N_PROMPT);
            double re = rel_err(lg, base, 300), tol = ti ? 1e-2 : 2e-5;
            if (re > tol)
                fail_msg("%s: relative error %g > %g", name, re, tol);
            free(lg);
            free(base);
            aieb_engine_close(e);
        }
}

/* What the loader refuses in the new architectures, and why it says so. */
static void arch_load_errors(void **state)
{
    tiny_cfg c;
    tiny_defaults(&c, "gemma2", AIEB_GGML_F32, 1);
    expect_open_error(&c, AIEB_EUNSUPPORTED, "architecture 'gemma2' is not supported (Gemma");
    tiny_defaults(&c, "gemma3", AIEB_GGML_F32, 1);
    expect_open_error(&c, AIEB_EUNSUPPORTED, "logit soft-capping");
    tiny_defaults(&c, "falcon", AIEB_GGML_F32, 1);
    expect_open_error(&c, AIEB_EUNSUPPORTED, "(llama, qwen2, qwen3, phi3)");
    tiny_defaults(&c, "qwen3", AIEB_GGML_F32, 1);
    c.skip_tensor = "blk.1.attn_k_norm.weight";
    expect_open_error(&c, AIEB_EINVAL, "tensor 'blk.1.attn_k_norm.weight' is missing");
    tiny_defaults(&c, "qwen3", AIEB_GGML_F32, 1);
    c.qk_norm = 0;
    expect_open_error(&c, AIEB_EINVAL, "'blk.0.attn_q_norm.weight' is missing");
    /* a phi3 ffn_up of n_ff rows (not gate|up) and no ffn_gate */
    tiny_defaults(&c, "phi3", AIEB_GGML_F32, 1);
    c.fused = 0;
    c.skip_tensor = "blk.0.ffn_gate.weight";
    expect_open_error(&c, AIEB_EINVAL,
                      "'blk.0.ffn_up.weight' has shape [64, 96, 1, 1], expected "
                      "[64, 192]");
    /* phi3 with separate q/k/v and gate/up tensors is accepted */
    tiny_defaults(&c, "phi3", AIEB_GGML_F32, 1);
    c.fused = 0;
    assert_int_equal(tiny_write(&c, model_path("phi3-split")), 0);
    aieb_engine *e = open_tiny(model_path("phi3-split"), AIEB_KERNELS_SCALAR, 1, 0, 1);
    aieb_engine_close(e);
    /* RoPE scaling the engine does not do */
    tiny_defaults(&c, "llama", AIEB_GGML_F32, 1);
    c.rope_linear = 2000.0f;
    expect_open_error(&c, AIEB_EINVAL, "scaling factor 2000 must be in (0, 1024]");
}

/* The qwen3-0.6b preset has Qwen3-0.6B's shapes (head_dim 128 apart from 1024 / 16). */
static void arch_presets(void **state)
{
    aieb_engine_opts o;
    aieb_engine_opts_init(&o);
    o.context_length = 64;
    o.threads = 2;
    aieb_engine *e;
    aieb_err err = {0};
    assert_int_equal(aieb_engine_open("synthetic:qwen3-0.6b?type=q4_0", &o, &e, &err), 0);
    aieb_model_info info;
    aieb_engine_info(e, &info);
    assert_string_equal(info.arch, "qwen3");
    assert_int_equal(info.n_embd, 1024);
    assert_int_equal(info.n_ff, 3072);
    assert_int_equal(info.n_layers, 28);
    assert_int_equal(info.n_heads, 16);
    assert_int_equal(info.n_kv_heads, 8);
    assert_int_equal(info.head_dim, 128);
    assert_int_equal(info.n_vocab, 151936);
    float *lg = prompt_logits(e, prompt, 4);
    for (int i = 0; i < 151936; i++)
        if (!isfinite(lg[i]))
            fail_msg("logit %d is %g", i, (double)lg[i]);
    free(lg);
    aieb_engine_close(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(formats),          cmocka_unit_test(kernels_match_scalar),
        cmocka_unit_test(paths_agree),      cmocka_unit_test(generation),
        cmocka_unit_test(eos_handling),     cmocka_unit_test(end_of_turn_ends_generation),
        cmocka_unit_test(gpt2_text_prompt), cmocka_unit_test(load_errors),
        cmocka_unit_test(arch_paths_agree), cmocka_unit_test(arch_load_errors),
        cmocka_unit_test(arch_presets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
