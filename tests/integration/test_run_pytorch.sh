#!/usr/bin/env bash
# `aieb run` with backend.type pytorch against the stand-in worker
# (tests/fakes/fake_torch_worker.py): results files, the GPU memory evidence in
# backend_info, fail-fast on a crashing worker, and exit 3 with the install hint
# when Python or torch is missing.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "skip: python3 is not on PATH"; exit 77; }
export AIEB_TORCH_WORKER="$AIEB_SOURCE_DIR/tests/fakes/fake_torch_worker.py"
export AIEB_NVML_LIBRARY="$T/no-nvml.so" AIEB_POWERCAP_ROOT="$T/no-powercap"
export FAKE_TORCH_LOG="$T/worker.log"

write_config() { # FILE EXTRA_BACKEND_LINES EXTRA_SCENARIO_LINES
    cat >"$1" <<YAML
name: pt
backend:
  type: pytorch
  model: synthetic:llama-3.2-1b
  device_ids: [0]
  startup_timeout_s: 20
$2
scenario:
  dataset_name: builtin
  num_samples: 5
  warmup_requests: 1
  max_consecutive_failures: 2
  input_shapes:
    batch_size: 2
  generate_kwargs:
    max_new_tokens: 4
    min_new_tokens: 4
$3
metrics:
  sample_interval_ms: 20
  idle_baseline_s: 0
reporter:
  output_file: $T/results.csv
output_dir: $T/runs
YAML
}

# ---- a run: files, counts, evidence ------------------------------------------
write_config "$T/ok.yaml" "" ""
if expect_status 0 "$AIEB" run "$T/ok.yaml"; then
    run_dir=$(tail -n 1 "$T/out")
    s="$run_dir/summary.json"
    [ "$(json_get "$s" "d['summary']['successful_prompts']")" = 5 ] || fail "successful_prompts"
    [ "$(json_get "$s" "d['summary']['total_completion_tokens']")" = 20 ] || fail "tokens"
    python3 - "$s" "$run_dir/requests.jsonl" <<'PY' || fail "summary/requests content"
import json, sys
d = json.load(open(sys.argv[1]))
b = d["backend_info"]
assert b["type"] == "pytorch" and b["batch_size"] == 2, b
assert b["cuda_visible_devices"] == "0"
assert b["versions"]["torch"] == "2.9.0-fake"
g = b["gpu_memory"]
assert g["load_growth_mb"] == 300 and g["freed_at_unload_mb"] == 300, g
assert b["memory_after_unload"]["cuda"][0]["allocated_bytes"] == 0
# warmup (1 call) + 3 calls for 5 requests in pairs
assert b["generate_calls"] == 4, b["generate_calls"]
rows = [json.loads(l) for l in open(sys.argv[2])]
assert sorted(r["index"] for r in rows) == list(range(5))
assert all(r["success"] and r["completion_tokens"] == 4 and len(r["itl_ms"]) == 3 for r in rows)
assert all(r["prefill_end_s"] == r["first_token_s"] for r in rows)
PY
    expect_grep '"op": "generate"' "$FAKE_TORCH_LOG"
fi

# ---- a worker that crashes on its 3rd call: fail-fast, exit 1 ------------------
FAKE_TORCH_MODE=crash FAKE_TORCH_AT=3 expect_status 1 "$AIEB" run "$T/ok.yaml"
expect_grep "stopped after 2 consecutive failures" "$T/err"
expect_grep "exited with status 7" "$T/err"
expect_grep "illegal memory access" "$T/err"

# ---- missing python, missing torch: exit 3 with the install hint ---------------
write_config "$T/nopy.yaml" "  python: /nonexistent/bin/python3" ""
expect_status 3 "$AIEB" run "$T/nopy.yaml"
expect_grep "'/nonexistent/bin/python3' was not found; install Python 3 \(apt-get install python3\)" \
    "$T/err"
FAKE_TORCH_MODE=no_torch expect_status 3 "$AIEB" run "$T/ok.yaml"
expect_grep "cannot import torch .*apt-get install python3-torch .* pip install torch transformers" \
    "$T/err"
FAKE_TORCH_MODE=slow_start FAKE_TORCH_START_S=30 expect_status 3 "$AIEB" run "$T/ok.yaml" \
    --set backend.startup_timeout_s=0.5
expect_grep "did not start within 0.5 s" "$T/err"

finish
