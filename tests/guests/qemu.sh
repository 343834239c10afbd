# Boots a test guest under QEMU's microvm, which loads PVH ELFs the way
# stubvmm does: this proves the guest images are valid on their own.
# Source after tests/lib.sh.
#
#   guest_elf NAME             path of build/guests/NAME.elf (fails if missing)
#   qemu_boot ELF APPEND SECS  boot with stdin from $qemu_stdin (default
#                              /dev/null); stdout -> $qemu_out, stderr ->
#                              $qemu_err; sets $guest_status to the guest's
#                              exit status (or fails if QEMU did not end
#                              through the debug-exit port in time)

need_qemu() {
    need_cmd qemu-system-x86_64 timeout
    need_kvm
}

guest_elf() {
    [ -n "${STUBVISOR_GUESTS:-}" ] || skip "no guest directory in this build"
    elf="$STUBVISOR_GUESTS/$1.elf"
    [ -f "$elf" ] || fail "$elf is missing"
    echo "$elf"
}

qemu_out="$TEST_TMP/qemu.out"
qemu_err="$TEST_TMP/qemu.err"
qemu_stdin=/dev/null

# timeout --foreground: stay in the test's process group, so that a runner
# that kills the group on its own timeout takes QEMU with it (plain timeout
# moves itself and QEMU into a group of their own).
# acpi=off: no ACPI GED whose sleep register a hostile guest could hit;
# rtc=off: no CMOS.  isa-debug-exit makes QEMU exit with (status << 1) | 1.
qemu_boot() {
    rc=0
    timeout --foreground --kill-after=5 "$3" qemu-system-x86_64 -enable-kvm \
        -M microvm,acpi=off,rtc=off -nodefaults -no-user-config -nographic \
        -serial stdio -kernel "$1" -append "$2" \
        -device isa-debug-exit,iobase=0xf4,iosize=4 \
        <"$qemu_stdin" >"$qemu_out" 2>"$qemu_err" || rc=$?
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        cat "$qemu_out" "$qemu_err" >&2
        fail "$(basename "$1") did not finish within $3 s"
    fi
    if [ $((rc % 2)) -ne 1 ]; then
        cat "$qemu_out" "$qemu_err" >&2
        fail "QEMU exited with $rc, not through the debug-exit port"
    fi
    guest_status=$(((rc - 1) / 2))
}
