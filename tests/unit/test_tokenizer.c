/* test_tokenizer.c - tokenizers on small hand-made vocabularies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/gguf.h"
#include "engine/tokenizer.h"

#define SP "\xe2\x96\x81" /* U+2581 */

typedef struct vocab {
    aieb_gguf *g;
    uint8_t *bytes;
    tokenizer tok;
} vocab;

/* 0 <unk>, 1 <s>, 2 </s>, 3..258 <0xNN>, then the pieces given. */
static int make_vocab(vocab *v, const char *model, const char *const *pieces, const float *scores,
                      int n_pieces, int n_vocab, aieb_err *err)
{
    int n = 259 + n_pieces;
    const char **toks = calloc((size_t)n, sizeof *toks);
    float *sc = calloc((size_t)n, sizeof *sc);
    int32_t *ty = calloc((size_t)n, sizeof *ty);
    char(*bytes)[8] = calloc(256, 8);
    toks[0] = "<unk>";
    toks[1] = "<s>";
    toks[2] = "</s>";
    ty[0] = 2;
    ty[1] = ty[2] = 3;
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], 8, "<0x%02X>", b);
        toks[3 + b] = bytes[b];
        ty[3 + b] = 6;
    }
    for (int i = 0; i < n_pieces; i++) {
        toks[259 + i] = pieces[i];
        sc[259 + i] = scores[i];
        ty[259 + i] = 1;
    }
    aieb_gguf_writer *w = aieb_gguf_writer_new(0);
    assert_int_equal(aieb_gguf_w_str(w, "tokenizer.ggml.model", model), 0);
    assert_int_equal(aieb_gguf_w_arr(w, "tokenizer.ggml.tokens", AIEB_GGUF_STRING, toks, n), 0);
    assert_int_equal(aieb_gguf_w_arr(w, "tokenizer.ggml.scores", AIEB_GGUF_FLOAT32, sc, n), 0);
    assert_int_equal(aieb_gguf_w_arr(w, "tokenizer.ggml.token_type", AIEB_GGUF_INT32, ty, n), 0);
    assert_int_equal(aieb_gguf_w_u32(w, "tokenizer.ggml.bos_token_id", 1), 0);
    assert_int_equal(aieb_gguf_w_u32(w, "tokenizer.ggml.eos_token_id", 2), 0);
    assert_int_equal(aieb_gguf_w_u32(w, "tokenizer.ggml.unknown_token_id", 0), 0);
    size_t len;
    assert_int_equal(aieb_gguf_writer_bytes(w, &v->bytes, &len, err), 0);
    aieb_gguf_writer_free(w);
    free(toks);
    free(sc);
    free(ty);
    free(bytes);
    assert_int_equal(aieb_gguf_parse(v->bytes, len, &v->g, err), 0);
    return tokenizer_init_gguf(&v->tok, v->g, n_vocab ? n_vocab : n, err);
}

static void free_vocab(vocab *v)
{
    tokenizer_free(&v->tok);
    aieb_gguf_close(v->g);
    free(v->bytes);
}

static void expect_ids(tokenizer *t, const char *text, int add_bos, const int32_t *want,
                       size_t n_want)
{
    int32_t ids[64];
    size_t n;
    aieb_err err = {0};
    assert_int_equal(tokenizer_encode(t, text, strlen(text), add_bos, 0, ids, 64, &n, &err), 0);
    if (n != n_want || memcmp(ids, want, n * sizeof *ids) != 0) {
        char got[256] = "";
        for (size_t i = 0; i < n; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), " %d", (int)ids[i]);
        fail_msg("'%s': got%s", text, got);
    }
}

/* ==== SentencePiece-style merges ============================================ */

enum { U = 259 }; /* first piece id */

