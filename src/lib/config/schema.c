/* schema.c - every configuration key: type, default, allowed range, override.
 *
 * The table is the single description of the schema: loading, validation,
 * `aieb config show` and the documentation test all walk it. Keys are in the
 * order `show` prints them: the earlier Python tool's layout (name, backend,
 * scenario, metrics, reporter, output_dir) with aieb's additions in each section.
 * Defaults are written as YAML scalars and parsed by the same code as a file.
 */
#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config/internal.h"

/* ==== Extra checks ==== */

static int check_url(const cfg_key *k, const void *field, char *why, size_t n)
{
    const char *s = *(char *const *)field;
    if (!s)
        return 0;
    const char *host = NULL;
    if (strncmp(s, "http://", 7) == 0)
        host = s + 7;
    else if (strncmp(s, "https://", 8) == 0)
        host = s + 8;
    int ok = host && *host && *host != '/' && *host != ':';
    for (const char *p = s; ok && *p; p++)
        if ((unsigned char)*p <= ' ')
            ok = 0;
    if (!ok) {
        snprintf(why, n,
                 "not an http(s) URL (expected e.g. http://localhost:8000/v1, got \"%.200s\")", s);
        return 1;
    }
    return 0;
}

static int check_iso3(const cfg_key *k, const void *field, char *why, size_t n)
{
    const char *s = *(char *const *)field;
    if (!s)
        return 0;
    int ok = strlen(s) == 3;
    for (int i = 0; ok && i < 3; i++)
        ok = isupper((unsigned char)s[i]);
    if (!ok) {
        snprintf(why, n,
                 "not an ISO 3166 alpha-3 country code (expected three capital letters such as "
                 "USA, FRA, DEU, got \"%.100s\")",
                 s);
        return 1;
    }
    return 0;
}

