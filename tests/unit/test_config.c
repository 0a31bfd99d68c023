/* test_config.c - configuration: parsing, defaults, interpolation, precedence,
 * sources, YAML output, the earlier tool's schema, and the docs' coverage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/config.h"
#include "aieb/fileio.h"
#include "config/internal.h"
#include "test_config_helpers.h"

static int setup(void **state)
{
    clear_override_env();
    return 0;
}

/* ==== Defaults ==== */

static void defaults_are_the_documented_ones(void **state)
{
    aieb_config *c = aieb_config_defaults();
    assert_non_null(c);
    assert_string_equal(c->name, "benchmark");
    assert_string_equal(c->backend.type, "vllm");
    assert_int_equal(c->backend.kind, AIEB_CFG_BACKEND_VLLM);
    assert_string_equal(c->backend.endpoint, "http://localhost:8000/v1");
    assert_string_equal(c->backend.api, "chat");
    assert_string_equal(c->backend.api_key_env, "OPENAI_API_KEY");
    assert_float_equal(c->backend.timeout_s, 300, 0);
    assert_int_equal(c->backend.ignore_eos, -1);
    assert_int_equal(c->backend.device_ids.n, 0);
    assert_null(c->backend.device_map);
    assert_int_equal(c->backend.pad_token_id, -1);
    assert_int_equal(c->backend.use_cache, 1);
    assert_string_equal(c->scenario.dataset_name, "AIEnergyScore/text_generation");
    assert_string_equal(c->scenario.text_column_name, "text");
    assert_int_equal(c->scenario.num_samples, 10);
    assert_int_equal(c->scenario.truncation, 1);
    assert_int_equal(c->scenario.input_shapes.batch_size, 1);
    assert_int_equal(c->scenario.generate_kwargs.max_new_tokens, 100);
    assert_int_equal(c->scenario.generate_kwargs.min_new_tokens, 0);
    assert_true(isnan(c->scenario.generate_kwargs.temperature));
    assert_true(isnan(c->scenario.generate_kwargs.top_p));
    assert_int_equal(c->scenario.generate_kwargs.top_k, -1);
    assert_int_equal(c->scenario.generate_kwargs.do_sample, -1);
    assert_true(json_is_object(c->scenario.reasoning_params));
    assert_int_equal(json_object_size(c->scenario.reasoning_params), 0);
    assert_int_equal(c->scenario.warmup_requests, 1);
    assert_int_equal(c->scenario.max_concurrency, 1);
    assert_true(isinf(c->scenario.request_rate));
    assert_float_equal(c->scenario.burstiness, 1.0, 0);
    assert_int_equal(c->scenario.max_consecutive_failures, 3);
    assert_true(isnan(c->scenario.slo.ttft_ms));
    assert_string_equal(c->metrics.type, "codecarbon");
    assert_int_equal(c->metrics.enabled, 1);
    assert_string_equal(c->metrics.project_name, "aieb");
    assert_string_equal(c->metrics.country_iso_code, "USA");
    assert_null(c->metrics.region);
    assert_int_equal(c->metrics.sample_interval_ms, 20);
    assert_float_equal(c->metrics.pue, 1.0, 0);
    assert_true(isnan(c->metrics.cpu_tdp_w));
    assert_true(isnan(c->metrics.carbon_intensity_g_per_kwh));
    assert_string_equal(c->reporter.type, "csv");
    assert_string_equal(c->reporter.output_file, "./results/benchmark_results.csv");
    assert_string_equal(c->output_dir, "./results");
    char src[64];
    assert_int_equal(aieb_config_source(c, "scenario.num_samples", src, sizeof src), 0);
    assert_string_equal(src, "default");
    assert_int_equal(aieb_config_source(c, "scenario.nope", src, sizeof src), AIEB_ENOTFOUND);
    assert_string_equal(src, "");
    assert_int_equal(aieb_config_source(c, "backend", src, sizeof src), AIEB_ENOTFOUND);
    aieb_config_free(c);
    aieb_config_free(NULL);
}

/* ==== Parsing ==== */

