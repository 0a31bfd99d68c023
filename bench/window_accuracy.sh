#!/usr/bin/env bash
# window_accuracy.sh - how close 1 s and 2 s windows of `aieb measure --timeline`
# come to the exact integral, on the fake NVML's 100/300 W square wave with a
# 530 ms period (no interval divides it; its counter moves every 100 ms), at a
# few sampling intervals, on an idle machine and with every core saturated.
# Also prints the share of windows whose error stayed within the bound the run
# states, and the sampler's lateness. The table in docs/methodology.md
# ("Sampling accuracy") comes from this script.
#
# Usage: bench/window_accuracy.sh [BUILD_DIR] [SECONDS] [INTERVALS...]
#        (defaults: build, 10, "100 20 10")
set -euo pipefail
build=${1:-build}
secs=${2:-10}
shift 2 2>/dev/null || shift $#
intervals=("$@")
[ ${#intervals[@]} -gt 0 ] || intervals=(100 20 10)
aieb="$build/aieb"
fake="$build/tests/fakes/libfake_nvml.so"
[ -x "$aieb" ] && [ -r "$fake" ] || {
    echo "build first: $aieb and $fake are needed" >&2
    exit 2
}
tmp=$(mktemp -d)
hogs=()
cleanup() {
    for p in "${hogs[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

one() { # INTERVAL LOAD
    local t0
    t0=$(python3 -c 'import time; print(time.monotonic_ns())')
    AIEB_NVML_LIBRARY="$fake" AIEB_POWERCAP_ROOT="$tmp/none" FAKE_NVML_T0_NS="$t0" \
        FAKE_NVML_POWER=square:100:300:0.53 \
        "$aieb" measure --interval-ms "$1" --timeline "$tmp/t.csv" --json "$tmp/m.json" \
        -- sleep "$secs" >/dev/null 2>&1
    python3 - "$t0" "$tmp/t.csv" "$tmp/m.json" "$1" "$2" <<'EOF'
import csv, json, math, sys
t0, path, jpath, iv, load = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
def F(tau):
    lo, hi, p = 100, 300, 0.53; h = p / 2; n = math.floor(tau / p); r = tau - n * p
    return n * h * (lo + hi) + (lo * r if r < h else lo * h + hi * (r - h))
rows = list(csv.reader(open(path))); ie = rows[0].index("gpu0_energy_j")
pts = [(int(r[0]), float(r[ie])) for r in rows[1:]]
out = []
for w in (1.0, 2.0):
    errs = []
    for i, (ta, ea) in enumerate(pts):
        for tb, eb in pts[i + 1:]:
            if abs((tb - ta) / 1e9 - w) < 0.01:
                ex = F((tb - t0) / 1e9) - F((ta - t0) / 1e9)
                errs.append(abs(100 * ((eb - ea) - ex) / ex))
                break
    errs.sort()
    out.append(f"{errs[-1]:.2f}% / {errs[int(0.95 * (len(errs) - 1))]:.2f}% (n={len(errs)})")
q = json.load(open(jpath))["quality"]
print(f"| {iv} ms | {load} | {out[0]} | {out[1]} | {q['late_ms']['median']:.3g} / "
      f"{q['late_ms']['p95']:.3g} / {q['late_ms']['max']:.3g} ms |")
EOF
}

echo "| interval | load | 1 s windows, max / p95 error | 2 s windows, max / p95 | sampler late (median / p95 / max) |"
echo "|---|---|---|---|---|"
for iv in "${intervals[@]}"; do one "$iv" idle; done
for _ in $(seq "$(nproc)"); do
    (while :; do :; done) &
    hogs+=($!)
done
for iv in "${intervals[@]}"; do one "$iv" "all cores busy"; done
