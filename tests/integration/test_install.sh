#!/usr/bin/env bash
# `make install` layout: binary, libraries, headers, aieb.pc, data, configs, the
# PyTorch worker and the man page; a program builds against the installed
# library through pkg-config, and the installed aieb runs.
. "$(dirname "$0")/lib.sh"

inst="$T/prefix"
if ! cmake --install "$AIEB_BUILD_DIR" --prefix "$inst" >"$T/install.log" 2>&1; then
    cat "$T/install.log" >&2
    fail "cmake --install failed"
    finish
fi
for f in bin/aieb lib/libaieb.a lib/libaieb.so include/aieb/run.h include/aieb/meter.h \
    lib/pkgconfig/aieb.pc share/aieb/carbon_intensity.csv share/aieb/builtin_prompts.jsonl \
    share/aieb/reasoning_formats.yaml share/aieb/configs/quickstart.yaml \
    share/aieb/aieb_torch_worker.py share/man/man1/aieb.1; do
    [ -e "$inst/$f" ] || fail "not installed: $f"
done
expect_status 0 "$inst/bin/aieb" --version && expect_grep '^aieb [0-9]' "$T/out"
expect_status 0 "$inst/bin/aieb" config check "$inst/share/aieb/configs/quickstart.yaml"

cat >"$T/use.c" <<'C'
#include <stdio.h>
#include <aieb/config.h>
int main(void)
{
    aieb_config *c = aieb_config_defaults();
    if (!c)
        return 1;
    printf("%s %d\n", c->backend.type, c->scenario.generate_kwargs.max_new_tokens);
    aieb_config_free(c);
    return 0;
}
C
flags=$(PKG_CONFIG_PATH="$inst/lib/pkgconfig" pkg-config --cflags --libs aieb) ||
    fail "pkg-config does not know the installed aieb"
# A sanitizer build's library needs the sanitizer runtime in the program too.
san=""
grep -q "^AIEB_SANITIZE:BOOL=ON" "$AIEB_BUILD_DIR/CMakeCache.txt" && san="-fsanitize=address,undefined"
if cc $san "$T/use.c" -o "$T/use" $flags -Wl,-rpath,"$inst/lib" 2>"$T/cc.err"; then
    expect_status 0 "$T/use" && expect_grep '^vllm [0-9]+$' "$T/out"
else
    cat "$T/cc.err" >&2
    fail "a program does not build against the installed library"
fi
finish
