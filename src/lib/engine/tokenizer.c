/* tokenizer.c - SentencePiece-style and byte-level tokenizers (see tokenizer.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/bpe.h"
#include "engine/tokenizer.h"

/* token_type values in tokenizer.ggml.token_type (llama.cpp's llama_token_type) */
enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER = 4, TT_UNUSED = 5, TT_BYTE = 6 };

static const char SPACE_MARK[] = "\xe2\x96\x81"; /* U+2581, SentencePiece's space */

const char *tokenizer_kind_name(tok_kind k)
{
    switch (k) {
    case TOK_BYTES:
        return "bytes";
    case TOK_LLAMA:
        return "llama";
    case TOK_GPT2:
        return "gpt2";
    default:
        return "none";
    }
}

/* ==== vocabulary hash (FNV-1a, open addressing) ========================== */

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

int tokenizer_find(const tokenizer *t, const char *s, size_t n)
{
    if (!t->hash)
        return -1;
    size_t mask = t->hash_cap - 1;
    for (size_t i = (size_t)fnv1a(s, n) & mask;; i = (i + 1) & mask) {
        int32_t id = t->hash[i];
        if (id < 0)
            return -1;
        aieb_gguf_str tok = aieb_gguf_arr_str(t->tokens, (uint64_t)id);
        if (tok.len == n && memcmp(tok.ptr, s, n) == 0)
            return id;
    }
}

