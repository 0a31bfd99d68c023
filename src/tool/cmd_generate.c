/* cmd_generate.c - 'aieb generate': text from the embedded engine, with its speed.
 *
 * Opens a GGUF file or a synthetic model, runs one prompt (text, or token ids used as
 * given), streams the new text to stdout and reports prefill and decode tokens per
 * second. --dump-logits writes the logits at the last prompt position (n_vocab
 * little-endian float32), which the reference tests compare with NumPy.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/buf.h"
#include "aieb/clock.h"
#include "aieb/engine.h"
#include "aieb/fileio.h"
#include "tool.h"

#define DEFAULT_PROMPT "Once upon a time"
#define MAX_PROMPT_IDS (1u << 20)
#define MAX_TEXT_BYTES (64u << 20)

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: aieb generate --model PATH|synthetic:NAME [--prompt TEXT | --prompt-ids IDS]\n"
            "                     [--max-tokens N] [--temperature T] [--seed S] [--threads N]\n"
            "                     [--json] [--dump-logits FILE]\n\n"
            "Generates text with the embedded CPU engine and prints it with the prefill and\n"
            "decode speed (tokens per second).\n\n"
            "Models: a GGUF file (llama, qwen2, qwen3 or phi3; weights F32, F16, BF16, Q8_0,\n"
            "Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS, mixed per\n"
            "tensor), or synthetic:PRESET[?type=T&seed=N] with real shapes and seeded random\n"
            "weights (presets smollm-135m, smollm-360m, qwen2.5-0.5b, tinyllama-1.1b,\n"
            "llama-3.2-1b, qwen3-0.6b, phi-3-mini; types f32, f16, bf16, q8_0, q4_0, q4_1,\n"
            "q5_0, q5_1, iq4_nl, q2_k, q3_k, q4_k, q5_k, q6_k, iq4_xs, and the mixes q4_k_m,\n"
            "q5_k_m). A synthetic model's text is meaningless; its speed and energy are\n"
            "those of the real shapes.\n\n"
            "Options:\n"
            "  --model M            model file or synthetic:NAME (required)\n"
            "  --prompt TEXT        prompt text, tokenized with BOS (default \"" DEFAULT_PROMPT
            "\")\n"
            "  --prompt-ids IDS     prompt token ids, e.g. \"1 2 3\", used as given (no BOS)\n"
            "  --max-tokens N       new tokens at most (default 32; 0 = only the prompt)\n"
            "  --min-tokens N       no end of generation (EOS, end of turn) before N new\n"
            "                       tokens (default 0)\n"
            "  --ignore-eos         never stop at an end-of-generation token\n"
            "  --temperature T      0 = greedy (default); > 0 samples\n"
            "  --top-k K            sample among the K most likely tokens (0 = off)\n"
            "  --top-p P            sample within probability mass P (1 = off)\n"
            "  --seed S             sampling seed (default 0)\n"
            "  --threads N          threads (default: all cores)\n"
            "  --context-length N   KV cache positions (default: min(model's, 4096))\n"
            "  --kernels K          auto (default), scalar, avx2 or avx512\n"
            "  --json               print {prompt_tokens, completion_tokens,\n"
            "                       prefill_tokens_per_s, decode_tokens_per_s, load_s,\n"
            "                       text,\n"
            "                       stop_reason, model} as JSON; model says what was loaded:\n"
            "                       arch, tensors per type, tokenizer, tokenizer_pre,\n"
            "                       chat_template, eog_ids (end-of-generation tokens)\n"
            "  --dump-logits FILE   write the logits at the last prompt position\n"
            "                       (n_vocab little-endian float32)\n"
            "  -h, --help           this help\n\n"
            "Exit status: 0 ok, 1 generation failed, 2 usage error or unusable model file.\n");
}

enum {
    OPT_MODEL = 256,
    OPT_PROMPT,
    OPT_PROMPT_IDS,
    OPT_MAX_TOKENS,
    OPT_MIN_TOKENS,
    OPT_IGNORE_EOS,
    OPT_TEMPERATURE,
    OPT_TOP_K,
    OPT_TOP_P,
    OPT_SEED,
    OPT_THREADS,
    OPT_CONTEXT,
    OPT_KERNELS,
    OPT_JSON,
    OPT_DUMP_LOGITS,
};

static const struct option long_opts[] = {
    {"model", required_argument, NULL, OPT_MODEL},
    {"prompt", required_argument, NULL, OPT_PROMPT},
    {"prompt-ids", required_argument, NULL, OPT_PROMPT_IDS},
    {"max-tokens", required_argument, NULL, OPT_MAX_TOKENS},
    {"min-tokens", required_argument, NULL, OPT_MIN_TOKENS},
    {"ignore-eos", no_argument, NULL, OPT_IGNORE_EOS},
    {"temperature", required_argument, NULL, OPT_TEMPERATURE},
    {"top-k", required_argument, NULL, OPT_TOP_K},
    {"top-p", required_argument, NULL, OPT_TOP_P},
    {"seed", required_argument, NULL, OPT_SEED},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"context-length", required_argument, NULL, OPT_CONTEXT},
    {"kernels", required_argument, NULL, OPT_KERNELS},
    {"json", no_argument, NULL, OPT_JSON},
    {"dump-logits", required_argument, NULL, OPT_DUMP_LOGITS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

/* "1 2 3" or "1,2,3" -> ids (malloc'd). Returns 0 or -1 (message in why). */
static int parse_ids(const char *s, int32_t **ids, size_t *n, char *why, size_t why_len)
{
    size_t cap = 64, k = 0;
    int32_t *v = malloc(cap * sizeof *v);
    if (!v) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\n')
            p++;
        if (!*p)
            break;
        char *end;
        errno = 0;
        long long x = strtoll(p, &end, 10);
        if (end == p || errno || x < 0 || x > INT32_MAX ||
            (*end && *end != ' ' && *end != ',' && *end != '\t' && *end != '\n')) {
            snprintf(why, why_len, "'%.20s' is not a token id (0..%d)", p, INT32_MAX);
            free(v);
            return -1;
        }
        if (k == MAX_PROMPT_IDS) {
            snprintf(why, why_len, "more than %u ids", MAX_PROMPT_IDS);
            free(v);
            return -1;
        }
        if (k == cap) {
            int32_t *nv = realloc(v, 2 * cap * sizeof *v);
            if (!nv) {
                free(v);
                snprintf(why, why_len, "out of memory");
                return -1;
            }
            v = nv;
            cap *= 2;
        }
        v[k++] = (int32_t)x;
        p = end;
    }
    if (k == 0) {
        free(v);
        snprintf(why, why_len, "no ids given");
        return -1;
    }
    *ids = v;
    *n = k;
    return 0;
}

