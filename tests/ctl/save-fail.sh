#!/bin/sh
# Saves that fail leave no file and the guest as it was: a directory that
# does not exist, one that cannot be written (/proc), a FILE that cannot
# be replaced (a non-empty directory: everything is written, the rename
# fails), a guest whose device model was killed, a device model that
# answers error to save (test builds: dm-argv -fail-save).  save -c keeps
# the guest running and counting, and its file restores as a second guest
# (CONFIG given) that counts on from the save.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm
need_cmd xenstore-read
every=250000000

write_cfg "$TEST_TMP/c.cfg" sf counter.elf
timeout 60 "$STUBCTL" create -p "$TEST_TMP/c.cfg" || fail "create"
console_log sf "$TEST_TMP/c.out"
"$STUBCTL" unpause sf
wait_for 30 count_at_least "$TEST_TMP/c.out" 1 || fail "no count"
d=$("$STUBCTL" domid sf)
dm=$(xenstore-read /local/domain/$d/image/device-model-domid)

# The guest under test: its name and console output ($d, $dm: its domain
# ids).  Not "g": write_cfg uses that name.
guest=sf
out_file=$TEST_TMP/c.out

# still_counting WHAT: $guest runs, its device model too, and the count goes on.
still_counting() {
    now=$(counts "$out_file" | tail -n1)
    wait_for 30 count_at_least "$out_file" $((now + 2 * every)) ||
        fail "$1: the count stopped at $now"
    "$STUBCTL" list | grep -Eq "^$guest +$d +32 +1 +r-----" || fail "$1: $guest is not running"
    expect_eq "$1: device model state" running "$(xenstore-read /local/domain/$dm/device-model/$d/state)"
}

# save_fails WHAT FILE EXPECTED-TEXT
save_fails() {
    out=$(timeout 60 "$STUBCTL" save "$guest" "$2" 2>&1) && st=0 || st=$?
    expect_eq "$1: exit status" 1 "$st"
    expect_contains "$1: message" "$3" "$out"
    expect_contains "$1: message" "nothing saved" "$out"
}

save_fails "no directory" "$TEST_TMP/nowhere/sf.save" "No such file or directory"
[ ! -e "$TEST_TMP/nowhere" ] || fail "no directory: something was made"
still_counting "no directory"

save_fails "read-only directory" "/proc/sf.save" "/proc/sf.save.tmp"
still_counting "read-only directory"

mkdir -p "$TEST_TMP/full.save/x"
save_fails "rename" "$TEST_TMP/full.save" "full.save"
ls "$TEST_TMP" | grep -q 'full\.save\.tmp' && fail "rename: the temporary file is left"
[ -d "$TEST_TMP/full.save/x" ] || fail "rename: the directory was touched"
still_counting "rename"

# Usage errors touch nothing.
st=0; "$STUBCTL" save sf >/dev/null 2>&1 || st=$?
expect_eq "save without a file" 100 "$st"
st=0; "$STUBCTL" save -x sf "$TEST_TMP/x.save" >/dev/null 2>&1 || st=$?
expect_eq "save -x" 100 "$st"
st=0; "$STUBCTL" save nosuchguest "$TEST_TMP/x.save" >/dev/null 2>&1 || st=$?
expect_eq "save of an unknown domain" 1 "$st"
[ ! -e "$TEST_TMP/x.save" ] || fail "a file for an unknown domain"

# save -c: the file, and the guest goes on.
timeout 60 "$STUBCTL" save -c sf "$TEST_TMP/sf.save" || fail "save -c"
[ -s "$TEST_TMP/sf.save" ] || fail "save -c wrote no file"
at_save=$(counts "$TEST_TMP/c.out" | tail -n1)
still_counting "save -c"

