"""What the toolstack benchmarks share: the checks that decide whether they
can run, a private run directory for stubctl and the store it starts,
running stubctl there, ratios, and leaving nothing behind."""
import os, shutil, subprocess, sys, tempfile, time

BIN = os.environ.get("STUBVISOR_BIN")
GUESTS = os.environ.get("STUBVISOR_GUESTS", "")
tmp = env = stubctl = None


def start(prefix, *guests):
    """Skip (exit 77) without a usable /dev/kvm or the guests; make the
    private run directory.  Returns (tmp, env, stubctl, guest paths...)."""
    global tmp, env, stubctl
    if not BIN:
        sys.exit("run through meson test --benchmark or make bench")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP: no usable /dev/kvm")
        sys.exit(77)
    paths = [os.path.join(GUESTS, g + ".elf") for g in guests]
    if not all(os.path.exists(p) for p in paths):
        print("SKIP: guests are not built")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix=prefix)
    env = dict(os.environ, STUBVISOR_RUNDIR=tmp + "/run", STUBVISOR_LOGDIR=tmp + "/log")
    stubctl = os.path.join(BIN, "stubctl")
    return (tmp, env, stubctl, *paths)


def ctl(*args, check=True):
    return subprocess.run([stubctl, *args], env=env, check=check, capture_output=True, text=True)


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "-"


def cleanup():
    """Destroy every guest left, stop the store, remove the run directory."""
    for n in ctl("list", check=False).stdout.splitlines()[2:]:
        f = n.split()
        if f and not f[0].endswith("-dm"):
            ctl("destroy", f[1], check=False)
    pidf = os.path.join(tmp, "run", "store.pid")
    if os.path.exists(pidf):
        try:
            os.kill(int(open(pidf).read()), 15)
        except (OSError, ValueError):
            pass
    time.sleep(0.2)
    shutil.rmtree(tmp, ignore_errors=True)