static void merges_by_score(void **state)
{
    const char *p[] = {SP,   "h",    "e",     "l",        "o",    "w",  "r",  "d",      "ll",
                       "he", "hell", "hello", SP "hello", SP "w", "or", "ld", SP "wor", SP "world"};
    const float s[] = {-10, -10, -10, -10, -10, -10, -10, -10, -1,
                       -2,  -3,  -4,  -5,  -6,  -7,  -8,  -9,  -9.5f};
    vocab v;
    aieb_err err = {0};
    assert_int_equal(make_vocab(&v, "llama", p, s, 18, 0, &err), 0);
    assert_int_equal(v.tok.kind, TOK_LLAMA);
    assert_int_equal(v.tok.bos_id, 1);
    assert_int_equal(v.tok.eos_id, 2);
    /* "▁hello▁world": ll, he, hell, hello, ▁hello, ▁w, or, ld, ▁wor, ▁world */
    int32_t want[] = {1, U + 12, U + 17};
    expect_ids(&v.tok, "hello world", 1, want, 3);
    expect_ids(&v.tok, "hello world", 0, want + 1, 2);
    /* unknown characters fall back to their UTF-8 bytes */
    int32_t want2[] = {U + 0, U + 1, 3 + 0xC3, 3 + 0xA9};
    expect_ids(&v.tok, "h\xc3\xa9", 0, want2, 4);
    int32_t want3[] = {U + 13, U + 17};
    expect_ids(&v.tok, "w world", 0, want3, 2);
    /* two spaces: "▁hello▁▁world" */
    int32_t want4[] = {U + 12, U + 0, U + 17};
    expect_ids(&v.tok, "hello  world", 0, want4, 3);
    /* the empty text is only BOS */
    int32_t bos[] = {1};
    expect_ids(&v.tok, "", 1, bos, 1);
    /* too many ids for the room given */
    int32_t ids[2];
    size_t n;
    assert_int_equal(tokenizer_encode(&v.tok, "hello world", 11, 1, 0, ids, 2, &n, &err),
                     AIEB_ETOOBIG);
    assert_non_null(strstr(err.msg, "more than 2 tokens"));

    /* pieces back to text */
    size_t len;
    assert_string_equal(tokenizer_piece(&v.tok, U + 12, 0, &len), " hello");
    assert_int_equal(len, 6);
    assert_string_equal(tokenizer_piece(&v.tok, 3 + 'A', 0, &len), "A");
    assert_string_equal(tokenizer_piece(&v.tok, 2, 0, &len), ""); /* control */
    assert_int_equal(len, 0);
    assert_string_equal(tokenizer_piece(&v.tok, 100000, 0, &len), "");
    assert_string_equal(tokenizer_piece(&v.tok, -1, 0, &len), "");
    const char *nul = tokenizer_piece(&v.tok, 3, 0, &len); /* <0x00> is one NUL byte */
    assert_int_equal(len, 1);
    assert_int_equal(nul[0], 0);
    free_vocab(&v);
}

static void ties_go_left(void **state)
{
    const char *p[] = {SP, "a", "aa", "b", "c", "ab", "bc"};
    const float s[] = {-10, -10, -1, -10, -10, -5, -1};
    vocab v;
    aieb_err err = {0};
    assert_int_equal(make_vocab(&v, "llama", p, s, 7, 0, &err), 0);
    /* "▁aaa": both "aa" pairs score -1, the left one merges first */
    int32_t want[] = {U + 0, U + 2, U + 1};
    expect_ids(&v.tok, "aaa", 0, want, 3);
    /* "▁abc": "bc" (-1) beats "ab" (-5) */
    int32_t want2[] = {U + 0, U + 1, U + 6};
    expect_ids(&v.tok, "abc", 0, want2, 3);
    /* "▁ab": only ab */
    int32_t want3[] = {U + 0, U + 5};
    expect_ids(&v.tok, "ab", 0, want3, 2);
    free_vocab(&v);
}

/* ==== other kinds and bad metadata ========================================== */

static void bytes_kind(void **state)
{
    tokenizer t;
    aieb_err err = {0};
    assert_int_equal(tokenizer_init_bytes(&t, 49152, &err), 0);
    int32_t want[] = {1, 3 + 'H', 3 + 'i', 3 + 0xff};
    expect_ids(&t, "Hi\xff", 1, want, 4);
    size_t len;
    assert_string_equal(tokenizer_piece(&t, 3 + 'H', 0, &len), "H");
    assert_string_equal(tokenizer_piece(&t, 12345, 0, &len), "<t12345>");
    assert_string_equal(tokenizer_piece(&t, 2, 0, &len), "");
    assert_string_equal(tokenizer_piece(&t, 49152, 0, &len), "");
    tokenizer_free(&t);
    assert_int_equal(tokenizer_init_bytes(&t, 100, &err), AIEB_EINVAL);
}

/* ==== byte-level BPE ====================================================== */

