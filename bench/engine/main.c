/* bench/engine - prefill and decode speed of the embedded engine on synthetic models.
 *
 * For each preset, weight type and thread count: open the synthetic model, then
 *   prefill: a prompt of --prompt random ids, logits at the end (median of --reps);
 *   decode:  --gen new tokens after a 16-token prompt, EOS ignored; tokens per second
 *            between the first and the last token (median of --reps);
 * and report the weight bytes a decode step reads times decode tok/s (achieved weight
 * bandwidth; compare with bench_membw, or pass --membw GB/s for the fraction), and the
 * prefill's matrix-multiply GFLOP/s. --sgemm also times OpenBLAS sgemm alone on the same
 * layer shapes (all layers' weights, the prompt as M) for the F32 prefill comparison.
 *
 * Usage: bench_engine [--presets a,b] [--types f32,f16,q8_0,q4_0] [--threads 1,2]
 *                     [--prompt 128] [--gen 64] [--reps 3] [--membw GBS] [--sgemm]
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/clock.h"
#include "aieb/engine.h"

#define MAX_LIST 16

typedef struct opts {
    char *presets[MAX_LIST], *types[MAX_LIST];
    int n_presets, n_types, threads[MAX_LIST], n_threads;
    int prompt, gen, reps, sgemm;
    double membw;
} opts;

static int split(char *s, char **out)
{
    int n = 0;
    for (char *t = strtok(s, ","); t && n < MAX_LIST; t = strtok(NULL, ","))
        out[n++] = t;
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct tok_times {
    int64_t first, last;
    int n;
} tok_times;

static int on_token(void *user, int32_t id, int64_t t_ns)
{
    tok_times *t = user;
    if (!t->n)
        t->first = t_ns;
    t->last = t_ns;
    t->n++;
    return 0;
}

/* Matrix-multiply FLOPs of one prompt token (2 per weight; the output layer runs once
 * per prompt, so it is spread over the prompt's tokens). */
static double flops_per_token(const aieb_model_info *m, int prompt)
{
    double D = m->n_embd, qd = (double)m->n_heads * m->head_dim;
    double kvd = (double)m->n_kv_heads * m->head_dim, ff = m->n_ff;
    double layer = D * qd * 2 + D * kvd * 2 + 3 * D * ff;
    return 2 * (m->n_layers * layer + (double)m->n_vocab * D / prompt);
}

static int run_one(const opts *o, const char *preset, const char *type, int threads)
{
    char name[128];
    snprintf(name, sizeof name, "synthetic:%s?type=%s", preset, type);
    aieb_engine_opts eo;
    aieb_engine_opts_init(&eo);
    eo.threads = threads;
    eo.context_length = o->prompt + o->gen + 32;
    aieb_engine *e;
    aieb_err err = {0};
    int64_t t0 = aieb_now_ns();
    if (aieb_engine_open(name, &eo, &e, &err) != 0) {
        fprintf(stderr, "bench_engine: %s: %s\n", name, err.msg);
        return 1;
    }
    double open_s = aieb_ns_to_s(aieb_now_ns() - t0);
    aieb_model_info info;
    aieb_engine_info(e, &info);
    int32_t *ids = malloc((size_t)o->prompt * sizeof *ids);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < o->prompt; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        ids[i] = (int32_t)(3 + x % (uint64_t)(info.n_vocab - 3));
    }
    aieb_sample_params sp;
    aieb_sample_params_init(&sp);
    sp.ignore_eos = 1;
    double pre[32] = {0}, dec[32] = {0};
    int reps = o->reps > 32 ? 32 : o->reps;
    aieb_gen_stats st;
    /* warm-up: one short run brings threads and caches up */
    sp.max_new_tokens = 4;
    aieb_engine_generate(e, ids, 16, &sp, NULL, NULL, &st, &err);
    for (int r = 0; r < reps; r++) {
        aieb_engine_reset(e);
        sp.max_new_tokens = 0;
        if (aieb_engine_generate(e, ids, (size_t)o->prompt, &sp, NULL, NULL, &st, &err) != 0)
            break;
        pre[r] = o->prompt / aieb_ns_to_s(st.prefill_end_ns - st.start_ns);
        aieb_engine_reset(e);
        sp.max_new_tokens = o->gen;
        tok_times tt = {0};
        if (aieb_engine_generate(e, ids, 16, &sp, on_token, &tt, &st, &err) != 0)
            break;
        dec[r] = (tt.n - 1) / aieb_ns_to_s(tt.last - tt.first);
    }
    if (err.code) {
        fprintf(stderr, "bench_engine: %s: %s\n", name, err.msg);
        free(ids);
        aieb_engine_close(e);
        return 1;
    }
    double p = median(pre, reps), d = median(dec, reps);
    double gbs = (double)info.decode_bytes * d / 1e9;
    double gflops = p * flops_per_token(&info, o->prompt) / 1e9;
    printf("| %-13s | %-4s | %d | %7.1f | %8.1f | %6.1f | %7.1f | %5.1f |", preset, type, threads,
           (double)info.decode_bytes / 1e6, p, gflops, d, gbs);
    if (o->membw > 0)
        printf(" %.2f |", gbs / o->membw);
    printf(" %s%s | %.1f |\n", info.kernels, info.blas ? "+blas" : "", open_s);
    fflush(stdout);
    free(ids);
    aieb_engine_close(e);
    return 0;
}

/* ==== OpenBLAS alone on the same shapes ==================================== */

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *,
                         int, float, float *, int);

