#!/usr/bin/env bash
# The real worker (python/aieb_torch_worker.py) end to end through `aieb run`,
# on its torch-only model torch-tiny: (Debian's python3-torch is enough):
# handshake and clock check, load, batched generate with per-token times,
# cancel on timeout, unload; and exit 3 with the hint when torch or
# transformers cannot be imported.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || { echo "skip: $PY is missing"; exit 77; }
if ! "$PY" -c "import torch" 2>/dev/null; then
    echo "skip: $PY has no torch (apt-get install python3-torch, or scripts/deps.sh)"
    exit 77
fi
unset AIEB_TORCH_WORKER
export AIEB_NVML_LIBRARY="$T/no-nvml.so" AIEB_POWERCAP_ROOT="$T/no-powercap"

write_config() { # FILE MODEL EXTRA_BACKEND [MAX_NEW MIN_NEW SAMPLES WARMUP]
    cat >"$1" <<YAML
name: tiny
backend:
  type: pytorch
  python: $PY
  model: "$2"
  device: cpu
  threads: 1
  startup_timeout_s: 120
$3
scenario:
  dataset_name: builtin
  num_samples: ${6:-4}
  warmup_requests: ${7:-1}
  seed: 11
  input_shapes:
    batch_size: 2
  generate_kwargs:
    max_new_tokens: ${4:-8}
    min_new_tokens: ${5:-8}
metrics:
  sample_interval_ms: 20
  idle_baseline_s: 0
reporter:
  output_file: $T/results.csv
output_dir: $T/runs
YAML
}

# ---- torch-tiny end to end -----------------------------------------------------
write_config "$T/tiny.yaml" "torch-tiny:ctx=192" ""
if expect_status 0 "$AIEB" run "$T/tiny.yaml"; then
    run_dir=$(tail -n 1 "$T/out")
    python3 - "$run_dir/summary.json" "$run_dir/requests.jsonl" <<'PY' || fail "tiny run content"
import json, sys
d = json.load(open(sys.argv[1]))
b = d["backend_info"]
assert b["worker"].endswith("python/aieb_torch_worker.py"), b["worker"]
assert b["versions"]["torch"] and b["versions"]["python_executable"] == "/usr/bin/python3"
assert "CLOCK_MONOTONIC" in b["versions"]["clock"], b["versions"]
assert b["device_loaded"] == "cpu" and b["dtype"] == "float32" and b["arch"] == "torch-tiny"
assert b["n_params"] > 10000 and b["load_time_s"] > 0
assert b["memory_before_load"]["rss_bytes"] > 0 and b["memory_after_unload"] is not None
assert b["worker_stats"]["generate_calls"] == 3  # warmup + 2 batches of 2
assert b["worker_stats"]["tokens"] == 8 * 5
s = d["summary"]
assert s["successful_prompts"] == 4 and s["total_completion_tokens"] == 32, s
rows = [json.loads(l) for l in open(sys.argv[2])]
assert len(rows) == 4
for r in rows:
    assert r["success"] and r["completion_tokens"] == 8, r
    # byte tokenizer: BOS + one token per byte, unless cut to the context
    assert 0 < r["prompt_tokens"] <= r["prompt_chars"] + 1 or r["prompt_tokens"] == 192 - 8
    assert r["sent_s"] < r["first_token_s"] <= r["done_s"]
    assert len(r["itl_ms"]) == 7 and all(x >= 0 for x in r["itl_ms"])
PY
fi

# ---- a call past backend.timeout_s is cancelled by the worker itself -------------
write_config "$T/slow.yaml" "torch-tiny:ctx=64" "  timeout_s: 1" 200000 0 2 0
expect_status 1 "$AIEB" run "$T/slow.yaml"
expect_grep "every request failed; last error: request [01]: timed out after 1 s \(backend.timeout_s\); generation was cancelled" \
    "$T/err"

# ---- the transformers path's glue, through a stand-in transformers module -----------
# (tests/fakes/transformers_shim: configs, dtype keyword, streamer, stopping
# criteria and padding as transformers has them, with a bigram model inside)
cat >"$T/python-shim" <<SH
#!/bin/sh
PYTHONPATH="$AIEB_SOURCE_DIR/tests/fakes/transformers_shim" exec $PY "\$@"
SH
chmod +x "$T/python-shim"
write_config "$T/shim.yaml" "synthetic:llama-3.2-1b" "" 6 6 5 1
sed -i "s|python: $PY|python: $T/python-shim|; s|batch_size: 2|batch_size: 3|" "$T/shim.yaml"
if expect_status 0 "$AIEB" run "$T/shim.yaml" --set scenario.generate_kwargs.repetition_penalty=1.1; then
    run_dir=$(tail -n 1 "$T/out")
    python3 - "$run_dir/summary.json" <<'PY' || fail "shim run content"
import json, sys
d = json.load(open(sys.argv[1]))
b = d["backend_info"]
assert b["versions"]["transformers"] == "4.57.0-shim" and b["arch"] == "llama", b
assert b["context_length"] == 131072 and b["tokenizer"] == "bytes"
assert b["worker_stats"]["generate_calls"] == 3  # warmup + batches of 3 and 2
assert d["summary"]["successful_prompts"] == 5 and d["summary"]["total_completion_tokens"] == 30
PY
fi
expect_status 1 "$AIEB" run "$T/shim.yaml" --set backend.model=synthetic:gpt2 \
    --set backend.timeout_s=1 --set scenario.generate_kwargs.max_new_tokens=1000000 \
    --set scenario.generate_kwargs.min_new_tokens=0 --set scenario.num_samples=1 \
    --set scenario.warmup_requests=0
expect_grep "request 0: timed out after 1 s \(backend.timeout_s\); generation was cancelled" "$T/err"
expect_status 2 "$AIEB" run "$T/shim.yaml" --set backend.model=synthetic:llama-9b
expect_grep "loading synthetic:llama-9b: synthetic: unknown preset 'llama-9b' \(gpt2, " "$T/err"

# ---- torch or transformers missing: exit 3 with the install hint -------------------
mkdir -p "$T/shadow"
echo 'raise ImportError("No module named torch (hidden by the test)")' >"$T/shadow/torch.py"
cat >"$T/python-without-torch" <<SH
#!/bin/sh
PYTHONPATH="$T/shadow" exec $PY "\$@"
SH
chmod +x "$T/python-without-torch"
write_config "$T/notorch.yaml" "torch-tiny:" ""
sed -i "s|python: $PY|python: $T/python-without-torch|" "$T/notorch.yaml"
expect_status 3 "$AIEB" run "$T/notorch.yaml"
expect_grep "cannot import torch \(ImportError: No module named torch \(hidden by the test\)\); install it: apt-get install python3-torch \(Debian\) or pip install torch transformers" \
    "$T/err"

if ! "$PY" -c "import transformers" 2>/dev/null; then
    write_config "$T/synth.yaml" "synthetic:gpt2" ""
    expect_status 3 "$AIEB" run "$T/synth.yaml"
    expect_grep "cannot import transformers .*model 'synthetic:gpt2' needs; install it: pip install torch transformers" \
        "$T/err"
fi

finish
