#!/bin/sh
# The stub domain seen from outside while its guest runs (echo.elf waiting
# for input): seccomp in filter mode, no_new_privs, no capabilities, its own
# network, mount and PID namespaces, and no /dev/kvm among its descriptors.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/vmm/lib-vmm.sh"
need_kvm
need_placement stubdom

echo_start --dm stubdom
dm=$(dm_pid_of "$real_vmm") || fail "no stubdm process"
status=$(cat "/proc/$dm/status")

field() { printf '%s\n' "$status" | awk -v k="$1:" '$1 == k {print $2}'; }
expect_eq "Seccomp" 2 "$(field Seccomp)"
expect_eq "NoNewPrivs" 1 "$(field NoNewPrivs)"
for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
    expect_eq "$cap" 0000000000000000 "$(field "$cap")"
done
for ns in net mnt pid; do
    [ "$(readlink "/proc/$dm/ns/$ns")" != "$(readlink "/proc/self/ns/$ns")" ] ||
        fail "stubdm shares the host's $ns namespace"
done
for fd in /proc/"$dm"/fd/*; do
    case "$(readlink "$fd")" in
    /dev/kvm | anon_inode:kvm*) fail "stubdm holds $(readlink "$fd") at $fd" ;;
    esac
done
expect_eq "process name" stubdm "$(cat "/proc/$dm/comm")"

echo_finish "the guest after the checks"
pass
