#!/usr/bin/env bash
# The quickstart `make run` performs. Until the embedded engine lands, it shows
# what this machine can measure and validates the quickstart config.
set -euo pipefail
build=${1:-build}
aieb="$build/aieb"
echo "== aieb probe"
"$aieb" probe
echo
echo "== aieb config check configs/quickstart.yaml"
"$aieb" config check configs/quickstart.yaml
echo "quickstart config is valid"