static void sgemm_alone(const opts *o, const char *preset)
{
    void *h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        printf("(no libopenblas.so.0: sgemm comparison skipped)\n");
        return;
    }
    sgemm_fn sgemm;
    void (*set_threads)(int);
    void *s1 = dlsym(h, "cblas_sgemm"), *s2 = dlsym(h, "openblas_set_num_threads");
    if (!s1 || !s2)
        return;
    memcpy(&sgemm, &s1, sizeof sgemm);
    memcpy(&set_threads, &s2, sizeof set_threads);
    /* shapes from the engine's description of the preset (a q4_0 copy is cheap to open) */
    char name[128];
    snprintf(name, sizeof name, "synthetic:%s?type=q4_0", preset);
    aieb_engine *e;
    aieb_err err = {0};
    if (aieb_engine_open(name, NULL, &e, &err) != 0)
        return;
    aieb_model_info m;
    aieb_engine_info(e, &m);
    aieb_engine_close(e);
    int D = m.n_embd, qd = m.n_heads * m.head_dim, kvd = m.n_kv_heads * m.head_dim, ff = m.n_ff;
    int shapes[7][2] = {{qd, D}, {kvd, D}, {kvd, D}, {D, qd}, {ff, D}, {ff, D}, {D, ff}};
    size_t per_layer = 0, maxn = 0;
    for (int i = 0; i < 7; i++) {
        per_layer += (size_t)shapes[i][0] * shapes[i][1];
        if ((size_t)shapes[i][0] > maxn)
            maxn = (size_t)shapes[i][0];
    }
    float *w = malloc(per_layer * m.n_layers * sizeof *w);
    float *x = malloc((size_t)o->prompt * (size_t)(ff > D ? ff : D) * sizeof *x);
    float *y = malloc((size_t)o->prompt * maxn * sizeof *y);
    if (!w || !x || !y)
        goto out;
    for (size_t i = 0; i < per_layer * m.n_layers; i++)
        w[i] = (float)((i * 2654435761u) % 1000) * 1e-5f - 0.005f;
    for (size_t i = 0; i < (size_t)o->prompt * (ff > D ? ff : D); i++)
        x[i] = (float)(i % 97) * 0.01f;
    for (int t = 0; t < o->n_threads; t++) {
        set_threads(o->threads[t]);
        double best = 0;
        for (int r = 0; r < o->reps + 1; r++) {
            int64_t t0 = aieb_now_ns();
            const float *wl = w;
            for (int l = 0; l < m.n_layers; l++)
                for (int i = 0; i < 7; i++) {
                    int n = shapes[i][0], k = shapes[i][1];
                    sgemm(101, 111, 112, o->prompt, n, k, 1.0f, x, k, wl, k, 0.0f, y, n);
                    wl += (size_t)n * k;
                }
            double s = aieb_ns_to_s(aieb_now_ns() - t0);
            double gf = 2.0 * (double)per_layer * m.n_layers * o->prompt / s / 1e9;
            best = gf > best ? gf : best;
        }
        printf("OpenBLAS sgemm alone, %s layer shapes, M=%d, %d thread(s): %.1f GFLOP/s (best)\n",
               preset, o->prompt, o->threads[t], best);
    }
    set_threads(1);
out:
    free(w);
    free(x);
    free(y);
}

int main(int argc, char **argv)
{
    opts o = {.prompt = 128, .gen = 64, .reps = 3};
    char presets[] = "smollm-135m,qwen2.5-0.5b", types[] = "f32,f16,q8_0,q4_0";
    char threads[64] = "1,2";
    o.n_presets = split(presets, o.presets);
    o.n_types = split(types, o.types);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--sgemm") == 0) {
            o.sgemm = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "bench_engine: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--presets") == 0)
            o.n_presets = split(argv[i], o.presets);
        else if (strcmp(a, "--types") == 0)
            o.n_types = split(argv[i], o.types);
        else if (strcmp(a, "--threads") == 0)
            snprintf(threads, sizeof threads, "%s", v);
        else if (strcmp(a, "--prompt") == 0)
            o.prompt = atoi(v);
        else if (strcmp(a, "--gen") == 0)
            o.gen = atoi(v);
        else if (strcmp(a, "--reps") == 0)
            o.reps = atoi(v);
        else if (strcmp(a, "--membw") == 0)
            o.membw = atof(v);
        else {
            fprintf(stderr, "bench_engine: unknown option %s (see the comment in main.c)\n", a);
            return 2;
        }
    }
    char *tl[MAX_LIST];
    int nt = split(threads, tl);
    for (int i = 0; i < nt; i++)
        o.threads[o.n_threads++] = atoi(tl[i]);
    if (o.prompt < 16 || o.gen < 2 || o.reps < 1) {
        fprintf(stderr, "bench_engine: --prompt >= 16, --gen >= 2, --reps >= 1\n");
        return 2;
    }
    printf("prompt %d tokens, %d new tokens, median of %d runs\n\n", o.prompt, o.gen, o.reps);
    printf("| model | type | thr | decode MB/token | prefill tok/s | prefill GFLOP/s | decode "
           "tok/s | weight GB/s |%s kernels | open s |\n",
           o.membw > 0 ? " of roofline |" : "");
    printf("|---|---|---|---|---|---|---|---|%s---|---|\n", o.membw > 0 ? "---|" : "");
    int rc = 0;
    for (int p = 0; p < o.n_presets; p++)
        for (int t = 0; t < o.n_types; t++)
            for (int k = 0; k < o.n_threads; k++)
                rc |= run_one(&o, o.presets[p], o.types[t], o.threads[k]);
    if (o.sgemm)
        for (int p = 0; p < o.n_presets; p++)
            sgemm_alone(&o, o.presets[p]);
    return rc;
}
