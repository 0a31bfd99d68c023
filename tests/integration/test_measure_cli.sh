#!/usr/bin/env bash
# aieb measure as a command wrapper: exit statuses like a shell's, signals
# forwarded, a missing NVML library said once (not an error), usage errors, the
# idle baseline's net energy, the timeline CSV and the emissions.csv row.
source "$AIEB_SOURCE_DIR/tests/integration/lib.sh"

FAKE="$AIEB_BUILD_DIR/tests/fakes/libfake_nvml.so"
[ -r "$FAKE" ] || { echo "skip: $FAKE not built"; exit 77; }
command -v python3 >/dev/null || { echo "skip: python3 needed to read JSON"; exit 77; }
export AIEB_NVML_LIBRARY="$FAKE"
export AIEB_POWERCAP_ROOT="$T/no-powercap"
unset CUDA_VISIBLE_DEVICES FAKE_NVML_NO_COUNTER FAKE_NVML_NO_INSTANT FAKE_NVML_POWER

# jq-like: python3 expression over the JSON file as j; prints the result.
jget() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

# ---- exit statuses --------------------------------------------------------
expect_status 0 env FAKE_NVML_POWER=const:100 "$AIEB" measure --json "$T/short.json" -- true
expect_grep "shorter than an energy counter's update period" "$T/err"
python3 - "$T/short.json" <<'EOF' || fail "short run"
import json, sys
j = json.load(open(sys.argv[1]))
g = j["gpus"][0]  # between two counter steps: integrated power, never a silent 0
assert g["short_window"] and abs(g["energy_j"] - 100 * j["duration_s"]) < 1e-6, g
EOF
expect_status 3 "$AIEB" measure -- sh -c 'exit 3'
expect_grep "'sh' exited 3" "$T/err"
expect_status 143 "$AIEB" measure -- sh -c 'kill -TERM $$'
expect_status 127 "$AIEB" measure -- no-such-command-aieb
expect_grep 'no-such-command-aieb: command not found' "$T/err"
printf 'echo hi\n' >"$T/not-exec"
chmod 644 "$T/not-exec"
expect_status 126 "$AIEB" measure -- "$T/not-exec"
expect_grep 'Permission denied' "$T/err"
# the command's flags are its own, and its output is its own (table on stderr)
expect_status 0 "$AIEB" measure -- sh -c 'echo out; echo --json' --ignored
expect_grep '^out$' "$T/out"
expect_grep '^--json$' "$T/out"
if grep -q 'energy J' "$T/out"; then fail "table went to stdout"; fi
expect_grep 'energy J' "$T/err"

# ---- usage errors -----------------------------------------------------------
expect_status 2 "$AIEB" measure
expect_grep 'missing the command' "$T/err"
expect_status 2 "$AIEB" measure --interval-ms 2 -- true
expect_grep 'interval-ms' "$T/err"
expect_status 2 "$AIEB" measure --idle-baseline abc -- true
expect_status 2 "$AIEB" measure --bogus -- true
expect_status 2 "$AIEB" measure --gpus 7 -- true
expect_grep 'no GPU 7' "$T/err"
expect_status 0 "$AIEB" measure --help
expect_grep 'Usage: aieb measure' "$T/out"

# ---- SIGINT and SIGTERM reach the command ----------------------------------------
# The signal goes once the command runs (its `sleep` exists, waited for: a fixed
# sleep may be too short on a busy machine). That it was stopped, and did not
# run its 30 s, shows in its status (128 + the signal: `sleep 30` ending by
# itself exits 0) and in its process being gone; the time bound only guards
# against the full 30 s, so a slow machine does not trip it.
for sig in INT TERM; do
    start=$SECONDS
    "$AIEB" measure -- sleep 30 >"$T/out" 2>"$T/err" &
    pid=$!
    wait_for "aieb measure to start its command" 60 child_running "$pid" sleep
    cmd_pid=$(child_of "$pid" sleep)
    kill -"$sig" "$pid"
    got=0
    wait "$pid" || got=$?
    want=$((128 + $(kill -l "$sig")))
    [ "$got" = "$want" ] || fail "SIG$sig: exit $got, wanted $want"
    kill -0 "$cmd_pid" 2>/dev/null && fail "SIG$sig: the command outlived aieb measure"
    [ $((SECONDS - start)) -lt 25 ] || fail "SIG$sig: the command was not stopped"
    expect_grep "exited $want" "$T/err"
