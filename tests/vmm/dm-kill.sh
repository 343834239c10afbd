#!/bin/sh
# The device model is killed with SIGKILL while the guest waits for input:
# stubvmm stops the guest at once with a clear message and a non-zero
# status, leaves no zombie and does not hang.  dm-kill.sh process|stubdom
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/vmm/lib-vmm.sh"
need_kvm
placement=$1
need_placement "$placement"

echo_start --dm "$placement"
dm=$(dm_pid_of "$real_vmm") || fail "no stubdm process"
kill -9 "$dm"

set +e
wait "$vmm_pid"
rc=$?
set -e
exec 3>&-
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "stubvmm exit status $rc (124: it hung)"
grep -q "device model died (killed by signal 9); guest stopped" "$TEST_TMP/err" ||
    fail "no clear message: $(cat "$TEST_TMP/err")"
if [ -e "/proc/$dm" ]; then
    fail "device model $dm is still there: $(cat "/proc/$dm/status" | head -3)"
fi
pass
