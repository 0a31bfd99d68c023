#!/usr/bin/env bash
# device-check.sh - one pass over a GPU machine: build aieb, probe, measure a
# torch matmul load, benchmark the pytorch backend on synthetic presets (gpt2 and
# the llama-3.2-1b shape, fp16), the native engine and an energy_star run, then
# print a short table:
# GPU energy by counter vs by integrated power, memory growth at load, power idle
# vs busy, tokens/s.
#
#   scripts/device-check.sh            (from the repository root or anywhere)
#
# Made for a machine with torch and transformers but no internet: it installs
# nothing. It builds with what is there (CMake >= 3.25, else the compiler
# directly) and stops with the list of what is missing otherwise; AIEB_BIN=path
# skips the build. Every step has a timeout and the whole script stays under
# DEVICE_CHECK_BUDGET_S seconds (default 400): steps that no longer fit are
# skipped and say so. Results go to $OUT (default: a new directory under /tmp):
# device-check.log, device-check.md (the table), device-check.json, and each
# step's files.
set -uo pipefail

# print_table DIR: the table from the files a check left in DIR (also run alone:
# scripts/device-check.sh --table DIR).
print_table() {
    "${PY:-python3}" - "$1" <<'PY'
import csv, json, os, sys
out = sys.argv[1]

def load(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None

def integrate(csv_path, t0_s=None, t1_s=None, t0_ns=None, t1_ns=None):
    """GPU energy by integrating every gpu*_power_w column (trapezoids, power
    interpolated linearly at the window's edges) over [t0, t1], given in t_s
    seconds or t_ns."""
    try:
        rows = list(csv.DictReader(open(csv_path)))
    except OSError:
        return None
    if not rows:
        return None
    if t0_ns is not None:
        base_ns, base_s = int(rows[0]["t_ns"]), float(rows[0]["t_s"])
        t0_s, t1_s = base_s + (t0_ns - base_ns) / 1e9, base_s + (t1_ns - base_ns) / 1e9
    if t0_s is None or t1_s is None or t1_s <= t0_s:
        return None
    cols = [c[:-8] for c in rows[0] if c.startswith("gpu") and c.endswith("_power_w")]
    if not cols:
        return None
    total = 0.0
    for c in cols:
        pts = [(float(r["t_s"]), float(r[c + "_power_w"])) for r in rows if r[c + "_power_w"]]
        for (ta, pa), (tb, pb) in zip(pts, pts[1:]):
            a, b = max(ta, t0_s), min(tb, t1_s)
            if b <= a or tb <= ta:
                continue
            pa2 = pa + (pb - pa) * (a - ta) / (tb - ta)
            pb2 = pa + (pb - pa) * (b - ta) / (tb - ta)
            total += (b - a) * (pa2 + pb2) / 2
    return total

def fmt(v, f="%.1f"):
    return "-" if v is None else f % v

rows = []
for name in ("measure_8s", "measure_0.5s"):
    m = load(os.path.join(out, name + ".json"))
    if not m:
        rows.append([name, "failed or skipped"] + ["-"] * 7)
        continue
    gpu = [c for c in m.get("channels", []) if c.get("domain") == "gpu"]
    counter = sum(c["energy_j"] for c in gpu) if gpu else None
    method = "/".join(sorted({c["method"] for c in gpu})) or "-"
    integ = integrate(os.path.join(out, name + ".csv"), t0_ns=m["t_start_ns"], t1_ns=m["t_end_ns"])
    idle = sum(c.get("idle_power_w") or 0 for c in gpu) if gpu else None
    busy = sum(c["avg_power_w"] for c in gpu) if gpu else None
    peak = max((c["peak_power_w"] for c in gpu), default=None)
    diff = 100 * (integ - counter) / counter if counter and integ is not None else None
    if m.get("exit_status"):
        name += " (load exit %s)" % m["exit_status"]
    rows.append([name, method, fmt(counter), fmt(integ), fmt(diff, "%+.1f%%"), "-", fmt(idle),
                 "%s / %s" % (fmt(busy), fmt(peak)), "-"])

for name in ("pytorch_gpt2", "pytorch_llama1b", "pytorch_llama1b_b6", "native_smollm"):
    s = load(os.path.join(out, "runs", name, "summary.json"))
    if not s:
        rows.append([name, "failed or skipped"] + ["-"] * 7)
        continue
    en, gs = s.get("energy", {}), s.get("gpu_stats") or []
    counter = en.get("gpu_energy_wh")
    counter = counter * 3600 if counter is not None else None
    w = (s.get("timeline") or {}).get("workload") or {}
    integ = integrate(os.path.join(out, "runs", name, "timeseries.csv"),
                         t0_s=w.get("start_s"), t1_s=w.get("end_s"))
    diff = 100 * (integ - counter) / counter if counter and integ is not None else None
    bi = s.get("backend_info") or {}
    growth = (bi.get("gpu_memory") or {}).get("load_growth_mb")
    if growth is None:
        ev = [g.get("memory_growth_mb") for g in (s.get("evidence") or {}).get("gpus", [])]
        growth = sum(x for x in ev if x is not None) if ev else None
    idle = sum(g.get("idle_power_w") or 0 for g in gs) if gs else None
    busy = sum(g.get("avg_power_w") or 0 for g in gs) if gs else None
    peak = max((g.get("peak_power_w") or 0 for g in gs), default=None)
    tok_s = (s.get("latency") or {}).get("output_token_throughput")
    rows.append([name, (en.get("methods") or {}).get("gpu") or "-", fmt(counter), fmt(integ),
                 fmt(diff, "%+.1f%%"), fmt(growth), fmt(idle), "%s / %s" % (fmt(busy), fmt(peak)),
                 fmt(tok_s)])

head = ["step", "GPU method", "GPU J counter", "GPU J integrated power", "integ vs counter",
        "mem growth at load MB", "idle W", "busy avg / peak W", "output tok/s"]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for r in rows:
    print("| " + " | ".join(str(x) for x in r) + " |")
es_rows = []
s = load(os.path.join(out, "runs", "energy_star_llama1b", "summary.json"))
es = (s or {}).get("energy_star")
if es:
    def ci(o, k):
        v, c = o.get(k), o.get(k + "_ci95")
        if v is None:
            return "-"
        return "%.4f" % v + (" ± %.4f" % (c[1] - v) if c else "")
    print()
    print("energy_star (%s repetitions, %s prompts, %s new tokens): GPU Wh" %
          (es["repetitions"], es["samples"], es["new_tokens"]))
    print("| prefill | generate | decode | GPU Wh / 1000 queries |")
    print("|---|---|---|---|")
    es_rows = [ci(es["prefill"], "gpu_wh"), ci(es["generate"], "gpu_wh"),
               ci(es["decode"], "gpu_wh"), ci(es, "gpu_wh_per_1000_queries")]
    print("| " + " | ".join(es_rows) + " |")
json.dump({"columns": head, "rows": rows, "energy_star": es_rows},
          open(os.path.join(out, "device-check.json"), "w"), indent=1)
PY
}

if [ "${1:-}" = "--table" ]; then
    [ -d "${2:-}" ] || { echo "usage: $0 [--table DIR]" >&2; exit 2; }
    print_table "$2"
    exit $?
fi

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-$(mktemp -d /tmp/aieb-device-check.XXXXXX)}
mkdir -p "$OUT"
BUDGET_S=${DEVICE_CHECK_BUDGET_S:-400}
T0=$(date +%s)
JOBS=$(nproc 2>/dev/null || echo 4)
exec > >(tee -a "$OUT/device-check.log") 2>&1