/* Copies n bytes as valid UTF-8, each invalid byte becoming U+FFFD (JSON needs it). */
static int append_utf8(aieb_buf *out, const char *s, size_t n)
{
    static const char repl[] = "\xef\xbf\xbd";
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80             ? 1
                     : (c & 0xe0) == 0xc0 ? 2
                     : (c & 0xf0) == 0xe0 ? 3
                     : (c & 0xf8) == 0xf0 ? 4
                                          : 0;
        int ok = len > 0 && i + len <= n;
        for (size_t k = 1; ok && k < len; k++)
            ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
        if (ok && len == 2 && c < 0xc2)
            ok = 0; /* overlong */
        if (ok && len == 3) {
            unsigned char c1 = (unsigned char)s[i + 1];
            ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0); /* overlong, surrogate */
        }
        if (ok && len == 4) {
            unsigned char c1 = (unsigned char)s[i + 1];
            ok = c <= 0xf4 && !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
        }
        int rc = ok ? aieb_buf_append(out, s + i, len) : aieb_buf_append(out, repl, 3);
        if (rc)
            return rc;
        i += ok ? len : 1;
    }
    return 0;
}

typedef struct gen_ctx {
    aieb_engine *e;
    int json;
    aieb_buf text; /* raw bytes of the new tokens */
    int64_t first_ns, last_ns;
    double load_s; /* aieb_engine_open: mapping, checking and preparing the file */
    const char *dump_path;
    int dumped;
    int dump_rc;
    aieb_err dump_err;
} gen_ctx;

static int dump_logits(gen_ctx *g)
{
    aieb_model_info info;
    aieb_engine_info(g->e, &info);
    const float *lg = aieb_engine_logits(g->e);
    g->dumped = 1;
    if (!lg)
        return g->dump_rc = aieb_errf(&g->dump_err, AIEB_EFAIL, "no logits to dump");
    /* x86-64 floats are little-endian already */
    g->dump_rc = aieb_write_file_atomic(g->dump_path, lg, (size_t)info.n_vocab * sizeof(float),
                                        &g->dump_err);
    return g->dump_rc;
}

/* The logits of the last prompt position are still in place when the first new
 * token arrives: sampling comes before the next forward pass. */
