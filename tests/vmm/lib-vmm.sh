# Helpers for the monitor's shell tests: source after tests/lib.sh.

# need_guest NAME: skip unless $STUBVISOR_GUESTS/NAME.elf exists; prints its path.
need_guest() {
    g="${STUBVISOR_GUESTS:-}/$1.elf"
    [ -n "${STUBVISOR_GUESTS:-}" ] && [ -f "$g" ] || skip "guest $1.elf is not built"
    echo "$g"
}

# need_placement P: the stubdom placement needs root (namespaces, cgroups).
need_placement() {
    if [ "$1" = stubdom ] && [ "$(id -u)" -ne 0 ]; then
        skip "the stub domain sandbox needs root"
    fi
}

# The device model that belongs to stubvmm process $1 (searched among all
# processes named stubdm whose ancestor chain contains $1).
dm_pid_of() {
    for p in $(pgrep -x stubdm 2>/dev/null); do
        q=$p
        while [ -n "$q" ] && [ "$q" -gt 1 ]; do
            q=$(awk '/^PPid:/ {print $2}' "/proc/$q/status" 2>/dev/null || true)
            if [ "$q" = "$1" ]; then
                echo "$p"
                return 0
            fi
        done
    done
    return 1
}

# echo_start ARGS...: stubvmm running echo.elf with ARGS, its input on fd 3
# (a fifo), its output in $TEST_TMP/out, its messages in $TEST_TMP/err.
# Returns once the guest has echoed; then $vmm_pid is timeout's pid and
# $real_vmm stubvmm's (timeout's child).
echo_start() {
    echo_elf=$(need_guest echo)
    mkfifo "$TEST_TMP/in"
    timeout 60 "$STUBVISOR_BIN/stubvmm" --kernel "$echo_elf" "$@" \
        <"$TEST_TMP/in" >"$TEST_TMP/out" 2>"$TEST_TMP/err" &
    vmm_pid=$!
    track_pid "$vmm_pid"
    exec 3>"$TEST_TMP/in" # keep the guest's input open: it waits for us
    printf 'x' >&3
    wait_for 20 grep -q x "$TEST_TMP/out" || fail "the guest never echoed: $(cat "$TEST_TMP/err")"
    real_vmm=$(pgrep -P "$vmm_pid" -x stubvmm) || fail "no stubvmm process"
}

# echo_finish WHAT: end echo_start's guest with 'q'; it must exit 0.
echo_finish() {
    printf 'q' >&3
    exec 3>&-
    set +e
    wait "$vmm_pid"
    rc=$?
    set -e
    expect_eq "$1: exit status" 0 "$rc"
}
