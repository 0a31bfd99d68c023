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
finish
