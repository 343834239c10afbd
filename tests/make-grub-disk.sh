#!/bin/sh
# make-grub-disk.sh OUT BZIMAGE: a raw disk image that boots GRUB from
# SeaBIOS, built without root, mounts or loop devices from Debian's
# grub-pc-bin, dosfstools and mtools (the partition table is 16 bytes
# written here):
#
#   sector 0          GRUB's boot.img (its 440 bytes of boot code) and an
#                     MBR partition table with one bootable FAT16 partition
#   sectors 1-2047    the core image (grub-mkimage -O i386-pc: diskboot.img
#                     first, whose block list already says "the sectors
#                     after me"; boot.img's default says "sector 1")
#   1 MiB to 16 MiB   partition 1, FAT16, holding /boot/grub/grub.cfg,
#                     /hello.txt, /boot/bzguest.bzimage and /boot/initrd
#
# grub.cfg talks on COM1 (serial terminal), prints hello.txt with `cat`
# and our PCI functions with `lspci` before the menu, then boots the
# menu's default entry after a short timeout: `linux` (GRUB's 32-bit boot
# protocol) + `initrd` with the bzk.* words the test kernel checks (sizes
# and CRC32s, tests/lib-bzguest.sh), memory 64 MiB.  Deterministic: the
# same inputs give the same image.
set -eu
out=$1 bz=$2
lib=/usr/lib/grub/i386-pc
for c in grub-mkimage mkfs.fat mcopy mmd python3; do
    command -v "$c" >/dev/null 2>&1 || { echo "make-grub-disk.sh: $c is missing" >&2; exit 77; }
done
[ -f "$lib/boot.img" ] || { echo "make-grub-disk.sh: $lib/boot.img is missing (grub-pc-bin)" >&2; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/grub-disk.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The initrd (40000 bytes from a fixed seed) and the kernel's command line.
python3 - "$work" <<'PY'
import random, sys, zlib
d = sys.argv[1]
rd = random.Random(12).randbytes(40000)
open(d + "/initrd", "wb").write(rd)
words = "bzk.mem_mib=64 bzk.initrd_size=%d bzk.initrd_crc=0x%08x bzk.pad=%s" % (
    len(rd), zlib.crc32(rd), "grub" * 20)
open(d + "/cmdline", "w").write("console=ttyS0 %s bzk.cmdline_crc=0x%08x" % (words, zlib.crc32(words.encode())))
PY
cat >"$work/grub.cfg" <<CFG
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
echo "grub-disk: cat /hello.txt"
cat /hello.txt
echo "grub-disk: lspci"
lspci
echo "grub-disk: end of lspci"
set timeout=2
set default=0
menuentry "bzguest with an initrd" {
    echo "grub-disk: loading bzguest"
    linux /boot/bzguest.bzimage $(cat "$work/cmdline")
    initrd /boot/initrd
}
CFG
printf 'stubvisor grub-disk: a file read by GRUB through SeaBIOS int 13h\n' >"$work/hello.txt"

# The FAT partition, filled with mtools.
mkfs.fat -C -F 16 -n GRUBDISK "$work/fat.img" $((15 * 1024)) >/dev/null
mmd -i "$work/fat.img" ::/boot ::/boot/grub
mcopy -i "$work/fat.img" "$work/grub.cfg" ::/boot/grub/grub.cfg
mcopy -i "$work/fat.img" "$work/hello.txt" ::/hello.txt
mcopy -i "$work/fat.img" "$bz" ::/boot/bzguest.bzimage
mcopy -i "$work/fat.img" "$work/initrd" ::/boot/initrd

# The core image: what GRUB needs to find and read grub.cfg, and the
# commands it runs.
grub-mkimage -O i386-pc -o "$work/core.img" -p "(hd0,msdos1)/boot/grub" \
    biosdisk part_msdos fat normal configfile echo cat lspci serial terminal linux test
[ "$(stat -c %s "$work/core.img")" -le $((2047 * 512)) ] || {
    echo "make-grub-disk.sh: the core image does not fit before the partition" >&2
    exit 1
}

truncate -s 16M "$work/disk.img"
python3 - "$work/disk.img" <<'PY'
import struct, sys
# One entry: bootable, CHS "beyond 1024 cylinders" (LBA only), FAT16 (6),
# LBA 2048, up to the end of the 16 MiB disk; then the 0x55aa signature.
entry = struct.pack("<B3sB3sII", 0x80, b"\xfe\xff\xff", 0x06, b"\xfe\xff\xff", 2048, 32768 - 2048)
with open(sys.argv[1], "r+b") as f:
    f.seek(0x1be)
    f.write(entry + bytes(48) + b"\x55\xaa")
PY
dd if="$lib/boot.img" of="$work/disk.img" bs=440 count=1 conv=notrunc status=none
dd if="$work/core.img" of="$work/disk.img" bs=512 seek=1 conv=notrunc status=none
dd if="$work/fat.img" of="$work/disk.img" bs=512 seek=2048 conv=notrunc status=none
mv "$work/disk.img" "$out"
