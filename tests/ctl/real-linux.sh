#!/bin/sh
# A real Linux kernel, on hosts whose KVM can run one: Debian's cloud
# kernel (linux-image-cloud-amd64) boots through stubctl create with
# kernel=, ramdisk= and extra= (the 64-bit boot protocol), with a busybox
# initramfs built here that loads the virtio modules, mounts the guest's
# virtio disk (ext4, made here), writes a file and reads it back, and
# powers off through isa-debug-exit (/dev/port: the platform has no ACPI
# yet).  The host then finds the file in the image.
#
# First a cheap probe (guests/kvmprobe.c): where this host's KVM cannot run
# kernel-mode code that uses x87, cmpxchg16b, xsave/xrstor and int3 (KVM
# nested in software: its emulator fails on them), the test says SKIP with
# the probe's last step; it never passes there.
#
# The kernel: $STUBVISOR_LINUX_KERNEL (a bzImage; its modules in
# $STUBVISOR_LINUX_MODULES, a lib/modules/VERSION directory), else the
# installed /boot/vmlinuz-*-cloud-amd64, else the package fetched with
# `apt-get download` into the build tree once and kept (only on a host the
# probe passed: CI here never downloads it).
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm
[ -n "${STUBVISOR_GUESTS:-}" ] || skip "no guest directory in this build"

# 1. The probe.
rc=0
timeout 60 "$STUBVISOR_BIN/stubvmm" --kernel "$STUBVISOR_GUESTS/kvmprobe.elf" --dm inline \
    --memory 16 </dev/null >"$TEST_TMP/probe.out" 2>&1 || rc=$?
if [ "$rc" -ne 3 ] || ! grep -q "guest: exception 3" "$TEST_TMP/probe.out"; then
    step=$(sed -n 's/^kvmprobe: \([^ ]*\).*/\1/p' "$TEST_TMP/probe.out" | tail -n1)
    skip "this host's KVM cannot run kernel-mode code that uses ${step:-the first probed instruction} (KVM nested in software?): a stock Linux kernel cannot boot here"
fi

need_cmd busybox python3 mkfs.ext4 debugfs
busybox_bin=$(command -v busybox)
ldd "$busybox_bin" 2>&1 | grep -q "not a dynamic executable" ||
    skip "busybox is not the static one (Debian package busybox-static)"

# 2. The kernel and its modules.
kernel=${STUBVISOR_LINUX_KERNEL:-}
modules=${STUBVISOR_LINUX_MODULES:-}
if [ -z "$kernel" ]; then
    kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n1 || true)
    [ -n "$kernel" ] && modules=/lib/modules/${kernel#/boot/vmlinuz-}
fi
if [ -z "$kernel" ]; then
    cache="$STUBVISOR_BIN/../linux-cloud"
    if [ ! -d "$cache/boot" ]; then
        need_cmd apt-get apt-cache dpkg-deb
        pkg=$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/^ *Depends: \(linux-image-.*\)/\1/p' | head -n1)
        [ -n "$pkg" ] || skip "apt knows no linux-image-cloud-amd64 (run apt-get update)"
        mkdir -p "$cache.tmp"
        (cd "$cache.tmp" && apt-get download "$pkg" >/dev/null 2>&1) || skip "cannot download $pkg"
        dpkg-deb -x "$cache.tmp"/*.deb "$cache.tmp/root"
        mv "$cache.tmp/root" "$cache"
        rm -rf "$cache.tmp"
    fi
    kernel=$(ls "$cache"/boot/vmlinuz-* | head -n1)
    modules=$cache/lib/modules/${kernel##*/vmlinuz-}
fi
[ -f "$kernel" ] && [ -d "$modules" ] || fail "kernel $kernel or modules $modules missing"

# 3. The initramfs: busybox, the virtio modules in dependency order, /init.
root="$TEST_TMP/initramfs"
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/mnt" "$root/lib/modules"
cp "$busybox_bin" "$root/bin/busybox"
for app in sh mount umount mkdir cat echo sync dd insmod sleep; do
    ln -s busybox "$root/bin/$app"
