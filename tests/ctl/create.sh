#!/bin/sh
# stubctl create/list/console/log/destroy with a stub domain, checked from
# outside (xenstore-ls -p) and from inside (the device model's own store
# connection tries to read another guest's dm-argv).
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm
need_cmd xenstore-ls xenstore-read

write_cfg "$TEST_TMP/a.cfg" ta echo.elf
write_cfg "$TEST_TMP/b.cfg" tb echo.elf

timeout 60 "$STUBCTL" create "$TEST_TMP/a.cfg" || fail "create a"
expect_eq "domid" 1 "$("$STUBCTL" domid ta)"
expect_eq "domname" ta "$("$STUBCTL" domname 1)"
vm_a=$(xenstore-read /local/domain/1/vm)

# The second device model tries its neighbour's arguments and nodes.
STUBVISOR_TEST_DM_ARGS="-selfcheck $vm_a/image/dm-argv/000 -selfcheck /local/domain/1/name -selfcheck /local/domain/3/name" \
    timeout 60 "$STUBCTL" create "$TEST_TMP/b.cfg" || fail "create b"

list=$("$STUBCTL" list)
echo "$list"
echo "$list" | grep -q '^Domain-0 *0 ' || fail "no Domain-0 row"
echo "$list" | grep -Eq '^ta +1 +32 +1 +r-----' || fail "no running row for ta"
echo "$list" | grep -Eq '^ta-dm +2 +64 +0 ' || fail "no stub domain row for ta"
echo "$list" | grep -Eq '^tb-dm +4 ' || fail "no stub domain row for tb"

ls=$(xenstore-ls -p)
echo "$ls" >"$TEST_TMP/xenstore-ls.txt"
xs_has() { grep -Eq -- "$1" "$TEST_TMP/xenstore-ls.txt" || fail "xenstore-ls -p: no line matching $1"; }
xs_has '^   dm-argv = "" .*\(n0,r2\)'
xs_has '^    000 = "stubdm" .*\(n0,r2\)'
xs_has '^    000 = "stubdm" .*\(n0,r4\)'
xs_has '^   target = "1" .*\(n0,r2\)'
xs_has '^    1 = "" .*\(n2,r1\)'
xs_has '^     state = "running" .*\(n2,r1\)'
xs_has '^    device-model-domid = "2" .*\(n0,r1\)'
xs_has '^   name = "ta-dm" .*\(n0,r2\)'
xs_has '^  1 = "" .*\(n0,r1\)'

log_b=$("$STUBCTL" log tb)
expect_contains "tb's own target" "self-check: read /local/domain/3/name: allowed" "$log_b"
expect_contains "ta's dm-argv from tb's DM" "self-check: read $vm_a/image/dm-argv/000: Permission denied" "$log_b"
expect_contains "ta's nodes from tb's DM" "self-check: read /local/domain/1/name: Permission denied" "$log_b"

# Console: what we type comes back.
console_start ta
printf 'stubvisor-ping\r' >&3
wait_for 10 console_has ta stubvisor-ping || fail "no echo on the console: $(cat "$TEST_TMP/console-ta.out")"
exec 3>&-

# Destroy leaves nothing behind.
sup=$(xenstore-read /local/domain/1/stubvisor/supervisor-pid)
vmm=$(vmm_pid_of 1)
dm=$(dm_pid ta)
[ -n "$vmm" ] && [ -n "$dm" ] && [ -n "$sup" ] || fail "missing pids (vmm '$vmm' dm '$dm' sup '$sup')"
timeout 30 "$STUBCTL" destroy ta || fail "destroy ta"
timeout 30 "$STUBCTL" destroy tb || fail "destroy tb"
for p in $sup $vmm $dm; do
    wait_for 5 sh -c "! kill -0 $p" || fail "process $p is still there after destroy"
done
left=$(ls -A "$STUBVISOR_RUNDIR" | grep -v '^store\.' || true)
expect_eq "rundir after destroy" "" "$left"
expect_eq "domains in the store" "" "$(xenstore-ls /local/domain)"
expect_eq "vm nodes in the store" "" "$(xenstore-ls /vm)"
"$STUBCTL" list | grep -Eq '^t[ab]' && fail "list still shows a guest"
pass
