#!/bin/sh
# The bzImage test guest under QEMU 7.2 (-kernel -initrd -append: SeaBIOS
# and QEMU's linuxboot ROM enter the 16-bit setup): verdict OK, so the
# image is a valid bzImage whatever our loader does with it.  The same
# files boot under stubvmm in tests/ctl/bzimage.sh.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/guests/qemu.sh"
. "$STUBVISOR_SRC/tests/lib-bzguest.sh"
need_qemu
need_cmd python3

bz_files "$TEST_TMP" 64
bz_qemu "$TEST_TMP/qemu.out" 90 64
cat "$TEST_TMP/qemu.out"
bz_verdict "$TEST_TMP/qemu.out" 16
expect_eq "exit status" 0 "$guest_status"

# The PVH ramdisk guest too: QEMU hands -initrd over as module 0.
rd_size=$(stat -c %s "$TEST_TMP/initrd")
rd_crc=$(python3 -c "import zlib,sys; print('0x%08x' % zlib.crc32(open(sys.argv[1],'rb').read()))" "$TEST_TMP/initrd")
rc=0
timeout --foreground --kill-after=5 60 qemu-system-x86_64 -enable-kvm \
    -M microvm,acpi=off,rtc=off -nodefaults -no-user-config -nographic -serial stdio \
    -kernel "$(guest_elf ramdisk)" -initrd "$TEST_TMP/initrd" \
    -append "ram.size=$rd_size ram.crc=$rd_crc" \
    -device isa-debug-exit,iobase=0xf4,iosize=4 </dev/null >"$TEST_TMP/pvh.out" 2>&1 || rc=$?
cat "$TEST_TMP/pvh.out"
expect_contains "PVH ramdisk under QEMU" "ramdisk: verdict OK" "$(cat "$TEST_TMP/pvh.out")"
expect_eq "QEMU exit" 1 "$rc"
pass