static int on_token(void *user, int32_t token, int64_t t_ns)
{
    gen_ctx *g = user;
    if (g->dump_path && !g->dumped && dump_logits(g) != 0)
        return 1;
    if (!g->first_ns)
        g->first_ns = t_ns;
    g->last_ns = t_ns;
    size_t len;
    const char *piece = aieb_engine_token_text(g->e, token, &len);
    if (g->json)
        return aieb_buf_append(&g->text, piece, len) != 0;
    fwrite(piece, 1, len, stdout);
    fflush(stdout);
    return 0;
}

static const char *stop_name(aieb_stop_reason r)
{
    switch (r) {
    case AIEB_STOP_EOS:
        return "eos";
    case AIEB_STOP_CALLBACK:
        return "stopped";
    case AIEB_STOP_CONTEXT:
        return "context";
    default:
        return "length";
    }
}

typedef struct gen_args {
    const char *model, *prompt, *prompt_ids, *dump;
    int json;
    aieb_engine_opts eo;
    aieb_sample_params sp;
} gen_args;

static int parse_args(int argc, char **argv, gen_args *a)
{
    memset(a, 0, sizeof *a);
    aieb_engine_opts_init(&a->eo);
    aieb_sample_params_init(&a->sp);
    a->sp.max_new_tokens = 32;
    optind = 1;
    opterr = 0;
    int c;
    long v;
    double d;
    while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_MODEL:
            a->model = optarg;
            break;
        case OPT_PROMPT:
            a->prompt = optarg;
            break;
        case OPT_PROMPT_IDS:
            a->prompt_ids = optarg;
            break;
        case OPT_MAX_TOKENS:
        case OPT_MIN_TOKENS:
            if (parse_int(optarg, 0, 1 << 24, &v))
                return tool_usage_error("generate", "--%s: '%s' is not an integer 0..%d",
                                        c == OPT_MAX_TOKENS ? "max-tokens" : "min-tokens", optarg,
                                        1 << 24);
            *(c == OPT_MAX_TOKENS ? &a->sp.max_new_tokens : &a->sp.min_new_tokens) = (int)v;
            break;
        case OPT_IGNORE_EOS:
            a->sp.ignore_eos = 1;
            break;
        case OPT_TEMPERATURE:
            if (parse_double(optarg, 0, 100, &d))
                return tool_usage_error("generate", "--temperature: '%s' is not a number 0..100",
                                        optarg);
            a->sp.temperature = (float)d;
            break;
        case OPT_TOP_K:
            if (parse_int(optarg, 0, INT_MAX, &v))
                return tool_usage_error("generate", "--top-k: '%s' is not an integer >= 0", optarg);
            a->sp.top_k = (int)v;
            break;
        case OPT_TOP_P:
            if (parse_double(optarg, 0, 1, &d))
                return tool_usage_error("generate", "--top-p: '%s' is not a number 0..1", optarg);
            a->sp.top_p = (float)d;
            break;
        case OPT_SEED: {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-')
                return tool_usage_error("generate", "--seed: '%s' is not an integer >= 0", optarg);
            a->sp.seed = s;
            break;
        }
        case OPT_THREADS:
            if (parse_int(optarg, 1, 1024, &v))
                return tool_usage_error("generate", "--threads: '%s' is not an integer 1..1024",
                                        optarg);
            a->eo.threads = (int)v;
            break;
        case OPT_CONTEXT:
            if (parse_int(optarg, 1, 1 << 20, &v))
                return tool_usage_error("generate", "--context-length: '%s' is not 1..%d", optarg,
                                        1 << 20);
            a->eo.context_length = (int)v;
            break;
        case OPT_KERNELS:
            if (strcmp(optarg, "auto") == 0)
                a->eo.kernels = AIEB_KERNELS_AUTO;
            else if (strcmp(optarg, "scalar") == 0)
                a->eo.kernels = AIEB_KERNELS_SCALAR;
            else if (strcmp(optarg, "avx2") == 0)
                a->eo.kernels = AIEB_KERNELS_AVX2;
            else if (strcmp(optarg, "avx512") == 0)
                a->eo.kernels = AIEB_KERNELS_AVX512;
            else
                return tool_usage_error("generate",
                                        "--kernels: '%s' is not auto, scalar, avx2 or "
                                        "avx512",
                                        optarg);
            break;
        case OPT_JSON:
            a->json = 1;
            break;
        case OPT_DUMP_LOGITS:
            a->dump = optarg;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            return tool_usage_error("generate", "unknown or incomplete option '%s'",
                                    argv[optind - 1]);
        }
    }
    if (optind < argc)
        return tool_usage_error("generate", "unexpected argument '%s'", argv[optind]);
    if (!a->model)
        return tool_usage_error("generate", "--model is required");
    if (a->prompt && a->prompt_ids)
        return tool_usage_error("generate", "give --prompt or --prompt-ids, not both");
    return 0;
}

