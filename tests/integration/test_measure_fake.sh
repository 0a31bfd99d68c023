#!/usr/bin/env bash
# aieb measure against the fake NVML: GPU energy compared with the exact
# integral of the scripted power, for both methods (energy counter; power only),
# constant and square-wave power, runs of 2 s or more: within 0.5%, or within
# the error bound the run states (at most 5%) when the machine was too busy to
# sample regularly.
source "$AIEB_SOURCE_DIR/tests/integration/lib.sh"

FAKE="$AIEB_BUILD_DIR/tests/fakes/libfake_nvml.so"
[ -r "$FAKE" ] || { echo "skip: $FAKE not built"; exit 77; }
command -v python3 >/dev/null || { echo "skip: python3 needed to check the integrals"; exit 77; }
export AIEB_NVML_LIBRARY="$FAKE"
export AIEB_POWERCAP_ROOT="$T/no-powercap" # estimates for the CPU: the machine's RAPL is not under test
unset CUDA_VISIBLE_DEVICES FAKE_NVML_NO_COUNTER FAKE_NVML_NO_INSTANT FAKE_NVML_POWER

monotonic_ns() { python3 -c 'import time; print(time.monotonic_ns())'; }

# check_energy NAME SPEC T0 JSON [TOLERANCE_PCT]: compares energy.gpu_j and
# every gpus[].energy_j with the integral of SPEC over [t_start_ns, t_end_ns].
check_energy() {
    local name=$1 spec=$2 t0=$3 json=$4 tol=${5:-0.5}
    local out
    out=$(python3 - "$spec" "$t0" "$json" "$tol" <<'EOF'
import json, math, sys
spec, t0, path, tol = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
kind, *a = spec.split(":")
a = [float(x) for x in a]
def F(tau):  # exact integral of the fake's power from its origin, J
    if tau <= 0: return 0.0
    if kind == "const": return a[0] * tau
    if kind == "square":
        lo, hi, p = a; h = p / 2; n = math.floor(tau / p); r = tau - n * p
        return n * h * (lo + hi) + (lo * r if r < h else lo * h + hi * (r - h))
    if kind == "step":
        b, c, at = a
        return b * tau if tau < at else b * at + c * (tau - at)
    raise SystemExit("bad spec")
j = json.load(open(path))
x0 = (j["t_start_ns"] - t0) / 1e9; x1 = (j["t_end_ns"] - t0) / 1e9
want = F(x1) - F(x0)
gpus = j["gpus"]
got = j["energy"]["gpu_j"] / len(gpus)  # every fake GPU draws the same power
err = 100 * (got - want) / want
# within tol, or within the bound the run states for itself (a busy machine
# samples less regularly, and says so); the bound must stay small
allow = [max(tol / 100 * want, g["uncertainty_j"]) for g in gpus]
bad = any(abs(g["energy_j"] - want) > a for g, a in zip(gpus, allow)) or \
    any(g["uncertainty_j"] > 0.05 * want for g in gpus)
print(f"{'FAIL' if bad else 'ok'} {got:.3f} J/GPU vs exact {want:.3f} J ({err:+.3f}%, "
      f"bound {100 * gpus[0]['uncertainty_j'] / want:.3f}%), "
      f"{len(gpus)} GPU(s), {j['methods']['gpu']}, {j['duration_s']:.3f} s")
EOF
)
    echo "$name: $out"
    case "$out" in ok*) ;; *) fail "$name: $out" ;; esac
}

# run_case NAME SPEC METHOD [ENV...] -- [AIEB MEASURE OPTIONS...]
run_case() {
    local name=$1 spec=$2 method=$3
    shift 3
    local envs=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    local t0
    t0=$(monotonic_ns)
    if ! expect_status 0 env FAKE_NVML_T0_NS="$t0" FAKE_NVML_POWER="$spec" "${envs[@]}" \
        "$AIEB" measure --json "$T/$name.json" "$@" -- sleep 2; then
        return
    fi
    check_energy "$name" "$spec" "$t0" "$T/$name.json"
    python3 - "$T/$name.json" "$method" <<'EOF' || fail "$name: method"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["methods"]["gpu"] == sys.argv[2], j["methods"]
assert all(g["method"] == sys.argv[2] for g in j["gpus"])
EOF
}

