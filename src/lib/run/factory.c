/* factory.c - the backend a config names, with its options mapped from the config. */
#include <math.h>

#include "aieb/native.h"
#include "aieb/openai.h"
#include "run/runner_internal.h"

static void gen_params_from(const aieb_config *cfg, aieb_gen_params *g)
{
    g->max_new_tokens = cfg->scenario.generate_kwargs.max_new_tokens;
    g->min_new_tokens = cfg->scenario.generate_kwargs.min_new_tokens;
    g->temperature = isnan(cfg->scenario.generate_kwargs.temperature)
                         ? -1.0
                         : cfg->scenario.generate_kwargs.temperature;
    g->top_p =
        isnan(cfg->scenario.generate_kwargs.top_p) ? -1.0 : cfg->scenario.generate_kwargs.top_p;
    g->top_k = cfg->scenario.generate_kwargs.top_k;
    g->do_sample = cfg->scenario.generate_kwargs.do_sample;
    g->seed = cfg->scenario.seed;
    g->ignore_eos = cfg->backend.ignore_eos;
}

int runner_open_backend(const aieb_config *cfg, aieb_backend **out, aieb_err *err)
{
    switch (cfg->backend.kind) {
    case AIEB_CFG_BACKEND_VLLM:
    case AIEB_CFG_BACKEND_OPENAI: {
        aieb_openai_opts o;
        aieb_openai_opts_init(&o);
        o.endpoint = cfg->backend.endpoint;
        o.model = cfg->backend.model;
        o.api = cfg->backend.api;
        o.api_key_env = cfg->backend.api_key_env;
        o.insecure_tls = cfg->backend.insecure_tls;
        o.timeout_s = cfg->backend.timeout_s;
        o.startup_timeout_s = cfg->backend.startup_timeout_s;
        gen_params_from(cfg, &o.gen);
        return aieb_openai_backend_open(&o, out, err);
    }
    case AIEB_CFG_BACKEND_NATIVE: {
        aieb_native_opts o = {0};
        o.model = cfg->backend.model;
        o.threads = cfg->backend.threads;
        o.context_length = cfg->backend.context_length;
        gen_params_from(cfg, &o.gen);
        return aieb_native_backend_open(&o, out, err);
    }
    case AIEB_CFG_BACKEND_PYTORCH:
        break;
    }
    return aieb_errf(err, AIEB_EUNSUPPORTED,
                     "backend.type '%s' is not available in this build yet; use native, vllm or "
                     "openai",
                     cfg->backend.type);
}