static int check_env_name(const cfg_key *k, const void *field, char *why, size_t n)
{
    const char *s = *(char *const *)field;
    int ok = s && (isalpha((unsigned char)s[0]) || s[0] == '_');
    for (const char *p = s; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || *p == '_';
    if (!ok) {
        snprintf(why, n,
                 "not an environment variable name (expected letters, digits and _, such as "
                 "OPENAI_API_KEY, got \"%.100s\"); write the variable's name, not the key",
                 s ? s : "");
        return 1;
    }
    return 0;
}

static int check_dtype(const cfg_key *k, const void *field, char *why, size_t n)
{
    static const char *const ok[] = {"auto", "float32", "float16", "bfloat16", "float64", "fp32",
                                     "fp16", "bf16",    "half",    "float",    "double",  NULL};
    const char *s = *(char *const *)field;
    if (!s)
        return 0;
    const char *t = strncmp(s, "torch.", 6) == 0 ? s + 6 : s;
    for (int i = 0; ok[i]; i++)
        if (strcmp(t, ok[i]) == 0)
            return 0;
    char sug[64];
    int has = cfg_suggest_word(t, ok, sug, sizeof sug);
    snprintf(
        why, n,
        "unknown torch dtype (expected auto, float32, float16 or bfloat16, got \"%.100s\")%s%s%s",
        s, has ? "; did you mean " : "", has ? sug : "", has ? "?" : "");
    return 1;
}

/* metrics.remote: a list of Prometheus servers to read energy from (the meter's
 * remote_prom.c reads the entries, defaults included). */
static int check_metric_name(const char *what, const json_t *v, char *why, size_t n)
{
    const char *s = json_string_value(v);
    int ok = s && (isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':');
    for (const char *p = s; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || *p == '_' || *p == ':';
    if (!ok)
        snprintf(why, n,
                 "%s: not a Prometheus metric name (expected letters, digits, _ and :, such as "
                 "DCGM_FI_DEV_POWER_USAGE)",
                 what);
    return !ok;
}

static int check_remote(const cfg_key *k, const void *field, char *why, size_t n)
{
    static const char *const keys[] = {"type",
                                       "url",
                                       "selector",
                                       "gpu_energy_metric",
                                       "gpu_power_metric",
                                       "cpu_energy_metric",
                                       "cpu_selector",
                                       "bearer_token_env",
                                       "basic_auth_user_env",
                                       "basic_auth_password_env",
                                       NULL};
    const json_t *a = *(json_t *const *)field;
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        char what[48];
        snprintf(what, sizeof what, "entry %zu", i + 1);
        if (!json_is_object(e)) {
            snprintf(why, n, "%s: wrong type (expected a mapping with type: prometheus and url:)",
                     what);
            return 1;
        }
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)e, key, v)
        {
            int known = 0;
            for (int j = 0; keys[j] && !known; j++)
                known = strcmp(key, keys[j]) == 0;
            char sug[64];
            if (!known) {
                int has = cfg_suggest_word(key, keys, sug, sizeof sug);
                snprintf(why, n, "%s: unknown key %.60s%s%s%s", what, key,
                         has ? "; did you mean " : "", has ? sug : "", has ? "?" : "");
                return 1;
            }
            if (!json_is_string(v) && !json_is_null(v)) {
                snprintf(why, n, "%s: %s: wrong type (expected a string)", what, key);
                return 1;
            }
        }
        const char *type = json_string_value(json_object_get(e, "type"));
        if (!type || strcmp(type, "prometheus") != 0) {
            snprintf(why, n, "%s: type: expected prometheus (the only remote source), got %.40s",
                     what, type ? type : "nothing");
            return 1;
        }
        const json_t *url = json_object_get(e, "url");
        const char *u = json_string_value(url);
        if (!u) {
            snprintf(why, n, "%s: url: required (e.g. http://prometheus:9090)", what);
            return 1;
        }
        char uwhy[300];
        if (check_url(k, &u, uwhy, sizeof uwhy)) {
            snprintf(why, n, "%s: url: %s", what, uwhy);
            return 1;
        }
        static const char *const sels[] = {"selector", "cpu_selector", NULL};
        for (int j = 0; sels[j]; j++) {
            const char *s = json_string_value(json_object_get(e, sels[j]));
            size_t len = s ? strlen(s) : 0;
            if (s && len && (s[0] != '{' || s[len - 1] != '}')) {
                snprintf(why, n,
                         "%s: %s: not a label selector (expected e.g. {job=\"dcgm\"}, got "
                         "%.100s)",
                         what, sels[j], s);
                return 1;
            }
        }
        static const char *const metrics[] = {"gpu_energy_metric", "gpu_power_metric",
                                              "cpu_energy_metric", NULL};
        for (int j = 0; metrics[j]; j++) {
            const json_t *m = json_object_get(e, metrics[j]);
            char w[96];
            snprintf(w, sizeof w, "%s: %s", what, metrics[j]);
            if (m && !json_is_null(m) && check_metric_name(w, m, why, n))
                return 1;
        }
        static const char *const envs[] = {"bearer_token_env", "basic_auth_user_env",
                                           "basic_auth_password_env", NULL};
        for (int j = 0; envs[j]; j++) {
            const char *s = json_string_value(json_object_get(e, envs[j]));
            char ewhy[300];
            if (s && check_env_name(k, &s, ewhy, sizeof ewhy)) {
                snprintf(why, n, "%s: %s: %s", what, envs[j], ewhy);
                return 1;
            }
        }
        if (!json_object_get(e, "basic_auth_user_env") !=
            !json_object_get(e, "basic_auth_password_env")) {
            snprintf(why, n,
                     "%s: basic_auth_user_env and basic_auth_password_env go together (set both)",
                     what);
            return 1;
        }
    }
    return 0;
}

/* ==== The table ==== */

static const char *const backend_types[] = {"vllm", "openai", "pytorch", "native", NULL};
static const char *const api_kinds[] = {"chat", "completions", NULL};
static const char *const scenario_methods[] = {"standard", "energy_star", NULL};
static const char *const metrics_types[] = {"codecarbon", NULL};
static const char *const reporter_types[] = {"csv", NULL};

#define OFF(member) offsetof(aieb_config, member)
#define NONE        NAN
#define SECTION(p)                                                                                 \
    {                                                                                              \
        .path = p, .type = CFG_T_SECTION, .min = NONE, .max = NONE                                 \
    }
/* Keys without bounds; typed ones give the whole initialiser. */
#define STR(p, m, d, fl)                                                                           \
    {                                                                                              \
        p, CFG_T_STR, OFF(m), d, fl, NONE, NONE, 0, NULL, NULL, NULL                               \
    }
#define BOOL(p, m, d)                                                                              \
    {                                                                                              \
        p, CFG_T_BOOL, OFF(m), d, 0, NONE, NONE, 0, NULL, NULL, NULL                               \
    }
