/* bpe.h - byte-level BPE ("gpt2" vocabularies): pre-tokenizer, GPT-2 byte encoding,
 * merges by rank. Used by tokenizer.c; the state lives in the tokenizer struct.
 *
 * Encoding a text fragment (no special tokens inside) follows the reference
 * tokenizers (Hugging Face tokenizers, as llama.cpp reproduces them):
 *  1. The text is read as UTF-8; a byte that does not start a complete sequence
 *     stands for U+FFFD (so invalid input costs the replacement character's tokens).
 *  2. The pre-tokenizer named by tokenizer.ggml.pre splits it with one or more
 *     regular expressions applied in turn: each splits every piece of the previous
 *     step into its matches and the stretches between them.
 *  3. Each piece's bytes are mapped to GPT-2's printable characters, then adjacent
 *     symbols are merged, lowest tokenizer.ggml.merges rank first (leftmost on ties),
 *     until no pair is a merge; each symbol is then looked up as a token.
 */
#ifndef AIEB_ENGINE_BPE_H
#define AIEB_ENGINE_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "aieb/err.h"
#include "aieb/gguf.h"

struct tokenizer;
struct tok_out;

/* Reads tokenizer.ggml.pre and tokenizer.ggml.merges and compiles the
 * pre-tokenizer's expressions. Fails with AIEB_EUNSUPPORTED for an unknown pre (the
 * message names it), AIEB_EINVAL for malformed merges, AIEB_ENOMEM. */
int bpe_init(struct tokenizer *t, const aieb_gguf *g, aieb_err *err);

void bpe_free(struct tokenizer *t);

/* Appends the ids of text[0..len) to out. Fails with AIEB_ETOOBIG (out is full),
 * AIEB_ENOMEM, AIEB_EINVAL (the regular expression engine failed). */
int bpe_encode(struct tokenizer *t, const char *text, size_t len, struct tok_out *out,
               aieb_err *err);

/* Pre-tokenizer names bpe_init accepts, comma-separated (for messages and docs). */
const char *bpe_pre_names(void);

#endif