static void parses_every_section(void **state)
{
    const char *y = "name: full\n"
                    "backend:\n"
                    "  type: OpenAI\n" /* enum values are case-insensitive */
                    "  model: m1\n"
                    "  endpoint: https://example.test/v1\n"
                    "  api: completions\n"
                    "  timeout_s: 12.5\n"
                    "  insecure_tls: yes\n"
                    "  ignore_eos: auto\n"
                    "  device_ids: [1, 0]\n"
                    "  max_memory: {1: 10GB, 0: 20GiB, cpu: '64 GB'}\n"
                    "  pad_token_id: 0\n"
                    "  threads: 2\n"
                    "scenario:\n"
                    "  num_samples: '12'\n" /* quoted numbers are numbers */
                    "  reasoning: on\n"
                    "  reasoning_params:\n"
                    "    reasoning_effort: high\n"
                    "    enable_thinking: false\n"
                    "    thinking_budget: 256\n"
                    "    ratio: 0.5\n"
                    "    quoted: \"true\"\n"
                    "    nested: {a: [1, two, null]}\n"
                    "  generate_kwargs:\n"
                    "    max_new_tokens: 64\n"
                    "    min_new_tokens: 64\n"
                    "    temperature: 0\n"
                    "    top_p: 1\n"
                    "    top_k: 40\n"
                    "    do_sample: false\n"
                    "  request_rate: 2.5\n"
                    "  seed: 12345678901\n"
                    "  slo: {ttft_ms: 250, tpot_ms: 20.5}\n"
                    "metrics:\n"
                    "  region: null\n"
                    "  carbon_intensity_g_per_kwh: 56\n"
                    "  cpu_tdp_w: 65\n"
                    "  gpu_ids: 3\n"
                    "output_dir: /tmp/out\n";
    aieb_diags d;
    aieb_diags_init(&d);
    aieb_config *c = load_ok(y, &d);
    assert_int_equal(d.n_warnings, 0);
    assert_string_equal(c->name, "full");
    assert_string_equal(c->backend.type, "openai");
    assert_int_equal(c->backend.kind, AIEB_CFG_BACKEND_OPENAI);
    assert_string_equal(c->backend.api, "completions");
    assert_float_equal(c->backend.timeout_s, 12.5, 0);
    assert_int_equal(c->backend.insecure_tls, 1);
    assert_int_equal(c->backend.ignore_eos, -1);
    assert_int_equal(c->backend.device_ids.n, 2);
    assert_int_equal(c->backend.device_ids.items[0], 1);
    assert_int_equal(c->backend.device_ids.items[1], 0);
    assert_int_equal(c->backend.max_memory.n, 3); /* in file order */
    assert_string_equal(c->backend.max_memory.items[0].key, "1");
    assert_string_equal(c->backend.max_memory.items[1].value, "20GiB");
    assert_string_equal(c->backend.max_memory.items[2].key, "cpu");
    assert_int_equal(c->backend.pad_token_id, 0);
    assert_int_equal(c->scenario.num_samples, 12);
    assert_int_equal(c->scenario.reasoning, 1);
    const json_t *rp = c->scenario.reasoning_params;
    assert_string_equal(json_string_value(json_object_get(rp, "reasoning_effort")), "high");
    assert_true(json_is_false(json_object_get(rp, "enable_thinking")));
    assert_int_equal(json_integer_value(json_object_get(rp, "thinking_budget")), 256);
    assert_float_equal(json_real_value(json_object_get(rp, "ratio")), 0.5, 0);
    assert_string_equal(json_string_value(json_object_get(rp, "quoted")), "true");
    const json_t *arr = json_object_get(json_object_get(rp, "nested"), "a");
    assert_int_equal(json_array_size(arr), 3);
    assert_string_equal(json_string_value(json_array_get(arr, 1)), "two");
    assert_true(json_is_null(json_array_get(arr, 2)));
    assert_int_equal(c->scenario.generate_kwargs.max_new_tokens, 64);
    assert_float_equal(c->scenario.generate_kwargs.temperature, 0, 0);
    assert_float_equal(c->scenario.generate_kwargs.top_p, 1, 0);
    assert_int_equal(c->scenario.generate_kwargs.top_k, 40);
    assert_int_equal(c->scenario.generate_kwargs.do_sample, 0);
    assert_float_equal(c->scenario.request_rate, 2.5, 0);
    assert_true(c->scenario.seed == 12345678901LL);
    assert_float_equal(c->scenario.slo.ttft_ms, 250, 0);
    assert_float_equal(c->scenario.slo.tpot_ms, 20.5, 0);
    assert_true(isnan(c->scenario.slo.e2el_ms));
    assert_null(c->metrics.region);
    assert_float_equal(c->metrics.carbon_intensity_g_per_kwh, 56, 0);
    assert_int_equal(c->metrics.gpu_ids.n, 1);
    assert_int_equal(c->metrics.gpu_ids.items[0], 3);
    assert_string_equal(c->output_dir, "/tmp/out");
    aieb_config_free(c);
    aieb_diags_free(&d);
}

