#!/usr/bin/env bash
# aieb probe: GPUs through the fake NVML (counter or not, instant power or not),
# RAPL zones from a fixture tree, estimates, carbon intensity; text and JSON;
# exit 0 even when nothing is measurable.
source "$AIEB_SOURCE_DIR/tests/integration/lib.sh"

FAKE="$AIEB_BUILD_DIR/tests/fakes/libfake_nvml.so"
[ -r "$FAKE" ] || { echo "skip: $FAKE not built"; exit 77; }
command -v python3 >/dev/null || { echo "skip: python3 needed to read JSON"; exit 77; }
unset CUDA_VISIBLE_DEVICES FAKE_NVML_NO_COUNTER FAKE_NVML_NO_INSTANT FAKE_NVML_POWER \
    COUNTRY_ISO_CODE REGION
export AIEB_POWERCAP_ROOT="$T/no-powercap"

# ---- nothing measurable: still exit 0 ---------------------------------------------
expect_status 0 env AIEB_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1 "$AIEB" probe
expect_grep '^GPUs: none measurable' "$T/out"
expect_grep 'cannot load /nonexistent/libnvidia-ml.so.1' "$T/out"
expect_grep 'RAPL under .*no-powercap.*not usable' "$T/out"
expect_grep 'cpu: estimate_tdp_load' "$T/out"
expect_grep 'ram: estimate_dimm' "$T/out"
# the carbon intensity a run would use: the config's default country, said so
expect_grep '^Carbon intensity: 393 gCO2e/kWh, what a run here uses' "$T/out"
expect_grep '^  country: USA \(United States\), the default$' "$T/out"
expect_grep '^  region:  none ' "$T/out"
expect_grep '^  figure:  the country.s, Ember via OWID 2023$' "$T/out"
if grep -q 'cannot load' "$T/err"; then fail "probe also logged its findings to stderr"; fi
expect_status 0 env AIEB_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1 "$AIEB" probe --json
python3 - "$T/out" <<'EOF' || fail "no-GPU JSON"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["gpus"] is None and "cannot load" in j["gpus_why"], j.get("gpus_why")
assert j["rapl"]["usable"] is False and j["rapl"]["error"], j["rapl"]
assert j["estimates"]["cpu"]["method"] == "estimate_tdp_load"
c = j["carbon"]
assert c["g_per_kwh"] == 392.85 and c["basis"] == "country" and c["iso3"] == "USA", c
assert c["from"] == {"country": "default", "region": None, "g_per_kwh": "table"}, c["from"]
assert [c["label"] for c in j["channels"]] == ["cpu", "ram"]
EOF

# ---- fake GPUs ----------------------------------------------------------------------
export AIEB_NVML_LIBRARY="$FAKE"
expect_status 0 env FAKE_NVML_DEVICES=2 "$AIEB" probe
expect_grep '^GPUs \(NVML from .*libfake_nvml.so; chosen: all\)' "$T/out"
expect_grep 'gpu0 +Fake NVIDIA H100 80GB HBM3  GPU-fa4e0000-0000-4000-8000-000000000000' "$T/out"
expect_grep 'gpu1 +Fake NVIDIA H100 80GB HBM3  GPU-fa4e0000-0000-4000-8000-000000000001' "$T/out"
expect_grep 'memory 81559 MiB, power limit 700 W, Hopper' "$T/out"
expect_grep 'energy counter: yes, instant power: yes, power usage: yes -> nvml_counter' "$T/out"
expect_grep 'Channels a run would record: gpu0 \(nvml_counter\) gpu1 \(nvml_counter\) cpu' "$T/out"

expect_status 0 env FAKE_NVML_DEVICES=2 FAKE_NVML_NO_COUNTER=1 FAKE_NVML_NO_INSTANT=1 \
    CUDA_VISIBLE_DEVICES=1 "$AIEB" probe
expect_grep 'energy counter: no, instant power: no, power usage: yes -> nvml_power' "$T/out"
expect_grep "chosen: CUDA_VISIBLE_DEVICES '1'" "$T/out"
expect_grep 'gpu0 .*\(not chosen\)' "$T/out"
expect_grep 'Channels a run would record: gpu1 \(nvml_power\) cpu' "$T/out"

expect_status 0 env AIEB_NVML_LIBRARY="$AIEB_BUILD_DIR/tests/fakes/libfake_nvml_min.so" \
    "$AIEB" probe --json
python3 - "$T/out" <<'EOF' || fail "minimal library JSON"
import json, sys
d = json.load(open(sys.argv[1]))["gpus"]["devices"][0]
assert d["energy_counter"] is False and d["instant_power"] is False, d
assert d["power_usage"] is True and d["method"] == "nvml_power", d
assert d["power_limit_w"] == 0 and d["utilization"] is False, d
EOF

expect_status 0 env FAKE_NVML_DEVICES=3 "$AIEB" probe --json --gpus 2,0 --country FRA
python3 - "$T/out" <<'EOF' || fail "JSON"
import json, sys
j = json.load(open(sys.argv[1]))
devs = j["gpus"]["devices"]
assert len(devs) == 3 and [d["selected"] for d in devs] == [True, False, True]
for d in devs:
    for k in ["index", "name", "uuid", "memory_total_mb", "power_limit_w", "energy_counter",
              "instant_power"]:
        assert k in d, k
assert devs[1]["uuid"] == "GPU-fa4e0000-0000-4000-8000-000000000001"
assert [c["label"] for c in j["channels"]][:2] == ["gpu2", "gpu0"], j["channels"]
assert j["carbon"]["iso3"] == "FRA" and j["carbon"]["basis"] == "country", j["carbon"]
assert 0 < j["carbon"]["g_per_kwh"] < 475
EOF

