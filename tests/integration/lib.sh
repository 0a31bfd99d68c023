# Shared helpers for integration tests (sourced). Each test runs the real aieb
# binary ($AIEB) and exits 0 on pass, 77 to skip (saying why), else fail.
set -u
: "${AIEB:?AIEB must point at the aieb binary}"
: "${AIEB_SOURCE_DIR:?}"
: "${AIEB_BUILD_DIR:?}"
T=$(mktemp -d "${TMPDIR:-/tmp}/aieb-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# expect_status WANT CMD...: runs CMD, stdout -> $T/out, stderr -> $T/err.
expect_status() {
    local want=$1
    shift
    local got=0
    "$@" >"$T/out" 2>"$T/err" || got=$?
    if [ "$got" != "$want" ]; then
        fail "exit $got, wanted $want: $*"
        sed 's/^/  stderr: /' "$T/err" | head -20 >&2
        return 1
    fi
    return 0
}

# expect_grep PATTERN FILE: FILE must match the extended regex PATTERN.
expect_grep() {
    if ! grep -Eq -- "$1" "$2"; then
        fail "'$1' not found in $(basename "$2")"
        head -20 "$2" | sed 's/^/  | /' >&2
    fi
}

# skip_rest REASON: the rest of this test cannot run here. Exits 77 (ctest:
# skipped, which .ci/run reports) unless a check already failed.
skip_rest() {
    echo "skip: $*"
    [ "$failures" -ne 0 ] && finish
    exit 77
}

finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures check(s) failed" >&2
        exit 1
    fi
    echo "ok"
    exit 0
}

# start_openai_server NAME ARGS...: starts the test server on a free loopback
# port in the background; sets ${NAME}_PORT and ${NAME}_PID. Killed at exit.
server_pids=""
start_openai_server() {
    local name=$1
    shift
    local out="$T/$name.stdout"
    : >"$out" # exists before the background job opens it
    "$AIEB_BUILD_DIR/tests/fakes/openai_server" --port 0 "$@" >"$out" 2>"$T/$name.stderr" &
    local pid=$!
    server_pids="$server_pids $pid"
    # waits for the PORT line while the server lives: 60 s is a bound for a hang
    # only (the 5 s this was could pass on a busy machine under a sanitizer)
    local port="" deadline=$((SECONDS + 60))
    while [ "$SECONDS" -lt "$deadline" ] && kill -0 "$pid" 2>/dev/null; do
        port=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$out" | head -1)
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || port=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$out" | head -1)
    if [ -z "$port" ]; then
        echo "openai_server did not start:" >&2
        cat "$T/$name.stderr" >&2
        exit 1
    fi
    printf -v "${name}_PORT" '%s' "$port"
    printf -v "${name}_PID" '%s' "$pid"
}

stop_servers() {
    local p
    for p in $server_pids; do kill "$p" 2>/dev/null; done
    for p in $server_pids; do wait "$p" 2>/dev/null; done
    server_pids=""
}
trap 'stop_servers; rm -rf "$T"' EXIT

# json_get FILE EXPR: prints a value from a JSON file with Python (EXPR uses d).
json_get() {
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

# ---- waiting for events instead of sleeping a fixed time ---------------------------
# A test that sleeps "long enough" fails on a busy machine; these poll for the
# event itself, with a generous bound that only a hang reaches.

# wait_for DESCRIPTION TIMEOUT_S CMD...: runs CMD every 0.05 s until it succeeds.
# Returns 0 then; after TIMEOUT_S seconds fails the test with DESCRIPTION and
# returns 1.
wait_for() {
    local what=$1 limit=$2
    shift 2
    local deadline=$((SECONDS + limit))
    until "$@"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            fail "waited ${limit} s for $what"
            return 1
        fi
        sleep 0.05
    done
    return 0
}

# has_lines N PATTERN: a file matching the glob PATTERN (quoted by the caller:
# it is expanded at each call, as the file may appear later) has at least N
# complete lines.
has_lines() {
    local n=$1 f IFS= # no word splitting of $2, only its glob
    for f in $2; do
        [ -f "$f" ] && [ "$(wc -l <"$f")" -ge "$n" ] && return 0
    done
    return 1
}

# signal_taken PID SIG: PID has no SIG pending any more (a handler or the
# default action has taken it), or PID is gone. Pending signals merge, so a
# second signal is sent only once the first is taken.
signal_taken() {
    local bit=$((1 << ($(kill -l "$2") - 1))) f key val
    for f in /proc/"$1"/status /proc/"$1"/task/*/status; do
        [ -r "$f" ] || continue
        while read -r key val; do
            case $key in
            ShdPnd: | SigPnd:) (((0x$val & bit) != 0)) && return 1 ;;
            esac
        done 2>/dev/null <"$f"
    done
    return 0
}

# child_of PID NAME: prints the pids of PID's children named NAME (programs it
# ran, once exec'ed: not just forked); fails when there are none. Reads /proc,
# so no procps is needed.
child_of() {
    local f stat comm rest found=1
    for f in /proc/[0-9]*/stat; do
        read -r stat 2>/dev/null <"$f" || continue
        comm=${stat#*\(}
        comm=${comm%\)*}
        rest=${stat##*\) }
        rest=${rest#* } # drop the state: the parent's pid comes next
        if [ "${rest%% *}" = "$1" ] && [ "$comm" = "$2" ]; then
            echo "${stat%% *}"
            found=0
        fi
    done
    return $found
}

# child_running PID NAME: PID has a child named NAME (see child_of).
child_running() {
    child_of "$1" "$2" >/dev/null
}
