#!/usr/bin/env bash
# AMD GPUs through the fake ROCm SMI library (tests/fakes/libfake_rocm_smi.c),
# loaded by the real aieb through the same dlopen as librocm_smi64.so.1:
# - aieb measure: GPU energy against the exact integral of the scripted power
#   for both methods (energy counter, also across a 32-bit wrap; average or
#   socket power), within 0.5% or the error bound the run states (at most 5%);
#   the "GPU used" verdict from memory growth;
# - aieb probe, text and JSON: the AMD GPUs, their readings and the selection
#   (--gpus, ROCR_VISIBLE_DEVICES, HIP_VISIBLE_DEVICES);
# - error paths: library missing, rsmi_init failing, a GPU index out of range.
source "$AIEB_SOURCE_DIR/tests/integration/lib.sh"

FAKE="$AIEB_BUILD_DIR/tests/fakes/libfake_rocm_smi.so"
[ -r "$FAKE" ] || { echo "skip: $FAKE not built"; exit 77; }
command -v python3 >/dev/null || { echo "skip: python3 needed to check the integrals"; exit 77; }
export AIEB_ROCM_SMI_LIBRARY="$FAKE"
export AIEB_NVML_LIBRARY="$T/no-libnvidia-ml.so.1" # AMD GPUs only
export AIEB_POWERCAP_ROOT="$T/no-powercap"          # the machine's RAPL is not under test
unset CUDA_VISIBLE_DEVICES ROCR_VISIBLE_DEVICES HIP_VISIBLE_DEVICES COUNTRY_ISO_CODE REGION
for v in $(env | grep -o '^FAKE_ROCM_[A-Z_0-9]*'); do unset "$v"; done

monotonic_ns() { python3 -c 'import time; print(time.monotonic_ns())'; }

# check_energy NAME SPEC T0 JSON METHOD: every gpus[].energy_j against the
# integral of SPEC over [t_start_ns, t_end_ns], and the method of each.
check_energy() {
    local out
    out=$(python3 - "$2" "$3" "$4" "$5" <<'EOF'
import json, math, sys
spec, t0, path, method = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
kind, *a = spec.split(":")
a = [float(x) for x in a]
def F(tau):  # exact integral of the fake's power from its origin, J
    if tau <= 0: return 0.0
    if kind == "const": return a[0] * tau
    if kind == "square":
        lo, hi, p = a; h = p / 2; n = math.floor(tau / p); r = tau - n * p
        return n * h * (lo + hi) + (lo * r if r < h else lo * h + hi * (r - h))
    raise SystemExit("bad spec")
j = json.load(open(path))
want = F((j["t_end_ns"] - t0) / 1e9) - F((j["t_start_ns"] - t0) / 1e9)
gpus = j["gpus"]
assert len(gpus) == 2 and j["methods"]["gpu"] == method, (len(gpus), j["methods"])
assert all(g["method"] == method and g["name"] == "Fake AMD Instinct MI300X" for g in gpus)
assert abs(j["energy"]["gpu_j"] - sum(g["energy_j"] for g in gpus)) < 1e-6
# within 0.5%, or within the bound the run states for itself (a busy machine
# samples less regularly, and says so), or within the highest power over the
# longest read at each end (readings are stamped before the library is called,
# and a busy machine may preempt the reader in between); the bound must stay small
p_max = max(a[:2]) if kind == "square" else a[0]
late = 2 * p_max * (j["quality"]["read_ms"]["max"] + 1) / 1000
allow = [max(0.005 * want, g["uncertainty_j"], late) for g in gpus]
bad = any(abs(g["energy_j"] - want) > x for g, x in zip(gpus, allow)) or \
    any(g["uncertainty_j"] > 0.05 * want for g in gpus)
got = gpus[0]["energy_j"]
print(f"{'FAIL' if bad else 'ok'} {got:.3f} J/GPU vs exact {want:.3f} J "
      f"({100 * (got - want) / want:+.3f}%, bound {100 * gpus[0]['uncertainty_j'] / want:.3f}%), "
      f"{method}, {j['duration_s']:.3f} s")
EOF
)
    echo "$1: $out"
    case "$out" in ok*) ;; *) fail "$1: $out" ;; esac
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
    if expect_status 0 env FAKE_ROCM_T0_NS="$t0" FAKE_ROCM_POWER="$spec" "${envs[@]}" \
        "$AIEB" measure --json "$T/$name.json" "$@" -- sleep 2; then
        check_energy "$name" "$spec" "$t0" "$T/$name.json" "$method"
    fi
}

