#!/usr/bin/env bash
# Usage: scripts/check-skips.sh BUILD_DIR
# After `make test`: a test that exits 77 is "skipped" to ctest, which still
# passes. Here a skip passes only when tests/expected-skips.txt expects it on
# this machine; each expected skip is printed with its reason, and any other
# fails (exit 1). Reads the JUnit file `make test` has ctest write
# (BUILD_DIR/Testing/junit.xml), which holds each skipped test's own output.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: scripts/check-skips.sh BUILD_DIR}
junit="$build/Testing/junit.xml"
if [ ! -s "$junit" ]; then
    echo "check-skips: $junit is missing (run make test first)" >&2
    exit 1
fi
python3 - "$junit" tests/expected-skips.txt <<'PY'
import sys
import xml.etree.ElementTree as ET

junit, listing = sys.argv[1], sys.argv[2]
expected = {}
for line in open(listing):
    line = line.strip()
    if line and not line.startswith("#"):
        name, _, reason = line.partition(" ")
        expected[name] = reason.strip() or "(no reason given)"
skipped = {}
for case in ET.parse(junit).getroot().iter("testcase"):
    skip = case.find("skipped")
    if skip is None:
        continue
    out = (case.findtext("system-out") or "").strip().splitlines()
    why = next((l for l in reversed(out) if "skip" in l.lower()), out[-1] if out else "")
    skipped[case.get("name")] = why or skip.get("message", "")
bad = 0
for name, why in sorted(skipped.items()):
    if name in expected:
        print(f"check-skips: {name} skipped, as expected here: {expected[name]}")
    else:
        print(f"check-skips: {name} skipped unexpectedly: {why}", file=sys.stderr)
        bad += 1
for name in sorted(set(expected) - set(skipped)):
    print(f"check-skips: {name} is listed in {listing} but ran (the entry can go)")
if bad:
    print(f"check-skips: {bad} unexpected skip(s): install what they need (scripts/deps.sh) "
          f"or, if this machine cannot have it, list them in {listing}", file=sys.stderr)
    sys.exit(1)
print(f"check-skips: {len(skipped)} test(s) skipped, all expected")
PY
