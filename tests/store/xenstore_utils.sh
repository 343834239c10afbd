#!/bin/sh
# Debian's xenstore-utils against a running stubstored.  The tools find the
# store through XENSTORED_PATH (libxenstore stats it first as the xenbus
# device and then as the daemon socket; both resolve to that variable), so
# pointing it at our socket is all it takes.  Also checks the daemon's
# command line: readiness, default socket, daemon mode, errors, SIGTERM.
. "$STUBVISOR_SRC/tests/lib.sh"
need_cmd xenstore-read xenstore-write xenstore-ls xenstore-list xenstore-rm \
    xenstore-exists xenstore-chmod xenstore-watch
store="$STUBVISOR_BIN/stubstored"
sock="$STUBVISOR_RUNDIR/store.sock"

# start_store ARGS...: run it in the foreground and wait for its readiness line.
start_store() {
    fifo="$TEST_TMP/ready.$$"
    rm -f "$fifo"
    mkfifo "$fifo"
    "$store" --foreground --ready-fd 3 "$@" 3>"$fifo" &
    store_pid=$!
    track_pid "$store_pid"
    read -r _ <"$fifo" || fail "stubstored did not become ready"
    rm -f "$fifo"
}

# --- command line -------------------------------------------------------------
set +e
"$store" --no-such-flag 2>/dev/null
expect_eq "usage error status" 100 "$?"
err=$("$store" --foreground --socket "$TEST_TMP/missing/dir/s.sock" 2>&1)
expect_eq "unusable socket status" 111 "$?"
set -e
expect_contains "unusable socket message" "cannot bind" "$err"

# Default socket: $STUBVISOR_RUNDIR/store.sock, root only.
start_store
[ -S "$sock" ] || fail "no socket at $sock"
expect_eq "socket mode" 600 "$(stat -c %a "$sock")"
set +e
err=$("$store" --foreground --socket "$sock" --state-dir "$TEST_TMP/other-state" 2>&1)
expect_eq "second instance status" 111 "$?"
expect_contains "second instance message" "already serving" "$err"
err=$("$store" --foreground --socket "$TEST_TMP/other.sock" 2>&1)
expect_eq "second instance on the same state status" 111 "$?"
expect_contains "second instance on the same state message" "already using the state" "$err"
set -e

# --- the tools ------------------------------------------------------------------
export XENSTORED_PATH="$sock"
xenstore-write /vm/uuid/name guest1 /vm/uuid/memory 512
expect_eq "read" guest1 "$(xenstore-read /vm/uuid/name)"
expect_eq "read two" "guest1
512" "$(xenstore-read /vm/uuid/name /vm/uuid/memory)"
expect_eq "list" "memory
name" "$(xenstore-list /vm/uuid | sort)"
ls_out=$(xenstore-ls /vm)
expect_contains "ls" 'name = "guest1"' "$ls_out"
expect_contains "ls" 'memory = "512"' "$ls_out"
xenstore-exists /vm/uuid/name || fail "exists: /vm/uuid/name not found"
if xenstore-exists /vm/uuid/nothing 2>/dev/null; then fail "exists: phantom node"; fi
xenstore-chmod /vm/uuid/name b0 r5 w7
expect_contains "ls -p shows the ACL" "(b0,r5,w7)" "$(xenstore-ls -p /vm/uuid)"
xenstore-chmod -r /vm n0 b3
expect_contains "chmod -r" "(n0,b3)" "$(xenstore-ls -p /vm/uuid)"
xenstore-rm /vm/uuid/memory
if xenstore-read /vm/uuid/memory 2>/dev/null; then fail "rm left the node"; fi
xenstore-rm /vm
expect_eq "rm is recursive" "" "$(xenstore-list / | grep -x vm || true)"

# A directory too big for one reply: the tools page with DIRECTORY_PART.
i=0
set --
while [ "$i" -lt 300 ]; do
    set -- "$@" "/big/child-with-a-rather-long-name-$i" x
    i=$((i + 1))
done
xenstore-write "$@"
expect_eq "big directory" 300 "$(xenstore-list /big | wc -l)"
expect_eq "big directory, last" child-with-a-rather-long-name-299 "$(xenstore-list /big | tail -n 1)"
xenstore-rm /big

# A watch sees its initial event, a write below it, and the removal.
watch_out="$TEST_TMP/watch.out"
timeout 20 xenstore-watch -n 3 /w >"$watch_out" &
watch_pid=$!
track_pid "$watch_pid"
wait_for 10 grep -qx /w "$watch_out" || fail "watch did not fire when set"
xenstore-write /w/a 1
xenstore-rm /w
wait "$watch_pid" || fail "xenstore-watch failed or timed out"
expect_eq "watch events" "/w
/w/a
/w" "$(cat "$watch_out")"

# --- shutdown -------------------------------------------------------------------
xenstore-write /kept "across a restart"
kill -TERM "$store_pid"
set +e
wait "$store_pid"
expect_eq "exit status after SIGTERM" 0 "$?"
set -e
[ ! -e "$sock" ] || fail "socket left behind after SIGTERM"

# --- daemon mode ----------------------------------------------------------------
"$store" --socket "$sock" --pid-file "$TEST_TMP/store.pid" 2>/dev/null
pid=$(cat "$TEST_TMP/store.pid")
track_pid "$pid"
[ -S "$sock" ] || fail "daemon mode: no socket once the parent returned"
expect_eq "daemon serves the state kept in \$STUBVISOR_RUNDIR/store.state" "across a restart" \
    "$(xenstore-read /kept)"
expect_eq "and nothing else" "kept" "$(xenstore-list /)"
kill -TERM "$pid"
wait_for 10 sh -c "! kill -0 $pid" || fail "daemon did not stop on SIGTERM"
[ ! -e "$TEST_TMP/store.pid" ] || fail "pid file left behind"
pass