# Energy counter (the located 100 ms steps pin the run's ends down).
run_case counter_const const:150 nvml_counter --
run_case counter_square square:100:300:0.5 nvml_counter --
run_case counter_square_fast square:80:420:0.3 nvml_counter FAKE_NVML_DEVICES=2 -- --interval-ms 20
# Power only (trapezoid of instantaneous power): the interval bounds the error
# at each step of power (jump x interval / 2), so the square wave is sampled
# at 10 ms.
run_case power_const const:150 nvml_power FAKE_NVML_NO_COUNTER=1 --
run_case power_square square:100:300:0.5 nvml_power FAKE_NVML_NO_COUNTER=1 -- --interval-ms 10
# Power only from nvmlDeviceGetPowerUsage (no counter, no power fields).
run_case power_usage_const const:220 nvml_power FAKE_NVML_NO_COUNTER=1 FAKE_NVML_NO_INSTANT=1 --
# A library with only the required symbols.
run_case minimal_const const:75 nvml_power \
    AIEB_NVML_LIBRARY="$AIEB_BUILD_DIR/tests/fakes/libfake_nvml_min.so" --

# The table names the method of every figure.
expect_grep 'gpu +[0-9.]+ +[0-9.]+ .*nvml_power' "$T/err"
expect_grep 'cpu .*estimate_tdp_load' "$T/err"
expect_grep 'emissions: [0-9.]+ gCO2e at [0-9]+ gCO2e/kWh' "$T/err"

# Windows inside a run, on the real sampler thread: a smoke test with loose
# bounds (10% for 1 s windows, 5% for 2 s) on a 530 ms square wave that no
# interval divides. The accuracy itself (2% / 1% at the default interval, with
# late wake-ups and slow reads) is checked exactly on a virtual clock in
# tests/unit/test_meter_sampler.c; here the real thread, the timeline CSV and
# the summary's quality figures are under test, on whatever load the machine has.
t0=$(monotonic_ns)
if expect_status 0 env FAKE_NVML_T0_NS="$t0" FAKE_NVML_POWER=square:100:300:0.53 \
    "$AIEB" measure --timeline "$T/windows.csv" --json "$T/windows.json" -- sleep 5; then
    out=$(python3 - "$t0" "$T/windows.csv" "$T/windows.json" <<'EOF'
import csv, json, math, sys
t0 = int(sys.argv[1])
def F(tau):
    lo, hi, p = 100, 300, 0.53; h = p / 2; n = math.floor(tau / p); r = tau - n * p
    return n * h * (lo + hi) + (lo * r if r < h else lo * h + hi * (r - h))
rows = list(csv.reader(open(sys.argv[2]))); ie = rows[0].index("gpu0_energy_j")
iu = rows[0].index("gpu0_energy_uncertainty_j")
pts = [(int(r[0]), float(r[ie]), float(r[iu])) for r in rows[1:]]
res = []
for w, tol in ((2.0, 5.0), (1.0, 10.0)):
    errs, outside = [], 0
    for i, (ta, ea, ua) in enumerate(pts):
        for tb, eb, ub in pts[i + 1:]:
            if abs((tb - ta) / 1e9 - w) < 0.02:
                ex = F((tb - t0) / 1e9) - F((ta - t0) / 1e9)
                errs.append(abs(100 * ((eb - ea) - ex) / ex))
                outside += abs((eb - ea) - ex) > ua + ub + 1e-6  # the rows' stated bounds
                break
    worst = max(errs) if errs else float("nan")
    ok = len(errs) >= 10 and worst <= tol and outside == 0
    res.append(f"{'ok' if ok else 'FAIL'} {w} s windows: n={len(errs)}, max |error| "
               f"{worst:.2f}% (limit {tol}%), {outside} outside their bounds")
q = json.load(open(sys.argv[3]))["quality"]
ok = q["sample_interval_ms"] == 20 and q["ticks"] >= 10 and q["late_ms"]["max"] >= 0 \
    and q["read_ms"]["median"] > 0 and q["dropped_samples"] == 0
res.append(f"{'ok' if ok else 'FAIL'} quality: {q['ticks']} ticks, late median "
           f"{q['late_ms']['median']} ms, max {q['late_ms']['max']} ms")
print("; ".join(res))
EOF
)
    echo "windows: $out"
    case "$out" in *FAIL*) fail "windows: $out" ;; esac
fi

finish
