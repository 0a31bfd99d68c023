#!/usr/bin/env bash
# scenario.method energy_star (docs/ratings.md) through every backend: the
# passes' requests (warmup 2 tokens, prefill 1, generate N, one at a time), the
# energy_star figures against the stand-in GPU's constant power (where energy =
# power x duration exactly), the CSV columns, report.md's section, the config
# errors, and `aieb rate` against a reference table.
. "$(dirname "$0")/lib.sh"

FAKE_NVML="$AIEB_BUILD_DIR/tests/fakes/libfake_nvml.so"
[ -f "$FAKE_NVML" ] || { echo "skip: fake NVML not built"; exit 77; }
export AIEB_POWERCAP_ROOT="$T/no-powercap"

# ---- OpenAI-compatible server, stand-in GPU at a constant 200 W -------------
# No --tokens: the server sends each request's max_tokens.
start_openai_server srv --first-token-ms 20 --token-ms 10 --log "$T/server.log"
cat >"$T/es.yaml" <<YAML
name: es-openai
backend:
  type: openai
  model: test-model
  endpoint: http://127.0.0.1:$srv_PORT/v1
scenario:
  method: energy_star
  dataset_name: builtin
  num_samples: 4
  warmup_requests: 2
  repetitions: 3
  generate_kwargs:
    max_new_tokens: 5
metrics:
  sample_interval_ms: 20
reporter:
  output_file: $T/results.csv
output_dir: $T/runs
YAML
if AIEB_NVML_LIBRARY="$FAKE_NVML" FAKE_NVML_POWER="const:200" FAKE_NVML_DEVICES=1 \
    expect_status 0 "$AIEB" run "$T/es.yaml"; then
    run_dir=$(tail -n 1 "$T/out")
    echo "$run_dir" >"$T/openai_run"
    python3 - "$run_dir/summary.json" "$run_dir/requests.jsonl" "$T/server.log" \
        "$T/results.csv" <<'PY' || fail "energy_star through the OpenAI backend"
import csv, json, sys
d = json.load(open(sys.argv[1]))
rows = [json.loads(l) for l in open(sys.argv[2])]
log = [json.loads(l) for l in open(sys.argv[3])]
# what the server was asked: 2 warmup requests of 2 tokens, then per repetition
# 4 of exactly 1 and 4 of exactly 5, EOS ignored, greedy
bodies = [l["body"] for l in log if l["path"].endswith("/chat/completions")]
asked = [b["max_tokens"] for b in bodies]
assert asked == [2, 2] + ([1] * 4 + [5] * 4) * 3, asked
assert all(b.get("min_tokens") == b["max_tokens"] and b.get("ignore_eos") is True
           and b.get("temperature") == 0.0 for b in bodies), bodies[0]
# requests.jsonl: every request of both passes, tagged
assert len(rows) == 24, len(rows)
pre = [r for r in rows if r.get("pass") == "prefill"]
gen = [r for r in rows if r.get("pass") == "generate"]
assert len(pre) == 12 and len(gen) == 12
assert all(r["completion_tokens"] == 1 for r in pre)
assert all(r["completion_tokens"] == 5 for r in gen)
assert sorted({r["repetition"] for r in rows}) == [0, 1, 2]
es = d["energy_star"]
assert d["config"]["method"] == "energy_star"
assert es["primary"] == "gpu" and es["repetitions"] == 3 and es["cut_short"] == 0
assert es["samples"] == 4 and es["new_tokens"] == 5
for name in ("prefill", "generate"):
    p = es[name]
    # 200 W constant: energy = 200 W x the pass's duration (means over repetitions)
    want = 200 * p["duration_s"] / 3600
    tol = p["energy_uncertainty_wh"] + 0.005 * want + 1e-9
    assert abs(p["gpu_wh"] - want) <= tol, (name, p["gpu_wh"], want, tol)
    assert p["energy_wh"] == p["gpu_wh"]
    lo, hi = p["gpu_wh_ci95"]
    assert lo <= p["gpu_wh"] <= hi, p
    assert p["cpu_wh"] >= 0 and p["ram_wh"] >= 0
