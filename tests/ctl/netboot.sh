#!/bin/sh
# Network boot, end to end: boot = "n" with one virtio-net vif whose tap
# is on the bridge of tests/lib-netboot.sh's namespace; SeaBIOS runs the
# NIC's iPXE ROM (the PCI expansion ROM BAR, fw_cfg "bootorder" from
# boot=), which gets a lease from dnsmasq there, loads boot.ipxe over TFTP
# (marker), fetches second.ipxe (its MD5 printed by iPXE, checked here)
# and chains it.  guest-netboot-qemu runs the same environment under QEMU.
#
# Until the device model gives the NIC its ROM and stubctl takes boot =
# "n", the config is refused or warned about and this test says SKIP.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
. "$STUBVISOR_SRC/tests/lib-netboot.sh"
trap 'netboot_cleanup; ctl_cleanup' EXIT INT TERM
need_kvm
need_netboot
[ -f /usr/share/seabios/bios.bin ] || skip "SeaBIOS (Debian package seabios) is not installed"

cat >"$TEST_TMP/n.cfg" <<CFG
name = "netboot"
firmware = "seabios"
memory = 64
boot = "n"
vif = [ 'mac=00:16:3e:77:00:10, backend=tap:$nb_tap' ]
CFG
# Does this stubvisor boot from the network yet?  The config says so.
netboot_start
set +e
netboot_run timeout 60 "$STUBCTL" create -p "$TEST_TMP/n.cfg" >"$TEST_TMP/create.out" 2>&1
rc=$?
set -e
if [ "$rc" -ne 0 ] || grep -q "boot: not supported" "$TEST_TMP/create.out"; then
    skip "needs the NIC option ROM (boot = \"n\": $(grep -m1 -e "boot" -e "rror" "$TEST_TMP/create.out" || head -n1 "$TEST_TMP/create.out"))"
fi
console_log netboot "$TEST_TMP/n.out"
"$STUBCTL" unpause netboot
wait_for 240 grep -q "netboot: second file ran" "$TEST_TMP/n.out" ||
    fail "iPXE did not run the second script: $(tail -c 3000 "$TEST_TMP/n.out")"
netboot_check "$TEST_TMP/n.out"
pass
