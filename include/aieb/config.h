/* config.h - the benchmark configuration: YAML -> typed, validated aieb_config.
 *
 * Layers, lowest precedence first (docs/configuration.md says it all):
 *   1. built-in defaults (the earlier Python tool's, plus aieb's additions)
 *   2. the YAML file, with ${VAR} and ${VAR:-default} interpolated in every scalar
 *   3. environment overrides: BENCHMARK_BACKEND, BENCHMARK_MODEL, VLLM_ENDPOINT,
 *      NUM_SAMPLES, MAX_NEW_TOKENS, COUNTRY_ISO_CODE, REGION, OUTPUT_DIR, RESULTS_FILE
 *   4. --set key.path=value, in the order given
 * Every key remembers where its value came from (default, file:line, env VAR, --set).
 *
 * Problems are collected, not returned one at a time: a load fills an aieb_diags
 * list with every error and warning found (unknown keys, with a "did you mean",
 * and type and range problems are errors; AIEB_CONFIG_LENIENT makes unknown keys
 * warnings), each with file, line, column and key path, so that `aieb config
 * check` can show them all at once.
 *
 * Hostile input is capped (file size, scalar size, nesting depth, alias
 * expansion, number of nodes): see AIEB_CONFIG_MAX_* below.
 */
#ifndef AIEB_CONFIG_H
#define AIEB_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "aieb/buf.h"
#include "aieb/err.h"
#include "aieb/diag.h"
#include "aieb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Caps on outside input (documented in docs/configuration.md) ==== */
#define AIEB_CONFIG_MAX_FILE_BYTES   (1024 * 1024)  /* a config file, 1 MiB */
#define AIEB_CONFIG_MAX_SCALAR_BYTES (64 * 1024)    /* one scalar, before and after ${} */
#define AIEB_CONFIG_MAX_DEPTH        64             /* nested maps/sequences */
#define AIEB_CONFIG_MAX_NODES        100000         /* nodes, counting alias expansions */
#define AIEB_CONFIG_MAX_ALIASES      1000           /* alias (*name) uses per file */
#define AIEB_CONFIG_MAX_DIAGS        AIEB_DIAGS_MAX /* problems kept; the rest are counted */

/* ==== The typed configuration ==== */

/* Which backend runs the requests (backend.type). */
typedef enum {
    AIEB_CFG_BACKEND_VLLM = 0,    /* OpenAI-compatible server (the earlier tool's name) */
    AIEB_CFG_BACKEND_OPENAI = 1,  /* OpenAI-compatible server */
    AIEB_CFG_BACKEND_PYTORCH = 2, /* Python worker with transformers */
    AIEB_CFG_BACKEND_NATIVE = 3,  /* the embedded C engine */
} aieb_cfg_backend;

/* An ordered list of string pairs (backend.max_memory: device -> "20GB"). */
typedef struct aieb_kv {
    char *key;
    char *value;
} aieb_kv;
typedef struct aieb_kv_list {
    aieb_kv *items;
    size_t n;
} aieb_kv_list;

/* A list of non-negative integers (device ids). */
typedef struct aieb_int_list {
    int *items;
    size_t n;
} aieb_int_list;

typedef struct aieb_config_meta aieb_config_meta; /* sources; opaque */

/* Strings are malloc'd and owned by the config; NULL means "null" (unset) only
 * where the comment says so. Doubles documented as "NAN = unset" use NAN. */
