#!/bin/sh
# SeaBIOS on the emulated PC platform: seabios.sh inline|stubdom.
# It must print its banner on the debug console (port 0x402, our log), find
# the i440FX and PIIX3 and fw_cfg, take its memory size from CMOS,
# initialise the PS/2 keyboard and, with no disk yet, say "No bootable
# device"; fw_cfg tells it to retry after 5 s, so it then resets the
# machine (port 0xcf9) and stubvmm ends with 103, "the guest reset itself".
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/vmm/lib-vmm.sh"
need_kvm
placement=$1
need_placement "$placement"
[ -f /usr/share/seabios/bios.bin ] || skip "SeaBIOS (Debian package seabios) is not installed"

log="$TEST_TMP/log"
# Bounded: the whole run takes ~15 s here (CPL0 code is emulated).
status=0
timeout 180 "$STUBVISOR_BIN/stubvmm" --firmware seabios --memory 64 --dm "$placement" \
    --serial "file:$TEST_TMP/serial" </dev/null 2>"$log" || status=$?
content=$(cat "$log")
[ "$status" -eq 103 ] || {
    printf '%s\n' "$content" >&2
    fail "exit status $status, expected 103 (guest reset)"
}
expect_contains "banner" "guest debug: SeaBIOS (version" "$content"
expect_contains "platform" "Running on QEMU (i440fx)" "$content"
expect_contains "fw_cfg" "Found QEMU fw_cfg" "$content"
expect_contains "memory size from CMOS" "RamSize: 0x04000000 [cmos]" "$content"
expect_contains "PCI scan" "Found 2 PCI devices" "$content"
expect_contains "PIIX3" "PCI: init bdf=00:01.0 id=8086:7000" "$content"
expect_contains "keyboard" "PS2 keyboard initialized" "$content"
expect_contains "e820" "0000000000100000 - 0000000004000000 = 1 RAM" "$content"
expect_contains "no disk" "No bootable device.  Retrying in 5 seconds." "$content"
expect_contains "reset" "guest reset through port 0xcf9" "$content"
pass