static int build_hash(tokenizer *t, aieb_err *err)
{
    size_t n = (size_t)t->tokens->arr_n, cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    t->hash = malloc(cap * sizeof *t->hash);
    if (!t->hash)
        return aieb_errf(err, AIEB_ENOMEM, "tokenizer: out of memory");
    t->hash_cap = cap;
    memset(t->hash, 0xff, cap * sizeof *t->hash);
    for (size_t id = 0; id < n; id++) {
        aieb_gguf_str s = aieb_gguf_arr_str(t->tokens, id);
        if (s.len == 0)
            continue; /* an empty piece matches no text */
        /* a duplicate piece: the higher id wins, as in the reference tokenizer */
        size_t i = (size_t)fnv1a(s.ptr, (size_t)s.len) & (cap - 1);
        for (; t->hash[i] >= 0; i = (i + 1) & (cap - 1)) {
            aieb_gguf_str o = aieb_gguf_arr_str(t->tokens, (uint64_t)t->hash[i]);
            if (o.len == s.len && memcmp(o.ptr, s.ptr, (size_t)s.len) == 0)
                break;
        }
        t->hash[i] = (int32_t)id;
    }
    return 0;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int is_special_type(uint8_t type)
{
    return type == TT_CONTROL || type == TT_USER || type == TT_UNKNOWN;
}

/* Texts of end-of-turn, end-of-generation and fill-in-the-middle tokens that the
 * reference tokenizer (llama.cpp's llama-vocab.cpp) treats as control tokens whatever
 * type the file gives them; the first group also names the end-of-turn token when
 * tokenizer.ggml.eot_token_id is absent. */
static const char *const EOT_TEXTS[] = {"<|eot_id|>",
                                        "<|im_end|>",
                                        "<|end|>",
                                        "<end_of_turn>",
                                        "<|endoftext|>",
                                        "<|end_of_text|>",
                                        "<EOT>",
                                        "_<EOT>",
                                        "[EOT]",
                                        "<\xef\xbd\x9c"
                                        "end\xe2\x96\x81"
                                        "of\xe2\x96\x81"
                                        "sentence\xef\xbd\x9c>",
                                        "<end_of_utterance>"};
static const char *const CONTROL_TEXTS[] = {"<|eom_id|>",
                                            "<|return|>",
                                            "<|call|>",
                                            "<|flush|>",
                                            "<|calls|>",
                                            "</s>",
                                            "[EOS]",
                                            "<eos>",
                                            "<turn|>",
                                            "<|tool_response>",
                                            "[e~[",
                                            "<|fim_prefix|>",
                                            "<fim-prefix>",
                                            "<fim_prefix>",
                                            "<\xef\xbd\x9c"
                                            "fim\xe2\x96\x81"
                                            "begin\xef\xbd\x9c>",
                                            "<PRE>",
                                            "\xe2\x96\x81<PRE>",
                                            "<|code_prefix|>",
                                            "<|prefix|>",
                                            "<|fim_suffix|>",
                                            "<fim-suffix>",
                                            "<fim_suffix>",
                                            "<\xef\xbd\x9c"
                                            "fim\xe2\x96\x81"
                                            "hole\xef\xbd\x9c>",
                                            "<SUF>",
                                            "\xe2\x96\x81<SUF>",
                                            "<|code_suffix|>",
                                            "<|suffix|>",
                                            "<|fim_middle|>",
                                            "<fim-middle>",
                                            "<fim_middle>",
                                            "<\xef\xbd\x9c"
                                            "fim\xe2\x96\x81"
                                            "end\xef\xbd\x9c>",
                                            "<MID>",
                                            "\xe2\x96\x81<MID>",
                                            "<|code_middle|>",
                                            "<|middle|>",
                                            "<|fim_pad|>",
                                            "<fim-pad>",
                                            "<fim_pad>",
                                            "<PAD>",
                                            "[PAD]",
                                            "<|fim_repo|>",
                                            "<|repo_name|>",
                                            "<fim-repo>",
                                            "<REPO>",
                                            "<reponame>",
                                            "<|file_sep|>"};

static void add_eog(tokenizer *t, int id)
{
    if (id < 0 || t->n_eog == TOK_MAX_EOG)
        return;
    for (int i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id)
            return;
    t->eog[t->n_eog++] = id;
}

int tokenizer_is_eog(const tokenizer *t, int32_t id)
{
    for (int i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id)
            return 1;
    return 0;
}

/* The texts of the tokens that end a generation whatever the metadata says, as the
 * reference (llama.cpp's llama-vocab.cpp) lists them. */
static const char *const EOG_TEXTS[] = {"<|eot_id|>",
                                        "<|im_end|>",
                                        "<|end|>",
                                        "<|return|>",
                                        "<|call|>",
                                        "<|flush|>",
                                        "<|calls|>",
                                        "<end_of_turn>",
                                        "<|endoftext|>",
                                        "</s>",
                                        "<|eom_id|>",
                                        "<EOT>",
                                        "_<EOT>",
                                        "[EOT]",
                                        "[EOS]",
                                        "<|end_of_text|>",
                                        "<end_of_utterance>",
                                        "<eos>",
                                        "<turn|>",
                                        "<|tool_response>",
                                        "<\xef\xbd\x9c"
                                        "end\xe2\x96\x81"
                                        "of\xe2\x96\x81"
                                        "sentence\xef\xbd\x9c>",
                                        "[e~["};

/* The fill-in-the-middle pad, repository and file-separator tokens also end a
 * generation: each from its metadata key, else the first of its texts found. */
static const char *const FIM_PAD_TEXTS[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>",
                                            "<PAD>",       "[PAD]",     NULL};
static const char *const FIM_REP_TEXTS[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>",
                                            "<REPO>",       "<reponame>",    NULL};
static const char *const FIM_SEP_TEXTS[] = {"<|file_sep|>", NULL};

static int find_text(const tokenizer *t, const char *s)
{
    return tokenizer_find(t, s, strlen(s));
}

static void remove_eog(tokenizer *t, int id)
{
    for (int i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id) {
            memmove(&t->eog[i], &t->eog[i + 1], (size_t)(t->n_eog - i - 1) * sizeof t->eog[0]);
            t->n_eog--;
            return;
        }
}

static int eog_has(const tokenizer *t, const char *text)
{
    int id = find_text(t, text);
    return id >= 0 && tokenizer_is_eog(t, id);
}

/* The tokens that end a generation, collected as the reference does: the FIM pad,
 * repository and separator tokens, every token with a text of EOG_TEXTS, then EOS,
 * EOT and EOM from metadata; then its two exceptions (<|end|> is not an end where
 * <|return|> and <|call|>, or <|calls|> and <|flush|>, are; </s> is not where
 * <|tool_response> is). An instruct model thus stops at <|im_end|> or <|eot_id|>
 * whatever its eos_token_id says. Sorted by id. fim[] are the metadata's ids. */
static void collect_eog(tokenizer *t, const int fim[3])
{
    const char *const *lists[3] = {FIM_PAD_TEXTS, FIM_REP_TEXTS, FIM_SEP_TEXTS};
    for (int k = 0; k < 3; k++) {
        int id = fim[k];
        for (int i = 0; id < 0 && lists[k][i]; i++)
            id = find_text(t, lists[k][i]);
        add_eog(t, id);
    }
    for (size_t i = 0; i < sizeof EOG_TEXTS / sizeof EOG_TEXTS[0]; i++)
        add_eog(t, find_text(t, EOG_TEXTS[i]));
    add_eog(t, t->eos_id);
    add_eog(t, t->eot_id);
    add_eog(t, t->eom_id);
    if (eog_has(t, "<|end|>") &&
        ((eog_has(t, "<|return|>") && eog_has(t, "<|call|>")) ||
         ((eog_has(t, "<|call|>") || eog_has(t, "<|calls|>")) && eog_has(t, "<|flush|>"))))
        remove_eog(t, find_text(t, "<|end|>"));
    if (eog_has(t, "<|tool_response>") && eog_has(t, "</s>"))
        remove_eog(t, find_text(t, "</s>"));
    for (int i = 1; i < t->n_eog; i++) /* insertion sort: a handful of ids */
        for (int j = i; j > 0 && t->eog[j - 1] > t->eog[j]; j--) {
            int32_t x = t->eog[j];
            t->eog[j] = t->eog[j - 1];
            t->eog[j - 1] = x;
        }
}

static void force_control(tokenizer *t)
{
    for (size_t i = 0; i < sizeof EOT_TEXTS / sizeof EOT_TEXTS[0]; i++) {
        int id = tokenizer_find(t, EOT_TEXTS[i], strlen(EOT_TEXTS[i]));
        if (id < 0)
            continue;
        t->types[id] = TT_CONTROL;
        if (t->eot_id < 0)
            t->eot_id = id;
    }
    for (size_t i = 0; i < sizeof CONTROL_TEXTS / sizeof CONTROL_TEXTS[0]; i++) {
        int id = tokenizer_find(t, CONTROL_TEXTS[i], strlen(CONTROL_TEXTS[i]));
        if (id >= 0)
            t->types[id] = TT_CONTROL;
    }
}

/* Phi-3's special tokens swallow the whitespace after them (the reference tokenizer
 * sets this by model name: general.name containing "phi-3" or "phi3"), except <unk>,
 * <s> and <|endoftext|>. */
static int set_rstrip(tokenizer *t, const aieb_gguf *g, aieb_err *err)
{
    aieb_gguf_str name;
    if (aieb_gguf_get_str(g, "general.name", &name, err) != 0)
        return 0;
    char low[128];
    size_t n = name.len < sizeof low - 1 ? (size_t)name.len : sizeof low - 1;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)(name.ptr[i] >= 'A' && name.ptr[i] <= 'Z' ? name.ptr[i] + 32 : name.ptr[i]);
    low[n] = 0;
    if (!strstr(low, "phi-3") && !strstr(low, "phi3"))
        return 0;
    t->rstrip = calloc((size_t)t->tokens->arr_n + 1, 1);
    if (!t->rstrip)
        return aieb_errf(err, AIEB_ENOMEM, "tokenizer: out of memory");
    for (int i = 0; i < t->n_special; i++)
        t->rstrip[t->special[i]] = 1;
    static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>"};
    for (size_t i = 0; i < 3; i++) {
        int id = tokenizer_find(t, keep[i], strlen(keep[i]));
        if (id >= 0)
            t->rstrip[id] = 0;
    }
    return 0;
}

