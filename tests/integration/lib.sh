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
