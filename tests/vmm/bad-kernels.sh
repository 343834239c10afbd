#!/bin/sh
# Kernels and ramdisks stubvmm must refuse, each with a message that says
# what is wrong (exit 100), before the guest or its device model starts;
# and stubctl create refuses the same at the config line that named the
# file, leaving no domain behind.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
. "$STUBVISOR_SRC/tests/lib-bzguest.sh"
need_kvm
need_cmd python3
vmm="$STUBVISOR_BIN/stubvmm"
bz=$(bz_image)

# refused WHAT NEEDLE STUBVMM-ARGS...: exit 100 and NEEDLE in the message.
refused() {
    what=$1 needle=$2
    shift 2
    set +e
    timeout 30 "$vmm" --dm stubdom "$@" </dev/null >"$TEST_TMP/out" 2>&1
    rc=$?
    set -e
    [ "$rc" -eq 100 ] || fail "$what: expected exit 100, got $rc: $(cat "$TEST_TMP/out")"
    expect_contains "$what" "$needle" "$(cat "$TEST_TMP/out")"
}

# patch OUT OFFSET FORMAT VALUE: a copy of the bzImage with one field changed.
patch() {
    python3 - "$bz" "$@" <<'PY'
import struct, sys
src, out, off, fmt, val = sys.argv[1], sys.argv[2], int(sys.argv[3], 0), sys.argv[4], int(sys.argv[5], 0)
d = bytearray(open(src, "rb").read())
struct.pack_into("<" + fmt, d, off, val)
open(out, "wb").write(d)
PY
}

k="$TEST_TMP/k"
printf 'neither an ELF nor a bzImage\n' >"$k.text"
refused "plain text" "not a PVH ELF (an ELF with Xen's PHYS32_ENTRY note) or a Linux bzImage" \
    --kernel "$k.text"
refused "an ELF without the PVH note" "without a PVH entry" --kernel /usr/bin/true
head -c 600 "$bz" >"$k.trunc"
refused "truncated setup header" "bzImage: truncated setup header" --kernel "$k.trunc"
head -c 2048 "$bz" >"$k.nokernel"
refused "setup only" "setup sectors, but the file has 2048 bytes" --kernel "$k.nokernel"
patch "$k.sects" 0x1f1 B 200
refused "setup_sects past the end" "200 setup sectors, but the file has" --kernel "$k.sects"
patch "$k.old" 0x206 H 0x0204
refused "protocol 2.04" "boot protocol 2.04 is older than 2.12" --kernel "$k.old"
patch "$k.no64" 0x236 H 0
refused "no XLF_KERNEL_64" "XLF_KERNEL_64 is clear" --kernel "$k.no64"
patch "$k.small" 0x260 I 16
refused "init_size below the kernel" "init_size 16 is smaller than the kernel" --kernel "$k.small"
patch "$k.huge" 0x260 I 0xfff00000
refused "absurd init_size" "overlaps the PCI hole" --kernel "$k.huge"
patch "$k.hole" 0x258 Q 0xd0000000
refused "pref_address in the PCI hole" "overlaps the PCI hole at 0xc0000000" --kernel "$k.hole"
patch "$k.big" 0x260 I 0x2000000
refused "a kernel bigger than RAM" "the kernel needs 32768 KiB from 0x100000; the guest has 16384 KiB" \
    --kernel "$k.big" --memory 16
head -c $((20 << 20)) /dev/zero >"$TEST_TMP/big.rd"
refused "a ramdisk bigger than RAM" "ramdisk: 20971520 bytes do not fit" \
    --kernel "$bz" --memory 16 --ramdisk "$TEST_TMP/big.rd"
refused "a ramdisk bigger than RAM (PVH)" "ramdisk: 20971520 bytes do not fit" \
    --kernel "$STUBVISOR_GUESTS/hello.elf" --memory 16 --ramdisk "$TEST_TMP/big.rd"
: >"$TEST_TMP/empty.rd"
refused "an empty ramdisk" "not a regular file of 1 byte" --kernel "$bz" --ramdisk "$TEST_TMP/empty.rd"
refused "a missing ramdisk" "No such file" --kernel "$bz" --ramdisk "$TEST_TMP/nothing"
long=$(python3 -c 'print("x" * 3000)')
refused "a command line longer than cmdline_size" "this kernel takes at most 2047" \
    --kernel "$bz" --cmdline "$long"
refused "an unknown cpuid name" 'unknown feature "sse9"' --kernel "$bz" --cpuid host,sse9=0
refused "a cpuid value" "the value must be 0 or 1" --kernel "$bz" --cpuid host,sse3=k
refused "a feature stubvisor does not give" "stubvisor does not give guests vmx" \
    --kernel "$bz" --cpuid host,vmx=1

# stubctl create: the same refusals, at the line that named the file.
# create_refused WHAT CFG NEEDLE: create fails and says NEEDLE.
create_refused() {
    set +e
    timeout 30 "$STUBCTL" create "$2" >"$TEST_TMP/ctl.out" 2>&1
    rc=$?
    set -e
    [ "$rc" -ne 0 ] || fail "create with $1 succeeded"
    expect_contains "create refusal: $1" "$3" "$(cat "$TEST_TMP/ctl.out")"
}
cat >"$TEST_TMP/rd.cfg" <<CFG
name = "rd"
memory = 16
kernel = "$bz"
ramdisk = "$TEST_TMP/big.rd"
CFG
create_refused "a ramdisk that does not fit" "$TEST_TMP/rd.cfg" \
    "$TEST_TMP/rd.cfg:4: ramdisk: 20971520 bytes do not fit"
sed -i "s|^kernel = .*|kernel = \"$k.old\"|" "$TEST_TMP/rd.cfg"
create_refused "an old bzImage" "$TEST_TMP/rd.cfg" "$TEST_TMP/rd.cfg:3: bzImage: boot protocol 2.04"
printf 'name = "c"\nkernel = "%s"\ncpuid = "host,tm=0,sse3=2"\n' "$bz" >"$TEST_TMP/c.cfg"
create_refused "a bad cpuid=" "$TEST_TMP/c.cfg" "$TEST_TMP/c.cfg:3: cpuid: sse3=2: the value must be 0 or 1"
if [ -S "$STUBVISOR_RUNDIR/store.sock" ]; then
    expect_eq "domains after refusals" "" "$("$STUBCTL" list | awk 'NR > 2')"
fi
left=$(ls -A "$STUBVISOR_RUNDIR" | grep -v '^store\.' || true)
expect_eq "rundir after refusals" "" "$left"
pass
