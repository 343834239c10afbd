#!/bin/sh
# SeaBIOS boots from a virtio-blk disk: seabios-boot.sh PLACEMENT.  The
# disk's boot sector prints a line on COM1, writes sector 1 through the
# BIOS (int 13h, AH=03h, which SeaBIOS turns into a virtio-blk write) and
# writes 42 to isa-debug-exit (port 0xf4), so stubvmm must exit 42 (43 if
# the BIOS reported an error), the line must be in the serial output and
# the pattern in the image; SeaBIOS must have found the disk through its
# own virtio driver (modern interface) on the way.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/vmm/lib-vmm.sh"
. "$STUBVISOR_SRC/tests/lib-bootsector.sh"
need_kvm
placement=${1:-stubdom}
need_placement "$placement"
[ -f /usr/share/seabios/bios.bin ] || skip "SeaBIOS (Debian package seabios) is not installed"

img="$TEST_TMP/boot.img"
log="$TEST_TMP/log"
make_boot_disk "$img"

rc=0
timeout 200 "$STUBVISOR_BIN/stubvmm" --firmware seabios --memory 64 --dm "$placement" \
    --serial "file:$TEST_TMP/serial" --disk "$img" </dev/null 2>"$log" || rc=$?
if [ "$rc" != 42 ]; then
    cat "$log" >&2
    fail "expected exit status 42 from the boot sector, got $rc"
fi
content=$(cat "$log")
expect_contains "SeaBIOS found the disk" "found virtio-blk at 00:03.0" "$content"
expect_contains "modern interface" "using modern (1.0) virtio mode" "$content"
expect_contains "the boot sector's line on COM1" "boot sector: hello" "$(cat "$TEST_TMP/serial")"

# Sector 1 of the image must now hold the pattern, and sector 2 be untouched.
want=$(awk 'BEGIN { for (i = 0; i < 256; i++) printf "SV" }')
got=$(dd if="$img" bs=512 skip=1 count=1 2>/dev/null)
[ "$got" = "$want" ] || fail "sector 1 of the image does not hold the pattern written through int 13h"
got2=$(dd if="$img" bs=512 skip=2 count=1 2>/dev/null | tr -d '\000')
[ -z "$got2" ] || fail "sector 2 of the image changed"
pass
