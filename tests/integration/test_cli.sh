#!/usr/bin/env bash
# The aieb command's surface: help, version, unknown commands and options.
. "$(dirname "$0")/lib.sh"

expect_status 0 "$AIEB" --help && expect_grep '^Usage: aieb' "$T/out"
expect_status 0 "$AIEB" --version && expect_grep '^aieb [0-9]+\.[0-9]+\.[0-9]+$' "$T/out"
expect_status 2 "$AIEB"
expect_status 2 "$AIEB" frobnicate && expect_grep "unknown command 'frobnicate'" "$T/err"
expect_status 2 "$AIEB" --frobnicate && expect_grep "unknown option" "$T/err"
for sub in run measure probe config; do
    expect_status 0 "$AIEB" "$sub" --help && expect_grep "Usage: aieb $sub" "$T/out"
done
expect_status 2 env LOG_LEVEL=LOUD "$AIEB" --version && expect_grep "LOG_LEVEL=LOUD" "$T/err"
expect_status 0 env LOG_LEVEL=debug "$AIEB" -q --version

# aieb measure: flags after the measured command's name are the command's; aieb's
# own -v/-q work before it (or before --), and before the subcommand.
# (the fake NVML library says what it found at debug level)
export AIEB_NVML_LIBRARY="$AIEB_BUILD_DIR/tests/fakes/libfake_nvml.so"
export AIEB_POWERCAP_ROOT="$T/no-powercap"
expect_status 0 "$AIEB" measure sh -c 'echo "$*"' x -v -q hello
[ "$(cat "$T/out")" = "-v -q hello" ] || fail "measure kept the command's flags: $(cat "$T/out")"
expect_grep "exited 0" "$T/err"
expect_status 0 "$AIEB" measure -v -- sh -c 'echo "$*"' x -q
[ "$(cat "$T/out")" = "-q" ] || fail "measure -v -- CMD -q: $(cat "$T/out")"
expect_grep "debug:" "$T/err"
expect_status 0 "$AIEB" measure -q sh -c 'echo "$*"' x -v
[ "$(cat "$T/out")" = "-v" ] || fail "measure -q CMD -v: $(cat "$T/out")"
if grep -q "info:" "$T/err"; then fail "measure -q still logged info lines"; fi
expect_status 0 "$AIEB" -v measure true && expect_grep "debug:" "$T/err"
finish