static double per_s(double n, int64_t ns)
{
    return ns > 0 ? n / aieb_ns_to_s(ns) : 0;
}

static int report(gen_ctx *g, const aieb_gen_stats *st)
{
    double prefill = per_s(st->prompt_tokens, st->prefill_end_ns - st->start_ns);
    double decode =
        st->completion_tokens > 1 ? per_s(st->completion_tokens - 1, g->last_ns - g->first_ns) : 0;
    if (g->json) {
        aieb_buf clean;
        aieb_buf_init(&clean, 0);
        if (append_utf8(&clean, g->text.data ? g->text.data : "", g->text.len) != 0) {
            aieb_buf_free(&clean);
            fprintf(stderr, "aieb: error: out of memory\n");
            return EXIT_RUN_FAILED;
        }
        json_t *o =
            json_pack("{s:i, s:i, s:f, s:f, s:f, s:s%, s:s}", "prompt_tokens", st->prompt_tokens,
                      "completion_tokens", st->completion_tokens, "prefill_tokens_per_s", prefill,
                      "decode_tokens_per_s", decode, "load_s", g->load_s, "text",
                      clean.data ? clean.data : "", clean.len, "stop_reason", stop_name(st->stop));
        aieb_buf_free(&clean);
        aieb_model_info info;
        aieb_engine_info(g->e, &info);
        json_t *loaded = aieb_model_info_loaded_json(&info);
        if (o && (!loaded || json_object_set_new(o, "model", loaded) != 0)) {
            json_decref(o);
            o = NULL;
        }
        if (!o) {
            fprintf(stderr, "aieb: error: cannot build the JSON result\n");
            return EXIT_RUN_FAILED;
        }
        char *s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!s)
            return EXIT_RUN_FAILED;
        printf("%s\n", s);
        free(s);
        return 0;
    }
    printf("\n\nloaded in %.3f s; prompt: %d tokens, prefill %.1f tokens/s; completion: %d "
           "tokens, decode %.1f tokens/s; stop: %s\n",
           g->load_s, st->prompt_tokens, prefill, st->completion_tokens, decode,
           stop_name(st->stop));
    return 0;
}

int cmd_generate(int argc, char **argv)
{
    gen_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    if (a.prompt_ids) {
        char why[96];
        if (parse_ids(a.prompt_ids, &ids, &n_ids, why, sizeof why) != 0)
            return tool_usage_error("generate", "--prompt-ids: %s", why);
    }
    aieb_err err = {0};
    aieb_engine *e = NULL;
    int64_t t_open = aieb_now_ns();
    if ((rc = aieb_engine_open(a.model, &a.eo, &e, &err)) != 0) {
        free(ids);
        return tool_fail(rc, &err);
    }
    gen_ctx g = {.e = e,
                 .json = a.json,
                 .dump_path = a.dump,
                 .load_s = aieb_ns_to_s(aieb_now_ns() - t_open)};
    aieb_buf_init(&g.text, MAX_TEXT_BYTES);
    int status = 0;
    if (!ids) {
        const char *text = a.prompt ? a.prompt : DEFAULT_PROMPT;
        size_t cap = 3 * strlen(text) + 8;
        ids = malloc(cap * sizeof *ids);
        if (!ids) {
            status = tool_fail(aieb_errf(&err, AIEB_ENOMEM, "out of memory"), &err);
            goto done;
        }
        if ((rc = aieb_engine_tokenize(e, text, 1, ids, cap, &n_ids, &err)) != 0) {
            status = tool_fail(rc, &err);
            goto done;
        }
        if (n_ids == 0) {
            status = tool_usage_error("generate", "the prompt has no tokens");
            goto done;
        }
    }
    aieb_gen_stats st;
    rc = aieb_engine_generate(e, ids, n_ids, &a.sp, on_token, &g, &st, &err);
    if (rc) {
        status = tool_fail(rc, &err);
        goto done;
    }
    if (a.dump && !g.dumped)
        dump_logits(&g);
    if (g.dump_rc) {
        status = tool_fail(g.dump_rc, &g.dump_err);
        goto done;
    }
    status = report(&g, &st);
done:
    aieb_buf_free(&g.text);
    aieb_engine_close(e);
    free(ids);
    return status;
}