done

# ---- no NVML: said once, not an error -------------------------------------------
expect_status 0 env AIEB_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1 \
    "$AIEB" measure --json "$T/nogpu.json" -- true
expect_grep 'cannot load /nonexistent/libnvidia-ml.so.1' "$T/err"
expect_grep 'no GPU measured' "$T/err"
[ "$(grep -c 'cannot load' "$T/err")" = 1 ] || fail "the missing library was not said exactly once"
[ "$(jget "$T/nogpu.json" 'j["energy"]["gpu_j"], j["methods"]["gpu"], len(j["gpus"])')" = \
    "None None 0" ] || fail "no-GPU JSON: $(jget "$T/nogpu.json" 'j["energy"]')"
expect_status 0 env FAKE_NVML_INIT_FAIL=1 "$AIEB" measure -- true
expect_grep 'nvmlInit_v2: Driver Not Loaded' "$T/err"

# ---- JSON keys, timeline, emissions ---------------------------------------------
expect_status 0 env FAKE_NVML_POWER=const:200 FAKE_NVML_DEVICES=2 \
    FAKE_NVML_MEM_USED_MB=ramp:1000:3000:0.5 "$AIEB" measure --interval-ms 50 \
    --json "$T/m.json" --timeline "$T/t.csv" --emissions "$T/emissions.csv" -- sleep 1
python3 - "$T/m.json" "$T/t.csv" "$T/emissions.csv" <<'EOF' || fail "JSON/timeline/emissions"
import csv, json, sys
j = json.load(open(sys.argv[1]))
for k in ["duration_s", "energy", "methods", "gpus", "emissions_g", "carbon_intensity_g_per_kwh",
          "t_start_ns", "t_end_ns", "exit_status", "command", "notes", "channels"]:
    assert k in j, k
for k in ["gpu_j", "cpu_j", "dram_j", "ram_j", "total_j", "gpu_wh", "cpu_wh", "ram_wh", "total_wh"]:
    assert k in j["energy"], k
for k in ["gpu", "cpu", "ram"]:
    assert k in j["methods"], k
assert j["methods"] == {"gpu": "nvml_counter", "cpu": "estimate_tdp_load", "dram": None,
                        "ram": "estimate_dimm"}, j["methods"]
assert len(j["gpus"]) == 2
for g in j["gpus"]:
    for k in ["index", "name", "uuid", "energy_j", "avg_power_w", "peak_power_w", "method"]:
        assert k in g, k
    assert g["uuid"].startswith("GPU-fa4e0000"), g
    assert abs(g["avg_power_w"] - 200) < 1, g
    assert g["peak_power_w"] == 200, g
    assert g["mem_max_mb"] >= 2999 and g["used"] is True, g  # memory grew
e = j["energy"]
assert abs(e["total_j"] - (e["gpu_j"] + e["cpu_j"] + e["ram_j"])) < 1e-6, e
assert abs(e["gpu_wh"] - e["gpu_j"] / 3600) < 1e-12
ci = j["carbon_intensity_g_per_kwh"]  # as a run resolves it (test_carbon.sh compares)
assert ci == j["carbon"]["g_per_kwh"] > 0, j["carbon"]
assert abs(j["emissions_g"] - e["total_j"] / 3.6e6 * ci) < 1e-9, j["emissions_g"]
rows = list(csv.reader(open(sys.argv[2])))
head = rows[0]
assert head[:5] == ["t_ns", "t_s", "gpu0_energy_j", "gpu0_energy_uncertainty_j", "gpu0_power_w"], head
assert "gpu1_mem_used_mb" in head and "cpu_power_w" in head and "ram_energy_j" in head, head
# a row every 50 ms over the run (>= 1 s), plus <= 100 ms at 2 ms around marks; the
# bounds follow the run's own length and allow missed ticks on a busy machine
ticks = j["duration_s"] / 0.05
assert ticks / 3 <= len(rows) - 1 <= ticks + 60, (len(rows), j["duration_s"])
i = head.index("gpu0_power_w")
assert all(float(r[i]) == 200 for r in rows[1:])
ts = [int(r[0]) for r in rows[1:]]
assert ts == sorted(ts) and ts[0] <= j["t_start_ns"] and ts[-1] >= j["t_end_ns"]
# the timeline's energy (from the meter's start) over the command's window is the
# window's energy: read at t_start and t_end, not at the last row, whose distance
# from the window's end grows when the machine is busy
cum = [float(r[head.index("gpu0_energy_j")]) for r in rows[1:]]
def energy_at(t):
    k = next(k for k in range(1, len(ts)) if ts[k] >= t)
    return cum[k - 1] + (cum[k] - cum[k - 1]) * (t - ts[k - 1]) / max(ts[k] - ts[k - 1], 1)
