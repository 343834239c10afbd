#!/bin/sh
# stubctl save and restore of counter.elf in one placement (argument:
# stubdom, process or inline).  The count goes on after the restore from
# where it was, not from zero; the device model is back to "running" in
# the store; the save left no temporary file and destroyed the guest.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm
need_cmd xenstore-ls xenstore-read
placement=${1:-stubdom}
every=250000000

write_cfg "$TEST_TMP/c.cfg" sr counter.elf "device_model_placement = \"$placement\""
timeout 60 "$STUBCTL" create -p "$TEST_TMP/c.cfg" || fail "create"
console_log sr "$TEST_TMP/before.out"
"$STUBCTL" unpause sr
# Far enough that a count from zero would show.
wait_for 30 count_at_least "$TEST_TMP/before.out" $((4 * every)) ||
    fail "no count: $(cat "$TEST_TMP/before.out")"

timeout 120 "$STUBCTL" save sr "$TEST_TMP/sr.save" || fail "save"
[ -s "$TEST_TMP/sr.save" ] || fail "no save file"
ls "$TEST_TMP" | grep -q 'sr\.save\.tmp' && fail "a temporary file is left: $(ls "$TEST_TMP")"
wait_for 10 sh -c "! \"$STUBCTL\" list | grep -q '^sr'" || fail "the guest is still there after save"
nothing_left
before=$(counts "$TEST_TMP/before.out" | tail -n1)

timeout 60 "$STUBCTL" restore -p "$TEST_TMP/sr.save" || fail "restore"
d=$("$STUBCTL" domid sr)
if [ "$placement" != inline ]; then
    dm=$(xenstore-read /local/domain/$d/image/device-model-domid)
    expect_eq "device model state" running "$(xenstore-read /local/domain/$dm/device-model/$d/state)"
fi
console_log sr "$TEST_TMP/after.out"
"$STUBCTL" unpause sr
wait_for 30 count_at_least "$TEST_TMP/after.out" $((before + 2 * every)) ||
    fail "the count did not go on from $before: $(head -c 2000 "$TEST_TMP/after.out")"
first=$(counts "$TEST_TMP/after.out" | head -n1)
# The line being printed at the save may be cut; the next one is whole.
[ "$first" -gt "$before" ] && [ "$first" -le $((before + 2 * every)) ] ||
    fail "the first count after the restore is $first, the last before $before"
"$STUBCTL" list | grep -Eq "^sr +$d +32 +1 +r-----" || fail "sr is not running: $("$STUBCTL" list)"
if [ "$placement" != inline ]; then
    "$STUBCTL" list | grep -Eq '^sr-dm +[0-9]+ .*-b----' || fail "sr-dm is not running"
fi

timeout 30 "$STUBCTL" destroy sr || fail destroy
nothing_left
pass