/* GPT-2's byte-to-character table, written from its definition: printable bytes
 * (33-126, 161-172, 174-255) are themselves, the others U+0100 + their rank. */
static void gpt2_char(int b, char out[3])
{
    int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
    int cp = b;
    if (!printable) {
        cp = 256;
        for (int x = 0; x < b; x++)
            cp += !((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174);
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = 0;
    } else {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        out[2] = 0;
    }
}

/* ids 0..255: the characters of bytes 0..255; then extra[i] with type types[i]. */
#define X 256
static int make_bpe(vocab *v, const char *pre, const char *const *merges, int n_merges,
                    const char *const *extra, const int32_t *types, int n_extra, int add_bos,
                    aieb_err *err)
{
    int n = 256 + n_extra;
    const char **toks = calloc((size_t)n, sizeof *toks);
    int32_t *ty = calloc((size_t)n, sizeof *ty);
    char(*chars)[3] = calloc(256, 3);
    for (int b = 0; b < 256; b++) {
        gpt2_char(b, chars[b]);
        toks[b] = chars[b];
        ty[b] = 1;
    }
    for (int i = 0; i < n_extra; i++) {
        toks[256 + i] = extra[i];
        ty[256 + i] = types[i];
    }
    aieb_gguf_writer *w = aieb_gguf_writer_new(0);
    assert_int_equal(aieb_gguf_w_str(w, "tokenizer.ggml.model", "gpt2"), 0);
    if (pre)
        assert_int_equal(aieb_gguf_w_str(w, "tokenizer.ggml.pre", pre), 0);
    assert_int_equal(aieb_gguf_w_arr(w, "tokenizer.ggml.tokens", AIEB_GGUF_STRING, toks, n), 0);
    assert_int_equal(aieb_gguf_w_arr(w, "tokenizer.ggml.token_type", AIEB_GGUF_INT32, ty, n), 0);
    if (merges)
        assert_int_equal(
            aieb_gguf_w_arr(w, "tokenizer.ggml.merges", AIEB_GGUF_STRING, merges, n_merges), 0);
    assert_int_equal(aieb_gguf_w_u32(w, "tokenizer.ggml.bos_token_id", X), 0);
    assert_int_equal(aieb_gguf_w_u32(w, "tokenizer.ggml.eot_token_id", X + 1), 0);
    if (add_bos >= 0)
        assert_int_equal(
            aieb_gguf_w_kv(w, "tokenizer.ggml.add_bos_token", AIEB_GGUF_BOOL, &add_bos), 0);
    size_t len;
    assert_int_equal(aieb_gguf_writer_bytes(w, &v->bytes, &len, err), 0);
    aieb_gguf_writer_free(w);
    free(toks);
    free(ty);
    free(chars);
    assert_int_equal(aieb_gguf_parse(v->bytes, len, &v->g, err), 0);
    return tokenizer_init_gguf(&v->tok, v->g, 0, err);
}

static void expect_bpe(tokenizer *t, const char *text, size_t len, int add_bos, int special,
                       const int32_t *want, size_t n_want)
{
    int32_t ids[64];
    size_t n;
    aieb_err err = {0};
    assert_int_equal(tokenizer_encode(t, text, len, add_bos, special, ids, 64, &n, &err), 0);
    if (n != n_want || memcmp(ids, want, n * sizeof *ids) != 0) {
        char got[256] = "";
        for (size_t i = 0; i < n; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), " %d", (int)ids[i]);
        fail_msg("'%.*s': got%s", (int)len, text, got);
    }
}

static const char *const BPE_EXTRA[] = {
    "<s>", "<|im_start|>", "<user>", "he", "ll", "hell", "hello", "aa", "bc", "\xc4\xa0w", "ab"};
static const int32_t BPE_TYPES[] = {3, 3, 4, 1, 1, 1, 1, 1, 1, 1, 1};
/* ranks: "b c" before "a b"; "he ll" needs both halves first */
static const char *const BPE_MERGES[] = {"h e", "l l", "he ll",      "hell o", "a a",
                                         "b c", "a b", "\xc4\xa0 w", "nosplit"};