#define TRI(p, m)                                                                                  \
    {                                                                                              \
        p, CFG_T_TRI, OFF(m), "null", CFG_NULLABLE, NONE, NONE, -1, NULL, NULL, NULL               \
    }

const cfg_key cfg_keys[] = {
    {"name", CFG_T_STR, OFF(name), "benchmark", CFG_NONEMPTY, NONE, NONE, 0, NULL, NULL, NULL},

    SECTION("backend"),
    {"backend.type", CFG_T_ENUM, OFF(backend.type), "vllm", 0, NONE, NONE, 0, backend_types, NULL,
     "BENCHMARK_BACKEND"},
    {"backend.model", CFG_T_STR, OFF(backend.model), "openai/gpt-oss-120b", CFG_NONEMPTY, NONE,
     NONE, 0, NULL, NULL, "BENCHMARK_MODEL"},
    {"backend.endpoint", CFG_T_STR, OFF(backend.endpoint), "http://localhost:8000/v1", CFG_NULLABLE,
     NONE, NONE, 0, NULL, check_url, "VLLM_ENDPOINT"},
    {"backend.api", CFG_T_ENUM, OFF(backend.api), "chat", 0, NONE, NONE, 0, api_kinds, NULL, NULL},
    {"backend.api_key_env", CFG_T_STR, OFF(backend.api_key_env), "OPENAI_API_KEY", CFG_NONEMPTY,
     NONE, NONE, 0, NULL, check_env_name, NULL},
    {"backend.timeout_s", CFG_T_DBL, OFF(backend.timeout_s), "300", CFG_MIN_EXCL, 0, 604800, 0,
     NULL, NULL, NULL},
    {"backend.startup_timeout_s", CFG_T_DBL, OFF(backend.startup_timeout_s), "600", 0, 0, 604800, 0,
     NULL, NULL, NULL},
    BOOL("backend.insecure_tls", backend.insecure_tls, "false"),
    TRI("backend.ignore_eos", backend.ignore_eos),
    STR("backend.device", backend.device, "cuda", CFG_NONEMPTY),
    {"backend.device_ids", CFG_T_INT_LIST, OFF(backend.device_ids), "[]", 0, 0, 65535, 0, NULL,
     NULL, NULL},
    STR("backend.task", backend.task, "text-generation", CFG_NONEMPTY),
    {"backend.torch_dtype", CFG_T_STR, OFF(backend.torch_dtype), "auto", CFG_NONEMPTY, NONE, NONE,
     0, NULL, check_dtype, NULL},
    STR("backend.device_map", backend.device_map, "null", CFG_NULLABLE),
    {"backend.max_memory", CFG_T_KV, OFF(backend.max_memory), "{}", 0, NONE, NONE, 0, NULL, NULL,
     NULL},
    BOOL("backend.load_in_8bit", backend.load_in_8bit, "false"),
    BOOL("backend.load_in_4bit", backend.load_in_4bit, "false"),
    BOOL("backend.trust_remote_code", backend.trust_remote_code, "false"),
    BOOL("backend.use_cache", backend.use_cache, "true"),
    {"backend.pad_token_id", CFG_T_I64, OFF(backend.pad_token_id), "null", CFG_NULLABLE, 0, NONE,
     -1, NULL, NULL, NULL},
    STR("backend.python", backend.python, "python3", CFG_NONEMPTY),
    {"backend.threads", CFG_T_INT, OFF(backend.threads), "0", 0, 0, 1024, 0, NULL, NULL, NULL},
    {"backend.context_length", CFG_T_INT, OFF(backend.context_length), "0", 0, 0, 1048576, 0, NULL,
     NULL, NULL},
    BOOL("backend.no_weights", backend.no_weights, "false"),

    SECTION("scenario"),
    STR("scenario.dataset_name", scenario.dataset_name, "AIEnergyScore/text_generation",
        CFG_NONEMPTY),
    STR("scenario.text_column_name", scenario.text_column_name, "text", CFG_NONEMPTY),
    STR("scenario.dataset_split", scenario.dataset_split, "train", CFG_NONEMPTY),
    {"scenario.num_samples", CFG_T_INT, OFF(scenario.num_samples), "10", 0, 1, 10000000, 0, NULL,
     NULL, "NUM_SAMPLES"},
    BOOL("scenario.truncation", scenario.truncation, "true"),
    BOOL("scenario.reasoning", scenario.reasoning, "false"),
    {"scenario.reasoning_params", CFG_T_JSON, OFF(scenario.reasoning_params), "{}", 0, NONE, NONE,
     0, NULL, NULL, NULL},
    SECTION("scenario.input_shapes"),
    {"scenario.input_shapes.batch_size", CFG_T_INT, OFF(scenario.input_shapes.batch_size), "1", 0,
     1, 65536, 0, NULL, NULL, NULL},
    SECTION("scenario.generate_kwargs"),
    {"scenario.generate_kwargs.max_new_tokens", CFG_T_INT,
     OFF(scenario.generate_kwargs.max_new_tokens), "100", 0, 1, 1048576, 0, NULL, NULL,
     "MAX_NEW_TOKENS"},
    {"scenario.generate_kwargs.min_new_tokens", CFG_T_INT,
     OFF(scenario.generate_kwargs.min_new_tokens), "0", 0, 0, 1048576, 0, NULL, NULL, NULL},
    {"scenario.generate_kwargs.temperature", CFG_T_DBL, OFF(scenario.generate_kwargs.temperature),
     "null", CFG_NULLABLE, 0, NONE, 0, NULL, NULL, NULL},
    {"scenario.generate_kwargs.top_p", CFG_T_DBL, OFF(scenario.generate_kwargs.top_p), "null",
     CFG_NULLABLE | CFG_MIN_EXCL, 0, 1, 0, NULL, NULL, NULL},
    {"scenario.generate_kwargs.top_k", CFG_T_INT, OFF(scenario.generate_kwargs.top_k), "null",
     CFG_NULLABLE, 1, 1000000, -1, NULL, NULL, NULL},
    TRI("scenario.generate_kwargs.do_sample", scenario.generate_kwargs.do_sample),
    {"scenario.warmup_requests", CFG_T_INT, OFF(scenario.warmup_requests), "1", 0, 0, 1000000, 0,
     NULL, NULL, NULL},
    {"scenario.max_concurrency", CFG_T_INT, OFF(scenario.max_concurrency), "1", 0, 1, 10000, 0,
     NULL, NULL, NULL},
    {"scenario.repetitions", CFG_T_INT, OFF(scenario.repetitions), "1", 0, 1, 1000, 0, NULL, NULL,
     NULL},
    {"scenario.method", CFG_T_ENUM, OFF(scenario.method), "standard", 0, NONE, NONE, 0,
     scenario_methods, NULL, NULL},
    {"scenario.request_rate", CFG_T_DBL, OFF(scenario.request_rate), ".inf",
     CFG_INF_OK | CFG_MIN_EXCL, 0, NONE, 0, NULL, NULL, NULL},
    {"scenario.burstiness", CFG_T_DBL, OFF(scenario.burstiness), "1.0", CFG_MIN_EXCL, 0, 1000, 0,
     NULL, NULL, NULL},
    {"scenario.seed", CFG_T_I64, OFF(scenario.seed), "0", 0, 0, NONE, 0, NULL, NULL, NULL},
    {"scenario.max_consecutive_failures", CFG_T_INT, OFF(scenario.max_consecutive_failures), "3", 0,
     0, 1000000, 0, NULL, NULL, NULL},
    SECTION("scenario.slo"),
    {"scenario.slo.ttft_ms", CFG_T_DBL, OFF(scenario.slo.ttft_ms), "null",
     CFG_NULLABLE | CFG_MIN_EXCL, 0, NONE, 0, NULL, NULL, NULL},
    {"scenario.slo.tpot_ms", CFG_T_DBL, OFF(scenario.slo.tpot_ms), "null",
     CFG_NULLABLE | CFG_MIN_EXCL, 0, NONE, 0, NULL, NULL, NULL},
    {"scenario.slo.e2el_ms", CFG_T_DBL, OFF(scenario.slo.e2el_ms), "null",
     CFG_NULLABLE | CFG_MIN_EXCL, 0, NONE, 0, NULL, NULL, NULL},

    SECTION("metrics"),
    {"metrics.type", CFG_T_ENUM, OFF(metrics.type), "codecarbon", 0, NONE, NONE, 0, metrics_types,
     NULL, NULL},
    BOOL("metrics.enabled", metrics.enabled, "true"),
    STR("metrics.project_name", metrics.project_name, "aieb", CFG_NONEMPTY),
    STR("metrics.output_dir", metrics.output_dir, "null", CFG_NULLABLE),
    {"metrics.country_iso_code", CFG_T_STR, OFF(metrics.country_iso_code), "USA", CFG_NONEMPTY,
     NONE, NONE, 0, NULL, check_iso3, "COUNTRY_ISO_CODE"},
    {"metrics.region", CFG_T_STR, OFF(metrics.region), "null", CFG_NULLABLE, NONE, NONE, 0, NULL,
     NULL, "REGION"},
    {"metrics.sample_interval_ms", CFG_T_INT, OFF(metrics.sample_interval_ms), "20", 0, 5, 60000, 0,
     NULL, NULL, NULL},
    {"metrics.idle_baseline_s", CFG_T_DBL, OFF(metrics.idle_baseline_s), "5", 0, 0, 3600, 0, NULL,
     NULL, NULL},
    {"metrics.carbon_intensity_g_per_kwh", CFG_T_DBL, OFF(metrics.carbon_intensity_g_per_kwh),
     "null", CFG_NULLABLE, 0, 5000, 0, NULL, NULL, NULL},
    {"metrics.pue", CFG_T_DBL, OFF(metrics.pue), "1.0", 0, 1, 10, 0, NULL, NULL, NULL},
    {"metrics.cpu_tdp_w", CFG_T_DBL, OFF(metrics.cpu_tdp_w), "null", CFG_NULLABLE | CFG_MIN_EXCL, 0,
     100000, 0, NULL, NULL, NULL},
    {"metrics.gpu_ids", CFG_T_INT_LIST, OFF(metrics.gpu_ids), "[]", 0, 0, 65535, 0, NULL, NULL,
     NULL},
    {"metrics.remote", CFG_T_JSON_LIST, OFF(metrics.remote), "[]", 0, NONE, NONE, 0, NULL,
     check_remote, NULL},

    SECTION("reporter"),
    {"reporter.type", CFG_T_ENUM, OFF(reporter.type), "csv", 0, NONE, NONE, 0, reporter_types, NULL,
     NULL},
    {"reporter.output_file", CFG_T_STR, OFF(reporter.output_file),
     "./results/benchmark_results.csv", CFG_NONEMPTY, NONE, NONE, 0, NULL, NULL, "RESULTS_FILE"},
    {"reporter.database", CFG_T_STR, OFF(reporter.database), "null", CFG_NULLABLE | CFG_NONEMPTY,
     NONE, NONE, 0, NULL, NULL, "AIEB_DATABASE"},

    {"output_dir", CFG_T_STR, OFF(output_dir), "./results", CFG_NONEMPTY, NONE, NONE, 0, NULL, NULL,
     "OUTPUT_DIR"},
};

