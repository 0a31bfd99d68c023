#!/usr/bin/env bash
# engine_vs_llamacpp.sh - the embedded engine and llama.cpp on the same GGUF files, the
# same machine, the same thread count: llama-bench -p 128 -n 64 (pp128, tg64) against
# `aieb generate` with a 128-token prompt and 64 new tokens.
#
# Files: random weights in TinyLlama-1.1B and Qwen2.5-0.5B shapes (scripts/gguf_random.py,
# F16), quantized by llama.cpp's llama-quantize to Q4_K_M, Q6_K and Q8_0. Speed depends
# on shapes and types, not on the values. Both sides take the median of REPS runs;
# llama-bench reports the mean of its repetitions (-r REPS).
#
# Usage: bench/engine_vs_llamacpp.sh [BUILD_DIR] [LLAMA_CPP_BIN_DIR]
#   env: THREADS (2), REPS (3), MODELS_DIR (/tmp/aieb-bench-models), PRESETS
#   ("tinyllama-1.1b qwen2.5-0.5b"), TYPES ("Q4_K_M Q6_K Q8_0 F16")
# Prints a Markdown table (docs/performance.md keeps one).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
bin=${2:-${LLAMA_CPP_BIN:-/work/refs/llama.cpp/build/bin}}
threads=${THREADS:-2}
reps=${REPS:-3}
models=${MODELS_DIR:-/tmp/aieb-bench-models}
presets=${PRESETS:-"tinyllama-1.1b qwen2.5-0.5b"}
types=${TYPES:-"Q4_K_M Q6_K Q8_0 F16"}
py=/usr/bin/python3
for f in "$bin/llama-bench" "$bin/llama-quantize" "$build/aieb"; do
    [ -x "$f" ] || {
        echo "engine_vs_llamacpp: $f not found" >&2
        exit 2
    }
done
export LD_LIBRARY_PATH="$bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
mkdir -p "$models"

# The files (made once, kept in MODELS_DIR)
for p in $presets; do
    [ -s "$models/$p-F16.gguf" ] || "$py" "$here/scripts/gguf_random.py" "$models/$p-F16.gguf" \
        --preset "$p" --type f16
    for t in $types; do
        [ "$t" = F16 ] || [ -s "$models/$p-$t.gguf" ] ||
            "$bin/llama-quantize" "$models/$p-F16.gguf" "$models/$p-$t.gguf" "$t" "$threads" \
                >"$models/$p-$t.log" 2>&1
    done
done

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
field() { sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p"; }

# 128 prompt ids, the same for every file (the vocabularies have >= 32000 entries)
ids=$(awk 'BEGIN {srand(7); for (i = 0; i < 128; i++) printf "%d ", 300 + int(rand() * 31000)}')

printf '| model | file type | file MB | llama.cpp pp128 | aieb prefill | llama.cpp tg64 | aieb decode | aieb decode GB/s |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for p in $presets; do
    for t in $types; do
        f="$models/$p-$t.gguf"
        mb=$(($(stat -c %s "$f") / 1000000))
        js=$("$bin/llama-bench" -m "$f" -p 128 -n 64 -t "$threads" -r "$reps" -o jsonl 2>/dev/null)
        lpp=$(echo "$js" | grep '"n_prompt": *128\|"n_prompt":128' | sed -n 's/.*"avg_ts": *\([0-9.e+-]*\).*/\1/p')
        ltg=$(echo "$js" | grep '"n_gen": *64\|"n_gen":64' | sed -n 's/.*"avg_ts": *\([0-9.e+-]*\).*/\1/p')
        pre=()
        dec=()
        for ((r = 0; r < reps; r++)); do
            out=$("$build/aieb" generate --model "$f" --prompt-ids "$ids" --max-tokens 64 \
                --ignore-eos --threads "$threads" --json 2>/dev/null)
            pre+=("$(echo "$out" | field prefill_tokens_per_s)")
            dec+=("$(echo "$out" | field decode_tokens_per_s)")
        done
        apre=$(printf '%s\n' "${pre[@]}" | median)
        adec=$(printf '%s\n' "${dec[@]}" | median)
        gbs=$(awk -v mb="$mb" -v d="$adec" 'BEGIN {printf "%.1f", mb * d / 1000}')
        printf '| %s | %s | %s | %.1f | %.1f | %.1f | %.1f | %s |\n' "$p" "$t" "$mb" \
            "${lpp:-0}" "$apre" "${ltg:-0}" "$adec" "$gbs"
    done
done
echo
echo "tok/s; $threads threads; llama.cpp: mean of -r $reps; aieb: median of $reps runs."
echo "GB/s = file size x decode tok/s (the embedding table is read one row per token, so"
echo "this overstates the bytes a step reads by about the embedding's share)."
