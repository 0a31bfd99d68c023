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
    local i port=""
    for i in $(seq 1 100); do
        port=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$out" | head -1)
        [ -n "$port" ] && break
        sleep 0.05
    done
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
