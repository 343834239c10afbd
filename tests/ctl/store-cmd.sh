#!/bin/sh
# stubctl store status and store stop: status exits 0 with the socket and
# the store's pid when one runs, 1 when none does; stop is refused while a
# guest exists (exit 1, the store stays), stops the store once none does,
# and is a quiet no-op when no store runs (a unit's ExecStop).
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm

st=0; out=$("$STUBCTL" store status) || st=$?
expect_eq "status, no store" 1 "$st"
expect_contains "status, no store" "not running" "$out"
st=0; "$STUBCTL" store stop >/dev/null || st=$?
expect_eq "stop, no store" 0 "$st"

write_cfg "$TEST_TMP/c.cfg" sc counter.elf
timeout 60 "$STUBCTL" create "$TEST_TMP/c.cfg" 2>/dev/null || fail create
pid=$(cat "$STUBVISOR_RUNDIR/store.pid")
out=$("$STUBCTL" store status) || fail "status with a store"
expect_contains "status" "running on $STUBVISOR_RUNDIR/store.sock, pid $pid, 1 guest" "$out"

st=0; out=$("$STUBCTL" store stop 2>&1) || st=$?
expect_eq "stop with a guest" 1 "$st"
expect_contains "stop with a guest" "1 guest still exists" "$out"
kill -0 "$pid" || fail "the store went although stop was refused"
"$STUBCTL" list sc >/dev/null || fail "the guest went although stop was refused"

timeout 30 "$STUBCTL" destroy sc || fail destroy
out=$("$STUBCTL" store stop) || fail "stop"
expect_contains "stop" "stopped (pid $pid)" "$out"
kill -0 "$pid" 2>/dev/null && fail "the store is still running"
st=0; "$STUBCTL" store status >/dev/null || st=$?
expect_eq "status after stop" 1 "$st"
[ -e "$STUBVISOR_RUNDIR/store.pid" ] && fail "the pid file is left"
pass