done
python3 - "$modules" "$root/lib/modules" virtio_pci virtio_blk <<'PY' >"$TEST_TMP/modules"
# Resolve the modules and what they depend on (each module's "depends="
# in its .modinfo; a package's tree has no modules.dep) into load order,
# copying each (decompressed) into the initramfs.
import lzma, os, sys
tree, dest, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
path = {}
for d, _, files in os.walk(tree):
    for f in files:
        if ".ko" in f:
            path[f.split(".ko")[0].replace("-", "_")] = os.path.join(d, f)
def load(name):
    data = open(path[name], "rb").read()
    return lzma.decompress(data) if path[name].endswith(".xz") else data
order = []
def visit(name):
    if name in order or name not in path:
        return  # loaded already, or built in
    data = load(name)
    i = data.find(b"depends=")
    for dep in data[i + 8:data.index(b"\0", i)].decode().split(",") if i >= 0 else []:
        if dep:
            visit(dep.replace("-", "_"))
    order.append(name)
for w in wanted:
    visit(w)
for name in order:
    open(os.path.join(dest, name + ".ko"), "wb").write(load(name))
    print(name)
PY
{
    echo '#!/bin/sh'
    echo 'mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev'
    while read -r m; do echo "insmod /lib/modules/$m.ko"; done <"$TEST_TMP/modules"
    cat <<'INIT'
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
status=1
if mount -t ext4 /dev/vda /mnt; then
    echo "real-linux: written by the guest" >/mnt/probe.txt
    sync
    got=$(cat /mnt/probe.txt)
    echo "real-linux: read back: $got"
    umount /mnt && [ "$got" = "real-linux: written by the guest" ] && status=0
fi
echo "real-linux: done, status $status"
# Power off: isa-debug-exit at port 0xf4 (244) takes the status.
printf "\\$(printf %o $status)" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
INIT
} >"$root/init"
chmod +x "$root/init"
python3 - "$root" "$TEST_TMP/initramfs.gz" <<'PY'
# The initramfs: a gzipped cpio archive in the kernel's "newc" format.
import gzip, os, stat, sys
root, out = sys.argv[1], sys.argv[2]
def entry(f, name, st, data=b""):
    hdr = "070701" + "".join("%08x" % v for v in (
        st.st_ino & 0xffffffff, st.st_mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0))
    f.write(hdr.encode() + name.encode() + b"\0")
    f.write(b"\0" * (-(110 + len(name) + 1) % 4) + data + b"\0" * (-len(data) % 4))
with gzip.open(out, "wb") as f:
    for d, dirs, files in os.walk(root):
        for n in sorted(dirs) + sorted(files):
            p = os.path.join(d, n)
            st = os.lstat(p)
            data = os.readlink(p).encode() if stat.S_ISLNK(st.st_mode) else \
                open(p, "rb").read() if stat.S_ISREG(st.st_mode) else b""
            entry(f, os.path.relpath(p, root), st, data)
    entry(f, "TRAILER!!!", os.stat(root))
PY

# 4. The disk and the guest.
truncate -s 64M "$TEST_TMP/disk.img"
mkfs.ext4 -q -F "$TEST_TMP/disk.img"
cat >"$TEST_TMP/linux.cfg" <<CFG
name = "linux"
kernel = "$kernel"
ramdisk = "$TEST_TMP/initramfs.gz"
extra = "console=ttyS0 panic=-1 rdinit=/init"
memory = 512
disk = [ '$TEST_TMP/disk.img,raw,xvda,rw' ]
CFG
timeout 300 "$STUBCTL" create -c "$TEST_TMP/linux.cfg" </dev/null >"$TEST_TMP/linux.out" 2>&1 ||
    fail "create -c: $(tail -c 4000 "$TEST_TMP/linux.out")"
out=$(tr -d '\r' <"$TEST_TMP/linux.out")
echo "$out" | tail -n 30
expect_contains "the guest read its file back" "real-linux: read back: real-linux: written by the guest" "$out"
expect_contains "the guest's status" "real-linux: done, status 0" "$out"
expect_eq "the file, seen from the host" "real-linux: written by the guest" \
    "$(debugfs -R 'cat /probe.txt' "$TEST_TMP/disk.img" 2>/dev/null)"
pass
