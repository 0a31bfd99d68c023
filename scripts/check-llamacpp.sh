#!/usr/bin/env bash
# check-llamacpp.sh - files quantized by llama.cpp's own llama-quantize, run by the
# engine and checked against the NumPy reference (tests/ref/ref_forward.py) and
# against llama.cpp itself.
#
# A random-weight F32 model (scripts/gguf_random.py) is quantized to each type with
# llama-quantize (its real quantizer: searched scales, its own per-tensor mix for
# _S/_M/_L, fallbacks where a row is not a multiple of 256). `aieb generate
# --dump-logits` runs each file with the best kernels and the scalar ones; the
# reference decodes the same bytes from the format definitions and computes the
# forward pass in float64, once as is (error = the engine's int8 activations) and once
# rounding activations as the engine does (--act-q8: only decoding and float rounding
# left, about 1e-7, unless an activation sits on a rounding tie: a quantized embedding
# row gives exact ties such as 127 * 4 / 8 = 63.5, which float32 and float64 round
# apart, and that one step is then worth about 1e-2 of the logits).
#
# Where llama-debug is built (cmake --build build --target llama-debug), llama.cpp
# also runs each file: `llama-debug --save-logits` on a text prompt writes its token
# ids and the logits at the last position; `aieb tokenize` must give the same ids, and
# the engine's logits for those ids are compared with llama.cpp's (relative error,
# and whether the most likely token is the same; where it is not, llama.cpp's logits
# for the two tokens must lie within twice the largest difference: a near-tie). Both sides round activations to
# 8 bits, each its own way (for K-quants both with one scale per 256 values; the
# float arithmetic around them differs), so they differ by about 1e-2. Not part of `make test`: it
# needs a llama.cpp build.
#
# Usage: scripts/check-llamacpp.sh [BUILD_DIR] [LLAMA_CPP_BIN_DIR]
#   LLAMA_CPP_BIN_DIR holds llama-quantize and optionally llama-debug (default:
#   $LLAMA_CPP_BIN or /work/refs/llama.cpp/build/bin). Exit 0 when every file is
#   within tolerance.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
bin=${2:-${LLAMA_CPP_BIN:-/work/refs/llama.cpp/build/bin}}
py=/usr/bin/python3
quantize=$bin/llama-quantize
if [ ! -x "$quantize" ]; then
    echo "check-llamacpp: $quantize not found (give the llama.cpp bin folder)" >&2
    exit 2
fi
if [ ! -x "$build/aieb" ]; then
    echo "check-llamacpp: $build/aieb not found (build first)" >&2
    exit 2
