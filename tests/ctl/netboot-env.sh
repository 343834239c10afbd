#!/bin/sh
# The network boot environment on its own (tests/lib-netboot.sh): in the
# test's namespace dnsmasq hands out a lease and serves boot.ipxe over
# TFTP, as the iPXE tests need; checked from a second namespace with
# busybox's udhcpc and tftp.  Nothing leaves the namespaces, and nothing
# is left behind.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/lib-netboot.sh"
trap 'netboot_cleanup; cleanup' EXIT INT TERM
need_netboot
need_cmd busybox
netboot_start
netboot_selftest
expect_contains "a DHCP lease in dnsmasq's log" "DHCPACK" "$(cat "$TEST_TMP/dnsmasq.log")"
expect_contains "the TFTP transfer in dnsmasq's log" "sent $nb_root/boot.ipxe" "$(cat "$TEST_TMP/dnsmasq.log")"
pass
