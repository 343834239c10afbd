#!/bin/sh
# virtio-blk end to end in one placement (argument): blk-write.elf writes a
# pattern and flushes, blk-bench.elf reads it back and checks it; a guest
# killed right after its flush leaves the pattern in the image; a read-only
# disk refuses writes with an I/O error the guest sees and the image stays
# as it was; bad --disk options are usage errors.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/vmm/lib-vmm.sh"

placement=${1:-inline}
need_kvm
need_placement "$placement"
bench=$(need_guest blk-bench)
writer=$(need_guest blk-write)
vmm="$STUBVISOR_BIN/stubvmm"
img="$TEST_TMP/disk.img"
out="$TEST_TMP/serial.txt"

run() { # run GUEST CMDLINE DISK-ARGS...: the guest's exit status
    guest=$1 cmdline=$2
    shift 2
    rc=0
    timeout 120 "$vmm" --kernel "$guest" --dm "$placement" --memory 32 \
        --serial "file:$out" --cmdline "$cmdline" "$@" || rc=$?
    return "$rc"
}

# sector_tag N: the 64-bit number at the start of sector N of the image.
sector_tag() { od -An -t u8 -j $(($1 * 512)) -N 8 "$img" | tr -d ' '; }

# 1. Write, flush, read back.
truncate -s 4M "$img"
run "$writer" "mib=1" --disk "$img" || fail "blk-write exited $? ($(cat "$out"))"
expect_contains "blk-write output" "blk-write: flushed" "$(cat "$out")"
expect_eq "sector 1000 tag" 1000 "$(sector_tag 1000)"
run "$bench" "mib=1 verify=1" --disk "$img" || fail "blk-bench exited $? ($(cat "$out"))"
expect_contains "blk-bench output" "pattern verified" "$(cat "$out")"

# 2. Killed after the flush: the data is in the image.
rm -f "$img" "$out"
truncate -s 4M "$img"
"$vmm" --kernel "$writer" --dm "$placement" --memory 32 --serial "file:$out" \
    --cmdline "mib=1 hang=1" --disk "$img" &
pid=$!
track_pid "$pid"
wait_for 60 grep -q "blk-write: flushed" "$out" || fail "no flush reported: $(cat "$out")"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
expect_eq "sector 0 tag after kill" 0 "$(sector_tag 0)"
expect_eq "sector 2047 tag after kill" 2047 "$(sector_tag 2047)"
run "$bench" "mib=1 verify=1" --disk "$img" || fail "blk-bench after kill exited $?"

# 3. Read-only: the guest sees VIRTIO_BLK_F_RO and an I/O error; nothing changes.
before=$(md5sum <"$img")
run "$writer" "expect=ioerr" --disk "$img,ro" || fail "read-only disk: $(cat "$out")"
expect_contains "read-only output" "status 1, RO offered" "$(cat "$out")"
expect_eq "image after refused write" "$before" "$(md5sum <"$img")"

# 4. Several disks: the first is the one the guest reads.
truncate -s 1M "$TEST_TMP/second.img"
run "$bench" "mib=1 verify=1" --disk "$img" --disk "$TEST_TMP/second.img,ro" ||
    fail "two disks: blk-bench exited $?"

# 5. Bad --disk options change nothing and exit 100.
for bad in "$TEST_TMP/missing.img" ",ro" "$TEST_TMP"; do
    rc=0
    "$vmm" --kernel "$bench" --dm "$placement" --disk "$bad" >/dev/null 2>&1 || rc=$?
    expect_eq "exit status for --disk $bad" 100 "$rc"
done
pass
