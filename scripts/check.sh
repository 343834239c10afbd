#!/bin/sh
# Every test, three ways: the plain build, an ASan/UBSan build, and the
# libFuzzer harnesses for a short while.  Ends with one summary line
# "N passed, N failed, N skipped" and exits non-zero if anything failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

failed_setup=0
builds="build build/asan build/fuzz"

setup() { # setup DIR [meson options...]
    dir=$1
    shift
    if [ ! -f "$dir/build.ninja" ]; then
        log="build/setup-$(echo "$dir" | tr / -).log"
        meson setup "$dir" "$@" >"$log" 2>&1 || {
            cat "$log" >&2
            return 1
        }
    fi
    ninja -C "$dir" >/dev/null || ninja -C "$dir"
}

mkdir -p build
setup build || failed_setup=1
setup build/asan -Db_sanitize=address,undefined -Db_lundef=false -Dguests=false \
    -Dguest_dir="$top/build/guests" || failed_setup=1
CC=clang setup build/fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
    -Dguests=false -Dc_args=-fsanitize=fuzzer-no-link || failed_setup=1

for dir in $builds; do
    [ -f "$dir/build.ninja" ] || continue
    echo "== tests in $dir"
    rm -f "$dir/meson-logs/testlog.json"
    meson test -C "$dir" --print-errorlogs --num-processes 2 ${MESON_TEST_ARGS:-} || true
done

passed=0 failed=$failed_setup skipped=0
for dir in $builds; do
    log="$dir/meson-logs/testlog.json"
    [ -f "$log" ] || continue
    p=$(grep -c '"result": "OK"' "$log" || true)
    f=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
    s=$(grep -c '"result": "SKIP"' "$log" || true)
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
