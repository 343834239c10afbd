#!/bin/sh
# Port-I/O round trip (UART scratch register write + read, pio-bench.elf)
# through each device-model placement, and through QEMU's microvm with the
# same ELF when QEMU is installed.  Boot cost is removed by subtracting a
# short run: us/rt = (t(N) - t(n)) / (N - n).  Best of $PIO_BENCH_RUNS.
set -eu
: "${STUBVISOR_BIN:?run through meson test --benchmark or make bench}"
guest="${STUBVISOR_GUESTS:-}/pio-bench.elf"
big=${PIO_BENCH_ITER:-20000}
small=${PIO_BENCH_SMALL:-1000}
runs=${PIO_BENCH_RUNS:-5}
[ -f "$guest" ] || { echo "SKIP: pio-bench.elf is not built"; exit 77; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "SKIP: no usable /dev/kvm"; exit 77; }

now_us() { echo $(($(date +%s%N) / 1000)); }

# time_run ITER CMD...: microseconds for one run (which must succeed).
time_run() {
    n=$1
    shift
    t0=$(now_us)
    "$@" "iterations=$n" </dev/null >/dev/null 2>&1 || return 1
    echo $(($(now_us) - t0))
}

# best ITER CMD...: the fastest of $runs runs.
best() {
    b=""
    i=0
    while [ "$i" -lt "$runs" ]; do
        t=$(time_run "$@") || return 1
        if [ -z "$b" ] || [ "$t" -lt "$b" ]; then b=$t; fi
        i=$((i + 1))
    done
    echo "$b"
}

# per_rt CMD...: nanoseconds per round trip.
per_rt() {
    tb=$(best "$big" "$@") || return 1
    ts=$(best "$small" "$@") || return 1
    echo $(((tb - ts) * 1000 / (big - small)))
}

qemu_run() {
    timeout 120 qemu-system-x86_64 -enable-kvm -M microvm -nodefaults -no-user-config \
        -nographic -serial stdio -kernel "$guest" -device isa-debug-exit,iobase=0xf4,iosize=4 \
        -append "$1"
    rc=$?
    [ "$rc" -eq 1 ] # isa-debug-exit: (0 << 1) | 1
}

results=""
for p in inline process stubdom; do
    ns=$(per_rt timeout 120 "$STUBVISOR_BIN/stubvmm" --kernel "$guest" --dm "$p" --cmdline) ||
        ns=""
    results="$results $p=${ns:-fail}"
done
if command -v qemu-system-x86_64 >/dev/null 2>&1; then
    ns=$(per_rt qemu_run) || ns=""
    results="$results qemu-microvm=${ns:-fail}"
fi

echo "pio round trip (write + read of the UART scratch register), $((big - small)) round trips, best of $runs"
printf '%-14s %12s %10s %10s\n' placement "us/rt" "x inline" "x qemu"
inline_ns="" qemu_ns=""
for r in $results; do
    case $r in
    inline=*) inline_ns=${r#*=} ;;
    qemu-microvm=*) qemu_ns=${r#*=} ;;
    esac
done
ratio() { # ratio A B: A/B with two decimals, or "-"
    case "$1$2" in *fail* | "") echo "-" ;; *) [ "$2" -gt 0 ] && echo "$1 $2" | awk '{printf "%.2f", $1 / $2}' || echo "-" ;; esac
}
for r in $results; do
    name=${r%%=*} ns=${r#*=}
    if [ "$ns" = fail ]; then
        printf '%-14s %12s\n' "$name" "failed"
        continue
    fi
    us=$(echo "$ns" | awk '{printf "%.1f", $1 / 1000}')
    printf '%-14s %12s %10s %10s\n' "$name" "$us" "$(ratio "$ns" "${inline_ns:-}")" \
        "$(ratio "$ns" "${qemu_ns:-}")"
done