static void bpe_merges(void **state)
{
    vocab v;
    aieb_err err = {0};
    assert_int_equal(make_bpe(&v, "gpt-2", BPE_MERGES, 9, BPE_EXTRA, BPE_TYPES, 11, -1, &err), 0);
    assert_int_equal(v.tok.kind, TOK_GPT2);
    assert_string_equal(v.tok.pre, "gpt-2");
    assert_int_equal(v.tok.add_bos, 0); /* gpt-2 asks for none */
    assert_int_equal(v.tok.eot_id, X + 1);
    const int32_t hello[] = {X + 6};
    expect_bpe(&v.tok, "hello", 5, 0, 0, hello, 1);
    /* "b c" (rank 5) wins over "a b" (rank 6) */
    const int32_t abc[] = {'a', X + 8};
    expect_bpe(&v.tok, "abc", 3, 0, 0, abc, 2);
    /* equal ranks: the leftmost pair first */
    const int32_t aaa[] = {X + 7, 'a'};
    expect_bpe(&v.tok, "aaa", 3, 0, 0, aaa, 2);
    /* the space goes with the next word (Ġw), words never merge across the split */
    const int32_t hw[] = {X + 6, X + 9};
    expect_bpe(&v.tok, "hello w", 7, 0, 0, hw, 2);
    /* bytes that are not UTF-8 are read as U+FFFD (EF BF BD) */
    const int32_t bad[] = {'h', 0xef, 0xbf, 0xbd, 0xef, 0xbf, 0xbd};
    expect_bpe(&v.tok, "h\xff\xc3", 3, 0, 0, bad, 7);
    /* a NUL byte is a character like any other */
    const int32_t nul[] = {'a', 0, 'a'};
    expect_bpe(&v.tok, "a\0a", 3, 0, 0, nul, 3);
    size_t len;
    assert_string_equal(tokenizer_piece(&v.tok, X + 9, 0, &len), " w");
    free_vocab(&v);
}

static void bpe_special(void **state)
{
    vocab v;
    aieb_err err = {0};
    assert_int_equal(make_bpe(&v, "qwen2", BPE_MERGES, 9, BPE_EXTRA, BPE_TYPES, 11, 1, &err), 0);
    assert_int_equal(v.tok.add_bos, 1); /* tokenizer.ggml.add_bos_token */
    /* parse_special: control-token text is the token */
    const int32_t sp[] = {X, X + 1, X + 6};
    expect_bpe(&v.tok, "<|im_start|>hello", 17, 1, 1, sp, 3);
    /* without: it is text, character by character here */
    const int32_t plain[] = {'<', '|', 'i', 'm', '_', 's', 't', 'a', 'r', 't', '|', '>', X + 6};
    expect_bpe(&v.tok, "<|im_start|>hello", 17, 0, 0, plain, 13);
    /* user-defined tokens are matched either way */
    const int32_t user[] = {X + 6, X + 2, 'a'};
    expect_bpe(&v.tok, "hello<user>a", 12, 0, 0, user, 3);
    const int32_t two[] = {X + 2, X + 1, X + 2};
    expect_bpe(&v.tok, "<user><|im_start|><user>", 24, 0, 1, two, 3);
    size_t len;
    assert_string_equal(tokenizer_piece(&v.tok, X + 1, 0, &len), "");
    assert_string_equal(tokenizer_piece(&v.tok, X + 1, 1, &len), "<|im_start|>");
    free_vocab(&v);

    /* Llama 3's pre-tokenizer asks for BOS when the file does not say */
    assert_int_equal(make_bpe(&v, "llama-bpe", BPE_MERGES, 9, BPE_EXTRA, BPE_TYPES, 11, -1, &err),
                     0);
    assert_int_equal(v.tok.add_bos, 1);
    const int32_t digits[] = {X, '1', '2', '3', '4'}; /* digits in threes: "123", "4" */
    expect_bpe(&v.tok, "1234", 4, 1, 0, digits, 5);
    free_vocab(&v);
}

static void bpe_errors(void **state)
{
    vocab v;
    aieb_err err = {0};
    assert_int_equal(make_bpe(&v, "gpt-5", BPE_MERGES, 9, BPE_EXTRA, BPE_TYPES, 11, -1, &err),
                     AIEB_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "'gpt-5'"));
    free_vocab(&v);
    assert_int_equal(make_bpe(&v, "gpt-2", NULL, 0, BPE_EXTRA, BPE_TYPES, 11, -1, &err),
                     AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "tokenizer.ggml.merges"));
    free_vocab(&v);
    /* no pre: the default expressions */
    assert_int_equal(make_bpe(&v, NULL, BPE_MERGES, 9, BPE_EXTRA, BPE_TYPES, 11, -1, &err), 0);
    assert_string_equal(v.tok.pre, "default");
    const int32_t hello[] = {X + 6};
    expect_bpe(&v.tok, "hello", 5, 0, 0, hello, 1);
    int32_t ids[2];
    size_t n;
    assert_int_equal(tokenizer_encode(&v.tok, "a b c", 5, 0, 0, ids, 2, &n, &err), AIEB_ETOOBIG);
    free_vocab(&v);
}