const size_t cfg_n_keys = sizeof cfg_keys / sizeof cfg_keys[0];

/* ==== Lookup ==== */

int cfg_key_index(const char *path)
{
    for (size_t i = 0; i < cfg_n_keys; i++)
        if (strcmp(cfg_keys[i].path, path) == 0)
            return (int)i;
    return -1;
}

int cfg_key_map_prefix(const char *path, const char **sub)
{
    for (size_t i = 0; i < cfg_n_keys; i++) {
        const cfg_key *k = &cfg_keys[i];
        if (k->type != CFG_T_KV && k->type != CFG_T_JSON)
            continue;
        size_t n = strlen(k->path);
        if (strncmp(path, k->path, n) == 0 && path[n] == '.' && path[n + 1]) {
            *sub = path + n + 1;
            return (int)i;
        }
    }
    return -1;
}

/* ==== Suggestions ==== */

size_t cfg_edit_distance(const char *a, const char *b, size_t limit)
{
    size_t la = strlen(a), lb = strlen(b);
    if ((la > lb ? la - lb : lb - la) > limit || la > 128 || lb > 128)
        return limit + 1;
    /* optimal string alignment: insertions, deletions, substitutions, swaps */
    size_t d[129][129];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb] > limit ? limit + 1 : d[la][lb];
}