say() { printf '== %s (t=%ds)\n' "$*" "$(($(date +%s) - T0))"; }
die() {
    echo "device-check: error: $*" >&2
    exit 3
}
left() { echo $((BUDGET_S - ($(date +%s) - T0))); }

# run_step NAME MAX_S MIN_S CMD...: runs CMD under `timeout` with at most MAX_S
# seconds and what is left of the budget; skipped when fewer than MIN_S remain.
# The status is recorded in $OUT/steps.txt.
run_step() {
    local name=$1 max=$2 min=$3
    shift 3
    local l
    l=$(left)
    if [ "$l" -lt "$min" ]; then
        say "$name: skipped (${l}s left of the ${BUDGET_S}s budget, needs ${min}s)"
        echo "$name skipped" >>"$OUT/steps.txt"
        return 124
    fi
    [ "$l" -lt "$max" ] && max=$l
    say "$name (timeout ${max}s)"
    local rc=0
    timeout --kill-after=5 "$max" "$@" || rc=$?
    [ "$rc" = 124 ] && echo "device-check: $name timed out after ${max}s"
    echo "$name $rc" >>"$OUT/steps.txt"
    return "$rc"
}

: >"$OUT/steps.txt"
say "aieb device check in $OUT"
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(uname -srm)"
    command -v nvidia-smi >/dev/null &&
        nvidia-smi --query-gpu=index,name,driver_version,memory.total,power.limit \
            --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /'
    echo "cpus: $JOBS"
} | tee "$OUT/machine.txt"

# ---- Python with torch and transformers -----------------------------------------
PY=""
for p in python3 python /opt/conda/bin/python /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 &&
        "$p" -c "import torch, transformers" >/dev/null 2>&1; then
        PY=$(command -v "$p")
        break
    fi
