/* tokenizer.h - text <-> token ids.
 *
 * Kinds:
 *  - "llama": SentencePiece-style from GGUF metadata (tokenizer.ggml.tokens, .scores,
 *    .token_type): a space is prepended and spaces become U+2581, the text is split
 *    into UTF-8 characters (bytes without a token fall back to <0xNN> tokens), and
 *    adjacent pieces are merged, highest score first, while the merge is a token.
 *  - "bytes": synthetic models: 0 <unk>, 1 <s> (BOS), 2 </s> (EOS), 3 + b for byte b;
 *    higher ids (the preset's vocabulary is larger) decode to "<tN>".
 *  - "gpt2": byte-level BPE: ids decode; encoding text is not supported yet.
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

typedef struct tokenizer {
    tok_kind kind;
    int n_vocab;
    int bos_id, eos_id, unk_id; /* -1 when none */
    int add_bos;                /* tokenizer.ggml.add_bos_token (default 1 for llama) */
    const aieb_gguf_kv *tokens; /* string array (llama, gpt2) */
    float *scores;              /* (n_vocab) */
    uint8_t *types;             /* (n_vocab) token_type, 1 (normal) when absent */
    int byte_ids[256];          /* <0xNN> token of each byte, -1 when none */
    int32_t *hash;              /* open addressing: token id or -1; hash_cap slots */
    size_t hash_cap;
    char piece[TOK_PIECE_MAX + 8];
} tokenizer;

/* Makes the byte-level tokenizer of synthetic models (n_vocab >= 259). */
int tokenizer_init_bytes(tokenizer *t, int n_vocab, aieb_err *err);

/* Reads the tokenizer from GGUF metadata; a file without tokenizer.ggml.model gets
 * kind TOK_NONE. n_vocab is the model's (token_embd rows); the vocabulary must not be
 * larger. Fails with AIEB_EINVAL naming the key, AIEB_ENOMEM. */
int tokenizer_init_gguf(tokenizer *t, const aieb_gguf *g, int n_vocab, aieb_err *err);

void tokenizer_free(tokenizer *t);

/* See aieb_engine_tokenize(). AIEB_EUNSUPPORTED for kinds that cannot encode. */
int tokenizer_encode(tokenizer *t, const char *text, int add_bos, int32_t *ids, size_t max_ids,
                     size_t *n_ids, aieb_err *err);

/* See aieb_engine_token_text(). */
const char *tokenizer_piece(tokenizer *t, int32_t id, size_t *len);

const char *tokenizer_kind_name(tok_kind k);

#endif
