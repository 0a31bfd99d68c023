#!/usr/bin/env bash
# End-to-end `aieb run` against the OpenAI-compatible test server on loopback,
# with the fake NVML library as the GPU meter.
. "$(dirname "$0")/lib.sh"

FAKE_NVML="$AIEB_BUILD_DIR/tests/fakes/libfake_nvml.so"
[ -f "$FAKE_NVML" ] || { echo "skip: fake NVML not built"; exit 77; }
export AIEB_NVML_LIBRARY="$FAKE_NVML" FAKE_NVML_POWER="const:200" FAKE_NVML_DEVICES=1
export AIEB_POWERCAP_ROOT="$T/no-powercap"
export SECRET_KEY_VAR="sk-test-do-not-leak-4242"

start_openai_server srv --api-key "$SECRET_KEY_VAR" --first-token-ms 60 --token-ms 15 --tokens 6
# The latency checks' own server: delays long beside a busy machine's scheduling
# delays (tens of ms), so that the measured TTFT and TPOT follow the script.
start_openai_server lat --api-key "$SECRET_KEY_VAR" --first-token-ms 200 --token-ms 50 \
    --tokens 6 --log "$T/server.log"

write_config() { # FILE PORT EXTRA_SCENARIO_LINES
    cat >"$1" <<YAML
name: e2e
backend:
  type: openai
  model: test-model
  endpoint: http://127.0.0.1:$2/v1
  api_key_env: SECRET_KEY_VAR
scenario:
  dataset_name: builtin
  num_samples: 8
  warmup_requests: 1
  seed: 7
  generate_kwargs:
    max_new_tokens: 6
    temperature: 0.0
$3
metrics:
  sample_interval_ms: 20
  idle_baseline_s: 0.3
  country_iso_code: FRA
  output_dir: $T/emissions
reporter:
  output_file: $T/results/benchmark_results.csv
output_dir: $T/runs
YAML
}

# ---- a sequential run: every file, counts, latencies -------------------------
write_config "$T/seq.yaml" "$lat_PORT" ""
if expect_status 0 "$AIEB" run "$T/seq.yaml"; then
    run_dir=$(tail -n 1 "$T/out")
    [ -d "$run_dir" ] || fail "last stdout line is not the run directory: $run_dir"
    for f in summary.json requests.jsonl timeseries.csv; do
        [ -s "$run_dir/$f" ] || fail "$f missing"
    done
    [ -s "$T/emissions/emissions.csv" ] || fail "emissions.csv missing"
    [ -s "$T/results/benchmark_results.csv" ] || fail "results CSV missing"
    s="$run_dir/summary.json"
    [ "$(json_get "$s" "d['summary']['successful_prompts']")" = 8 ] || fail "successful_prompts"
    [ "$(json_get "$s" "d['summary']['total_completion_tokens']")" = 48 ] || fail "completion tokens"
    [ "$(json_get "$s" "d['interrupted']")" = False ] || fail "interrupted should be false"
    # a server on this machine: no "energy is the client's" warning
    if grep -q "is another machine" "$s" "$run_dir/report.md"; then
        fail "a loopback server was taken for another machine"
    fi
    python3 - "$s" <<'PY' || fail "latency or energy figures out of range"
import json, sys
d = json.load(open(sys.argv[1]))
lat, en = d["latency"], d["energy"]
ttft, tpot = lat["ttft_ms"]["mean"], lat["tpot_ms"]["mean"]
# scripted 200 ms, which the server always waits (a lower bound), + delivery delays
assert 200 - 0.5 <= ttft <= 200 * 1.5, ttft
assert 50 * 0.8 <= tpot <= 50 * 1.2, tpot          # scripted 50 ms between tokens
assert en["primary"] == "gpu" and en["methods"]["gpu"] in ("nvml_counter", "nvml_power")
# 200 W constant over the workload window
wh = en["gpu_energy_wh"]; dur = en["duration_s"]
assert abs(wh * 3600 - 200 * dur) <= 0.05 * 200 * dur + 2, (wh, dur)
assert en["emissions_g_co2eq"] > 0 and en["carbon_intensity_g_per_kwh"] > 0
assert d["evidence"]["gpu_present"] is True
PY
    lines=$(wc -l <"$run_dir/requests.jsonl")
    [ "$lines" = 8 ] || fail "requests.jsonl has $lines lines, wanted 8"
    python3 - "$run_dir/requests.jsonl" <<'PY' || fail "requests.jsonl content"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert sorted(r["index"] for r in rows) == list(range(8))
