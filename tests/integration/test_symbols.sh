#!/usr/bin/env bash
# libaieb.so exports the public API (every AIEB_API function of include/aieb/)
# and nothing else: no internal helper (meter_*, oa_*, ...) leaks into programs
# linked against it.
source "$AIEB_SOURCE_DIR/tests/integration/lib.sh"

lib="$AIEB_BUILD_DIR/libaieb.so"
[ -r "$lib" ] || { echo "skip: $lib not built"; exit 77; }
command -v nm >/dev/null || { echo "skip: nm (binutils) not installed"; exit 77; }

nm -D --defined-only "$lib" | awk '$2 ~ /^[TtDdBbRrVWi]$/ {print $3}' | sed 's/@.*//' | sort -u \
    >"$T/exported"
others=$(grep -v '^aieb_' "$T/exported" || true)
[ -z "$others" ] || fail "libaieb.so exports names outside the API: $(echo $others | head -c 400)"
grep -hoE 'AIEB_API [^(]*\baieb_[a-z0-9_]+\(' "$AIEB_SOURCE_DIR"/include/aieb/*.h |
    grep -oE 'aieb_[a-z0-9_]+\($' | tr -d '(' | sort -u >"$T/declared"
missing=$(comm -23 "$T/declared" "$T/exported")
[ -z "$missing" ] || fail "declared AIEB_API but not exported: $missing"
extra=$(comm -13 "$T/declared" "$T/exported")
[ -z "$extra" ] || fail "exported without an AIEB_API declaration: $extra"
n=$(wc -l <"$T/declared")
[ "$n" -ge 150 ] || fail "only $n public functions found: the header scan is broken"
for internal in meter_run_until oa_redact runner_build_summary meter_window_uncertainty; do
    if grep -qx "$internal" "$T/exported"; then fail "$internal is exported"; fi
done
echo "exported: $n functions, all aieb_*"

finish
