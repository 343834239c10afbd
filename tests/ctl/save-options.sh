#!/bin/sh
# xl's save and restore command lines:
#   save -p DOMAIN FILE          the domain stays, paused (not destroyed)
#   save -c DOMAIN FILE          the domain stays, running
#   save -c -p DOMAIN FILE       paused, as xl (-p wins)
#   save DOMAIN FILE CONFIG      CONFIG is kept in the file instead of the
#                                domain's own (a restore without a config
#                                takes it); one for other memory is refused
#                                and the guest carries on
#   restore CONFIG FILE          xl's order; FILE CONFIG (the order of
#                                earlier versions) still works, told apart
#                                by content
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm
need_cmd xenstore-read

state_of() { "$STUBCTL" list "$1" | awk -v n="$1" '$1 == n { print $5 }'; }

write_cfg "$TEST_TMP/c.cfg" so counter.elf
timeout 60 "$STUBCTL" create "$TEST_TMP/c.cfg" 2>/dev/null || fail "create"
expect_eq "running" r----- "$(state_of so)"

timeout 120 "$STUBCTL" save -p so "$TEST_TMP/p.save" || fail "save -p"
[ -s "$TEST_TMP/p.save" ] || fail "save -p wrote no file"
expect_eq "after save -p" --p--- "$(state_of so)"
d=$("$STUBCTL" domid so)
dm=$(xenstore-read /local/domain/$d/image/device-model-domid)
expect_eq "device model after save -p" running "$(xenstore-read /local/domain/$dm/device-model/$d/state)"
"$STUBCTL" unpause so

timeout 120 "$STUBCTL" save -c so "$TEST_TMP/c.save" || fail "save -c"
expect_eq "after save -c" r----- "$(state_of so)"
timeout 120 "$STUBCTL" save -c -p so "$TEST_TMP/cp.save" || fail "save -c -p"
expect_eq "after save -c -p" --p--- "$(state_of so)"
"$STUBCTL" unpause so

# A CONFIG that does not describe the domain: refused, nothing saved.
write_cfg "$TEST_TMP/big.cfg" so-big counter.elf
sed -i 's/^memory = 32$/memory = 48/' "$TEST_TMP/big.cfg"
out=$(timeout 60 "$STUBCTL" save -c so "$TEST_TMP/big.save" "$TEST_TMP/big.cfg" 2>&1) &&
    fail "saved with a config for 48 MiB"
expect_contains "wrong config" "memory = 48 MiB and vcpus = 1, but the domain has 32 MiB" "$out"
[ -e "$TEST_TMP/big.save" ] && fail "a file was left by a refused save"
expect_eq "after a refused save" r----- "$(state_of so)"

# CONFIG kept in the file: a restore without a config gets its name.
write_cfg "$TEST_TMP/other.cfg" so-other counter.elf
timeout 120 "$STUBCTL" save so "$TEST_TMP/o.save" "$TEST_TMP/other.cfg" || fail "save with CONFIG"
wait_for 10 sh -c "! \"$STUBCTL\" list so >/dev/null 2>&1" || fail "so is still there after save"
timeout 60 "$STUBCTL" restore "$TEST_TMP/o.save" 2>/dev/null || fail "restore o.save"
expect_eq "restored from the kept CONFIG" r----- "$(state_of so-other)"
timeout 30 "$STUBCTL" destroy so-other || fail "destroy so-other"

# restore CONFIG FILE (xl) and FILE CONFIG (by content), -p and -c as before.
write_cfg "$TEST_TMP/x.cfg" so-xl counter.elf
timeout 60 "$STUBCTL" restore -p "$TEST_TMP/x.cfg" "$TEST_TMP/c.save" 2>/dev/null || fail "restore CONFIG FILE"
expect_eq "restore CONFIG FILE" --p--- "$(state_of so-xl)"
write_cfg "$TEST_TMP/y.cfg" so-old counter.elf
timeout 60 "$STUBCTL" restore "$TEST_TMP/cp.save" "$TEST_TMP/y.cfg" 2>/dev/null || fail "restore FILE CONFIG"
expect_eq "restore FILE CONFIG" r----- "$(state_of so-old)"
timeout 30 "$STUBCTL" destroy so-xl || fail "destroy so-xl"
timeout 30 "$STUBCTL" destroy so-old || fail "destroy so-old"

# Neither is a save file: xl's order decides, and the message names FILE.
out=$("$STUBCTL" restore "$TEST_TMP/x.cfg" "$TEST_TMP/y.cfg" 2>&1) && fail "restored from two configs"
expect_contains "two configs" "$TEST_TMP/y.cfg: not a stubvisor save file" "$out"
nothing_left
pass
