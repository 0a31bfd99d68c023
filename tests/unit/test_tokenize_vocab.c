/* test_tokenize_vocab.c - token ids equal to the reference tokenizer's on real
 * vocabularies.
 *
 * Data: llama.cpp's models/ggml-vocab-NAME.gguf (vocabulary-only GGUF files) with
 * NAME.gguf.inp (texts separated by a line "__ggml_vocab_test__") and NAME.gguf.out
 * (the reference ids of each text, one line each, made with no BOS and no special-
 * token parsing, as llama.cpp's tests/test-tokenizer-0 reads them). scripts/deps.sh
 * puts them in $AIEB_VOCAB_DIR or ~/.cache/aieb/llama-vocab (from the llama.cpp
 * source tree inside the node-llama-cpp npm package).
 *
 * Also tests/fixtures/tokenizer/NAME.txt: more texts (whitespace runs, code, CJK,
 * emoji, invalid UTF-8; hex-encoded, one per line) with the ids llama.cpp's
 * llama-tokenize gave (scripts/gen-tokenizer-refs.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aieb/engine.h"
#include "aieb/fileio.h"

static char vocab_dir[1024];

/* Vocabularies checked, and how many of their texts may still differ (0 = exact). */
static const struct {
    const char *name;
    int known_mismatches;
} VOCABS[] = {
    {"llama-bpe", 0}, {"qwen2", 0},     {"gpt-2", 0},  {"deepseek-llm", 0}, {"deepseek-coder", 0},
    {"falcon", 0},    {"starcoder", 0}, {"mpt", 0},    {"llama-spm", 0},    {"phi-3", 0},
    {"command-r", 0}, {"refact", 0},    {"qwen35", 0},
};

static int parse_ids(const char *line, size_t n, int32_t *ids, size_t cap)
{
    size_t k = 0;
    char buf[32];
    for (size_t i = 0; i < n;) {
        while (i < n && line[i] == ' ')
            i++;
        size_t j = 0;
        while (i < n && line[i] != ' ' && j + 1 < sizeof buf)
            buf[j++] = line[i++];
        if (j == 0)
            break;
        buf[j] = 0;
        if (k < cap)
            ids[k] = (int32_t)strtol(buf, NULL, 10);
        k++;
    }
    return (int)k;
}

static void print_ids(const char *what, const int32_t *ids, size_t n)
{
    fprintf(stderr, "  %s:", what);
    for (size_t i = 0; i < n && i < 64; i++)
        fprintf(stderr, " %d", (int)ids[i]);
    fprintf(stderr, n > 64 ? " ...\n" : "\n");
}

/* Tokenizes text[0..len) and compares with want; prints and returns 1 on a mismatch. */
static int check_one(aieb_engine *e, const char *label, const char *text, size_t len,
                     const int32_t *want, size_t n_want)
{
    size_t cap = 3 * len + 8, n = 0;
    int32_t *ids = malloc(cap * sizeof *ids);
    assert_non_null(ids);
    aieb_err err = {0};
    int rc = aieb_engine_tokenize_ex(e, text, len, 0, 0, ids, cap, &n, &err);
    int bad = rc != 0 || n != n_want || memcmp(ids, want, n * sizeof *ids) != 0;
    if (bad) {
        fprintf(stderr, "%s: text '%.*s' (%zu bytes)%s%s\n", label, (int)(len > 80 ? 80 : len),
                text, len, rc ? ": " : "", rc ? err.msg : "");
        print_ids("want", want, n_want);
        print_ids("got ", ids, n);
    }
    free(ids);
    return bad;
}

static int run_vocab(const char *name)
{
    char path[1200], inp_path[1300], out_path[1300];
    snprintf(path, sizeof path, "%s/ggml-vocab-%s.gguf", vocab_dir, name);
    snprintf(inp_path, sizeof inp_path, "%s.inp", path);
    snprintf(out_path, sizeof out_path, "%s.out", path);
    char *inp, *out;
    size_t inp_len, out_len;
    aieb_err err = {0};
    assert_int_equal(aieb_read_file(inp_path, 1 << 24, &inp, &inp_len, &err), 0);
    assert_int_equal(aieb_read_file(out_path, 1 << 24, &out, &out_len, &err), 0);
    aieb_engine_opts eo;
    aieb_engine_opts_init(&eo);
    eo.vocab_only = 1;
    aieb_engine *e = NULL;
    int rc = aieb_engine_open(path, &eo, &e, &err);
    if (rc)
        fail_msg("%s: %s", name, err.msg);

    static const char sep[] = "\n__ggml_vocab_test__\n";
    size_t sep_len = sizeof sep - 1, pos = 0, opos = 0;
    int n_texts = 0, n_bad = 0;
    int32_t *want = malloc(65536 * sizeof *want);
    assert_non_null(want);
    while (pos < inp_len) {
        const char *m = memmem(inp + pos, inp_len - pos, sep, sep_len);
        size_t end = m ? (size_t)(m - inp) : inp_len;
        assert_true(opos < out_len);
        const char *nl = memchr(out + opos, '\n', out_len - opos);
        size_t oend = nl ? (size_t)(nl - out) : out_len;
        int n_want = parse_ids(out + opos, oend - opos, want, 65536);
        assert_true(n_want <= 65536);
        char label[128];
        snprintf(label, sizeof label, "%s #%d", name, n_texts);
        n_bad += check_one(e, label, inp + pos, end - pos, want, (size_t)n_want);
        n_texts++;
        opos = oend + 1;
        if (!m)
            break;
        pos = end + sep_len;
    }
    fprintf(stderr, "%s: %d texts, %d differ from the reference\n", name, n_texts, n_bad);
    assert_true(n_texts > 10);
    free(want);
    free(inp);
    free(out);
    aieb_engine_close(e);
    return n_bad;
}

static void test_reference_vocabs(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof VOCABS / sizeof VOCABS[0]; i++) {
        int bad = run_vocab(VOCABS[i].name);
        if (bad != VOCABS[i].known_mismatches) {
            fprintf(stderr, "FAIL %s: %d texts differ, %d expected\n", VOCABS[i].name, bad,
                    VOCABS[i].known_mismatches);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

int main(void)
{
    const char *d = getenv("AIEB_VOCAB_DIR");
    const char *home = getenv("HOME");
    if (d && *d)
        snprintf(vocab_dir, sizeof vocab_dir, "%s", d);
    else
        snprintf(vocab_dir, sizeof vocab_dir, "%s/.cache/aieb/llama-vocab", home ? home : ".");
    char probe[1200];
    snprintf(probe, sizeof probe, "%s/ggml-vocab-llama-bpe.gguf.out", vocab_dir);
    FILE *f = fopen(probe, "rb");
    if (!f) {
        printf("skip: no reference vocabularies in %s (scripts/deps.sh fetches them)\n", vocab_dir);
        return 77;
    }
    fclose(f);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_vocabs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
