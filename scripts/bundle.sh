#!/usr/bin/env bash
# Builds a portable aieb for machines without the build dependencies (such as a
# GPU machine whose image lacks the -dev packages): the binary, every shared
# library it links (glibc and its loader included), and a wrapper that runs it
# with that loader. Child processes (the measured command, the PyTorch worker)
# run with the machine's own libraries: no LD_LIBRARY_PATH is set.
#
#   scripts/bundle.sh [DIR]        (default build-dev/bundle)
#   AIEB_BIN=build-dev/bundle/aieb scripts/device-check.sh
set -euo pipefail
out=${1:-build-dev/bundle}
cmake -S . -B build-dev -DCMAKE_BUILD_TYPE=Release -DAIEB_TESTS=OFF -DAIEB_BENCH=OFF >/dev/null
cmake --build build-dev -j "$(nproc)" --target aieb
rm -rf "$out"
mkdir -p "$out/lib"
cp build-dev/aieb "$out/aieb.real"
ldd build-dev/aieb | awk '/=>/ {print $3} /ld-linux/ {print $1}' | sort -u |
    while read -r lib; do cp -L "$lib" "$out/lib/"; done
cat >"$out/aieb" <<'SH'
#!/bin/sh
# aieb run with its own loader and libraries (made by scripts/bundle.sh).
d=$(dirname "$(readlink -f "$0")")
exec "$d/lib/ld-linux-x86-64.so.2" --library-path "$d/lib" "$d/aieb.real" "$@"
SH
chmod +x "$out/aieb"
"$out/aieb" --version
du -sh "$out"
