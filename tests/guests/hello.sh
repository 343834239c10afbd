#!/bin/sh
# hello.elf boots under QEMU microvm, prints its line on COM1 and exits 0.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/guests/qemu.sh"
need_qemu
elf=$(guest_elf hello)

qemu_boot "$elf" "" 30
expect_eq "guest exit status" 0 "$guest_status"
expect_eq "COM1 output" "hello from guest" "$(cat "$qemu_out")"
pass
