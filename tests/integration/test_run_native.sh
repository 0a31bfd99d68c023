#!/usr/bin/env bash
# End-to-end `aieb run` on the embedded engine (backend native): the quickstart's
# path, small. CPU energy here is the estimate (no RAPL in the test), the GPU
# meter absent: the summary must say so and give CPU evidence instead.
. "$(dirname "$0")/lib.sh"

export AIEB_NVML_LIBRARY="$T/no-such-libnvidia-ml.so"
export AIEB_POWERCAP_ROOT="$T/no-powercap"
cat >"$T/native.yaml" <<YAML
name: native-e2e
backend:
  type: native
  model: "synthetic:smollm-135m?type=q8_0"
  threads: 1
  context_length: 512
scenario:
  dataset_name: builtin
  num_samples: 2
  warmup_requests: 1
  generate_kwargs:
    max_new_tokens: 4
    min_new_tokens: 4
metrics:
  idle_baseline_s: 0.2
  sample_interval_ms: 20
reporter:
  output_file: $T/results.csv
output_dir: $T/runs
YAML

if expect_status 0 "$AIEB" run "$T/native.yaml"; then
    run_dir=$(tail -n 1 "$T/out")
    s="$run_dir/summary.json"
    python3 - "$s" "$run_dir/requests.jsonl" <<'PY' || fail "native summary content"
import json, sys
d = json.load(open(sys.argv[1]))
rows = [json.loads(l) for l in open(sys.argv[2])]
assert d["summary"]["successful_prompts"] == 2
assert d["summary"]["total_completion_tokens"] == 8
en = d["energy"]
assert en["primary"] == "cpu+ram" and en["gpu_energy_wh"] is None
assert en["methods"]["cpu"] == "estimate_tdp_load" and en["methods"]["gpu"] is None
assert en["cpu_energy_wh"] > 0 and en["j_per_output_token"] > 0
ph = d["phases"]
assert ph["method"] == "engine_timestamps"
assert ph["prefill"]["tokens"] == d["summary"]["total_prompt_tokens"]
assert ph["decode"]["tokens"] == 6          # 2 requests x (4 - 1)
assert ph["prefill"]["energy_j"]["cpu"] > 0 and ph["decode"]["energy_j"]["cpu"] > 0
assert ph["prefill"]["energy_j"]["gpu"] is None
assert "model_load" in ph and ph["model_load"]["duration_s"] > 0
assert d["evidence"]["gpu_present"] is False and "cpu" in d["evidence"]
bi = d["backend_info"]
assert bi["type"] == "native" and bi["synthetic"] is True
# model memory measured at load and given back at unload, inside the meter's timeline
assert bi["load_rss_growth_mb"] > 50 and bi["unload_rss_freed_mb"] > 50, bi
assert "cleanup" in d["timeline"] and "model_load" in d["timeline"]
# every energy states its bound; the sampler states its health
u = en["uncertainty_j"]
assert u["gpu"] is None and u["cpu"] >= 0 and u["energy"] == u["cpu"] + u["ram"], u
assert en["net"]["uncertainty_j"]["cpu"] >= u["cpu"]  # the idle power's bound adds
for p in ("prefill", "decode"):
    assert ph[p]["uncertainty_j"]["cpu"] >= 0 and ph[p]["uncertainty_j"]["gpu"] is None
q = d["meter"]["quality"]
assert q["sample_interval_ms"] == 20 and q["ticks"] > 0 and q["late_ms"]["max"] >= 0, q
assert d["meter"]["energy"]["cpu_uncertainty_j"] >= 0
for r in rows:
    assert r["prefill_end_s"] is not None and r["sent_s"] <= r["prefill_end_s"] <= r["done_s"]
    assert r["energy_j"]["cpu"] > 0 and r["energy_j"]["gpu"] is None
    assert r["energy_uncertainty_j"]["cpu"] >= 0 and r["energy_uncertainty_j"]["gpu"] is None
    assert r["completion_tokens"] == 4 and len(r["itl_ms"]) == 3
PY
    grep -q "native-e2e,native,synthetic:smollm-135m" "$T/results.csv" || fail "results CSV row"
    expect_grep "^## Cleanup" "$run_dir/report.md"
    expect_grep '^\| Component \| Method \| Gross \(Wh\) \| ± \(Wh\) \| Net \(Wh\) \| ± \(Wh\) \|' \
        "$run_dir/report.md"
    expect_grep '^\| \*\*CPU \+ RAM \(primary\)\*\* \|  \| [0-9.e-]+ \| [0-9.e-]+ \|' "$run_dir/report.md"
    expect_grep '^- Sampler: every 20 ms; woke late by' "$run_dir/report.md"
    expect_grep "no GPU" "$run_dir/report.md"
fi

# a model that does not exist: exit 2, the path named
expect_status 2 "$AIEB" run "$T/native.yaml" --set backend.model=/nonexistent/model.gguf &&
    expect_grep "/nonexistent/model.gguf" "$T/err"
# an unknown synthetic preset
expect_status 2 "$AIEB" run "$T/native.yaml" --set backend.model=synthetic:no-such-preset &&
    expect_grep "no-such-preset" "$T/err"
finish
