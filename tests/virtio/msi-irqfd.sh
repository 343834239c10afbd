#!/bin/sh
# MSI-X leaves a device model outside the monitor through irqfds: blk-bench
# with msix=1 (queue 0 signals vector 0 on every completion) reads the disk
# back, and stubvmm's debug log at exit says how many MSI routes the device
# model allocated and how many inject_msi dm_ops it handled.  Outside the
# monitor (process, stubdom): at least one route, no inject_msi at all.
# Inline: no routes, and the guest's messages show up as inject_msi (so the
# guest does ask for them and the count can tell the two paths apart).
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/vmm/lib-vmm.sh"

placement=${1:-stubdom}
need_kvm
need_placement "$placement"
bench=$(need_guest blk-bench)
vmm="$STUBVISOR_BIN/stubvmm"
img="$TEST_TMP/disk.img"
out="$TEST_TMP/serial.txt"
log="$TEST_TMP/stubvmm.log"

truncate -s 4M "$img"
rc=0
STUBVISOR_DEBUG=1 timeout 120 "$vmm" --kernel "$bench" --dm "$placement" --memory 32 \
    --serial "file:$out" --cmdline "mib=2 msix=1" --disk "$img" 2>"$log" || rc=$?
[ "$rc" -eq 0 ] || fail "blk-bench msix=1 exited $rc ($(cat "$out"); $(tail -5 "$log"))"

# count WHAT: the number logged after "WHAT: " at exit
count() { sed -n "s/.*stubvmm: debug: $1: \([0-9][0-9]*\)$/\1/p" "$log" | tail -1; }
routes=$(count "MSI routes allocated")
injected=$(count "inject_msi dm_ops handled")
[ -n "$routes" ] && [ -n "$injected" ] || fail "no MSI counters in the log"
case $placement in
inline)
    expect_eq "MSI routes inline" 0 "$routes"
    [ "$injected" -gt 0 ] || fail "inline: the guest's MSIs were never injected"
    ;;
*)
    [ "$routes" -ge 1 ] || fail "$placement: no MSI route allocated"
    expect_eq "inject_msi dm_ops in $placement" 0 "$injected"
    ;;
esac
pass
