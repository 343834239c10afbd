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

# console_log NAME OUT: a background console that only listens; it ends
# when the guest goes away.
console_log() {
    "$STUBCTL" console "$1" </dev/null >"$2" 2>&1 &
    track_pid $!
}

# whole_lines FILE: FILE without a last line that has no newline yet.
whole_lines() {
    if [ -n "$(tail -c1 "$1")" ]; then
        sed '$d' "$1"
    else
        cat "$1"
    fi | tr -d '\r'
}

# counts FILE: the N of every complete "count N" line, one a line.
counts() {
    whole_lines "$1" | sed -n 's/^count \([0-9][0-9]*\)$/\1/p'
}

# count_at_least FILE N: a complete "count M" line with M >= N is there.
count_at_least() {
    [ "$(counts "$1" | tail -n1)" -ge "$2" ] 2>/dev/null
}

# nothing_left: no guest in the store or the list, no stubvmm or device
# model of this test's run directory, nothing but the store's files in it.
nothing_left() {
    expect_eq "domains in the store" "" "$(xenstore-ls /local/domain)"
    expect_eq "vm nodes in the store" "" "$(xenstore-ls /vm 2>/dev/null)"
    expect_eq "stubctl list" "Domain-0" "$("$STUBCTL" list | awk 'NR > 1 { print $1 }' | tr '\n' ' ' | sed 's/ $//')"
    left=$(ls -A "$STUBVISOR_RUNDIR" | grep -v '^store\.' || true)
    expect_eq "run directory" "" "$left"
    procs=$(pgrep -f -- "--dir $STUBVISOR_RUNDIR/dom" || true)
    expect_eq "processes of a guest" "" "$procs"
}
