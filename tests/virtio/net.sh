#!/bin/sh
# virtio-net end to end in one placement (argument): net-bench.elf sends
# frames that a host-side echo (echo.py) sends back; the guest checks each
# one.  Once over UDP on loopback, once over a unix datagram socket.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/vmm/lib-vmm.sh"

placement=${1:-inline}
need_kvm
need_placement "$placement"
need_cmd python3
guest=$(need_guest net-bench)
vmm="$STUBVISOR_BIN/stubvmm"
out="$TEST_TMP/serial.txt"
echo_py="$STUBVISOR_SRC/tests/virtio/echo.py"

run() { # run NIC-SPEC
    rc=0
    timeout 120 "$vmm" --kernel "$guest" --dm "$placement" --memory 32 --serial "file:$out" \
        --cmdline "count=100 size=300" --nic "$1" || rc=$?
    [ "$rc" = 0 ] || fail "net-bench over $1 exited $rc: $(cat "$out")"
    expect_contains "net-bench output" "100 frames of 300 bytes echoed" "$(cat "$out")"
}

python3 "$echo_py" udp "$TEST_TMP/udp.ready" &
track_pid $!
wait_for 30 test -f "$TEST_TMP/udp.ready" || fail "the UDP echo did not start"
read -r echo_port guest_port <"$TEST_TMP/udp.ready"
run "udp:$guest_port:$echo_port"

python3 "$echo_py" unix "$TEST_TMP/unix.ready" "$TEST_TMP/echo.sock" &
track_pid $!
wait_for 30 test -f "$TEST_TMP/unix.ready" || fail "the unix echo did not start"
run "unix:$TEST_TMP/echo.sock"
pass
