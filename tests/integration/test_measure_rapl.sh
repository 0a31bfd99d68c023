#!/usr/bin/env bash
# `aieb measure` on fixture powercap trees whose energy_uj counters advance while
# it runs (the measured command advances them): package summing across sockets,
# a wrap-around during the run, psys/core/uncore and the MMIO view of package-0
# never added, DRAM reported apart, and the estimate fallback when energy_uj
# cannot be read.
. "$(dirname "$0")/lib.sh"
. "$AIEB_SOURCE_DIR/tests/fixtures/powercap/powercap.sh"

export AIEB_NVML_LIBRARY="$T/no-nvml.so"
root="$T/powercap"
pc_server "$root"
PC="$AIEB_SOURCE_DIR/tests/fixtures/powercap/powercap.sh"

# package-0 starts 1 J below its wrap point: adding 3 J crosses it.
script=". '$PC'; sleep 0.3;
  pc_add '$root' intel-rapl:0 3000000; pc_add '$root' intel-rapl-mmio:0 3000000
  pc_add '$root' intel-rapl:1 2000000
  pc_add '$root' intel-rapl:0:0 900000; pc_add '$root' intel-rapl:0:1 400000
  pc_add '$root' intel-rapl:2 9000000
  pc_add '$root' intel-rapl:0:2 500000; pc_add '$root' intel-rapl:1:2 200000; sleep 0.3"
if expect_status 0 env AIEB_POWERCAP_ROOT="$root" "$AIEB" measure --interval-ms 20 \
    --json "$T/m.json" -- bash -c "$script"; then
    python3 - "$T/m.json" <<'PY' || fail "RAPL sums"
import json, sys
d = json.load(open(sys.argv[1]))
e, m = d["energy"], d["methods"]
assert m["cpu"] == "rapl", m
assert abs(e["cpu_j"] - 5.0) < 1e-6, e        # 3 J (across the wrap) + 2 J; not psys, core, MMIO
assert abs(e["dram_j"] - 0.7) < 1e-6, e       # both sockets' dram sub-zones
PY
fi

# A longer burn at a known power, read while it happens: 20 W for 2 s on package-1.
if expect_status 0 env AIEB_POWERCAP_ROOT="$root" "$AIEB" measure --interval-ms 50 \
    --json "$T/burn.json" -- bash -c ". '$PC'; pc_burn '$root' 20 2 100 intel-rapl:1 >/dev/null"; then
    python3 - "$T/burn.json" <<'PY' || fail "RAPL burn"
import json, sys
d = json.load(open(sys.argv[1]))
# 20 W x 2 s as written: the window starts at a reading taken before the fork
# and ends at the stop reading, so it is the counters' difference, exactly
assert abs(d["energy"]["cpu_j"] - 40.0) < 1e-6, d["energy"]
PY
fi

# energy_uj that cannot be read: the CPU estimate is used and the reason is named.
rm -rf "$root" && mkdir -p "$root/intel-rapl:0" && echo package-0 >"$root/intel-rapl:0/name"
echo 262143328850 >"$root/intel-rapl:0/max_energy_range_uj"
mkdir "$root/intel-rapl:0/energy_uj"   # a directory: unreadable as a counter, even for root
if expect_status 0 env AIEB_POWERCAP_ROOT="$root" "$AIEB" measure --json "$T/est.json" -- true; then
    [ "$(json_get "$T/est.json" "d['methods']['cpu']")" = estimate_tdp_load ] ||
        fail "unreadable RAPL should fall back to the estimate"
    expect_grep "energy_uj" "$T/err"
fi
finish
