#!/bin/sh
# Pauses have owners.  The toolstack (stubctl pause, create -p), the device
# model (QMP stop) and the monitor each hold their own references and drop
# only their own; the guest runs only when nobody holds one.
#
# - A hostile device model (test builds: dm-argv `-fault unpause`) sends an
#   unpause dm_op every 20 ms: the guest created paused never starts, and
#   after `stubctl pause` it stays paused (its count does not move).
# - QMP `cont` releases only a QMP `stop`; `stubctl unpause` only a
#   `stubctl pause`.
# - query-status and `stubctl list` agree (paused whenever anybody holds a
#   pause) and `stubctl list -l` says who holds it.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm

# state NAME: the list's state column; holders NAME: list -l's paused_by.
state() { "$STUBCTL" list "$1" | awk -v n="$1" '$1 == n { print $5 }'; }
holders() {
    "$STUBCTL" list -l "$1" | python3 -c \
        'import json, sys; print(",".join(json.load(sys.stdin)[0]["paused_by"]))'
}
qmp() { timeout 20 "$STUBCTL" qmp "$1" "$2"; }
qmp_status() { qmp "$1" '{"execute":"query-status"}' | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p'; }
# frozen FILE: no new count line in FILE for 1.5 s (it would take 0.2 s).
frozen() {
    sleep 0.5 # lines the guest wrote before the pause
    before=$(counts "$1" | tail -n1)
    sleep 1.5
    expect_eq "count while paused" "$before" "$(counts "$1" | tail -n1)"
}
# agree NAME STATE HOLDERS: list, list -l and query-status tell one story.
agree() {
    expect_eq "$1: list state" "$2" "$(state "$1")"
    expect_eq "$1: paused_by" "$3" "$(holders "$1")"
    if [ "$2" = r----- ]; then want=running; else want=paused; fi
    expect_eq "$1: query-status" "$want" "$(qmp_status "$1")"
}

# --- the hostile device model ---
write_cfg "$TEST_TMP/h.cfg" hostile counter.elf
STUBVISOR_TEST_DM_ARGS="-fault unpause" timeout 60 "$STUBCTL" create -p "$TEST_TMP/h.cfg" ||
    fail "create hostile"
console_log hostile "$TEST_TMP/h.out"
wait_for 20 sh -c "'$STUBCTL' log hostile | grep -q 'fault injection: unpause refused'" ||
    fail "the hostile device model sends no unpause: $("$STUBCTL" log hostile)"
sleep 1
[ -z "$(counts "$TEST_TMP/h.out")" ] || fail "the guest created paused ran: $(cat "$TEST_TMP/h.out")"
agree hostile --p--- toolstack
timeout 20 "$STUBCTL" unpause hostile || fail "unpause hostile"
wait_for 30 count_at_least "$TEST_TMP/h.out" 1 || fail "hostile does not count after unpause"
agree hostile r----- ""
timeout 20 "$STUBCTL" pause hostile || fail "pause hostile"
frozen "$TEST_TMP/h.out"
agree hostile --p--- toolstack
timeout 20 "$STUBCTL" unpause hostile || fail "unpause hostile again"
now=$(counts "$TEST_TMP/h.out" | tail -n1)
wait_for 30 count_at_least "$TEST_TMP/h.out" $((now + 250000000)) || fail "hostile stopped counting"

# --- each side releases only its own ---
write_cfg "$TEST_TMP/o.cfg" owner counter.elf
timeout 60 "$STUBCTL" create "$TEST_TMP/o.cfg" || fail "create owner"
console_log owner "$TEST_TMP/o.out"
wait_for 30 count_at_least "$TEST_TMP/o.out" 1 || fail "owner does not count"
agree owner r----- ""

# QMP stop: the device model's pause, which stubctl unpause cannot end.
expect_eq "stop" '{"return":{}}' "$(qmp owner '{"execute":"stop"}')"
agree owner --p--- device-model
out=$("$STUBCTL" unpause owner 2>&1) && fail "stubctl unpause ended a QMP stop"
expect_contains "unpause of a QMP stop" "holds no pause" "$out"
frozen "$TEST_TMP/o.out"
agree owner --p--- device-model
expect_eq "cont" '{"return":{}}' "$(qmp owner '{"execute":"cont"}')"
agree owner r----- ""

# stubctl pause: the toolstack's, which QMP cont cannot end.
timeout 20 "$STUBCTL" pause owner || fail "pause owner"
agree owner --p--- toolstack
out=$(qmp owner '{"execute":"cont"}') && fail "QMP cont ended a stubctl pause: $out"
expect_contains "cont of a stubctl pause" "toolstack" "$out"
frozen "$TEST_TMP/o.out"
agree owner --p--- toolstack

# Both: each release leaves the other's pause in place.
expect_eq "stop over a pause" '{"return":{}}' "$(qmp owner '{"execute":"stop"}')"
agree owner --p--- toolstack,device-model
timeout 20 "$STUBCTL" unpause owner || fail "unpause owner"
agree owner --p--- device-model
frozen "$TEST_TMP/o.out"
expect_eq "cont after unpause" '{"return":{}}' "$(qmp owner '{"execute":"cont"}')"
agree owner r----- ""
now=$(counts "$TEST_TMP/o.out" | tail -n1)
wait_for 30 count_at_least "$TEST_TMP/o.out" $((now + 250000000)) || fail "owner stopped counting"

# Pauses are counted, as Xen counts the toolstack's: two need two unpauses.
timeout 20 "$STUBCTL" pause owner || fail "first pause"
timeout 20 "$STUBCTL" pause owner || fail "second pause"
timeout 20 "$STUBCTL" unpause owner || fail "first unpause"
agree owner --p--- toolstack
timeout 20 "$STUBCTL" unpause owner || fail "second unpause"
agree owner r----- ""
"$STUBCTL" unpause owner 2>/dev/null && fail "unpause of a running guest succeeded"

timeout 30 "$STUBCTL" destroy hostile || fail "destroy hostile"
timeout 30 "$STUBCTL" destroy owner || fail "destroy owner"
pass
