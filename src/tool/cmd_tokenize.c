/* cmd_tokenize.c - 'aieb tokenize': a text's token ids under a GGUF file's vocabulary.
 *
 * Reads only the vocabulary, so vocabulary-only GGUF files (no tensors) work, and
 * prints the ids on one line, or {"ids": [...], "pieces": [...]} with --json.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/engine.h"
#include "aieb/fileio.h"
#include "tool.h"

#define MAX_TEXT_BYTES (16u << 20)

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: aieb tokenize --model FILE (--prompt TEXT | --file PATH) [--no-bos]\n"
            "                     [--no-parse-special] [--json]\n\n"
            "Prints the token ids of a text under the vocabulary of a GGUF file (a model or a\n"
            "vocabulary-only file), separated by spaces on one line.\n\n"
            "Vocabularies: SentencePiece ('llama') and byte-level BPE ('gpt2') with the\n"
            "pre-tokenizers llama-bpe, qwen2, qwen35, gpt-2, mpt, starcoder, smollm, refact,\n"
            "command-r, falcon, deepseek-llm, deepseek-coder and default.\n\n"
            "Options:\n"
            "  --model FILE         GGUF file (required)\n"
            "  --prompt TEXT        the text\n"
            "  --file PATH          read the text from PATH (its bytes as they are)\n"
            "  --no-bos             no BOS token first (default: BOS when the vocabulary asks\n"
            "                       for it, tokenizer.ggml.add_bos_token)\n"
            "  --no-parse-special   special-token text such as <|im_start|> is plain text\n"
            "                       (default: it becomes that token)\n"
            "  --json               print {\"ids\": [...], \"pieces\": [...]}; a piece is its\n"
            "                       token's text (bytes that are not valid UTF-8 as U+FFFD)\n"
            "  -h, --help           this help\n\n"
            "Exit status: 0 ok, 1 the text could not be tokenized, 2 usage error or unusable\n"
            "file.\n");
}

enum { OPT_MODEL = 256, OPT_PROMPT, OPT_FILE, OPT_NO_BOS, OPT_NO_SPECIAL, OPT_JSON };

static const struct option long_opts[] = {
    {"model", required_argument, NULL, OPT_MODEL},
    {"prompt", required_argument, NULL, OPT_PROMPT},
    {"file", required_argument, NULL, OPT_FILE},
    {"no-bos", no_argument, NULL, OPT_NO_BOS},
    {"no-parse-special", no_argument, NULL, OPT_NO_SPECIAL},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* s[0..n) with every byte that starts no valid UTF-8 sequence replaced by U+FFFD
 * (JSON strings must be valid UTF-8). NULL when out of memory. */
static json_t *json_text(const char *s, size_t n)
{
    char *o = malloc(3 * n + 1);
    if (!o)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        const unsigned char *u = (const unsigned char *)s + i;
        size_t need = u[0] < 0x80                    ? 1
                      : u[0] >= 0xc2 && u[0] <= 0xdf ? 2
                      : u[0] >= 0xe0 && u[0] <= 0xef ? 3
                      : u[0] >= 0xf0 && u[0] <= 0xf4 ? 4
                                                     : 0;
        int ok = need > 0 && need <= n - i;
        for (size_t j = 1; ok && j < need; j++)
            ok = (u[j] & 0xc0) == 0x80;
        if (ok && need == 3) /* no overlong forms, no surrogates */
            ok = !(u[0] == 0xe0 && u[1] < 0xa0) && !(u[0] == 0xed && u[1] >= 0xa0);
        if (ok && need == 4)
            ok = !(u[0] == 0xf0 && u[1] < 0x90) && !(u[0] == 0xf4 && u[1] >= 0x90);
        if (ok && u[0] != 0) {
            memcpy(o + k, u, need);
            k += need;
            i += need;
        } else if (ok) { /* NUL: jansson takes it with a length */
            o[k++] = 0;
            i++;
        } else {
            memcpy(o + k, "\xef\xbf\xbd", 3);
            k += 3;
            i++;
        }
    }
    json_t *j = json_stringn(o, k);
    free(o);
    return j;
}

static int print_json(aieb_engine *e, const int32_t *ids, size_t n)
{
    json_t *root = json_object(), *jids = json_array(), *jp = json_array();
    int rc = !root || !jids || !jp;
    for (size_t i = 0; i < n && !rc; i++) {
        size_t len;
        const char *p = aieb_engine_token_piece(e, ids[i], &len);
        json_t *s = json_text(p, len);
        rc =
            json_array_append_new(jids, json_integer(ids[i])) || !s || json_array_append_new(jp, s);
    }
    if (!rc)
        rc = json_object_set(root, "ids", jids) || json_object_set(root, "pieces", jp);
    char *txt = rc ? NULL : json_dumps(root, JSON_COMPACT);
    if (txt)
        printf("%s\n", txt);
    free(txt);
    json_decref(jids);
    json_decref(jp);
    json_decref(root);
    return txt ? 0 : -1;
}

int cmd_tokenize(int argc, char **argv)
{
    const char *model = NULL, *prompt = NULL, *file = NULL;
    int add_bos = 1, special = 1, as_json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_MODEL:
            model = optarg;
            break;
        case OPT_PROMPT:
            prompt = optarg;
            break;
        case OPT_FILE:
            file = optarg;
            break;
        case OPT_NO_BOS:
            add_bos = 0;
            break;
        case OPT_NO_SPECIAL:
            special = 0;
            break;
        case OPT_JSON:
            as_json = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            return tool_usage_error("tokenize", "unknown option");
        }
    }
    if (optind < argc)
        return tool_usage_error("tokenize", "unexpected argument '%s'", argv[optind]);
    if (!model)
        return tool_usage_error("tokenize", "--model is required");
    if (!prompt == !file)
        return tool_usage_error("tokenize", "give exactly one of --prompt and --file");

    aieb_err err = {0};
    char *data = NULL;
    size_t len;
    int rc;
    if (file) {
        if ((rc = aieb_read_file(file, MAX_TEXT_BYTES, &data, &len, &err)) != 0)
            return tool_fail(rc == AIEB_ENOTFOUND ? AIEB_EINVAL : rc, &err);
    } else {
        len = strlen(prompt);
    }
    aieb_engine_opts eo;
    aieb_engine_opts_init(&eo);
    eo.vocab_only = 1;
    aieb_engine *e = NULL;
    if ((rc = aieb_engine_open(model, &eo, &e, &err)) != 0) {
        free(data);
        return tool_fail(rc, &err);
    }
    size_t cap = 3 * len + 8, n = 0; /* at most 3 ids a byte (an invalid byte is U+FFFD) */
    int32_t *ids = malloc(cap * sizeof *ids);
    int status = 0;
    if (!ids)
        status = tool_fail(aieb_errf(&err, AIEB_ENOMEM, "out of memory"), &err);
    else if ((rc = aieb_engine_tokenize_ex(e, file ? data : prompt, len, add_bos, special, ids, cap,
                                           &n, &err)) != 0)
        status = tool_fail(rc, &err);
    else if (as_json)
        status = print_json(e, ids, n)
                     ? tool_fail(aieb_errf(&err, AIEB_ENOMEM, "out of memory"), &err)
                     : 0;
    else {
        for (size_t i = 0; i < n; i++)
            printf(i ? " %d" : "%d", (int)ids[i]);
        printf("\n");
    }
    free(ids);
    free(data);
    aieb_engine_close(e);
    return status;
}
