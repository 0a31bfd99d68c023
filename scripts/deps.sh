#!/usr/bin/env bash
# Installs the Debian packages that building and testing aieb need.
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

if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#pkgs[@]} packages present"
    exit 0
fi

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
