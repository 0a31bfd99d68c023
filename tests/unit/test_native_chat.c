/* test_native_chat.c - the native backend renders requests with the model's chat template.
 *
 * A tiny llama GGUF with a SentencePiece vocabulary of byte tokens (every text encodes,
 * one token per byte) and a tokenizer.chat_template runs one request through the real
 * backend (load, run, info). The prompt-token count it reports is checked against the
 * count of the text the template should give, tokenized by an engine on the same file;
 * with one token a byte, a prompt rendered any other way has another count. Also:
 * the thinking switch from the formatter's chat_template_kwargs, api "completions"
 * (plain text), a template not recognised (plain text and a warning), and what
 * backend_info says was loaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aieb/engine.h"
#include "aieb/native.h"
#include "test_engine_model.h"

static char dir[64];

static const char chatml_tmpl[] =
    "{%- if messages[0].role == 'system' %}{{- '<|im_start|>system\\n' + messages[0].content "
    "+ '<|im_end|>\\n' }}{%- endif %}{%- if add_generation_prompt %}{{- "
    "'<|im_start|>assistant\\n' }}{%- if enable_thinking is defined and enable_thinking is false "
    "%}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}{%- endif %}";

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/aieb-nchat-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes the model with the given template (NULL: none) and returns its path. */
static const char *write_model(const char *name, const char *tmpl)
{
    static char path[128];
    static char names[300][16];
    static const char *toks[300];
    static int32_t types[300];
    for (int i = 0; i < 300; i++) {
        if (i >= 3 && i < 259)
            snprintf(names[i], sizeof names[i], "<0x%02X>", i - 3);
        else
            snprintf(names[i], sizeof names[i], "t%d", i);
        toks[i] = names[i];
        types[i] = i < 3 ? 3 : i < 259 ? 6 : 1; /* control, byte, normal */
    }
    toks[0] = "<unk>";
    toks[1] = "<s>";
    toks[2] = "</s>";
    tiny_cfg c;
    tiny_defaults(&c, "llama", AIEB_GGML_Q8_0, 1);
    c.n_ctx = 512;
    c.tokens = toks;
    c.token_types = types;
    c.n_tokens = 300;
    c.chat_template = tmpl;
    snprintf(path, sizeof path, "%s/%s.gguf", dir, name);
    assert_int_equal(tiny_write(&c, path), 0);
    return path;
}

/* Prompt tokens of text as the engine tokenizes a rendered prompt (with BOS,
 * special-token text parsed). */
static int count_tokens(const char *model, const char *text)
{
    aieb_engine *e;
    aieb_err err = {0};
    assert_int_equal(aieb_engine_open(model, NULL, &e, &err), 0);
    int32_t ids[512];
    size_t n = 0;
    assert_int_equal(aieb_engine_tokenize_ex(e, text, strlen(text), 1, 1, ids, 512, &n, &err), 0);
    aieb_engine_close(e);
    return (int)n;
}

typedef struct got {
    int prompt_tokens;
    int errors;
} got;

static int on_result(void *user, const aieb_result *r)
{
    got *g = user;
    g->prompt_tokens = r->prompt_tokens;
    g->errors += r->error != NULL;
    return 0;
}

/* Runs one request through the backend; returns its backend_info. */
static json_t *run_one(const char *model, const char *api, const char *sys, const char *prompt,
                       json_t *extra, int *prompt_tokens)
{
    aieb_native_opts o = {0};
    o.model = model;
    o.threads = 1;
    o.api = api;
    o.gen.max_new_tokens = 1;
    o.gen.do_sample = 0;
    o.gen.seed = -1;
    o.gen.ignore_eos = 1;
    aieb_backend *b;
    aieb_err err = {0};
    assert_int_equal(aieb_native_backend_open(&o, &b, &err), 0);
    if (b->ops->load(b, &err) != 0)
        fail_msg("load: %s", err.msg);
    aieb_request rq = {.index = 0, .prompt = prompt, .system_prompt = sys, .extra_params = extra};
    got g = {0};
    assert_int_equal(b->ops->run(b, &rq, 1, 1, 0, on_result, &g, NULL, &err), 0);
    assert_int_equal(g.errors, 0);
    *prompt_tokens = g.prompt_tokens;
    json_t *info = b->ops->info(b);
    b->ops->close(b);
    return info;
}

static void renders_chatml(void **state)
{
    const char *model = write_model("chatml", chatml_tmpl);
    int n;
    json_t *info = run_one(model, "chat", "Be brief.", "Hi there", NULL, &n);
    assert_int_equal(n, count_tokens(model, "<|im_start|>system\nBe brief.<|im_end|>\n"
                                            "<|im_start|>user\nHi there<|im_end|>\n"
                                            "<|im_start|>assistant\n"));
    assert_int_not_equal(n, count_tokens(model, "Be brief.\n\nHi there"));
    assert_string_equal(json_string_value(json_object_get(info, "chat_template")), "chatml");
    assert_string_equal(json_string_value(json_object_get(info, "prompt_format")), "chat template");
    assert_string_equal(json_string_value(json_object_get(info, "arch")), "llama");
    assert_string_equal(json_string_value(json_object_get(info, "tokenizer")), "llama");
    const char *tensors = json_string_value(json_object_get(info, "tensors"));
    assert_non_null(tensors);
    /* 2 layers x 7 matrices + token_embd in Q8_0; 2 x 2 norms + output_norm in F32 */
    assert_non_null(strstr(tensors, "q8_0 15 tensors"));
    assert_non_null(strstr(tensors, "f32 5 tensors"));
    json_t *q8 = json_object_get(json_object_get(info, "tensor_types"), "q8_0");
    assert_int_equal(json_integer_value(json_object_get(q8, "tensors")), 15);
    assert_true(json_integer_value(json_object_get(q8, "bytes")) > 0);
    assert_null(json_object_get(info, "warnings"));
    json_decref(info);

    /* the formatter's switch: chat_template_kwargs.enable_thinking false */
    json_t *extra = json_pack("{s:{s:b}}", "chat_template_kwargs", "enable_thinking", 0);
    info = run_one(model, "chat", NULL, "Hi there", extra, &n);
    assert_int_equal(n, count_tokens(model, "<|im_start|>user\nHi there<|im_end|>\n"
                                            "<|im_start|>assistant\n<think>\n\n</think>\n\n"));
    json_decref(info);
    json_decref(extra);

    /* api completions: plain text, whatever the template */
    info = run_one(model, "completions", "Be brief.", "Hi there", NULL, &n);
    assert_int_equal(n, count_tokens(model, "Be brief.\n\nHi there"));
    assert_string_equal(json_string_value(json_object_get(info, "prompt_format")), "plain text");
    json_decref(info);
}

