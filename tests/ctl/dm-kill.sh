#!/bin/sh
# Two guests, each with its own stub domain.  One device model is killed
# (SIGKILL by pid): its guest is paused and its log says why; the other
# guest still echoes.  Then destroy still cleans up the wounded guest.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm

write_cfg "$TEST_TMP/a.cfg" ka echo.elf
write_cfg "$TEST_TMP/b.cfg" kb echo.elf
timeout 60 "$STUBCTL" create "$TEST_TMP/a.cfg" || fail "create ka"
timeout 60 "$STUBCTL" create "$TEST_TMP/b.cfg" || fail "create kb"

dm_a=$(dm_pid ka)
dm_b=$(dm_pid kb)
[ -n "$dm_a" ] && [ "$dm_a" != 0 ] && [ -n "$dm_b" ] || fail "no device model pids"
[ "$dm_a" != "$dm_b" ] || fail "one device model for two guests"
kill -9 "$dm_a"

paused() { "$STUBCTL" list | grep -Eq '^ka +[0-9]+ +[0-9]+ +[0-9]+ +--p---'; }
wait_for 10 paused || fail "ka is not shown paused: $("$STUBCTL" list)"
"$STUBCTL" list | grep -Eq '^ka-dm +[0-9]+ +[0-9]+ +0 +----c-' || fail "ka-dm not shown crashed"
"$STUBCTL" list | grep -Eq '^kb +[0-9]+ +[0-9]+ +[0-9]+ +r-----' || fail "kb is not running"
expect_contains "ka's log" "device model died (killed by signal 9); guest paused" "$("$STUBCTL" log ka)"
"$STUBCTL" unpause ka 2>/dev/null && fail "unpausing a guest without a device model worked"

# The other guest carries on.
kill -0 "$dm_b" || fail "kb's device model is gone too"
console_start kb
printf 'still-alive\r' >&3
wait_for 10 console_has kb still-alive || fail "kb does not echo: $(cat "$TEST_TMP/console-kb.out")"
exec 3>&-

timeout 30 "$STUBCTL" destroy ka || fail "destroy ka"
"$STUBCTL" list | grep -q '^ka' && fail "ka still listed"
"$STUBCTL" list | grep -Eq '^kb +[0-9]+ .*r-----' || fail "kb did not survive ka's destruction"
pass