assert all(r["success"] and r["completion_tokens"] == 6 for r in rows)
assert all(r["energy_j"]["gpu"] > 0 for r in rows)
assert all(len(r["itl_ms"]) == 5 for r in rows)
PY
    head -1 "$T/results/benchmark_results.csv" | grep -q '^timestamp,name,backend,model,total_prompts' ||
        fail "results CSV header"
    # fields sent: temperature, max_tokens, seed, stream_options, the key as a bearer token
    python3 - "$T/server.log" <<'PY' || fail "request fields sent"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
comp = [r for r in reqs if r["path"].endswith("/chat/completions")]
assert len(comp) == 9, len(comp)    # 1 warmup + 8
b = comp[-1]["body"]
assert b["max_tokens"] == 6 and b["temperature"] == 0.0 and b["seed"] == 7, b
assert b["stream"] is True and b["stream_options"]["include_usage"] is True, b
assert comp[-1]["authorization"] == "Bearer sk-test-do-not-leak-4242"
PY
    # the key never reaches an output
    if grep -rq "do-not-leak" "$run_dir" "$T/results" "$T/emissions" "$T/out" "$T/err" "$T/runs"; then
        fail "the API key leaked into an output"
    fi
fi

# ---- concurrency: 64 requests at 8 in flight take about an eighth ----------------
# Judged from each run's own request times (requests.jsonl), not by comparing the
# wall-clock times of two runs, which a busy machine skews one against the other:
# the time all requests spent in flight over the workload's span is the average
# concurrency, about 8 (the old wall-clock check wanted over 1 / 0.35).
write_config "$T/c1.yaml" "$srv_PORT" "  max_concurrency: 1"
write_config "$T/c8.yaml" "$srv_PORT" "  max_concurrency: 8"
c1_dir=none c8_dir=none
expect_status 0 "$AIEB" -q run "$T/c1.yaml" --set scenario.num_samples=64 &&
    c1_dir=$(tail -n 1 "$T/out")
expect_status 0 "$AIEB" -q run "$T/c8.yaml" --set scenario.num_samples=64 &&
    c8_dir=$(tail -n 1 "$T/out")
python3 - "$c1_dir/requests.jsonl" "$c8_dir/requests.jsonl" <<'PY' || fail "concurrency 8 in flight"
import json, sys
def load(path):
    rows = [json.loads(l) for l in open(path)]
    assert len(rows) == 64 and all(r["success"] for r in rows), path
    return [(r["sent_s"], r["done_s"]) for r in rows]
def in_flight(iv):  # the most requests in flight at once, and the average
    most = max(sum(s <= t < d for s, d in iv) for t, _ in iv)
    span = max(d for _, d in iv) - min(s for s, _ in iv)
    return most, sum(d - s for s, d in iv) / span
m1, a1 = in_flight(load(sys.argv[1]))
m8, a8 = in_flight(load(sys.argv[2]))
print(f"in flight: sequential {m1} (average {a1:.2f}), concurrency 8 {m8} (average {a8:.2f})")
assert m1 == 1 and a1 <= 1.001, (m1, a1)
assert 6 <= m8 <= 8 and a8 > 1 / 0.35, (m8, a8)
PY

# ---- fail-fast: a server answering 500 stops after 3 failures, files written --------
start_openai_server bad --status 500
write_config "$T/bad.yaml" "$bad_PORT" "  max_consecutive_failures: 3"
if expect_status 1 "$AIEB" run "$T/bad.yaml" --set scenario.num_samples=20 --set scenario.warmup_requests=0; then
    expect_grep "consecutive failures" "$T/err"
    run_dir=$(tail -n 1 "$T/out")
    [ "$(wc -l <"$run_dir/requests.jsonl")" = 3 ] || fail "fail-fast should stop after 3 requests"
    [ "$(json_get "$run_dir/summary.json" "d['failed_fast']")" = True ] || fail "failed_fast flag"
    [ "$(json_get "$run_dir/summary.json" "d['summary']['planned_prompts']")" = 20 ] ||
        fail "planned_prompts should be 20"
fi

# repetitions cut short by fail-fast: the cut one is not counted as a repetition
if expect_status 1 "$AIEB" run "$T/bad.yaml" --repeat 3 --set scenario.num_samples=5 \
    --set scenario.warmup_requests=0 --set reporter.output_file="$T/reps-bad.csv"; then
    run_dir=$(tail -n 1 "$T/out")
    python3 - "$run_dir/summary.json" "$T/reps-bad.csv" <<'PY' || fail "repetitions cut short"
