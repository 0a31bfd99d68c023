#!/usr/bin/env bash
# `aieb run` on the embedded engine with real vocabularies and chat templates: tiny
# random-weight models (scripts/gguf_random.py --vocab-from) that carry the tokenizer
# of Qwen2 (byte-level BPE, ChatML template in the file, with its default system
# prompt), Llama 3 (byte-level BPE, BOS, Llama 3's template given) and Phi-3
# (SentencePiece, its template in the file) run text prompts end to end. Each
# request's prompt-token count must equal `aieb tokenize` of the text the template
# should give; a prompt rendered any other way (plain text, another template, no
# special-token parsing) has another count. The vocabularies come from scripts/deps.sh.
. "$(dirname "$0")/lib.sh"

dir=${AIEB_VOCAB_DIR:-$HOME/.cache/aieb/llama-vocab}
[ -s "$dir/ggml-vocab-qwen2.gguf" ] ||
    skip_rest "no reference vocabularies in $dir (scripts/deps.sh fetches them)"
export AIEB_NVML_LIBRARY="$T/no-such-libnvidia-ml.so"
export AIEB_POWERCAP_ROOT="$T/no-powercap"
PY=/usr/bin/python3

printf '%s\n' "Write a haiku about the sea." "Was ist 2 + 2?" "¿Qué hora es? 東京" >"$T/prompts.txt"

# LLAMA3_TMPL: Meta-Llama-3-8B-Instruct's chat template (tokenizer_config.json)
LLAMA3_TMPL="{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>

'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>

' }}{% endif %}"

# make_model NAME VOCAB [TEMPLATE]: a 2-layer F16 model with that vocabulary
make_model() {
    local extra=()
    [ $# -gt 2 ] && extra=(--chat-template "$3")
    "$PY" "$AIEB_SOURCE_DIR/scripts/gguf_random.py" "$T/$1.gguf" --arch llama --embd 64 \
        --ff 128 --layers 2 --heads 4 --kv-heads 2 --tied --type f16 --seed 3 \
        --vocab-from "$dir/ggml-vocab-$2.gguf" "${extra[@]}" >/dev/null 2>"$T/gen.err" ||
        fail "gguf_random.py --vocab-from $2: $(head -2 "$T/gen.err")"
}

# run_model NAME: aieb run over the three prompts; prints the run directory
run_model() {
    cat >"$T/$1.yaml" <<YAML
name: vocab-$1
backend:
  type: native
  model: $T/$1.gguf
  api: chat
  threads: 1
  context_length: 256
scenario:
  dataset_name: $T/prompts.txt
  num_samples: 3
  warmup_requests: 0
  generate_kwargs:
    max_new_tokens: 2
    min_new_tokens: 2
metrics:
  sample_interval_ms: 50
output_dir: $T/runs-$1
YAML
    expect_status 0 "$AIEB" -q run "$T/$1.yaml" && tail -n 1 "$T/out"
}

# check NAME FAMILY TOKENIZER PRE RENDER: the run's requests against the rendering
# RENDER (a printf format with %s for the prompt), tokenized by aieb tokenize
check() {
    local name=$1 family=$2 tok=$3 pre=$4 render=$5 run_dir i=0 want got p first=
    run_dir=$(run_model "$name") || {
        fail "$name: run failed: $(head -3 "$T/err")"
        return
    }
    json_get "$run_dir/summary.json" "d['backend_info']['chat_template']" >"$T/v"
    [ "$(cat "$T/v")" = "$family" ] || fail "$name: chat_template $(cat "$T/v"), want $family"
    [ "$(json_get "$run_dir/summary.json" "d['backend_info']['tokenizer']")" = "$tok" ] ||
        fail "$name: tokenizer is not $tok"
    [ "$(json_get "$run_dir/summary.json" "d['backend_info']['tokenizer_pre']")" = "$pre" ] ||
        fail "$name: tokenizer_pre is not '$pre'"
    [ "$(json_get "$run_dir/summary.json" "d['summary']['successful_prompts']")" = 3 ] ||
        fail "$name: not 3 successful prompts"
    while IFS= read -r p; do
        # shellcheck disable=SC2059 # the rendering is the format
        printf "$render" "$p" >"$T/rendered.txt"
        "$AIEB" tokenize --model "$T/$name.gguf" --file "$T/rendered.txt" >"$T/ids" 2>"$T/tok.err" ||
            fail "$name: aieb tokenize failed: $(head -1 "$T/tok.err")"
        want=$(wc -w <"$T/ids")
        got=$("$PY" -c 'import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print([r for r in rows if r["index"] == int(sys.argv[2])][0]["prompt_tokens"])' \
            "$run_dir/requests.jsonl" "$i")
        [ "$got" = "$want" ] ||
            fail "$name: prompt $i has $got prompt tokens, the rendered text $want"
        [ $i -eq 0 ] && first=$got
        i=$((i + 1))
    done <"$T/prompts.txt"
    # the first prompt as plain text has another count (the check can tell them apart)
    printf '%s' "$(head -1 "$T/prompts.txt")" >"$T/plain.txt"
    "$AIEB" tokenize --model "$T/$name.gguf" --file "$T/plain.txt" >"$T/ids"
    [ "$(wc -w <"$T/ids")" != "$first" ] || fail "$name: the plain prompt has the same count"
}

make_model qwen2 qwen2
check qwen2 chatml gpt2 qwen2 \
    '<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\n%s<|im_end|>\n<|im_start|>assistant\n'

make_model llama3 llama-bpe "$LLAMA3_TMPL"
check llama3 llama3 gpt2 llama-bpe \
    '<|start_header_id|>user<|end_header_id|>\n\n%s<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n'

make_model phi3 phi-3
check phi3 phi3 llama "" '<|user|>\n%s<|end|>\n<|assistant|>\n'

finish
