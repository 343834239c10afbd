# Helpers for the toolstack's integration tests; source after tests/lib.sh.
#
# Every test gets its own rundir and log directory; at exit every guest
# still listed is destroyed and the store this test started is stopped.

STUBCTL="$STUBVISOR_BIN/stubctl"
export STUBVISOR_LOGDIR="$TEST_TMP/log"
export XENSTORED_PATH="$STUBVISOR_RUNDIR/store.sock"

ctl_cleanup() {
    st=$?
    if [ -S "$STUBVISOR_RUNDIR/store.sock" ]; then
        for d in $(timeout 10 "$STUBCTL" list 2>/dev/null | awk 'NR > 2 && $1 !~ /-dm$/ { print $2 }'); do
            timeout 20 "$STUBCTL" destroy "$d" >/dev/null 2>&1 || true
        done
    fi
    if [ -f "$STUBVISOR_RUNDIR/store.pid" ]; then
        kill "$(cat "$STUBVISOR_RUNDIR/store.pid")" 2>/dev/null || true
    fi
    (exit $st)
    cleanup
}
trap ctl_cleanup EXIT INT TERM

# write_cfg FILE NAME GUEST [MORE LINES...]
write_cfg() {
    f=$1 n=$2 g=$3
    shift 3
    {
        echo "name = \"$n\""
        echo "kernel = \"$STUBVISOR_GUESTS/$g\""
        echo "memory = 32"
        for l in "$@"; do echo "$l"; done
    } >"$f"
}

# The processes a guest has: its stubvmm (found by its run directory).
vmm_pid_of() {
    pgrep -f -- "--dir $STUBVISOR_RUNDIR/dom$1 " | head -n1
}

# dm_pid NAME: the device model's pid, from stubvmm's control socket.
dm_pid() {
    "$STUBCTL" list -l "$1" | sed -n 's/.*"pid": \([0-9]*\).*/\1/p' | head -n1
}

# console_start NAME: attach a background console fed by fd 3 (a fifo);
# its output goes to $TEST_TMP/console-NAME.out.
console_start() {
    rm -f "$TEST_TMP/fifo-$1"
    mkfifo "$TEST_TMP/fifo-$1"
    "$STUBCTL" console "$1" <"$TEST_TMP/fifo-$1" >"$TEST_TMP/console-$1.out" 2>&1 &
    track_pid $!
    eval "exec ${2:-3}>\"\$TEST_TMP/fifo-\$1\""
}

console_has() {
    grep -q -- "$2" "$TEST_TMP/console-$1.out"
}
