#!/bin/sh
# QMP through stubvmm's relay to the device model: greeting and
# negotiation (by stubctl qmp), query-version, query-status, stop/cont
# pausing the vCPUs (list shows it), an unknown command, one client at a
# time, system_reset restarting the guest (on_reboot = "restart"), quit.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm

write_cfg "$TEST_TMP/q.cfg" q echo.elf 'on_reboot = "restart"'
timeout 60 "$STUBCTL" create "$TEST_TMP/q.cfg" || fail "create"
qmp() { timeout 20 "$STUBCTL" qmp q "$1"; }

expect_contains "query-version" '"package":"stubvisor"' "$(qmp '{"execute":"query-version"}')"
expect_contains "query-status" '"status":"running"' "$(qmp '{"execute":"query-status"}')"
expect_eq "stop" '{"return":{},"id":"s1"}' "$(qmp '{"execute":"stop","id":"s1"}')"
expect_contains "query-status after stop" '"status":"paused"' "$(qmp '{"execute":"query-status"}')"
"$STUBCTL" list | grep -Eq '^q +1 .*--p---' || fail "list does not show q paused after stop"
qmp '{"execute":"cont"}' >/dev/null || fail "cont"
"$STUBCTL" list | grep -Eq '^q +1 .*r-----' || fail "list does not show q running after cont"
out=$(qmp '{"execute":"no-such-thing"}') && fail "unknown command succeeded"
expect_contains "unknown command" CommandNotFound "$out"
out=$(qmp '[1, 2') && fail "bad JSON accepted"

# One client at a time: while one holds the socket, the next is told.
python3 - "$STUBVISOR_RUNDIR/dom1/qmp.sock" <<'PY' || fail "second QMP client was not refused"
import socket, sys
a = socket.socket(socket.AF_UNIX); a.connect(sys.argv[1]); a.settimeout(10)
assert b'"QMP"' in a.recv(4096)
b = socket.socket(socket.AF_UNIX); b.connect(sys.argv[1]); b.settimeout(10)
assert b'busy' in b.recv(4096)
PY

# system_reset: the toolstack restarts the guest (on_reboot = restart).
qmp '{"execute":"system_reset"}' >/dev/null || fail "system_reset"
restarted() { "$STUBCTL" log q | grep -q 'restarted as domain'; }
wait_for 30 restarted || fail "q was not restarted: $("$STUBCTL" log q)"
wait_for 10 sh -c "'$STUBCTL' list | grep -Eq '^q .*r-----'" || fail "q not running after restart"
console_start q
printf 'after-reset\r' >&3
wait_for 10 console_has q after-reset || fail "no echo after the restart"
exec 3>&-

# quit: powered off, on_poweroff = destroy.
qmp '{"execute":"quit"}' >/dev/null || fail "quit"
wait_for 15 sh -c "! '$STUBCTL' list | grep -q '^q '" || fail "q still listed after quit"
left=$(ls -A "$STUBVISOR_RUNDIR" | grep -v '^store\.' || true)
expect_eq "rundir after quit" "" "$left"
pass
