#!/bin/sh
# pio-bench.elf reads iterations= from its command line, checks every
# scratch-register round trip and reports the count.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/guests/qemu.sh"
need_qemu
elf=$(guest_elf pio-bench)

qemu_boot "$elf" "console=none iterations=1000" 60
expect_eq "guest exit status" 0 "$guest_status"
expect_eq "report" "pio-bench: 1000 round trips" "$(cat "$qemu_out")"

# A malformed value falls back to the default rather than to zero.
qemu_boot "$elf" "iterations=12x iterations=7" 60
expect_eq "guest exit status" 0 "$guest_status"
expect_eq "later word wins" "pio-bench: 7 round trips" "$(cat "$qemu_out")"
pass
