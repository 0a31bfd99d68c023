#!/usr/bin/env bash
# 'aieb tokenize': arguments, errors, BOS and special-token switches, --file, --json,
# on a synthetic model (byte tokenizer) and on llama.cpp's vocabulary-only GGUF files
# (scripts/deps.sh puts them in $AIEB_VOCAB_DIR or ~/.cache/aieb/llama-vocab). The
# expected ids of the real vocabularies are those llama.cpp's llama-tokenize printed
# for the same text and switches.
. "$(dirname "$0")/lib.sh"

expect_status 0 "$AIEB" tokenize --help && expect_grep '^Usage: aieb tokenize' "$T/out"
expect_grep 'no-parse-special' "$T/out"
"$AIEB" --help >"$T/out" 2>&1
expect_grep 'tokenize' "$T/out"

# usage errors exit 2
expect_status 2 "$AIEB" tokenize --prompt hi && expect_grep 'model is required' "$T/err"
expect_status 2 "$AIEB" tokenize --model x.gguf && expect_grep 'exactly one of' "$T/err"
expect_status 2 "$AIEB" tokenize --model x.gguf --prompt a --file b &&
    expect_grep 'exactly one of' "$T/err"
expect_status 2 "$AIEB" tokenize --model x.gguf --prompt a --frobnicate
expect_status 2 "$AIEB" tokenize --model x.gguf --prompt a extra && expect_grep "'extra'" "$T/err"
# unusable files exit 2 and name them
expect_status 2 "$AIEB" tokenize --model "$T/missing.gguf" --prompt a &&
    expect_grep 'missing.gguf' "$T/err"
echo "not a model" >"$T/text.gguf"
expect_status 2 "$AIEB" tokenize --model "$T/text.gguf" --prompt a && expect_grep 'magic' "$T/err"
expect_status 2 "$AIEB" tokenize --model 'synthetic:smollm-135m?type=q4_0' --file "$T/nope.txt" &&
    expect_grep 'nope.txt' "$T/err"

# the byte tokenizer of synthetic models: BOS 1, then 3 + byte
S='synthetic:smollm-135m?type=q4_0'
expect_status 0 "$AIEB" tokenize --model "$S" --prompt "Hi" && expect_grep '^1 75 108$' "$T/out"
expect_status 0 "$AIEB" tokenize --model "$S" --prompt "Hi" --no-bos && expect_grep '^75 108$' "$T/out"
expect_status 0 "$AIEB" tokenize --model "$S" --prompt "Hi" --json &&
    expect_grep '^\{"ids": ?\[1, ?75, ?108\], ?"pieces": ?\["", ?"H", ?"i"\]\}$' "$T/out"

dir=${AIEB_VOCAB_DIR:-$HOME/.cache/aieb/llama-vocab}
[ -s "$dir/ggml-vocab-llama-bpe.gguf" ] ||
    skip_rest "no reference vocabularies in $dir (scripts/deps.sh fetches them)"

# Llama 3 (byte-level BPE): BOS by default, special tokens parsed by default
L3="$dir/ggml-vocab-llama-bpe.gguf"
expect_status 0 "$AIEB" tokenize --model "$L3" --prompt "Hello world" &&
    expect_grep '^128000 9906 1917$' "$T/out"
expect_status 0 "$AIEB" tokenize --model "$L3" --prompt "Hello world" --no-bos &&
    expect_grep '^9906 1917$' "$T/out"
expect_status 0 "$AIEB" tokenize --model "$L3" --prompt "<|begin_of_text|>Hi<|eot_id|>" --no-bos &&
    expect_grep '^128000 13347 128009$' "$T/out"
# Qwen2: no BOS; <|im_start|> is one token, or seven of text
Q2="$dir/ggml-vocab-qwen2.gguf"
expect_status 0 "$AIEB" tokenize --model "$Q2" --prompt "<|im_start|>user" &&
    expect_grep '^151644 872$' "$T/out"
expect_status 0 "$AIEB" tokenize --model "$Q2" --prompt "<|im_start|>user" --no-parse-special &&
    expect_grep '^27 91 318 4906 91 29 872$' "$T/out"
# --file: the bytes as they are (an invalid byte counts as U+FFFD; the newline stays)
printf 'caf\xc3\xa9 \xff\n' >"$T/f.txt"
expect_status 0 "$AIEB" tokenize --model "$Q2" --file "$T/f.txt" &&
    expect_grep '^924 58858 29333 198$' "$T/out"
expect_status 0 "$AIEB" tokenize --model "$Q2" --file "$T/f.txt" --json
if python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["ids"] == [924, 58858, 29333, 198], d
assert d["pieces"] == ["ca", "f\u00e9", " \ufffd", "\n"], d' "$T/out"; then :; else
    fail "--json output"
fi
# SentencePiece (Llama 2): BOS, a space before the text
expect_status 0 "$AIEB" tokenize --model "$dir/ggml-vocab-llama-spm.gguf" --prompt "Hello world" &&
    expect_grep '^1 15043 3186$' "$T/out"
# a WordPiece (BERT) vocabulary is refused, the file named
expect_status 2 "$AIEB" tokenize --model "$dir/ggml-vocab-bert-bge.gguf" --prompt a &&
    expect_grep "bert-bge.gguf: no vocabulary" "$T/err"
finish
