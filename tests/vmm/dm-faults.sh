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
grep -q "fault injection: 13 of 13 bad dm_ops refused" "$TEST_TMP/err" ||
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
# A read pointer moved past the write pointer: posted writes fall back to
# synchronous requests, and the guest still runs.
out=$(STUBVISOR_DM_FAULT=bad-ring timeout 30 "$vmm" --kernel "$hello" --dm "$placement" \
    </dev/null 2>"$TEST_TMP/err") || fail "bad-ring: exit $?: $(cat "$TEST_TMP/err")"
expect_contains "bad-ring output" "hello from guest" "$out"

# A device model that takes a request and never answers: the guest waits,
# but stubvmm stays in control and stops cleanly on SIGTERM.
STUBVISOR_DM_FAULT=hang timeout 60 "$vmm" --kernel "$hello" --dm "$placement" \
    </dev/null >/dev/null 2>"$TEST_TMP/err" &
pid=$!
track_pid "$pid"
real_vmm=""
wait_for 20 pgrep -P "$pid" -x stubvmm || fail "no stubvmm process"
real_vmm=$(pgrep -P "$pid" -x stubvmm)
wait_for 20 dm_pid_of "$real_vmm" || fail "no stubdm process"
dm=$(dm_pid_of "$real_vmm")
kill -TERM "$real_vmm"
set +e
wait "$pid"
rc=$?
set -e
expect_eq "hang: exit status after SIGTERM" 143 "$rc"
grep -q "stopped by signal 15" "$TEST_TMP/err" || fail "hang: no message: $(cat "$TEST_TMP/err")"
[ ! -e "/proc/$dm" ] || fail "hang: device model $dm left behind"
pass
