#!/usr/bin/env bash
# 'aieb config check|show' through the real binary: exit codes, the problem
# format, every example config, the earlier tool's schema, hostile files (each
# exit 2, a message, no sanitizer report, fast) and the golden `show` output.
. "$(dirname "$0")/lib.sh"

# Start from no environment overrides.
unset BENCHMARK_BACKEND BENCHMARK_MODEL VLLM_ENDPOINT NUM_SAMPLES MAX_NEW_TOKENS \
    COUNTRY_ISO_CODE REGION OUTPUT_DIR RESULTS_FILE AIEB_GOLDEN_MODEL
G="$AIEB_SOURCE_DIR/tests/golden/config"

# expect_no_sanitizer: stderr of the last command holds no sanitizer report.
expect_no_sanitizer() {
    if grep -Eq 'AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:|LeakSanitizer' "$T/err"; then
        fail "sanitizer report"
        head -20 "$T/err" | sed 's/^/  | /' >&2
    fi
}

# ---- usage --------------------------------------------------------------------
expect_status 0 "$AIEB" config --help && expect_grep '^Usage: aieb config check FILE' "$T/out"
expect_status 0 "$AIEB" config check --help && expect_grep 'Usage: aieb config' "$T/out"
expect_status 0 "$AIEB" config show -h && expect_grep 'Usage: aieb config' "$T/out"
expect_status 2 "$AIEB" config && expect_grep 'Usage: aieb config' "$T/err"
expect_status 2 "$AIEB" config frob && expect_grep "unknown command 'frob'" "$T/err"
expect_status 2 "$AIEB" config check && expect_grep 'at least one FILE' "$T/err"
expect_status 2 "$AIEB" config show a.yaml b.yaml && expect_grep 'one FILE' "$T/err"
expect_status 2 "$AIEB" config check --sources x.yaml && expect_grep "'config show'" "$T/err"
expect_status 2 "$AIEB" config check --bogus x.yaml && expect_grep "unknown option '--bogus'" "$T/err"
expect_status 2 "$AIEB" config show --set && expect_grep "needs a value" "$T/err"
expect_grep "Try 'aieb config --help'" "$T/err"

