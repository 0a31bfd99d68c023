/* sampler.h - picking the next token from logits: greedy, or temperature with top-k
 * and top-p (nucleus), from a seeded generator. Buffers are allocated once. */
#ifndef AIEB_ENGINE_SAMPLER_H
#define AIEB_ENGINE_SAMPLER_H

#include <stdint.h>

#include "aieb/engine.h"
#include "aieb/err.h"

typedef struct sampler_cand {
    float v; /* logit, then weight */
    int32_t id;
} sampler_cand;

typedef struct sampler {
    int n_vocab;
    uint64_t rng;
    sampler_cand *cand; /* (n_vocab) */
} sampler;

int sampler_init(sampler *s, int n_vocab, aieb_err *err);
void sampler_free(sampler *s);

/* Restarts the random sequence (splitmix64 of seed). */
void sampler_seed(sampler *s, uint64_t seed);

/* A uniform double in [0, 1) from the sampler's generator. */
double sampler_uniform(sampler *s);

/* Chooses a token from n_vocab logits. The n_banned ids of banned are never
 * chosen (end-of-generation tokens while min_new_tokens is not reached, or with
 * ignore_eos). Greedy when temperature <= 0: the highest logit, the lowest id on
 * ties. Can't fail. */
int32_t sampler_sample(sampler *s, const float *logits, const aieb_sample_params *p,
                       const int32_t *banned, int n_banned);

#endif