fi
export LD_LIBRARY_PATH="$bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
tmp=$(mktemp -d /tmp/aieb-llamacpp-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

ids="5 17 42 299 0 1 2 100 7 8 9 300 301 450"
types="Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K
       IQ4_NL IQ4_XS"
tol_float=0.05 # against the float reference (int8 activations make the difference)
tol_actq=0.05  # with the activations rounded alike (1e-7, or 1e-2 after a tie)
tol_llama=0.05 # against llama.cpp's logits (both round activations, differently)
text="Once upon a time, t5 t17 and t42 met 3 friends: hello!"
debug=$bin/llama-debug
[ -x "$debug" ] || echo "check-llamacpp: $debug not built: no comparison with llama.cpp's logits" >&2

# vs_llamacpp FILE: "rel_err top1" of the engine against llama.cpp on FILE, or a reason
vs_llamacpp() {
    local f=$1 out="$tmp/dbg"
    [ -x "$debug" ] || {
        echo "not run"
        return 0
    }
    rm -rf "$out"
    if ! "$debug" -m "$f" -p "$text" --save-logits --logits-output-dir "$out" -t 2 -c 256 \
        >"$tmp/dbg.log" 2>&1; then
        echo "llama-debug failed"
        return 1
    fi
    local base
    base=$(ls "$out"/*-tokens.bin)
    base=${base%-tokens.bin}
    local ids mine
    ids=$("$py" -c 'import sys, numpy as np; print(" ".join(map(str, np.fromfile(sys.argv[1], dtype=np.int32))))' "$base-tokens.bin")
    mine=$("$build/aieb" tokenize --model "$f" --prompt "$text")
    if [ "$ids" != "$mine" ]; then
        echo "token ids differ: llama.cpp [$ids], aieb [$mine]"
        return 1
    fi
    "$build/aieb" generate --model "$f" --prompt-ids "$ids" --max-tokens 0 \
        --dump-logits "$tmp/mine.bin" >/dev/null 2>"$tmp/err" || {
        echo "aieb failed: $(head -1 "$tmp/err")"
        return 1
    }
    "$py" - "$tmp/mine.bin" "$base.bin" "$tol_llama" <<'PY'
import sys
import numpy as np
a = np.fromfile(sys.argv[1], dtype=np.float32)
b = np.fromfile(sys.argv[2], dtype=np.float32)
if a.shape != b.shape:
    print(f"{a.size} logits vs {b.size}")
    sys.exit(1)
err = float(np.abs(a - b).max())
rel = err / float(np.abs(b).max())
ia, ib = int(a.argmax()), int(b.argmax())
# a different most likely token is a near-tie when llama.cpp's own logits for the two
# differ by no more than the two sides' largest difference
gap = float(b[ib] - b[ia])
tie = ia != ib and gap <= 2 * err
top = "same top-1" if ia == ib else f"top-1 {ia} vs {ib}, a near-tie ({gap:.1e} apart)" if tie else f"top-1 {ia} vs {ib}, {gap:.1e} apart"
print(f"{rel:.2e}, {top}")
sys.exit(0 if rel <= float(sys.argv[3]) and (ia == ib or tie) else 1)
PY
}

# llama 256 wide; qwen2 384 wide (rows of 384 are not a multiple of 256, so the
# K-quant files fall back to other types for those tensors) with biases, tied output
"$py" "$here/scripts/gguf_random.py" "$tmp/llama.gguf" --arch llama --embd 256 --ff 768 \
    --layers 3 --heads 4 --kv-heads 2 --vocab 512 --seed 1
"$py" "$here/scripts/gguf_random.py" "$tmp/qwen2.gguf" --arch qwen2 --embd 384 --ff 1024 \
    --layers 2 --heads 6 --kv-heads 2 --vocab 600 --tied --seed 2

fail=0
printf '| model | llama.cpp type | tensor types in the file | vs float ref | vs ref with int8 activations | vs llama.cpp |\n'
printf '|---|---|---|---|---|---|\n'
for m in llama qwen2; do
    for t in $types; do
        f="$tmp/$m-$t.gguf"
        if ! "$quantize" "$tmp/$m.gguf" "$f" "$t" >"$tmp/q.log" 2>&1; then
            printf '| %s | %s | llama-quantize failed: %s |  |  |  |\n' "$m" "$t" \
                "$(tail -1 "$tmp/q.log")"
            fail=1
            continue
        fi
        mix=$(grep -o 'converting to [A-Za-z0-9_]*' "$tmp/q.log" | awk '{print $3}' | sort |
            uniq -c | awk '{printf "%s%s x%s", sep, $2, $1; sep=", "}')
        for k in auto scalar; do
            if ! "$build/aieb" generate --model "$f" --prompt-ids "$ids" --max-tokens 0 \
                --kernels "$k" --dump-logits "$tmp/$k.bin" >/dev/null 2>"$tmp/err"; then
                printf '| %s | %s | aieb failed: %s |  |  |  |\n' "$m" "$t" "$(head -1 "$tmp/err")"
                fail=1
                continue 2
            fi
        done
        e1=$("$py" "$here/tests/ref/ref_forward.py" "$f" --ids "$ids" --tol $tol_float \
            --logits "$tmp/auto.bin" "$tmp/scalar.bin") || fail=1
        e2=$("$py" "$here/tests/ref/ref_forward.py" "$f" --ids "$ids" --tol $tol_actq --act-q8 \
            --logits "$tmp/auto.bin" "$tmp/scalar.bin") || fail=1
        pick() { sed -n 's/.*relative error \([^ ]*\).*/\1/p' | paste -sd/ -; }
        e3=$(vs_llamacpp "$f") || fail=1
        printf '| %s | %s | %s | %s | %s | %s |\n' "$m" "$t" "$mix" "$(echo "$e1" | pick)" \
            "$(echo "$e2" | pick)" "$e3"
    done
done
echo
echo "errors: best kernels / scalar kernels; max|engine - ref| / max|ref| of the logits;"
echo "tolerances $tol_float (float ref), $tol_actq (int8 activations), $tol_llama and the same"
echo "most likely token or a near-tie (llama.cpp, best kernels, prompt \"$text\")."
[ $fail -eq 0 ] && echo "check-llamacpp: all within tolerance" || echo "check-llamacpp: FAILED"
exit $fail
