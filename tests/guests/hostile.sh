#!/bin/sh
# hostile.elf attacks the machine (port storm, PCI, UART, MMIO, huge string
# I/O, debug port) and must finish with `hostile: done` and status 0; under
# QEMU that proves the guest itself is sound, so a failure under stubvmm is
# the monitor's.  The same seed must give the same run.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/guests/qemu.sh"
need_qemu
elf=$(guest_elf hostile)

qemu_boot "$elf" "seed=3 rounds=1" 120
out=$(cat "$qemu_out")
expect_eq "guest exit status" 0 "$guest_status"
for phase in ports pci uart mmio rep debug; do
    expect_contains "progress" "hostile: phase $phase (round 1/1)" "$out"
done
expect_eq "last line" "hostile: done" "$(tail -n 1 "$qemu_out")"

# Determinism, on the cheap phases: same seed, byte-identical console.
qemu_boot "$elf" "seed=11 rounds=2 phases=pci,uart" 60
expect_eq "guest exit status" 0 "$guest_status"
cp "$qemu_out" "$TEST_TMP/first"
qemu_boot "$elf" "seed=11 rounds=2 phases=pci,uart" 60
cmp -s "$TEST_TMP/first" "$qemu_out" || fail "same seed, different output"
expect_contains "rounds" "hostile: phase uart (round 2/2)" "$(cat "$qemu_out")"
pass
