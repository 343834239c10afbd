#!/bin/sh
# Pausing a guest whose device model does not answer (SIGSTOP): a vCPU is
# waiting for an access, so `pause` cannot complete.  It must fail with a
# reason and change nothing; after SIGCONT the guest is listed running and
# makes progress (echo.elf polls its UART, so a vCPU is nearly always
# waiting for the device model).  The same for `save -c`: nothing saved,
# the guest carries on.  And a pause of a healthy guest still completes,
# its unpause always resumes.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm

write_cfg "$TEST_TMP/s.cfg" st echo.elf
timeout 60 "$STUBCTL" create "$TEST_TMP/s.cfg" || fail "create"
dm=$(dm_pid st)
[ -n "$dm" ] && [ "$dm" != 0 ] || fail "no device model pid"
console_start st

running() { "$STUBCTL" list | grep -Eq '^st +[0-9]+ .*r-----'; }
paused() { "$STUBCTL" list | grep -Eq '^st +[0-9]+ .*--p---'; }
# echoes WORD: the guest echoes WORD within a generous deadline.
echoes() {
    printf '%s\r' "$1" >&3
    wait_for 20 console_has st "$1"
}

echoes before || fail "no echo before the test: $(cat "$TEST_TMP/console-st.out")"

# A healthy guest: pause completes and holds it, unpause resumes it.
timeout 20 "$STUBCTL" pause st || fail "pause of a healthy guest"
paused || fail "not listed paused after pause"
timeout 20 "$STUBCTL" unpause st || fail "unpause"
echoes healthy-resumed || fail "no echo after pause and unpause"

# The device model stops answering while a vCPU waits for it.
kill -STOP "$dm"
sleep 0.5
set +e
timeout 30 "$STUBCTL" pause st >"$TEST_TMP/pause.out" 2>&1
rc=$?
set -e
if [ "$rc" -eq 0 ]; then
    # A pause that says ok must really hold the guest.
    paused || fail "pause answered ok but st is listed: $("$STUBCTL" list)"
    timeout 20 "$STUBCTL" unpause st || fail "unpause after the stuck pause"
else
    [ "$rc" -ne 124 ] || fail "pause hung"
    grep -q 'device model' "$TEST_TMP/pause.out" ||
        fail "pause failed without saying why: $(cat "$TEST_TMP/pause.out")"
    running || fail "a failed pause changed the guest: $("$STUBCTL" list)"
    timeout 20 "$STUBCTL" unpause st >/dev/null 2>&1 || true
fi
kill -CONT "$dm"
wait_for 20 running || fail "st is not listed running after SIGCONT: $("$STUBCTL" list)"
echoes after-stuck-pause || fail "st makes no progress after SIGCONT (stuck pause)"

# save -c against a device model that does not answer: nothing saved,
# the guest unchanged and running again once the device model is.
kill -STOP "$dm"
sleep 0.5
set +e
timeout 120 "$STUBCTL" save -c st "$TEST_TMP/st.save" >"$TEST_TMP/save.out" 2>&1
rc=$?
set -e
kill -CONT "$dm"
[ "$rc" -ne 124 ] || fail "save -c hung"
[ "$rc" -ne 0 ] || fail "save -c succeeded although the device model was stopped"
grep -q 'nothing saved' "$TEST_TMP/save.out" || fail "save -c: $(cat "$TEST_TMP/save.out")"
[ ! -e "$TEST_TMP/st.save" ] || fail "save -c left a file"
wait_for 20 running || fail "st is not listed running after the failed save: $("$STUBCTL" list)"
echoes after-stuck-save || fail "st makes no progress after the failed save"

timeout 30 "$STUBCTL" destroy st || fail "destroy"
pass