done
[ -n "$PY" ] || die "no Python here imports both torch and transformers (tried python3, python)"
"$PY" -c "import sys, torch, transformers; print('python', sys.version.split()[0], 'torch', \
torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__, \
'gpus', torch.cuda.device_count())" | tee -a "$OUT/machine.txt"

# ---- Build -------------------------------------------------------------------
# The compiler straight away, for machines whose CMake is older than the 3.25
# CMakeLists.txt asks for: every src/lib and src/tool file, data/ embedded by a
# Python twin of cmake/embed.cmake.
direct_build() {
    local dir=$1 mods="yaml-0.1 jansson libcurl cairo sqlite3 libpcre2-8"
    mkdir -p "$dir/obj" "$dir/generated"
    "$PY" - "$REPO/data" "$dir/generated/embedded_data.c" <<'PY' || return 1
import os, sys
data, out = sys.argv[1], sys.argv[2]
body = ['/* Generated by scripts/device-check.sh from data/; do not edit. */',
        '#include <stddef.h>', '#include "util/embedded.h"', '']
table = []
names = sorted(f for f in os.listdir(data) if not (f.startswith(".") or f.endswith("~")
               or "README" in f or os.path.isdir(os.path.join(data, f))))
for i, f in enumerate(names):
    b = open(os.path.join(data, f), "rb").read()
    rows = [",".join("0x%02x" % c for c in b[k:k + 32]) for k in range(0, len(b), 32)]
    body.append("static const unsigned char d%d[%d + 1] = {\n%s%s0x00};" %
                (i, len(b), ",\n".join(rows), "," if rows else ""))
    table.append('    {"%s", d%d, %d},' % (f, i, len(b)))
body += ["", "const aieb_embedded_file aieb_embedded_files[] = {"] + table + \
        ["    {NULL, NULL, 0},", "};", ""]
open(out, "w").write("\n".join(body))
PY
    local version
    version=$(sed -n 's/^project(aieb VERSION \([0-9.]*\).*/\1/p' "$REPO/CMakeLists.txt")
    local cflags
    # shellcheck disable=SC2086  # $mods is a word list
    cflags="-std=c11 -O2 -g -fPIC -pthread -D_GNU_SOURCE -DAIEB_VERSION=\"${version:-0}\" \
-I$REPO/include -I$REPO/src/lib -I$REPO/src/tool $(pkg-config --cflags $mods)"
    find "$REPO/src/lib" "$REPO/src/tool" -name '*.c' >"$dir/sources.txt"
    echo "$dir/generated/embedded_data.c" >>"$dir/sources.txt"
    # shellcheck disable=SC2016
    xargs -P "$JOBS" -I{} sh -c 'o="$1/obj/$(echo "$2" | tr / _).o"; cc $3 -c "$2" -o "$o"' \
        _ "$dir" {} "$cflags" <"$dir/sources.txt" || return 1
    # shellcheck disable=SC2046,SC2086
    cc -pthread "$dir"/obj/*.o -o "$dir/aieb" $(pkg-config --libs $mods) -ldl -lm
}

build_aieb() {
    local dir="$REPO/build-device" missing=""
    for m in yaml-0.1 jansson libcurl cairo sqlite3 libpcre2-8; do
        pkg-config --exists "$m" 2>/dev/null || missing="$missing $m"
    done
    command -v cc >/dev/null || missing="$missing cc(build-essential)"
    command -v pkg-config >/dev/null || missing="$missing pkg-config"
    if [ -n "$missing" ]; then
        echo "device-check: cannot build aieb here; missing:$missing"
        echo "  (Debian/Ubuntu: libyaml-dev libjansson-dev libcurl4-openssl-dev libcairo2-dev"
        echo "   libsqlite3-dev libpcre2-dev pkg-config build-essential; nothing is installed"
        echo "   by this script: no network. Or set AIEB_BIN to an aieb built elsewhere.)"
        return 3
    fi
    local cm
    cm=$(cmake --version 2>/dev/null | sed -n 's/^cmake version \([0-9]*\.[0-9]*\).*/\1/p')
    if [ -z "${DEVICE_CHECK_FORCE_CC:-}" ] && [ -n "$cm" ] && printf '3.25\n%s\n' "$cm" | sort -V -C; then
        cmake -S "$REPO" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DAIEB_TESTS=OFF \
            -DAIEB_BENCH=OFF >"$OUT/cmake.log" 2>&1 &&
            cmake --build "$dir" -j "$JOBS" --target aieb >>"$OUT/cmake.log" 2>&1 &&
            cp "$dir/aieb" "$OUT/aieb.bin" && return 0
        echo "device-check: the CMake build failed; last lines of $OUT/cmake.log:"
        tail -15 "$OUT/cmake.log"
        return 1
    fi
    echo "device-check: CMake ${cm:-missing} is older than 3.25: compiling directly"
    direct_build "$dir-cc" >"$OUT/cc.log" 2>&1 && cp "$dir-cc/aieb" "$OUT/aieb.bin" && return 0
    echo "device-check: the direct build failed; last lines of $OUT/cc.log:"
    tail -15 "$OUT/cc.log"
    return 1
}

