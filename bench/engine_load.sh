#!/usr/bin/env bash
# engine_load.sh - time-to-load of GGUF files by the embedded engine (aieb_engine_open:
# mmap, header and tensor checks, model set-up), cold (page cache dropped, when this
# user may: root) and warm (median of 5), from `aieb generate --json`'s load_s.
#
# Usage: bench/engine_load.sh [BUILD_DIR] FILE.gguf...
# Prints a Markdown table (docs/performance.md keeps one).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build
if [ $# -gt 0 ] && [ -d "$1" ]; then
    build=$1
    shift
fi
[ $# -gt 0 ] || {
    echo "usage: bench/engine_load.sh [BUILD_DIR] FILE.gguf..." >&2
    exit 2
}
load_s() {
    "$build/aieb" generate --model "$1" --prompt-ids 1 --max-tokens 0 --json --threads 2 |
        sed -n 's/.*"load_s": *\([0-9.e+-]*\).*/\1/p'
}
fmt() { case $1 in [0-9]*) printf "%.3f" "$1" ;; *) printf "%s" "$1" ;; esac; }
printf '| file | MB | cold load s | warm load s (median of 5) |\n|---|---|---|---|\n'
for f in "$@"; do
    mb=$(($(stat -c %s "$f") / 1000000))
    cold="n/a (cannot drop the page cache)"
    if sync && echo 3 2>/dev/null >/proc/sys/vm/drop_caches; then
        cold=$(load_s "$f")
    fi
    warm=$(for i in 1 2 3 4 5; do load_s "$f"; done | sort -g | sed -n 3p)
    printf '| %s | %s | %s | %s |\n' "$(basename "$f")" "$mb" "$(fmt "$cold")" "$(fmt "$warm")"
done