static void types_come_from_the_schema(void **state)
{
    aieb_diags d;
    aieb_diags_init(&d);
    aieb_config *c = load_ok("name: 123\n"
                             "metrics:\n"
                             "  region: \"null\"\n" /* quoted: the string, not null */
                             "  project_name: yes\n"
                             "backend:\n"
                             "  endpoint: ~\n"
                             "  type: pytorch\n",
                             &d);
    assert_string_equal(c->name, "123");
    assert_string_equal(c->metrics.region, "null");
    assert_string_equal(c->metrics.project_name, "yes");
    assert_null(c->backend.endpoint); /* fine for pytorch */
    aieb_config_free(c);
    aieb_diags_free(&d);
}

static void empty_sections_and_merge_keys(void **state)
{
    aieb_diags d;
    aieb_diags_init(&d);
    aieb_config *c = load_ok("x-common: &common\n"
                             "  max_new_tokens: 50\n"
                             "  temperature: 0.5\n"
                             "reporter:\n"
                             "scenario:\n"
                             "  generate_kwargs:\n"
                             "    <<: *common\n"
                             "    max_new_tokens: 60\n",
                             &d);
    assert_int_equal(c->scenario.generate_kwargs.max_new_tokens, 60); /* explicit wins */
    assert_float_equal(c->scenario.generate_kwargs.temperature, 0.5, 0);
    assert_int_equal(d.n_warnings, 0); /* x- keys are the user's own */
    char src[128];
    aieb_config_source(c, "scenario.generate_kwargs.temperature", src, sizeof src);
    assert_string_equal(src, "t.yaml:3"); /* where the merged value is written */
    aieb_config_free(c);
    aieb_diags_free(&d);
}

/* ==== Interpolation ==== */

static char *interp(const char *s, int *rc)
{
    char *out = NULL, why[256];
    size_t len;
    int expanded;
    *rc = cfg_interpolate(s, strlen(s), &out, &len, &expanded, why, sizeof why);
    if (*rc) {
        assert_null(out);
        out = strdup(why);
    }
    return out;
}

static void interpolation_forms(void **state)
{
    setenv("AIEB_T_A", "alpha", 1);
    setenv("AIEB_T_EMPTY", "", 1);
    unsetenv("AIEB_T_UNSET");
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"plain", "plain"},
        {"${AIEB_T_A}", "alpha"},
        {"x-${AIEB_T_A}-y", "x-alpha-y"},
        {"${AIEB_T_UNSET:-dflt}", "dflt"},
        {"${AIEB_T_EMPTY:-dflt}", "dflt"},
        {"${AIEB_T_EMPTY}", ""},
        {"${AIEB_T_A:-dflt}", "alpha"},
        {"${AIEB_T_UNSET:-${AIEB_T_A}}", "alpha"},
        {"${AIEB_T_UNSET:-${AIEB_T_UNSET:-deep}}", "deep"},
        {"${AIEB_T_UNSET:-}", ""},
        {"$${AIEB_T_A}", "${AIEB_T_A}"},
        {"cost $5 $", "cost $5 $"},
        {"$$", "$$"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int rc;
        char *out = interp(ok[i].in, &rc);
        if (rc)
            fprintf(stderr, "%s: %s\n", ok[i].in, out);
        assert_int_equal(rc, 0);
        assert_string_equal(out, ok[i].out);
        free(out);
    }
    static const struct {
        const char *in, *why;
    } bad[] = {
        {"${AIEB_T_UNSET}", "AIEB_T_UNSET is not set"},
        {"${AIEB_T_A", "unclosed ${"},
        {"${}", "unsupported interpolation"},
        {"${1X}", "unsupported interpolation"},
        {"${A-B}", "unsupported interpolation"},
        {"${A:=B}", "unsupported interpolation"},
        {"${A:-${B:-${C:-${D:-${E:-${F:-${G:-${H:-${I:-${J:-x}}}}}}}}}}", "nested more than"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc;
        char *why = interp(bad[i].in, &rc);
        assert_int_equal(rc, AIEB_EINVAL);
        if (!strstr(why, bad[i].why))
            fprintf(stderr, "%s: %s\n", bad[i].in, why);
        assert_non_null(strstr(why, bad[i].why));
        free(why);
    }
    /* a variable cannot blow a value up past the scalar cap */
    char *big = malloc(AIEB_CONFIG_MAX_SCALAR_BYTES + 2);
    memset(big, 'x', AIEB_CONFIG_MAX_SCALAR_BYTES + 1);
    big[AIEB_CONFIG_MAX_SCALAR_BYTES + 1] = '\0';
    setenv("AIEB_T_BIG", big, 1);
    free(big);
    int rc;
    char *why = interp("${AIEB_T_BIG}", &rc);
    assert_int_equal(rc, AIEB_ETOOBIG);
    assert_non_null(strstr(why, "longer than"));
    free(why);
    unsetenv("AIEB_T_BIG");
}

