#!/bin/sh
# SeaBIOS on the emulated PC platform: seabios.sh inline|stubdom.
# It must print its banner on the debug console (port 0x402, our log), find
# the i440FX and PIIX3, take its memory size from CMOS, initialise the PS/2
# keyboard and, with no disk yet, say "No bootable device".  SeaBIOS would
# then wait 60 s and reset; we stop it once the message is there.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/vmm/lib-vmm.sh"
need_kvm
placement=$1
need_placement "$placement"
[ -f /usr/share/seabios/bios.bin ] || skip "SeaBIOS (Debian package seabios) is not installed"

log="$TEST_TMP/log"
"$STUBVISOR_BIN/stubvmm" --firmware seabios --memory 64 --dm "$placement" \
    --serial "file:$TEST_TMP/serial" </dev/null 2>"$log" &
vmm_pid=$!
track_pid "$vmm_pid"

# Bounded: the boot takes ~15 s here (CPL0 code is emulated).
if ! wait_for 180 grep -q "No bootable device" "$log"; then
    cat "$log" >&2
    fail "no 'No bootable device' message"
fi
kill -0 "$vmm_pid" || fail "stubvmm ended on its own"
content=$(cat "$log")
expect_contains "banner" "guest debug: SeaBIOS (version" "$content"
expect_contains "platform" "Running on QEMU (i440fx)" "$content"
expect_contains "memory size from CMOS" "RamSize: 0x04000000 [cmos]" "$content"
expect_contains "PCI scan" "Found 2 PCI devices" "$content"
expect_contains "PIIX3" "PCI: init bdf=00:01.0 id=8086:7000" "$content"
expect_contains "keyboard" "PS2 keyboard initialized" "$content"
expect_contains "e820" "0000000000100000 - 0000000004000000 = 1 RAM" "$content"

kill "$vmm_pid"
status=0
wait "$vmm_pid" || status=$?
expect_eq "exit status after SIGTERM" 143 "$status"
pass