# ---- aieb measure: energy against the exact integral --------------------------------
run_case counter_const const:150 rocm_smi_counter --
run_case counter_square square:100:300:0.5 rocm_smi_counter -- --interval-ms 20
# a 32-bit counter (gpu_metrics v1.0) that wraps 1.5 s after the origin, inside
# the run unless the machine is slow to start aieb (then outside: still exact)
run_case counter_wrap32 const:300 rocm_smi_counter FAKE_ROCM_COUNTER_BITS=32 \
    FAKE_ROCM_COUNTER_BASE=$((4294967296 - 300 * 1500000 * 10 / 153)) --
# power only: the trapezoid of the average power (or socket power, as on MI300)
run_case power_square square:100:300:0.5 rocm_smi_power FAKE_ROCM_NO_COUNTER=1 -- \
    --interval-ms 10
run_case socket_power_const const:220 rocm_smi_power FAKE_ROCM_NO_COUNTER=1 \
    FAKE_ROCM_SOCKET_POWER=1 --

# The table names the AMD GPUs and the method; no word about NVML when AMD GPUs
# are measured.
expect_grep '^  amdgpu1 +[0-9.]+ +[0-9.]+ +220\.0 +220\.0 +rocm_smi_power' "$T/err"
if grep -q 'nvml' "$T/err"; then fail "NVML's absence was reported beside AMD GPUs"; fi

# "GPU used" from memory growth, as for NVIDIA GPUs: VRAM ramps up 2 GB over
# 5 s, so a 2 s run sees far more than 64 MiB of growth however late it starts;
# steady power and memory without a baseline are no evidence.
expect_status 0 env FAKE_ROCM_MEM_USED_MB=ramp:1000:3000:5 "$AIEB" measure --gpus 1 \
    --json "$T/used.json" -- sleep 2
python3 - "$T/used.json" "$T/counter_const.json" <<'EOF' || fail "used verdict"
import json, sys
g = json.load(open(sys.argv[1]))["gpus"]
assert len(g) == 1 and g[0]["index"] == 1 and g[0]["uuid"] == "GPU-fa4e000000000001", g
assert g[0]["mem_max_mb"] - g[0]["mem_start_mb"] >= 64 and g[0]["used"] is True, g[0]
for g in json.load(open(sys.argv[2]))["gpus"]:
    assert g["mem_max_mb"] == g["mem_start_mb"] == 300 and g["used"] is False, g
EOF

# "GPU used" from a power rise over the idle baseline: the stand-in draws 60 W
# until the command creates a file, 400 W from then on (whatever the timing);
# memory stays put, so the power is the evidence.
expect_status 0 env FAKE_ROCM_NO_COUNTER=1 FAKE_ROCM_POWER=const:60 \
    FAKE_ROCM_BUSY_FILE="$T/busy" FAKE_ROCM_BUSY_W=400 "$AIEB" measure --idle-baseline 0.5 \
    --json "$T/rise.json" -- sh -c 'touch "$1"; sleep 1' sh "$T/busy"
python3 - "$T/rise.json" <<'EOF' || fail "used verdict from power"
import json, sys
for g in json.load(open(sys.argv[1]))["gpus"]:
    assert g["mem_max_mb"] == g["mem_start_mb"], g
    # the baseline ends where the command begins: its last interval may see the rise
    assert 59.9 <= g["idle_power_w"] < 100 and g["avg_power_w"] > g["idle_power_w"] + 5, g
    assert g["used"] is True, g
EOF

