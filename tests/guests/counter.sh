#!/bin/sh
# counter.elf never exits: it prints `count N` every `every=` increments, at
# CPL3 by default and at CPL0 with cpl=0.  Check a few lines of each.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/guests/qemu.sh"
need_qemu
elf=$(guest_elf counter)

# check_counter APPEND EVERY
check_counter() {
    out="$TEST_TMP/counter.out"
    timeout --foreground --kill-after=2 60 qemu-system-x86_64 -enable-kvm -M microvm,acpi=off,rtc=off \
        -nodefaults -no-user-config -nographic -serial stdio -kernel "$elf" \
        -append "$1" -device isa-debug-exit,iobase=0xf4,iosize=4 \
        </dev/null >"$out" 2>"$qemu_err" &
    pid=$!
    track_pid $pid
    # Complete lines only: the guest may be half-way through the next one.
    three_lines() { [ "$(wc -l <"$out")" -ge 3 ]; }
    wait_for 30 three_lines || {
        cat "$out" "$qemu_err" >&2
        fail "no three count lines with '$1'"
    }
    kill $pid
    wait $pid 2>/dev/null || true
    expect_eq "first lines with '$1'" "count $2
count $(($2 * 2))
count $(($2 * 3))" "$(head -n 3 "$out")"
}

check_counter "every=1000000" 1000000
check_counter "cpl=0 every=2000" 2000
pass