typedef struct aieb_config {
    char *name;       /* run name; see aieb_config_dir_name() for the directory */
    char *output_dir; /* results go to <output_dir>/<name>/<UTC time>/ */

    struct {
        char *type;            /* "vllm" | "openai" | "pytorch" | "native" */
        aieb_cfg_backend kind; /* type as an enum */
        char *model;           /* server model name, HF id, GGUF path or synthetic:<preset> */
        char *endpoint;        /* http(s) base URL such as http://localhost:8000/v1; NULL unset */
        char *api;             /* "chat" (/chat/completions) | "completions" */
        char *api_key_env;     /* environment variable holding the bearer token */
        double timeout_s;      /* whole-request timeout, > 0 */
        double startup_timeout_s; /* wait this long for a loading server (HTTP 503) */
        int insecure_tls;         /* 1: do not verify TLS certificates */
        int ignore_eos;           /* 1 on, 0 off, -1 auto (on when min == max new tokens) */
        char *device;             /* pytorch: "cuda", "cpu", "cuda:1", ... */
        aieb_int_list device_ids; /* pytorch GPUs; empty = the library's default */
        char *task;               /* pytorch pipeline task */
        char *torch_dtype;        /* "auto", "float16", "bfloat16", "float32", ... */
        char *device_map;         /* pytorch device_map ("auto"); NULL unset */
        aieb_kv_list max_memory;  /* device -> size string ("20GB") */
        int load_in_8bit, load_in_4bit, trust_remote_code, use_cache;
        long long pad_token_id; /* -1 = unset */
        char *python;           /* interpreter for the pytorch worker */
        int threads;            /* native: worker threads, 0 = all cores */
        int context_length;     /* native: KV cache length, 0 = min(model's, 4096) */
        int no_weights;         /* native/pytorch: random weights of the model's shapes */
    } backend;

    struct {
        char *dataset_name;       /* "builtin", a local file, or a Hugging Face dataset */
        char *text_column_name;   /* field holding the prompt (json/jsonl/csv/hub) */
        char *dataset_split;      /* hub split */
        int num_samples;          /* prompts to run, >= 1 */
        int truncation;           /* cut prompts to the documented maximum length */
        int reasoning;            /* apply the reasoning formatter */
        json_t *reasoning_params; /* object (free keys, forwarded); never NULL */
        struct {
            int batch_size; /* >= 1 */
        } input_shapes;
        struct {
            int max_new_tokens; /* >= 1 */
            int min_new_tokens; /* 0 = no minimum; <= max_new_tokens */
            double temperature; /* >= 0; NAN = unset (the server's default) */
            double top_p;       /* (0, 1]; NAN = unset */
            int top_k;          /* >= 1; -1 = unset */
            int do_sample;      /* 1, 0, -1 = unset */
            json_t *extra;      /* unknown generate_kwargs keys, kept for pytorch; never NULL */
        } generate_kwargs;
        int warmup_requests;          /* excluded from every metric */
        int max_concurrency;          /* requests in flight, >= 1 */
        int repetitions;              /* the workload this many times, measured apart, >= 1 */
        char *method;                 /* "standard" or "energy_star" */
        int energy_star;              /* method is energy_star (docs/ratings.md) */
        double request_rate;          /* requests/s; INFINITY = as fast as concurrency allows */
        double burstiness;            /* gamma shape of inter-arrival gaps, 1 = Poisson */
        long long seed;               /* arrival times, sampling, synthetic weights */
        int max_consecutive_failures; /* stop after this many failures in a row; 0 = never */
        struct {
            double ttft_ms, tpot_ms, e2el_ms; /* goodput thresholds; NAN = unset */
        } slo;
    } scenario;

    struct {
        char *type; /* "codecarbon" */
        int enabled;
        char *project_name;
        char *output_dir;                  /* emissions.csv directory; NULL = the run directory */
        char *country_iso_code;            /* ISO 3166 alpha-3, upper case */
        char *region;                      /* e.g. a US state; NULL unset */
        int sample_interval_ms;            /* >= 5 */
        double idle_baseline_s;            /* >= 0; 0 = no idle baseline */
        double carbon_intensity_g_per_kwh; /* >= 0; NAN = from the country table */
        double pue;                        /* >= 1.0 */
        double cpu_tdp_w;                  /* > 0; NAN = estimated */
        aieb_int_list gpu_ids;             /* empty = backend.device_ids, else all */
        json_t *remote; /* array of Prometheus sources (objects, checked); never NULL */
    } metrics;

    struct {
        char *type;        /* "csv" */
        char *output_file; /* appended, header once */
        char *database;    /* the results store; NULL = <output_dir>/aieb.db */
    } reporter;

    aieb_config_meta *meta; /* where each value came from */
} aieb_config;

/* Returns a new config holding only the defaults (every source "default"), or
 * NULL when out of memory. Free with aieb_config_free(). */
AIEB_API aieb_config *aieb_config_defaults(void);

