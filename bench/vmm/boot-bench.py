#!/usr/bin/env python3
"""Boot paths, stubvmm side by side with QEMU 7.2 on the same files:

  bzImage  start -> first serial byte of the bzImage test guest
           (build/guests/bzguest.bzimage, initrd and command line as
           tests/lib-bzguest.sh makes them) and -> its verdict line:
           stubvmm --kernel in each placement (64-bit boot protocol) and
           QEMU -kernel -initrd -append (SeaBIOS + linuxboot, 16-bit entry);
  GRUB     start -> GRUB's menu on COM1 (firmware = SeaBIOS, the disk of
           tests/make-grub-disk.sh on virtio-blk): stubvmm per placement and
           QEMU -M pc with the same disk.

"Start" is the moment the process is spawned; the first byte is the
guest's own (SeaBIOS's banner under QEMU is skipped by waiting for the
guest's text).  Median of BOOT_BENCH_RUNS (3) runs; GRUB rows 1 run each
unless BOOT_BENCH_GRUB_RUNS says more."""
import os, statistics, subprocess, sys, tempfile, time, zlib, select

BIN = os.environ.get("STUBVISOR_BIN")
GUESTS = os.environ.get("STUBVISOR_GUESTS", "")
DISK = os.environ.get("STUBVISOR_GRUB_DISK", "")
RUNS = int(os.environ.get("BOOT_BENCH_RUNS", "3"))
GRUB_RUNS = int(os.environ.get("BOOT_BENCH_GRUB_RUNS", "1"))
QEMU = "qemu-system-x86_64"


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def timed(argv, first, last, limit):
    """Spawn argv, read its stdout until `first` then `last` appear; the
    seconds to each (None if it did not come within limit)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    buf, t_first, t_last = b"", None, None
    try:
        while time.monotonic() - t0 < limit and t_last is None:
            r, _, _ = select.select([p.stdout], [], [], 0.5)
            if not r:
                if p.poll() is not None:
                    break
                continue
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            now = time.monotonic() - t0
            if t_first is None and first in buf:
                t_first = now
            if last in buf:
                t_last = now
    finally:
        p.kill()
        p.wait()
    return t_first, t_last


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x):
    return "%8.0f" % (x * 1000) if x is not None else "  failed"


def ratio(a, b):
    return "%6.2f" % (a / b) if a and b else "     -"


def main():
    if not BIN:
        sys.exit("run through meson test --benchmark or make bench")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip("no usable /dev/kvm")
    bz = os.path.join(GUESTS, "bzguest.bzimage")
    if not os.path.exists(bz):
        skip("the bzImage test guest is not built")
    tmp = tempfile.mkdtemp(prefix="boot-bench.")
    rd = os.urandom(50001)
    open(tmp + "/initrd", "wb").write(rd)
    words = "bzk.mem_mib=64 bzk.initrd_size=%d bzk.initrd_crc=0x%08x" % (len(rd), zlib.crc32(rd))
    cmdline = "console=ttyS0 %s bzk.cmdline_crc=0x%08x" % (words, zlib.crc32(words.encode()))
    stubvmm = os.path.join(BIN, "stubvmm")
    have_qemu = subprocess.run(["sh", "-c", "command -v " + QEMU], capture_output=True).returncode == 0

    rows = []
    for p in ("inline", "process", "stubdom"):
        argv = [stubvmm, "--kernel", bz, "--ramdisk", tmp + "/initrd", "--cmdline", cmdline,
                "--memory", "64", "--dm", p]
        t = [timed(argv, b"bzguest:", b"verdict OK", 60) for _ in range(RUNS)]
        rows.append((p, median([a for a, _ in t]), median([b for _, b in t])))
    if have_qemu:
        argv = ["timeout", "120", QEMU, "-enable-kvm", "-M", "pc", "-m", "64", "-nodefaults",
                "-no-user-config", "-nographic", "-serial", "stdio", "-kernel", bz, "-initrd",
                tmp + "/initrd", "-append", cmdline, "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
        t = [timed(argv, b"bzguest:", b"verdict OK", 120) for _ in range(RUNS)]
        rows.append(("qemu", median([a for a, _ in t]), median([b for _, b in t])))
    q = rows[-1] if rows[-1][0] == "qemu" else (None, None, None)
    print("bzImage test guest, start -> first serial byte / -> verdict (ms, median of %d)" % RUNS)
    print("%-10s %8s %8s %6s %6s" % ("vmm", "first", "verdict", "QEMU x", "QEMU x"))
    for name, a, b in rows:
        print("%-10s %s %s %s %s" % (name, fmt(a), fmt(b), ratio(a, q[1]), ratio(b, q[2])))

    if not DISK or not os.path.exists(DISK):
        print("GRUB: SKIP (no GRUB disk in this build: grub-pc-bin, dosfstools, mtools)")
        return
    rows = []
    for p in ("inline", "process", "stubdom"):
        argv = [stubvmm, "--firmware", "seabios", "--disk", DISK + ",ro", "--memory", "64",
                "--dm", p]
        t = [timed(argv, b"GNU GRUB", b"GNU GRUB", 120)[0] for _ in range(GRUB_RUNS)]
        rows.append((p, median(t)))
    if have_qemu:
        argv = ["timeout", "150", QEMU, "-enable-kvm", "-M", "pc", "-m", "64", "-nodefaults",
                "-no-user-config", "-nographic", "-serial", "stdio", "-drive",
                "file=%s,if=virtio,format=raw,readonly=on" % DISK,
                "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
        t = [timed(argv, b"GNU GRUB", b"GNU GRUB", 150)[0] for _ in range(GRUB_RUNS)]
        rows.append(("qemu", median(t)))
    q = rows[-1][1] if rows[-1][0] == "qemu" else None
    print("GRUB from a virtio disk, start -> menu on COM1 (ms, median of %d)" % GRUB_RUNS)
    print("%-10s %8s %8s" % ("vmm", "menu", "vs QEMU"))
    for name, a in rows:
        print("%-10s %s %s" % (name, fmt(a), ratio(a, q)))


if __name__ == "__main__":
    main()
