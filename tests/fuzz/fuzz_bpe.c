/* fuzz_bpe.c - libFuzzer target for the byte-level BPE and SentencePiece encoders.
 *
 * The harness builds small vocabularies once: byte-level BPE ones (every byte's GPT-2
 * character, merges of common pairs, a control token "<|im_start|>" and a
 * user-defined "<user>") for each pre-tokenizer, and a SentencePiece one with byte
 * fallback. An input's first byte picks the vocabulary and the switches (BOS, special
 * parsing); the rest is the text. Checked: every id is in range, and for byte-level
 * BPE the pieces of the ids put together give the text back as the encoder reads it
 * (each byte that starts no complete UTF-8 sequence as U+FFFD), so nothing is lost,
 * doubled or reordered. Seed corpus: tests/fuzz/corpus/fuzz_bpe/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aieb/gguf.h"
#include "engine/tokenizer.h"

static const char *const PRES[] = {"llama-bpe",    "qwen2",          "qwen35",
                                   "gpt-2",        "starcoder",      "falcon",
                                   "deepseek-llm", "deepseek-coder", "default"};
#define N_PRE (sizeof PRES / sizeof PRES[0])

typedef struct vocab {
    uint8_t *bytes;
    aieb_gguf *g;
    tokenizer tok;
} vocab;

static vocab bpe[N_PRE], spm;
static int ready;

static void gpt2_char(int b, char *out)
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

/* "a b" merges of adjacent characters of these words, in order, and the words'
 * prefixes as tokens */
static const char *const WORDS[] = {"the",
                                    "\xc4\xa0the",
                                    "ing",
                                    "\xc4\xa0"
                                    "a",
                                    "er",
                                    "123",
                                    "\xc4\xa0\xc4\xa0",
                                    "\xc4\x8a\xc4\x8a",
                                    "\xc3\xa9t"};

static void build(vocab *v, const char *model, const char *pre)
{
    static char chars[256][3], spm_bytes[256][8];
    const char *toks[512], *merges[128];
    int32_t types[512];
    int n = 0, nm = 0;
    static char pieces[128][32], mstr[128][64];
    int is_bpe = strcmp(model, "gpt2") == 0;
    for (int b = 0; b < 256; b++) {
        if (is_bpe) {
            gpt2_char(b, chars[b]);
            toks[n] = chars[b];
            types[n++] = 1;
        } else {
            snprintf(spm_bytes[b], sizeof spm_bytes[b], "<0x%02X>", b);
            toks[n] = spm_bytes[b];
            types[n++] = 6;
        }
    }
    int np = 0;
    for (size_t w = 0; w < sizeof WORDS / sizeof WORDS[0]; w++) {
        const char *word = WORDS[w];
        size_t len = strlen(word);
        /* character boundaries of the (UTF-8) word */
        size_t cut[32], nc = 0;
        for (size_t i = 0; i < len; i++)
            if (((unsigned char)word[i] & 0xc0) != 0x80)
                cut[nc++] = i;
        cut[nc] = len;
        for (size_t k = 2; k <= nc; k++) { /* prefix of k characters = prefix(k-1) + char */
            snprintf(pieces[np], sizeof pieces[np], "%.*s", (int)cut[k], word);
            toks[n] = pieces[np];
            types[n++] = 1;
            snprintf(mstr[nm], sizeof mstr[nm], "%.*s %.*s", (int)cut[k - 1], word,
                     (int)(cut[k] - cut[k - 1]), word + cut[k - 1]);
            merges[nm] = mstr[nm];
            nm++;
            np++;
        }
    }
    toks[n] = "<|im_start|>";
    types[n++] = 3;
    toks[n] = "<user>";
    types[n++] = 4;
    toks[n] = "<s>";
    types[n++] = 3;
    float *scores = calloc((size_t)n, sizeof *scores);
    for (int i = 0; i < n; i++)
        scores[i] = -(float)i;
    aieb_gguf_writer *w = aieb_gguf_writer_new(0);
    aieb_gguf_w_str(w, "tokenizer.ggml.model", model);
    if (pre)
        aieb_gguf_w_str(w, "tokenizer.ggml.pre", pre);
    aieb_gguf_w_arr(w, "tokenizer.ggml.tokens", AIEB_GGUF_STRING, toks, (uint64_t)n);
    aieb_gguf_w_arr(w, "tokenizer.ggml.token_type", AIEB_GGUF_INT32, types, (uint64_t)n);
    aieb_gguf_w_arr(w, "tokenizer.ggml.scores", AIEB_GGUF_FLOAT32, scores, (uint64_t)n);
    if (is_bpe)
        aieb_gguf_w_arr(w, "tokenizer.ggml.merges", AIEB_GGUF_STRING, merges, (uint64_t)nm);
    aieb_gguf_w_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)(n - 1));
    size_t len;
    aieb_err err;
    if (aieb_gguf_writer_bytes(w, &v->bytes, &len, &err) != 0 ||
        aieb_gguf_parse(v->bytes, len, &v->g, &err) != 0 ||
        tokenizer_init_gguf(&v->tok, v->g, 0, &err) != 0) {
        fprintf(stderr, "fuzz_bpe: set-up: %s\n", err.msg);
        abort();
    }
    aieb_gguf_writer_free(w);
    free(scores);
}

static size_t put_utf8(char *o, uint32_t c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xc0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xe0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        o[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
    o[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        for (size_t i = 0; i < N_PRE; i++)
            build(&bpe[i], "gpt2", PRES[i]);
        build(&spm, "llama", NULL);
        ready = 1;
    }
    if (size < 1 || size > 4096)
        return 0;
    int sel = data[0] % (N_PRE + 1), add_bos = (data[0] >> 4) & 1, special = (data[0] >> 5) & 1;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    tokenizer *t = sel < (int)N_PRE ? &bpe[sel].tok : &spm.tok;
    size_t cap = 3 * len + 8, n = 0;
    int32_t *ids = malloc(cap * sizeof *ids);
    aieb_err err;
    int rc = tokenizer_encode(t, text, len, add_bos, special, ids, cap, &n, &err);
    if (rc != 0) {
        fprintf(stderr, "fuzz_bpe: encode failed: %s\n", err.msg);
        abort();
    }
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= t->n_vocab)
            abort();
    if (t->kind == TOK_GPT2) {
        /* the text as the encoder reads it */
        char *want = malloc(3 * len + 1), *got = malloc(4 * len + TOK_PIECE_MAX + 16);
        size_t wl = 0, gl = 0;
        for (size_t i = 0; i < len;) {
            int cl;
            uint32_t c = tokenizer_utf8_next(text + i, len - i, &cl);
            /* special-token text is matched on the raw bytes, before this reading */
            wl += put_utf8(want + wl, c);
            i += (size_t)cl;
        }
        for (size_t i = add_bos; i < n; i++) {
            size_t pl;
            const char *p = tokenizer_piece(t, ids[i], 1, &pl);
            memcpy(got + gl, p, pl);
            gl += pl;
        }
        if (gl != wl || memcmp(got, want, wl) != 0) {
            fprintf(stderr, "fuzz_bpe: round trip differs (%zu bytes, %zu back)\n", wl, gl);
            abort();
        }
        free(want);
        free(got);
    }
    free(ids);
    return 0;
}
