#!/bin/sh
# Direct boot with kernel=, ramdisk= and cmdline= in one placement ($1):
# the bzImage test guest through the 64-bit boot protocol (verdict OK:
# e820, command line and initrd as it checks them; QEMU gives the same
# verdict for the same files in guest-bzimage-qemu), then the PVH guest
# whose ramdisk is hvm_start_info's module 0.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
. "$STUBVISOR_SRC/tests/lib-bzguest.sh"
need_kvm
need_cmd python3
placement=${1:?placement}

bz_files "$TEST_TMP" 64
cat >"$TEST_TMP/bz.cfg" <<CFG
name = "bz"
kernel = "$(bz_image)"
ramdisk = "$TEST_TMP/initrd"
cmdline = "$(cat "$TEST_TMP/cmdline")"
memory = 64
device_model_placement = "$placement"
CFG
timeout 90 "$STUBCTL" create -c "$TEST_TMP/bz.cfg" </dev/null >"$TEST_TMP/bz.out" 2>&1 ||
    fail "create -c: $(tail -c 2000 "$TEST_TMP/bz.out")"
cat "$TEST_TMP/bz.out"
bz_verdict "$TEST_TMP/bz.out" 64
expect_contains "loader id" "loader 0xff" "$(cat "$TEST_TMP/bz.out")"

# xl's extra= makes the command line too.  (Another name: the first guest
# may still be on its way out when create -c returns.)
sed -e 's/^cmdline = /extra = /' -e 's/^name = .*/name = "bz2"/' "$TEST_TMP/bz.cfg" >"$TEST_TMP/bz2.cfg"
timeout 90 "$STUBCTL" create -c "$TEST_TMP/bz2.cfg" </dev/null >"$TEST_TMP/bz2.out" 2>&1 ||
    fail "create -c with extra=: $(tail -c 2000 "$TEST_TMP/bz2.out")"
bz_verdict "$TEST_TMP/bz2.out" 64

# The PVH path: the same initrd as module 0.
rd_size=$(stat -c %s "$TEST_TMP/initrd")
rd_crc=$(python3 -c "import zlib,sys; print('0x%08x' % zlib.crc32(open(sys.argv[1],'rb').read()))" "$TEST_TMP/initrd")
write_cfg "$TEST_TMP/rd.cfg" rd ramdisk.elf "ramdisk = \"$TEST_TMP/initrd\"" \
    "cmdline = \"ram.size=$rd_size ram.crc=$rd_crc\"" "device_model_placement = \"$placement\""
timeout 60 "$STUBCTL" create -c "$TEST_TMP/rd.cfg" </dev/null >"$TEST_TMP/rd.out" 2>&1 ||
    fail "create -c ramdisk.elf: $(tail -c 2000 "$TEST_TMP/rd.out")"
cat "$TEST_TMP/rd.out"
expect_contains "PVH ramdisk" "ramdisk: verdict OK" "$(tr -d '\r' <"$TEST_TMP/rd.out")"
# ... and without ramdisk= no module at all.
write_cfg "$TEST_TMP/rd0.cfg" rd0 ramdisk.elf "device_model_placement = \"$placement\""
timeout 60 "$STUBCTL" create -c "$TEST_TMP/rd0.cfg" </dev/null >"$TEST_TMP/rd0.out" 2>&1 ||
    fail "create -c ramdisk.elf without a ramdisk: $(tail -c 2000 "$TEST_TMP/rd0.out")"
expect_contains "no ramdisk" "ramdisk: 0 modules" "$(tr -d '\r' <"$TEST_TMP/rd0.out")"
expect_contains "no ramdisk" "ramdisk: verdict OK" "$(tr -d '\r' <"$TEST_TMP/rd0.out")"
pass
