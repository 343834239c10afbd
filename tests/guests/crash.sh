#!/bin/sh
# An exception in a guest ends the run with a report and status 3, from
# CPL0 and from CPL3 alike, instead of a triple fault.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/guests/qemu.sh"
need_qemu
elf=$(guest_elf crash)

# check KIND VECTOR
check() {
    qemu_boot "$elf" "kind=$1" 30
    expect_eq "exit status for $1" 3 "$guest_status"
    expect_contains "report for $1" "guest: exception $2 at " "$(cat "$qemu_out")"
}
check ud 6
check pf 14
check user 13
expect_contains "CPL3 fault" "cs 23" "$(cat "$qemu_out")"
pass