# ---- RAPL fixture trees: zones readable or not, DRAM measured ----------------------
mkz() { # mkz ROOT ZONE NAME UJ
    mkdir -p "$1/$2"
    echo "$3" >"$1/$2/name"
    echo "$4" >"$1/$2/energy_uj"
    echo 262143328850 >"$1/$2/max_energy_range_uj"
}
R="$T/powercap"
mkz "$R" intel-rapl:0 package-0 1000
mkz "$R" intel-rapl:0:0 core 400
mkz "$R" intel-rapl:0:1 dram 500
expect_status 0 env AIEB_POWERCAP_ROOT="$R" FAKE_NVML_DEVICES=1 "$AIEB" probe
expect_grep 'RAPL under .*/powercap\): usable' "$T/out"
expect_grep 'intel-rapl:0 +package-0 +msr +readable +summed into cpu' "$T/out"
expect_grep 'intel-rapl:0:1 +dram +msr +readable +summed into dram' "$T/out"
expect_grep 'intel-rapl:0:0 +core +msr +readable' "$T/out"
expect_grep 'cpu: none needed \(RAPL measures the packages\)' "$T/out"
expect_grep 'ram: estimate_dimm.*beside measured DRAM, never in totals' "$T/out"
expect_grep 'cpu \(rapl\) dram \(rapl\) ram \(estimate_dimm, informational\)' "$T/out"
# measure: DRAM measured, the RAM estimate beside it and out of the total
expect_status 0 env AIEB_POWERCAP_ROOT="$R" FAKE_NVML_POWER=const:100 \
    "$AIEB" measure --json "$T/rapl.json" -- sleep 0.3
expect_grep 'beside measured DRAM; not in total' "$T/err"
python3 - "$T/rapl.json" <<'EOF' || fail "measure with RAPL"
import json, sys
j = json.load(open(sys.argv[1])); e = j["energy"]
assert j["methods"]["cpu"] == "rapl" and j["methods"]["dram"] == "rapl", j["methods"]
assert e["ram_in_total"] is False and e["ram_j"] > 0, e
assert abs(e["total_j"] - (e["gpu_j"] + e["cpu_j"] + e["dram_j"])) < 1e-9, e
EOF
# a zone whose energy_uj cannot be read: the reason, and the CPU estimate instead
R2="$T/powercap-bad"
mkz "$R2" intel-rapl:0 package-0 1000
rm "$R2/intel-rapl:0/energy_uj"
mkdir "$R2/intel-rapl:0/energy_uj"
expect_status 0 env AIEB_POWERCAP_ROOT="$R2" "$AIEB" probe
expect_grep 'intel-rapl:0 +package-0 +msr +not readable' "$T/out"
expect_grep 'cpu: estimate_tdp_load' "$T/out"

# ---- carbon intensity: environment, options, where each part came from -------------
export AIEB_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1
expect_status 0 env COUNTRY_ISO_CODE=usa REGION=CA "$AIEB" probe
expect_grep '^Carbon intensity: 226 gCO2e/kWh' "$T/out"
expect_grep '^  country: USA \(United States\), from env COUNTRY_ISO_CODE$' "$T/out"
expect_grep '^  region:  CA \(California\), from env REGION$' "$T/out"
expect_grep '^  figure:  the region.s, EPA eGRID2022 CAMX 2022$' "$T/out"
expect_status 0 env COUNTRY_ISO_CODE=USA REGION=CA "$AIEB" probe --country FRA --region ""
expect_grep '^Carbon intensity: 55 gCO2e/kWh' "$T/out"
expect_grep '^  country: FRA \(France\), from --country$' "$T/out"
expect_status 0 env REGION=Atlantis "$AIEB" probe
expect_grep '^  region:  none found \(asked for by env REGION\)$' "$T/out"
expect_grep "^  note:    region 'Atlantis' is not in the carbon table for USA" "$T/out"
expect_status 0 env REGION=null "$AIEB" probe --carbon-intensity 12 --json
python3 - "$T/out" <<'EOF' || fail "carbon JSON with an override"
import json, sys
c = json.load(open(sys.argv[1]))["carbon"]
assert c["g_per_kwh"] == 12 and c["basis"] == "override" and c["iso3"] == "USA", c
assert c["from"] == {"country": "default", "region": None, "g_per_kwh": "--carbon-intensity"}, c
EOF
# a country the table lacks is an error unless the intensity is given
expect_status 2 "$AIEB" probe --country XYZ && expect_grep "country 'XYZ' is not in the carbon table" "$T/err"
expect_status 2 env COUNTRY_ISO_CODE=ZZZ "$AIEB" probe &&
    expect_grep "country 'ZZZ' from COUNTRY_ISO_CODE is not in the carbon table" "$T/err"
expect_status 2 env COUNTRY_ISO_CODE=France "$AIEB" probe &&
    expect_grep 'COUNTRY_ISO_CODE=France: not an ISO 3166 alpha-3 country code' "$T/err"
expect_status 0 "$AIEB" probe --country XYZ --carbon-intensity 300 &&
    expect_grep '^  country: XYZ, from --country$' "$T/out"
export AIEB_NVML_LIBRARY="$FAKE"

# ---- usage ------------------------------------------------------------------------
expect_status 0 "$AIEB" probe --help
expect_grep 'Usage: aieb probe' "$T/out"
expect_status 2 "$AIEB" probe --bogus
expect_status 2 "$AIEB" probe extra
expect_status 2 env FAKE_NVML_DEVICES=1 "$AIEB" probe --gpus 5
expect_grep 'no GPU 5' "$T/err"
expect_status 2 "$AIEB" probe --carbon-intensity -3

finish
