#!/bin/sh
# A faulty device model: stubvmm refuses its bad dm_ops, and stops the
# guest with a clear message when it breaks the ioreq protocol (no hang, no
# crash).  Uses stubdm's test-only fault injection (STUBVISOR_DM_FAULT).
# dm-faults.sh process|stubdom
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/vmm/lib-vmm.sh"
need_kvm
placement=$1
need_placement "$placement"
hello=$(need_guest hello)
vmm="$STUBVISOR_BIN/stubvmm"

# Out-of-range dm_ops are all refused, and the guest still runs.
out=$(STUBVISOR_DM_FAULT=bad-dmops timeout 30 "$vmm" --kernel "$hello" --dm "$placement" \
    </dev/null 2>"$TEST_TMP/err") || fail "bad-dmops: exit $?: $(cat "$TEST_TMP/err")"
expect_contains "bad-dmops output" "hello from guest" "$out"
grep -q "fault injection: 12 of 12 bad dm_ops refused" "$TEST_TMP/err" ||
    fail "bad dm_ops were not all refused: $(cat "$TEST_TMP/err")"

for fault in bad-state backwards; do
    set +e
    STUBVISOR_DM_FAULT=$fault timeout 30 "$vmm" --kernel "$hello" --dm "$placement" \
        </dev/null >/dev/null 2>"$TEST_TMP/err"
    rc=$?
    set -e
    [ "$rc" -eq 102 ] || fail "$fault: expected exit 102, got $rc: $(cat "$TEST_TMP/err")"
    grep -q "device model broke the ioreq protocol" "$TEST_TMP/err" ||
        fail "$fault: no clear message: $(cat "$TEST_TMP/err")"
done
pass
