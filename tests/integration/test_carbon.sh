#!/usr/bin/env bash
# One carbon intensity for one place: `aieb probe`, `aieb measure` and `aieb run`
# resolve it the same way (country, region, override; COUNTRY_ISO_CODE, REGION;
# the default country), so for the same environment they report the same
# figure. A country the carbon table lacks is an error in all three, and in
# `aieb config check`, before anything runs.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "skip: python3 needed to read JSON"; exit 77; }
unset COUNTRY_ISO_CODE REGION CUDA_VISIBLE_DEVICES
export AIEB_NVML_LIBRARY="$T/no-such-libnvidia-ml.so"
export AIEB_POWERCAP_ROOT="$T/no-powercap"

# A tiny native run, as tests/integration/test_run_native.sh's.
write_config() { # FILE [EXTRA METRICS LINES]
    cat >"$1" <<YAML
name: carbon
backend:
  type: native
  model: "synthetic:smollm-135m?type=q8_0"
  threads: 1
  context_length: 128
scenario:
  dataset_name: builtin
  num_samples: 1
  warmup_requests: 0
  generate_kwargs:
    max_new_tokens: 2
    min_new_tokens: 2
metrics:
  idle_baseline_s: 0
  sample_interval_ms: 20
${2:-}
reporter:
  output_file: $T/results.csv
output_dir: $T/runs
YAML
}
write_config "$T/run.yaml"

# probe --json, measure --json and a run's summary.json under one environment:
# the same intensity, country and region.
same_everywhere() { # LABEL ENV...
    local label=$1
    shift
    expect_status 0 env "$@" "$AIEB" probe --json || return
    cp "$T/out" "$T/probe.json"
    expect_status 0 env "$@" "$AIEB" measure --json "$T/measure.json" -- true || return
    expect_status 0 env "$@" "$AIEB" run "$T/run.yaml" || return
    local run_dir
    run_dir=$(tail -n 1 "$T/out")
    python3 - "$label" "$T/probe.json" "$T/measure.json" "$run_dir/summary.json" \
        "$run_dir/emissions.csv" <<'PY' || fail "$label: probe, measure and run differ"
import csv, json, sys
label = sys.argv[1]
p = json.load(open(sys.argv[2]))["carbon"]
m = json.load(open(sys.argv[3]))
s = json.load(open(sys.argv[4]))["energy"]
e = list(csv.DictReader(open(sys.argv[5])))[-1]
want = {"probe": (p["g_per_kwh"], p["iso3"], p["region"]),
        "measure": (m["carbon_intensity_g_per_kwh"], m["carbon"]["iso3"], m["carbon"]["region"]),
        "run": (s["carbon_intensity_g_per_kwh"], s["country_iso_code"], s["region"]),
        # kg / kWh (CodeCarbon's units); a run this short may have no energy yet
        "run emissions.csv": (float(e["emissions"]) * 1000 / float(e["energy_consumed"])
                              if float(e["energy_consumed"]) > 0 else p["g_per_kwh"],
                              e["country_iso_code"], e["region"] or None)}
base = want["probe"]
for k, v in want.items():
    tol = 1e-3 if k == "run emissions.csv" else 1e-9
    assert abs(v[0] - base[0]) <= tol * base[0] and v[1:] == base[1:], (label, k, v, base)
print(label, base)
PY
}
same_everywhere "defaults"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["carbon"]; assert c["iso3"]=="USA" and c["from"]["country"]=="default", c' \
    "$T/probe.json" || fail "the default country is not USA"
same_everywhere "COUNTRY_ISO_CODE" COUNTRY_ISO_CODE=fra
same_everywhere "REGION" COUNTRY_ISO_CODE=USA REGION=CAMX
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["carbon"]; assert c["basis"]=="region" and c["region"]=="CAMX", c' \
    "$T/probe.json" || fail "REGION was not used"
same_everywhere "REGION=null" COUNTRY_ISO_CODE=DEU REGION=null

# The options of probe and measure are the config's keys: the same figure again.
expect_status 0 "$AIEB" probe --json --country FRA --carbon-intensity 100
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["carbon"]; assert c["g_per_kwh"]==100 and c["iso3"]=="FRA", c' \
    "$T/out" || fail "probe override"

# A country the table lacks: exit 2 in every command, before anything runs.
expect_status 2 env COUNTRY_ISO_CODE=XYZ "$AIEB" probe &&
    expect_grep "country 'XYZ' from COUNTRY_ISO_CODE is not in the carbon table" "$T/err"
expect_status 2 env COUNTRY_ISO_CODE=XYZ "$AIEB" measure -- true &&
    expect_grep "country 'XYZ' from COUNTRY_ISO_CODE is not in the carbon table" "$T/err"
rm -rf "$T/runs"
expect_status 2 env COUNTRY_ISO_CODE=XYZ "$AIEB" run "$T/run.yaml" &&
    expect_grep "^env COUNTRY_ISO_CODE: metrics\.country_iso_code: .*country 'XYZ' is not in the carbon table" "$T/err"
[ -e "$T/runs" ] && fail "a run with an unknown country started"
write_config "$T/xyz.yaml" "  country_iso_code: xyz"
expect_status 2 "$AIEB" config check "$T/xyz.yaml" &&
    expect_grep "xyz\.yaml:17:21: metrics\.country_iso_code: carbon intensity: country 'XYZ' is not in the carbon table" "$T/err"
# with the intensity given, the country is a label
write_config "$T/xyz_given.yaml" "  country_iso_code: xyz
  carbon_intensity_g_per_kwh: 300"
expect_status 0 "$AIEB" config check "$T/xyz_given.yaml"

finish
