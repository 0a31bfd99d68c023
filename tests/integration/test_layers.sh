#!/usr/bin/env bash
# The layers of docs/design.md, checked on the sources: a lower layer never
# includes a higher one, backends and meters never include each other (they
# meet only through the clock), the command sees only public headers, and
# flags written by signal handlers are sig_atomic_t.
source "$AIEB_SOURCE_DIR/tests/integration/lib.sh"
src="$AIEB_SOURCE_DIR/src"

# forbid DIR PATTERN WHY: no file under src/DIR includes a header matching PATTERN
forbid() {
    local hits
    hits=$(grep -rnE "^#include \"($2)" "$src/$1" 2>/dev/null || true)
    [ -z "$hits" ] || fail "$1 includes $2 ($3): $hits"
}
# the public headers of each module, by the folder that implements them
upper_of_util='aieb/(config|meter|run|report|backend|engine|dataset|format|attribution|native|openai|pytorch|requests_log|workload|carbon|emissions|progress|gguf|sse)\.h|config/|meter/|run/|report/|backend/|engine/|dataset/|format/|carbon/'
forbid lib/util "$upper_of_util" "util is the bottom layer"
forbid lib/meter 'aieb/(run|report|backend|native|openai|pytorch|attribution|requests_log)\.h|run/|report/|backend/' \
    "meters never see backends or runs"
forbid lib/backend 'aieb/(meter|run|report|attribution)\.h|meter/|run/|report/' \
    "backends never touch energy code"
forbid lib/carbon 'aieb/(meter|run|report|backend)\.h|meter/|run/|report/|backend/' "carbon is below run"
forbid lib/config 'aieb/(meter|run|report|backend)\.h|meter/|run/|report/|backend/' "config is below run"

# the command: public headers (aieb/...) and its own tool.h only
bad=$(grep -rnE '^#include "' "$src/tool" | grep -vE '#include "(aieb/[a-z_]+\.h|tool\.h)"' || true)
[ -z "$bad" ] || fail "the command includes private headers: $bad"

# stop flags written from signal handlers are sig_atomic_t, never plain int
if grep -rnE 'volatile int\b' "$src" "$AIEB_SOURCE_DIR/include"; then
    fail "a volatile int flag: use volatile sig_atomic_t (signal handlers write these)"
fi
grep -q 'const volatile sig_atomic_t \*stop' "$AIEB_SOURCE_DIR/include/aieb/run.h" ||
    fail "aieb_run_opts.stop is not a sig_atomic_t flag"
echo "layers: util, config, carbon, meter, backend, tool checked"
finish
