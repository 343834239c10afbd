#!/bin/sh
# virtio-blk throughput, side by side: blk-bench.elf reads from a raw image
# in 64-KiB requests, under stubvmm in each placement and under QEMU (pc
# machine, same guest binary, same image).  Each VMM runs the guest twice,
# reading 8 MiB and MIB MiB (default 256: with less, start-up noise of tens
# of ms swamps the difference), best of three wall-clock times
# each; the difference cancels boot and set-up (QEMU's boots through
# SeaBIOS), so MiB/s = (MIB - 8) / (t_MIB - t_8).  Ratio: speed vs QEMU.
# MSIX=1: the guest asks for an MSI-X message per completion (irqfds
# outside the monitor, inject_msi inline).
set -eu
: "${STUBVISOR_BIN:?run through meson}"
mib=${MIB:-256}
guest="${STUBVISOR_GUESTS:-}/blk-bench.elf"
[ -f "$guest" ] || { echo "SKIP: blk-bench.elf is not built"; exit 77; }
[ -w /dev/kvm ] || { echo "SKIP: no /dev/kvm"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
img="$tmp/disk.img"
truncate -s $((mib + 1))M "$img"
cat "$img" >/dev/null # warm the page cache: measure the device path, not the disk

small=8

qemu_run() { # qemu_run MIB
    rc=0
    qemu-system-x86_64 -enable-kvm -M pc -m 64 -nodefaults -no-user-config -nographic \
        -serial none -kernel "$guest" -append "mib=$1${MSIX:+ msix=1}" \
        -drive "file=$img,format=raw,if=none,id=d,cache=writeback" \
        -device virtio-blk-pci,drive=d -device isa-debug-exit,iobase=0xf4,iosize=4 || rc=$?
    [ "$rc" = 1 ] # isa-debug-exit: (0 << 1) | 1
}

stubvmm_run() { # stubvmm_run PLACEMENT MIB
    "$STUBVISOR_BIN/stubvmm" --kernel "$guest" --dm "$1" --memory 64 \
        --cmdline "mib=$2${MSIX:+ msix=1}" \
        --disk "$img"
}

big=$mib
. "$(dirname "$0")/side-by-side.sh"
side_by_side MiB 1
