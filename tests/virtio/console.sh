#!/bin/sh
# virtio-console input and output: console.sh PLACEMENT (stubdom, inline).
# echo.elf virtio=1 echoes what arrives on its virtio console back there and
# what arrives on COM1 back on COM1.  Through stubctl (virtio_console = 1):
# `stubctl console -t pv` and `stubctl console` are attached at once and
# each sees only its own echo; a second pv client is turned away; 'q' on the
# virtio console powers the guest off.  Then a standalone stubvmm with
# --virtio-console unix:PATH talks to a listener of ours.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm
need_cmd python3
placement=${1:-stubdom}

write_cfg "$TEST_TMP/v.cfg" tv echo.elf 'cmdline = "virtio=1"' 'virtio_console = 1' \
    "device_model_placement = \"$placement\""
timeout 60 "$STUBCTL" create "$TEST_TMP/v.cfg" || fail "create"
d=$("$STUBCTL" domid tv)
[ -S "$STUBVISOR_RUNDIR/dom$d/console-pv.sock" ] || fail "no console-pv.sock"

# The pv console on fd 4, COM1 on fd 3.
mkfifo "$TEST_TMP/fifo-pv"
"$STUBCTL" console -t pv tv <"$TEST_TMP/fifo-pv" >"$TEST_TMP/pv.out" 2>&1 &
track_pid $!
exec 4>"$TEST_TMP/fifo-pv"
console_start tv
printf 'com1-ping\r' >&3
printf 'pv-ping one\n' >&4
wait_for 20 grep -q 'pv-ping one' "$TEST_TMP/pv.out" ||
    fail "no echo on the pv console: $(cat "$TEST_TMP/pv.out")"
wait_for 20 console_has tv com1-ping || fail "no echo on COM1: $(cat "$TEST_TMP/console-tv.out")"
printf 'pv-ping two\n' >&4
wait_for 20 grep -q 'pv-ping two' "$TEST_TMP/pv.out" || fail "no second echo on the pv console"
grep -q pv-ping "$TEST_TMP/console-tv.out" && fail "pv console input echoed on COM1"
grep -q com1-ping "$TEST_TMP/pv.out" && fail "COM1 input echoed on the pv console"

out=$(timeout 10 "$STUBCTL" console -t pv tv </dev/null 2>&1)
expect_contains "second pv client" "in use" "$out"

printf 'q' >&4
wait_for 30 sh -c "! \"$STUBCTL\" list | grep -Eq '^tv '" || fail "tv still there after 'q'"
exec 3>&- 4>&-

# A guest without a virtio console has no pv console.
write_cfg "$TEST_TMP/n.cfg" tn echo.elf "device_model_placement = \"$placement\""
timeout 60 "$STUBCTL" create "$TEST_TMP/n.cfg" || fail "create tn"
out=$(timeout 10 "$STUBCTL" console -t pv tn </dev/null 2>&1) && fail "console -t pv of tn: $out"
expect_contains "no pv console" "no pv console" "$out"
out=$(timeout 10 "$STUBCTL" console -t vga tn </dev/null 2>&1) && fail "console -t vga: $out"
timeout 30 "$STUBCTL" destroy tn || fail "destroy tn"

# Standalone: the port on a unix socket stubvmm connects to.
sock="$TEST_TMP/vcon.sock"
python3 - "$sock" "$TEST_TMP/ready" >"$TEST_TMP/listener.out" 2>&1 <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(1)
open(sys.argv[2], "w").close()
c, _ = s.accept()
c.settimeout(60)
c.sendall(b"standalone-ping\n")
got = b""
while b"standalone-ping\n" not in got:
    d = c.recv(4096)
    if not d:
        break
    got += d
print("echoed:", got.decode(errors="replace").strip())
c.sendall(b"q")
while c.recv(4096):
    pass
PY
track_pid $!
wait_for 10 test -e "$TEST_TMP/ready" || fail "listener not ready"
rc=0
timeout 120 "$STUBVISOR_BIN/stubvmm" --kernel "$STUBVISOR_GUESTS/echo.elf" --cmdline virtio=1 \
    --dm "$placement" --memory 32 --serial "file:$TEST_TMP/serial" \
    --virtio-console "unix:$sock" </dev/null 2>"$TEST_TMP/vmm.log" || rc=$?
expect_eq "standalone exit status ($(cat "$TEST_TMP/vmm.log"))" 0 "$rc"
wait_for 10 grep -q 'echoed: standalone-ping' "$TEST_TMP/listener.out" ||
    fail "listener: $(cat "$TEST_TMP/listener.out")"
pass
