#!/usr/bin/env bash
# The results store end to end: `aieb run` against the OpenAI-compatible test
# server (fake NVML as the GPU) records each run, standard or energy_star,
# finished, interrupted or failed, in the SQLite database; `aieb history` lists them; `aieb report
# --compare` takes their ids; two runs finishing together both land; a database
# that cannot be written costs no file and is caught up with `history --add`.
. "$(dirname "$0")/lib.sh"

FAKE_NVML="$AIEB_BUILD_DIR/tests/fakes/libfake_nvml.so"
[ -f "$FAKE_NVML" ] || { echo "skip: fake NVML not built"; exit 77; }
export AIEB_NVML_LIBRARY="$FAKE_NVML" FAKE_NVML_POWER="const:200" FAKE_NVML_DEVICES=1
export AIEB_POWERCAP_ROOT="$T/no-powercap"
unset AIEB_DATABASE OUTPUT_DIR

start_openai_server srv --first-token-ms 20 --token-ms 5 --tokens 4
DB="$T/db/aieb.db"

write_config() { # FILE NAME PORT
    cat >"$1" <<YAML
name: $2
backend:
  type: openai
  model: test-model
  endpoint: http://127.0.0.1:$3/v1
scenario:
  dataset_name: builtin
  num_samples: 4
  warmup_requests: 0
  generate_kwargs:
    max_new_tokens: 4
metrics:
  sample_interval_ms: 20
  idle_baseline_s: 0
  country_iso_code: FRA
reporter:
  output_file: $T/results.csv
  database: $DB
output_dir: $T/runs
YAML
}

# history_json [ARGS...]: `aieb history --db $DB --json ARGS` into $T/h.json
history_json() {
    expect_status 0 "$AIEB" history --db "$DB" --json "$@" && cp "$T/out" "$T/h.json"
}

# ---- a finished run: recorded with summary.json's figures ------------------------
write_config "$T/a.yaml" store-a "$srv_PORT"
run_a=none
if expect_status 0 "$AIEB" -q run "$T/a.yaml"; then
    run_a=$(tail -n 1 "$T/out")
    [ -s "$DB" ] || fail "no database at reporter.database"
    history_json &&
        python3 - "$T/h.json" "$run_a" <<'PY' || fail "history of a finished run"
import json, os, sys
h = json.load(open(sys.argv[1]))
d = json.load(open(os.path.join(sys.argv[2], "summary.json")))
assert len(h) == 1, h
r = h[0]
assert r["run_id"] == d["run_id"] and r["name"] == "store-a" and r["model"] == "test-model"
assert r["backend"] == "openai" and r["status"] == "completed" and r["method"] == "standard"
assert d["status"] == "completed"
assert r["started_at"] == d["started_at"] and r["run_dir"] == os.path.realpath(sys.argv[2])
assert r["primary"] == "gpu" and r["requests_ok"] == 4 and r["requests_failed"] == 0
for k, path in [("energy_wh", ("energy", "energy_wh")),
                ("gpu_energy_wh", ("energy", "gpu_energy_wh")),
                ("wh_per_1000_queries", ("energy", "wh_per_1000_queries")),
                ("j_per_output_token", ("energy", "j_per_output_token")),
                ("output_tokens_per_s", ("latency", "output_token_throughput")),
                ("ttft_ms_p50", ("latency", "ttft_ms", "median")),
                ("emissions_g_co2eq", ("energy", "emissions_g_co2eq"))]:
    v = d
    for p in path:
        v = v[p]
    assert v is not None and abs(r[k] - v) <= 1e-9 * abs(v), (k, r[k], v)
PY
    # the tables beside runs: energy per domain, phases, the GPU, the config as run
    python3 - "$DB" <<'PY' || fail "the run's rows in the other tables"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
(key, yaml, gpu) = c.execute("SELECT run_key, config_yaml, gpu_model FROM runs").fetchone()
assert "name: store-a" in yaml and "database:" in yaml, yaml[:200]
assert gpu.startswith("1 x "), gpu
doms = {d for (d,) in c.execute("SELECT domain FROM energy WHERE run_key = ?", (key,))}
assert {"gpu", "cpu", "ram"} <= doms, doms
ph = {p for (p,) in c.execute("SELECT phase FROM phases WHERE run_key = ?", (key,))}
assert {"prefill", "decode"} <= ph, ph
assert c.execute("SELECT count(*) FROM gpus WHERE run_key = ?", (key,)).fetchone()[0] == 1
PY
fi
[ -s "$T/runs/store-a/aieb.db" ] && fail "reporter.database set, but the default file was written"