# ---- aieb probe -----------------------------------------------------------------------
expect_status 0 "$AIEB" probe
expect_grep '^AMD GPUs \(ROCm SMI from .*libfake_rocm_smi.so; chosen: all\)' "$T/out"
expect_grep '^  amdgpu0 +Fake AMD Instinct MI300X  GPU-fa4e000000000000  0000:10:00.0$' "$T/out"
expect_grep '^  amdgpu1 +Fake AMD Instinct MI300X  GPU-fa4e000000000001  0000:11:00.0$' "$T/out"
expect_grep 'memory 196592 MiB, power limit 750 W' "$T/out"
expect_grep 'energy counter: yes \(15.300 uJ per count\), socket power: no, average power: yes -> rocm_smi_counter' "$T/out"
expect_grep 'Channels a run would record: amdgpu0 \(rocm_smi_counter\) amdgpu1 \(rocm_smi_counter\) cpu' "$T/out"

expect_status 0 env FAKE_ROCM_DEVICES=3 FAKE_ROCM_NO_COUNTER=1 FAKE_ROCM_SOCKET_POWER=1 \
    ROCR_VISIBLE_DEVICES=2,0 HIP_VISIBLE_DEVICES=1 "$AIEB" probe
expect_grep "chosen: ROCR_VISIBLE_DEVICES '2,0', HIP_VISIBLE_DEVICES '1'" "$T/out"
expect_grep 'energy counter: no, socket power: yes, average power: no -> rocm_smi_power' "$T/out"
expect_grep 'amdgpu2 .*\(not chosen\)' "$T/out"
expect_grep 'Channels a run would record: amdgpu0 \(rocm_smi_power\) cpu' "$T/out"

expect_status 0 env FAKE_ROCM_DEVICES=3 "$AIEB" probe --json --gpus GPU-fa4e000000000002,0
python3 - "$T/out" <<'EOF' || fail "probe JSON"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["gpus"] is None and j.get("gpus_why") is None, j  # no NVIDIA GPU, no complaint
a = j["amd_gpus"]
assert a["source"] == "rocm_smi" and a["selection"] == "gpu ids 'GPU-fa4e000000000002,0'", a
devs = a["devices"]
assert [d["selected"] for d in devs] == [True, False, True], devs
for d in devs:
    for k in ["index", "name", "uuid", "pci_bus_id", "memory_total_mb", "power_limit_w",
              "energy_counter", "counter_resolution_uj", "socket_power", "average_power",
              "method"]:
        assert k in d, k
assert abs(devs[1]["counter_resolution_uj"] - 15.3) < 1e-5, devs[1]
assert [c["label"] for c in j["channels"]][:2] == ["amdgpu2", "amdgpu0"], j["channels"]
assert j["channels"][0]["domain"] == "gpu" and j["channels"][0]["counter"] is True
EOF

# ---- error paths ------------------------------------------------------------------------
# a GPU index out of range: a usage error naming what ROCm SMI sees
expect_status 2 "$AIEB" probe --gpus 5
expect_grep 'no GPU 5 \(ROCm SMI sees 2 AMD GPUs: 0..1\)' "$T/err"
expect_status 2 "$AIEB" measure --gpus 0,0 -- true
expect_grep 'GPU 0 listed twice' "$T/err"
# nothing visible: said, and nothing measured
expect_status 0 env HIP_VISIBLE_DEVICES=7 "$AIEB" probe --json
python3 - "$T/out" <<'EOF' || fail "nothing visible"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["amd_gpus"] is None and "make no AMD GPU visible" in j["gpus_why"], j["gpus_why"]
EOF
# the library missing, or rsmi_init failing: no GPU measured, the reason said once
expect_status 0 env AIEB_ROCM_SMI_LIBRARY="$T/no-librocm_smi64.so.1" "$AIEB" probe
expect_grep '^GPUs: none measurable' "$T/out"
expect_grep 'rocm_smi: cannot load .*no-librocm_smi64.so.1.*librocm-smi64-1' "$T/out"
expect_status 0 env FAKE_ROCM_INIT_FAIL=1 "$AIEB" measure --json "$T/init.json" -- true
expect_grep 'rsmi_init: RSMI_STATUS_INIT_ERROR' "$T/err"
[ "$(grep -c 'rsmi_init' "$T/err")" = 1 ] || fail "the init failure was not said exactly once"
python3 - "$T/init.json" <<'EOF' || fail "init failure JSON"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["gpus"] == [] and j["energy"]["gpu_j"] is None and j["methods"]["gpu"] is None, j
assert any("rsmi_init" in n for n in j["notes"]), j["notes"]
EOF

finish