static void interpolation_in_files(void **state)
{
    setenv("AIEB_T_N", "42", 1);
    unsetenv("AIEB_T_UNSET");
    aieb_diags d;
    aieb_diags_init(&d);
    aieb_config *c = load_ok("scenario:\n"
                             "  num_samples: \"${AIEB_T_N:-100}\"\n"
                             "  generate_kwargs:\n"
                             "    max_new_tokens: ${AIEB_T_UNSET:-77}\n"
                             "backend:\n"
                             "  model: \"${AIEB_T_UNSET:-org/model}\"\n"
                             "  device_ids: ['${AIEB_T_UNSET:-2}']\n"
                             "metrics:\n"
                             "  region: ${AIEB_T_UNSET:-null}\n"
                             "  project_name: \"$${literal}\"\n",
                             &d);
    assert_int_equal(c->scenario.num_samples, 42);
    assert_int_equal(c->scenario.generate_kwargs.max_new_tokens, 77);
    assert_string_equal(c->backend.model, "org/model");
    assert_int_equal(c->backend.device_ids.items[0], 2);
    assert_null(c->metrics.region); /* plain scalar: the default "null" is null */
    assert_string_equal(c->metrics.project_name, "${literal}");
    aieb_config_free(c);
    aieb_diags_free(&d);

    /* numbers are validated after interpolation, and the message says so */
    setenv("AIEB_T_N", "lots", 1);
    aieb_diags_init(&d);
    load_fails("scenario:\n  num_samples: \"${AIEB_T_N:-100}\"\n", &d);
    expect_diag(&d, AIEB_DIAG_ERROR, "scenario.num_samples", 2,
                "not a number (expected an integer in [1, 10000000], got \"lots\" from "
                "\"${AIEB_T_N:-100}\")");
    aieb_diags_free(&d);
    setenv("AIEB_T_N", "0", 1);
    aieb_diags_init(&d);
    load_fails("scenario:\n  num_samples: ${AIEB_T_N}\n", &d);
    expect_diag(&d, AIEB_DIAG_ERROR, "scenario.num_samples", 2, "out of range");
    aieb_diags_free(&d);
    aieb_diags_init(&d);
    load_fails("backend:\n  model: ${AIEB_T_UNSET}\n", &d);
    expect_diag(&d, AIEB_DIAG_ERROR, "backend.model", 2, "AIEB_T_UNSET is not set");
    aieb_diags_free(&d);
    unsetenv("AIEB_T_N");
}

/* ==== Precedence and sources ==== */

static void precedence_defaults_file_env_set(void **state)
{
    const char *y = "scenario:\n"
                    "  num_samples: 5\n"
                    "  generate_kwargs:\n"
                    "    max_new_tokens: 50\n";
    aieb_diags d;
    aieb_diags_init(&d);
    char src[128];

    aieb_config *c = load_ok(y, &d); /* file over default */
    assert_int_equal(c->scenario.num_samples, 5);
    aieb_config_source(c, "scenario.num_samples", src, sizeof src);
    assert_string_equal(src, "t.yaml:2");
    aieb_config_source(c, "scenario.seed", src, sizeof src);
    assert_string_equal(src, "default");
    aieb_config_free(c);

    setenv("NUM_SAMPLES", "7", 1); /* environment over file */
    c = load_ok(y, &d);
    assert_int_equal(c->scenario.num_samples, 7);
    assert_int_equal(c->scenario.generate_kwargs.max_new_tokens, 50);
    aieb_config_source(c, "scenario.num_samples", src, sizeof src);
    assert_string_equal(src, "env NUM_SAMPLES");
    aieb_config_free(c);

    const char *sets[] = {"scenario.num_samples=9", "scenario.num_samples=11"};
    c = load_ok_sets(y, sets, 2, &d); /* --set over environment; the last --set wins */
    assert_int_equal(c->scenario.num_samples, 11);
    aieb_config_source(c, "scenario.num_samples", src, sizeof src);
    assert_string_equal(src, "--set");
    aieb_config_free(c);

    setenv("NUM_SAMPLES", "", 1); /* empty = not set */
    c = load_ok(y, &d);
    assert_int_equal(c->scenario.num_samples, 5);
    aieb_config_free(c);
    unsetenv("NUM_SAMPLES");
    assert_int_equal(d.n_errors, 0);
    aieb_diags_free(&d);
}