# ---- an energy_star run: method, its passes and the leaderboard's figure -------------
write_config "$T/es.yaml" store-es "$srv_PORT"
sed -i 's/^scenario:$/scenario:\n  method: energy_star\n  repetitions: 2/' "$T/es.yaml"
if expect_status 0 "$AIEB" -q run "$T/es.yaml"; then
    run_es=$(tail -n 1 "$T/out")
    history_json --name store-es &&
        python3 - "$T/h.json" "$run_es/summary.json" "$DB" <<'PY' || fail "an energy_star run's record"
import json, sqlite3, sys
h = json.load(open(sys.argv[1]))
es = json.load(open(sys.argv[2]))["energy_star"]
assert len(h) == 1 and h[0]["method"] == "energy_star" and h[0]["status"] == "completed", h
assert h[0]["repetitions"] == 2, h[0]
# summary.json keeps 10 digits; the store keeps the figures as computed
close = lambda a, b: abs(a - b) <= 1e-8 * abs(b)
assert es["gpu_wh_per_1000_queries"] > 0, es
assert close(h[0]["gpu_wh_per_1000_queries"], es["gpu_wh_per_1000_queries"]), (h[0], es)
c = sqlite3.connect(sys.argv[3])
key = c.execute("SELECT run_key FROM runs WHERE name = 'store-es'").fetchone()[0]
passes = dict(c.execute("SELECT phase, gpu_wh FROM phases WHERE run_key = ? AND "
                        "source = 'energy_star'", (key,)).fetchall())
for p in ("prefill", "generate", "decode"):
    assert close(passes[p], es[p]["gpu_wh"]), (p, passes, es[p])
lo, hi = c.execute("SELECT ci95_low, ci95_high FROM repetition_stats WHERE run_key = ? AND "
                   "figure = 'energy_star.generate.gpu_wh'", (key,)).fetchone()
want = es["generate"]["gpu_wh_ci95"]
assert close(lo, want[0]) and close(hi, want[1]), (lo, hi, want)
n = c.execute("SELECT count(*) FROM repetition_stats WHERE run_key = ? AND figure IN "
              "('energy_star.gpu_wh_per_1000_queries', 'energy_star.prefill.cpu_wh')",
              (key,)).fetchone()[0]
assert n == 2, n
PY
fi

# ---- fail-fast: recorded as failed_fast -----------------------------------------
start_openai_server bad --status 500
write_config "$T/bad.yaml" store-bad "$bad_PORT"
expect_status 1 "$AIEB" -q run "$T/bad.yaml" --set scenario.max_consecutive_failures=2
history_json --name store-bad &&
    python3 -c "
import json, sys
h = json.load(open(sys.argv[1]))
assert len(h) == 1 and h[0]['status'] == 'failed_fast' and h[0]['requests_ok'] == 0, h
" "$T/h.json" || fail "a fail-fast run should be recorded as failed_fast"

# every request failed, fail-fast off: recorded as failed, as the results CSV says
expect_status 1 "$AIEB" -q run "$T/bad.yaml" --set name=store-allbad \
    --set scenario.max_consecutive_failures=0
history_json --name store-allbad &&
    python3 -c "
import csv, json, sys
h = json.load(open(sys.argv[1]))
assert len(h) == 1 and h[0]['status'] == 'failed' and h[0]['requests_failed'] == 4, h
row = list(csv.DictReader(open(sys.argv[2])))[-1]
assert row['name'] == 'store-allbad' and row['status'] == 'failed', row
" "$T/h.json" "$T/results.csv" || fail "a run whose every request failed should be recorded as failed"

# ---- SIGINT: recorded as interrupted, exit 130 as before --------------------------
start_openai_server slow --token-ms 200 --tokens 5
write_config "$T/int.yaml" store-int "$slow_PORT"
"$AIEB" -q run "$T/int.yaml" --set scenario.num_samples=50 \
    --set output_dir="$T/int-runs" >"$T/int.out" 2>"$T/int.err" &
pid=$!
wait_for "a finished request in the interrupted run" 60 \
    has_lines 1 "$T/int-runs/store-int/*/requests.jsonl"
kill -INT "$pid"
status=0
wait "$pid" || status=$?
[ "$status" = 130 ] || fail "interrupted run exited $status, wanted 130"
history_json --name store-int &&
    python3 -c "
