/* test_config_errors.c - every validation error, every problem reported at
 * once, and hostile YAML (empty, directory, missing, binary, invalid UTF-8,
 * tabs, 10,000-deep nesting, a 100 MB scalar, an alias bomb, duplicate keys,
 * a sequence where a map belongs): each fails fast with a clear message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aieb/clock.h"
#include "aieb/config.h"
#include "config/internal.h"
#include "test_config_helpers.h"

static int setup(void **state)
{
    clear_override_env();
    return 0;
}

/* ==== Validation errors ==== */

typedef struct bad_case {
    const char *yaml;
    const char *key;  /* key path of the expected error */
    int line;         /* its line */
    const char *text; /* a piece of its message */
} bad_case;

static const bad_case bad_values[] = {
    /* the list */
    {"scenario:\n  num_samples: 0\n", "scenario.num_samples", 2,
     "out of range (expected an integer in [1, 10000000], got 0)"},
    {"scenario:\n  num_samples: -5\n", "scenario.num_samples", 2, "got -5"},
    {"scenario:\n  generate_kwargs:\n    temperature: -0.1\n",
     "scenario.generate_kwargs.temperature", 3, "expected a number >= 0, or null, got -0.1"},
    {"scenario:\n  generate_kwargs:\n    top_p: 0\n", "scenario.generate_kwargs.top_p", 3,
     "expected a number in (0, 1], or null, got 0)"},
    {"scenario:\n  generate_kwargs:\n    top_p: 1.01\n", "scenario.generate_kwargs.top_p", 3,
     "got 1.01"},
    {"backend:\n  type: tensorrt\n", "backend.type", 2,
     "unknown value (expected one of vllm, openai, pytorch or native, got \"tensorrt\")"},
    {"backend:\n  type: pytroch\n", "backend.type", 2, "did you mean pytorch?"},
    {"backend:\n  type: SGLang\n", "backend.type", 2,
     "server (SGLang, TGI, llama.cpp, Ollama, ...) use type: openai"},
    {"backend:\n  type: transformers\n", "backend.type", 2, "use type: pytorch"},
    {"backend:\n  endpoint: localhost:8000\n", "backend.endpoint", 2,
     "not an http(s) URL (expected e.g. http://localhost:8000/v1, got \"localhost:8000\")"},
    {"backend:\n  endpoint: ftp://host/v1\n", "backend.endpoint", 2, "not an http(s) URL"},
    {"backend:\n  endpoint: http://\n", "backend.endpoint", 2, "not an http(s) URL"},
    {"backend:\n  endpoint: \"http://a b\"\n", "backend.endpoint", 2, "not an http(s) URL"},
    {"scenario:\n  input_shapes:\n    batch_size: 0\n", "scenario.input_shapes.batch_size", 3,
     "expected an integer in [1, 65536], got 0"},
    {"scenario:\n  generate_kwargs:\n    max_new_tokens: 10\n    min_new_tokens: 20\n",
     "scenario.generate_kwargs.min_new_tokens", 4, "larger than max_new_tokens (expected <= 10"},
    {"scenario:\n  generate_kwargs:\n    min_new_tokens: 20\n    max_new_tokens: 10\n",
     "scenario.generate_kwargs.max_new_tokens", 4, "smaller than min_new_tokens (expected >= 20"},
    /* the rest of the schema's ranges */
    {"metrics:\n  sample_interval_ms: 4\n", "metrics.sample_interval_ms", 2,
     "expected an integer in [5, 60000], got 4"},
    {"metrics:\n  pue: 0.9\n", "metrics.pue", 2, "expected a number in [1, 10], got 0.9"},
    {"metrics:\n  idle_baseline_s: -1\n", "metrics.idle_baseline_s", 2, "got -1"},
    {"metrics:\n  carbon_intensity_g_per_kwh: -5\n", "metrics.carbon_intensity_g_per_kwh", 2,
     "got -5"},
    {"metrics:\n  cpu_tdp_w: 0\n", "metrics.cpu_tdp_w", 2, "expected a number in (0, 100000]"},
    {"metrics:\n  country_iso_code: US\n", "metrics.country_iso_code", 2,
     "not an ISO 3166 alpha-3 country code"},
    {"metrics:\n  country_iso_code: U1A\n", "metrics.country_iso_code", 2,
     "expected three capital letters"},
    {"metrics:\n  gpu_ids: [0, -1]\n", "metrics.gpu_ids", 2,
     "expected a list of integers each >= 0, got -1"},
    {"metrics:\n  gpu_ids: [x]\n", "metrics.gpu_ids", 2, "not an integer"},
    {"metrics:\n  type: prometheus\n", "metrics.type", 2, "expected one of codecarbon"},
    {"reporter:\n  type: json\n", "reporter.type", 2, "expected one of csv"},
    {"reporter:\n  output_file: \"\"\n", "reporter.output_file", 2, "empty"},
    {"backend:\n  timeout_s: 0\n", "backend.timeout_s", 2, "expected a number in (0, 604800]"},
    {"backend:\n  startup_timeout_s: -1\n", "backend.startup_timeout_s", 2, "got -1"},
    {"backend:\n  api: grpc\n", "backend.api", 2, "expected one of chat or completions"},
    {"backend:\n  api_key_env: sk-abc123\n", "backend.api_key_env", 2,
     "not an environment variable name"},
    {"backend:\n  torch_dtype: float8\n", "backend.torch_dtype", 2, "unknown torch dtype"},
    {"backend:\n  device_ids: [0, 1, 0]\n", "backend.device_ids", 2, "0 is listed twice"},
    {"backend:\n  max_memory: {0: lots}\n", "backend.max_memory", 2,
     "0: not a memory size (expected e.g. 20GB or 512MiB, got \"lots\")"},
    {"backend:\n  max_memory: [20GB]\n", "backend.max_memory", 2, "wrong type"},
    {"backend:\n  load_in_8bit: true\n  load_in_4bit: true\n", "backend.load_in_4bit", 3,
     "choose one"},
    {"backend:\n  pad_token_id: -1\n", "backend.pad_token_id", 2, "out of range"},
    {"backend:\n  threads: -2\n", "backend.threads", 2, "got -2"},
    {"backend:\n  context_length: -5\n", "backend.context_length", 2, "got -5"},
    {"backend:\n  type: vllm\n  endpoint: null\n", "backend.endpoint", 3,
     "required for backend.type vllm"},
    {"backend:\n  model: \"\"\n", "backend.model", 2, "empty (expected a non-empty string"},
    {"backend:\n  insecure_tls: maybe\n", "backend.insecure_tls", 2,
     "not a boolean (expected true or false, got \"maybe\")"},
    {"backend:\n  ignore_eos: sometimes\n", "backend.ignore_eos", 2, "true, false or null"},
    {"scenario:\n  generate_kwargs:\n    top_k: 0\n", "scenario.generate_kwargs.top_k", 3,
     "expected an integer in [1, 1000000], or null"},
    {"scenario:\n  generate_kwargs:\n    top_k: -1\n", "scenario.generate_kwargs.top_k", 3,
     "out of range"},
    {"scenario:\n  max_concurrency: 0\n", "scenario.max_concurrency", 2, "got 0"},
    {"scenario:\n  warmup_requests: -1\n", "scenario.warmup_requests", 2, "got -1"},
    {"scenario:\n  request_rate: 0\n", "scenario.request_rate", 2,
     "expected a number > 0, or .inf for unlimited, got 0"},
    {"scenario:\n  request_rate: -.inf\n", "scenario.request_rate", 2, "not a number"},
    {"scenario:\n  burstiness: 0\n", "scenario.burstiness", 2, "got 0"},
    {"scenario:\n  seed: -1\n", "scenario.seed", 2, "expected an integer >= 0, got -1"},
    {"scenario:\n  max_consecutive_failures: -1\n", "scenario.max_consecutive_failures", 2,
     "got -1"},
    {"scenario:\n  slo:\n    ttft_ms: 0\n", "scenario.slo.ttft_ms", 3, "expected a number > 0"},
    {"scenario:\n  dataset_name: \"\"\n", "scenario.dataset_name", 2, "empty"},
    {"scenario:\n  reasoning: true\n  reasoning_params:\n    thinking_budget: -1\n",
     "scenario.reasoning_params", 4, "thinking_budget: out of range"},
    {"scenario:\n  reasoning: true\n  reasoning_params:\n    enable_thinking: maybe\n",
     "scenario.reasoning_params", 4, "enable_thinking: wrong type"},
    {"scenario:\n  reasoning: true\n  reasoning_params:\n    reasoning_effort: 3\n",
     "scenario.reasoning_params", 4, "reasoning_effort: wrong type"},
    {"scenario:\n  reasoning_params: 5\n", "scenario.reasoning_params", 2, "wrong type"},
    /* types */
    {"scenario:\n  num_samples: 12.5\n", "scenario.num_samples", 2, "not a whole number"},
    {"scenario:\n  num_samples: ten\n", "scenario.num_samples", 2, "not a number"},
    {"scenario:\n  num_samples: 0x10\n", "scenario.num_samples", 2, "not a number"},
    {"scenario:\n  num_samples: 99999999999999999999\n", "scenario.num_samples", 2, "out of range"},
    {"scenario:\n  num_samples: 3000000000\n", "scenario.num_samples", 2, "out of range"},
    {"scenario:\n  burstiness: 1e999\n", "scenario.burstiness", 2, "out of range"},
    {"scenario:\n  burstiness: .nan\n", "scenario.burstiness", 2, "not a number"},
    {"scenario:\n  burstiness: .inf\n", "scenario.burstiness", 2, "not a number"},
    {"scenario:\n  num_samples: [1]\n", "scenario.num_samples", 2,
     "wrong type (expected an integer in [1, 10000000], got a list)"},
    {"name: {a: b}\n", "name", 1, "wrong type (expected a non-empty string, got a mapping)"},
    {"scenario: 5\n", "scenario", 1, "wrong type (expected a mapping of scenario settings"},
    {"backend: [vllm]\n", "backend", 1, "got a list"},
};