static int build_special(tokenizer *t, aieb_err *err)
{
    size_t n = (size_t)t->tokens->arr_n, k = 0;
    for (size_t i = 0; i < n; i++)
        k += is_special_type(t->types[i]) && aieb_gguf_arr_str(t->tokens, i).len > 0;
    t->special = malloc((k + 1) * sizeof *t->special);
    if (!t->special)
        return aieb_errf(err, AIEB_ENOMEM, "tokenizer: out of memory");
    for (size_t i = 0; i < n; i++)
        if (is_special_type(t->types[i]) && aieb_gguf_arr_str(t->tokens, i).len > 0)
            t->special[t->n_special++] = (int32_t)i;
    /* longest text first, then the lowest id: the order encoding looks for them in */
    uint64_t *key = malloc((k + 1) * sizeof *key);
    if (!key)
        return aieb_errf(err, AIEB_ENOMEM, "tokenizer: out of memory");
    for (int i = 0; i < t->n_special; i++) {
        uint64_t l = aieb_gguf_arr_str(t->tokens, (uint64_t)t->special[i]).len;
        key[i] = (uint64_t)(0xffffffu - (l > 0xffffffu ? 0xffffffu : l)) << 32 |
                 (uint64_t)(uint32_t)t->special[i];
    }
    qsort(key, (size_t)t->n_special, sizeof *key, u64_cmp);
    for (int i = 0; i < t->n_special; i++)
        t->special[i] = (int32_t)(key[i] & 0xffffffffu);
    free(key);
    return 0;
}

