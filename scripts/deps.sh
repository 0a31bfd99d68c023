#!/usr/bin/env bash
# Installs the Debian packages that building and testing aieb need, then the
# reference vocabularies the tokenizer test compares with (below).
# Idempotent: packages already present are skipped; apt-get runs only when
# something is missing (with sudo when not root).
set -euo pipefail

pkgs=(
    build-essential cmake pkg-config git
    libyaml-dev libjansson-dev libcurl4-openssl-dev libsqlite3-dev
    libcairo2-dev libmicrohttpd-dev libpcre2-dev libopenblas-dev
    libcmocka-dev fonts-dejavu-core
    clang libclang-rt-14-dev clang-format cppcheck
    python3 python3-numpy python3-torch
    curl ca-certificates
    prometheus
)

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

# npm fetches the reference vocabularies; a Node.js install that brings its own npm
# (NodeSource's nodejs package) conflicts with Debian's npm package, so ask for it
# only when there is none.
if ! command -v npm >/dev/null 2>&1; then
    missing+=(npm)
fi

install_missing() {
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo="sudo"
        else
            echo "deps: missing ${missing[*]}; run this script as root or install sudo" >&2
            exit 3
        fi
    fi

    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # An update first: a fresh machine's package lists may be empty or stale.
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    echo "deps: done"
}

# Reference vocabularies for tests/unit/test_tokenize_vocab.c: llama.cpp's
# models/ggml-vocab-*.gguf (vocabulary-only GGUF files, a few MB each) with their
# .inp/.out text and id pairs, taken from the llama.cpp source tree that the
# node-llama-cpp npm package carries as a git bundle. Cached outside the
# repository in $AIEB_VOCAB_DIR (default ~/.cache/aieb/llama-vocab).
NODE_LLAMA_CPP=node-llama-cpp@3.22.1
fetch_vocabularies() {
    local dir=${AIEB_VOCAB_DIR:-$HOME/.cache/aieb/llama-vocab}
    if [ -s "$dir/ggml-vocab-llama-bpe.gguf.out" ]; then
        echo "deps: reference vocabularies in $dir"
        return 0
    fi
    local tmp
    tmp=$(mktemp -d)
    echo "deps: fetching reference vocabularies ($NODE_LLAMA_CPP) into $dir"
    if ! (cd "$tmp" && npm pack --silent "$NODE_LLAMA_CPP" >/dev/null) ||
        ! tar -xzf "$tmp"/node-llama-cpp-*.tgz -C "$tmp" package/llama/gitRelease.bundle ||
        ! git -c advice.detachedHead=false clone -q "$tmp/package/llama/gitRelease.bundle" "$tmp/llama.cpp"; then
        rm -rf "$tmp"
        echo "deps: could not fetch $NODE_LLAMA_CPP (the tokenizer test will skip)" >&2
        return 1
    fi
    mkdir -p "$dir"
    local f
    for f in "$tmp"/llama.cpp/models/ggml-vocab-*.gguf "$tmp"/llama.cpp/models/ggml-vocab-*.gguf.inp \
        "$tmp"/llama.cpp/models/ggml-vocab-*.gguf.out; do
        cp "$f" "$dir/"
    done
    rm -rf "$tmp"
    echo "deps: $(ls "$dir" | wc -l) vocabulary files in $dir"
}

if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#pkgs[@]} packages present"
else
    install_missing
fi
fetch_vocabularies || true