static void each_bad_value_is_an_error(void **state)
{
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++) {
        const bad_case *b = &bad_values[i];
        aieb_diags d;
        aieb_diags_init(&d);
        aieb_config *cfg = (aieb_config *)1;
        aieb_err err = {0};
        int rc =
            aieb_config_load_string("t.yaml", b->yaml, strlen(b->yaml), NULL, 0, &cfg, &d, &err);
        if (rc != AIEB_EINVAL)
            fprintf(stderr, "case %zu (%s): rc %d\n", i, b->key, rc);
        assert_int_equal(rc, AIEB_EINVAL);
        assert_null(cfg);
        if (!find_diag(&d, AIEB_DIAG_ERROR, b->key, b->line, b->text))
            fprintf(stderr, "case %zu:\n%s", i, b->yaml);
        expect_diag(&d, AIEB_DIAG_ERROR, b->key, b->line, b->text);
        const aieb_diag *g = find_diag(&d, AIEB_DIAG_ERROR, b->key, b->line, b->text);
        assert_string_equal(g->file, "t.yaml");
        assert_true(g->col >= 1);
        aieb_diags_free(&d);
    }
}

static void warnings_do_not_fail(void **state)
{
    aieb_diags d;
    aieb_diags_init(&d);
    /* lenient: unknown keys are warnings too */
    aieb_config *c = load_ok_flags("modle: x\n"
                                   "scenario:\n"
                                   "  num_sample: 3\n"
                                   "  num_samples:\n" /* empty: keeps the default, with a warning */
                                   "  reasoning_params:\n"
                                   "    reasoning_effort: extreme\n"
                                   "  generate_kwargs:\n"
                                   "    repetition_penalty: 1.2\n"
                                   "zzzzzzzzz: 1\n"
                                   "name: org/model\n"
                                   "metrics: {country_iso_code: fra}\n",
                                   NULL, 0, AIEB_CONFIG_LENIENT, &d);
    assert_int_equal(d.n_errors, 0);
    expect_diag(&d, AIEB_DIAG_WARNING, "modle", 1,
                "unknown key, ignored; did you mean backend.model?");
    expect_diag(&d, AIEB_DIAG_WARNING, "scenario.num_sample", 3,
                "did you mean scenario.num_samples?");
    expect_diag(&d, AIEB_DIAG_WARNING, "scenario.num_samples", 4, "empty value ignored");
    expect_diag(&d, AIEB_DIAG_WARNING, "scenario.reasoning_params", 6,
                "ignored while scenario.reasoning is false");
    expect_diag(&d, AIEB_DIAG_WARNING, "scenario.reasoning_params", 6, "unusual value");
    expect_diag(&d, AIEB_DIAG_WARNING, "scenario.generate_kwargs.repetition_penalty", 8,
                "passed to the pytorch backend");
    expect_diag(&d, AIEB_DIAG_WARNING, "zzzzzzzzz", 9,
                "known keys at the top level: name, backend, scenario, metrics, reporter, "
                "output_dir");
    expect_diag(&d, AIEB_DIAG_WARNING, "name", 10, "it will be named \"org_model\"");
    assert_string_equal(c->metrics.country_iso_code, "FRA"); /* any case, stored upper */
    assert_int_equal(c->scenario.num_samples, 10);
    aieb_config_free(c);
    aieb_diags_free(&d);
}

