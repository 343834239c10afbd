#!/bin/sh
# Two guests exchange frames through the UDP socket back end: net-pair.sh
# PLACEMENT.  Two stubvmm instances get --nic udp:A:B and udp:B:A; one runs
# net-bench in the pong role, the other in the ping role; each checks every
# frame it gets (sequence number and payload), so both exit 0 only after
# all round trips went through with the right data.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/vmm/lib-vmm.sh"

placement=${1:-inline}
need_kvm
need_placement "$placement"
need_cmd python3
guest=$(need_guest net-bench)
vmm="$STUBVISOR_BIN/stubvmm"
count=50

# Two UDP ports free on loopback right now.
set -- $(python3 -c 'import socket
s = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
a=$1 b=$2

timeout 200 "$vmm" --kernel "$guest" --dm "$placement" --memory 32 \
    --serial "file:$TEST_TMP/pong" --cmdline "role=pong count=$count size=500" \
    --nic "udp:$b:$a" </dev/null 2>"$TEST_TMP/pong.log" &
pong=$!
track_pid $pong
# Its socket is bound and its receive buffers posted once it says so.
wait_for 120 grep -q "pong ready" "$TEST_TMP/pong" ||
    fail "the pong guest did not come up: $(cat "$TEST_TMP/pong" "$TEST_TMP/pong.log")"

rc=0
timeout 150 "$vmm" --kernel "$guest" --dm "$placement" --memory 32 \
    --serial "file:$TEST_TMP/ping" --cmdline "role=ping count=$count size=500" \
    --nic "udp:$a:$b" </dev/null 2>"$TEST_TMP/ping.log" || rc=$?
[ "$rc" = 0 ] || fail "the ping guest exited $rc: $(cat "$TEST_TMP/ping" "$TEST_TMP/ping.log")"
prc=0
wait $pong || prc=$?
[ "$prc" = 0 ] || fail "the pong guest exited $prc: $(cat "$TEST_TMP/pong" "$TEST_TMP/pong.log")"
expect_contains "ping output" "ping: $count round trips of 500 bytes" "$(cat "$TEST_TMP/ping")"
expect_contains "pong output" "pong: $count round trips of 500 bytes" "$(cat "$TEST_TMP/pong")"
pass
