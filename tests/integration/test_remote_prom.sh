#!/usr/bin/env bash
# metrics.remote against a real Prometheus (Debian's prometheus package) on
# loopback, scraping stand-in dcgm-exporters (tests/fakes/dcgm_server.c: 2 hosts
# x 2 GPUs at known constant power, so the exact energy of any window is power x
# its length), while `aieb run` drives the loopback OpenAI server with no local
# GPU. Checks the energy per series, per host and in total against the exact
# figure within the stated bound; the power-gauge fallback; a counter reset and
# a series vanishing mid-run; Prometheus unreachable; a selector with no series;
# `aieb probe --remote`; config errors. Every wait polls for its event with a
# generous bound; no check depends on how long anything took.
. "$(dirname "$0")/lib.sh"

PROM=${AIEB_PROMETHEUS:-/usr/bin/prometheus}
[ -x "$PROM" ] || skip_rest "prometheus not installed (scripts/deps.sh installs the Debian package)"
DCGM="$AIEB_BUILD_DIR/tests/fakes/dcgm_server"
[ -x "$DCGM" ] || { echo "FAIL: $DCGM not built" >&2; exit 1; }

export AIEB_NVML_LIBRARY="$T/no-nvml.so" AIEB_POWERCAP_ROOT="$T/no-powercap"

