#!/bin/sh
# Disks, NICs and firmware from a config, end to end: devices.sh.
#   1. pci-list with two disks (the second read-only) and a vif on a Unix
#      socket, in a stub domain: the guest sees both virtio-blk functions
#      and the NIC; dm-argv describes them (read-only and the MAC included).
#   2. a vif without a mac gets a random 00:16:3e:xx:xx:xx;
#   3. firmware = "seabios" with a boot-sector disk: the sector's line on
#      the console.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm
need_cmd xenstore-ls python3

truncate -s 1M "$TEST_TMP/a.img" "$TEST_TMP/b.img"
python3 "$STUBVISOR_SRC/tests/virtio/echo.py" unix "$TEST_TMP/echo.ready" "$TEST_TMP/lan.sock" &
track_pid $!
wait_for 10 test -f "$TEST_TMP/echo.ready" || fail "the frame echo did not start"

write_cfg "$TEST_TMP/pci.cfg" tpci pci-list.elf \
    "disk = [ '$TEST_TMP/a.img,raw,xvda,rw', '$TEST_TMP/b.img,raw,xvdb,ro' ]" \
    "vif = [ 'mac=00:16:3e:12:34:56, backend=socket:$TEST_TMP/lan.sock' ]" \
    "on_poweroff = 'preserve'"
# -p: created paused, so that the store can be read before the guest ends.
timeout 60 "$STUBCTL" create -p "$TEST_TMP/pci.cfg" || fail "create pci-list: $(cat "$TEST_TMP"/log/*.log)"
xenstore-ls >"$TEST_TMP/ls.txt"
xs_has() { grep -Eq -- "$1" "$TEST_TMP/ls.txt" || fail "store: no line matching $1: $(cat "$TEST_TMP/ls.txt")"; }
xs_has '^    009 = "-device"'
xs_has '^    010 = "virtio-blk,readonly=off"'
xs_has '^    012 = "virtio-blk,readonly=on"'
xs_has '^    013 = "-device"'
xs_has '^    014 = "virtio-net,mac=00:16:3e:12:34:56"'
console_start tpci
"$STUBCTL" unpause tpci || fail "unpause"
wait_for 60 console_has tpci "pci-list: .* functions" || fail "no PCI listing: $(cat "$TEST_TMP/console-tpci.out")"
out=$(tr -d '\r' <"$TEST_TMP/console-tpci.out")
for slot in 03 04; do
    expect_contains "virtio-blk at $slot" "pci 00:$slot.0 1af4:1001 class 018000" "$out"
done
expect_contains "virtio-net" "pci 00:05.0 1af4:1000 class 020000" "$out"
exec 3>&-
timeout 30 "$STUBCTL" destroy tpci || fail "destroy tpci"

# A vif without a mac gets 00:16:3e:xx:xx:xx.
write_cfg "$TEST_TMP/mac.cfg" tmac pci-list.elf "vif = [ 'backend=socket:$TEST_TMP/lan.sock' ]"
timeout 60 "$STUBCTL" create -p "$TEST_TMP/mac.cfg" || fail "create tmac"
xenstore-ls | grep -Eq '^    010 = "virtio-net,mac=00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}"' ||
    fail "no generated MAC in dm-argv: $(xenstore-ls)"
timeout 30 "$STUBCTL" destroy tmac || fail "destroy tmac"

# SeaBIOS from a boot-sector disk (tests/lib-bootsector.sh:
# it prints a line, writes sector 1 through int 13h and exits 42 through
# port 0xf4, a poweroff for the toolstack).
if [ -f /usr/share/seabios/bios.bin ]; then
    . "$STUBVISOR_SRC/tests/lib-bootsector.sh"
    make_boot_disk "$TEST_TMP/boot.img"
    {
        echo 'name = "tbios"'
        echo 'firmware = "seabios"'
        echo 'memory = 64'
        echo "disk = [ '$TEST_TMP/boot.img,raw,xvda,rw' ]"
    } >"$TEST_TMP/bios.cfg"
    timeout 100 "$STUBCTL" create -c "$TEST_TMP/bios.cfg" </dev/null >"$TEST_TMP/bios.out" 2>&1 ||
        fail "create -c seabios: $(tail -c 2000 "$TEST_TMP/bios.out")"
    expect_contains "the boot sector's line" "boot sector: hello" "$(cat "$TEST_TMP/bios.out")"
fi
pass