static void every_problem_is_reported_at_once(void **state)
{
    const char *y = "backend:\n"
                    "  type: nope\n"
                    "  endpoint: nope\n"
                    "scenario:\n"
                    "  num_samples: 0\n"
                    "  input_shapes: {batch_size: 0}\n"
                    "  generate_kwargs: {temperature: -1, top_p: 2}\n"
                    "metrics:\n"
                    "  sample_interval_ms: 1\n"
                    "  typo: 1\n";
    aieb_diags d;
    aieb_diags_init(&d);
    load_fails(y, &d);
    assert_int_equal(d.n_errors, 8);
    assert_int_equal(d.n_warnings, 0);
    int lines[] = {2, 3, 5, 6, 7, 7, 9};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        assert_non_null(find_diag(&d, AIEB_DIAG_ERROR, NULL, lines[i], "expected"));
    expect_diag(&d, AIEB_DIAG_ERROR, "metrics.typo", 10, "unknown key; did you mean metrics.type?");
    aieb_diags_free(&d);
}

static void set_errors(void **state)
{
    static const struct {
        const char *set, *key, *text;
    } cases[] = {
        {"scenario.num_samples", NULL, "expected key.path=value"},
        {"=5", NULL, "expected key.path=value"},
        {"scenario.num_sample=5", "scenario.num_sample", "did you mean scenario.num_samples?"},
        {"qqqqqqqq.zzzz=1", "qqqqqqqq.zzzz", "unknown key"},
        {"backend=x", "backend", "a section, not a value"},
        {"scenario.num_samples=abc", "scenario.num_samples", "not a number"},
        {"scenario.num_samples=${AIEB_T_UNSET}", "scenario.num_samples", "is not set"},
        {"backend.max_memory={0: [1]}", "backend.max_memory", "wrong type"},
        {"backend.max_memory={0: ", NULL, "YAML syntax error"},
        {"name=\xff", NULL, "invalid UTF-8"},
        {"scenario.generate_kwargs.x\xff=1", NULL, "invalid UTF-8"},
    };
    unsetenv("AIEB_T_UNSET");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        aieb_diags d;
        aieb_diags_init(&d);
        const char *sets[] = {cases[i].set};
        load_fails_sets("", 0, sets, 1, &d);
        expect_diag(&d, AIEB_DIAG_ERROR, cases[i].key, 0, cases[i].text);
        const aieb_diag *g = find_diag(&d, AIEB_DIAG_ERROR, cases[i].key, 0, cases[i].text);
        assert_string_equal(g->file, "--set");
        aieb_diags_free(&d);
    }
}