pre_s, gen_s, dec_s = es["prefill"], es["generate"], es["decode"]
assert abs(dec_s["gpu_wh"] - (gen_s["gpu_wh"] - pre_s["gpu_wh"])) <= 1e-9 * gen_s["gpu_wh"]
assert abs(dec_s["duration_s"] - (gen_s["duration_s"] - pre_s["duration_s"])) <= 1e-9
assert pre_s["tokens"] == sum(r["prompt_tokens"] for r in pre) / 3
assert gen_s["tokens"] == 20 and dec_s["tokens"] == 16  # 4 x 5; 4 x (5 - 1)
# the leaderboard's figure: generate-pass GPU energy per 1000 queries
want = gen_s["gpu_wh"] / 4 * 1000
assert abs(es["gpu_wh_per_1000_queries"] - want) <= 1e-9 * want, (es, want)
lo, hi = es["gpu_wh_per_1000_queries_ci95"]
assert lo <= es["gpu_wh_per_1000_queries"] <= hi
assert es["wh_per_1000_queries"] == es["gpu_wh_per_1000_queries"]
# the standard sections count every request that ran
assert d["summary"]["total_prompts"] == 24 and d["summary"]["planned_prompts"] == 24
assert d["repetitions"]["n"] == 3 and d["repetitions"]["cut_short"] == 0
# the CSV row
row = list(csv.DictReader(open(sys.argv[4])))[-1]
assert row["method"] == "energy_star"
assert abs(float(row["prefill_gpu_wh"]) - pre_s["gpu_wh"]) <= 1e-5 * pre_s["gpu_wh"]
assert abs(float(row["decode_gpu_wh"]) - dec_s["gpu_wh"]) <= 1e-5 * abs(dec_s["gpu_wh"])
assert abs(float(row["wh_per_1000_queries"]) - es["wh_per_1000_queries"]) <= \
    1e-5 * es["wh_per_1000_queries"]
PY
    expect_grep "^## AI Energy Score" "$run_dir/report.md"
    expect_grep "the leaderboard's figure" "$run_dir/report.md"
fi

# ---- interrupted: the repetition cut short is left out, every file written -----
# The signal goes once a request has finished (waited for); the passes left then
# take 20 requests x 0.3 s or more, far beyond the signal's way.
start_openai_server slow --first-token-ms 300 --token-ms 50
sed -e "s/127.0.0.1:$srv_PORT/127.0.0.1:$slow_PORT/" -e "s/num_samples: 4/num_samples: 20/" \
    -e "s/warmup_requests: 2/warmup_requests: 0/" -e "s|$T/runs|$T/int-runs|" \
    "$T/es.yaml" >"$T/int.yaml"
AIEB_NVML_LIBRARY="$FAKE_NVML" FAKE_NVML_POWER="const:200" "$AIEB" run "$T/int.yaml" \
    >"$T/int.out" 2>"$T/int.err" &
pid=$!
wait_for "a finished request in the interrupted run" 60 \
    has_lines 1 "$T/int-runs/es-openai/*/requests.jsonl"
kill -INT "$pid"
status=0
wait "$pid" || status=$?
[ "$status" = 130 ] || fail "interrupted energy_star run exited $status, wanted 130"
int_dir=$(tail -n 1 "$T/int.out")
if [ -f "$int_dir/summary.json" ]; then
    python3 - "$int_dir/summary.json" <<'PY' || fail "interrupted energy_star summary"
import json, sys
d = json.load(open(sys.argv[1]))
es = d["energy_star"]
assert d["interrupted"] is True
assert es["repetitions"] == 0 and es["cut_short"] == 1 and es["planned_repetitions"] == 3, es
assert es["gpu_wh_per_1000_queries"] is None and es["prefill"]["gpu_wh"] is None
PY
    expect_grep "1 cut short and left out" "$int_dir/report.md"
else
    fail "the interrupted energy_star run wrote no summary.json"
fi

# ---- the method's limits are config errors -----------------------------------
sed 's/^  repetitions: 3/  max_concurrency: 2/' "$T/es.yaml" >"$T/conc.yaml"
if expect_status 2 "$AIEB" run "$T/conc.yaml"; then
    expect_grep "max_concurrency.*one request at a time" "$T/err"
fi
sed 's/max_new_tokens: 5/max_new_tokens: 1/' "$T/es.yaml" >"$T/one.yaml"
if expect_status 2 "$AIEB" config check "$T/one.yaml"; then
    expect_grep "at least 2 new tokens" "$T/err"
fi
sed 's/method: energy_star/method: energy-star/' "$T/es.yaml" >"$T/typo.yaml"
if expect_status 2 "$AIEB" config check "$T/typo.yaml"; then
    expect_grep "energy_star" "$T/err"
fi

# ---- the embedded engine: no GPU measured, the primary metric stands in -------
cat >"$T/native.yaml" <<YAML
name: es-native
backend:
  type: native
  model: "synthetic:smollm-135m?type=q8_0"
  threads: 1
  context_length: 256
scenario:
  method: energy_star
  dataset_name: builtin
  num_samples: 2
  warmup_requests: 1
  generate_kwargs:
    max_new_tokens: 3
metrics:
  sample_interval_ms: 20
