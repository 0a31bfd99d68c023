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

/* Vocabularies checked, and how many of their texts may still differ from the
 * reference (0 = exact): llama.cpp's .inp/.out pairs, then the extra texts. */
static const struct {
    const char *name;
    int known_mismatches, known_extra_mismatches;
} VOCABS[] = {
    {"llama-bpe", 0, 0},      {"qwen2", 0, 0},  {"gpt-2", 0, 0},     {"deepseek-llm", 0, 0},
    {"deepseek-coder", 0, 0}, {"falcon", 0, 0}, {"starcoder", 0, 0}, {"mpt", 0, 0},
    {"llama-spm", 0, 0},      {"phi-3", 0, 0},  {"command-r", 0, 0}, {"refact", 0, 0},
    {"qwen35", 0, 0},
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
    if (bad && label) {
        fprintf(stderr, "%s: text '%.*s' (%zu bytes)%s%s\n", label, (int)(len > 80 ? 80 : len),
                text, len, rc ? ": " : "", rc ? err.msg : "");
        print_ids("want", want, n_want);
        print_ids("got ", ids, n);
    }
    free(ids);
    return bad;
}

/* Tokenizes the texts of data's .inp with vocabulary name, compares with data's .out;
 * returns how many differ. */
static int run_vocab(const char *name, const char *data, int verbose)
{
    char path[1200], inp_path[1300], out_path[1300];
    snprintf(path, sizeof path, "%s/ggml-vocab-%s.gguf", vocab_dir, data);
    snprintf(inp_path, sizeof inp_path, "%s.inp", path);
    snprintf(out_path, sizeof out_path, "%s.out", path);
    snprintf(path, sizeof path, "%s/ggml-vocab-%s.gguf", vocab_dir, name);
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
        n_bad += check_one(e, verbose ? label : NULL, inp + pos, end - pos, want, (size_t)n_want);
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

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* tests/fixtures/tokenizer/NAME.txt: "MODE HEX IDS" lines (see the file's header). */
static int run_fixture(const char *name, int *n_lines)
{
    const char *src = getenv("AIEB_SOURCE_DIR");
    char path[1200], vpath[1200];
    snprintf(path, sizeof path, "%s/tests/fixtures/tokenizer/%s.txt", src ? src : ".", name);
    snprintf(vpath, sizeof vpath, "%s/ggml-vocab-%s.gguf", vocab_dir, name);
    char *data;
    size_t len;
    aieb_err err = {0};
    if (aieb_read_file(path, 1 << 22, &data, &len, &err) != 0)
        fail_msg("%s", err.msg);
    aieb_engine_opts eo;
    aieb_engine_opts_init(&eo);
    eo.vocab_only = 1;
    aieb_engine *e = NULL;
    if (aieb_engine_open(vpath, &eo, &e, &err) != 0)
        fail_msg("%s: %s", name, err.msg);
    int32_t *want = malloc(65536 * sizeof *want), *ids = malloc(65536 * sizeof *ids);
    char *text = malloc(len);
    assert_true(want && ids && text);
    int bad = 0;
    *n_lines = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) : len;
        const char *line = data + pos, *sp1 = memchr(line, ' ', end - pos);
        assert_non_null(sp1);
        int special = line[0] == 's';
        const char *h = sp1 + 1;
        size_t tl = 0;
        while (h + 1 < data + end && *h != ' ') {
            text[tl++] = (char)(hexval(h[0]) * 16 + hexval(h[1]));
            h += 2;
        }
        int n_want = parse_ids(h, (size_t)(data + end - h), want, 65536);
        size_t n = 0;
        int rc = aieb_engine_tokenize_ex(e, text, tl, 0, special, ids, 65536, &n, &err);
        if (rc || n != (size_t)n_want || memcmp(ids, want, n * sizeof *ids) != 0) {
            fprintf(stderr, "%s fixture line %d (%s): '%.*s'%s%s\n", name, *n_lines + 1,
                    special ? "special" : "plain", (int)(tl > 80 ? 80 : tl), text, rc ? ": " : "",
                    rc ? err.msg : "");
            print_ids("want", want, (size_t)n_want);
            print_ids("got ", ids, n);
            bad++;
        }
        (*n_lines)++;
        pos = end + 1;
    }
    free(want);
    free(ids);
    free(text);
    free(data);
    aieb_engine_close(e);
    return bad;
}