/* ==== set-up ============================================================== */

int tokenizer_init_bytes(tokenizer *t, int n_vocab, aieb_err *err)
{
    memset(t, 0, sizeof *t);
    if (n_vocab < 259)
        return aieb_errf(err, AIEB_EINVAL, "tokenizer: byte-level needs 259 ids, not %d", n_vocab);
    t->kind = TOK_BYTES;
    t->n_vocab = n_vocab;
    t->unk_id = 0;
    t->bos_id = 1;
    t->eos_id = 2;
    t->eom_id = t->eot_id = -1;
    add_eog(t, t->eos_id);
    t->add_bos = 1;
    for (int b = 0; b < 256; b++)
        t->byte_ids[b] = 3 + b;
    return 0;
}

static int opt_id(const aieb_gguf *g, const char *key, int n_vocab, int *out, aieb_err *err)
{
    uint32_t v;
    int rc = aieb_gguf_get_u32(g, key, &v, err);
    if (rc == AIEB_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v >= (uint32_t)n_vocab)
        return aieb_errf(err, AIEB_EINVAL,
                         "tokenizer: %s: id %u is not below the vocabulary "
                         "size %d",
                         key, v, n_vocab);
    *out = (int)v;
    return 0;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* "<0xNN>" -> NN, else -1 */
static int byte_piece(aieb_gguf_str s)
{
    if (s.len != 6 || memcmp(s.ptr, "<0x", 3) != 0 || s.ptr[5] != '>')
        return -1;
    int hi = hexval(s.ptr[3]), lo = hexval(s.ptr[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

int tokenizer_init_gguf(tokenizer *t, const aieb_gguf *g, int n_vocab, aieb_err *err)
{
    memset(t, 0, sizeof *t);
    t->n_vocab = n_vocab;
    t->bos_id = t->eos_id = t->eot_id = t->eom_id = t->unk_id = -1;
    for (int b = 0; b < 256; b++)
        t->byte_ids[b] = -1;
    aieb_gguf_str model;
    int rc = aieb_gguf_get_str(g, "tokenizer.ggml.model", &model, err);
    if (rc == AIEB_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (model.len == 5 && memcmp(model.ptr, "llama", 5) == 0)
        t->kind = TOK_LLAMA;
    else if (model.len == 4 && memcmp(model.ptr, "gpt2", 4) == 0)
        t->kind = TOK_GPT2;
    else
        return 0; /* another kind: prompt ids still work, text says why not */

    const aieb_gguf_kv *toks = aieb_gguf_find(g, "tokenizer.ggml.tokens");
    if (!toks || toks->type != AIEB_GGUF_ARRAY || toks->arr_type != AIEB_GGUF_STRING)
        return aieb_errf(err, AIEB_EINVAL,
                         "tokenizer: tokenizer.ggml.tokens: missing or not an "
                         "array of strings");
    if (n_vocab == 0) { /* vocabulary only: its own size */
        if (toks->arr_n > (uint64_t)INT32_MAX)
            return aieb_errf(err, AIEB_EINVAL, "tokenizer: tokenizer.ggml.tokens: %llu entries",
                             (unsigned long long)toks->arr_n);
        n_vocab = t->n_vocab = (int)toks->arr_n;
    }
    if (toks->arr_n > (uint64_t)n_vocab)
        return aieb_errf(err, AIEB_EINVAL,
                         "tokenizer: tokenizer.ggml.tokens has %llu entries but the model has "
                         "%d token rows",
                         (unsigned long long)toks->arr_n, n_vocab);
    t->tokens = toks;
    size_t n = (size_t)toks->arr_n;
    t->scores = calloc(n + 1, sizeof *t->scores);
    t->types = malloc(n + 1);
    if (!t->scores || !t->types)
        return aieb_errf(err, AIEB_ENOMEM, "tokenizer: out of memory");
    memset(t->types, TT_NORMAL, n + 1);
    const aieb_gguf_kv *sc = aieb_gguf_find(g, "tokenizer.ggml.scores");
    if (sc) {
        if (sc->type != AIEB_GGUF_ARRAY || sc->arr_type != AIEB_GGUF_FLOAT32 || sc->arr_n != n)
            return aieb_errf(err, AIEB_EINVAL,
                             "tokenizer: tokenizer.ggml.scores: expected %zu "
                             "float32 values",
                             n);
        for (size_t i = 0; i < n; i++)
            t->scores[i] = (float)aieb_gguf_arr_f64(sc, i);
    }
    const aieb_gguf_kv *ty = aieb_gguf_find(g, "tokenizer.ggml.token_type");
    if (ty) {
        if (ty->type != AIEB_GGUF_ARRAY || ty->arr_type != AIEB_GGUF_INT32 || ty->arr_n != n)
            return aieb_errf(err, AIEB_EINVAL,
                             "tokenizer: tokenizer.ggml.token_type: expected "
                             "%zu int32 values",
                             n);
        for (size_t i = 0; i < n; i++) {
            int64_t v = aieb_gguf_arr_i64(ty, i);
            t->types[i] = (uint8_t)(v >= 0 && v <= 6 ? v : TT_NORMAL);
        }
    }
    int fim[3] = {-1, -1, -1}; /* pad, repository, file separator */
    if ((rc = opt_id(g, "tokenizer.ggml.bos_token_id", (int)n, &t->bos_id, err)) != 0 ||
        (rc = opt_id(g, "tokenizer.ggml.eos_token_id", (int)n, &t->eos_id, err)) != 0 ||
        (rc = opt_id(g, "tokenizer.ggml.eot_token_id", (int)n, &t->eot_id, err)) != 0 ||
        (rc = opt_id(g, "tokenizer.ggml.eom_token_id", (int)n, &t->eom_id, err)) != 0 ||
        (rc = opt_id(g, "tokenizer.ggml.fim_pad_token_id", (int)n, &fim[0], err)) != 0 ||
        (rc = opt_id(g, "tokenizer.ggml.fim_rep_token_id", (int)n, &fim[1], err)) != 0 ||
        (rc = opt_id(g, "tokenizer.ggml.fim_sep_token_id", (int)n, &fim[2], err)) != 0 ||
        (rc = opt_id(g, "tokenizer.ggml.unknown_token_id", (int)n, &t->unk_id, err)) != 0)
        return rc;
    t->add_bos = t->kind == TOK_LLAMA;
    t->add_space_prefix = t->kind == TOK_LLAMA;
    if (t->kind == TOK_GPT2 && (rc = bpe_init(t, g, err)) != 0) /* may default add_bos to 1 */
        return rc;
    rc = aieb_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &t->add_bos, err);
    if (rc && rc != AIEB_ENOTFOUND)
        return rc;
    if (t->kind == TOK_LLAMA) {
        rc = aieb_gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix, err);
        if (rc && rc != AIEB_ENOTFOUND)
            return rc;
    }
    for (size_t i = 0; i < n && t->kind == TOK_LLAMA; i++) {
        int b = byte_piece(aieb_gguf_arr_str(toks, i));
        if (b >= 0 && t->byte_ids[b] < 0)
            t->byte_ids[b] = (int)i;
    }
    if ((rc = build_hash(t, err)) != 0)
        return rc;
    force_control(t);
    collect_eog(t, fim);
    if ((rc = build_special(t, err)) != 0)
        return rc;
    return set_rstrip(t, g, err);
}

void tokenizer_free(tokenizer *t)
{
    bpe_free(t);
    free(t->special);
    free(t->rstrip);
    t->special = NULL;
    t->rstrip = NULL;
    free(t->scores);
    free(t->types);
    free(t->hash);
    t->scores = NULL;
    t->types = NULL;
    t->hash = NULL;
}

/* ==== SentencePiece-style encoding ======================================== */

typedef struct sym {
    int start, len, prev, next;
} sym;

typedef struct bigram {
    float score;
    int left, len;
} bigram;

/* Max-heap order: higher score first, then the leftmost pair. */
static int bigram_before(const bigram *a, const bigram *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void heap_push(bigram *h, int *n, bigram b)
{
    int i = (*n)++;
    h[i] = b;
    while (i > 0 && bigram_before(&h[i], &h[(i - 1) / 2])) {
        bigram t = h[i];
        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static bigram heap_pop(bigram *h, int *n)
{
    bigram top = h[0];
    h[0] = h[--(*n)];
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < *n && bigram_before(&h[l], &h[m]))
            m = l;
        if (r < *n && bigram_before(&h[r], &h[m]))
            m = r;
        if (m == i)
            break;
        bigram t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
    return top;
}

static void try_pair(const tokenizer *t, const char *text, const sym *s, int l, bigram *h, int *nh)
{
    if (l < 0 || s[l].next < 0)
        return;
    int r = s[l].next, len = s[l].len + s[r].len;
    int id = tokenizer_find(t, text + s[l].start, (size_t)len);
    if (id >= 0)
        heap_push(h, nh, (bigram){t->scores[id], l, len});
}

static int utf8_len(unsigned char c)
{
    return c < 0x80             ? 1
           : (c & 0xe0) == 0xc0 ? 2
           : (c & 0xf0) == 0xe0 ? 3
           : (c & 0xf8) == 0xf0 ? 4
                                : 1;
}

int tokenizer_emit(tok_out *out, int id, aieb_err *err)
{
    if (out->n >= out->max)
        return aieb_errf(err, AIEB_ETOOBIG, "tokenizer: the text needs more than %zu tokens",
                         out->max);
    out->ids[out->n++] = id;
    return 0;
}

/* Bytes of the UTF-8 sequence a lead byte announces, as the reference SentencePiece
 * path splits text (by its high nibble alone, continuation bytes count as 1). */
static int spm_char_len(unsigned char c)
{
    static const uint8_t by_nibble[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return by_nibble[c >> 4];
}

uint32_t tokenizer_utf8_next(const char *str, size_t n, int *len)
{
    const unsigned char *s = (const unsigned char *)str;
    *len = 1;
    if (s[0] < 0x80)
        return s[0];
    int need = s[0] >= 0xc0 && s[0] < 0xe0   ? 2
               : s[0] >= 0xe0 && s[0] < 0xf0 ? 3
               : s[0] >= 0xf0 && s[0] < 0xf8 ? 4
                                             : 0;
    if (need == 0 || (size_t)need > n)
        return 0xfffd;
    uint32_t c = s[0] & (0x7f >> need);
    for (int k = 1; k < need; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0xfffd;
        c = c << 6 | (s[k] & 0x3f);
    }
    if (c > 0x10ffff)
        return 0xfffd; /* no code point: the lead byte alone is invalid */
    *len = need;
    return c;
}

static int encode_spm(const tokenizer *t, const char *in, size_t in_len, int prefix, tok_out *out,
                      aieb_err *err)
{
    /* "hello world" -> "▁hello▁world" (with prefix) */
    char *text = malloc(in_len * 3 + 4);
    sym *s = malloc((in_len * 3 + 4) * sizeof *s);
    bigram *h = malloc((in_len * 3 + 4) * 3 * sizeof *h); /* pairs + 2 per merge */
    int rc = 0;
    if (!text || !s || !h) {
        rc = aieb_errf(err, AIEB_ENOMEM, "tokenizer: out of memory");
        goto done;
    }
    size_t len = 0;
    if (prefix) {
        memcpy(text, SPACE_MARK, 3);
        len = 3;
    }
    for (size_t i = 0; i < in_len; i++) {
        if (in[i] == ' ') {
            memcpy(text + len, SPACE_MARK, 3);
            len += 3;
        } else {
            text[len++] = in[i];
        }
    }
    int n_sym = 0;
    for (size_t i = 0; i < len;) {
        int cl = spm_char_len((unsigned char)text[i]);
        if ((size_t)cl > len - i)
            cl = (int)(len - i);
        s[n_sym] = (sym){(int)i, cl, n_sym - 1, -1};
        if (n_sym > 0)
            s[n_sym - 1].next = n_sym;
        n_sym++;
        i += (size_t)cl;
    }
    int nh = 0;
    for (int i = 0; i + 1 < n_sym; i++)
        try_pair(t, text, s, i, h, &nh);
    while (nh > 0) {
        bigram b = heap_pop(h, &nh);
        sym *l = &s[b.left];
        if (l->len == 0 || l->next < 0)
            continue;
        sym *r = &s[l->next];
        if (r->len == 0 || l->len + r->len != b.len)
            continue; /* stale: one side was merged since */
        l->len += r->len;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0)
            s[r->next].prev = b.left;
        try_pair(t, text, s, l->prev, h, &nh);
        try_pair(t, text, s, b.left, h, &nh);
    }
    for (int i = 0; i >= 0 && n_sym > 0 && !rc; i = s[i].next) {
        int id = tokenizer_find(t, text + s[i].start, (size_t)s[i].len);
        if (id >= 0) {
            rc = tokenizer_emit(out, id, err);
            continue;
        }
        for (int k = 0; k < s[i].len && !rc; k++) { /* byte fallback */
            unsigned char c = (unsigned char)text[s[i].start + k];
            int bid = t->byte_ids[c] >= 0 ? t->byte_ids[c] : t->unk_id;
            if (bid < 0)
                rc = aieb_errf(err, AIEB_EINVAL,
                               "tokenizer: byte 0x%02X has no token and there is no <unk>", c);
            else
                rc = tokenizer_emit(out, bid, err);
        }
    }
done:
    free(text);
    free(s);
    free(h);
    return rc;
}

/* ==== special tokens and the whole text ================================== */

/* A stretch of the input: text (id -1) or a special token found in it. */
typedef struct frag {
    size_t off, len;
    int id;
} frag;

typedef struct frags {
    frag *v;
    size_t n, cap;
} frags;

static int frag_add(frags *f, size_t off, size_t len, int id, aieb_err *err)
{
    if (id < 0 && len == 0)
        return 0;
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 16;
        frag *v = realloc(f->v, cap * sizeof *v);
        if (!v)
            return aieb_errf(err, AIEB_ENOMEM, "tokenizer: out of memory");
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n++] = (frag){off, len, id};
    return 0;
}

/* Cuts every occurrence of each special token out of the text fragments, longest
 * tokens first, as the reference tokenizers do; control and unknown tokens only when
 * parse_special (user-defined ones always). */
static int partition(const tokenizer *t, const char *text, int parse_special, frags *f,
                     aieb_err *err)
{
    frags g = {0};
    int rc = 0;
    for (int k = 0; k < t->n_special && !rc; k++) {
        int id = t->special[k];
        if (!parse_special && t->types[id] != TT_USER)
            continue;
        aieb_gguf_str s = aieb_gguf_arr_str(t->tokens, (uint64_t)id);
        g.n = 0;
        for (size_t i = 0; i < f->n && !rc; i++) {
            frag x = f->v[i];
            if (x.id >= 0 || x.len < s.len) {
                rc = frag_add(&g, x.off, x.len, x.id, err);
                continue;
            }
            size_t pos = x.off, end = x.off + x.len;
            const char *m;
            while (!rc && (m = memmem(text + pos, end - pos, s.ptr, (size_t)s.len)) != NULL) {
                size_t at = (size_t)(m - text);
                rc = frag_add(&g, pos, at - pos, -1, err);
                if (!rc)
                    rc = frag_add(&g, at, (size_t)s.len, id, err);
                pos = at + (size_t)s.len;
                while (t->rstrip && t->rstrip[id] && pos < end &&
                       (text[pos] == ' ' || (text[pos] >= '\t' && text[pos] <= '\r')))
                    pos++;
            }
            if (!rc)
                rc = frag_add(&g, pos, end - pos, -1, err);
        }
        frags tmp = *f;
        *f = g;
        g = tmp;
    }
    free(g.v);
    return rc;
}

int tokenizer_encode(tokenizer *t, const char *text, size_t len, int add_bos, int parse_special,
                     int32_t *ids, size_t max_ids, size_t *n_ids, aieb_err *err)
{
    *n_ids = 0;
    if (len > TOK_TEXT_MAX)
        return aieb_errf(err, AIEB_ETOOBIG,
                         "tokenizer: text of %zu bytes is over the %u-byte "
                         "limit",
                         len, TOK_TEXT_MAX);
    if (t->kind == TOK_NONE)
        return aieb_errf(err, AIEB_EUNSUPPORTED,
                         "tokenizer: the model has no supported tokenizer (tokenizer.ggml.model "
                         "missing or not 'llama' or 'gpt2'); pass token ids instead");
    tok_out out = {ids, max_ids, 0};
    int rc = 0;
    if (add_bos && t->bos_id >= 0)
        rc = tokenizer_emit(&out, t->bos_id, err);
    if (t->kind == TOK_BYTES) {
        for (size_t i = 0; i < len && !rc; i++)
            rc = tokenizer_emit(&out, t->byte_ids[(unsigned char)text[i]], err);
        *n_ids = out.n;
        return rc;
    }
    frags f = {0};
    if (!rc && len > 0 && (rc = frag_add(&f, 0, len, -1, err)) == 0)
        rc = partition(t, text, parse_special, &f, err);
    int prev_special = 1; /* SentencePiece: a space before the text and after a token */
    for (size_t i = 0; i < f.n && !rc; i++) {
        const frag *x = &f.v[i];
        if (x->id >= 0) {
            rc = tokenizer_emit(&out, x->id, err);
            prev_special = 1;
        } else if (t->kind == TOK_GPT2) {
            rc = bpe_encode(t, text + x->off, x->len, &out, err);
        } else {
            rc = encode_spm(t, text + x->off, x->len, t->add_space_prefix && prev_special, &out,
                            err);
            prev_special = 0;
        }
    }
    free(f.v);
    *n_ids = out.n;
    return rc;
}

/* ==== decoding ============================================================ */

/* The byte behind a code point of GPT-2's byte-to-unicode table (printable bytes
 * stand for themselves, the other 68 map to 256 + their rank), or -1. */
static int gpt2_byte(uint32_t cp)
{
    if ((cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) || (cp >= 174 && cp <= 255))
        return (int)cp;
    if (cp < 256 || cp >= 256 + 68)
        return -1;
    int rank = (int)cp - 256;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
        if (!printable && rank-- == 0)
            return b;
    }
    return -1;
}

static size_t decode_gpt2(aieb_gguf_str s, char *out, size_t cap)
{
    size_t n = 0;
    for (uint64_t i = 0; i < s.len && n < cap;) {
        unsigned char c = (unsigned char)s.ptr[i];
        int cl = utf8_len(c);
        if ((uint64_t)cl > s.len - i)
            cl = 1;
        uint32_t cp = cl == 1 ? c : (uint32_t)(c & (0xff >> (cl + 1)));
        for (int k = 1; k < cl; k++)
            cp = cp << 6 | ((unsigned char)s.ptr[i + (uint64_t)k] & 0x3f);
        int b = gpt2_byte(cp);
        if (b >= 0) {
            out[n++] = (char)b;
        } else { /* not from the table: keep the raw bytes */
            for (int k = 0; k < cl && n < cap; k++)
                out[n++] = s.ptr[i + (uint64_t)k];
        }
        i += (uint64_t)cl;
    }
    return n;
}

const char *tokenizer_piece(tokenizer *t, int32_t id, int special, size_t *len)
{
    *len = 0;
    t->piece[0] = 0;
    if (id < 0 || id >= t->n_vocab)
        return t->piece;
    if (t->kind == TOK_BYTES) {
        if (id >= 3 && id < 259) {
            t->piece[0] = (char)(id - 3);
            *len = 1;
        } else if (id >= 259) {
            *len = (size_t)snprintf(t->piece, sizeof t->piece, "<t%d>", (int)id);
        }
        return t->piece;
    }
    if ((t->kind != TOK_LLAMA && t->kind != TOK_GPT2) || (uint64_t)id >= t->tokens->arr_n ||
        ((t->types[id] == TT_CONTROL || t->types[id] == TT_UNUSED) && !special))
        return t->piece;
    aieb_gguf_str s = aieb_gguf_arr_str(t->tokens, (uint64_t)id);
    size_t n = 0;
    if (t->types[id] == TT_CONTROL || t->types[id] == TT_USER || t->types[id] == TT_UNUSED) {
        n = s.len < TOK_PIECE_MAX ? (size_t)s.len : TOK_PIECE_MAX; /* their text as written */
        memcpy(t->piece, s.ptr, n);
    } else if (t->kind == TOK_GPT2) {
        n = decode_gpt2(s, t->piece, TOK_PIECE_MAX);
    } else if (byte_piece(s) >= 0 && (t->types[id] == TT_BYTE || t->types[id] == TT_NORMAL)) {
        t->piece[n++] = (char)byte_piece(s);
    } else {
        for (uint64_t i = 0; i < s.len && n < TOK_PIECE_MAX;) {
            if (s.len - i >= 3 && memcmp(s.ptr + i, SPACE_MARK, 3) == 0) {
                t->piece[n++] = ' ';
                i += 3;
            } else {
                t->piece[n++] = s.ptr[i++];
            }
        }
    }
    t->piece[n] = 0;
    *len = n;
    return t->piece;
}
