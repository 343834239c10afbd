#!/bin/sh
# A guest writing its virtio disk (blk-write.elf stream=1: one sector per
# request, "blk-write: done S" once the device completed sector S) saved
# mid-stream: every sector it was told was written before the save is in
# the image; restored, it carries on and finishes (flushed), and then the
# whole stream is in the image.  Placement: argument (default stubdom).
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm
need_cmd python3
placement=${1:-stubdom}
sectors=1200
img="$TEST_TMP/disk.img"
truncate -s 4M "$img"

# check_image UPTO: sectors 0..UPTO hold blk-write's pattern.
check_image() {
    python3 - "$img" "$1" <<'PY' || fail "the image misses sectors it was told were written"
import struct, sys
data = open(sys.argv[1], "rb").read()
for s in range(int(sys.argv[2]) + 1):
    want = struct.pack("<Q", s) + b"".join(bytes([(s + b) & 0xff]) * 8 for b in range(8, 512, 8))
    if data[s * 512:(s + 1) * 512] != want:
        print(f"sector {s} is not written", file=sys.stderr)
        sys.exit(1)
PY
}
last_done() {
    whole_lines "$1" | sed -n 's/^blk-write: done \([0-9][0-9]*\)$/\1/p' | tail -n1
}
done_at_least() {
    [ "$(last_done "$1")" -ge "$2" ] 2>/dev/null
}

write_cfg "$TEST_TMP/w.cfg" bw blk-write.elf "disk = ['$img,raw,xvda,rw']" \
    "cmdline = \"stream=1 sectors=$sectors\"" "device_model_placement = \"$placement\""
timeout 60 "$STUBCTL" create -p "$TEST_TMP/w.cfg" || fail "create"
console_log bw "$TEST_TMP/before.out"
"$STUBCTL" unpause bw
wait_for 60 done_at_least "$TEST_TMP/before.out" 100 ||
    fail "no writes reported: $(tail -c 1000 "$TEST_TMP/before.out")"
timeout 120 "$STUBCTL" save bw "$TEST_TMP/bw.save" || fail "save"
grep -q "blk-write: flushed" "$TEST_TMP/before.out" && fail "the stream ended before the save"
upto=$(last_done "$TEST_TMP/before.out")
[ "$upto" -lt $((sectors - 1)) ] || fail "the stream ended before the save"
check_image "$upto"

timeout 60 "$STUBCTL" restore -p "$TEST_TMP/bw.save" || fail "restore"
console_log bw "$TEST_TMP/after.out"
"$STUBCTL" unpause bw
wait_for 120 grep -q "blk-write: flushed" "$TEST_TMP/after.out" ||
    fail "the stream did not finish after the restore: $(tail -c 1000 "$TEST_TMP/after.out")"
first=$(whole_lines "$TEST_TMP/after.out" | sed -n 's/^blk-write: done \([0-9][0-9]*\)$/\1/p' | head -n1)
[ "$first" -gt "$upto" ] && [ "$first" -le $((upto + 2)) ] ||
    fail "after the restore the stream went on at $first, it had reached $upto"
check_image $((sectors - 1))
# blk-write powers off once done: the domain goes away by itself.
wait_for 30 sh -c "! \"$STUBCTL\" list | grep -q '^bw'" || fail "bw is still there"
pass
