# A network to boot from, inside a network namespace of the test's own:
# source after tests/lib.sh.  Nothing leaves the namespace.
#
#   netboot_start        make namespace $nb_ns with a bridge (10.77.0.1/24)
#                        and a tap device $nb_tap on it, and start Debian's
#                        dnsmasq there (dnsmasq-base) serving DHCP
#                        (10.77.0.100-150) and TFTP from $nb_root, which
#                        holds boot.ipxe (the boot file DHCP names) and
#                        second.ipxe; the end of the test removes it all
#   netboot_run CMD...   run CMD inside the namespace (where $nb_tap is:
#                        a VMM opens it there as the guest NIC's back end);
#                        in the background, use `ip netns exec "$nb_ns"`
#                        itself so that $! is the command's pid
#   netboot_selftest     prove the environment without a guest: from a
#                        second namespace on a veth pair to the bridge,
#                        busybox udhcpc gets a lease and busybox tftp
#                        fetches boot.ipxe intact
#   netboot_check FILE   fail unless FILE (the guest's COM1) shows the
#                        lease, the first script's marker, the second
#                        file's MD5 as iPXE computed it equal to ours, and
#                        the second script running
#
# boot.ipxe prints "netboot: script loaded from SERVER as IP", fetches
# second.ipxe, prints its MD5 (iPXE's `md5sum`: the test compares it with
# its own) and chains it; second.ipxe prints "netboot: second file ran".
# iPXE has no way to stop the machine everywhere, so the test stops the VMM
# once that line is there.  Install netboot_cleanup in the EXIT trap:
#   trap 'netboot_cleanup; cleanup' EXIT INT TERM

need_netboot() {
    need_cmd ip dnsmasq md5sum
    [ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
}

nb_ns="svnb$$"
nb_tap="svtap0"
nb_root="$TEST_TMP/tftp"
nb_dnsmasq_pid=""

netboot_cleanup() {
    st=$?
    # dnsmasq's own pid file: the one that counts whatever ran it.
    if [ -s "$TEST_TMP/dnsmasq.pid" ]; then
        kill "$(cat "$TEST_TMP/dnsmasq.pid")" 2>/dev/null || true
    fi
    if [ -n "$nb_dnsmasq_pid" ]; then
        kill "$nb_dnsmasq_pid" 2>/dev/null || true
    fi
    ip netns del "$nb_ns" 2>/dev/null || true
    ip netns del "${nb_ns}c" 2>/dev/null || true
    (exit $st)
}

netboot_start() {
    mkdir -p "$nb_root"
    cat >"$nb_root/second.ipxe" <<'IPXE'
#!ipxe
echo netboot: second file ran
IPXE
    cat >"$nb_root/boot.ipxe" <<'IPXE'
#!ipxe
echo netboot: script loaded from ${next-server} as ${ip}
imgfetch tftp://10.77.0.1/second.ipxe || goto failed
md5sum second.ipxe
chain second.ipxe || goto failed
exit
:failed
echo netboot: FAILED
IPXE
    ip netns add "$nb_ns" || fail "ip netns add $nb_ns"
    netboot_run ip link set lo up
    netboot_run ip link add svbr0 type bridge
    netboot_run ip tuntap add dev "$nb_tap" mode tap
    netboot_run ip link set "$nb_tap" master svbr0
    netboot_run ip addr add 10.77.0.1/24 dev svbr0
    netboot_run ip link set svbr0 up
    netboot_run ip link set "$nb_tap" up
    ip netns exec "$nb_ns" dnsmasq --keep-in-foreground --conf-file=/dev/null \
        --interface=svbr0 --bind-interfaces --except-interface=lo \
        --pid-file="$TEST_TMP/dnsmasq.pid" --leasefile-ro \
        --dhcp-range=10.77.0.100,10.77.0.150,255.255.255.0,1h \
        --dhcp-match=set:ipxe,175 --dhcp-boot=tag:ipxe,boot.ipxe \
        --dhcp-boot=tag:!ipxe,boot.ipxe \
        --enable-tftp --tftp-root="$nb_root" --log-dhcp \
        --log-facility="$TEST_TMP/dnsmasq.log" --user=root --group=root &
    nb_dnsmasq_pid=$!
    track_pid "$nb_dnsmasq_pid"
    wait_for 10 grep -q "TFTP root is" "$TEST_TMP/dnsmasq.log" ||
        fail "dnsmasq did not start: $(cat "$TEST_TMP/dnsmasq.log" 2>/dev/null)"
}

netboot_run() {
    ip netns exec "$nb_ns" "$@"
}

netboot_selftest() {
    need_cmd busybox
    ip netns add "${nb_ns}c" || fail "ip netns add ${nb_ns}c"
    netboot_run ip link add svveth0 type veth peer name svveth1 netns "${nb_ns}c"
    netboot_run ip link set svveth0 master svbr0
    netboot_run ip link set svveth0 up
    ip netns exec "${nb_ns}c" ip link set svveth1 up
    ip netns exec "${nb_ns}c" busybox udhcpc -i svveth1 -n -q -f -t 10 -s /bin/true \
        >"$TEST_TMP/udhcpc.out" 2>&1 || fail "no DHCP lease: $(cat "$TEST_TMP/udhcpc.out")"
    expect_contains "the self-test's lease" "obtained" "$(cat "$TEST_TMP/udhcpc.out")"
    ip netns exec "${nb_ns}c" ip addr add 10.77.0.50/24 dev svveth1
    ip netns exec "${nb_ns}c" busybox tftp -g -r boot.ipxe -l "$TEST_TMP/tftp-got" 10.77.0.1 ||
        fail "TFTP from the namespace failed: $(tail -n 5 "$TEST_TMP/dnsmasq.log")"
    cmp -s "$TEST_TMP/tftp-got" "$nb_root/boot.ipxe" || fail "TFTP gave another boot.ipxe"
    ip netns del "${nb_ns}c"
}

netboot_check() {
    out=$(tr -d '\r' <"$1" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g')
    expect_contains "a DHCP lease" "DHCPACK" "$(cat "$TEST_TMP/dnsmasq.log")"
    expect_contains "the first script's marker" "netboot: script loaded from 10.77.0.1" "$out"
    want=$(md5sum "$nb_root/second.ipxe" | cut -d' ' -f1)
    expect_contains "the second file's MD5, as iPXE computed it" "$want  second.ipxe" "$out"
    expect_contains "the second script" "netboot: second file ran" "$out"
}
