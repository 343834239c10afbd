# The bzImage test guest (guests/bzguest) and what it is handed; source
# after tests/lib.sh.
#
#   bz_files DIR MEM_MIB   write DIR/initrd (50001 random bytes) and
#                          DIR/cmdline: bzk.* words carrying the initrd's
#                          size and CRC32, the guest's memory size, padding,
#                          and last bzk.cmdline_crc, the CRC32 of the words
#                          before it (guests/bzguest/main.c checks them all)
#   bz_image               path of build/guests/bzguest.bzimage
#   bz_verdict FILE ENTRY  fail unless FILE has "bzguest: verdict OK" and
#                          the guest says it came in at the ENTRY-bit entry
#   bz_qemu OUT SECS MEM   boot it under QEMU 7.2's -kernel -initrd -append
#                          (SeaBIOS, the 16-bit setup entry): COM1 -> OUT,
#                          sets $guest_status

bz_image() {
    [ -n "${STUBVISOR_GUESTS:-}" ] || skip "no guest directory in this build"
    [ -f "$STUBVISOR_GUESTS/bzguest.bzimage" ] || fail "bzguest.bzimage is missing"
    echo "$STUBVISOR_GUESTS/bzguest.bzimage"
}

bz_files() {
    head -c 50001 /dev/urandom >"$1/initrd"
    python3 - "$1" "$2" <<'PY'
import sys, zlib
d, mem = sys.argv[1], int(sys.argv[2])
rd = open(d + "/initrd", "rb").read()
words = "bzk.mem_mib=%d bzk.initrd_size=%d bzk.initrd_crc=0x%08x bzk.pad=%s" % (
    mem, len(rd), zlib.crc32(rd), "0123456789abcdef" * 16)
line = "console=ttyS0 %s bzk.cmdline_crc=0x%08x" % (words, zlib.crc32(words.encode()))
open(d + "/cmdline", "w").write(line)
PY
}

bz_verdict() {
    out=$(tr -d '\r' <"$1")
    expect_contains "the guest's verdict" "bzguest: verdict OK" "$out"
    expect_contains "the entry it came in at" "entered at the $2-bit entry" "$out"
}

bz_qemu() {
    rc=0
    timeout --foreground --kill-after=5 "$2" qemu-system-x86_64 -enable-kvm -M pc -m "$3" \
        -nodefaults -no-user-config -nographic -serial stdio -no-reboot \
        -kernel "$(bz_image)" -initrd "$TEST_TMP/initrd" -append "$(cat "$TEST_TMP/cmdline")" \
        -device isa-debug-exit,iobase=0xf4,iosize=4 </dev/null >"$1" 2>"$1.err" || rc=$?
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        cat "$1" "$1.err" >&2
        fail "QEMU: the bzImage guest did not finish within $2 s"
    fi
    [ $((rc % 2)) -eq 1 ] || fail "QEMU exited with $rc, not through the debug-exit port"
    guest_status=$(((rc - 1) / 2))
}
