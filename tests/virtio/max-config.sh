#!/bin/sh
# The largest guest through stubctl: max-config.sh PLACEMENT.  8 disks,
# 4 NICs (on a Unix socket), the virtio console and the RNG: pci-list.elf
# map=1 sees the two bridges and the 14 virtio functions in slot order,
# gives every BAR an address like firmware does, and every one of the 28
# BARs must answer (none left unmapped because the device model or the
# monitor ran out of room: traps, ranges, descriptors).
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm
need_cmd python3
placement=${1:-stubdom}

python3 "$STUBVISOR_SRC/tests/virtio/echo.py" unix "$TEST_TMP/echo.ready" "$TEST_TMP/lan.sock" &
track_pid $!
wait_for 10 test -f "$TEST_TMP/echo.ready" || fail "the frame echo did not start"
disks= vifs=
for i in 0 1 2 3 4 5 6 7; do
    truncate -s 1M "$TEST_TMP/d$i.img"
    disks="$disks${disks:+, }'$TEST_TMP/d$i.img,raw,xvd$(printf "\\$(printf '%03o' $((97 + i)))"),rw'"
done
for i in 0 1 2 3; do
    vifs="$vifs${vifs:+, }'backend=socket:$TEST_TMP/lan.sock'"
done
write_cfg "$TEST_TMP/max.cfg" tmax pci-list.elf 'cmdline = "map=1"' "disk = [ $disks ]" \
    "vif = [ $vifs ]" 'virtio_console = 1' 'virtio_rng = 1' \
    "device_model_placement = \"$placement\"" "on_poweroff = 'preserve'"
timeout 60 "$STUBCTL" create -p "$TEST_TMP/max.cfg" ||
    fail "create: $(cat "$TEST_TMP"/log/*.log)"
console_start tmax
"$STUBCTL" unpause tmax || fail "unpause"
wait_for 60 console_has tmax "pci-list: .* functions" ||
    fail "no PCI listing: $(cat "$TEST_TMP/console-tmax.out")"
list=$(tr -d '\r' <"$TEST_TMP/console-tmax.out" | grep '^pci')
exec 3>&-
timeout 30 "$STUBCTL" destroy tmax || fail "destroy"

has() {
    printf '%s\n' "$list" | grep -qx -- "$1" || fail "expected '$1' in the PCI listing:
$list"
}
has "pci-list: 16 functions"
for slot in 03 04 05 06 07 08 09 0a; do
    has "pci 00:$slot.0 1af4:1001 class 018000 header 00"
done
for slot in 0b 0c 0d 0e; do
    has "pci 00:$slot.0 1af4:1000 class 020000 header 00"
done
has "pci 00:0f.0 1af4:1003 class 078000 header 00"
has "pci 00:10.0 1af4:1005 class 00ff00 header 00"
expect_eq "BARs mapped" 28 "$(printf '%s\n' "$list" | grep -c ' at 0x.* mapped$')"
printf '%s\n' "$list" | grep -q 'unmapped' && fail "BARs left unmapped:
$(printf '%s\n' "$list" | grep unmapped)"
pass
