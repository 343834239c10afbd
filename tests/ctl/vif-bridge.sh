#!/bin/sh
# xl's standard vifs on a Linux bridge, in a network namespace of the
# test's own (a bridge xenbr0, and a veth pair whose one end is on the
# bridge and whose other end answers net-bench's frames):
#   1. vif = [ '' ]: a tap vif<domid>.0 made by the toolstack, on xenbr0,
#      up, with Xen's host-side MAC fe:ff:ff:ff:ff:ff and the backend nodes
#      libxl writes; the guest's frames cross the bridge and come back;
#      when the guest ends the tap and the nodes are gone;
#   2. script=: a user's hotplug script runs online and offline with Xen's
#      arguments and environment (and reads the store through
#      xenstore-read), and plugs the tap in itself;
#   3. a script that fails (Xen's `fatal`: hotplug-status error) fails the
#      create with its reason, and nothing is left;
#   4. a missing bridge, or an interface that is not a bridge, is refused
#      before anything exists; a bad vif spec names FILE:LINE.
. "$STUBVISOR_SRC/tests/lib-netns.sh"
in_private_netns "$0" "$@"
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm
need_cmd ip python3 xenstore-read xenstore-ls
[ -r /dev/net/tun ] || skip "no /dev/net/tun"

# A quiet network: no IPv6 chatter, and no IGMP from the bridge's
# multicast snooping (it joins 224.0.0.106), that net-bench would take for
# an answer.
echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null || true
echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null || true
ip link add xenbr0 type bridge mcast_snooping 0
ip link set xenbr0 up
ip link add veth0 type veth peer name veth1
ip link set veth0 master xenbr0
ip link set veth0 up
ip link set veth1 up
python3 "$STUBVISOR_SRC/tests/virtio/echo.py" packet "$TEST_TMP/echo.ready" veth1 &
track_pid $!
wait_for 30 test -f "$TEST_TMP/echo.ready" || fail "the frame echo did not start"

# net_guest NAME VIF-SPEC: a net-bench guest on one vif, output in a file.
net_guest() {
    write_cfg "$TEST_TMP/$1.cfg" "$1" net-bench.elf \
        "cmdline = \"count=50 size=300\"" \
        "vif = [ '$2' ]" \
        "serial = 'file:$TEST_TMP/$1.out'"
}

gone() { ! "$STUBCTL" list "$1" >/dev/null 2>&1; }

# 1. vif = [ '' ]
net_guest plain ""
timeout 60 "$STUBCTL" create -p "$TEST_TMP/plain.cfg" || fail "create plain"
d=$("$STUBCTL" domid plain)
tap="vif$d.0"
link=$(ip -o link show "$tap") || fail "no tap $tap: $(ip -o link)"
expect_contains "$tap on the bridge" "master xenbr0" "$link"
expect_contains "$tap is up" ",UP" "$link"
expect_contains "$tap's host-side MAC" "link/ether fe:ff:ff:ff:ff:ff" "$link"
be="/local/domain/0/backend/vif/$d/0"
expect_eq "backend bridge" xenbr0 "$(xenstore-read "$be/bridge")"
expect_eq "backend vifname" "$tap" "$(xenstore-read "$be/vifname")"
expect_eq "backend frontend-id" "$d" "$(xenstore-read "$be/frontend-id")"
mac=$(xenstore-read "$be/mac")
expect_contains "a generated MAC" "00:16:3e:" "$mac"
"$STUBCTL" unpause plain
wait_for 90 gone plain || fail "plain did not finish: $(cat "$TEST_TMP/plain.out")"
expect_contains "frames over the bridge" "50 frames of 300 bytes echoed" "$(cat "$TEST_TMP/plain.out")"
ip link show "$tap" >/dev/null 2>&1 && fail "$tap is still there after the guest ended"
nothing_left

# 2. script=: Xen's hotplug conventions.
cat >"$TEST_TMP/hook.sh" <<EOF
#!/bin/sh
be=\$(xenstore-read "\$XENBUS_PATH/bridge")
echo "\$1 \$2 vif=\$vif path=\$XENBUS_PATH type=\$XENBUS_TYPE base=\$XENBUS_BASE_PATH script=\$script bridge=\$be mac=\$(xenstore-read "\$XENBUS_PATH/mac")" >>"$TEST_TMP/hook.log"
case "\$1" in
online)
    ip link set "\$vif" master "\$be" && ip link set "\$vif" up &&
        xenstore-write "\$XENBUS_PATH/hotplug-status" connected ;;
offline)
    ip link set "\$vif" nomaster; ip link set "\$vif" down ;;
esac
EOF
chmod +x "$TEST_TMP/hook.sh"
net_guest hooked "bridge=xenbr0, script=$TEST_TMP/hook.sh, mac=00:16:3e:00:00:42, vifname=hooktap"
timeout 60 "$STUBCTL" create "$TEST_TMP/hooked.cfg" || fail "create hooked"
d=$("$STUBCTL" domid hooked 2>/dev/null || echo gone)
wait_for 90 gone hooked || fail "hooked did not finish: $(cat "$TEST_TMP/hooked.out")"
expect_contains "frames through the script's tap" "50 frames of 300 bytes echoed" \
    "$(cat "$TEST_TMP/hooked.out")"
log=$(cat "$TEST_TMP/hook.log")
expect_contains "online call" "online type_if=vif vif=hooktap path=backend/vif/" "$log"
expect_contains "environment" "type=vif base=backend script=$TEST_TMP/hook.sh bridge=xenbr0 mac=00:16:3e:00:00:42" "$log"
expect_contains "offline call" "offline type_if=vif vif=hooktap" "$log"
expect_eq "calls" "online offline" "$(cut -d' ' -f1 "$TEST_TMP/hook.log" | tr '\n' ' ' | sed 's/ $//')"
ip link show hooktap >/dev/null 2>&1 && fail "hooktap is still there"
nothing_left

# 3. A script that fails, saying why.
cat >"$TEST_TMP/fatal.sh" <<'EOF'
#!/bin/sh
[ "$1" = online ] || exit 0
xenstore-write "$XENBUS_PATH/hotplug-error" "no cable today" "$XENBUS_PATH/hotplug-status" error
exit 1
EOF
chmod +x "$TEST_TMP/fatal.sh"
net_guest fatal "script=$TEST_TMP/fatal.sh, vifname=fataltap"
out=$(timeout 60 "$STUBCTL" create "$TEST_TMP/fatal.cfg" 2>&1) && fail "a failing script did not fail the create"
expect_contains "the script's reason" "no cable today" "$out"
ip link show fataltap >/dev/null 2>&1 && fail "fataltap is still there"
nothing_left

# 4. Refused before anything exists: refused NAME VIF-SPEC EXPECTED.
refused() {
    net_guest "$1" "$2"
    out=$("$STUBCTL" create "$TEST_TMP/$1.cfg" 2>&1) && fail "created with '$2'"
    expect_contains "refused '$2'" "$3" "$out"
}
refused nobr "bridge=nobr0" "there is no bridge nobr0"
refused notbr "bridge=veth1" "veth1 is not a bridge"
refused model "model=e1000" "$TEST_TMP/model.cfg:5: vif: model \"e1000\" is not supported"
refused badscript "script=/nonexistent/vif-up" "script /nonexistent/vif-up"
nothing_left
pass
