#!/bin/sh
# stubctl save and restore of counter.elf in one placement (argument:
# stubdom, process or inline).  The count goes on after the restore from
# where it was, not from zero; the device model is back to "running" in
# the store; the save left no temporary file and destroyed the guest.
# With a second argument `fill`, the guest first fills 8 of its 32 MiB
# with a pattern that depends on each word's address and goes on checking
# it (fillcheck pages per count line): after the restore a whole pass over
# the region ends without a mismatch, so every page came back, in its place.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm
need_cmd xenstore-ls xenstore-read
placement=${1:-stubdom}
fill=${2:-}
every=250000000
fill_mib=8
fillcheck=256 # pages per count line: a pass over 8 MiB every 8 lines

# passes_at_least FILE N: FILE has N complete "fill: pass K ok" lines.
passes_at_least() {
    [ "$(whole_lines "$1" | grep -c '^fill: pass [0-9]* ok$')" -ge "$2" ]
}

if [ "$fill" = fill ]; then
    write_cfg "$TEST_TMP/c.cfg" sr counter.elf "device_model_placement = \"$placement\"" \
        "cmdline = \"fill=$fill_mib fillcheck=$fillcheck\""
else
    write_cfg "$TEST_TMP/c.cfg" sr counter.elf "device_model_placement = \"$placement\""
fi
timeout 60 "$STUBCTL" create -p "$TEST_TMP/c.cfg" || fail "create"
console_log sr "$TEST_TMP/before.out"
"$STUBCTL" unpause sr
# Far enough that a count from zero would show.
wait_for 30 count_at_least "$TEST_TMP/before.out" $((4 * every)) ||
    fail "no count: $(cat "$TEST_TMP/before.out")"
if [ "$fill" = fill ]; then
    grep -q "^fill: $fill_mib MiB at 0x[0-9a-f]* done" "$TEST_TMP/before.out" ||
        fail "no fill: $(head -c 1000 "$TEST_TMP/before.out")"
    # The check works before the save: a whole pass went by.
    wait_for 30 passes_at_least "$TEST_TMP/before.out" 1 ||
        fail "no fill pass before the save: $(tail -c 1000 "$TEST_TMP/before.out")"
fi

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
if [ "$fill" = fill ]; then
    # The pass under way at the save ends first; the second one went over
    # every page after the restore.
    wait_for 60 passes_at_least "$TEST_TMP/after.out" 2 ||
        fail "no whole fill pass after the restore: $(tail -c 2000 "$TEST_TMP/after.out")"
    grep -q mismatch "$TEST_TMP/after.out" && fail "guest memory changed: $(grep mismatch "$TEST_TMP/after.out")"
    expect_eq "lines other than count and fill pass" "" \
        "$(whole_lines "$TEST_TMP/after.out" | sed 1d | grep -Ev '^(count [0-9]+|fill: pass [0-9]+ ok)$' || true)"
fi
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