static void every_environment_override(void **state)
{
    setenv("BENCHMARK_BACKEND", "pytorch", 1);
    setenv("BENCHMARK_MODEL", "org/env-model", 1);
    setenv("VLLM_ENDPOINT", "http://10.0.0.2:9000/v1", 1);
    setenv("NUM_SAMPLES", "3", 1);
    setenv("MAX_NEW_TOKENS", "4", 1);
    setenv("COUNTRY_ISO_CODE", "FRA", 1);
    setenv("REGION", "idf", 1);
    setenv("OUTPUT_DIR", "/tmp/env-out", 1);
    setenv("RESULTS_FILE", "/tmp/env.csv", 1);
    aieb_diags d;
    aieb_diags_init(&d);
    aieb_config *c = load_ok("backend:\n  type: vllm\n  model: file-model\n", &d);
    assert_int_equal(c->backend.kind, AIEB_CFG_BACKEND_PYTORCH);
    assert_string_equal(c->backend.model, "org/env-model");
    assert_string_equal(c->backend.endpoint, "http://10.0.0.2:9000/v1");
    assert_int_equal(c->scenario.num_samples, 3);
    assert_int_equal(c->scenario.generate_kwargs.max_new_tokens, 4);
    assert_string_equal(c->metrics.country_iso_code, "FRA");
    assert_string_equal(c->metrics.region, "idf");
    assert_string_equal(c->output_dir, "/tmp/env-out");
    assert_string_equal(c->reporter.output_file, "/tmp/env.csv");
    char src[64];
    aieb_config_source(c, "reporter.output_file", src, sizeof src);
    assert_string_equal(src, "env RESULTS_FILE");
    aieb_config_free(c);

    /* a bad environment value is reported under its variable's name */
    setenv("NUM_SAMPLES", "many", 1);
    c = (aieb_config *)1;
    aieb_err err;
    assert_int_equal(aieb_config_load(NULL, NULL, 0, &c, &d, &err), AIEB_EINVAL);
    assert_null(c);
    const aieb_diag *g = find_diag(&d, AIEB_DIAG_ERROR, "scenario.num_samples", 0, "not a number");
    assert_non_null(g);
    assert_string_equal(g->file, "env NUM_SAMPLES");
    aieb_diags_free(&d);
    clear_override_env();
}

static void set_forms(void **state)
{
    const char *sets[] = {
        "backend.device_ids=0,2",
        "metrics.gpu_ids=[4, 5]",
        "backend.max_memory={0: 20GB, cpu: 1TB}",
        "backend.max_memory.1=5GB",
        "scenario.reasoning_params.reasoning_effort=low",
        "scenario.reasoning_params.enable_thinking=false",
        "scenario.reasoning=true",
        "scenario.generate_kwargs.repetition_penalty=1.1",
        "name=\"null\"",
        "metrics.region=null",
        "backend.endpoint=http://h:1/v1",
    };
    aieb_diags d;
    aieb_diags_init(&d);
    aieb_config *c =
        load_ok_sets("metrics:\n  region: west\n", sets, sizeof sets / sizeof *sets, &d);
    assert_int_equal(c->backend.device_ids.n, 2);
    assert_int_equal(c->backend.device_ids.items[1], 2);
    assert_int_equal(c->metrics.gpu_ids.items[1], 5);
    assert_int_equal(c->backend.max_memory.n, 3);
    assert_string_equal(c->backend.max_memory.items[1].value, "1TB");
    assert_string_equal(c->backend.max_memory.items[2].key, "1");
    const json_t *rp = c->scenario.reasoning_params;
    assert_string_equal(json_string_value(json_object_get(rp, "reasoning_effort")), "low");
    assert_true(json_is_false(json_object_get(rp, "enable_thinking")));
    assert_float_equal(
        json_real_value(json_object_get(c->scenario.generate_kwargs.extra, "repetition_penalty")),
        1.1, 0);
    assert_string_equal(c->name, "null");
    assert_null(c->metrics.region);
    assert_string_equal(c->backend.endpoint, "http://h:1/v1");
    aieb_config_free(c);
    aieb_diags_free(&d);

    /* validation sees the final values: a bad file value replaced by --set is fine */
    const char *fix[] = {"scenario.num_samples=4"};
    aieb_diags_init(&d);
    c = load_ok_sets("scenario:\n  num_samples: 0\n", fix, 1, &d);
    assert_int_equal(c->scenario.num_samples, 4);
    aieb_config_free(c);
    aieb_diags_free(&d);
}

static void load_without_a_file(void **state)
{
    const char *sets[] = {"name=cli"};
    aieb_diags d;
    aieb_diags_init(&d);
    aieb_config *c = NULL;
    aieb_err err;
    assert_int_equal(aieb_config_load(NULL, sets, 1, &c, &d, &err), 0);
    assert_string_equal(c->name, "cli");
    aieb_config_free(c);
    aieb_diags_free(&d);
}

/* ==== YAML output ==== */

