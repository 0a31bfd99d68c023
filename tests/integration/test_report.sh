#!/usr/bin/env bash
# `aieb report`: re-rendering fixtures (report.md equals the golden file), JSON
# key figures, --compare, errors; and a real `aieb run` against the test server
# leaving report.md, power.png and power.svg, with its progress on a pipe, under
# -q and on a pseudo-terminal.
. "$(dirname "$0")/lib.sh"

GOLDEN="$AIEB_SOURCE_DIR/tests/golden/report"
for fx in gpu cpu; do
    mkdir -p "$T/$fx"
    cp "$GOLDEN/$fx/summary.json" "$GOLDEN/$fx/requests.jsonl" "$GOLDEN/$fx/timeseries.csv" "$T/$fx/"
done

# ---- surface and errors -------------------------------------------------------
expect_status 0 "$AIEB" report --help && expect_grep '^Usage: aieb report RUN ' "$T/out"
expect_status 0 "$AIEB" --help && expect_grep '^  report ' "$T/out"
expect_status 2 "$AIEB" report && expect_grep "missing RUN " "$T/err"
expect_status 2 "$AIEB" report "$T/nope" && expect_grep "no such run directory" "$T/err"
mkdir -p "$T/empty"
expect_status 2 "$AIEB" report "$T/empty" && expect_grep "no summary.json" "$T/err"
expect_status 2 "$AIEB" report "$T/gpu/summary.json" && expect_grep "not a directory" "$T/err"
expect_status 2 "$AIEB" report "$T/gpu" --format xml && expect_grep "md or json" "$T/err"
expect_status 2 "$AIEB" report "$T/gpu" "$T/cpu" && expect_grep "use --compare" "$T/err"
expect_status 2 "$AIEB" report --compare "$T/gpu" && expect_grep "two or more" "$T/err"
expect_status 2 "$AIEB" report --compare "$T/gpu" "$T/nope" && expect_grep "no such run directory" "$T/err"
mkdir -p "$T/bad" && echo '{"name": ' >"$T/bad/summary.json"
expect_status 2 "$AIEB" report "$T/bad" && expect_grep "summary.json" "$T/err"
[ -e "$T/bad/report.md" ] && fail "a report was written for a bad summary.json"

