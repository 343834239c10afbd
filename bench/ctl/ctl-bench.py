#!/usr/bin/env python3
"""Toolstack benchmark: create -> first byte on the guest's serial port
(stubdom and process placements, and QEMU microvm booting the same ELF),
guests created per second, and memory per guest (stubvmm + stubdm, RSS and
PSS).  Prints side-by-side tables with ratios; asserts nothing."""
import os, shutil, subprocess, time

import ctlbench
from ctlbench import ctl, ratio

RUNS = int(os.environ.get("CTL_BENCH_RUNS", "5"))
NGUESTS = int(os.environ.get("CTL_BENCH_GUESTS", "5"))

tmp, env, stubctl, hello, echo = ctlbench.start("ctl-bench.", "hello", "echo")


def cfg(name, kernel, placement="stubdom"):
    path = os.path.join(tmp, name + ".cfg")
    with open(path, "w") as f:
        f.write(f'name = "{name}"\nkernel = "{kernel}"\nmemory = 32\n'
                f'device_model_placement = "{placement}"\n')
    return path


def first_byte(argv, e=None):
    """Seconds from starting argv to the first byte on its stdout."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, env=e or env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    b = p.stdout.read(1)
    t = time.monotonic() - t0
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    return t if b else None


def best(f):
    vals = [v for v in (f() for _ in range(RUNS)) if v is not None]
    return min(vals) if vals else None


def mem_kib(pid):
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss



try:
    ctl("list", check=False)  # nothing; the first create starts the store
    subprocess.run([stubctl, "create", cfg("warm", echo)], env=env, check=True)
    ctl("destroy", "warm")

    # 1. create -> first byte (hello prints at once, then powers off: on_poweroff=destroy)
    lat = {}
    for placement in ("stubdom", "process"):
        c = cfg("fb-" + placement, hello, placement)
        lat[placement] = best(lambda: first_byte([stubctl, "create", "-c", c]))
    qemu = shutil.which("qemu-system-x86_64")
    if qemu:
        lat["qemu-microvm"] = best(lambda: first_byte(
            [qemu, "-enable-kvm", "-M", "microvm,acpi=off,rtc=off", "-nodefaults",
             "-no-user-config", "-nographic", "-serial", "stdio", "-kernel", hello,
             "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]))

    # 2. guests created per second, 3. memory per guest
    t0 = time.monotonic()
    for i in range(NGUESTS):
        subprocess.run([stubctl, "create", cfg(f"g{i}", echo)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    rate = NGUESTS / (time.monotonic() - t0)
    per = []
    for i in range(NGUESTS):
        domid = ctl("domid", f"g{i}").stdout.strip()
        out = subprocess.run(["pgrep", "-f", "--", f"--dir {tmp}/run/dom{domid} "], capture_output=True,
                             text=True).stdout.split()
        vmm = int(out[0]) if out else 0
        dm = 0
        for line in ctl("list", "-l", f"g{i}").stdout.splitlines():
            if '"pid"' in line:
                dm = int(line.split(":")[1].strip().rstrip(","))
        per.append((mem_kib(vmm), mem_kib(dm)))
    t0 = time.monotonic()
    for i in range(NGUESTS):
        ctl("destroy", f"g{i}")
    drate = NGUESTS / (time.monotonic() - t0)
    qmem = None
    if qemu:
        p = subprocess.Popen([qemu, "-enable-kvm", "-M", "microvm,acpi=off,rtc=off", "-m", "32",
                              "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio",
                              "-kernel", echo, "-device", "isa-debug-exit,iobase=0xf4,iosize=4"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        p.stdin.write(b"x\r")  # echo.elf says nothing until it hears something
        p.stdin.flush()
        p.stdout.read(1)
        time.sleep(0.2)
        qmem = mem_kib(p.pid)
        p.kill()
        p.wait()

    print(f"create -> first byte on COM1 (hello.elf), best of {RUNS}")
    print(f"{'placement':<14} {'ms':>8} {'x stubdom':>10} {'x qemu':>8}")
    for k, v in lat.items():
        print(f"{k:<14} {v * 1000 if v else float('nan'):8.1f} {ratio(v, lat.get('stubdom')):>10}"
              f" {ratio(v, lat.get('qemu-microvm')):>8}")
    print()
    print(f"lifecycle, {NGUESTS} echo.elf guests (stubdom)")
    print(f"  created per second   {rate:6.1f}")
    print(f"  destroyed per second {drate:6.1f}")
    print()
    vr = sum(a[0][0] for a in per) / len(per)
    vp = sum(a[0][1] for a in per) / len(per)
    dr = sum(a[1][0] for a in per) / len(per)
    dp = sum(a[1][1] for a in per) / len(per)
    print("memory per guest, 32 MiB echo.elf (KiB, mean; guest RAM is counted where touched)")
    print(f"{'':<16} {'RSS':>8} {'PSS':>8} {'PSS x qemu':>11}")
    print(f"{'stubvmm':<16} {vr:8.0f} {vp:8.0f}")
    print(f"{'stubdm':<16} {dr:8.0f} {dp:8.0f}")
    print(f"{'stubvisor total':<16} {vr + dr:8.0f} {vp + dp:8.0f} {ratio(vp + dp, qmem[1] if qmem else 0):>11}")
    if qmem:
        print(f"{'qemu-microvm':<16} {qmem[0]:8.0f} {qmem[1]:8.0f} {'1.00':>11}")
finally:
    ctlbench.cleanup()
