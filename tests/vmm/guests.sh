#!/bin/sh
# The test guests in one placement: guests.sh inline|process|stubdom.
# hello prints and exits 0; echo echoes COM1 until 'q'; hostile attacks the
# device model and must still print "hostile: done" and exit 0.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/vmm/lib-vmm.sh"
need_kvm
placement=$1
need_placement "$placement"
hello=$(need_guest hello)
echo_elf=$(need_guest echo)
hostile=$(need_guest hostile)
vmm="$STUBVISOR_BIN/stubvmm"

out=$(timeout 30 "$vmm" --kernel "$hello" --dm "$placement" </dev/null) || fail "hello: exit $?"
expect_eq "hello output" "hello from guest" "$(printf '%s' "$out" | tr -d '\r')"

# Several vCPUs: the others wait for INIT/SIPI, the device model serves all.
out=$(timeout 30 "$vmm" --kernel "$hello" --dm "$placement" --vcpus 3 </dev/null) ||
    fail "hello on 3 vCPUs: exit $?"
expect_contains "hello output on 3 vCPUs" "hello from guest" "$out"

out=$(printf 'ping 123\nq' | timeout 30 "$vmm" --kernel "$echo_elf" --dm "$placement") ||
    fail "echo: exit $?"
expect_contains "echo output" "ping 123" "$out"

# More input than the UART's FIFO holds: flow control, nothing lost.
long=$(head -c 3000 /dev/urandom | base64 -w0 | tr -d q | head -c 2000)
out=$(printf '%sq' "$long" | timeout 60 "$vmm" --kernel "$echo_elf" --dm "$placement") ||
    fail "echo of 2000 bytes: exit $?"
expect_contains "echo of 2000 bytes" "$long" "$out"

out=$(timeout 120 "$vmm" --kernel "$hostile" --dm "$placement" --cmdline "rounds=1 seed=7" \
    </dev/null 2>"$TEST_TMP/hostile.err") || {
    cat "$TEST_TMP/hostile.err" >&2
    fail "hostile: exit $?"
}
expect_contains "hostile output" "hostile: done" "$out"

# The serial port can go to a file instead of stdout.
timeout 30 "$vmm" --kernel "$hello" --dm "$placement" --serial "file:$TEST_TMP/serial" </dev/null ||
    fail "hello with --serial file: exit $?"
expect_contains "serial file" "hello from guest" "$(cat "$TEST_TMP/serial")"
pass
