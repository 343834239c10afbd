#!/bin/sh
# `make demo` (scripts/demo.sh): the guest says hello on its console, and
# the last lines say that the store is left running and give the commands
# to see and stop it, which work as printed.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm

out=$(timeout 120 "$STUBVISOR_SRC/scripts/demo.sh" </dev/null 2>&1) || fail "demo: $out"
expect_contains "the guest's console" "hello from guest" "$out"
expect_contains "the store is said to run" "the store (stubstored) keeps running on $STUBVISOR_RUNDIR/store.sock" "$out"
"$STUBCTL" store status >/dev/null || fail "the demo left no store running"
stop=$(echo "$out" | sed -n 's/.*stop it with `\(.*\)`$/\1/p')
expect_contains "the stop command" "store stop" "$stop"
# create -c returned once the guest was gone: the store stops at once.
"$STUBCTL" list hello >/dev/null 2>&1 && fail "hello is still listed after create -c returned"
sh -c "$stop" >/dev/null || fail "'$stop' failed"
st=0; "$STUBCTL" store status >/dev/null || st=$?
expect_eq "store after the demo's stop command" 1 "$st"
pass
