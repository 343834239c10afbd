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
