#!/bin/sh
# stubvmm locks itself down before the guest runs: seen from outside while
# echo.elf waits for input, its /proc/PID/status says Seccomp 2 (filter)
# and NoNewPrivs 1, on the vCPU threads too.  A test build told to try a
# forbidden system call once locked down (STUBVISOR_VMM_FAULT=
# forbidden-syscall: execve) is killed by SIGSYS.  Under the toolstack,
# `stubctl list -l` reports how many system calls the monitor's filter
# allows next to the device model's.  lockdown.sh inline|process|stubdom
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/vmm/lib-vmm.sh"
need_kvm
placement=$1
need_placement "$placement"
hello=$(need_guest hello)

echo_start --dm "$placement" --vcpus 2
for task in /proc/"$real_vmm"/task/*; do
    status=$(cat "$task/status")
    field() { printf '%s\n' "$status" | awk -v k="$1:" '$1 == k {print $2}'; }
    expect_eq "Seccomp of $task" 2 "$(field Seccomp)"
    expect_eq "NoNewPrivs of $task" 1 "$(field NoNewPrivs)"
done
[ "$(ls /proc/"$real_vmm"/task | wc -l)" -ge 3 ] || fail "expected the main thread and 2 vCPUs"
printf 'still here\n' >&3
wait_for 20 grep -q 'still here' "$TEST_TMP/out" || fail "no echo under the filter"
echo_finish "under the filter"

# A forbidden call after the lockdown: killed by SIGSYS (31), not refused.
set +e
STUBVISOR_VMM_FAULT=forbidden-syscall timeout 30 "$STUBVISOR_BIN/stubvmm" --kernel "$hello" \
    --dm "$placement" </dev/null >/dev/null 2>"$TEST_TMP/err"
rc=$?
set -e
if grep -q "fault injection: execve after the lockdown" "$TEST_TMP/err"; then
    expect_eq "exit status of a forbidden call" $((128 + 31)) "$rc"
    grep -q "execve was refused" "$TEST_TMP/err" && fail "the filter refused instead of killing"
else
    echo "note: not a test build, no forbidden call tried (exit $rc)"
fi

# Under the toolstack: both filters' sizes in list -l.
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
write_cfg "$TEST_TMP/l.cfg" lk echo.elf "device_model_placement = \"$placement\""
timeout 60 "$STUBCTL" create "$TEST_TMP/l.cfg" || fail "create"
counts=$("$STUBCTL" list -l lk | python3 -c '
import json, sys
d = json.load(sys.stdin)[0]
print(d["seccomp_syscalls"], d["device_model"]["seccomp_syscalls"])')
vmm_n=${counts% *}
dm_n=${counts#* }
[ "$vmm_n" -gt 20 ] || fail "stubvmm's filter allows $vmm_n system calls?"
case $placement in
stubdom) [ "$dm_n" -gt 20 ] || fail "stubdm's filter allows $dm_n system calls?" ;;
process) expect_eq "process device model's filter" 0 "$dm_n" ;;
inline) expect_eq "inline device model's filter" "$vmm_n" "$dm_n" ;;
esac
expect_contains "log" "locked down: seccomp allows $vmm_n system calls" "$("$STUBCTL" log lk)"
timeout 30 "$STUBCTL" destroy lk || fail "destroy"
pass
