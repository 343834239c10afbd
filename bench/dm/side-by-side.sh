# Sourced by the device benchmarks: run a guest under each VMM at two sizes,
# best of $runs wall-clock times each (default 3), and print the rate of the
# difference (which cancels boot and set-up) side by side with QEMU's.  The
# sourcing script sets `small` and `big` (the two sizes) and defines
# qemu_run N and stubvmm_run PLACEMENT N, each succeeding only if the guest
# did.
runs=${runs:-3}

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

measure() { # measure VMM: the time for the extra (big - small) in ms, or "-"
    if [ "$1" = qemu ]; then
        command -v qemu-system-x86_64 >/dev/null || { echo -; return; }
        a=$(best_ms qemu_run "$small")
        b=$(best_ms qemu_run "$big")
    else
        a=$(best_ms stubvmm_run "$1" "$small")
        b=$(best_ms stubvmm_run "$1" "$big")
    fi
    if [ "$a" = - ] || [ "$b" = - ] || [ "$b" -le "$a" ]; then echo -; else echo $((b - a)); fi
}

side_by_side() { # side_by_side UNIT DECIMALS: the table, each placement and QEMU
    qemu_ms=$(measure qemu)
    printf '%-10s %14s %12s %10s\n' "vmm" "ms/$((big - small))$1" "$1/s" "vs QEMU"
    for p in inline process stubdom qemu; do
        if [ "$p" = qemu ]; then ms=$qemu_ms; else ms=$(measure "$p"); fi
        if [ "$ms" = - ]; then
            printf '%-10s %14s\n' "$p" "failed"
            continue
        fi
        rate=$(awk "BEGIN { printf \"%.$2f\", ($big - $small) * 1000 / $ms }")
        ratio=-
        [ "$qemu_ms" != - ] && ratio=$(awk "BEGIN { printf \"%.2fx\", $qemu_ms / $ms }")
        printf '%-10s %14s %12s %10s\n' "$p" "$ms" "$rate" "$ratio"
    done
}