/* A template that writes eos_token gets the model's EOS text (TinyLlama-Chat's). */
static void renders_zephyr(void **state)
{
    const char *model = write_model("zephyr", "{{ '<|user|>\\n' + message['content'] + "
                                              "eos_token }}{{ '<|assistant|>' }}");
    int n;
    json_t *info = run_one(model, "chat", "Be brief.", "Hi there", NULL, &n);
    assert_string_equal(json_string_value(json_object_get(info, "chat_template")), "zephyr");
    assert_int_equal(n, count_tokens(model, "<|system|>\nBe brief.</s>\n<|user|>\nHi "
                                            "there</s>\n<|assistant|>\n"));
    assert_int_not_equal(n, count_tokens(model, "<|system|>\nBe brief.\n<|user|>\nHi "
                                                "there\n<|assistant|>\n"));
    json_decref(info);
}

static void unknown_and_none(void **state)
{
    const char *model = write_model("odd", "{{ messages | map(attribute='content') | join }}");
    int n;
    json_t *info = run_one(model, "chat", "Be brief.", "Hi there", NULL, &n);
    assert_int_equal(n, count_tokens(model, "Be brief.\n\nHi there"));
    assert_string_equal(json_string_value(json_object_get(info, "chat_template")), "unknown");
    json_t *w = json_array_get(json_object_get(info, "warnings"), 0);
    assert_non_null(w);
    assert_non_null(strstr(json_string_value(w), "not one aieb recognises"));
    json_decref(info);

    model = write_model("none", NULL);
    info = run_one(model, "chat", "Be brief.", "Hi there", NULL, &n);
    assert_int_equal(n, count_tokens(model, "Be brief.\n\nHi there"));
    assert_string_equal(json_string_value(json_object_get(info, "chat_template")), "none");
    assert_string_equal(json_string_value(json_object_get(info, "prompt_format")),
                        "plain text (no chat template)");
    assert_null(json_object_get(info, "warnings"));
    json_decref(info);
}

/* A whole `aieb run` on a model whose template is not recognised: the note lands in
 * summary.json's warnings, and report.md's backend rows name the family. */
static void run_warns(void **state)
{
    const char *build = getenv("AIEB_BUILD_DIR");
    if (!build)
        fail_msg("AIEB_BUILD_DIR is not set");
    const char *model = write_model("run", "{{ messages | map(attribute='content') | join }}");
    char yaml[256], cmd[1024], line[512] = "";
    snprintf(yaml, sizeof yaml, "%s/run.yaml", dir);
    FILE *f = fopen(yaml, "w");
    assert_non_null(f);
    fprintf(f,
            "name: chat-warn\nbackend:\n  type: native\n  model: \"%s\"\n  threads: 1\n"
            "scenario:\n  dataset_name: builtin\n  num_samples: 1\n  warmup_requests: 0\n"
            "  generate_kwargs:\n    max_new_tokens: 2\nmetrics:\n  idle_baseline_s: 0\n"
            "reporter:\n  output_file: %s/results.csv\noutput_dir: %s/runs\n",
            model, dir, dir);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "AIEB_NVML_LIBRARY=%s/none.so AIEB_POWERCAP_ROOT=%s/none %s/aieb run %s "
             "2>%s/run.err | tail -n 1",
             dir, dir, build, yaml, dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    if (!fgets(line, sizeof line, p))
        line[0] = 0;
    assert_int_equal(pclose(p), 0);
    line[strcspn(line, "\n")] = 0;
    char path[600];
    snprintf(path, sizeof path, "%s/summary.json", line);
    json_error_t je;
    json_t *sum = json_load_file(path, 0, &je);
    if (!sum)
        fail_msg("%s: %s", path, je.text);
    int found = 0;
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(sum, "warnings"), i, w)
    {
        found |= strstr(json_string_value(w), "not one aieb recognises") != NULL;
    }
    assert_true(found);
    json_t *bi = json_object_get(sum, "backend_info");
    assert_string_equal(json_string_value(json_object_get(bi, "chat_template")), "unknown");
    json_decref(sum);
    snprintf(cmd, sizeof cmd, "grep -q '^| Backend: chat_template | unknown |' %s/report.md", line);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders_chatml),
        cmocka_unit_test(renders_zephyr),
        cmocka_unit_test(run_warns),
        cmocka_unit_test(unknown_and_none),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