# start_fake NAME ARGS...: a dcgm_server on a free port; sets ${NAME}_PORT.
start_fake() {
    local name=$1
    shift
    : >"$T/$name.stdout"
    "$DCGM" --port 0 "$@" >"$T/$name.stdout" 2>"$T/$name.stderr" &
    server_pids="$server_pids $!"
    wait_for "$name to listen" 60 grep -q '^PORT ' "$T/$name.stdout" || finish
    printf -v "${name}_PORT" '%s' "$(sed -n 's/^PORT //p' "$T/$name.stdout")"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

mkdir -p "$T/ctl"
start_fake dcgm
start_fake power --no-counter --name-prefix pw-node-
start_fake faulty --control-dir "$T/ctl" --name-prefix bad-node-
start_openai_server oai --first-token-ms 100 --token-ms 50 --tokens 6

# ---- Prometheus: its own config and storage, 1 s scrapes ---------------------
cat >"$T/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: dcgm
    static_configs: [{targets: ['127.0.0.1:$dcgm_PORT']}]
  - job_name: power
    static_configs: [{targets: ['127.0.0.1:$power_PORT']}]
  - job_name: faulty
    static_configs: [{targets: ['127.0.0.1:$faulty_PORT']}]
YAML
prom_ready() { curl -sf "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null; }
for attempt in 1 2 3; do # a port taken between free_port and the bind: another
    PROM_PORT=$(free_port)
    "$PROM" --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
        --web.listen-address="127.0.0.1:$PROM_PORT" >"$T/prometheus.log" 2>&1 &
    prom_pid=$!
    server_pids="$server_pids $prom_pid"
    until prom_ready || ! kill -0 "$prom_pid" 2>/dev/null; do sleep 0.1; done
    kill -0 "$prom_pid" 2>/dev/null && break
done
wait_for "prometheus to be ready" 60 prom_ready || { tail -20 "$T/prometheus.log" >&2; finish; }
PROM_URL="http://127.0.0.1:$PROM_PORT"

# every job scraped at least twice (two samples per series): one poller for all
python3 - "$PROM_URL" <<'PY' || { fail "prometheus has not scraped every job twice in 120 s"; finish; }
import json, sys, time, urllib.parse, urllib.request
want = {"dcgm": "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "power": "DCGM_FI_DEV_POWER_USAGE",
        "faulty": "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"}
deadline = time.monotonic() + 120
while True:
    ok = True
    for job, metric in want.items():
        q = urllib.parse.quote('count_over_time(%s{job="%s"}[1m])' % (metric, job))
        try:
            r = json.load(urllib.request.urlopen(sys.argv[1] + "/api/v1/query?query=" + q, timeout=10))
            n = [float(x["value"][1]) for x in r["data"]["result"]]
        except OSError:
            n = []
        ok = ok and len(n) == 4 and min(n) >= 2
    if ok:
        sys.exit(0)
    if time.monotonic() > deadline:
        sys.exit(1)
    time.sleep(0.2)
PY
[ "$failures" -eq 0 ] || finish

# ---- probe --remote ----------------------------------------------------------
if expect_status 0 "$AIEB" probe --remote "$PROM_URL" --selector '{job="dcgm"}' \
    --cpu-metric node_rapl_package_joules_total; then
    expect_grep '^Prometheus at .*: 10 series$' "$T/out"
    expect_grep 'DCGM_FI_DEV_POWER_USAGE\{Hostname="gpu-node-1", .*gpu="1".* 400 at ' "$T/out"
fi
expect_status 0 "$AIEB" probe --remote "$PROM_URL" --selector '{job="nope"}' &&
    expect_grep 'no series match' "$T/out"
expect_status 0 "$AIEB" probe --remote "$PROM_URL" --selector '{job="power"}' --json &&
    expect_grep '"Hostname": "pw-node-1"' "$T/out" && expect_grep '"value": 400' "$T/out"
dead_port=$(free_port)
expect_status 3 "$AIEB" probe --remote "http://127.0.0.1:$dead_port" &&
    expect_grep 'cannot reach' "$T/err"
# not Prometheus (the exporter itself), and Prometheus refusing the query
expect_status 3 "$AIEB" probe --remote "http://127.0.0.1:$dcgm_PORT" &&
    expect_grep "HTTP 404 and not the Prometheus API's JSON" "$T/err"
expect_status 3 "$AIEB" probe --remote "$PROM_URL" --selector '{job=~"("}' &&
    expect_grep 'HTTP 400, bad_data: ' "$T/err"
expect_status 2 "$AIEB" probe --selector '{job="dcgm"}'
expect_status 2 "$AIEB" probe --remote "$PROM_URL" --selector 'job="dcgm"'

# ---- configs -----------------------------------------------------------------
export PROM_TEST_TOKEN=test-token # sent as a bearer token; this Prometheus ignores it
write_config() { # FILE SELECTOR URL SAMPLES BASELINE [TOKEN_ENV]
    cat >"$1" <<YAML
name: remote
backend:
  type: openai
  model: test-model
  endpoint: http://127.0.0.1:$oai_PORT/v1
scenario:
  dataset_name: builtin
  num_samples: $4
  warmup_requests: 1
  generate_kwargs:
    max_new_tokens: 6
metrics:
  sample_interval_ms: 50
  idle_baseline_s: $5
  country_iso_code: FRA
  output_dir: $T/emissions
  remote:
    - type: prometheus
      url: $3
      selector: '$2'
      cpu_energy_metric: node_rapl_package_joules_total
      cpu_selector: '$2'
      bearer_token_env: ${6:-PROM_TEST_TOKEN}
reporter:
  output_file: $T/results.csv
output_dir: $T/runs
YAML
}

cat >"$T/bad.yaml" <<YAML
metrics:
  remote:
    - type: prometheus
      url: http://127.0.0.1:1
      selectr: '{job="x"}'
YAML
expect_status 2 "$AIEB" config check "$T/bad.yaml" &&
    expect_grep 'metrics.remote: entry 1: unknown key selectr; did you mean selector\?' "$T/err"
printf 'metrics:\n  remote:\n    - type: influx\n      url: http://x\n' >"$T/bad2.yaml"
expect_status 2 "$AIEB" config check "$T/bad2.yaml" && expect_grep 'expected prometheus' "$T/err"
bad_entry() { # YAML-FLOW-ENTRY EXPECTED-MESSAGE-REGEX
    printf 'metrics:\n  remote: [%s]\n' "$1" >"$T/bad3.yaml"
    expect_status 2 "$AIEB" config check "$T/bad3.yaml" && expect_grep "$2" "$T/err"
}
bad_entry '{type: prometheus}' 'url: required'
bad_entry '{type: prometheus, url: "ftp://x"}' 'url: not an http\(s\) URL'
bad_entry '{type: prometheus, url: "http://x", selector: "job=\"a\""}' 'selector: not a label selector'
bad_entry '{type: prometheus, url: "http://x", gpu_power_metric: "a-b"}' 'not a Prometheus metric name'
bad_entry '{type: prometheus, url: "http://x", basic_auth_user_env: U}' 'go together'
bad_entry '{type: prometheus, url: "http://x", bearer_token_env: "not a name"}' 'not an environment variable name'
bad_entry '{type: prometheus, url: "http://x", selector: 3}' 'selector: wrong type'
printf 'metrics:\n  remote: {type: prometheus}\n' >"$T/bad4.yaml"
expect_status 2 "$AIEB" config check "$T/bad4.yaml" && expect_grep 'expected a list of mappings' "$T/err"
# --set takes the list in flow style; config show writes it back as it loads
expect_status 0 "$AIEB" config show --set 'metrics.remote=[{type: prometheus, url: "http://p:9090"}]' &&
    expect_grep '^  remote: \[\{"type": "prometheus", "url": "http://p:9090"\}\]$' "$T/out"

# ---- the energy counter: exact within the bound, per series, host and total --
write_config "$T/counter.yaml" '{job="dcgm"}' "$PROM_URL" 8 1
if expect_status 0 "$AIEB" run "$T/counter.yaml" --run-dir "$T/run_counter"; then
    python3 - "$T/run_counter" "$T/results.csv" <<'PY' || fail "counter run figures"
import csv, json, sys
d = json.load(open(sys.argv[1] + "/summary.json"))
e, r = d["energy"], d["energy"]["remote"]
assert e["primary"] == "remote_gpu", e["primary"]
assert e["measured_at"] == {"gpu": "remote", "cpu": "local", "ram": "local"}
assert r["method"] == "prometheus_counter", r["method"]
assert r["source"] == {"url": r["source"]["url"], "selector": '{job="dcgm"}'}
assert 0.5 <= r["resolution_s"] <= 5, r["resolution_s"]
assert not r["errors"] and not r["notes"], (r["errors"], r["notes"])
dur = r["duration_s"]
assert abs(dur - e["duration_s"]) < 1e-6
slack = lambda exact: 1e-3 * exact + 0.5  # clock mapping and float noise
power = {("gpu-node-0", "0"): 100, ("gpu-node-0", "1"): 200,
         ("gpu-node-1", "0"): 300, ("gpu-node-1", "1"): 400}
gpus = [s for s in r["series"] if s["kind"] == "gpu"]
assert len(gpus) == 4, gpus
for s in gpus:
    lab = s["labels"]
    assert lab["__name__"] == "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION" and lab["job"] == "dcgm"
    assert lab["modelName"] == "Fake H100" and lab["UUID"].startswith("GPU-")
    exact = power[(lab["Hostname"], lab["gpu"])] * dur
    err = abs(s["energy_j"] - exact)
    assert err <= s["uncertainty_j"] + slack(exact), (lab, s["energy_j"], exact, s["uncertainty_j"])
exact = 1000 * dur
assert abs(r["total_j"] - exact) <= r["uncertainty_j"] + slack(exact), (r["total_j"], exact)
assert abs(r["gpu_wh"] * 3600 - r["total_j"]) < 1e-6 * exact
# the run's GPU energy is the remote one
assert abs(e["gpu_energy_wh"] - r["gpu_wh"]) < 1e-9 and abs(e["energy_wh"] - r["gpu_wh"]) < 1e-9
assert e["uncertainty_j"]["gpu"] == r["uncertainty_j"]
hosts = {h["host"]: h for h in r["hosts"] if h["gpus"]}
assert sorted(hosts) == ["gpu-node-0", "gpu-node-1"] and all(h["gpus"] == 2 for h in hosts.values())
assert abs(hosts["gpu-node-0"]["energy_j"] - 300 * dur) <= r["uncertainty_j"] + slack(300 * dur)
assert abs(hosts["gpu-node-1"]["energy_j"] - 700 * dur) <= r["uncertainty_j"] + slack(700 * dur)
# CPU packages: 2 x 50 W
assert abs(r["cpu_j"] - 100 * dur) <= r["cpu_uncertainty_j"] + slack(100 * dur), r["cpu_j"]
# phases from the same samples: the idle baseline at 1000 W
ph = r["phases"]
b = ph["idle_baseline"]
assert abs(b["energy_j"] - 1000 * b["duration_s"]) <= b["uncertainty_j"] + slack(1000 * b["duration_s"])
assert b["low_resolution"] is True  # 1 s of baseline, 1 s scrapes
assert len(ph["repetitions"]) == 1 and "warmup" in ph
assert abs(r["idle_power_w"] - 1000) <= (b["uncertainty_j"] + 1) / b["duration_s"]
# per request: shares of the remote energy, short windows marked
reqs = [json.loads(l) for l in open(sys.argv[1] + "/requests.jsonl")]
assert len(reqs) == 8
for q in reqs:
    assert q["energy_j"]["gpu"] > 0 and q["energy_short_window"] is True, q["energy_j"]
    lat = q["done_s"] - q["sent_s"]
    assert abs(q["energy_j"]["gpu"] - 1000 * lat) <= q["energy_uncertainty_j"]["gpu"] + slack(1000 * lat)
# the CSV row carries the remote GPU energy
rows = list(csv.DictReader(open(sys.argv[2])))
assert abs(float(rows[-1]["gpu_energy_wh"]) - r["gpu_wh"]) <= 1e-5 * r["gpu_wh"]
assert abs(float(rows[-1]["energy_wh"]) - r["gpu_wh"]) <= 1e-5 * r["gpu_wh"]
assert not any("another machine" in w for w in d["warnings"])
PY
    rep="$T/run_counter/report.md"
    expect_grep 'Prometheus at http://127\.0\.0\.1:[0-9]+' "$rep"
    expect_grep 'gpu-node-0 \(2 GPUs\), gpu-node-1 \(2 GPUs\)' "$rep"
    expect_grep 'scrape interval 1(\.[0-9]+)? s' "$rep"
    expect_grep 'prometheus_counter' "$rep"
fi

# ---- no energy counter: the power gauge, integrated ---------------------------
write_config "$T/power.yaml" '{job="power"}' "$PROM_URL" 4 0
if expect_status 0 "$AIEB" run "$T/power.yaml" --repeat 2 --run-dir "$T/run_power"; then
    python3 - "$T/run_power/summary.json" <<'PY' || fail "power gauge run figures"
import json, sys
d = json.load(open(sys.argv[1]))
r = d["energy"]["remote"]
assert r["method"] == "prometheus_power", r["method"]
assert all(s["labels"]["__name__"] == "DCGM_FI_DEV_POWER_USAGE" for s in r["series"] if s["kind"] == "gpu")
dur = r["duration_s"]
exact = 1000 * dur
assert abs(r["total_j"] - exact) <= r["uncertainty_j"] + 1e-3 * exact + 0.5, (r["total_j"], exact)
assert d["energy"]["primary"] == "remote_gpu"
# each repetition's GPU energy is the remote one over its own window
reps = r["phases"]["repetitions"]
vals = d["repetitions"]["figures"]["gpu_energy_wh"]["values"]
assert len(reps) == 2 and len(vals) == 2, (reps, vals)
for rep, v in zip(reps, vals):
    assert abs(v * 3600 - rep["energy_j"]) <= 1e-6 * rep["energy_j"] + 1e-9, (v, rep)
    exact = 1000 * rep["duration_s"]
    assert abs(rep["energy_j"] - exact) <= rep["uncertainty_j"] + 1e-3 * exact + 0.5, rep
PY
fi

# ---- energy_star through a server whose GPUs are read from Prometheus ---------
write_config "$T/es.yaml" '{job="dcgm"}' "$PROM_URL" 3 0
sed -i 's/^  num_samples: 3/  num_samples: 3\n  method: energy_star/' "$T/es.yaml"
if expect_status 0 "$AIEB" run "$T/es.yaml" --run-dir "$T/run_es"; then
    python3 - "$T/run_es/summary.json" <<'PY' || fail "energy_star with remote GPU energy"
import json, sys
d = json.load(open(sys.argv[1]))
es = d["energy_star"]
assert d["energy"]["primary"] == "remote_gpu" and es["primary"] == "gpu", es
for name in ("prefill", "generate"):
    p = es[name]
    exact = 1000 * p["duration_s"] / 3600  # the four stand-in GPUs draw 1000 W together
    assert abs(p["gpu_wh"] - exact) <= p["energy_uncertainty_wh"] + 1e-3 * exact + 0.5 / 3600, (name, p, exact)
want = es["generate"]["gpu_wh"] / 3 * 1000
assert abs(es["gpu_wh_per_1000_queries"] - want) <= 1e-9 * want
PY
fi

# ---- a local GPU in use stays the run's GPU energy; the remote one is beside it --
FAKE_NVML="$AIEB_BUILD_DIR/tests/fakes/libfake_nvml.so"
write_config "$T/local.yaml" '{job="power"}' "$PROM_URL" 3 0
if [ -f "$FAKE_NVML" ] &&
    expect_status 0 env AIEB_NVML_LIBRARY="$FAKE_NVML" FAKE_NVML_DEVICES=1 \
        FAKE_NVML_POWER=const:200 FAKE_NVML_MEM_USED_MB=ramp:1000:5000:1 \
        "$AIEB" run "$T/local.yaml" --run-dir "$T/run_local"; then
    python3 - "$T/run_local/summary.json" <<'PY' || fail "local GPU beside remote"
import json, sys
d = json.load(open(sys.argv[1]))
e, r = d["energy"], d["energy"]["remote"]
assert d["evidence"]["gpu_active"] is True
assert e["primary"] == "gpu" and r["primary"] is False and e["measured_at"]["gpu"] == "local"
assert e["methods"]["gpu"].startswith("nvml")
assert abs(e["gpu_energy_wh"] - e["local_gpu_energy_wh"]) < 1e-12
assert abs(e["gpu_energy_wh"] * 3600 - 200 * e["duration_s"]) <= 0.05 * 200 * e["duration_s"] + 2
assert r["method"] == "prometheus_power" and r["total_j"] > 0
PY
fi

# ---- a counter reset and a series vanishing mid-run ---------------------------
write_config "$T/faulty.yaml" '{job="faulty"}' "$PROM_URL" 8 0
"$AIEB" run "$T/faulty.yaml" --run-dir "$T/run_faulty" >"$T/faulty.out" 2>"$T/faulty.err" &
run_pid=$!
# after two requests: GPU 0 of bad-node-0 restarts its counter, GPU 1 of
# bad-node-1 stops being exported; six more requests follow (each >= 0.35 s)
wait_for "two requests done" 120 has_lines 2 "$T/run_faulty/requests.jsonl"
touch "$T/ctl/reset" "$T/ctl/vanish"
run_rc=0
wait "$run_pid" || run_rc=$?
[ "$run_rc" = 0 ] || { fail "faulty run exit $run_rc"; sed 's/^/  /' "$T/faulty.err" | tail >&2; }
if [ -s "$T/run_faulty/summary.json" ]; then
    python3 - "$T/run_faulty/summary.json" <<'PY' || fail "faulty run figures"
import json, sys
d = json.load(open(sys.argv[1]))
r = d["energy"]["remote"]
notes = r["notes"]
assert any("counter reset" in n and 'Hostname="bad-node-0"' in n and 'gpu="0"' in n for n in notes), notes
assert any("vanished mid-run" in n and 'Hostname="bad-node-1"' in n and 'gpu="1"' in n for n in notes), notes
assert all(any(n in w for w in d["warnings"]) for n in notes)  # also in warnings
dur = r["duration_s"]
for s in r["series"]:
    if s["kind"] != "gpu":
        continue
    lab = s["labels"]
    p = 100 * (1 + 2 * int(lab["Hostname"][-1]) + int(lab["gpu"]))
    e = s["energy_j"]
    assert e >= 0, s  # a reset never makes energy negative
    # what is missed (before a reset, after a vanish) only lowers a series
    assert e <= p * dur + s["uncertainty_j"] + 1e-3 * p * dur + 0.5, (lab, e, p * dur)
    if lab["Hostname"] == "bad-node-0" and lab["gpu"] == "1":  # untouched: exact
        assert abs(e - p * dur) <= s["uncertainty_j"] + 1e-3 * p * dur + 0.5, (lab, e)
assert r["series_not_covering_window"] >= 1
assert d["summary"]["successful_prompts"] == 8
PY
    expect_grep 'counter reset' "$T/run_faulty/report.md"
    expect_grep 'vanished mid-run' "$T/run_faulty/report.md"
else
    fail "faulty run wrote no summary.json"
fi

# ---- Prometheus unreachable; a selector with no series -------------------------
write_config "$T/dead.yaml" '{job="dcgm"}' "http://127.0.0.1:$dead_port" 2 0
if expect_status 0 "$AIEB" run "$T/dead.yaml" --run-dir "$T/run_dead"; then
    python3 - "$T/run_dead/summary.json" <<'PY' || fail "unreachable prometheus"
import json, sys
d = json.load(open(sys.argv[1]))
e = d["energy"]
r = e["remote"]
assert "cannot reach" in r["error"] and r["total_j"] is None and r["method"] is None, r
assert e["primary"] != "remote_gpu" and e["measured_at"]["gpu"] == "local"
assert any("metrics.remote" in w and "cannot reach" in w for w in d["warnings"])
assert d["summary"]["successful_prompts"] == 2
PY
    expect_grep 'cannot reach' "$T/run_dead/report.md"
    [ -s "$T/run_dead/requests.jsonl" ] || fail "unreachable: requests.jsonl missing"
fi
write_config "$T/nope.yaml" '{job="nope"}' "$PROM_URL" 2 0
if expect_status 0 "$AIEB" run "$T/nope.yaml" --run-dir "$T/run_nope"; then
    python3 - "$T/run_nope/summary.json" <<'PY' || fail "selector with no series"
import json, sys
d = json.load(open(sys.argv[1]))
r = d["energy"]["remote"]
assert "no series for DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{job=\"nope\"}" in r["error"], r["error"]
assert r["total_j"] is None and d["energy"]["primary"] != "remote_gpu"
PY
    expect_grep 'no series for' "$T/run_nope/report.md"
fi

# a credential variable named but unset: the run says which, and goes on without the source
unset PROM_TEST_UNSET
write_config "$T/unset.yaml" '{job="dcgm"}' "$PROM_URL" 2 0 PROM_TEST_UNSET
if expect_status 0 "$AIEB" run "$T/unset.yaml" --run-dir "$T/run_unset"; then
    [ "$(json_get "$T/run_unset/summary.json" "d['energy']['remote']['total_j']")" = None ] ||
        fail "unset credential: a remote figure without the source"
    expect_grep 'PROM_TEST_UNSET is not set' "$T/run_unset/summary.json"
fi

finish
