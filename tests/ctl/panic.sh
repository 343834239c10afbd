#!/bin/sh
# A guest that panics (panic.elf through pvpanic at port 0x505) in one
# placement: panic.sh PLACEMENT.
#   1. on_crash = "preserve": the guest stays, listed crashed ("----c-"),
#      its reason in `stubctl list -l` is "guest panicked", the log says
#      so, and it never printed "still running" (it stopped at the write);
#      the crash kernel it announced first let it go on;
#   2. on_crash = "destroy": the guest goes, the supervisor's line says
#      "crash (guest panicked)" and "action destroy";
#   3. on_crash = "restart": created again, until the restart limit;
#   4. a standalone stubvmm ends with status 101 (a crash), saying why.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
. "$STUBVISOR_SRC/tests/vmm/lib-vmm.sh"
need_kvm
placement=${1:-stubdom}
need_placement "$placement"

write_cfg "$TEST_TMP/keep.cfg" pkeep panic.elf 'cmdline = "loaded=1"' 'on_crash = "preserve"' \
    "device_model_placement = \"$placement\""
timeout 60 "$STUBCTL" create -p "$TEST_TMP/keep.cfg" || fail "create pkeep: $(cat "$TEST_TMP"/log/*.log)"
console_log pkeep "$TEST_TMP/keep.out"
"$STUBCTL" unpause pkeep || fail "unpause pkeep"
wait_for 60 sh -c "\"$STUBCTL\" list | grep -Eq '^pkeep .* ----c- '" ||
    fail "pkeep not listed crashed: $("$STUBCTL" list; cat "$TEST_TMP/log/pkeep.log")"
long=$("$STUBCTL" list -l pkeep)
expect_contains "list -l reason" '"reason": "guest panicked"' "$long"
expect_contains "stubvmm's log line" "guest panicked" "$(cat "$TEST_TMP/log/pkeep.log")"
wait_for 10 grep -q "panic: panicking" "$TEST_TMP/keep.out" ||
    fail "no panic line: $(cat "$TEST_TMP/keep.out")"
expect_contains "the guest's events" "panic: pvpanic events 0x3" "$(cat "$TEST_TMP/keep.out")"
expect_contains "crash kernel announced, the guest went on" "panic: crash kernel announced" \
    "$(cat "$TEST_TMP/keep.out")"
grep -q "still running" "$TEST_TMP/keep.out" && fail "the guest ran on after its panic"
timeout 30 "$STUBCTL" destroy pkeep || fail "destroy pkeep"

write_cfg "$TEST_TMP/gone.cfg" pgone panic.elf 'on_crash = "destroy"' \
    "device_model_placement = \"$placement\""
timeout 60 "$STUBCTL" create "$TEST_TMP/gone.cfg" || fail "create pgone"
wait_for 60 sh -c "! \"$STUBCTL\" list | grep -Eq '^pgone '" || fail "pgone still listed"
wait_for 10 grep -q "action destroy" "$TEST_TMP/log/pgone.log" || fail "no supervisor line"
expect_contains "the supervisor's line" "(pgone): crash (guest panicked), status 101; action destroy" \
    "$(cat "$TEST_TMP/log/pgone.log")"

# on_crash = "restart": created again after each panic, until the
# supervisor's limit (5 restarts a minute) ends it.
write_cfg "$TEST_TMP/again.cfg" pagain panic.elf 'on_crash = "restart"' \
    "device_model_placement = \"$placement\""
timeout 60 "$STUBCTL" create "$TEST_TMP/again.cfg" || fail "create pagain"
wait_for 120 grep -q "not restarting it again" "$TEST_TMP/log/pagain.log" ||
    fail "pagain was not restarted up to the limit: $(cat "$TEST_TMP/log/pagain.log")"
log=$(cat "$TEST_TMP/log/pagain.log")
expect_contains "restart's line" "(pagain): crash (guest panicked), status 101; action restart" "$log"
expect_contains "a restart" "pagain restarted as domain" "$log"
wait_for 30 sh -c "! \"$STUBCTL\" list | grep -Eq '^pagain '" || fail "pagain still listed"

rc=0
timeout 60 "$STUBVISOR_BIN/stubvmm" --kernel "$STUBVISOR_GUESTS/panic.elf" --dm "$placement" \
    --memory 32 --serial "file:$TEST_TMP/alone.out" </dev/null 2>"$TEST_TMP/alone.log" || rc=$?
expect_eq "standalone exit status ($(cat "$TEST_TMP/alone.log"))" 101 "$rc"
expect_contains "standalone log" "guest panicked" "$(cat "$TEST_TMP/alone.log")"
grep -q "still running" "$TEST_TMP/alone.out" && fail "standalone: ran on after its panic"
pass
