/* sampler.c - greedy, temperature, top-k and top-p sampling (see sampler.h). */
#include <math.h>
#include <stdlib.h>

#include "engine/sampler.h"

int sampler_init(sampler *s, int n_vocab, aieb_err *err)
{
    s->n_vocab = n_vocab;
    s->rng = 0;
    s->cand = malloc((size_t)n_vocab * sizeof *s->cand);
    if (!s->cand)
        return aieb_errf(err, AIEB_ENOMEM, "engine: out of memory for the sampler");
    sampler_seed(s, 0);
    return 0;
}

void sampler_free(sampler *s)
{
    free(s->cand);
    s->cand = NULL;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sampler_seed(sampler *s, uint64_t seed)
{
    s->rng = seed;
}

double sampler_uniform(sampler *s)
{
    return (double)(splitmix64(&s->rng) >> 11) * 0x1p-53;
}

/* Higher logit first; the lower id first on ties, so results do not depend on qsort. */
static int cand_desc(const void *a, const void *b)
{
    const sampler_cand *x = a, *y = b;
    if (x->v != y->v)
        return x->v > y->v ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static int is_banned(int32_t id, const int32_t *banned, int n_banned)
{
    for (int i = 0; i < n_banned; i++)
        if (banned[i] == id)
            return 1;
    return 0;
}

static int32_t argmax(const float *logits, int n, const int32_t *banned, int n_banned)
{
    int32_t best = -1;
    for (int i = 0; i < n; i++) {
        if (is_banned(i, banned, n_banned))
            continue;
        if (best < 0 || logits[i] > logits[best])
            best = i;
    }
    return best < 0 ? 0 : best;
}

/* Keeps the k best candidates of c[0..n) in c[0..k) (a min-heap on the way). */
static void heap_sift(sampler_cand *h, int k, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < k && cand_desc(&h[l], &h[m]) > 0)
            m = l;
        if (r < k && cand_desc(&h[r], &h[m]) > 0)
            m = r;
        if (m == i)
            return;
        sampler_cand t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static int top_k(sampler_cand *c, int n, int k)
{
    if (k >= n)
        return n;
    for (int i = k / 2 - 1; i >= 0; i--)
        heap_sift(c, k, i);
    for (int i = k; i < n; i++)
        if (cand_desc(&c[i], &c[0]) < 0) { /* better than the worst kept */
            c[0] = c[i];
            heap_sift(c, k, 0);
        }
    return k;
}

int32_t sampler_sample(sampler *s, const float *logits, const aieb_sample_params *p,
                       const int32_t *banned, int n_banned)
{
    int n_vocab = s->n_vocab;
    if (p->temperature <= 0 || !isfinite(p->temperature))
        return argmax(logits, n_vocab, banned, n_banned);

    sampler_cand *c = s->cand;
    int n = 0;
    for (int i = 0; i < n_vocab; i++)
        if (!isnan(logits[i]) && !is_banned(i, banned, n_banned))
            c[n++] = (sampler_cand){logits[i], i};
    if (n == 0)
        return argmax(logits, n_vocab, banned, n_banned);
    int sorted = 0;
    if (p->top_k > 0 && p->top_k < n) {
        n = top_k(c, n, p->top_k);
        qsort(c, (size_t)n, sizeof *c, cand_desc);
        sorted = 1;
    }
    float vmax = -INFINITY;
    for (int i = 0; i < n; i++)
        vmax = fmaxf(vmax, c[i].v);
    double inv_t = 1.0 / p->temperature, total = 0;
    for (int i = 0; i < n; i++) {
        c[i].v = (float)exp((double)(c[i].v - vmax) * inv_t);
        total += c[i].v;
    }
    if (p->top_p > 0 && p->top_p < 1 && n > 1) {
        if (!sorted) {
            /* A token below (1 - top_p) / (n - 1) of the mass cannot be in the nucleus:
             * all such tokens together hold less than 1 - top_p. Sort only the rest. */
            double cutoff = (1.0 - p->top_p) / (n - 1) * total;
            int m = 0;
            for (int i = 0; i < n; i++)
                if (c[i].v >= cutoff)
                    c[m++] = c[i];
            n = m;
            qsort(c, (size_t)n, sizeof *c, cand_desc);
        }
        double cum = 0, want = p->top_p * total;
        int keep = n;
        for (int i = 0; i < n; i++) {
            cum += c[i].v;
            if (cum >= want) {
                keep = i + 1;
                break;
            }
        }
        n = keep;
        total = cum;
    }
    double r = sampler_uniform(s) * total, cum = 0;
    for (int i = 0; i < n; i++) {
        cum += c[i].v;
        if (r < cum)
            return c[i].id;
    }
    return c[n - 1].id; /* rounding left r at the very end */
}
