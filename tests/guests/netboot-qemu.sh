#!/bin/sh
# The network boot environment (tests/lib-netboot.sh) under QEMU 7.2:
# SeaBIOS runs the virtio-net NIC's iPXE ROM (Debian's ipxe-qemu), which
# gets a lease from dnsmasq in the test's network namespace, loads
# boot.ipxe over TFTP, prints its marker, fetches second.ipxe and prints
# its MD5, and chains it.  The same environment serves stubvisor's guests
# in ctl-netboot once the NIC carries the ROM.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/guests/qemu.sh"
. "$STUBVISOR_SRC/tests/lib-netboot.sh"
trap 'netboot_cleanup; cleanup' EXIT INT TERM
need_qemu
need_netboot
[ -f /usr/lib/ipxe/qemu/efi-virtio.rom ] || [ -f /usr/lib/ipxe/virtio-net.rom ] ||
    skip "no iPXE ROM for virtio-net (Debian package ipxe-qemu)"

netboot_start
netboot_selftest
echo "the environment works: a DHCP lease and boot.ipxe over TFTP from its namespace"
out="$TEST_TMP/qemu-net.out"
ip netns exec "$nb_ns" timeout --foreground --kill-after=5 200 qemu-system-x86_64 -enable-kvm -M pc -m 64 \
    -nodefaults -no-user-config -nographic -serial stdio -boot n \
    -netdev "tap,id=n0,ifname=$nb_tap,script=no,downscript=no" \
    -device virtio-net-pci,netdev=n0,mac=52:54:00:77:00:10 \
    </dev/null >"$out" 2>"$out.err" &
qemu=$!
track_pid "$qemu"
wait_for 180 grep -q "netboot: second file ran\|emulation failure" "$out" "$out.err" || true
# The nested KVM of the development machines fails on an instruction of
# iPXE's mode switches (an iret), under QEMU as under stubvmm.
if grep -q "emulation failure" "$out" "$out.err"; then
    skip "this host's KVM cannot run iPXE (KVM emulation failure after \"$(tr -d '\r' <"$out" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | grep -a . | tail -n1)\"); the network environment itself works"
fi
grep -q "netboot: second file ran" "$out" || {
    tr -d '\r' <"$out" | tail -c 3000 >&2
    cat "$out.err" "$TEST_TMP/dnsmasq.log" >&2
    fail "iPXE did not run the second script"
}
kill "$qemu" 2>/dev/null || true
tr -d '\r' <"$out" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | grep -E "iPXE|netboot|second" | head -20
netboot_check "$out"
pass
