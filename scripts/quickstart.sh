#!/usr/bin/env bash
# The quickstart `make run` performs: show what this machine can measure, then
# benchmark a small model on the embedded engine (no GPU, no server needed).
set -euo pipefail
build=${1:-build}
aieb="$build/aieb"
echo "== aieb probe"
"$aieb" probe
echo
echo "== aieb run configs/quickstart.yaml"
run_dir=$("$aieb" run configs/quickstart.yaml | tail -n 1)
echo
echo "Results are in $run_dir:"
ls -1 "$run_dir" | sed 's/^/  /'
echo "One row was appended to ./results/benchmark_results.csv."
