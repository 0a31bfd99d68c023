#!/usr/bin/env bash
# 'aieb generate': arguments, errors, text and JSON output, logits dump, on a synthetic
# model with real smollm-135m shapes (Q4_0 weights keep it to ~80 MB and a second).
. "$(dirname "$0")/lib.sh"

M='synthetic:smollm-135m?type=q4_0&seed=3'

expect_status 0 "$AIEB" generate --help && expect_grep '^Usage: aieb generate' "$T/out"
expect_grep 'dump-logits' "$T/out"

# usage errors exit 2 and say what is wrong
expect_status 2 "$AIEB" generate && expect_grep 'model is required' "$T/err"
expect_status 2 "$AIEB" generate --model "$M" --max-tokens -1 && expect_grep 'max-tokens' "$T/err"
expect_status 2 "$AIEB" generate --model "$M" --max-tokens lots
expect_status 2 "$AIEB" generate --model "$M" --temperature hot
expect_status 2 "$AIEB" generate --model "$M" --threads 0
expect_status 2 "$AIEB" generate --model "$M" --frobnicate && expect_grep 'frobnicate' "$T/err"
expect_status 2 "$AIEB" generate --model "$M" --prompt hi --prompt-ids 1 &&
    expect_grep 'not both' "$T/err"
expect_status 2 "$AIEB" generate --model "$M" --prompt-ids '1 x 3' && expect_grep "'x 3'" "$T/err"
expect_status 2 "$AIEB" generate --model "$M" --prompt-ids '' && expect_grep 'no ids' "$T/err"
expect_status 2 "$AIEB" generate --model "$M" --kernels sse9

# bad models exit 2 and name the file or the field
expect_status 2 "$AIEB" generate --model "$T/missing.gguf" && expect_grep 'missing.gguf' "$T/err"
echo "not a model" >"$T/text.gguf"
expect_status 2 "$AIEB" generate --model "$T/text.gguf" && expect_grep 'magic' "$T/err"
printf 'GGUF\003\000\000\000\377\377\377\377\377\377\377\377\000\000\000\000\000\000\000\000' \
    >"$T/huge.gguf"
expect_status 2 "$AIEB" generate --model "$T/huge.gguf" && expect_grep 'tensor_count' "$T/err"
expect_status 2 "$AIEB" generate --model 'synthetic:gpt-9' && expect_grep "unknown preset" "$T/err"
expect_status 2 "$AIEB" generate --model 'synthetic:smollm-135m?type=q7_k' &&
    expect_grep "q7_k" "$T/err"
# ids outside the vocabulary (49152 ids)
expect_status 2 "$AIEB" generate --model "$M" --prompt-ids '1 49152' &&
    expect_grep 'id 49152' "$T/err"

# the mixed synthetic type: Q6_K attn_v / ffn_down in some layers, 576-wide rows fall
# back to Q5_0 as llama.cpp's quantizer does; two greedy runs give the same text
if expect_status 0 "$AIEB" generate --model 'synthetic:smollm-135m?type=q4_k_m' \
    --prompt-ids '1 2 3' --max-tokens 3 --ignore-eos --json; then
    cp "$T/out" "$T/km1.json"
    expect_status 0 "$AIEB" generate --model 'synthetic:smollm-135m?type=q4_k_m' \
        --prompt-ids '1 2 3' --max-tokens 3 --ignore-eos --json &&
        { cmp -s "$T/out" "$T/km1.json" || [ "$(sed 's/"prefill.*"text"//' "$T/out")" = \
            "$(sed 's/"prefill.*"text"//' "$T/km1.json")" ] || fail "q4_k_m text differs"; }
    expect_grep '"completion_tokens":3' "$T/km1.json"
fi

# text and speed
if expect_status 0 "$AIEB" generate --model "$M" --prompt "Hello" --max-tokens 5 --ignore-eos \
    --threads 2; then
    expect_grep 'loaded in [0-9.]+ s; prompt: 6 tokens, prefill [0-9.]+ tokens/s; completion: 5 tokens, decode [0-9.]+' \
        "$T/out"
fi

# JSON, greedy and seeded sampling repeat themselves
if expect_status 0 "$AIEB" generate --model "$M" --max-tokens 6 --ignore-eos --json; then
    cp "$T/out" "$T/a.json"
    python3 - "$T/a.json" <<'EOF' || fail "JSON fields"
import json, sys
o = json.load(open(sys.argv[1]))
assert set(o) >= {"prompt_tokens", "completion_tokens", "prefill_tokens_per_s",
                  "decode_tokens_per_s", "load_s", "text"}, o
assert o["prompt_tokens"] == 17, o          # BOS + the 16 bytes of "Once upon a time"
assert o["completion_tokens"] == 6, o
assert o["prefill_tokens_per_s"] > 0 and o["decode_tokens_per_s"] > 0 and o["load_s"] > 0, o
m = o["model"]                              # what the loader found
assert m["arch"] == "llama" and m["tokenizer"] == "bytes" and m["chat_template"] == "none", m
assert m["tensor_types"]["q4_0"]["tensors"] == 211 and m["tensor_types"]["f32"]["tensors"] == 61
assert m["tensor_types"]["q4_0"]["bytes"] > 70e6, m
EOF
    expect_status 0 "$AIEB" generate --model "$M" --max-tokens 6 --ignore-eos --json --threads 1
    python3 -c 'import json,sys; a,b=(json.load(open(f))["text"] for f in sys.argv[1:]); assert a==b' \
        "$T/a.json" "$T/out" || fail "greedy text differs between 1 and 2 threads"
fi
for run in 1 2; do
    expect_status 0 "$AIEB" generate --model "$M" --prompt-ids '1 50 60 70' --max-tokens 8 \
        --temperature 0.9 --top-k 40 --top-p 0.95 --seed 11 --ignore-eos --json
    cp "$T/out" "$T/s$run.json"
done
cmp -s "$T/s1.json" "$T/s2.json" ||
    python3 -c 'import json,sys; a,b=(json.load(open(f))["text"] for f in sys.argv[1:]); assert a==b' \
        "$T/s1.json" "$T/s2.json" || fail "the same seed gave different text"

# logits: n_vocab little-endian floats, nothing generated with --max-tokens 0
if expect_status 0 "$AIEB" generate --model "$M" --prompt-ids '1 2 3' --max-tokens 0 \
    --dump-logits "$T/logits.bin" --json; then
    size=$(stat -c %s "$T/logits.bin")
    [ "$size" = $((49152 * 4)) ] || fail "logits file has $size bytes"
    expect_grep '"completion_tokens": ?0' "$T/out"
fi
expect_status 1 "$AIEB" generate --model "$M" --prompt-ids '1 2 3' --max-tokens 0 \
    --dump-logits "$T/no/such/dir/l.bin" && expect_grep 'l.bin' "$T/err"
finish
