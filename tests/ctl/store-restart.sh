#!/bin/sh
# The store killed under a running guest and started again: the guest stays
# listed and manageable (its supervisor reconnects), a new guest never gets
# its domain ids, and destroying it cleans up what is its own only.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm
need_cmd xenstore-read

write_cfg "$TEST_TMP/a.cfg" ra echo.elf
write_cfg "$TEST_TMP/b.cfg" rb echo.elf
timeout 60 "$STUBCTL" create "$TEST_TMP/a.cfg" || fail "create ra"
expect_eq "ra's domid" 1 "$("$STUBCTL" domid ra)"

store_pid=$(cat "$STUBVISOR_RUNDIR/store.pid")
kill -9 "$store_pid"
wait_for 10 sh -c "! kill -0 $store_pid 2>/dev/null" || fail "the store did not die"
"$STUBVISOR_BIN/stubstored" --socket "$STUBVISOR_RUNDIR/store.sock" \
    --pid-file "$STUBVISOR_RUNDIR/store.pid" || fail "the store did not start again"

list=$("$STUBCTL" list)
echo "$list"
echo "$list" | grep -Eq '^ra +1 ' || fail "ra is not listed after the store's restart"
echo "$list" | grep -Eq '^ra-dm +2 ' || fail "ra's stub domain is not listed"

# A new guest gets new ids, never those of ra, which still runs.
timeout 60 "$STUBCTL" create "$TEST_TMP/b.cfg" || fail "create rb"
db=$("$STUBCTL" domid rb)
[ "$db" != 1 ] && [ "$db" != 2 ] || fail "rb got one of ra's domain ids ($db)"
[ -S "$STUBVISOR_RUNDIR/dom1/control.sock" ] || fail "ra's control socket is gone"

# ra is still manageable, and its clean-up (by its supervisor, through its
# reconnected store connection) leaves rb alone.
timeout 30 "$STUBCTL" destroy ra || fail "destroy ra"
wait_for 10 sh -c "! xenstore-read /local/domain/1/name 2>/dev/null" || fail "ra's nodes left behind"
wait_for 10 sh -c "! xenstore-read /tool/stubvisor/domid/1 2>/dev/null" || fail "ra's id still marked in use"
[ ! -e "$STUBVISOR_RUNDIR/dom1" ] || fail "ra's run directory left behind"
[ -S "$STUBVISOR_RUNDIR/dom$db/control.sock" ] || fail "rb's control socket went with ra"
expect_eq "rb still runs" rb "$(xenstore-read /local/domain/$db/name)"
timeout 30 "$STUBCTL" destroy rb || fail "destroy rb"
pass
