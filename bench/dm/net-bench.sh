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

now_ms() { date +%s%3N; }

best_ms() { # best_ms COMMAND...: best wall-clock of $runs runs, or "-" on failure
    best=""
    for _ in $(seq "$runs"); do
        t0=$(now_ms)
        "$@" >/dev/null 2>&1 || { echo -; return; }
        t=$(($(now_ms) - t0))
        if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
    done
    echo "$best"
}

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

# measure VMM: prints the time for the extra round trips in ms, or "-"
measure() {
    if [ "$1" = qemu ]; then
        command -v qemu-system-x86_64 >/dev/null || { echo -; return; }
        a=$(best_ms qemu_run "$small")
        b=$(best_ms qemu_run "$count")
    else
        a=$(best_ms stubvmm_run "$1" "$small")
        b=$(best_ms stubvmm_run "$1" "$count")
    fi
    if [ "$a" = - ] || [ "$b" = - ] || [ "$b" -le "$a" ]; then echo -; else echo $((b - a)); fi
}

qemu_ms=$(measure qemu)
printf '%-10s %14s %12s %10s\n' "vmm" "ms/$((count - small))rt" "rt/s" "vs QEMU"
for p in inline process stubdom qemu; do
    if [ "$p" = qemu ]; then ms=$qemu_ms; else ms=$(measure "$p"); fi
    if [ "$ms" = - ]; then
        printf '%-10s %14s\n' "$p" "failed"
        continue
    fi
    rate=$(awk "BEGIN { printf \"%.0f\", ($count - $small) * 1000 / $ms }")
    ratio=-
    [ "$qemu_ms" != - ] && ratio=$(awk "BEGIN { printf \"%.2fx\", $qemu_ms / $ms }")
    printf '%-10s %14s %12s %10s\n' "$p" "$ms" "$rate" "$ratio"
done