static void none_kind(void **state)
{
    const char *p[] = {"\xc4\xa0hello", "\xc4\x8a", "plain"};
    const float s[] = {0, 0, 0};
    vocab v;
    aieb_err err = {0};
    int32_t ids[8];
    size_t n;
    assert_int_equal(make_vocab(&v, "bert", p, s, 3, 0, &err), 0);
    assert_int_equal(v.tok.kind, TOK_NONE);
    assert_int_equal(tokenizer_encode(&v.tok, "hello", 5, 1, 0, ids, 8, &n, &err),
                     AIEB_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "no supported tokenizer"));
    free_vocab(&v);
}

static void bad_metadata(void **state)
{
    const char *p[] = {"x"};
    const float s[] = {0};
    vocab v;
    aieb_err err = {0};
    /* more tokens than the model has rows */
    assert_int_equal(make_vocab(&v, "llama", p, s, 1, 100, &err), AIEB_EINVAL);
    assert_non_null(strstr(err.msg, "260 entries but the model has 100"));
    free_vocab(&v);

    /* tokens of the wrong type, scores of the wrong length, ids out of range */
    struct {
        const char *key;
        int kind;
        const char *needle;
    } cases[] = {
        {"tokenizer.ggml.tokens", 0, "tokenizer.ggml.tokens: missing or not an array"},
        {"tokenizer.ggml.scores", 1, "tokenizer.ggml.scores: expected 2 float32"},
        {"tokenizer.ggml.token_type", 1, "tokenizer.ggml.token_type: expected 2 int32"},
        {"tokenizer.ggml.bos_token_id", 2, "bos_token_id: id 7 is not below"},
        {"tokenizer.ggml.add_bos_token", 3, "add_bos_token: expected a bool"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        aieb_gguf_writer *w = aieb_gguf_writer_new(0);
        aieb_gguf_w_str(w, "tokenizer.ggml.model", "llama");
        const char *toks[] = {"a", "b"};
        float three[] = {0, 0, 0};
        int32_t nums[] = {1, 2};
        if (strcmp(cases[i].key, "tokenizer.ggml.tokens") == 0)
            aieb_gguf_w_arr(w, cases[i].key, AIEB_GGUF_INT32, nums, 2);
        else
            aieb_gguf_w_arr(w, "tokenizer.ggml.tokens", AIEB_GGUF_STRING, toks, 2);
        if (cases[i].kind == 1)
            aieb_gguf_w_arr(w, cases[i].key, AIEB_GGUF_FLOAT32, three, 3);
        if (cases[i].kind == 2)
            aieb_gguf_w_u32(w, cases[i].key, 7);
        if (cases[i].kind == 3)
            aieb_gguf_w_u32(w, cases[i].key, 1);
        uint8_t *bytes;
        size_t len;
        assert_int_equal(aieb_gguf_writer_bytes(w, &bytes, &len, &err), 0);
        aieb_gguf_writer_free(w);
        aieb_gguf *g;
        assert_int_equal(aieb_gguf_parse(bytes, len, &g, &err), 0);
        tokenizer t;
        int rc = tokenizer_init_gguf(&t, g, 10, &err);
        if (rc != AIEB_EINVAL || !strstr(err.msg, cases[i].needle))
            fail_msg("%s: rc %d '%s'", cases[i].key, rc, err.msg);
        tokenizer_free(&t);
        aieb_gguf_close(g);
        free(bytes);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(merges_by_score), cmocka_unit_test(ties_go_left),
        cmocka_unit_test(bytes_kind),      cmocka_unit_test(bpe_merges),
        cmocka_unit_test(bpe_special),     cmocka_unit_test(bpe_errors),
        cmocka_unit_test(none_kind),       cmocka_unit_test(bad_metadata),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