import csv, json, sys
d = json.load(open(sys.argv[1]))
rep = d["repetitions"]
assert rep["planned"] == 3 and rep["n"] == 0 and rep["cut_short"] == 1, rep
assert rep["figures"]["energy_wh"]["values"] == [] and rep["figures"]["energy_wh"]["mean"] is None
assert d["summary"]["planned_prompts"] == 15
row = list(csv.DictReader(open(sys.argv[2])))[-1]
assert row["status"] == "failed_fast" and row["planned_prompts"] == "15", row
PY
fi

# ---- server down: exit 3 with a clear message -----------------------------------
write_config "$T/down.yaml" 1 ""
expect_status 3 "$AIEB" run "$T/down.yaml" && expect_grep "127.0.0.1:1" "$T/err"

# ---- a password in the endpoint URL: used, never shown --------------------------
PW=pw-do-not-leak-77
write_config "$T/down-pw.yaml" 1 ""
sed -i "s|http://127.0.0.1|http://bench:$PW@127.0.0.1|" "$T/down-pw.yaml"
if expect_status 3 "$AIEB" run "$T/down-pw.yaml"; then
    expect_grep "bench:\*\*\*@127.0.0.1:1" "$T/err"
    grep -q "$PW" "$T/err" && fail "the endpoint's password is in the error: $(cat "$T/err")"
fi
write_config "$T/pw.yaml" "$srv_PORT" ""
sed -i "s|http://127.0.0.1|http://bench:$PW@127.0.0.1|; s|^name: e2e|name: e2e-pw|" "$T/pw.yaml"
if expect_status 0 "$AIEB" -v run "$T/pw.yaml" --set scenario.num_samples=2; then
    pw_dir=$(tail -n 1 "$T/out")
    [ "$(json_get "$pw_dir/summary.json" "d['summary']['successful_prompts']")" = 2 ] ||
        fail "a run with credentials in its endpoint should succeed"
    json_get "$pw_dir/summary.json" "d['config']['endpoint']" | grep -q "bench:\*\*\*@" ||
        fail "summary.json's endpoint should show the password as ***"
    leaks=$(grep -rl "$PW" "$pw_dir" "$T/err" "$T/out" "$T/results" "$T/emissions" "$T/runs" 2>/dev/null)
    [ -z "$leaks" ] || fail "the endpoint's password was written to: $leaks"
fi

# ---- reasoning: the formatter's parameters reach the server; reasoning deltas count ----
start_openai_server rsn --models Qwen/Qwen3-0.6B --reasoning 3 --tokens 4 --token-ms 5 --log "$T/rsn.log"
write_config "$T/rsn.yaml" "$rsn_PORT" "  reasoning: true"
if expect_status 0 "$AIEB" run "$T/rsn.yaml" --set backend.model=Qwen/Qwen3-0.6B \
    --set scenario.num_samples=2 --set scenario.warmup_requests=0; then
    python3 - "$T/rsn.log" "$(tail -n 1 "$T/out")/requests.jsonl" <<'PY' || fail "reasoning run"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if '"/v1/chat/completions"' in l]
assert reqs and all(r["body"]["chat_template_kwargs"]["enable_thinking"] is True for r in reqs), reqs[0]
rows = [json.loads(l) for l in open(sys.argv[2])]
# first token = first reasoning delta; content comes 3 deltas later. Deltas read
# together share a time, so the check is on which delta it is (the gaps between
# the first 4 add up to the content's delay), not on the times being different.
for r in rows:
    assert r["reasoning_tokens"] == 3 and len(r["itl_ms"]) == 6, r
    assert r["first_content_s"] >= r["first_token_s"], r
    assert abs((r["first_content_s"] - r["first_token_s"]) * 1e3 - sum(r["itl_ms"][:3])) < 1e-3, r
PY
fi

# ---- the earlier tool's default dataset through the hub client (HF_ENDPOINT) -------
for i in $(seq 1 150); do printf '{"text": "hub prompt number %d"}\n' "$i"; done >"$T/rows.jsonl"
start_openai_server hub --rows-file "$T/rows.jsonl" --rows-dataset AIEnergyScore/text_generation \
    --rows-split train --hf-token hf-secret-123 --log "$T/hub.log"
