# Run the test in a network namespace of its own, so that what it does to
# the network (bridges, taps, veths) touches nothing else.  Source it first,
# before tests/lib.sh, and call:
#
#   . "$STUBVISOR_SRC/tests/lib-netns.sh"
#   in_private_netns "$0" "$@"
#
# The test starts again inside the namespace (STUBVISOR_IN_NETNS set); a
# host that cannot make one skips the test.
in_private_netns() {
    [ -z "${STUBVISOR_IN_NETNS:-}" ] || return 0
    if ! command -v unshare >/dev/null 2>&1 || ! unshare --net true 2>/dev/null; then
        echo "SKIP: $(basename "$1"): cannot make a network namespace here"
        exit 77
    fi
    STUBVISOR_IN_NETNS=1 exec unshare --net "$@"
}
