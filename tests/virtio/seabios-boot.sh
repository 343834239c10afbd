#!/bin/sh
# SeaBIOS boots from a virtio-blk disk: seabios-boot.sh PLACEMENT.  The
# disk's boot sector writes 42 to isa-debug-exit (port 0xf4), so stubvmm
# must exit 42; SeaBIOS must have found the disk through its own virtio
# driver (modern interface) on the way.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/vmm/lib-vmm.sh"
need_kvm
placement=${1:-stubdom}
need_placement "$placement"
[ -f /usr/share/seabios/bios.bin ] || skip "SeaBIOS (Debian package seabios) is not installed"

img="$TEST_TMP/boot.img"
log="$TEST_TMP/log"
truncate -s 1M "$img"
# mov al, 42; out 0xf4, al; hlt; jmp $-1 ... and the 0x55 0xaa signature.
printf '\260\052\346\364\364\353\375' | dd of="$img" conv=notrunc 2>/dev/null
printf '\125\252' | dd of="$img" bs=1 seek=510 conv=notrunc 2>/dev/null

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
pass