# ---- re-rendering: the golden report, the plot --------------------------------------
for fx in gpu cpu; do
    if expect_status 0 "$AIEB" report "$T/$fx"; then
        [ "$(cat "$T/out")" = "$T/$fx/report.md" ] || fail "report printed '$(cat "$T/out")'"
        cmp -s "$T/$fx/report.md" "$GOLDEN/$fx/report.md" || fail "$fx: report.md differs from the golden file"
        [ "$(head -c 8 "$T/$fx/power.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
            fail "$fx: power.png is not a PNG"
        grep -q '<svg' "$T/$fx/power.svg" || fail "$fx: power.svg is not SVG"
    fi
done
# A trailing slash makes no "//" in the printed path.
expect_status 0 "$AIEB" report "$T/cpu/" && [ "$(cat "$T/out")" = "$T/cpu/report.md" ] ||
    fail "trailing slash: printed '$(cat "$T/out")'"

# ---- --format json ----------------------------------------------------------------
if expect_status 0 "$AIEB" report "$T/gpu" --format json; then
    python3 - "$T/out" "$T/gpu/summary.json" <<'PY' || fail "--format json figures"
import json, sys
k, s = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert k["energy_wh"] == s["energy"]["energy_wh"], k
assert k["wh_per_1000_queries"] == s["energy"]["wh_per_1000_queries"]
assert k["tpot_ms_p50"] == s["latency"]["tpot_ms"]["median"]
assert k["gpu_active"] is True and k["primary"] == "gpu" and k["requests_ok"] == 4
PY
fi

# ---- --compare ----------------------------------------------------------------------
if expect_status 0 "$AIEB" report --compare "$T/gpu" "$T/cpu"; then
    expect_grep '^\| Metric \| 1: quickstart [0-9TZ]+ \| 2: quickstart [0-9TZ]+ \|$' "$T/out"
    expect_grep '^\| Primary metric \| gpu \| cpu\+ram \|$' "$T/out"
    python3 - "$T/out" "$T/gpu/summary.json" "$T/cpu/summary.json" <<'PY' || fail "compare ratios"
import json, re, sys
table = open(sys.argv[1]).read()
a, b = (json.load(open(p)) for p in sys.argv[2:4])
for label, v1, v2 in [
    ("Energy, total \\(Wh\\)", a["energy"]["total_energy_wh"], b["energy"]["total_energy_wh"]),
    ("J per output token", a["energy"]["j_per_output_token"], b["energy"]["j_per_output_token"]),
    ("TTFT p50 \\(ms\\)", a["latency"]["ttft_ms"]["median"], b["latency"]["ttft_ms"]["median"]),
]:
    m = re.search(r"^\| %s \| [^|]+ \| [^|]+ \(x([0-9.]+)\) \|$" % label, table, re.M)
    assert m, label
    assert abs(float(m.group(1)) - v2 / v1) <= 0.006, (label, m.group(1), v2 / v1)
PY
fi
expect_status 0 "$AIEB" report --compare "$T/gpu" "$T/cpu" "$T/gpu" --format json &&
    [ "$(json_get "$T/out" "len(d)")" = 3 ] || fail "compare --format json"

# ---- a real run leaves the report, the plot and shows progress -------------------------
FAKE_NVML="$AIEB_BUILD_DIR/tests/fakes/libfake_nvml.so"
[ -f "$FAKE_NVML" ] || skip_rest "fake NVML not built"
# The square wave makes a plot worth looking at, but its phase over the idle
# baseline depends on when each step of the run happens, so whether power "rose"
# is timing luck. The verdict rests on memory instead: it grows 1 GB a second from
# the start, whatever the pace of the run.
export AIEB_NVML_LIBRARY="$FAKE_NVML" FAKE_NVML_POWER="square:80:300:0.4" FAKE_NVML_DEVICES=1
export FAKE_NVML_MEM_USED_MB="ramp:1000:61000:60"
export AIEB_POWERCAP_ROOT="$T/no-powercap"
start_openai_server srv --first-token-ms 30 --token-ms 10 --tokens 4
cat >"$T/run.yaml" <<YAML
name: report-e2e
backend:
  type: openai
  model: test-model
  endpoint: http://127.0.0.1:$srv_PORT/v1
scenario:
  dataset_name: builtin
  num_samples: 12
  warmup_requests: 1
  generate_kwargs:
    max_new_tokens: 4
metrics:
  sample_interval_ms: 20
  idle_baseline_s: 0.3
  country_iso_code: FRA
output_dir: $T/runs
YAML
if expect_status 0 "$AIEB" run "$T/run.yaml"; then
    run_dir=$(tail -n 1 "$T/out")
    for f in report.md power.png power.svg; do
        [ -s "$run_dir/$f" ] || fail "$f missing from the run directory"
    done
    expect_grep '^\*\*Verdict: GPU used\.\*\*' "$run_dir/report.md"
    expect_grep '^\| 11 \| ' "$run_dir/report.md"
    # On a pipe: plain progress lines, the last one at 12/12.
    expect_grep '^aieb: progress: 12/12 requests \(0 failed\), [0-9.]+ req/s, [0-9.]+ tok/s, [0-9]+ W, .*ETA done$' "$T/err"
    grep -q $'\r' "$T/err" && fail "carriage returns on a pipe"
    # `aieb report` writes the same report.md again.
    cp "$run_dir/report.md" "$T/first.md"
    expect_status 0 "$AIEB" report "$run_dir" && cmp -s "$T/first.md" "$run_dir/report.md" ||
        fail "aieb report did not reproduce the run's report.md"
fi
expect_status 0 "$AIEB" -q run "$T/run.yaml"
grep -q 'progress' "$T/err" && fail "-q still shows progress"
# On a pseudo-terminal: the bar, redrawn with carriage returns and erased at the end.
python3 - "$AIEB" "$T/run.yaml" "$T/tty.out" <<'PY' || fail "progress bar on a terminal"
import os, pty, subprocess, sys
master, slave = pty.openpty()
p = subprocess.Popen([sys.argv[1], "run", sys.argv[2]], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=slave)
os.close(slave)
out = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
assert p.wait() == 0
open(sys.argv[3], "wb").write(out)
assert b"\r[" in out, out[-400:]
assert b"/12 " in out
assert b"\r\x1b[Kaieb: info: 12 request(s) ok" in out, out[-400:]
assert b"aieb: progress:" not in out
PY
finish
