#!/usr/bin/env python3
"""Save/restore benchmark: counter.elf guests of 16, 256 and 1024 MiB in the
stubdom placement, against QEMU (microvm, booting the same ELF) saving with
QMP `migrate` to "exec:cat > FILE" and restoring with -incoming "exec:cat
FILE".  The median of SAVE_BENCH_RUNS runs (default 3) per size, the two
VMMs taking turns, after one unreported warm-up; prints save time, restore
time (until the guest runs again) and file size side by side with ratios;
asserts nothing.

Each size runs twice: the bare counter (its RAM almost all zero pages,
which both skip) and filled (cmdline "fill=RAM-4": all but 4 MiB of RAM
holds address-dependent words, so every page is written out and read
back).  Both VMMs boot the same ELF with the same command line.

  save     stubctl save DOMAIN FILE (pause, device model state, memory,
           fsync, rename, destroy) | QMP stop + migrate until completed
  restore  stubctl restore FILE until it returns (the guest unpaused) |
           qemu -incoming until query-status says running
"""
import json, os, shutil, socket, statistics, subprocess, time

import ctlbench
from ctlbench import ctl, ratio

SIZES = [int(s) for s in os.environ.get("SAVE_BENCH_SIZES", "16 256 1024").split()]
# MiB of RAM left unfilled: the image, the low 2 MiB and a margin.
FILL_SPARE = 4
RUNS = max(1, int(os.environ.get("SAVE_BENCH_RUNS", "3")))

tmp, env, stubctl, counter = ctlbench.start("save-bench.", "counter")
qemu = shutil.which("qemu-system-x86_64")


def wait_output(path, needle, seconds=60):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with open(path, "rb") as f:
                if needle in f.read():
                    return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


def cmdline(mib, fill):
    return f"fill={mib - FILL_SPARE}" if fill else ""


def stubvisor(mib, fill=False):
    name = f"s{mib}"
    cfg = os.path.join(tmp, name + ".cfg")
    with open(cfg, "w") as f:
        f.write(f'name = "{name}"\nkernel = "{counter}"\nmemory = {mib}\n'
                f'cmdline = "{cmdline(mib, fill)}"\ndevice_model_placement = "stubdom"\n')
    ctl("create", "-p", cfg)
    out = os.path.join(tmp, name + ".out")
    con = subprocess.Popen([stubctl, "console", name], env=env, stdin=subprocess.DEVNULL,
                           stdout=open(out, "wb"), stderr=subprocess.STDOUT)
    ctl("unpause", name)
    if not wait_output(out, b"count "):
        raise RuntimeError(f"{name}: no count")
    path = os.path.join(tmp, name + ".save")
    t0 = time.monotonic()
    ctl("save", name, path)
    save = time.monotonic() - t0
    con.wait(timeout=30)
    size = os.path.getsize(path)
    t0 = time.monotonic()
    ctl("restore", path)
    restore = time.monotonic() - t0
    ctl("destroy", name)
    os.unlink(path)
    return save, restore, size


class Qmp:
    def __init__(self, path, seconds=30):
        end = time.monotonic() + seconds
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.monotonic() > end:
                    raise
                time.sleep(0.005)
        self.f = self.s.makefile("rb")
        self.f.readline()  # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = json.loads(self.f.readline())
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise RuntimeError(f"{name}: {r['error']}")

    def close(self):
        self.s.close()


def qemu_argv(mib, fill, sock, out, incoming=None):
    argv = [qemu, "-enable-kvm", "-M", "microvm,acpi=off,rtc=off", "-m", str(mib), "-nodefaults",
            "-no-user-config", "-display", "none", "-serial", f"file:{out}", "-kernel", counter,
            "-append", cmdline(mib, fill), "-qmp", f"unix:{sock},server=on,wait=off"]
    if incoming:
        argv += ["-incoming", incoming]
    return argv


def qemu_run(mib, fill=False):
    sock = os.path.join(tmp, f"q{mib}.qmp")
    out = os.path.join(tmp, f"q{mib}.out")
    path = os.path.join(tmp, f"q{mib}.save")
    p = subprocess.Popen(qemu_argv(mib, fill, sock, out), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        q = Qmp(sock)
        if not wait_output(out, b"count "):
            raise RuntimeError("qemu: no count")
        t0 = time.monotonic()
        q.cmd("stop")
        q.cmd("migrate", uri=f"exec:cat > {path}")
        while True:
            st = q.cmd("query-migrate").get("status")
            if st == "completed":
                break
            if st in ("failed", "cancelled"):
                raise RuntimeError(f"qemu migrate: {st}")
            time.sleep(0.002)
        save = time.monotonic() - t0
        q.cmd("quit")
        q.close()
    finally:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    size = os.path.getsize(path)
    os.unlink(sock) if os.path.exists(sock) else None
    t0 = time.monotonic()
    p = subprocess.Popen(qemu_argv(mib, fill, sock, out, f"exec:cat {path}"), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        q = Qmp(sock)
        # The source was stopped for the save, so the guest arrives paused:
        # cont once the incoming migration completed.
        while True:
            st = q.cmd("query-status").get("status")
            if st == "running":
                break
            if st in ("paused", "postmigrate") and \
                    q.cmd("query-migrate").get("status") == "completed":
                q.cmd("cont")
            time.sleep(0.002)
        restore = time.monotonic() - t0
        q.cmd("quit")
        q.close()
    finally:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    os.unlink(path)
    return save, restore, size


def median(runs):
    """Per column: the median save time, restore time and file size."""
    return tuple(statistics.median(col) for col in zip(*runs))



try:
    # Warm-up, not reported: the store started, programs and guest in the
    # page cache, for both.
    stubvisor(16)
    if qemu:
        qemu_run(16)
    rows = []
    for fill in (False, True):
        for mib in SIZES:
            ss, qs = [], []
            for _ in range(RUNS):
                ss.append(stubvisor(mib, fill))
                if qemu:
                    qs.append(qemu_run(mib, fill))
            s = median(ss)
            q = median(qs) if qs else None
            rows.append((f"{mib}{'f' if fill else ''}", s, q))
    print("save / restore of counter.elf, stubdom placement vs QEMU 7.2 microvm"
          f" (median of {RUNS} run{'s' if RUNS > 1 else ''})")
    print("save: stubctl save (incl. destroy) | QMP stop + migrate to exec:cat > FILE")
    print("restore: stubctl restore until it returns | -incoming exec:cat FILE until running")
    print(f"MiB with f: filled (fill=MiB-{FILL_SPARE}: every page but a few MiB holds data)")
    print(f"{'MiB':>5} | {'save ms':>8} {'qemu':>8} {'x qemu':>6} | {'restore ms':>10} {'qemu':>8}"
          f" {'x qemu':>6} | {'file KiB':>9} {'qemu':>9} {'x qemu':>6}")
    for mib, s, q in rows:
        qs = q or (None, None, None)
        fmt = lambda v, k=1000: f"{v * k:.1f}" if v is not None else "-"
        print(f"{mib:>5} | {fmt(s[0]):>8} {fmt(qs[0]):>8} {ratio(s[0], qs[0]):>6} | "
              f"{fmt(s[1]):>10} {fmt(qs[1]):>8} {ratio(s[1], qs[1]):>6} | "
              f"{int(s[2]) // 1024:>9} {(int(qs[2]) // 1024) if qs[2] else '-':>9} {ratio(s[2], qs[2]):>6}")
finally:
    ctlbench.cleanup()