static size_t threshold(size_t len)
{
    return len <= 3 ? 1 : len <= 8 ? 2 : 3;
}

static const char *last_part(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : path;
}

int cfg_suggest_key(const char *path, char *buf, size_t n)
{
    const char *name = last_part(path);
    size_t parent_len = (size_t)(name - path); /* includes the dot */
    size_t name_len = strlen(name);
    if (name_len > 64)
        return 0;
    size_t limit = threshold(name_len);
    size_t path_limit = threshold(strlen(path));
    const cfg_key *best = NULL;
    size_t best_cost = (size_t)-1;
    for (size_t i = 0; i < cfg_n_keys; i++) {
        const cfg_key *k = &cfg_keys[i];
        const char *kn = last_part(k->path);
        size_t kp_len = (size_t)(kn - k->path);
        int sibling = kp_len == parent_len && strncmp(k->path, path, parent_len) == 0;
        size_t dist = cfg_edit_distance(name, kn, limit);
        /* Outside the section, the whole dotted path within the typo limit
         * ("senario.num_sample") counts as a sibling at that distance. */
        size_t whole = sibling ? path_limit + 1 : cfg_edit_distance(path, k->path, path_limit);
        if (dist > limit && whole > path_limit)
            continue;
        /* A sibling within the typo limit beats the same word elsewhere; the same
         * word elsewhere beats a typo elsewhere. */
        size_t cost = dist > limit ? (size_t)-1 : sibling ? dist * 2 : dist == 0 ? 1 : dist * 2 + 2;
        if (whole <= path_limit && whole * 2 < cost)
            cost = whole * 2;
        if (cost < best_cost) {
            best = k;
            best_cost = cost;
        }
    }
    if (!best || strcmp(best->path, path) == 0)
        return 0;
    snprintf(buf, n, "%s", best->path);
    return 1;
}