if [ -n "${AIEB_BIN:-}" ]; then
    [ -x "$AIEB_BIN" ] || die "AIEB_BIN=$AIEB_BIN is not executable"
    AIEB=$AIEB_BIN
else
    export -f build_aieb direct_build
    export REPO OUT JOBS PY
    run_step build 200 60 bash -c build_aieb || die "no aieb binary (see above)"
    AIEB="$OUT/aieb.bin"
fi
export AIEB_TORCH_WORKER="$REPO/python/aieb_torch_worker.py"
"$AIEB" --version

# ---- Probe ---------------------------------------------------------------------
run_step probe 30 10 "$AIEB" probe | tee "$OUT/probe.txt"

# ---- Measure a torch matmul load ----------------------------------------------------
cat >"$OUT/matmul.py" <<'PY'
import sys, time, torch
secs = float(sys.argv[1])
a = torch.randn(8192, 8192, device="cuda", dtype=torch.float16)
b = torch.randn_like(a)
torch.cuda.synchronize()
t0, n = time.monotonic(), 0
while time.monotonic() - t0 < secs:
    for _ in range(10):
        c = a @ b
    torch.cuda.synchronize()
    n += 10
dt = time.monotonic() - t0
print("matmul: %d products of 8192^2 fp16 in %.2f s, %.1f TFLOP/s" % (n, dt, n * 2 * 8192**3 / dt / 1e12))
PY
run_step measure_8s 60 25 "$AIEB" measure --interval-ms 50 --idle-baseline 3 \
    --json "$OUT/measure_8s.json" --timeline "$OUT/measure_8s.csv" -- "$PY" "$OUT/matmul.py" 8
run_step measure_0.5s 40 15 "$AIEB" measure --interval-ms 20 --idle-baseline 2 \
    --json "$OUT/measure_0.5s.json" --timeline "$OUT/measure_0.5s.csv" -- "$PY" "$OUT/matmul.py" 0.5

# ---- Benchmarks through `aieb run` --------------------------------------------------
write_config() { # NAME TYPE MODEL SAMPLES MAX_NEW BATCH EXTRA_BACKEND [EXTRA_SCENARIO]
    cat >"$OUT/$1.yaml" <<YAML
name: $1
backend:
  type: $2
  model: "$3"
  python: $PY
  device: cuda
  torch_dtype: float16
  startup_timeout_s: 120
  timeout_s: 120
$7
scenario:
  dataset_name: builtin
  num_samples: $4
  warmup_requests: 1
  seed: 1
  input_shapes:
    batch_size: $6
${8:-}
  generate_kwargs:
    max_new_tokens: $5
    min_new_tokens: $5
metrics:
  sample_interval_ms: 50
  idle_baseline_s: 3
  country_iso_code: USA
reporter:
  output_file: $OUT/benchmark_results.csv
output_dir: $OUT/runs
YAML
}
bench() { # NAME MAX_S MIN_S
    run_step "$1" "$2" "$3" "$AIEB" run "$OUT/$1.yaml" --run-dir "$OUT/runs/$1"
}
write_config pytorch_gpt2 pytorch synthetic:gpt2 8 64 1 ""
write_config pytorch_llama1b pytorch synthetic:llama-3.2-1b 6 48 1 ""
write_config pytorch_llama1b_b6 pytorch synthetic:llama-3.2-1b 6 48 6 ""
write_config native_smollm native "synthetic:smollm-135m?type=q8_0" 4 32 1 "  threads: 0"
bench pytorch_gpt2 90 40
bench pytorch_llama1b 100 45
bench native_smollm 60 25
bench pytorch_llama1b_b6 70 40
# AIEnergyScore's method (docs/ratings.md): prefill and generate passes, 3 repetitions
write_config energy_star_llama1b pytorch synthetic:llama-3.2-1b 6 10 1 "" \
    "  method: energy_star
  repetitions: 3"
bench energy_star_llama1b 90 40

# ---- The table ---------------------------------------------------------------------
say "table"
print_table "$OUT" | tee "$OUT/device-check.md"
echo
cat "$OUT/machine.txt"
echo "steps: $(tr '\n' ' ' <"$OUT/steps.txt")"
say "done; files in $OUT"