/* The comparison can fail: Llama 3's vocabulary against Qwen2's expected ids. */
static void test_control(void **state)
{
    (void)state;
    int bad = run_vocab("llama-bpe", "qwen2", 0);
    assert_true(bad >= 30);
}

static void test_extra_texts(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof VOCABS / sizeof VOCABS[0]; i++) {
        int n;
        int bad = run_fixture(VOCABS[i].name, &n);
        fprintf(stderr, "%s: %d extra texts, %d differ from llama-tokenize\n", VOCABS[i].name, n,
                bad);
        assert_true(n >= 40);
        if (bad != VOCABS[i].known_extra_mismatches) {
            fprintf(stderr, "FAIL %s: %d extra texts differ, %d expected\n", VOCABS[i].name, bad,
                    VOCABS[i].known_extra_mismatches);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

static void test_reference_vocabs(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof VOCABS / sizeof VOCABS[0]; i++) {
        int bad = run_vocab(VOCABS[i].name, VOCABS[i].name, 1);
        if (bad != VOCABS[i].known_mismatches) {
            fprintf(stderr, "FAIL %s: %d texts differ, %d expected\n", VOCABS[i].name, bad,
                    VOCABS[i].known_mismatches);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

/* The tokens that end a generation, against the reference: the ids llama.cpp's loader
 * (commit de3ff81) prints as "EOG token" for each vocabulary with --log-verbose. */
static void test_eog_sets(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int n;
        int ids[4];
    } want[] = {
        {"aquila", 2, {0, 100007}},
        {"baichuan", 1, {2}},
        {"bert-bge", 1, {0}},
        {"command-r", 2, {0, 255001}},
        {"deepseek-coder", 1, {32014}},
        {"deepseek-llm", 1, {100001}},
        {"falcon", 1, {11}},
        {"gemma-4", 3, {1, 50, 106}},
        {"gpt-2", 1, {50256}},
        {"gpt-neox", 1, {0}},
        {"llama-bpe", 2, {128001, 128009}},
        {"llama-spm", 1, {2}},
        {"mpt", 1, {0}},
        {"nomic-bert-moe", 1, {2}},
        {"phi-3", 3, {2, 32000, 32007}},
        {"qwen2", 3, {128247, 151643, 151645}},
        {"qwen35", 3, {128247, 151643, 151645}},
        {"refact", 3, {0, 4, 18}},
        {"starcoder", 2, {0, 4}},
    };
    int failed = 0, checked = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/ggml-vocab-%s.gguf", vocab_dir, want[i].name);
        aieb_engine_opts eo;
        aieb_engine_opts_init(&eo);
        eo.vocab_only = 1;
        aieb_engine *e = NULL;
        aieb_err err = {0};
        if (aieb_engine_open(path, &eo, &e, &err) != 0) {
            /* kinds the engine does not tokenize (WordPiece, ...) cannot be opened */
            fprintf(stderr, "%s: not opened (%s)\n", want[i].name, err.msg);
            continue;
        }
        aieb_model_info info;
        aieb_engine_info(e, &info);
        int same = info.n_eog == want[i].n;
        for (int k = 0; same && k < info.n_eog; k++)
            same = info.eog_ids[k] == want[i].ids[k];
        if (!same) {
            fprintf(stderr, "FAIL %s: %d end-of-generation ids:", want[i].name, info.n_eog);
            for (int k = 0; k < info.n_eog; k++)
                fprintf(stderr, " %d", info.eog_ids[k]);
            fprintf(stderr, "\n");
            failed++;
        }
        checked++;
        aieb_engine_close(e);
    }
    fprintf(stderr, "end-of-generation sets: %d vocabularies checked, %d differ\n", checked,
            failed);
    assert_true(checked >= 12);
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
        cmocka_unit_test(test_extra_texts),
        cmocka_unit_test(test_control),
        cmocka_unit_test(test_eog_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
