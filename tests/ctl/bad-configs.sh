#!/bin/sh
# Bad configs through `stubctl create`: each is refused with exit status 100
# and a message naming the file, the line and the key, and nothing is
# created: no domain in the store, no process.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"

# A store, so that "nothing in it" means something.
"$STUBVISOR_BIN/stubstored" --socket "$STUBVISOR_RUNDIR/store.sock" \
    --pid-file "$STUBVISOR_RUNDIR/store.pid" || fail "cannot start the store"

k="kernel = \"$STUBVISOR_GUESTS/echo.elf\""
n=0
# bad EXPECTED-LOCATION CONFIG-TEXT [OVERRIDES...]
bad() {
    n=$((n + 1))
    want=$1 text=$2
    shift 2
    f="$TEST_TMP/bad$n.cfg"
    printf '%s\n' "$text" >"$f"
    set +e
    out=$("$STUBCTL" create "$f" "$@" 2>&1)
    st=$?
    set -e
    expect_eq "config $n exit status ($out)" 100 "$st"
    case "$want" in
    cmdline:*) expect_contains "config $n message" "${want#cmdline:}" "$out" ;;
    *) expect_contains "config $n message" "$f:$want" "$out" ;;
    esac
}

bad "3: memory" "name = \"b\"
$k
memory = \"lots\""
bad "2: vcpus" "name = \"b\"
vcpus = 0
$k"
bad "1: name" "name = \"bad name!\"
$k"
bad "3: on_crash" "name = \"b\"
$k
on_crash = \"explode\""
bad "3: device_model_placement" "name = \"b\"
$k
device_model_placement = \"cloud\""
bad "2: " "name = \"b\"
memory = = 3
$k"
bad "3: serial" "name = \"b\"
$k
serial = \"telnet:1\""
bad "3: disk" "name = \"b\"
$k
disk = [ 'format=qcow9, vdev=xvda, target=/dev/null' ]"
bad "3: vif" "name = \"b\"
$k
vif = [ 'mac=zz:00:00:00:00:00' ]"
bad " vif 0: backend=none is not supported" "name = \"b\"
$k
vif = [ 'mac=00:16:3e:00:00:01, backend=none' ]"
bad "2: uuid" "name = \"b\"
uuid = \"not-a-uuid\"
$k"
bad "3: memory" "name = \"b\"
$k
memory = 1"
bad "cmdline:command line: memory" "name = \"b\"
$k" "memory=abc"

[ "$n" -ge 10 ] || fail "only $n bad configs"
if command -v xenstore-ls >/dev/null 2>&1; then
    # Absent or empty, both mean no domain.
    expect_eq "domains in the store" "" "$(xenstore-ls /local/domain 2>/dev/null || true)"
    expect_eq "vm nodes in the store" "" "$(xenstore-ls /vm 2>/dev/null || true)"
fi
pgrep -f -- "--dir $STUBVISOR_RUNDIR/" >/dev/null && fail "a stubvmm was started"
left=$(ls -A "$STUBVISOR_RUNDIR" | grep -v '^store\.' || true)
expect_eq "rundir" "" "$left"
pass