import json, sys
h = json.load(open(sys.argv[1]))
assert len(h) == 1 and h[0]['status'] == 'interrupted', h
assert 1 <= h[0]['requests_ok'] < 50, h
" "$T/h.json" || fail "an interrupted run should be recorded as interrupted"

# ---- two runs finishing at once: both land --------------------------------------
write_config "$T/c.yaml" conc "$srv_PORT"
"$AIEB" -q run "$T/c.yaml" --set name=conc-1 >"$T/c1.out" 2>"$T/c1.err" &
p1=$!
"$AIEB" -q run "$T/c.yaml" --set name=conc-2 >"$T/c2.out" 2>"$T/c2.err" &
p2=$!
s1=0 s2=0
wait "$p1" || s1=$?
wait "$p2" || s2=$?
[ "$s1" = 0 ] && [ "$s2" = 0 ] || fail "concurrent runs exited $s1 and $s2: $(cat "$T/c1.err" "$T/c2.err")"
history_json --name conc- &&
    python3 -c "
import json, sys
h = json.load(open(sys.argv[1]))
assert sorted(r['name'] for r in h) == ['conc-1', 'conc-2'], h
" "$T/h.json" || fail "two runs finishing together should both be recorded"

# ---- the table, filters, order ---------------------------------------------------
if expect_status 0 "$AIEB" history --db "$DB"; then
    head -1 "$T/out" | grep -q '^RUN ID  *NAME  *MODEL  *STATUS' || fail "history table header"
    [ "$(wc -l <"$T/out")" = 8 ] || fail "history should list 7 runs: $(cat "$T/out")"
    expect_grep "store-int .*interrupted" "$T/out"
    # newest first: the first run made is on the last line
    tail -n 1 "$T/out" | grep -q "store-a" || fail "history is not newest first"
fi
history_json --limit 2 && [ "$(json_get "$T/h.json" "len(d)")" = 2 ] || fail "--limit 2"
history_json --model TEST-MOD --since 2000-01-01 &&
    [ "$(json_get "$T/h.json" "len(d)")" = 7 ] || fail "--model and --since keep every run"
history_json --since 2999-01-01 && [ "$(json_get "$T/h.json" "len(d)")" = 0 ] ||
    fail "--since in the future lists nothing"
expect_status 2 "$AIEB" history --db "$DB" --since last-week && expect_grep "YYYY-MM-DD" "$T/err"
expect_status 2 "$AIEB" history --db "$T/none.db" && expect_grep "no results database" "$T/err"
[ -e "$T/none.db" ] && fail "history created a database"
expect_status 2 "$AIEB" history --db "$DB" stray-arg
expect_status 0 "$AIEB" history --help && expect_grep "--since DATE" "$T/out"

