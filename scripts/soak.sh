#!/usr/bin/env bash
# soak.sh - runs the whole test suite N times in a row with `ctest -j2` while
# other processes keep the CPU busy, and stops at the first failure: the check
# that no test depends on timing luck. Prints one line per round (time, result)
# and, on a failure, the failing tests' output.
#
# Usage: scripts/soak.sh [ROUNDS] [BUILD_DIR] [HOGS]
#        (defaults: 20, build, 1 spinning process beside the tests)
set -euo pipefail
rounds=${1:-20}
build=${2:-build}
n_hogs=${3:-1}
[ -f "$build/CTestTestfile.cmake" ] || {
    echo "soak: build first (make test, or cmake --build $build)" >&2
    exit 2
}
hogs=()
cleanup() { for p in "${hogs[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
for _ in $(seq "$n_hogs"); do
    (while :; do :; done) &
    hogs+=($!)
done
log=$(mktemp)
start=$(date +%s)
for i in $(seq "$rounds"); do
    t0=$(date +%s)
    if (cd "$build" && ctest -j2 --output-on-failure >"$log" 2>&1); then
        echo "round $i/$rounds: passed in $(($(date +%s) - t0)) s ($(grep -Eo '[0-9]+ tests? passed|tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1))"
    else
        echo "round $i/$rounds: FAILED after $(($(date +%s) - t0)) s"
        grep -E 'Failed|\*\*\*' "$log" | head -20
        sed -n '/The following tests FAILED/,$p' "$log"
        cp "$log" "$build/soak-failure.log"
        echo "soak: full log in $build/soak-failure.log"
        exit 1
    fi
done
echo "soak: $rounds rounds passed with $n_hogs busy process(es) beside ctest -j2, $(($(date +%s) - start)) s in all"
rm -f "$log"
