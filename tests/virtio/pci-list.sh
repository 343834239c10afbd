#!/bin/sh
# PCI enumeration from inside a guest: pci-list.sh PLACEMENT.  pci-list.elf
# scans bus 0 through 0xcf8/0xcfc and sizes every BAR; with two disks (one
# read-only), a NIC and the RNG, bus 0 must hold the i440FX host bridge,
# the PIIX3 and the four transitional virtio functions in slot order, each
# with its class and its BARs (legacy I/O at BAR 0, modern MMIO at BAR 1).
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/vmm/lib-vmm.sh"
need_kvm
placement=${1:-inline}
need_placement "$placement"
guest=$(need_guest pci-list)

truncate -s 1M "$TEST_TMP/a.img" "$TEST_TMP/b.img"
# A NIC that talks to nobody: the guest never sends.
port=$((20000 + $$ % 20000))
out="$TEST_TMP/serial"
rc=0
timeout 120 "$STUBVISOR_BIN/stubvmm" --kernel "$guest" --dm "$placement" --memory 32 \
    --serial "file:$out" --disk "$TEST_TMP/a.img" --disk "$TEST_TMP/b.img,ro" \
    --nic "udp:$port:$((port + 1))" --rng </dev/null 2>"$TEST_TMP/log" || rc=$?
[ "$rc" = 0 ] || fail "pci-list exited $rc: $(cat "$out" "$TEST_TMP/log")"
list=$(grep '^pci ' "$out" | tr -d '\r')

# has LINE: LINE must be in the listing, exactly.
has() {
    printf '%s\n' "$list" | grep -qx "$1" || fail "expected '$1' in the PCI listing:
$list"
}
has "pci 00:00.0 8086:1237 class 060000 header 00"
has "pci 00:01.0 8086:7000 class 060100 header 80"
for slot in 03 04; do
    has "pci 00:$slot.0 1af4:1001 class 018000 header 00"
    has "pci 00:$slot.0 bar0 io size 0x80"
    has "pci 00:$slot.0 bar1 mem32 size 0x4000"
done
has "pci 00:05.0 1af4:1000 class 020000 header 00"
has "pci 00:05.0 bar0 io size 0x40"
has "pci 00:05.0 bar1 mem32 size 0x4000"
has "pci 00:06.0 1af4:1005 class 00ff00 header 00"
has "pci 00:06.0 bar0 io size 0x20"
has "pci 00:06.0 bar1 mem32 size 0x4000"
# Nothing else on the bus: the count line matches the function lines.
n=$(printf '%s\n' "$list" | grep -c ' class ')
expect_contains "function count" "pci-list: $n functions" "$(cat "$out")"
# The bridges have no BARs.
printf '%s\n' "$list" | grep -q '^pci 00:0[01]\.. bar' && fail "a bridge function shows BARs:
$list"
pass