# ---- every example config, and the earlier tool's schema, check clean ----------
for f in "$AIEB_SOURCE_DIR"/configs/*.yaml "$G/legacy_schema.yaml"; do
    if expect_status 0 "$AIEB" config check "$f"; then
        expect_grep ": ok$" "$T/out"
        [ -s "$T/err" ] && fail "$(basename "$f"): unexpected output on stderr: $(head -3 "$T/err")"
    fi
done
[ -e "$AIEB_SOURCE_DIR/configs/quickstart.yaml" ] || fail "configs/quickstart.yaml is missing"

# ---- a file with many problems: all reported, in the documented format ---------
cat >"$T/bad.yaml" <<'EOF'
backend:
  type: vlm
  endpoint: localhost:8000
scenario:
  num_samples: 0
  num_sample: 5
  input_shapes:
    batch_size: 0
  generate_kwargs:
    max_new_tokens: 10
    min_new_tokens: 20
    temperature: -1
    top_p: 1.5
EOF
cd "$T"
if expect_status 2 "$AIEB" config check bad.yaml; then
    n=$(grep -Ec '^bad\.yaml:[0-9]+:[0-9]+: [a-z_.]+: .*\(expected .*, got .*\)' "$T/err")
    [ "$n" = 7 ] || fail "expected 7 errors in the FILE:LINE:COL: key: ... format, got $n"
    expect_grep '^bad\.yaml:2:9: backend\.type: unknown value; did you mean vllm\? \(expected one of vllm, openai, pytorch or native, got "vlm"\)$' "$T/err"
    expect_grep '^bad\.yaml:5:16: scenario\.num_samples: out of range \(expected an integer in \[1, 10000000\], got 0\)$' "$T/err"
    expect_grep '^bad\.yaml:6:3: scenario\.num_sample: unknown key; did you mean scenario\.num_samples\?$' "$T/err"
    expect_grep '^bad\.yaml:11:21: scenario\.generate_kwargs\.min_new_tokens: larger than max_new_tokens' "$T/err"
    expect_grep '^bad\.yaml:13:12: scenario\.generate_kwargs\.top_p: out of range \(expected a number in \(0, 1\], or null, got 1\.5\)$' "$T/err"
    [ -s "$T/out" ] && fail "nothing goes to stdout for a bad file"
fi
# one good file and one bad: both checked, exit 2
expect_status 2 "$AIEB" config check "$AIEB_SOURCE_DIR/configs/quickstart.yaml" bad.yaml &&
    expect_grep 'quickstart.yaml: ok' "$T/out"
# warnings alone pass; -q hides them
printf 'name: w\nscenario:\n  generate_kwargs:\n    repetition_penalty: 1.2\n' >"$T/warn.yaml"
expect_status 0 "$AIEB" config check warn.yaml &&
    expect_grep '^warn\.yaml:4:5: warning: scenario\.generate_kwargs\.repetition_penalty: ' "$T/err" &&
    expect_grep '^warn.yaml: ok \(1 warning\)$' "$T/out"
expect_status 0 "$AIEB" -q config check warn.yaml && [ -s "$T/err" ] && fail "-q still printed: $(cat "$T/err")"
# a bad environment value and a bad --set are reported where they came from
expect_status 2 env NUM_SAMPLES=many "$AIEB" config check warn.yaml &&
    expect_grep '^env NUM_SAMPLES: scenario\.num_samples: not a number' "$T/err"
expect_status 2 "$AIEB" config show --set scenario.num_sampels=3 &&
    expect_grep '^--set: scenario\.num_sampels: unknown key; did you mean scenario\.num_samples\?' "$T/err"

# ---- hostile files: exit 2, one clear message, no sanitizer report, fast --------
mkdir -p "$T/dir.yaml"
: >"$T/empty.yaml"
head -c 4096 /dev/urandom >"$T/garbage.yaml"
printf 'name: caf\xc3\n' >"$T/utf8.yaml"
printf 'backend:\n\ttype: vllm\n' >"$T/tab.yaml"
printf 'name: a\nbackend:\n  model: x\n  model: y\n' >"$T/dup.yaml"
printf -- '- backend\n- scenario\n' >"$T/seq.yaml"
printf 'backend:\n  - type: vllm\n' >"$T/seqsection.yaml"
{ printf 'name: '; head -c 20000 /dev/zero | tr '\0' '['; } >"$T/deep.yaml"
{ printf 'name: '; head -c 100000000 /dev/zero | tr '\0' 'a'; echo; } >"$T/huge.yaml"
{
    echo 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
    prev=a
    for l in b c d e f g h i; do
        echo "$l: &$l [*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev]"
        prev=$l
    done
} >"$T/bomb.yaml"
# "Fast" is judged on the CPU time aieb used (user + system, which a busy machine
# does not inflate; an expansion bomb or a quadratic parse would use seconds of
# it) and, against a hang (a FIFO opened for reading, say), on a wall-clock bound
# generous enough for a machine 20x slower.
hostile() { # FILE PATTERN
    local TIMEFORMAT='%R %U %S' wall user sys cpu_ms
    if { time expect_status 2 "$AIEB" config check "$1" 2>&3; } 3>&2 2>"$T/time"; then
        expect_grep "$2" "$T/err"
        expect_no_sanitizer
    fi
    read -r wall user sys <"$T/time"
    cpu_ms=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%d", (u + s) * 1000 }')
    [ "$cpu_ms" -lt 1000 ] || fail "$1 used $cpu_ms ms of CPU"
    awk -v w="$wall" 'BEGIN { exit !(w < 20) }' || fail "$1 took $wall s"
}
hostile dir.yaml '^dir\.yaml: is a directory'
hostile missing.yaml '^missing\.yaml: No such file or directory \(check the path'
hostile empty.yaml '^empty\.yaml: empty configuration'
hostile garbage.yaml '^garbage\.yaml:[0-9]+:[0-9]+: (binary data|invalid UTF-8)'
hostile utf8.yaml '^utf8\.yaml:1:10: invalid UTF-8 \(byte 0xc3 at offset 9\); save the file as UTF-8'
hostile tab.yaml '^tab\.yaml:2:1: YAML syntax error: .*indent with spaces'
hostile dup.yaml '^dup\.yaml:4:3: backend\.model: duplicate key \(first given on line 3\)'
hostile seq.yaml '^seq\.yaml:1:1: the top level must be a mapping'
hostile seqsection.yaml '^seqsection\.yaml:2:3: backend: wrong type \(expected a mapping'
hostile deep.yaml '^deep\.yaml:1:[0-9]+: nested too deeply \(more than 64 levels\)'
hostile huge.yaml '^huge\.yaml: 100000007 bytes, larger than the 1048576-byte limit'
hostile bomb.yaml 'is this an alias expansion bomb'
mkfifo "$T/fifo.yaml"
hostile fifo.yaml 'not a regular file'
rm -f "$T/huge.yaml"

# ---- show: golden output, round trip, precedence -------------------------------
cd "$G"
if expect_status 0 env NUM_SAMPLES=7 "$AIEB" config show show_input.yaml --sources \
    --set metrics.region=IDF --set scenario.seed=7; then
    if ! diff -u show_sources.expected "$T/out" >"$T/diff"; then
        fail "config show differs from tests/golden/config/show_sources.expected"
        head -40 "$T/diff" | sed 's/^/  | /' >&2
    fi
fi
cd "$T"
for f in "$AIEB_SOURCE_DIR"/configs/*.yaml "$G/show_input.yaml"; do
    "$AIEB" config show "$f" >"$T/r1.yaml" 2>/dev/null || fail "show $(basename "$f")"
    "$AIEB" config show "$T/r1.yaml" >"$T/r2.yaml" 2>/dev/null || fail "show of show's output"
    cmp -s "$T/r1.yaml" "$T/r2.yaml" || fail "$(basename "$f"): show's output does not load back the same"
done
expect_status 0 env NUM_SAMPLES=7 "$AIEB" config show --sources --set scenario.num_samples=9 &&
    expect_grep '^  num_samples: 9  # --set$' "$T/out"
expect_status 0 env NUM_SAMPLES=7 "$AIEB" config show --sources &&
    expect_grep '^  num_samples: 7  # env NUM_SAMPLES$' "$T/out"
expect_status 0 "$AIEB" config show && expect_grep '^  num_samples: 10$' "$T/out"
expect_status 2 "$AIEB" config show bad.yaml && [ -s "$T/out" ] && fail "show printed YAML for a bad file"

# ---- unknown keys: errors; --lenient or AIEB_LENIENT=1 makes them warnings -------
cd "$T"
cat >"$T/unknown.yaml" <<'EOF'
name: unknown
backend:
  type: vllm
  endpoint: http://127.0.0.1:1/v1
  startup_timeout_s: 0
  timeout_s: 5
  qqqqqqqq: 1
scenario:
  dataset_name: builtin
  num_sampels: 2
  generate_kwargs:
    repetition_penalty: 1.1
  reasoning_params: {custom_flag: on}
metrics:
  enabled: false
  idle_baseline_s: 0
output_dir: ./runs
reporter:
  output_file: ./results.csv
EOF
unknown_errors() { # the two unknown keys, as errors at FILE:LINE:COL, a hint how to let them by
    expect_grep '^unknown\.yaml:10:3: scenario\.num_sampels: unknown key; did you mean scenario\.num_samples\?$' "$T/err"
    expect_grep '^unknown\.yaml:7:3: backend\.qqqqqqqq: unknown key \(known keys under backend: type, model, ' "$T/err"
    grep -q 'backend\.qqqqqqqq: .*did you mean' "$T/err" && fail "a suggestion for a key nothing is close to"
    expect_grep '--lenient \(or AIEB_LENIENT=1\)' "$T/err"
    grep -q 'repetition_penalty: unknown' "$T/err" && fail "generate_kwargs' own keys are not unknown"
    return 0
}
expect_status 2 "$AIEB" config check unknown.yaml && unknown_errors && [ -s "$T/out" ] &&
    fail "no ok line for a bad file"
expect_status 2 "$AIEB" run unknown.yaml --repeat 2 && unknown_errors
expect_status 2 env AIEB_LENIENT=0 "$AIEB" config check unknown.yaml
lenient_warnings() {
    expect_grep '^unknown\.yaml:10:3: warning: scenario\.num_sampels: unknown key, ignored; did you mean scenario\.num_samples\?$' "$T/err"
    expect_grep '^unknown\.yaml:7:3: warning: backend\.qqqqqqqq: unknown key, ignored' "$T/err"
}
expect_status 0 "$AIEB" config check --lenient unknown.yaml && lenient_warnings &&
    expect_grep '^unknown\.yaml: ok \(4 warnings\)$' "$T/out"
expect_status 0 env AIEB_LENIENT=1 "$AIEB" config check unknown.yaml && lenient_warnings
expect_status 0 env AIEB_LENIENT=yes "$AIEB" config show unknown.yaml && lenient_warnings
expect_status 2 env AIEB_LENIENT=maybe "$AIEB" config check unknown.yaml &&
    expect_grep 'AIEB_LENIENT=maybe: expected 1' "$T/err"
# a run gets past its config (the server is down: exit 3), with --repeat beside --lenient
expect_status 3 "$AIEB" run unknown.yaml --lenient --repeat 2 && lenient_warnings &&
    expect_grep '127\.0\.0\.1:1' "$T/err"
expect_status 3 env AIEB_LENIENT=1 "$AIEB" run unknown.yaml && lenient_warnings
# lenient is about the file: an unknown --set key stays an error
expect_status 2 "$AIEB" config check --lenient unknown.yaml --set scenario.num_sampels=3 &&
    expect_grep '^--set: scenario\.num_sampels: unknown key' "$T/err"
expect_status 0 "$AIEB" run --help && expect_grep '^  --lenient ' "$T/out"
expect_status 0 "$AIEB" config --help && expect_grep '^  --lenient ' "$T/out"
finish