/* ==== Hostile input ==== */

static char tmpdir[256];

static int make_tmpdir(void **state)
{
    clear_override_env();
    snprintf(tmpdir, sizeof tmpdir, "%s/aieb-cfg-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int remove_tmpdir(void **state)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* CPU time this process has used, in seconds. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Loads path, expects failure with code want (0 = any) and an error whose
 * message contains text, in well under a second of CPU time. CPU time, which a
 * busy machine does not inflate, is what an expansion bomb or a quadratic parse
 * would burn; the wall clock only guards against a hang (a FIFO opened for
 * reading), with room for a machine 20x slower. */
static void expect_hostile(const char *path, int want, const char *text)
{
    aieb_diags d;
    aieb_diags_init(&d);
    aieb_config *cfg = (aieb_config *)1;
    aieb_err err = {0};
    int64_t t0 = aieb_now_ns();
    double c0 = cpu_s();
    int rc = aieb_config_load(path, NULL, 0, &cfg, &d, &err);
    double cpu = cpu_s() - c0;
    double secs = aieb_ns_to_s(aieb_now_ns() - t0);
    if (rc == 0 || !find_diag(&d, AIEB_DIAG_ERROR, NULL, 0, text)) {
        fprintf(stderr, "%s: rc %d, wanted an error containing \"%s\"\n", path, rc, text);
        dump_diags(&d);
    }
    assert_int_not_equal(rc, 0);
    if (want)
        assert_int_equal(rc, want);
    assert_null(cfg);
    assert_non_null(find_diag(&d, AIEB_DIAG_ERROR, NULL, 0, text));
    assert_string_equal(d.items[0].file, path);
    if (cpu > 0.5 || secs > 1.0)
        fprintf(stderr, "%s took %.3f s (%.3f s of CPU)\n", path, secs, cpu);
    assert_true(cpu < 1.0);
    assert_true(secs < 20.0);
    aieb_diags_free(&d);
}

static void hostile_small_inputs(void **state)
{
    char p[512];
    static const struct {
        const char *name, *data;
        int want;
        const char *text;
    } cases[] = {
        {"empty.yaml", "", AIEB_EINVAL, "empty configuration"},
        {"comments.yaml", "# only a comment\n\n", AIEB_EINVAL, "empty configuration"},
        {"null.yaml", "~\n", AIEB_EINVAL, "empty configuration"},
        {"scalar.yaml", "just words\n", AIEB_EINVAL, "the top level must be a mapping"},
        {"seq.yaml", "- backend\n- scenario\n", AIEB_EINVAL,
         "the top level must be a mapping of keys such as backend: and scenario: (got a list)"},
        {"section_seq.yaml", "scenario:\n  - num_samples: 5\n", AIEB_EINVAL,
         "wrong type (expected a mapping of scenario settings"},
        {"tab.yaml", "backend:\n\ttype: vllm\n", AIEB_EINVAL,
         "YAML does not allow tabs for indentation: indent with spaces"},
        {"dup.yaml", "name: a\nbackend:\n  model: x\n  model: y\nname: b\n", AIEB_EINVAL,
         "duplicate key (first given on line 3); remove one of them"},
        {"twodocs.yaml", "name: a\n---\nname: b\n", AIEB_EINVAL, "more than one YAML document"},
        {"alias.yaml", "name: *nothing\n", AIEB_EINVAL, "unknown alias *nothing"},
        {"nul.yaml", "name: \"a\\0b\"\n", AIEB_EINVAL, "NUL character"},
        {"complexkey.yaml", "? [a, b]\n: c\n", AIEB_EINVAL, "a key must be a plain word"},
        {"unclosed.yaml", "name: \"abc\n", AIEB_EINVAL, "YAML syntax error"},
        {"badindent.yaml", "backend:\n  type: vllm\n model: x\n", AIEB_EINVAL, "YAML syntax error"},
        {"utf8.yaml", "name: caf\xc3\n", AIEB_EINVAL,
         "invalid UTF-8 (byte 0xc3 at offset 9); save the file as UTF-8"},
        {"overlong.yaml", "name: \xc0\xaf\n", AIEB_EINVAL, "invalid UTF-8"},
        {"surrogate.yaml", "name: \xed\xa0\x80\n", AIEB_EINVAL, "invalid UTF-8"},
        {"utf16.yaml", "\xff\xfen\0a\0m\0e\0", AIEB_EINVAL, "binary data"},
        {"merge.yaml", "backend:\n  <<: 5\n", AIEB_EINVAL, "'<<' (merge) takes a mapping"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", tmpdir, cases[i].name);
        size_t len = strlen(cases[i].data);
        if (strcmp(cases[i].name, "utf16.yaml") == 0)
            len = 10;
        write_file(p, cases[i].data, len);
        expect_hostile(p, cases[i].want, cases[i].text);
    }
    /* duplicates name both lines: the second one's position, the first one's line */
    aieb_diags d;
    aieb_diags_init(&d);
    load_fails("name: a\nbackend:\n  model: x\n  model: y\nname: b\n", &d);
    expect_diag(&d, AIEB_DIAG_ERROR, "backend.model", 4, "first given on line 3");
    expect_diag(&d, AIEB_DIAG_ERROR, "name", 5, "first given on line 1");
    aieb_diags_free(&d);
}

static void hostile_files(void **state)
{
    char p[512];
    /* a directory, a missing file, a FIFO */
    expect_hostile(tmpdir, AIEB_EINVAL, "is a directory");
    snprintf(p, sizeof p, "%s/missing.yaml", tmpdir);
    expect_hostile(p, AIEB_ENOTFOUND, "check the path");
    snprintf(p, sizeof p, "%s/fifo.yaml", tmpdir);
    assert_int_equal(mkfifo(p, 0600), 0);
    expect_hostile(p, 0, "not a regular file");

    /* binary garbage: random bytes from a fixed seed */
    unsigned char junk[4096];
    unsigned x = 12345;
    for (size_t i = 0; i < sizeof junk; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (unsigned char)(x >> 16);
    }
    snprintf(p, sizeof p, "%s/garbage.bin", tmpdir);
    write_file(p, junk, sizeof junk);
    expect_hostile(p, AIEB_EINVAL, "binary data");
}

static void hostile_deep_nesting(void **state)
{
    char p[512];
    size_t depth = 10000;
    /* flow style: [[[[...]]]] */
    char *s = malloc(2 * depth + 16);
    size_t n = 0;
    n += (size_t)sprintf(s, "name: ");
    for (size_t i = 0; i < depth; i++)
        s[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        s[n++] = ']';
    s[n++] = '\n';
    snprintf(p, sizeof p, "%s/deep_flow.yaml", tmpdir);
    write_file(p, s, n);
    expect_hostile(p, AIEB_ETOOBIG, "nested too deeply (more than 64 levels)");
    /* block style: "- - - - ... x" */
    n = 0;
    for (size_t i = 0; i < depth; i++)
        s[n++] = '-', s[n++] = ' ';
    s[n++] = 'x';
    s[n++] = '\n';
    snprintf(p, sizeof p, "%s/deep_block.yaml", tmpdir);
    write_file(p, s, n);
    expect_hostile(p, AIEB_ETOOBIG, "nested too deeply");
    free(s);
    /* mappings: {a: {a: {a: ...}}} */
    s = malloc(5 * depth + 16);
    n = 0;
    for (size_t i = 0; i < depth; i++)
        n += (size_t)sprintf(s + n, "{a: ");
    s[n++] = '1';
    for (size_t i = 0; i < depth; i++)
        s[n++] = '}';
    snprintf(p, sizeof p, "%s/deep_map.yaml", tmpdir);
    write_file(p, s, n);
    expect_hostile(p, AIEB_ETOOBIG, "nested too deeply");
    free(s);
    /* 64 levels are fine (the cap itself) */
    aieb_diags d;
    aieb_diags_init(&d);
    char flow[256] = "scenario:\n  reasoning_params:\n    x: ";
    size_t fl = strlen(flow);
    for (int i = 0; i < AIEB_CONFIG_MAX_DEPTH - 3; i++)
        flow[fl++] = '[';
    for (int i = 0; i < AIEB_CONFIG_MAX_DEPTH - 3; i++)
        flow[fl++] = ']';
    flow[fl] = '\0';
    aieb_config *c = load_ok(flow, &d);
    aieb_config_free(c);
    aieb_diags_free(&d);
}

static void hostile_huge_scalar(void **state)
{
    char p[512];
    /* a real 100 MB scalar on disk: rejected by size before it is read */
    snprintf(p, sizeof p, "%s/huge.yaml", tmpdir);
    FILE *fp = fopen(p, "wb");
    assert_non_null(fp);
    fputs("name: ", fp);
    char *chunk = malloc(1 << 20);
    memset(chunk, 'a', 1 << 20);
    for (int i = 0; i < 100; i++)
        assert_int_equal(fwrite(chunk, 1, 1 << 20, fp), 1 << 20);
    fputs("\n", fp);
    assert_int_equal(fclose(fp), 0);
    expect_hostile(p, AIEB_ETOOBIG, "larger than the 1048576-byte limit");
    assert_int_equal(unlink(p), 0);

    /* under the file cap, a scalar past the scalar cap */
    size_t len = AIEB_CONFIG_MAX_SCALAR_BYTES + 1;
    char *y = malloc(len + 16);
    memcpy(y, "name: ", 6);
    memcpy(y + 6, chunk, len);
    y[6 + len] = '\n';
    snprintf(p, sizeof p, "%s/long_scalar.yaml", tmpdir);
    write_file(p, y, len + 7);
    expect_hostile(p, AIEB_ETOOBIG, "value too long (65537 bytes, more than the 65536-byte limit)");
    free(y);
    free(chunk);

    /* exactly at the file cap is read (and then fails for what it says); one more
     * byte is too big */
    aieb_diags d;
    aieb_diags_init(&d);
    char *big = malloc(AIEB_CONFIG_MAX_FILE_BYTES + 1);
    memset(big, '#', AIEB_CONFIG_MAX_FILE_BYTES + 1);
    big[AIEB_CONFIG_MAX_FILE_BYTES - 1] = '\n';
    assert_int_equal(load_fails_sets(big, AIEB_CONFIG_MAX_FILE_BYTES, NULL, 0, &d), AIEB_EINVAL);
    expect_diag(&d, AIEB_DIAG_ERROR, NULL, 0, "empty configuration");
    aieb_diags_free(&d);
    aieb_diags_init(&d);
    assert_int_equal(load_fails_sets(big, AIEB_CONFIG_MAX_FILE_BYTES + 1, NULL, 0, &d),
                     AIEB_ETOOBIG);
    expect_diag(&d, AIEB_DIAG_ERROR, NULL, 0, "larger than the 1048576-byte limit");
    aieb_diags_free(&d);
    free(big);
}

static void hostile_alias_bomb(void **state)
{
    char p[512];
    /* "billion laughs": each level repeats the previous one nine times */
    const char *bomb =
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
        "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
        "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
        "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
        "scenario:\n  reasoning_params:\n    x: *i\n";
    snprintf(p, sizeof p, "%s/bomb.yaml", tmpdir);
    write_file(p, bomb, strlen(bomb));
    expect_hostile(p, AIEB_ETOOBIG, "is this an alias expansion bomb?");

    /* many small aliases: the alias count cap */
    aieb_buf b;
    aieb_buf_init(&b, 0);
    aieb_buf_puts(&b, "x: &x 1\ny: [");
    for (int i = 0; i <= AIEB_CONFIG_MAX_ALIASES; i++)
        aieb_buf_puts(&b, "*x,");
    aieb_buf_puts(&b, "]\n");
    snprintf(p, sizeof p, "%s/aliases.yaml", tmpdir);
    write_file(p, b.data, b.len);
    expect_hostile(p, AIEB_ETOOBIG, "too many aliases");
    aieb_buf_reset(&b);
    for (int i = 0; i <= AIEB_CONFIG_MAX_ALIASES; i++)
        aieb_buf_printf(&b, "k%d: &a%d 1\n", i, i);
    snprintf(p, sizeof p, "%s/anchors.yaml", tmpdir);
    write_file(p, b.data, b.len);
    expect_hostile(p, AIEB_ETOOBIG, "too many anchors");
    /* a wide flat file: the node cap */
    aieb_buf_reset(&b);
    aieb_buf_puts(&b, "x: [");
    for (int i = 0; i <= AIEB_CONFIG_MAX_NODES; i++)
        aieb_buf_puts(&b, "1,");
    aieb_buf_puts(&b, "]\n");
    snprintf(p, sizeof p, "%s/wide.yaml", tmpdir);
    write_file(p, b.data, b.len);
    expect_hostile(p, AIEB_ETOOBIG, "too many YAML nodes");
    aieb_buf_free(&b);
}

static void directory_names(void **state)
{
    static const struct {
        const char *name, *dir;
    } cases[] = {
        {"plain", "plain"},
        {"org/model", "org_model"},
        {"..", "_."},
        {".hidden", "_hidden"},
        {"a\\b\tc", "a_b_c"},
        {"", "benchmark"},
        {"caf\xc3\xa9", "caf\xc3\xa9"},
    };
    aieb_config *c = aieb_config_defaults();
    char buf[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        free(c->name);
        c->name = strdup(cases[i].name);
        aieb_config_dir_name(c, buf, sizeof buf);
        assert_string_equal(buf, cases[i].dir);
    }
    /* cut on a character boundary: 4 bytes of room, "é" would straddle it */
    free(c->name);
    c->name = strdup("abc\xc3\xa9");
    aieb_config_dir_name(c, buf, 5);
    assert_string_equal(buf, "abc");
    free(c->name);
    c->name = malloc(400);
    memset(c->name, 'n', 399);
    c->name[399] = '\0';
    aieb_config_dir_name(c, buf, sizeof buf);
    assert_int_equal(strlen(buf), 255);
    aieb_config_free(c);
}

/* ==== Unknown keys ==== */

/* Unknown keys of every kind, beside the free-form maps and an "x-" key. */
static const char unknown_yaml[] = "scenario:\n"
                                   "  num_sample: 5\n"
                                   "  generate_kwargs:\n"
                                   "    max_new_tokens: 10\n"
                                   "    repetition_penalty: 1.2\n"
                                   "  reasoning_params: {custom_flag: 1}\n"
                                   "backend:\n"
                                   "  max_memory: {0: 20GB}\n"
                                   "  zzzzzzzz: 1\n"
                                   "senario:\n"
                                   "  num_samples: 3\n"
                                   "x-anchors: {a: 1}\n";

static void unknown_keys_are_errors(void **state)
{
    aieb_diags d;
    aieb_diags_init(&d);
    assert_int_equal(load_fails(unknown_yaml, &d), AIEB_EINVAL);
    assert_int_equal(d.n_errors, 3);
    assert_int_equal(d.n_unknown_keys, 3);
    /* FILE:LINE:COL, the key path and the nearest known key */
    const aieb_diag *g = find_diag(&d, AIEB_DIAG_ERROR, "scenario.num_sample", 2, "unknown key");
    assert_non_null(g);
    assert_int_equal(g->col, 3);
    aieb_buf b;
    aieb_buf_init(&b, 0);
    assert_int_equal(aieb_diag_format(g, &b), 0);
    assert_string_equal(b.data, "t.yaml:2:3: scenario.num_sample: unknown key; did you mean "
                                "scenario.num_samples?");
    aieb_buf_free(&b);
    /* a misspelt section: the section is suggested, its keys are not checked */
    expect_diag(&d, AIEB_DIAG_ERROR, "senario", 10, "unknown key; did you mean scenario?");
    /* nothing close: no suggestion, the section's keys instead */
    g = find_diag(&d, AIEB_DIAG_ERROR, "backend.zzzzzzzz", 9,
                  "unknown key (known keys under "
                  "backend: type, model, endpoint");
    assert_non_null(g);
    assert_null(strstr(g->message, "did you mean"));
    /* generate_kwargs keeps its extra keys (a warning); the maps and x- are fine */
    expect_diag(&d, AIEB_DIAG_WARNING, "scenario.generate_kwargs.repetition_penalty", 5,
                "passed to the pytorch backend");
    aieb_diags_free(&d);
}

static void lenient_unknown_keys_are_warnings(void **state)
{
    aieb_diags d;
    aieb_diags_init(&d);
    aieb_config *c = load_ok_flags(unknown_yaml, NULL, 0, AIEB_CONFIG_LENIENT, &d);
    assert_int_equal(d.n_errors, 0);
    assert_int_equal(d.n_unknown_keys, 3);
    expect_diag(&d, AIEB_DIAG_WARNING, "scenario.num_sample", 2,
                "unknown key, ignored; did you mean scenario.num_samples?");
    expect_diag(&d, AIEB_DIAG_WARNING, "senario", 10, "did you mean scenario?");
    expect_diag(&d, AIEB_DIAG_WARNING, "backend.zzzzzzzz", 9, "unknown key, ignored (known keys");
    assert_int_equal(c->scenario.num_samples, 10); /* the misspelt section was ignored */
    assert_int_equal(c->scenario.generate_kwargs.max_new_tokens, 10);
    aieb_config_free(c);
    aieb_diags_free(&d);
    /* lenient is about files: an unknown key in --set is still an error */
    aieb_diags_init(&d);
    const char *sets[] = {"scenario.num_sampel=3"};
    aieb_config *bad = (aieb_config *)1;
    aieb_err err = {0};
    assert_int_equal(aieb_config_load_string_flags("t.yaml", "name: x\n", 8, sets, 1,
                                                   AIEB_CONFIG_LENIENT, &bad, &d, &err),
                     AIEB_EINVAL);
    assert_null(bad);
    expect_diag(&d, AIEB_DIAG_ERROR, "scenario.num_sampel", 0,
                "did you mean scenario.num_samples?");
    aieb_diags_free(&d);
}

static void free_form_maps_take_any_key(void **state)
{
    aieb_diags d;
    aieb_diags_init(&d);
    aieb_config *c = load_ok("scenario:\n"
                             "  reasoning: true\n"
                             "  reasoning_params: {enable_thinking: true, custom_flag: on}\n"
                             "  generate_kwargs:\n"
                             "    max_new_tokens: 10\n"
                             "    repetition_penalty: 1.2\n"
                             "    no_repeat_ngram_size: 3\n"
                             "backend:\n"
                             "  max_memory: {0: 20GB, cpu: 64GB}\n"
                             "x-defaults: &d {temperature: 0.5}\n",
                             &d);
    assert_int_equal(d.n_errors, 0);
    assert_int_equal(d.n_unknown_keys, 0);
    json_t *extra = c->scenario.generate_kwargs.extra;
    assert_true(json_real_value(json_object_get(extra, "repetition_penalty")) == 1.2);
    assert_int_equal(json_integer_value(json_object_get(extra, "no_repeat_ngram_size")), 3);
    assert_true(json_is_true(json_object_get(c->scenario.reasoning_params, "custom_flag")));
    assert_int_equal(c->backend.max_memory.n, 2);
    aieb_config_free(c);
    aieb_diags_free(&d);
}

static void suggestions_only_when_close(void **state)
{
    static const struct {
        const char *path, *want; /* want NULL: no suggestion */
    } cases[] = {
        {"scenario.num_sample", "scenario.num_samples"},
        {"scenario.nmu_samples", "scenario.num_samples"}, /* a swap is one edit */
        {"senario.num_sample", "scenario.num_samples"},
        {"scenario_num_samples", "scenario.num_samples"}, /* only the whole path is close */
        {"scenario.max_new_tokens", "scenario.generate_kwargs.max_new_tokens"},
        {"metrics.country", NULL},
        {"metrics.foo", NULL},
        {"qqqqqqqq", NULL},
        {"backend.zzzzzzzz", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[256] = "";
        int has = cfg_suggest_key(cases[i].path, buf, sizeof buf);
        if (has != (cases[i].want != NULL) || (has && strcmp(buf, cases[i].want) != 0))
            fprintf(stderr, "%s: got %s\n", cases[i].path, has ? buf : "no suggestion");
        assert_int_equal(has, cases[i].want != NULL);
        if (has)
            assert_string_equal(buf, cases[i].want);
    }
}

/* Checks made outside the module place their problems as the loader does. */
static void diagnostics_at_a_key(void **state)
{
    aieb_diags d;
    aieb_diags_init(&d);
    aieb_config *c = load_ok("name: x\nmetrics:\n  country_iso_code: xyz\n", &d);
    assert_int_equal(aieb_config_diag_at(c, &d, AIEB_DIAG_ERROR, "metrics.country_iso_code",
                                         "not in the table (%d)", 1),
                     0);
    const aieb_diag *g =
        find_diag(&d, AIEB_DIAG_ERROR, "metrics.country_iso_code", 3, "not in the table (1)");
    assert_non_null(g);
    assert_string_equal(g->file, "t.yaml");
    assert_int_equal(g->col, 21);
    assert_int_equal(aieb_config_diag_at(c, &d, AIEB_DIAG_WARNING, "metrics.region", "r"), 0);
    expect_diag(&d, AIEB_DIAG_WARNING, "metrics.region", 0, "r");
    assert_string_equal(find_diag(&d, AIEB_DIAG_WARNING, "metrics.region", 0, "r")->file,
                        "default");
    size_t n = d.n;
    assert_int_equal(aieb_config_diag_at(c, &d, AIEB_DIAG_ERROR, "metrics.nope", "x"),
                     AIEB_ENOTFOUND);
    assert_int_equal(d.n, n);
    aieb_config_free(c);
    aieb_diags_free(&d);
    /* a value from the environment is placed there */
    setenv("COUNTRY_ISO_CODE", "xyz", 1);
    aieb_diags_init(&d);
    c = load_ok("name: x\n", &d);
    assert_int_equal(aieb_config_diag_at(c, &d, AIEB_DIAG_ERROR, "metrics.country_iso_code", "e"),
                     0);
    assert_string_equal(find_diag(&d, AIEB_DIAG_ERROR, NULL, 0, "e")->file, "env COUNTRY_ISO_CODE");
    unsetenv("COUNTRY_ISO_CODE");
    aieb_config_free(c);
    aieb_diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(each_bad_value_is_an_error, setup),
        cmocka_unit_test_setup(warnings_do_not_fail, setup),
        cmocka_unit_test_setup(every_problem_is_reported_at_once, setup),
        cmocka_unit_test_setup(set_errors, setup),
        cmocka_unit_test_setup(directory_names, setup),
        cmocka_unit_test(hostile_small_inputs),
        cmocka_unit_test(hostile_files),
        cmocka_unit_test(hostile_deep_nesting),
        cmocka_unit_test(hostile_huge_scalar),
        cmocka_unit_test(hostile_alias_bomb),
        cmocka_unit_test_setup(unknown_keys_are_errors, setup),
        cmocka_unit_test_setup(lenient_unknown_keys_are_warnings, setup),
        cmocka_unit_test_setup(free_form_maps_take_any_key, setup),
        cmocka_unit_test_setup(suggestions_only_when_close, setup),
        cmocka_unit_test_setup(diagnostics_at_a_key, setup),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