output_dir: $T/runs
YAML
if AIEB_NVML_LIBRARY="$T/no-nvml.so" expect_status 0 "$AIEB" run "$T/native.yaml"; then
    native_dir=$(tail -n 1 "$T/out")
    python3 - "$native_dir/summary.json" "$native_dir/requests.jsonl" <<'PY' ||
import json, sys
d = json.load(open(sys.argv[1]))
rows = [json.loads(l) for l in open(sys.argv[2])]
es = d["energy_star"]
assert es["primary"] == "cpu+ram" and es["repetitions"] == 1
assert es["gpu_wh_per_1000_queries"] is None and es["prefill"]["gpu_wh"] is None
assert es["prefill"]["energy_wh"] > 0 and es["generate"]["energy_wh"] > 0
assert es["prefill"]["gpu_wh_ci95"] is None and es["prefill"]["energy_wh_ci95"] is None
want = es["generate"]["energy_wh"] / 2 * 1000
assert abs(es["wh_per_1000_queries"] - want) <= 1e-9 * want
assert [r["completion_tokens"] for r in rows if r["pass"] == "prefill"] == [1, 1]
assert [r["completion_tokens"] for r in rows if r["pass"] == "generate"] == [3, 3]
PY
        fail "energy_star on the embedded engine"
    expect_grep "not the leaderboard's GPU energy" "$native_dir/report.md"
    # no GPU energy: nothing to rate
    printf 'model,task,class,gpu_wh_per_1000_queries\na,text_generation,A,1\nb,text_generation,A,2\n' \
        >"$T/small.csv"
    if expect_status 1 "$AIEB" rate --reference "$T/small.csv" "$native_dir"; then
        expect_grep "no GPU energy per 1000 queries" "$T/err"
    fi
fi

# ---- the PyTorch backend (stand-in worker) -----------------------------------
if command -v python3 >/dev/null; then
    cat >"$T/pt.yaml" <<YAML
name: es-pytorch
backend:
  type: pytorch
  model: synthetic:llama-3.2-1b
  device_ids: [0]
  startup_timeout_s: 20
scenario:
  method: energy_star
  dataset_name: builtin
  num_samples: 3
  warmup_requests: 1
  generate_kwargs:
    max_new_tokens: 4
metrics:
  sample_interval_ms: 20
output_dir: $T/runs
YAML
    if AIEB_TORCH_WORKER="$AIEB_SOURCE_DIR/tests/fakes/fake_torch_worker.py" \
        FAKE_TORCH_LOG="$T/worker.log" AIEB_NVML_LIBRARY="$FAKE_NVML" FAKE_NVML_POWER="const:150" \
        expect_status 0 "$AIEB" run "$T/pt.yaml"; then
        pt_dir=$(tail -n 1 "$T/out")
        python3 - "$pt_dir/summary.json" "$T/worker.log" <<'PY' || fail "energy_star through pytorch"
import json, sys
d = json.load(open(sys.argv[1]))
msgs = [json.loads(l) for l in open(sys.argv[2])]
gens = [m for m in msgs if m.get("op") == "generate"]
asked = [(m["max_new_tokens"], m.get("min_new_tokens"), m["ignore_eos"], len(m["requests"]))
         for m in gens]
assert asked == [(2, 2, True, 1)] + [(1, 1, True, 1)] * 3 + [(4, 4, True, 1)] * 3, asked
es = d["energy_star"]
assert es["primary"] == "gpu" and es["repetitions"] == 1
for name in ("prefill", "generate"):
    p = es[name]
    want = 150 * p["duration_s"] / 3600
    assert abs(p["gpu_wh"] - want) <= p["energy_uncertainty_wh"] + 0.005 * want + 1e-9, (name, p)
assert es["generate"]["tokens"] == 12 and es["decode"]["tokens"] == 9
PY
    fi
fi

# ---- aieb rate -----------------------------------------------------------------
if [ -s "$T/openai_run" ]; then
    run=$(cat "$T/openai_run")
    cat >"$T/ref.csv" <<'CSV'
model,task,class,gpu_wh_per_1000_queries,note
"org/small, v1",text_generation,A,10,
org/m2,text_generation,A,60,
org/m3,text_generation,A,35,
org/big,text_generation,C,500,
org/cls,image_classification,,3,
org/cls2,image_classification,,9,
CSV
    # rated runs: copies of the run with known figures (edges 10/20/30/40/50/60)
    for v in 5 15 20 25 45 59 100; do
        mkdir -p "$T/rate/$v"
        python3 - "$run/summary.json" "$T/rate/$v/summary.json" "$v" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["energy_star"]["gpu_wh_per_1000_queries"] = float(sys.argv[3])
