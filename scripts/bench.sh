#!/usr/bin/env bash
# Runs every benchmark built under bench/ (bench_*). Benchmarks print their own
# numbers; record them in docs/performance.md with the command that made them.
set -euo pipefail
build=${1:-build}
found=0
for b in "$build"/bench/bench_*; do
    [ -x "$b" ] || continue
    found=1
    echo "== $(basename "$b")"
    "$b"
    echo
done
[ "$found" = 1 ] || echo "no benchmarks built in $build/bench"
