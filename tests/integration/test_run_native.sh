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
# what the loader found: architecture, tensors per type, tokenizer, chat template
assert bi["arch"] == "llama" and bi["tokenizer"] == "bytes" and bi["tokenizer_pre"] == "", bi
assert bi["chat_template"] == "none" and bi["prompt_format"] == "plain text (no chat template)"
assert bi["tensor_types"]["q8_0"]["tensors"] == 1 + 30 * 7, bi["tensor_types"]
assert bi["tensor_types"]["f32"]["tensors"] == 1 + 30 * 2, bi["tensor_types"]
assert bi["tensors"].startswith("f32 61 tensors"), bi["tensors"]
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
    python3 - "$T/results.csv" <<'PY' || fail "results CSV's added columns"
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
head = rows[0]
# the earlier tool's 24 columns first, in its order; ours after
assert head[:3] == ["timestamp", "name", "backend"] and head[23] == "tokens_per_joule", head
assert head[24:] == ["status", "interrupted", "planned_prompts", "tokens_estimated", "method",
                     "repetitions", "prefill_gpu_wh", "decode_gpu_wh"], head
r = dict(zip(head, rows[-1]))
assert r["status"] == "completed" and r["repetitions"] == "1" and r["planned_prompts"] == "2", r
assert r["method"] == "standard" and r["prefill_gpu_wh"] == "" and r["decode_gpu_wh"] == "", r
PY
    expect_grep "^## Cleanup" "$run_dir/report.md"
    expect_grep '^\| Backend: arch \| llama \|' "$run_dir/report.md"
    expect_grep '^\| Backend: tensors \| f32 61 tensors [0-9.]+ MB, q8_0 211 tensors' \
        "$run_dir/report.md"
    expect_grep '^\| Backend: chat_template \| none \|' "$run_dir/report.md"
    # every output written the same way: whole files, the same permissions
    for f in summary.json requests.jsonl timeseries.csv emissions.csv report.md power.png power.svg; do
        [ -f "$run_dir/$f" ] || { fail "$f missing"; continue; }
        mode=$(stat -c %a "$run_dir/$f")
        [ "$mode" = 644 ] || fail "$f has mode $mode, wanted 644"
    done
    if ls "$run_dir" | grep -q '\.tmp\.'; then fail "temporary files left: $(ls "$run_dir")"; fi
    # emissions.csv rows from run and from measure describe the machine alike
    expect_status 0 "$AIEB" measure --emissions "$T/measure-emissions.csv" -- true
    python3 - "$run_dir/emissions.csv" "$T/measure-emissions.csv" <<'PY' || fail "emissions rows differ"
import csv, sys
a = list(csv.DictReader(open(sys.argv[1])))[-1]
b = list(csv.DictReader(open(sys.argv[2])))[-1]
for k in ("os", "cpu_count", "cpu_model", "gpu_count", "gpu_model", "ram_total_size",
          "tracking_mode", "on_cloud"):
    assert a[k] == b[k], (k, a[k], b[k])
assert a["os"].startswith("Linux-") and float(a["ram_total_size"]) > 0, a
PY
    expect_grep '^\| Component \| Method \| Gross \(Wh\) \| ± \(Wh\) \| Net \(Wh\) \| ± \(Wh\) \|' \
        "$run_dir/report.md"
    expect_grep '^\| \*\*CPU \+ RAM \(primary\)\*\* \|  \| [0-9.e-]+ \| [0-9.e-]+ \|' "$run_dir/report.md"
    expect_grep '^- Sampler: every 20 ms; woke late by' "$run_dir/report.md"
    expect_grep "no GPU" "$run_dir/report.md"
fi

# repetitions: the workload three times after one load, each measured apart;
# mean, sd and a 95% interval per figure; the CSV row carries means and the count
if expect_status 0 "$AIEB" run "$T/native.yaml" --repeat 3 --set reporter.output_file="$T/reps.csv"; then
    run_dir=$(tail -n 1 "$T/out")
    python3 - "$run_dir/summary.json" "$run_dir/requests.jsonl" "$T/reps.csv" <<'PY' || fail "repetitions"
import csv, json, math, statistics, sys
d = json.load(open(sys.argv[1]))
rows = [json.loads(l) for l in open(sys.argv[2])]
rep = d["repetitions"]
assert rep["n"] == 3 and rep["planned"] == 3, rep
assert d["summary"]["total_prompts"] == 6 and d["summary"]["planned_prompts"] == 6
assert sorted(r["repetition"] for r in rows) == [0, 0, 1, 1, 2, 2]
assert "model_load" in d["phases"]  # loaded once
t975 = {2: 4.3027}
for name in ("energy_wh", "cpu_energy_wh", "wh_per_1000_queries", "j_per_output_token",
             "output_tokens_per_s", "ttft_median_ms", "tpot_median_ms"):
    f = rep["figures"][name]
    v = f["values"]
    assert len(v) == 3 and all(x > 0 for x in v), (name, f)
    assert math.isclose(f["mean"], statistics.mean(v), rel_tol=1e-6), (name, f)
    assert math.isclose(f["std"], statistics.stdev(v), rel_tol=1e-6), (name, f)
    half = t975[2] * statistics.stdev(v) / math.sqrt(3)
    assert math.isclose(f["ci95"][0], f["mean"] - half, rel_tol=1e-6, abs_tol=1e-12), (name, f)
    assert math.isclose(f["ci95"][1], f["mean"] + half, rel_tol=1e-6, abs_tol=1e-12), (name, f)
assert rep["figures"]["gpu_energy_wh"]["mean"] is None
# the three repetitions' energy is the workload's, less what fell between them
assert sum(rep["figures"]["energy_wh"]["values"]) <= d["energy"]["energy_wh"] * (1 + 1e-9)
row = list(csv.DictReader(open(sys.argv[3])))[-1]
assert row["repetitions"] == "3" and row["status"] == "completed" and row["method"] == "standard"
assert row["interrupted"] == "False" and row["planned_prompts"] == "6"
assert math.isclose(float(row["energy_wh"]), rep["figures"]["energy_wh"]["mean"], rel_tol=1e-5)
assert math.isclose(float(row["wh_per_1000_queries"]),
                    rep["figures"]["wh_per_1000_queries"]["mean"], rel_tol=1e-5)
PY
    expect_grep '^## Repetitions' "$run_dir/report.md"
fi
expect_status 2 "$AIEB" run "$T/native.yaml" --repeat 0 && expect_grep "repeat" "$T/err"
expect_status 2 "$AIEB" run "$T/native.yaml" --set scenario.repetitions=1001 &&
    expect_grep "scenario.repetitions" "$T/err"

# a model that does not exist: exit 2, the path named, no empty directory left
expect_status 2 "$AIEB" run "$T/native.yaml" --set backend.model=/nonexistent/model.gguf \
    --set output_dir="$T/failed" &&
    expect_grep "/nonexistent/model.gguf" "$T/err"
left=$(find "$T/failed" -mindepth 1 2>/dev/null)
[ -z "$left" ] || fail "a run that failed before starting left: $left"
# an unknown synthetic preset
expect_status 2 "$AIEB" run "$T/native.yaml" --set backend.model=synthetic:no-such-preset &&
    expect_grep "no-such-preset" "$T/err"
finish