d["run_id"] = "run-" + sys.argv[3]
json.dump(d, open(sys.argv[2], "w"))
PY
    done
    # the server's model has no known size: the class must be given
    if expect_status 1 "$AIEB" rate --reference "$T/ref.csv" "$T/rate/5"; then
        expect_grep "give its class with --class" "$T/err"
    fi
    if expect_status 0 "$AIEB" rate --reference "$T/ref.csv" --class A --json \
        "$T/rate/5" "$T/rate/15" "$T/rate/20" "$T/rate/25" "$T/rate/45" "$T/rate/59" \
        "$T/rate/100"; then
        python3 - "$T/out" <<'PY' || fail "aieb rate --json"
import json, sys
out = json.load(open(sys.argv[1]))
got = {o["run_id"]: o["stars"] for o in out}
assert got == {"run-5": 5, "run-15": 5, "run-20": 5, "run-25": 4, "run-45": 2, "run-59": 1,
               "run-100": 1}, got
o = out[0]
assert o["bin_edges"] == [10, 20, 30, 40, 50, 60], o["bin_edges"]
assert o["task"] == "text_generation" and o["class"] == "A" and o["model"] == "test-model"
assert set(o) >= {"run_id", "model", "task", "class", "gpu_wh_per_1000_queries", "stars",
                  "bin_edges"}
PY
    fi
    if expect_status 0 "$AIEB" rate --reference "$T/ref.csv" --class A "$T/rate/25"; then
        expect_grep "^\| run-25 \| test-model \| text_generation \| A \| 25 \| ★★★★☆ 4 \|" "$T/out"
    fi
    # the run by its id in the results store rates as its directory does
    rid=$(json_get "$run/summary.json" "d['run_id']")
    if expect_status 0 "$AIEB" rate --reference "$T/ref.csv" --class A --json "$run"; then
        cp "$T/out" "$T/rate-dir.json"
        if expect_status 0 "$AIEB" rate --reference "$T/ref.csv" --class A --json \
            --db "$T/runs/aieb.db" "$rid"; then
            python3 - "$T/rate-dir.json" "$T/out" <<'PY' || fail "aieb rate by run id"
import json, sys
a, b = (json.load(open(f))[0] for f in sys.argv[1:])
for k in ("run_id", "model", "gpu_wh_per_1000_queries", "stars", "bin_edges"):
    assert a[k] == b[k], (k, a[k], b[k])
PY
        fi
    fi
    if expect_status 0 "$AIEB" report --format json --db "$T/runs/aieb.db" "$rid"; then
        [ "$(json_get "$T/out" "d['run_id']")" = "$rid" ] || fail "aieb report --format json RUN_ID"
    fi
    if expect_status 0 "$AIEB" report --db "$T/runs/aieb.db" "$rid"; then
        expect_grep "^$run/report.md\$" "$T/out"
    fi
    expect_status 2 "$AIEB" rate --reference "$T/ref.csv" --db "$T/runs/aieb.db" no-such-run &&
        expect_grep "no-such-run" "$T/err"
    # a task without classes ignores --class (edges 3, 4.2, 5.4, ...: 5 is in the
    # second bin); a class with one value has no range
    if expect_status 0 "$AIEB" rate --reference "$T/ref.csv" --task image_classification \
        --json "$T/rate/5"; then
        [ "$(json_get "$T/out" "d[0]['stars']")" = 4 ] || fail "image_classification stars"
    fi
    if expect_status 1 "$AIEB" rate --reference "$T/ref.csv" --class C "$T/rate/5"; then
        expect_grep "single value for task text_generation and class C" "$T/err"
    fi
    # a standard run is not rated
    mkdir -p "$T/rate/std"
    python3 -c "
import json,sys; d=json.load(open('$run/summary.json')); del d['energy_star']
d['config']['method']='standard'; json.dump(d, open('$T/rate/std/summary.json','w'))"
    if expect_status 1 "$AIEB" rate --reference "$T/ref.csv" --class A "$T/rate/std"; then
        expect_grep "method standard; ratings compare the energy_star" "$T/err"
    fi
fi
# usage errors and unreadable tables
expect_status 2 "$AIEB" rate "$T/runs" && expect_grep "reference" "$T/err"
expect_status 2 "$AIEB" rate --reference "$T/missing.csv" "$T/runs" && expect_grep "missing.csv" "$T/err"
printf 'model,task,gpu_wh_per_1000_queries\nx,text_generation,3\n' >"$T/nocls.csv"
expect_status 2 "$AIEB" rate --reference "$T/nocls.csv" "$T/runs" &&
    expect_grep 'no column "class"' "$T/err"
expect_status 2 "$AIEB" rate --reference "$T/ref.csv" --class D "$T/runs" &&
    expect_grep "must be A, B or C" "$T/err"
expect_status 0 "$AIEB" rate --help && expect_grep "energy_star" "$T/out"
finish