int cfg_suggest_word(const char *s, const char *const *choices, char *buf, size_t n)
{
    size_t limit = threshold(strlen(s));
    size_t best = limit + 1;
    const char *pick = NULL;
    for (size_t i = 0; choices[i]; i++) {
        size_t d = cfg_edit_distance(s, choices[i], limit);
        if (d < best) {
            best = d;
            pick = choices[i];
        }
    }
    if (!pick)
        return 0;
    snprintf(buf, n, "%s", pick);
    return 1;
}

/* ==== Descriptions ==== */

static void put_num(aieb_buf *out, double v)
{
    aieb_buf_printf(out, "%.15g", v);
}

void cfg_describe_expected(const cfg_key *k, aieb_buf *out)
{
    switch (k->type) {
    case CFG_T_SECTION:
        aieb_buf_puts(out, "a mapping of keys");
        return;
    case CFG_T_STR:
        aieb_buf_puts(out, k->flags & CFG_NONEMPTY ? "a non-empty string" : "a string");
        break;
    case CFG_T_ENUM:
        aieb_buf_puts(out, "one of ");
        for (size_t i = 0; k->choices[i]; i++)
            aieb_buf_printf(out, "%s%s", i ? (k->choices[i + 1] ? ", " : " or ") : "",
                            k->choices[i]);
        break;
    case CFG_T_BOOL:
        aieb_buf_puts(out, "true or false");
        break;
    case CFG_T_TRI:
        aieb_buf_puts(out, "true, false or null");
        return;
    case CFG_T_KV:
        aieb_buf_puts(out, "a mapping of device to size, e.g. {0: 20GB, cpu: 64GB}");
        return;
    case CFG_T_JSON:
        aieb_buf_puts(out, "a mapping");
        return;
    case CFG_T_JSON_LIST:
        aieb_buf_puts(out, "a list of mappings");
        return;
    case CFG_T_INT_LIST:
    case CFG_T_INT:
    case CFG_T_I64:
    case CFG_T_DBL: {
        int is_list = k->type == CFG_T_INT_LIST;
        aieb_buf_puts(out, is_list                ? "a list of integers"
                           : k->type == CFG_T_DBL ? "a number"
                                                  : "an integer");
        int lo = !isnan(k->min), hi = !isnan(k->max);
        if (lo && hi && !is_list) {
            aieb_buf_printf(out, " in %c", k->flags & CFG_MIN_EXCL ? '(' : '[');
            put_num(out, k->min);
            aieb_buf_puts(out, ", ");
            put_num(out, k->max);
            aieb_buf_puts(out, "]");
        } else if (lo) {
            aieb_buf_puts(out, is_list ? " each >= " : k->flags & CFG_MIN_EXCL ? " > " : " >= ");
            put_num(out, k->min);
        }
        if (k->flags & CFG_INF_OK)
            aieb_buf_puts(out, ", or .inf for unlimited");
        break;
    }
    }
    if (k->flags & CFG_NULLABLE)
        aieb_buf_puts(out, ", or null");
}
