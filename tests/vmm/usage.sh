#!/bin/sh
# Bad command lines and bad kernels: a message and exit 100, never a crash.
. "$STUBVISOR_SRC/tests/lib.sh"
vmm="$STUBVISOR_BIN/stubvmm"

expect_usage() {
    set +e
    "$vmm" "$@" </dev/null >"$TEST_TMP/out" 2>&1
    rc=$?
    set -e
    [ "$rc" -eq 100 ] || fail "stubvmm $*: expected exit 100, got $rc: $(cat "$TEST_TMP/out")"
    grep -q . "$TEST_TMP/out" || fail "stubvmm $*: no message"
}

printf 'not an elf' >"$TEST_TMP/bad.elf"
head -c 64 /dev/zero >"$TEST_TMP/zero.elf"
expect_usage
expect_usage --kernel
expect_usage --kernel /nonexistent
expect_usage --kernel "$TEST_TMP/bad.elf" --memory 0
expect_usage --kernel "$TEST_TMP/bad.elf" --memory 99999
expect_usage --kernel "$TEST_TMP/bad.elf" --memory 12x
expect_usage --kernel "$TEST_TMP/bad.elf" --vcpus 0
expect_usage --kernel "$TEST_TMP/bad.elf" --vcpus 9
expect_usage --kernel "$TEST_TMP/bad.elf" --dm vm
expect_usage --kernel "$TEST_TMP/bad.elf" --serial tcp:1
expect_usage --kernel "$TEST_TMP/bad.elf" --bogus 1
expect_usage --kernel "$TEST_TMP/bad.elf" stray
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    expect_usage --kernel "$TEST_TMP/bad.elf" --dm inline
    expect_usage --kernel "$TEST_TMP/zero.elf" --dm inline
    expect_usage --kernel /bin/sh --dm inline # an ELF, but not PVH
fi
pass