within = energy_at(j["t_end_ns"]) - energy_at(j["t_start_ns"])
assert abs(within - j["gpus"][0]["energy_j"]) < 0.02 * within, (within, j["gpus"][0])
em = list(csv.reader(open(sys.argv[3])))
assert len(em) == 2 and len(em[0]) == 38 and em[0][0] == "timestamp", em[0]
row = dict(zip(em[0], em[1]))
assert abs(float(row["gpu_energy"]) - e["gpu_j"] / 3.6e6) < 1e-12, row["gpu_energy"]
assert row["gpu_count"] == "2" and "Fake NVIDIA H100" in row["gpu_model"], row
EOF
# a second run appends a row, not a header
expect_status 0 "$AIEB" measure --emissions "$T/emissions.csv" -- true
[ "$(wc -l <"$T/emissions.csv")" = 3 ] || fail "emissions.csv: $(wc -l <"$T/emissions.csv") lines"
expect_status 1 "$AIEB" measure --json "$T/no/such/dir/m.json" -- true
expect_grep 'no/such/dir' "$T/err"

# ---- idle baseline: 50 W idle, then 200 W during the command ----------------------
t0=$(python3 -c 'import time; print(time.monotonic_ns())')
expect_status 0 env FAKE_NVML_T0_NS="$t0" FAKE_NVML_POWER=step:50:200:1.8 \
    "$AIEB" measure --idle-baseline 1 --json "$T/b.json" -- sleep 2
expect_grep 'idle baseline 1.0 s' "$T/err"
expect_grep 'net J' "$T/err"
python3 - "$T/b.json" "$t0" <<'EOF' || fail "idle baseline"
import json, sys
j = json.load(open(sys.argv[1])); t0 = int(sys.argv[2])
def F(t): return 50 * t if t < 1.8 else 50 * 1.8 + 200 * (t - 1.8)
a = (j["t_start_ns"] - t0) / 1e9; b = (j["t_end_ns"] - t0) / 1e9
# the idle power is the exact mean over the baseline's own span: 50 W, unless a
# busy machine started it so late that the step at 1.8 s falls inside
bl = j["baseline"]
b0 = (bl["t_start_ns"] - t0) / 1e9; b1 = (bl["t_end_ns"] - t0) / 1e9
idle = (F(b1) - F(b0)) / (b1 - b0)
gross = F(b) - F(a); net = gross - idle * (b - a)
g = j["gpus"][0]
# at least the second asked for; more only as far as a busy machine wakes late
assert 0.99 <= bl["duration_s"] and abs(bl["duration_s"] - (b1 - b0)) < 1e-6, bl
assert b1 <= a, (bl, a)
assert abs(g["idle_power_w"] - idle) < 0.005 * idle, (g, idle)
# within 0.5% on a calm machine; on a busy one, within the run's own bound
u = g["uncertainty_j"]
assert abs(g["energy_j"] - gross) < max(0.005 * gross, u), (g["energy_j"], gross, u)
assert abs(g["net_energy_j"] - net) < max(0.005 * net + 0.5, 2 * u), (g["net_energy_j"], net, u)
assert abs(j["energy"]["net"]["gpu_j"] - g["net_energy_j"]) < 1e-9
print(f"idle baseline: idle {g['idle_power_w']:.3f} W, gross {g['energy_j']:.2f} J "
      f"(exact {gross:.2f}), net {g['net_energy_j']:.2f} J (exact {net:.2f})")
EOF

finish
