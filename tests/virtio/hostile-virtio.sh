#!/bin/sh
# A hostile virtio driver: hostile-virtio.sh PLACEMENT.  hostile-virtio.elf
# attacks virtio-blk and virtio-net with malicious rings and queue set-ups
# (see guests/hostile_virtio.c); each attack must be answered sanely or
# end in DEVICE_NEEDS_RESET, the device must work again after a reset,
# stubvmm must exit 0 (in the ASan build: with no report), and the disk
# image, which every write attack aimed outside of, must be unchanged.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/vmm/lib-vmm.sh"
need_kvm
placement=${1:-inline}
need_placement "$placement"
need_cmd python3
guest=$(need_guest hostile-virtio)

img="$TEST_TMP/disk.img"
magic=stubvisor-hostile
# 1 MiB of a pattern, sector 0 starting with the magic string.
python3 -c 'import sys
b = bytearray((i * 7 + 3) & 0xff for i in range(1 << 20))
b[0:len(sys.argv[2])] = sys.argv[2].encode()
open(sys.argv[1], "wb").write(b)' "$img" "$magic"
before=$(sha256sum <"$img")
port=$((20000 + $$ % 20000))

out="$TEST_TMP/serial"
log="$TEST_TMP/log"
rc=0
timeout 250 "$STUBVISOR_BIN/stubvmm" --kernel "$guest" --dm "$placement" --memory 32 \
    --serial "file:$out" --cmdline "net=1 magic=$magic" --disk "$img" \
    --nic "udp:$port:$((port + 1))" </dev/null 2>"$log" || rc=$?
[ "$rc" = 0 ] || fail "stubvmm exited $rc: $(cat "$out"; tail -20 "$log")"
if grep -q "ERROR: AddressSanitizer\|runtime error:" "$log"; then
    cat "$log" >&2
    fail "a sanitizer reported an error"
fi
expect_contains "guest verdict" "hostile-virtio: done" "$(cat "$out")"
# Every attack ran on both devices (25 on blk, 19 on net).
n=$(grep -c '^hostile-virtio: blk ' "$out")
[ "$n" = 25 ] || fail "expected 25 attacks on virtio-blk, saw $n"
n=$(grep -c '^hostile-virtio: net-tx ' "$out")
[ "$n" = 19 ] || fail "expected 19 attacks on virtio-net, saw $n"
[ "$(sha256sum <"$img")" = "$before" ] || fail "the disk image changed"
[ "$(stat -c %s "$img")" = $((1 << 20)) ] || fail "the disk image changed size"
cat "$out"
pass
