#!/bin/sh
# stubctl create with device_model_placement = "inline": the device model
# runs inside stubvmm, so there is no "<name>-dm" domain; the console, list
# and destroy work as for the other placements.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm
need_cmd xenstore-ls xenstore-read

# create -c: the guest's first line arrives, and the guest is gone after.
write_cfg "$TEST_TMP/h.cfg" th hello.elf 'device_model_placement = "inline"'
timeout 60 "$STUBCTL" create -c "$TEST_TMP/h.cfg" </dev/null >"$TEST_TMP/h.out" 2>&1 ||
    fail "create -c: $(tail -c 2000 "$TEST_TMP/h.out")"
expect_contains "hello's line" "hello from guest" "$(cat "$TEST_TMP/h.out")"
wait_for 10 sh -c "! \"$STUBCTL\" list | grep -Eq '^th '" || fail "hello still listed"

write_cfg "$TEST_TMP/e.cfg" te echo.elf 'device_model_placement = "inline"'
timeout 60 "$STUBCTL" create "$TEST_TMP/e.cfg" || fail "create echo"
d=$("$STUBCTL" domid te)
list=$("$STUBCTL" list)
echo "$list"
echo "$list" | grep -Eq "^te +$d +32 +1 +r-----" || fail "no running row for te"
echo "$list" | grep -q '^te-dm' && fail "a device model row for an inline guest"
expect_eq "device-model-domid" 0 "$(xenstore-read /local/domain/$d/image/device-model-domid)"
expect_eq "placement" inline "$(xenstore-read /local/domain/$d/stubvisor/placement)"
xenstore-ls /local/domain | grep -q 'te-dm' && fail "a te-dm domain in the store"

# QMP has nobody to answer inline: a prompt refusal, not a hang.
out=$(timeout 10 "$STUBCTL" qmp te '{"execute":"query-status"}' 2>&1) && fail "qmp answered: $out"
expect_contains "qmp refusal" "runs inline" "$out"

console_start te
printf 'stubvisor-ping\r' >&3
wait_for 10 console_has te stubvisor-ping || fail "no echo on the console: $(cat "$TEST_TMP/console-te.out")"
exec 3>&-

sup=$(xenstore-read /local/domain/$d/stubvisor/supervisor-pid)
vmm=$(vmm_pid_of "$d")
[ -n "$vmm" ] && [ -n "$sup" ] || fail "missing pids (vmm '$vmm' sup '$sup')"
timeout 30 "$STUBCTL" destroy te || fail "destroy te"
for p in $sup $vmm; do
    wait_for 5 sh -c "! kill -0 $p" || fail "process $p is still there after destroy"
done
left=$(ls -A "$STUBVISOR_RUNDIR" | grep -v '^store\.' || true)
expect_eq "rundir after destroy" "" "$left"
expect_eq "domains in the store" "" "$(xenstore-ls /local/domain)"
expect_eq "vm nodes in the store" "" "$(xenstore-ls /vm)"
pass
