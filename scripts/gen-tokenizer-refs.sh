#!/usr/bin/env bash
# Usage: scripts/gen-tokenizer-refs.sh LLAMA_TOKENIZE [VOCAB_DIR]
#
# Writes tests/fixtures/tokenizer/NAME.txt for each reference vocabulary: the ids
# llama.cpp's llama-tokenize gives for the texts below (whitespace runs, newlines,
# digits, code, accents, scripts, CJK, emoji, invalid UTF-8, special-token text),
# which tests/unit/test_tokenize_vocab.c compares with. One line per text:
#
#   MODE HEX IDS...
#
# MODE is p (special-token text is plain text: --no-parse-special) or s (it becomes
# the token); HEX is the text's bytes; IDS are llama-tokenize's, with --no-bos.
# LLAMA_TOKENIZE is llama.cpp's tools/tokenize program (built from the source tree in
# the node-llama-cpp 3.22.1 npm package, see scripts/deps.sh); VOCAB_DIR holds the
# ggml-vocab-NAME.gguf files (default $AIEB_VOCAB_DIR or ~/.cache/aieb/llama-vocab).
set -euo pipefail
cd "$(dirname "$0")/.."
tok=${1:?usage: scripts/gen-tokenizer-refs.sh LLAMA_TOKENIZE [VOCAB_DIR]}
dir=${2:-${AIEB_VOCAB_DIR:-$HOME/.cache/aieb/llama-vocab}}
out=tests/fixtures/tokenizer
mkdir -p "$out"

vocabs=(llama-bpe qwen2 qwen35 gpt-2 mpt starcoder refact command-r falcon deepseek-llm
    deepseek-coder llama-spm phi-3)

# printf formats of the texts (\xNN for bytes that are not valid UTF-8)
texts=(
    '  two leading spaces, three trailing   '
    'tabs\t\tand\t \tmixed \t'
    'line1\nline2\r\nline3\n\n\n'
    '   \n\n   \n  x\n \n'
    '      '
    '\n'
    '12345678901234567890 3.14159 1,000,000 0x1F 1e-9 ½ ² ٣'
    'int main(void) {\n    return a[i] + b->c * 2; // ok\n}\n'
    'def f(x):\n\treturn {"k": [1, 2]}  # comment\n\n\nclass A:\n    pass\n'
    'Café naïve résumé coöperate Ångström Crème brûlée'
    'e\xcc\x81 n\xcc\x83 (combining marks) ﬁ ligature'
    'Ελληνικά русский текст עברית العربية हिन्दी ไทย'
    '中文测试：你好，世界！日本語のテキスト、カタカナ。한국어 텍스트'
    'emoji 🦙🔥👍🏽 👨‍👩‍👧 ❤️ 🇫🇷'
    'bad \xff\xfe bytes \xc3( \xe2\x82 end\x80'
    'overlong \xc0\xaf surrogate \xed\xa0\x80 cut \xf0\x9f\xa6'
    "don't I'LL we've THEY'RE it's 'quoted' ’curly’"
    'nbsp\xc2\xa0here em\xe2\x80\x83space ideographic\xe3\x80\x80space'
    'supercalifragilisticexpialidocioussupercalifragilisticexpialidocious'
    '<|im_start|>user\nhi<|im_end|>\n<s> </s> <|endoftext|> <|begin_of_text|><|eot_id|>'
    '<|user|>\nQuestion?<|end|>\n<|assistant|>'
)

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for v in "${vocabs[@]}"; do
    model="$dir/ggml-vocab-$v.gguf"
    dest="$out/$v.txt"
    : >"$dest"
    for t in "${texts[@]}"; do
        # shellcheck disable=SC2059
        printf "$t" >"$tmp"
        hex=$(od -An -v -tx1 "$tmp" | tr -d ' \n')
        for mode in p s; do
            flags=(--no-bos --ids --log-disable --no-escape -m "$model" -f "$tmp")
            [ "$mode" = p ] && flags+=(--no-parse-special)
            ids=$("$tok" "${flags[@]}" 2>/dev/null | tail -1 | tr -d '[],')
            echo "$mode $hex $ids" >>"$dest"
        done
    done
    echo "$dest: $(wc -l <"$dest") lines"
done
