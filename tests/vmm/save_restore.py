#!/usr/bin/env python3
"""stubvmm alone through a save and a restore: counter.elf runs under
`stubvmm --managed`, is paused and saved through the control socket (the
file's descriptor sent along with `save`), the monitor is destroyed, and a
new one started with --restore-fd must carry the count on above the last
value printed before the save (not from zero).  Bad files must be refused
before anything starts.

usage: save_restore.py STUBVMM COUNTER_ELF PLACEMENT WORKDIR
Prints "SKIP: ..." and exits 77 when the placement cannot run here."""
import os
import re
import select
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from savefile_edit import CONFIG, section  # noqa: E402

STUBVMM, GUEST, PLACEMENT, WORK = sys.argv[1:5]
MEMORY = "16"
procs = []


def fail(msg):
    print("FAIL: save-restore-%s: %s" % (PLACEMENT, msg), file=sys.stderr)
    sys.exit(1)


def start(name, extra, restore_file=None):
    d = os.path.join(WORK, name)
    os.makedirs(d, exist_ok=True)
    r, w = os.pipe()
    argv = [STUBVMM, "--managed", "--dir", d, "--kernel", GUEST, "--status-fd", str(w),
            "--memory", MEMORY, "--vcpus", "1", "--dm", PLACEMENT,
            "--serial-file", os.path.join(d, "serial")] + extra
    fds = [w]
    rf = None
    if restore_file:
        rf = os.open(restore_file, os.O_RDONLY)
        argv += ["--restore-fd", str(rf)]
        fds.append(rf)
    p = subprocess.Popen(argv, pass_fds=fds, stderr=subprocess.PIPE)
    procs.append(p)
    os.close(w)
    if rf is not None:
        os.close(rf)
    return p, r, d


def wait_ready(p, r):
    """The status descriptor's first line, or None if stubvmm exited first."""
    ready, _, _ = select.select([r], [], [], 30)
    if not ready:
        fail("no word on the status descriptor within 30 s")
    line = os.read(r, 64)
    return line.decode() if line else None