static char *emit(const aieb_config *c, int sources)
{
    aieb_buf b;
    aieb_buf_init(&b, 0);
    assert_int_equal(aieb_config_emit_yaml(c, sources, &b), 0);
    return aieb_buf_steal(&b);
}

static void emit_round_trips(void **state)
{
    const char *y = "name: \"yes\"\n"
                    "backend:\n"
                    "  model: \"a: b # not a comment\"\n"
                    "  device: \"123\"\n"
                    "  task: \"tab\\there, newline\\nand \\\"quotes\\\" \\\\ \\u2028 \\x85\"\n"
                    "  python: \"$${NOT_A_VAR} and $$ and ${AIEB_T_UNSET:-x}\"\n"
                    "  torch_dtype: float16\n"
                    "  max_memory: {\"0\": 20GB, cpu: \"1.5 GB\"}\n"
                    "scenario:\n"
                    "  dataset_name: \"Ünïcødé/データ\"\n"
                    "  reasoning: true\n"
                    "  reasoning_params:\n"
                    "    reasoning_effort: medium\n"
                    "    f: 1.0\n"
                    "    big: 1e300\n"
                    "    s: \"1\"\n"
                    "    \"odd key\": [1, \"x: y\", {k: v}, [], {}]\n"
                    "    empty: {}\n"
                    "    \"${key_not_interpolated}\": 1\n"
                    "    n: {a: {b: 1}}\n"
                    "  generate_kwargs:\n"
                    "    temperature: 0.1\n"
                    "    top_p: 0.30000000000000004\n"
                    "    num_beams: 2\n"
                    "  request_rate: 1e-3\n"
                    "metrics:\n"
                    "  project_name: \" leading space\"\n"
                    "  region: \"\"\n";
    unsetenv("AIEB_T_UNSET");
    aieb_diags d;
    aieb_diags_init(&d);
    aieb_config *c = load_ok(y, &d);
    assert_string_equal(c->backend.python, "${NOT_A_VAR} and $$ and x");
    char *out1 = emit(c, 0);
    aieb_config *c2 = load_ok(out1, &d);
    char *out2 = emit(c2, 0);
    if (strcmp(out1, out2) != 0)
        fprintf(stderr, "first:\n%s\nsecond:\n%s\n", out1, out2);
    assert_string_equal(out1, out2);
    assert_string_equal(c2->name, "yes");
    assert_string_equal(c2->backend.model, c->backend.model);
    assert_string_equal(c2->backend.task, c->backend.task);
    assert_string_equal(c2->backend.python, "${NOT_A_VAR} and $$ and x");
    assert_string_equal(c2->scenario.dataset_name, "Ünïcødé/データ");
    assert_string_equal(c2->metrics.project_name, " leading space");
    assert_string_equal(c2->metrics.region, "");
    assert_true(c2->scenario.generate_kwargs.top_p == 0.30000000000000004);
    assert_true(c2->scenario.request_rate == 1e-3);
    assert_true(json_equal(c->scenario.reasoning_params, c2->scenario.reasoning_params));
    assert_true(json_is_real(json_object_get(c2->scenario.reasoning_params, "f")));
    assert_non_null(json_object_get(c2->scenario.reasoning_params, "${key_not_interpolated}"));
    assert_true(json_is_string(json_object_get(c2->scenario.reasoning_params, "s")));
    assert_true(json_equal(c->scenario.generate_kwargs.extra, c2->scenario.generate_kwargs.extra));
    assert_non_null(strstr(out1, "    num_beams: 2\n"));
    assert_non_null(strstr(out1, "name: \"yes\"\n"));
    assert_non_null(strstr(out1, "  request_rate: 0.001\n"));
    free(out1);
    free(out2);
    aieb_config_free(c2);

    char *withsrc = emit(c, 1);
    assert_non_null(strstr(withsrc, "\n  torch_dtype: float16  # t.yaml:7\n"));
    assert_non_null(strstr(withsrc, "\n  max_memory:  # t.yaml:8\n    \"0\": \"20GB\"\n"));
    assert_non_null(strstr(withsrc, "\n  seed: 0  # default\n"));
    aieb_config *c3 = load_ok(withsrc, &d); /* comments do not get in the way */
    aieb_config_free(c3);
    free(withsrc);
    aieb_config_free(c);
    assert_int_equal(d.n_errors, 0);
    aieb_diags_free(&d);
}

/* ==== The earlier tool's schema, the example configs and the docs ==== */