write_config "$T/hub.yaml" "$hub_PORT" ""
if expect_status 0 env HF_ENDPOINT="http://127.0.0.1:$hub_PORT" HF_TOKEN=hf-secret-123 \
    XDG_CACHE_HOME="$T/cache" "$AIEB" run "$T/hub.yaml" \
    --set scenario.dataset_name=AIEnergyScore/text_generation --set scenario.num_samples=120; then
    [ "$(json_get "$(tail -n 1 "$T/out")/summary.json" "d['summary']['successful_prompts']")" = 120 ] ||
        fail "hub dataset run should have 120 prompts"
    grep -q '"/rows"' "$T/hub.log" || fail "no /rows request reached the server"
    ls "$T/cache/aieb/datasets" >/dev/null 2>&1 || fail "hub rows were not cached"
    # offline now: the cache serves the same prompts, the server is not asked
    kill "$hub_PID"
    expect_status 0 env HF_ENDPOINT="http://127.0.0.1:1" XDG_CACHE_HOME="$T/cache" \
        "$AIEB" run "$T/hub.yaml" --set backend.endpoint=http://127.0.0.1:$srv_PORT/v1 \
        --set scenario.dataset_name=AIEnergyScore/text_generation --set scenario.num_samples=5
    if grep -rq "hf-secret-123" "$T/runs"; then fail "the HF token leaked into an output"; fi
fi

# ---- SIGINT: finished requests kept, files marked interrupted, exit 130 -----------
# Each interrupted run writes under its own output_dir, so that its requests.jsonl
# is found while it runs: the signal goes once a request has finished (waited
# for, not a fixed sleep that a busy machine may not have made progress in).
start_openai_server slow --token-ms 200 --tokens 5
write_config "$T/slow.yaml" "$slow_PORT" ""
"$AIEB" run "$T/slow.yaml" --set scenario.num_samples=50 --set scenario.warmup_requests=0 \
    --set output_dir="$T/int-runs" >"$T/int.out" 2>"$T/int.err" &
pid=$!
wait_for "a finished request in the interrupted run's requests.jsonl" 60 \
    has_lines 1 "$T/int-runs/e2e/*/requests.jsonl"
kill -INT "$pid"
status=0
wait "$pid" || status=$?
[ "$status" = 130 ] || fail "interrupted run exited $status, wanted 130"
run_dir=$(tail -n 1 "$T/int.out")
if [ -d "$run_dir" ]; then
    n=$(wc -l <"$run_dir/requests.jsonl")
    [ "$n" -ge 1 ] && [ "$n" -lt 50 ] || fail "interrupted run kept $n requests"
    [ "$(json_get "$run_dir/summary.json" "d['interrupted']")" = True ] || fail "interrupted flag"
else
    fail "interrupted run printed no run directory"
fi
# ---- a second SIGINT exits at once; requests.jsonl keeps whole lines ---------------
# Requests of 5 s (5 tokens 1 s apart), 4 in flight: after the first SIGINT the run
# waits seconds for them, and the second comes once the first has been taken
# (two pending SIGINTs would merge into one).
start_openai_server slower --token-ms 1000 --tokens 5
"$AIEB" run "$T/slow.yaml" --set scenario.num_samples=50 --set scenario.warmup_requests=0 \
    --set scenario.max_concurrency=4 --set backend.endpoint="http://127.0.0.1:$slower_PORT/v1" \
    --set output_dir="$T/int2-runs" >"$T/int2.out" 2>"$T/int2.err" &
pid=$!
wait_for "a finished request in the twice-interrupted run's requests.jsonl" 60 \
    has_lines 1 "$T/int2-runs/e2e/*/requests.jsonl"
kill -INT "$pid"
wait_for "the first SIGINT to be taken" 60 signal_taken "$pid" INT
kill -INT "$pid" 2>/dev/null
status=0
wait "$pid" || status=$?
[ "$status" = 130 ] || fail "twice-interrupted run exited $status, wanted 130"
expect_grep "interrupted again; exiting now" "$T/int2.err"
[ -s "$T/int2.out" ] && fail "a second SIGINT should exit before the run directory is printed"
log=$(ls -d "$T"/int2-runs/e2e/*/requests.jsonl | head -1)
python3 -c "import json,sys; assert [json.loads(l) for l in open(sys.argv[1])]" "$log" ||
    fail "requests.jsonl has a broken line after a second SIGINT"
finish
