#!/bin/sh
# Runtime commands through the store, as the toolstack issues them (seed
# 001): parameter, command, wait for state, write running back.  save
# quiesces the device model and writes its state to console 1; continue
# reads it back from console 2; an unknown command gets "error" and the
# device model keeps running.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm
need_cmd xenstore-write xenstore-read

write_cfg "$TEST_TMP/c.cfg" cmd echo.elf
timeout 60 "$STUBCTL" create "$TEST_TMP/c.cfg" || fail "create"
dm=/local/domain/2/device-model/1

state_is() { [ "$(xenstore-read $dm/state)" = "$1" ]; }
# run_command CMD EXPECTED-STATE
run_command() {
    xenstore-write $dm/parameter ""
    xenstore-write $dm/command "$1"
    wait_for 10 state_is "$2" || fail "$1: state is $(xenstore-read $dm/state), expected $2"
    xenstore-write $dm/state running
}

console_start cmd
printf 'one\r' >&3
wait_for 10 console_has cmd one || fail "no echo before save"

"$STUBCTL" pause cmd
run_command save paused
head -c 12 "$STUBVISOR_RUNDIR/dom1/dm-state" | grep -q STUBDM-STATE || fail "no device state on console 1"
run_command continue running
"$STUBCTL" unpause cmd
printf 'two\r' >&3
wait_for 10 console_has cmd two || fail "no echo after save/continue"

run_command frobnicate error
expect_contains "log" 'unknown command "frobnicate"' "$("$STUBCTL" log cmd)"
printf 'three\r' >&3
wait_for 10 console_has cmd three || fail "the device model stopped after an unknown command"
exec 3>&-
"$STUBCTL" list | grep -Eq '^cmd-dm +2 .*-b----' || fail "cmd-dm not running"
timeout 30 "$STUBCTL" destroy cmd || fail destroy
[ ! -e "$STUBVISOR_RUNDIR/dom1" ] || fail "run directory left behind"
pass
