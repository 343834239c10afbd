#!/bin/sh
# virtio-net round trips, side by side: net-bench.elf sends frames of 256
# bytes through the UDP socket back end to a host-side echo
# (tests/virtio/echo.py) and waits for each to come back, under stubvmm in
# each placement and under QEMU (pc machine, -netdev socket,udp=..., same
# guest binary).  Each VMM runs the guest twice, for SMALL (default 100)
# and COUNT (default 1000) round trips, best of RUNS (default 3)
# wall-clock times each; the difference cancels boot and set-up, so round
# trips/s = (COUNT - SMALL) / (t_COUNT - t_SMALL).  Ratio: speed vs QEMU.
set -eu
: "${STUBVISOR_BIN:?run through meson}"
: "${STUBVISOR_SRC:?run through meson}"
count=${COUNT:-1000}
small=${SMALL:-100}
runs=${RUNS:-3}
guest="${STUBVISOR_GUESTS:-}/net-bench.elf"
[ -f "$guest" ] || { echo "SKIP: net-bench.elf is not built"; exit 77; }
[ -w /dev/kvm ] || { echo "SKIP: no /dev/kvm"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
tmp=$(mktemp -d)
echo_pid=""
trap '[ -z "$echo_pid" ] || kill "$echo_pid"; rm -rf "$tmp"' EXIT

python3 "$STUBVISOR_SRC/tests/virtio/echo.py" udp "$tmp/ready" &
echo_pid=$!
i=0
while [ ! -f "$tmp/ready" ]; do
    i=$((i + 1))
    [ "$i" -le 300 ] || { echo "the UDP echo did not start" >&2; exit 1; }
    sleep 0.1
done
read -r echo_port guest_port <"$tmp/ready"

qemu_run() { # qemu_run COUNT
    rc=0
    timeout 300 qemu-system-x86_64 -enable-kvm -M pc -m 64 -nodefaults -no-user-config \
        -nographic -serial none -kernel "$guest" -append "count=$1 size=256" \
        -netdev "socket,id=n,udp=127.0.0.1:$echo_port,localaddr=127.0.0.1:$guest_port" \
        -device virtio-net-pci,netdev=n,romfile= -device isa-debug-exit,iobase=0xf4,iosize=4 || rc=$?
    [ "$rc" = 1 ] # isa-debug-exit: (0 << 1) | 1
}

stubvmm_run() { # stubvmm_run PLACEMENT COUNT
    timeout 300 "$STUBVISOR_BIN/stubvmm" --kernel "$guest" --dm "$1" --memory 32 \
        --cmdline "count=$2 size=256" --nic "udp:$guest_port:$echo_port"
}

big=$count
. "$(dirname "$0")/side-by-side.sh"
side_by_side rt 0