def control(d, line, fd=None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(os.path.join(d, "control.sock"))
    if fd is None:
        s.sendall(line.encode())
    else:
        socket.send_fds(s, [line.encode()], [fd])
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(512)
        if not chunk:
            break
        buf += chunk
    s.close()
    return buf.decode().strip()


def counts(d):
    try:
        with open(os.path.join(d, "serial"), "rb") as f:
            text = f.read().decode(errors="replace")
    except FileNotFoundError:
        return []
    return [int(n) for n in re.findall(r"count (\d+)\n", text)]


def wait_counts(d, n, limit=60):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        c = counts(d)
        if len(c) >= n:
            return c
        time.sleep(0.05)
    fail("fewer than %d count lines in %s/serial after %d s: %r" % (n, d, limit, counts(d)))


def finish(p, r):
    p.wait(timeout=30)
    os.close(r)


def save_file(path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    cfg = b'name = "counter"\n'
    hdr = b"STUBVISOR-SAVE\0\0" + struct.pack("<IIQ", 1, 0, 0)
    sect = section(CONFIG, cfg)
    os.write(fd, hdr + sect)
    return fd, len(hdr) + len(sect)


def expect_refused(path, extra, text):
    p, r, d = start("bad", extra, path)
    line = wait_ready(p, r)
    p.wait(timeout=30)
    err = p.stderr.read().decode()
    os.close(r)
    if line:
        fail("stubvmm started from a bad file (%s): %r" % (text, line))
    if p.returncode != 100:
        fail("bad file (%s): exit %d, expected 100; %s" % (text, p.returncode, err))
    if text not in err:
        fail("bad file: expected %r in: %s" % (text, err))
    if os.path.exists(os.path.join(d, "control.sock")):
        fail("a bad file left a control socket")


def main():
    # 1. Run, pause, save, destroy.
    p, r, d = start("one", [])
    if wait_ready(p, r) != "ready\n":
        fail("stubvmm did not start: %s" % p.stderr.read().decode())
    if control(d, "unpause\n") != "ok":
        fail("unpause refused")
    wait_counts(d, 3)
    if control(d, "pause\n") != "ok":
        fail("pause refused")
    time.sleep(0.3)  # any line in flight reaches the serial file
    before = counts(d)
    last = before[-1]
    path = os.path.join(WORK, "counter.save")
    fd, head = save_file(path)
    rep = control(d, "save\n", fd)
    m = re.fullmatch(r"ok bytes=(\d+)", rep)
    if not m:
        fail("save: %r; %s" % (rep, p.stderr.read1(4096).decode() if p.stderr else ""))
    os.close(fd)
    size = os.path.getsize(path)
    if size != head + int(m.group(1)):
        fail("file is %d bytes, header+CONFIG %d + reported %s" % (size, head, m.group(1)))
    # `save` leaves a paused guest paused: no new line.
    time.sleep(0.3)
    if counts(d) != before:
        fail("the guest ran after a save of a paused guest")
    # A save without a descriptor is refused.
    if not control(d, "save\n").startswith("error "):
        fail("save without a descriptor was accepted")
    control(d, "destroy\n")
    finish(p, r)

    # 2. Restore and carry on.
    p, r, d = start("two", [], path)
    line = wait_ready(p, r)
    if line != "ready\n":
        fail("restore did not start: %r %s" % (line, p.stderr.read().decode()))
    time.sleep(0.3)
    if counts(d):
        fail("the restored guest ran before unpause")
    if control(d, "unpause\n") != "ok":
        fail("unpause after restore refused")
    after = wait_counts(d, 2)
    if after[0] <= last:
        fail("count restarted: last before the save %d, first after %d" % (last, after[0]))
    if after[1] <= after[0]:
        fail("count does not go on after restore: %r" % after)
    # Save the restored guest while it runs (it must keep running): the
    # vCPU is stopped wherever it is, often in the middle of a UART access.
    again = os.path.join(WORK, "again.save")
    fd, head = save_file(again)
    seen = counts(d)[-1]
    rep = control(d, "save\n", fd)
    os.close(fd)
    if not rep.startswith("ok bytes="):
        fail("second save: %r" % rep)
    n = len(counts(d))
    wait_counts(d, n + 2)
    control(d, "destroy\n")
    finish(p, r)
    print("saved %d bytes; count %d before, %d after" % (size, last, after[0]))

    # 3. That file, and two vCPUs.
    p, r, d = start("three", [], again)
    if wait_ready(p, r) != "ready\n":
        fail("restore of a running guest's save did not start: %s" % p.stderr.read().decode())
    control(d, "unpause\n")
    c = wait_counts(d, 2)
    if c[0] <= seen or c[1] <= c[0]:
        fail("running guest's save: last seen %d, then %r" % (seen, c))
    control(d, "destroy\n")
    finish(p, r)
    p, r, d = start("smp", ["--vcpus", "2"])
    if wait_ready(p, r) != "ready\n":
        fail("2 vCPUs: %s" % p.stderr.read().decode())
    control(d, "unpause\n")
    wait_counts(d, 2)
    smp = os.path.join(WORK, "smp.save")
    fd, head = save_file(smp)
    rep = control(d, "save\n", fd)
    os.close(fd)
    seen = counts(d)[-1]
    control(d, "destroy\n")
    finish(p, r)
    if not rep.startswith("ok bytes="):
        fail("2 vCPUs: save: %r" % rep)
    expect_refused(smp, [], "with 16 MiB and 2 vCPUs, not 16 MiB and 1")
    p, r, d = start("smp2", ["--vcpus", "2"], smp)
    if wait_ready(p, r) != "ready\n":
        fail("2 vCPUs: restore: %s" % p.stderr.read().decode())
    control(d, "unpause\n")
    c = wait_counts(d, 1)
    if c[0] <= seen - 250000000:
        fail("2 vCPUs: count restarted: %d then %r" % (seen, c))
    control(d, "destroy\n")
    finish(p, r)

    # 4. Files that must be refused, with nothing started.
    data = open(path, "rb").read()
    bad = os.path.join(WORK, "bad.save")

    def write_bad(b):
        with open(bad, "wb") as f:
            f.write(b)

    write_bad(data[: len(data) // 2])
    expect_refused(bad, [], "truncated")
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x10  # in MEMORY: a checksum mismatch
    write_bad(bytes(flipped))
    expect_refused(bad, [], "checksum mismatch")
    write_bad(b"\x7fELF" + data[4:])
    expect_refused(bad, [], "not a stubvisor save file")
    write_bad(data[:16] + struct.pack("<I", 9) + data[20:])
    expect_refused(bad, [], "version 9 is newer")
    expect_refused(path, ["--memory", "32"], "not 32 MiB")


try:
    main()
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
print("PASS: save-restore-%s" % PLACEMENT)
