/* test_format.c - reasoning-format registry (lookup) and formatter (each type). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aieb/format.h"

static aieb_format_registry *reg_builtin(void)
{
    aieb_format_registry *reg = NULL;
    aieb_err err = {0};
    int rc = aieb_format_registry_load(NULL, &reg, &err);
    if (rc)
        fail_msg("embedded registry: %s", err.msg);
    return reg;
}

static int setup(void **state)
{
    *state = reg_builtin();
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    aieb_format_registry_free(*state);
    return 0;
}

/* ==== Lookup ================================================================= */

typedef struct {
    const char *model;
    const char *name; /* family, explicit key or "default" */
    aieb_format_type type;
    aieb_format_match by;
} lookup_case;

static void every_family_matches_its_models(void **state)
{
    const aieb_format_registry *reg = *state;
    assert_true(aieb_format_registry_family_count(reg) >= 9);
    static const lookup_case cases[] = {
        {"openai/gpt-oss-20b", "openai/gpt-oss-20b", AIEB_FORMAT_HARMONY, AIEB_FORMAT_BY_MODEL},
        {"gpt-oss:120b", "gpt-oss", AIEB_FORMAT_HARMONY, AIEB_FORMAT_BY_FAMILY},
        {"unsloth/gpt-oss-20b-GGUF", "gpt-oss", AIEB_FORMAT_HARMONY, AIEB_FORMAT_BY_FAMILY},
        {"HuggingFaceTB/SmolLM3-3B", "HuggingFaceTB/SmolLM3-3B", AIEB_FORMAT_SYSTEM_PROMPT,
         AIEB_FORMAT_BY_MODEL},
        {"ggml-org/SmolLM3-3B-GGUF:Q4_K_M", "smollm", AIEB_FORMAT_SYSTEM_PROMPT,
         AIEB_FORMAT_BY_FAMILY},
        {"deepseek-ai/DeepSeek-R1", "deepseek", AIEB_FORMAT_PREFIX, AIEB_FORMAT_BY_FAMILY},
        {"deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "deepseek", AIEB_FORMAT_PREFIX,
         AIEB_FORMAT_BY_FAMILY},
        {"deepseek-ai/DeepSeek-V3.1", "deepseek", AIEB_FORMAT_PARAMETER, AIEB_FORMAT_BY_FAMILY},
        {"Qwen/Qwen3-8B", "qwen", AIEB_FORMAT_PARAMETER, AIEB_FORMAT_BY_FAMILY},
        {"qwen3:30b-a3b", "qwen", AIEB_FORMAT_PARAMETER, AIEB_FORMAT_BY_FAMILY},
        {"Qwen/Qwen3-30B-A3B-Thinking-2507", "qwen", AIEB_FORMAT_SYSTEM_PROMPT,
         AIEB_FORMAT_BY_FAMILY},
        {"Qwen/Qwen3-235B-A22B-Instruct-2507", "qwen", AIEB_FORMAT_NONE, AIEB_FORMAT_BY_FAMILY},
        {"Qwen/QwQ-32B", "qwq", AIEB_FORMAT_SYSTEM_PROMPT, AIEB_FORMAT_BY_FAMILY},
        {"tencent/Hunyuan-A13B-Instruct", "hunyuan", AIEB_FORMAT_PREFIX, AIEB_FORMAT_BY_FAMILY},
        {"nvidia/Llama-3_1-Nemotron-Ultra-253B-v1", "nemotron", AIEB_FORMAT_SYSTEM_PROMPT,
         AIEB_FORMAT_BY_FAMILY},
        {"nvidia/NVIDIA-Nemotron-Nano-9B-v2", "nemotron", AIEB_FORMAT_SYSTEM_PROMPT,
         AIEB_FORMAT_BY_FAMILY},
        {"nvidia/Llama-3_3-Nemotron-Super-49B-v1_5", "nvidia/Llama-3_3-Nemotron-Super-49B-v1_5",
         AIEB_FORMAT_SYSTEM_PROMPT, AIEB_FORMAT_BY_MODEL},
        {"LGAI-EXAONE/EXAONE-4.0-32B", "exaone", AIEB_FORMAT_PARAMETER, AIEB_FORMAT_BY_FAMILY},
        {"LGAI-EXAONE/EXAONE-Deep-7.8B", "exaone", AIEB_FORMAT_SYSTEM_PROMPT,
         AIEB_FORMAT_BY_FAMILY},
        {"microsoft/Phi-4-reasoning-plus", "phi", AIEB_FORMAT_SYSTEM_PROMPT, AIEB_FORMAT_BY_FAMILY},
        {"microsoft/Phi-4-mini-flash-reasoning", "phi", AIEB_FORMAT_SYSTEM_PROMPT,
         AIEB_FORMAT_BY_FAMILY},
        {"microsoft/phi-4", "default", AIEB_FORMAT_NONE, AIEB_FORMAT_BY_DEFAULT},
        {"cognitivecomputations/dolphin-2.9", "default", AIEB_FORMAT_NONE, AIEB_FORMAT_BY_DEFAULT},
        {"google/gemma-3-27b-it", "gemma", AIEB_FORMAT_NONE, AIEB_FORMAT_BY_FAMILY},
        {"meta-llama/Llama-3.1-8B-Instruct", "default", AIEB_FORMAT_NONE, AIEB_FORMAT_BY_DEFAULT},
        {"", "default", AIEB_FORMAT_NONE, AIEB_FORMAT_BY_DEFAULT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        aieb_format_rule r;
        aieb_format_lookup(reg, cases[i].model, &r);
        if (strcmp(r.name, cases[i].name) || r.type != cases[i].type || r.matched_by != cases[i].by)
            fail_msg("%s: got %s/%s/%d, want %s/%s/%d", cases[i].model, r.name,
                     aieb_format_type_name(r.type), (int)r.matched_by, cases[i].name,
                     aieb_format_type_name(cases[i].type), (int)cases[i].by);
    }
    aieb_format_rule r;
    aieb_format_lookup(reg, NULL, &r);
    assert_string_equal(r.name, "default");
    assert_int_equal(r.type, AIEB_FORMAT_NONE);

    /* overrides carry their own keys and name themselves */
    aieb_format_lookup(reg, "deepseek-ai/DeepSeek-V3.1-Terminus", &r);
    assert_string_equal(r.parameter, "chat_template_kwargs.thinking");
    assert_non_null(r.override_key);
    aieb_format_lookup(reg, "nvidia/NVIDIA-Nemotron-Nano-12B-v2", &r);
    assert_string_equal(r.enable_flag, "/think");
    assert_true(r.default_enabled);
    aieb_format_lookup(reg, "nvidia/Llama-3_1-Nemotron-Nano-8B-v1", &r);
    assert_string_equal(r.enable_flag, "detailed thinking on");
    assert_string_equal(r.disable_flag, "detailed thinking off");
    assert_false(r.default_enabled);
    assert_null(r.override_key);
    assert_string_equal(r.pattern, "nemotron");
}

static void lookup_ignores_case(void **state)
{
    const aieb_format_registry *reg = *state;
    aieb_format_rule r;
    aieb_format_lookup(reg, "OPENAI/GPT-OSS-120B", &r);
    assert_int_equal(r.matched_by, AIEB_FORMAT_BY_MODEL);
    assert_string_equal(r.name, "openai/gpt-oss-120b");
    aieb_format_lookup(reg, "huggingfacetb/smollm3-3b", &r);
    assert_int_equal(r.matched_by, AIEB_FORMAT_BY_MODEL);
    aieb_format_lookup(reg, "QWEN/qWeN3-14B", &r);
    assert_string_equal(r.name, "qwen");
    aieb_format_lookup(reg, "MICROSOFT/PHI-4-REASONING", &r);
    assert_string_equal(r.name, "phi");
    aieb_format_lookup(reg, "qwen/QWEN3-4B-THINKING-2507", &r);
    assert_string_equal(r.override_key, "*thinking-2507*");
}

static aieb_format_registry *parse_ok(const char *yaml)
{
    aieb_format_registry *reg = NULL;
    aieb_err err = {0};
    if (aieb_format_registry_parse(yaml, strlen(yaml), "test.yaml", &reg, &err))
        fail_msg("parse: %s", err.msg);
    return reg;
}

static void explicit_model_beats_pattern(void **state)
{
    aieb_format_registry *reg = parse_ok("families:\n"
                                         "  foo:\n"
                                         "    patterns: [\"foo\"]\n"
                                         "    type: parameter\n"
                                         "  foo-later:\n"
                                         "    patterns: [\"*foo*\"]\n"
                                         "    type: prefix\n"
                                         "models:\n"
                                         "  \"Org/Foo-Special\":\n"
                                         "    type: system_prompt\n"
                                         "    enable_flag: \"/on\"\n"
                                         "  \"foo-bare\":\n"
                                         "    type: harmony\n"
                                         "default:\n"
                                         "  type: prefix\n"
                                         "  prefix: \">>\"\n");
    aieb_format_rule r;
    aieb_format_lookup(reg, "org/foo-special", &r);
    assert_int_equal(r.matched_by, AIEB_FORMAT_BY_MODEL);
    assert_int_equal(r.type, AIEB_FORMAT_SYSTEM_PROMPT);
    assert_string_equal(r.enable_flag, "/on");
    /* a key without '/' matches the name after the last '/' */
    aieb_format_lookup(reg, "someone/FOO-BARE", &r);
    assert_int_equal(r.type, AIEB_FORMAT_HARMONY);
    /* ... but a key with '/' does not match a different org */
    aieb_format_lookup(reg, "other/foo-special", &r);
    assert_int_equal(r.matched_by, AIEB_FORMAT_BY_FAMILY);
    /* file order: the first family whose pattern matches wins */
    assert_string_equal(r.name, "foo");
    assert_int_equal(r.type, AIEB_FORMAT_PARAMETER);
    /* the default's keys apply to unknown models */
    aieb_format_lookup(reg, "bar", &r);
    assert_int_equal(r.type, AIEB_FORMAT_PREFIX);
    assert_string_equal(r.prefix, ">>");
    aieb_format_registry_free(reg);

    /* an empty registry: everything is default null */
    reg = parse_ok("");
    aieb_format_lookup(reg, "Qwen/Qwen3-8B", &r);
    assert_int_equal(r.type, AIEB_FORMAT_NONE);
    aieb_format_registry_free(reg);
}

static void bad_registries_are_refused(void **state)
{
    static const struct {
        const char *yaml;
        int code;
        const char *needle;
    } cases[] = {
        {"families:\n  a:\n    patterns: [a]\n    type: magic\n", AIEB_EINVAL, "line 4"},
        {"families:\n  a:\n    patterns: [a]\n    type: prefix\n    colour: red\n", AIEB_EINVAL,
         "unknown key 'colour'"},
        {"families:\n  a:\n    type: prefix\n", AIEB_EINVAL, "no patterns"},
        {"families:\n  a:\n    patterns: [a]\n", AIEB_EINVAL, "no type"},
        {"families:\n  a:\n    patterns: [a]\n    type: prefix\n    default_enabled: maybe\n",
         AIEB_EINVAL, "true or false"},
        {"families:\n  a:\n    patterns: [a]\n    type: harmony\n    reasoning_effort: max\n",
         AIEB_EINVAL, "low, medium or high"},
        {"families: [1, 2]\n", AIEB_EINVAL, "must be a mapping"},
        {"models:\n  x:\n    enable_flag: a\n", AIEB_EINVAL, "model 'x' has no type"},
        {"famlies: {}\n", AIEB_EINVAL, "unknown top-level key 'famlies'"},
        {"families:\n  a: &x\n    patterns: [a]\n    type: prefix\n  b: *x\n", AIEB_EINVAL,
         "not supported"},
        {"families:\n  a:\n    patterns: [a\n", AIEB_EINVAL, "test.yaml: line"},
        {"a: 1\n---\nb: 2\n", AIEB_EINVAL, "one YAML document"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        aieb_format_registry *reg = (aieb_format_registry *)1;
        aieb_err err = {0};
        int rc = aieb_format_registry_parse(cases[i].yaml, strlen(cases[i].yaml), "test.yaml", &reg,
                                            &err);
        if (rc != cases[i].code || !strstr(err.msg, cases[i].needle))
            fail_msg("case %zu: rc %d, msg '%s', want %d with '%s'", i, rc, err.msg, cases[i].code,
                     cases[i].needle);
        assert_null(reg);
    }
    /* nesting past the cap */
    char deep[200];
    size_t n = 0;
    for (int i = 0; i < 40; i++)
        deep[n++] = '[';
    for (int i = 0; i < 40; i++)
        deep[n++] = ']';
    deep[n] = '\0';
    aieb_format_registry *reg = NULL;
    aieb_err err = {0};
    assert_int_equal(aieb_format_registry_parse(deep, n, "deep.yaml", &reg, &err), AIEB_ETOOBIG);
    /* size cap */
    size_t big = AIEB_FORMAT_MAX_FILE_BYTES + 1;
    char *huge = malloc(big);
    memset(huge, '#', big);
    assert_int_equal(aieb_format_registry_parse(huge, big, "huge.yaml", &reg, &err), AIEB_ETOOBIG);
    free(huge);
    /* files: missing, and a good one */
    assert_int_equal(aieb_format_registry_load("/nonexistent/formats.yaml", &reg, &err),
                     AIEB_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/formats.yaml"));
    char path[] = "/tmp/aieb-fmt-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *y = "families:\n  z:\n    patterns: [zed]\n    type: prefix\n    prefix: Z\n";
    assert_int_equal(write(fd, y, strlen(y)), (ssize_t)strlen(y));
    close(fd);
    assert_int_equal(aieb_format_registry_load(path, &reg, &err), 0);
    aieb_format_rule r;
    aieb_format_lookup(reg, "ZED-1", &r);
    assert_string_equal(r.prefix, "Z");
    aieb_format_registry_free(reg);
    unlink(path);
}

/* ==== Formatter ============================================================== */

static void format_ok(const aieb_format_registry *reg, const char *model, const char *prompt,
                      bool enabled, const char *params_json, aieb_formatted *out)
{
    json_t *params = params_json ? json_loads(params_json, 0, NULL) : NULL;
    if (params_json && !params)
        fail_msg("bad test JSON: %s", params_json);
    aieb_err err = {0};
    int rc = aieb_format_prompt(reg, model, prompt, enabled, params, out, &err);
    json_decref(params);
    if (rc)
        fail_msg("%s: %s", model, err.msg);
}

static void assert_json(const json_t *got, const char *want_json)
{
    json_t *want = json_loads(want_json, 0, NULL);
    assert_non_null(want);
    if (!json_equal((json_t *)got, want)) {
        char *s = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("got %s, want %s", s, want_json);
    }
    json_decref(want);
}

static void harmony_sets_effort_and_renders_prompt(void **state)
{
    const aieb_format_registry *reg = *state;
    aieb_formatted f;
    format_ok(reg, "openai/gpt-oss-20b", "Why is the sky blue?", true,
              "{\"reasoning_effort\": \"high\"}", &f);
    assert_string_equal(f.prompt, "Why is the sky blue?");
    assert_null(f.system_prompt);
    assert_null(f.note);
    assert_json(f.extra_params, "{\"reasoning_effort\": \"high\"}");
    assert_string_equal(f.raw_prompt,
                        "<|start|>system<|message|>You are ChatGPT, a large language model "
                        "trained by OpenAI.\nKnowledge cutoff: 2024-06\n\nReasoning: high\n\n"
                        "# Valid channels: analysis, commentary, final. Channel must be "
                        "included for every message.<|end|>"
                        "<|start|>user<|message|>Why is the sky blue?<|end|><|start|>assistant");
    aieb_formatted_free(&f);

    /* no effort given: the registry's (medium); date and developer instructions */
    format_ok(reg, "gpt-oss:120b", "Hi", true,
              "{\"system_prompt\": \"Answer briefly.\", \"current_date\": \"2025-06-28\"}", &f);
    assert_json(f.extra_params, "{\"reasoning_effort\": \"medium\"}");
    assert_non_null(strstr(f.raw_prompt, "Knowledge cutoff: 2024-06\nCurrent date: 2025-06-28\n"
                                         "\nReasoning: medium\n"));
    assert_non_null(strstr(f.raw_prompt, "<|end|><|start|>developer<|message|># Instructions\n\n"
                                         "Answer briefly.<|end|><|start|>user<|message|>Hi"));
    assert_string_equal(f.system_prompt, "Answer briefly.");
    aieb_formatted_free(&f);

    /* off is not possible: lowest effort, with a note */
    format_ok(reg, "openai/gpt-oss-120b", "Hi", false, NULL, &f);
    assert_json(f.extra_params, "{\"reasoning_effort\": \"low\"}");
    assert_non_null(strstr(f.raw_prompt, "Reasoning: low"));
    assert_non_null(f.note);
    aieb_formatted_free(&f);

    aieb_err err = {0};
    json_t *bad = json_pack("{s:s}", "reasoning_effort", "extreme");
    assert_int_equal(aieb_format_prompt(reg, "gpt-oss-20b", "x", true, bad, &f, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "reasoning_effort"));
    assert_null(f.prompt);
    json_decref(bad);
}

static void system_prompt_flags(void **state)
{
    const aieb_format_registry *reg = *state;
    aieb_formatted f;
    format_ok(reg, "HuggingFaceTB/SmolLM3-3B", "Add 2 and 2.", true, NULL, &f);
    assert_string_equal(f.prompt, "Add 2 and 2.");
    assert_string_equal(f.system_prompt, "/think");
    assert_json(f.extra_params, "{}");
    assert_null(f.raw_prompt);
    aieb_formatted_free(&f);

    format_ok(reg, "smollm3-3b", "Add 2 and 2.", false, "{\"system_prompt\": \"Be brief.\"}", &f);
    assert_string_equal(f.system_prompt, "Be brief.\n/no_think");
    aieb_formatted_free(&f);

    format_ok(reg, "nvidia/Llama-3_1-Nemotron-Nano-8B-v1", "Hi", true, NULL, &f);
    assert_string_equal(f.system_prompt, "detailed thinking on");
    aieb_formatted_free(&f);
    format_ok(reg, "nvidia/Llama-3_1-Nemotron-Nano-8B-v1", "Hi", false, NULL, &f);
    assert_string_equal(f.system_prompt, "detailed thinking off");
    aieb_formatted_free(&f);

    /* on by default with only a disable flag: on sends nothing, off sends the flag */
    format_ok(reg, "nvidia/Llama-3_3-Nemotron-Super-49B-v1_5", "Hi", true, NULL, &f);
    assert_null(f.system_prompt);
    assert_null(f.note);
    aieb_formatted_free(&f);
    format_ok(reg, "nvidia/Llama-3_3-Nemotron-Super-49B-v1_5", "Hi", false, NULL, &f);
    assert_string_equal(f.system_prompt, "/no_think");
    aieb_formatted_free(&f);

    /* always-on models cannot be switched off: prompt unchanged, note says so */
    format_ok(reg, "microsoft/Phi-4-reasoning", "Hi", false, NULL, &f);
    assert_null(f.system_prompt);
    assert_string_equal(f.prompt, "Hi");
    assert_non_null(f.note);
    assert_non_null(strstr(f.note, "phi"));
    aieb_formatted_free(&f);
}

static void prefix_wraps_prompt(void **state)
{
    const aieb_format_registry *reg = *state;
    aieb_formatted f;
    format_ok(reg, "deepseek-ai/DeepSeek-R1", "Prove it.", true, NULL, &f);
    assert_string_equal(f.prompt, "<think>\nProve it.");
    assert_null(f.system_prompt);
    assert_null(f.note);
    assert_json(f.extra_params, "{}");
    aieb_formatted_free(&f);
    format_ok(reg, "deepseek-ai/DeepSeek-R1", "Prove it.", false, NULL, &f);
    assert_string_equal(f.prompt, "Prove it.");
    assert_non_null(f.note);
    aieb_formatted_free(&f);

    format_ok(reg, "tencent/Hunyuan-A13B-Instruct", "Why?", true, NULL, &f);
    assert_string_equal(f.prompt, "/thinkWhy?");
    aieb_formatted_free(&f);
    format_ok(reg, "tencent/Hunyuan-A13B-Instruct", "Why?", false, NULL, &f);
    assert_string_equal(f.prompt, "/no_thinkWhy?");
    assert_null(f.note);
    aieb_formatted_free(&f);

    aieb_format_registry *own = parse_ok("families:\n  w:\n    patterns: [w]\n"
                                         "    type: prefix\n    prefix: \"[\"\n"
                                         "    suffix: \"]\"\n");
    format_ok(own, "w", "x", true, NULL, &f);
    assert_string_equal(f.prompt, "[x]");
    aieb_formatted_free(&f);
    aieb_format_registry_free(own);
}

static void parameter_sets_request_field(void **state)
{
    const aieb_format_registry *reg = *state;
    aieb_formatted f;
    format_ok(reg, "Qwen/Qwen3-8B", "Count to 3.", true, NULL, &f);
    assert_json(f.extra_params, "{\"chat_template_kwargs\": {\"enable_thinking\": true}}");
    assert_string_equal(f.prompt, "Count to 3. /think");
    aieb_formatted_free(&f);
    format_ok(reg, "Qwen/Qwen3-8B", "Count to 3.", false, NULL, &f);
    assert_json(f.extra_params, "{\"chat_template_kwargs\": {\"enable_thinking\": false}}");
    assert_string_equal(f.prompt, "Count to 3. /no_think");
    aieb_formatted_free(&f);

    /* EXAONE: the parameter only */
    format_ok(reg, "LGAI-EXAONE/EXAONE-4.0-1.2B", "Hi", true, NULL, &f);
    assert_json(f.extra_params, "{\"chat_template_kwargs\": {\"enable_thinking\": true}}");
    assert_string_equal(f.prompt, "Hi");
    aieb_formatted_free(&f);

    /* DeepSeek V3.1 override: another parameter path, merged with the caller's kwargs */
    format_ok(reg, "deepseek-ai/DeepSeek-V3.1", "Hi", true,
              "{\"chat_template_kwargs\": {\"foo\": 1}, \"top_k\": 20}", &f);
    assert_json(f.extra_params,
                "{\"chat_template_kwargs\": {\"foo\": 1, \"thinking\": true}, \"top_k\": 20}");
    aieb_formatted_free(&f);

    /* params: enable_thinking overrides `enabled`; thinking_budget is passed on */
    format_ok(reg, "Qwen/Qwen3-8B", "Hi", true,
              "{\"enable_thinking\": false, \"thinking_budget\": 512}", &f);
    assert_json(
        f.extra_params,
        "{\"chat_template_kwargs\": {\"enable_thinking\": false}, \"thinking_budget\": 512}");
    aieb_formatted_free(&f);

    aieb_err err = {0};
    json_t *p = json_loads("{\"chat_template_kwargs\": \"oops\"}", 0, NULL);
    assert_int_equal(aieb_format_prompt(reg, "Qwen/Qwen3-8B", "Hi", true, p, &f, &err),
                     AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "chat_template_kwargs"));
    json_decref(p);
    p = json_loads("{\"enable_thinking\": \"yes\"}", 0, NULL);
    assert_int_equal(aieb_format_prompt(reg, "Qwen/Qwen3-8B", "Hi", true, p, &f, &err),
                     AIEB_EINVAL);
    json_decref(p);
    p = json_loads("{\"thinking_budget\": -1}", 0, NULL);
    assert_int_equal(aieb_format_prompt(reg, "Qwen/Qwen3-8B", "Hi", true, p, &f, &err),
                     AIEB_EINVAL);
    json_decref(p);
    p = json_loads("[1]", 0, NULL);
    assert_int_equal(aieb_format_prompt(reg, "Qwen/Qwen3-8B", "Hi", true, p, &f, &err),
                     AIEB_EINVAL);
    json_decref(p);
}

static void null_type_leaves_prompt(void **state)
{
    const aieb_format_registry *reg = *state;
    aieb_formatted f;
    format_ok(reg, "google/gemma-3-4b-it", "Hi", true, "{\"temperature_hint\": 1}", &f);
    assert_string_equal(f.prompt, "Hi");
    assert_null(f.system_prompt);
    assert_non_null(f.note);
    assert_json(f.extra_params, "{\"temperature_hint\": 1}");
    aieb_formatted_free(&f);
    format_ok(reg, "google/gemma-3-4b-it", "Hi", false, NULL, &f);
    assert_null(f.note);
    aieb_formatted_free(&f);
    format_ok(reg, "some/unknown-model", "Hi", true, "{\"system_prompt\": \"S\"}", &f);
    assert_string_equal(f.prompt, "Hi");
    assert_string_equal(f.system_prompt, "S");
    assert_non_null(strstr(f.note, "default"));
    aieb_formatted_free(&f);
    aieb_formatted_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_family_matches_its_models, setup, teardown),
        cmocka_unit_test_setup_teardown(lookup_ignores_case, setup, teardown),
        cmocka_unit_test(explicit_model_beats_pattern),
        cmocka_unit_test(bad_registries_are_refused),
        cmocka_unit_test_setup_teardown(harmony_sets_effort_and_renders_prompt, setup, teardown),
        cmocka_unit_test_setup_teardown(system_prompt_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(prefix_wraps_prompt, setup, teardown),
        cmocka_unit_test_setup_teardown(parameter_sets_request_field, setup, teardown),
        cmocka_unit_test_setup_teardown(null_type_leaves_prompt, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
