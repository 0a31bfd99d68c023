/* tokenizer.h - text <-> token ids.
 *
 * Kinds:
 *  - "llama": SentencePiece-style from GGUF metadata (tokenizer.ggml.tokens, .scores,
 *    .token_type): a space is prepended and spaces become U+2581, the text is split
 *    into UTF-8 characters (bytes without a token fall back to <0xNN> tokens), and
 *    adjacent pieces are merged, highest score first, while the merge is a token.
 *  - "bytes": synthetic models: 0 <unk>, 1 <s> (BOS), 2 </s> (EOS), 3 + b for byte b;
 *    higher ids (the preset's vocabulary is larger) decode to "<tN>".
 *  - "gpt2": byte-level BPE (bpe.h): pre-tokenizer from tokenizer.ggml.pre, GPT-2
 *    byte-to-character mapping, tokenizer.ggml.merges by rank.
 *  - "none": the file has no vocabulary; only prompt ids work.
 */
#ifndef AIEB_ENGINE_TOKENIZER_H
#define AIEB_ENGINE_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "aieb/err.h"
#include "aieb/gguf.h"

typedef enum { TOK_NONE = 0, TOK_BYTES, TOK_LLAMA, TOK_GPT2 } tok_kind;

#define TOK_PIECE_MAX 1024        /* longest token text returned (longer pieces are cut) */
#define TOK_TEXT_MAX  (16u << 20) /* longest text tokenize accepts */

/* Where encoding appends ids. */
typedef struct tok_out {
    int32_t *ids;
    size_t max, n;
} tok_out;

#define TOK_MAX_REGEX 6
#define TOK_MAX_EOG   16

typedef struct tokenizer {
    tok_kind kind;
    int n_vocab;
    int bos_id, eos_id, eot_id, unk_id; /* -1 when none */
    int eom_id;                         /* tokenizer.ggml.eom_token_id, -1 when none */
    int32_t eog[TOK_MAX_EOG];           /* end-of-generation ids: EOS, EOT, EOM and the */
    int n_eog;                          /* end-of-turn tokens found by text (tokenizer.c) */
    int add_bos;          /* tokenizer.ggml.add_bos_token (default 1 for llama and Llama 3) */
    int add_space_prefix; /* llama: a space before the text (tokenizer.ggml.add_space_prefix) */
    const aieb_gguf_kv *tokens; /* string array (llama, gpt2) */
    float *scores;              /* (n_vocab) */
    uint8_t *types;             /* (n_vocab) token_type, 1 (normal) when absent */
    int byte_ids[256];          /* <0xNN> token of each byte, -1 when none */
    int32_t *hash;              /* open addressing: token id or -1; hash_cap slots */
    size_t hash_cap;
    int32_t *special; /* control, user-defined and unknown tokens, longest text first */
    int n_special;
    uint8_t *rstrip; /* (n_vocab) 1: whitespace after the special token is dropped; or NULL */

    /* gpt2 (bpe.c) */
    char pre[32];               /* tokenizer.ggml.pre as given ("default" when absent) */
    int ignore_merges;          /* a piece that is a token is taken whole (Llama 3) */
    const aieb_gguf_kv *merges; /* tokenizer.ggml.merges: "left right", rank = index */
    int32_t *merge_hash;        /* open addressing: rank or -1; merge_cap slots */
    size_t merge_cap;
    void *re[TOK_MAX_REGEX]; /* compiled pre-tokenizer expressions (pcre2_code) */
    int n_re;
    void *md;          /* pcre2_match_data */
    char benc[256][2]; /* GPT-2 byte -> UTF-8 of its printable character */
    uint8_t benc_len[256];

    char piece[TOK_PIECE_MAX + 8];
} tokenizer;

/* Makes the byte-level tokenizer of synthetic models (n_vocab >= 259). */
int tokenizer_init_bytes(tokenizer *t, int n_vocab, aieb_err *err);

/* Reads the tokenizer from GGUF metadata; a file without tokenizer.ggml.model gets
 * kind TOK_NONE. n_vocab is the model's (token_embd rows); the vocabulary must not be
 * larger. Fails with AIEB_EINVAL naming the key, AIEB_ENOMEM. */
int tokenizer_init_gguf(tokenizer *t, const aieb_gguf *g, int n_vocab, aieb_err *err);

/* 1 when id ends a generation (EOS, EOT, EOM, an end-of-turn token). */
int tokenizer_is_eog(const tokenizer *t, int32_t id);

void tokenizer_free(tokenizer *t);

/* See aieb_engine_tokenize_ex(): text[0..len) (any bytes), BOS first when add_bos and
 * the vocabulary has one; with parse_special, control tokens' text becomes those
 * tokens (user-defined tokens always do). AIEB_EUNSUPPORTED for kinds that cannot
 * encode. */
int tokenizer_encode(tokenizer *t, const char *text, size_t len, int add_bos, int parse_special,
                     int32_t *ids, size_t max_ids, size_t *n_ids, aieb_err *err);

/* See aieb_engine_token_text(); with special, control tokens give their text too. */
const char *tokenizer_piece(tokenizer *t, int32_t id, int special, size_t *len);

/* The id of the token whose text is s[0..n), or -1 (for bpe.c). */
int tokenizer_find(const tokenizer *t, const char *s, size_t n);

/* Appends id to out; AIEB_ETOOBIG when out is full (for bpe.c). */
int tokenizer_emit(tok_out *out, int id, aieb_err *err);

/* How a piece of text is read as UTF-8 (for bpe.c): the code point at s[0..n) (n > 0)
 * and its length in *len; a byte that starts no complete sequence is U+FFFD, length 1. */
uint32_t tokenizer_utf8_next(const char *s, size_t n, int *len);

const char *tokenizer_kind_name(tok_kind k);

#endif