# ---- report --compare by run id ------------------------------------------------------
ida=$(json_get "$run_a/summary.json" "d['run_id']")
idc=$(python3 -c "
import json, sys
print([r['run_id'] for r in json.load(open(sys.argv[1])) if r['name'] == 'conc-1'][0])" \
    <(AIEB_DATABASE="$DB" "$AIEB" history --json))
if expect_status 0 "$AIEB" report --compare --db "$DB" "$ida" "conc-1/$idc"; then
    expect_grep "^\| Metric \| 1: store-a $ida \| 2: conc-1 $idc \|" "$T/out"
    expect_grep "Wh per 1000 queries" "$T/out"
fi
# an id and a directory together, as JSON, the database from AIEB_DATABASE
if expect_status 0 env AIEB_DATABASE="$DB" "$AIEB" report --compare --format json "$ida" "$run_a"; then
    python3 -c "
import json, sys
a, b = json.load(open(sys.argv[1]))
assert a['run_id'] == b['run_id'] and a['energy_wh'] == b['energy_wh'], (a, b)
" "$T/out" || fail "a run by id and by directory should give the same figures"
fi
# a prefix every run shares is ambiguous; an unknown id says where it looked
expect_status 2 "$AIEB" report --compare --db "$DB" 2 "$ida" &&
    expect_grep "matches [0-9]+ runs.*NAME/RUN_ID" "$T/err"
expect_status 2 "$AIEB" report --compare --db "$DB" 1999 "$ida" &&
    expect_grep "no run with that id" "$T/err"
expect_status 2 "$AIEB" report --compare --db "$T/none.db" "$ida" "$ida" &&
    expect_grep "no such run directory, and no results database" "$T/err"

# ---- a database that cannot be written at the end: files kept, exit 1, caught up later ----
# The database is checked before the run starts (below); here it turns unwritable
# while the run is under way (its path becomes a directory), then the run is
# stopped: everything is written but its row.
write_config "$T/w.yaml" store-w "$slow_PORT"
"$AIEB" -q run "$T/w.yaml" --set scenario.num_samples=50 --set output_dir="$T/w-runs" \
    --set reporter.database="$T/late/aieb.db" >"$T/w.out" 2>"$T/w.err" &
pid=$!
wait_for "a finished request in the run whose database goes away" 60 \
    has_lines 1 "$T/w-runs/store-w/*/requests.jsonl"
mkdir -p "$T/late/aieb.db"
kill -INT "$pid"
status=0
wait "$pid" || status=$?
[ "$status" = 1 ] || fail "a run whose database cannot be written exited $status, wanted 1"
run_w=$(tail -n 1 "$T/w.out")
if [ -d "$run_w" ]; then
    for f in summary.json requests.jsonl timeseries.csv report.md; do
        [ -s "$run_w/$f" ] || fail "$f missing after the database failed"
    done
    expect_grep "results database.*late/aieb.db: a directory" "$T/w.err"
    expect_grep "history --db .* --add " "$T/w.err"
    if expect_status 0 "$AIEB" history --db "$DB" --add "$run_w"; then
        expect_grep "recorded store-w/.* \(interrupted\)" "$T/out"
        history_json --name store-w && [ "$(json_get "$T/h.json" "d[0]['status']")" = interrupted ] ||
            fail "history --add should record the run"
        # added again: replaced, not doubled
        expect_status 0 "$AIEB" history --db "$DB" --add "$run_w"
        history_json --name store-w && [ "$(json_get "$T/h.json" "len(d)")" = 1 ] ||
            fail "a run added twice should be listed once"
    fi
else
    fail "the run whose database failed printed no run directory"
fi
expect_status 2 "$AIEB" history --db "$DB" --add "$T/no-such-run"

# ---- a database that is not usable: refused before the run starts ----------------------
: >"$T/not-a-dir"
if expect_status 1 "$AIEB" -q run "$T/a.yaml" --set reporter.database="$T/not-a-dir/aieb.db" \
    --set output_dir="$T/refused"; then
    expect_grep "not-a-dir/aieb.db: Not a directory" "$T/err"
    [ -e "$T/refused" ] && fail "a run refused for its database made $(find "$T/refused")"
fi
printf 'not a database at all %.0s' $(seq 1 100) >"$T/corrupt.db"
if expect_status 2 "$AIEB" -q run "$T/a.yaml" --set reporter.database="$T/corrupt.db" \
    --set output_dir="$T/refused"; then
    expect_grep "corrupt.db: not an SQLite database" "$T/err"
    [ -e "$T/refused" ] && fail "a run refused for its database made $(find "$T/refused")"
fi
cp "$DB" "$T/newer.db"
python3 -c "import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute('PRAGMA user_version = 7')" \
    "$T/newer.db"
if expect_status 2 "$AIEB" -q run "$T/a.yaml" --set reporter.database="$T/newer.db" \
    --set output_dir="$T/refused"; then
    expect_grep "schema version 7 is newer than this aieb" "$T/err"
    [ -e "$T/refused" ] && fail "a run refused for its database made $(find "$T/refused")"
fi
expect_status 2 "$AIEB" history --db "$T/corrupt.db" && expect_grep "move it aside" "$T/err"

# ---- the default database: <output_dir>/aieb.db, found by history from there ----------
mkdir -p "$T/cwd"
write_config "$T/d.yaml" store-d "$srv_PORT"
sed -i '/database:/d; s|^output_dir: .*|output_dir: ./results|' "$T/d.yaml"
if expect_status 0 env -C "$T/cwd" "$AIEB" -q run "$T/d.yaml"; then
    [ -s "$T/cwd/results/aieb.db" ] || fail "no aieb.db in the default output_dir"
    expect_status 0 env -C "$T/cwd" "$AIEB" history --json &&
        [ "$(json_get "$T/out" "d[0]['name']")" = store-d ] || fail "history's default database"
    expect_status 0 env OUTPUT_DIR="$T/cwd/results" "$AIEB" history --json &&
        [ "$(json_get "$T/out" "len(d)")" = 1 ] || fail "history's database under OUTPUT_DIR"
fi
finish