/* Loads the YAML file at path and applies, in order of precedence, defaults <
 * file < environment overrides < sets[0..n_sets) ("key.path=value" strings).
 * path may be NULL: defaults, environment and sets only.
 *
 * Every problem found goes to diags (which must be initialised; it is appended
 * to, so several files can share one list). Returns 0 and a new config in *out
 * when there were no errors (warnings allowed). Otherwise *out is NULL and the
 * return is AIEB_ENOTFOUND (missing file), AIEB_ETOOBIG (a cap was exceeded),
 * AIEB_EINVAL (any other problem in the file, environment or sets) or
 * AIEB_ENOMEM, with err summarising ("configs/x.yaml: 3 problems"); the details
 * are in diags. */
AIEB_API int aieb_config_load(const char *path, const char *const *sets, size_t n_sets,
                              aieb_config **out, aieb_diags *diags, aieb_err *err);

/* As aieb_config_load, reading the YAML from data[0..len) instead (it need not
 * be NUL-terminated) and naming it `name` in diagnostics. For tests and fuzzing. */
AIEB_API int aieb_config_load_string(const char *name, const char *data, size_t len,
                                     const char *const *sets, size_t n_sets, aieb_config **out,
                                     aieb_diags *diags, aieb_err *err);

/* Flags of aieb_config_load_flags. */
#define AIEB_CONFIG_LENIENT 1u /* unknown keys in the file are warnings (ignored), not errors */

/* As aieb_config_load, with flags (0 or AIEB_CONFIG_LENIENT). By default a key
 * the schema does not know is an error at its FILE:LINE:COL, with the nearest
 * known key suggested when one is close; with AIEB_CONFIG_LENIENT it is a
 * warning and the key is ignored (for files also written for other tools).
 * Either way it is counted in diags->n_unknown_keys. Keys under the free-form
 * maps (scenario.generate_kwargs' extra keys, scenario.reasoning_params,
 * backend.max_memory) and keys starting with "x-" are never unknown; an unknown
 * key in a --set is always an error. Fails as aieb_config_load. */
AIEB_API int aieb_config_load_flags(const char *path, const char *const *sets, size_t n_sets,
                                    unsigned flags, aieb_config **out, aieb_diags *diags,
                                    aieb_err *err);

/* As aieb_config_load_string, with flags as aieb_config_load_flags. */
AIEB_API int aieb_config_load_string_flags(const char *name, const char *data, size_t len,
                                           const char *const *sets, size_t n_sets, unsigned flags,
                                           aieb_config **out, aieb_diags *diags, aieb_err *err);

/* Appends the fully resolved config as YAML (every key, defaults included, in
 * schema order) to out. With with_sources, each key gets a trailing comment
 * saying where its value came from. The output loads back to the same config.
 * Returns 0, AIEB_ENOMEM or AIEB_ETOOBIG (out's cap). */
AIEB_API int aieb_config_emit_yaml(const aieb_config *cfg, int with_sources, aieb_buf *out);

/* Writes where key's value came from into buf: "default", "FILE:LINE:COL",
 * "env NAME" or "--set". Returns 0, or AIEB_ENOTFOUND for an unknown key path
 * (buf then holds ""). Keys are dotted paths as in the YAML
 * ("scenario.generate_kwargs.max_new_tokens"). */
AIEB_API int aieb_config_source(const aieb_config *cfg, const char *key, char *buf, size_t size);

/* Adds a problem about key (a dotted path such as "metrics.country_iso_code")
 * to d, placed where the key's value came from: FILE:LINE:COL, "env VAR",
 * "--set" or "default". For checks made outside the config module, so that
 * they read as the loader's own. Returns 0, or AIEB_ENOTFOUND (nothing added)
 * for a key the schema does not have. */
AIEB_API int aieb_config_diag_at(const aieb_config *cfg, aieb_diags *d, aieb_diag_severity sev,
                                 const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Writes cfg->name as one safe directory name into buf (the run directory is
 * <output_dir>/<this>/<UTC time>/): '/', '\\' and control characters become '_',
 * as does a leading '.', so "..", "." and hidden names cannot result; an empty
 * name gives "benchmark". Cut to at most 255 bytes (and size - 1) on a UTF-8
 * character boundary. Can't fail; size must be > 0. */
AIEB_API void aieb_config_dir_name(const aieb_config *cfg, char *buf, size_t size);

/* Frees the config and everything it owns. cfg may be NULL. */
AIEB_API void aieb_config_free(aieb_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
