#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD for SECONDS each, starting from the seed
# corpus in tests/fuzz/corpus/<target>/ (new inputs go to a scratch copy).
set -euo pipefail
build=${1:-build-fuzz}
secs=${2:-60}
status=0
for f in "$build"/tests/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    seeds="tests/fuzz/corpus/$name"
    work="tests/fuzz/corpus-work/$name"
    mkdir -p "$work"
    [ -d "$seeds" ] && cp -n "$seeds"/* "$work"/ 2>/dev/null || true
    echo "== $name for ${secs}s"
    if ! "$f" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 "$work" 2>&1 | tail -n 3; then
        status=1
    fi
done
exit $status