# Restored while the original still runs: its name is taken; nothing new
# appears and the original is untouched.
out=$(timeout 60 "$STUBCTL" restore "$TEST_TMP/sf.save" 2>&1) && fail "restored a second sf: $out"
expect_contains "name taken" "domain 'sf' already exists" "$out"
expect_eq "guests listed" "Domain-0 sf sf-dm" "$("$STUBCTL" list | awk 'NR > 1 { print $1 }' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "run directories" "dom$d" "$(ls "$STUBVISOR_RUNDIR" | grep '^dom' | tr '\n' ' ' | sed 's/ $//')"
still_counting "restore with the name taken"

# save -c of a paused guest leaves it paused.
"$STUBCTL" pause sf
timeout 60 "$STUBCTL" save -c sf "$TEST_TMP/paused.save" || fail "save -c of a paused guest"
"$STUBCTL" list | grep -Eq "^sf +$d +32 +1 +--p---" || fail "save -c unpaused a paused guest"
expect_eq "device model state after save -c" running "$(xenstore-read /local/domain/$dm/device-model/$d/state)"
"$STUBCTL" unpause sf
still_counting "unpaused after save -c"

# The file, under another name, next to the original.
write_cfg "$TEST_TMP/copy.cfg" sf-copy counter.elf
timeout 60 "$STUBCTL" restore -p "$TEST_TMP/copy.cfg" "$TEST_TMP/sf.save" || fail "restore as sf-copy"
console_log sf-copy "$TEST_TMP/copy.out"
"$STUBCTL" unpause sf-copy
wait_for 30 count_at_least "$TEST_TMP/copy.out" $((at_save + every)) ||
    fail "sf-copy does not count on from $at_save: $(head -c 1000 "$TEST_TMP/copy.out")"
first=$(counts "$TEST_TMP/copy.out" | head -n1)
[ "$first" -ge "$at_save" ] || fail "sf-copy started at $first, below $at_save"
timeout 30 "$STUBCTL" destroy sf-copy || fail "destroy sf-copy"

# A guest whose device model was killed: refused, left as it was (paused).
kill -9 "$(dm_pid sf)"
paused() { "$STUBCTL" list | grep -Eq "^sf +$d +32 +1 +--p---"; }
wait_for 10 paused || fail "sf is not paused after its device model died"
save_fails "dead device model" "$TEST_TMP/dead.save" "device model is gone"
[ ! -e "$TEST_TMP/dead.save" ] || fail "dead device model: a file was left"
ls "$TEST_TMP" | grep -q 'dead\.save' && fail "dead device model: a temporary file is left"
paused || fail "sf changed after the failed save"
timeout 30 "$STUBCTL" destroy sf || fail destroy
nothing_left

# A device model that answers error to the first save: the save fails with
# that reason, leaves no file, and the guest and its device model go on;
# the next save works.
write_cfg "$TEST_TMP/e.cfg" sfe counter.elf
STUBVISOR_TEST_DM_ARGS="-fail-save 1" timeout 60 "$STUBCTL" create -p "$TEST_TMP/e.cfg" ||
    fail "create sfe"
guest=sfe
out_file=$TEST_TMP/e.out
console_log sfe "$out_file"
"$STUBCTL" unpause sfe
wait_for 30 count_at_least "$out_file" 1 || fail "sfe: no count"
d=$("$STUBCTL" domid sfe)
dm=$(xenstore-read /local/domain/$d/image/device-model-domid)
save_fails "device model error" "$TEST_TMP/e.save" "the device model answered error"
[ ! -e "$TEST_TMP/e.save" ] || fail "device model error: a file was left"
ls "$TEST_TMP" | grep -q '^e\.save' && fail "device model error: a temporary file is left"
grep -rq "failing on purpose" "$STUBVISOR_LOGDIR" || fail "the device model did not fail the save"
still_counting "device model error"
timeout 60 "$STUBCTL" save -c sfe "$TEST_TMP/e.save" || fail "save -c after the failed one"
[ -s "$TEST_TMP/e.save" ] || fail "save -c after the failed one wrote no file"
still_counting "save -c after the failed one"
timeout 30 "$STUBCTL" destroy sfe || fail "destroy sfe"
nothing_left
pass
