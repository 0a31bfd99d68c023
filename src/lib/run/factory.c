/* factory.c - the backend a config names, with its options mapped from the config. */
#include <math.h>

#include "aieb/native.h"
#include "aieb/openai.h"
#include "aieb/pytorch.h"
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
        o.api = cfg->backend.api;
        gen_params_from(cfg, &o.gen);
        return aieb_native_backend_open(&o, out, err);
    }
    case AIEB_CFG_BACKEND_PYTORCH: {
        aieb_pytorch_opts o;
        aieb_pytorch_opts_init(&o);
        o.model = cfg->backend.model;
        o.python = cfg->backend.python;
        o.device = cfg->backend.device;
        o.device_ids = cfg->backend.device_ids.items;
        o.n_device_ids = cfg->backend.device_ids.n;
        o.torch_dtype = cfg->backend.torch_dtype;
        o.device_map = cfg->backend.device_map;
        o.task = cfg->backend.task;
        o.load_in_8bit = cfg->backend.load_in_8bit;
        o.load_in_4bit = cfg->backend.load_in_4bit;
        o.trust_remote_code = cfg->backend.trust_remote_code;
        o.use_cache = cfg->backend.use_cache;
        o.no_weights = cfg->backend.no_weights;
        o.pad_token_id = cfg->backend.pad_token_id;
        o.threads = cfg->backend.threads;
        o.batch_size = cfg->scenario.input_shapes.batch_size;
        gen_params_from(cfg, &o.gen);
        o.generate_extra = cfg->scenario.generate_kwargs.extra;
        /* Starting the worker and loading the model are both "startup". */
        o.startup_timeout_s = cfg->backend.startup_timeout_s;
        o.load_timeout_s = cfg->backend.startup_timeout_s;
        o.timeout_s = cfg->backend.timeout_s;
        json_t *mm = json_object();
        for (size_t i = 0; mm && i < cfg->backend.max_memory.n; i++)
            json_object_set_new(mm, cfg->backend.max_memory.items[i].key,
                                json_string(cfg->backend.max_memory.items[i].value));
        o.max_memory = mm;
        int rc = aieb_pytorch_backend_open(&o, out, err);
        json_decref(mm);
        return rc;
    }
    }
    return aieb_errf(err, AIEB_EUNSUPPORTED,
                     "backend.type '%s' is not available in this build yet; use native, vllm or "
                     "openai",
                     cfg->backend.type);
}
