#!/bin/sh
# Level-triggered INTx leaves a device model outside the monitor through an
# irqfd with a resample eventfd: blk-bench with intx=2 (no MSI-X; every PIRQ
# link to IRQ 10, level; every other interrupt only EOIed, so the device
# still holds the line and the interrupt must come again) reads the disk.
# Every completion must be acknowledged and every one of them must have
# taken two interrupts (the second one is the resample at work).  Outside
# the monitor (process, stubdom) stubvmm handled no set_isa_irq or
# set_pci_intx dm_op at all; inline the line changes are those calls (so the
# count can tell the two paths apart).
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/vmm/lib-vmm.sh"

placement=${1:-stubdom}
need_kvm
need_placement "$placement"
bench=$(need_guest blk-bench)
img="$TEST_TMP/disk.img"
out="$TEST_TMP/serial.txt"
log="$TEST_TMP/stubvmm.log"

truncate -s 4M "$img"
rc=0
# 1 MiB in 64-KiB requests: 16 completions.
STUBVISOR_DEBUG=1 timeout 120 "$STUBVISOR_BIN/stubvmm" --kernel "$bench" --dm "$placement" \
    --memory 32 --serial "file:$out" --cmdline "mib=1 intx=2" --disk "$img" 2>"$log" || rc=$?
[ "$rc" -eq 0 ] || fail "blk-bench intx=2 exited $rc ($(cat "$out"); $(tail -5 "$log"))"
expect_contains "INTx counts" "INTx: 16 completions acknowledged, 32 interrupts taken" \
    "$(tr -d '\r' <"$out")"

set_irq=$(sed -n 's/.*stubvmm: debug: set_isa_irq\/set_pci_intx dm_ops handled: \([0-9][0-9]*\)$/\1/p' \
    "$log" | tail -1)
[ -n "$set_irq" ] || fail "no set_isa_irq counter in the log"
case $placement in
inline)
    [ "$set_irq" -gt 0 ] || fail "inline: the INTx line changes were never set_isa_irq calls"
    ;;
*)
    expect_eq "set_isa_irq/set_pci_intx dm_ops in $placement" 0 "$set_irq"
    ;;
esac
pass