static char *read_source_file(const char *rel)
{
    const char *dir = getenv("AIEB_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : ".", rel);
    char *data = NULL;
    size_t len;
    aieb_err err;
    if (aieb_read_file(path, 1 << 20, &data, &len, &err) != 0)
        fprintf(stderr, "%s\n", err.msg);
    assert_non_null(data);
    return data;
}

static void earlier_tool_schema_loads_unchanged(void **state)
{
    char *y = read_source_file("tests/golden/config/legacy_schema.yaml");
    aieb_diags d;
    aieb_diags_init(&d);
    aieb_config *c = load_ok(y, &d);
    if (d.n_warnings)
        dump_diags(&d);
    assert_int_equal(d.n_warnings, 0);
    assert_string_equal(c->name, "gpt_oss_reasoning_test");
    assert_int_equal(c->backend.kind, AIEB_CFG_BACKEND_VLLM);
    assert_string_equal(c->backend.model, "openai/gpt-oss-120b");
    assert_string_equal(c->backend.device_map, "auto");
    assert_string_equal(c->backend.max_memory.items[0].value, "70GB");
    assert_int_equal(c->backend.pad_token_id, 0);
    assert_int_equal(c->scenario.generate_kwargs.min_new_tokens, 50);
    assert_float_equal(c->scenario.generate_kwargs.temperature, 0.7, 0);
    assert_int_equal(c->scenario.generate_kwargs.top_k, 50);
    assert_int_equal(c->scenario.generate_kwargs.do_sample, 1);
    assert_true(
        json_is_true(json_object_get(c->scenario.reasoning_params, "custom_flag"))); /* YAML 1.1 */
    assert_string_equal(c->metrics.output_dir, "./emissions");
    assert_string_equal(c->metrics.region, "california");
    assert_string_equal(c->output_dir, "./benchmark_output");
    aieb_config_free(c);
    aieb_diags_free(&d);
    free(y);
}

static void example_configs_load_cleanly(void **state)
{
    static const char *const files[] = {
        "configs/quickstart.yaml",      "configs/vllm_example.yaml",
        "configs/pytorch_example.yaml", "configs/pytorch_multigpu.yaml",
        "configs/energy_star.yaml",     NULL};
    unsetenv("VLLM_ENDPOINT");
    for (int i = 0; files[i]; i++) {
        char *y = read_source_file(files[i]);
        aieb_diags d;
        aieb_diags_init(&d);
        aieb_config *c = load_ok(y, &d);
        if (d.n_warnings)
            dump_diags(&d);
        assert_int_equal(d.n_warnings, 0);
        if (i == 0) {
            assert_int_equal(c->backend.kind, AIEB_CFG_BACKEND_NATIVE);
            assert_string_equal(c->backend.model, "synthetic:smollm-135m?type=q8_0");
            assert_string_equal(c->scenario.dataset_name, "builtin");
            assert_int_equal(c->scenario.num_samples, 10);
            assert_int_equal(c->scenario.generate_kwargs.max_new_tokens, 32);
            assert_string_equal(c->output_dir, "./results");
        }
        if (i == 4) {
            assert_string_equal(c->scenario.dataset_name, "EnergyStarAI/text_generation");
            assert_int_equal(c->scenario.num_samples, 1000);
            assert_int_equal(c->scenario.generate_kwargs.max_new_tokens, 10);
            assert_int_equal(c->scenario.input_shapes.batch_size, 1);
        }
        aieb_config_free(c);
        aieb_diags_free(&d);
        free(y);
    }
}

static void docs_describe_every_key(void **state)
{
    char *doc = read_source_file("docs/configuration.md");
    for (size_t i = 0; i < cfg_n_keys; i++) {
        char want[256];
        snprintf(want, sizeof want, "`%s`", cfg_keys[i].path);
        if (!strstr(doc, want))
            fprintf(stderr, "docs/configuration.md does not mention %s\n", want);
        assert_non_null(strstr(doc, want));
        if (cfg_keys[i].env) {
            assert_non_null(strstr(doc, cfg_keys[i].env));
        }
    }
    free(doc);
}

/* ==== Suggestions and messages ==== */

static void suggestions(void **state)
{
    char buf[128];
    assert_int_equal(cfg_suggest_key("scenario.num_sample", buf, sizeof buf), 1);
    assert_string_equal(buf, "scenario.num_samples");
    assert_int_equal(cfg_suggest_key("model", buf, sizeof buf), 1);
    assert_string_equal(buf, "backend.model");
    assert_int_equal(cfg_suggest_key("scenario.generate_kwargs.temprature", buf, sizeof buf), 1);
    assert_string_equal(buf, "scenario.generate_kwargs.temperature");
    assert_int_equal(cfg_suggest_key("backend.endpiont", buf, sizeof buf), 1);
    assert_string_equal(buf, "backend.endpoint");
    assert_int_equal(cfg_suggest_key("backend.zzzzzzzz", buf, sizeof buf), 0);
    assert_int_equal(cfg_suggest_key("backend.model", buf, sizeof buf), 0); /* not unknown */
    assert_int_equal(cfg_edit_distance("kitten", "sitting", 5), 3);
    assert_int_equal(cfg_edit_distance("ab", "ba", 5), 1);
    assert_int_equal(cfg_edit_distance("abc", "abcdefgh", 2), 3); /* limit + 1 */
    static const char *const w[] = {"vllm", "openai", "pytorch", "native", NULL};
    assert_int_equal(cfg_suggest_word("pytroch", w, buf, sizeof buf), 1);
    assert_string_equal(buf, "pytorch");
    assert_int_equal(cfg_suggest_word("tensorrt", w, buf, sizeof buf), 0);
}

static void diagnostic_format(void **state)
{
    aieb_diags d;
    aieb_diags_init(&d);
    aieb_diags_add(&d, AIEB_DIAG_ERROR, "c.yaml", 3, 7, "scenario.num_samples",
                   "out of range (expected %s, got %d)", "an integer >= 1", 0);
    aieb_diags_add(&d, AIEB_DIAG_WARNING, "c.yaml", 2, 1, "modle", "unknown key");
    aieb_diags_add(&d, AIEB_DIAG_ERROR, "env NUM_SAMPLES", 0, 0, "scenario.num_samples", "bad");
    aieb_buf b;
    aieb_buf_init(&b, 0);
    assert_int_equal(aieb_diag_format(&d.items[0], &b), 0);
    assert_string_equal(b.data, "c.yaml:3:7: scenario.num_samples: out of range (expected an "
                                "integer >= 1, got 0)");
    aieb_buf_reset(&b);
    aieb_diag_format(&d.items[1], &b);
    assert_string_equal(b.data, "c.yaml:2:1: warning: modle: unknown key");
    aieb_buf_reset(&b);
    aieb_diag_format(&d.items[2], &b);
    assert_string_equal(b.data, "env NUM_SAMPLES: scenario.num_samples: bad");
    aieb_buf_free(&b);

    /* printed sorted by file and position */
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    aieb_diags_print(&d, fp, 0);
    fclose(fp);
    assert_string_equal(text, "c.yaml:2:1: warning: modle: unknown key\n"
                              "c.yaml:3:7: scenario.num_samples: out of range (expected an "
                              "integer >= 1, got 0)\n"
                              "env NUM_SAMPLES: scenario.num_samples: bad\n");
    free(text);
    fp = open_memstream(&text, &len);
    aieb_diags_print(&d, fp, 1); /* errors only */
    fclose(fp);
    assert_null(strstr(text, "warning"));
    free(text);
    assert_int_equal(d.n_errors, 2);
    assert_int_equal(d.n_warnings, 1);

    /* past the cap, problems are counted, not kept */
    for (int i = 0; i < AIEB_CONFIG_MAX_DIAGS + 5; i++)
        aieb_diags_add(&d, AIEB_DIAG_WARNING, "c.yaml", i + 10, 1, "k", "w%d", i);
    assert_int_equal(d.n, AIEB_CONFIG_MAX_DIAGS);
    assert_int_equal(d.dropped, 8);
    assert_int_equal(d.n_warnings, AIEB_CONFIG_MAX_DIAGS + 6);
    fp = open_memstream(&text, &len);
    aieb_diags_print(&d, fp, 0);
    fclose(fp);
    assert_non_null(strstr(text, "... and 8 more problems not shown\n"));
    free(text);
    aieb_diags_free(&d);
    assert_int_equal(d.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(defaults_are_the_documented_ones, setup),
        cmocka_unit_test_setup(parses_every_section, setup),
        cmocka_unit_test_setup(types_come_from_the_schema, setup),
        cmocka_unit_test_setup(empty_sections_and_merge_keys, setup),
        cmocka_unit_test_setup(interpolation_forms, setup),
        cmocka_unit_test_setup(interpolation_in_files, setup),
        cmocka_unit_test_setup(precedence_defaults_file_env_set, setup),
        cmocka_unit_test_setup(every_environment_override, setup),
        cmocka_unit_test_setup(set_forms, setup),
        cmocka_unit_test_setup(load_without_a_file, setup),
        cmocka_unit_test_setup(emit_round_trips, setup),
        cmocka_unit_test_setup(earlier_tool_schema_loads_unchanged, setup),
        cmocka_unit_test_setup(example_configs_load_cleanly, setup),
        cmocka_unit_test_setup(docs_describe_every_key, setup),
        cmocka_unit_test_setup(suggestions, setup),
        cmocka_unit_test_setup(diagnostic_format, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
