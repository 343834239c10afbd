#!/bin/sh
# Every device kind a config can give, in every placement: two disks (the
# second read-only), a NIC, the virtio console and the RNG, through
# stubctl.  For each placement:
#   - dm-argv in the store lists each of them, in the config's order, and
#     nothing else describes them (stubvmm gets only their descriptors);
#   - the guest (pci-list.elf) sees one PCI function per -device word, in
#     the words' order from slot 3, with the type's IDs;
# and the three placements' guests see exactly the same functions.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm
need_cmd xenstore-ls xenstore-read xenstore-list python3

truncate -s 1M "$TEST_TMP/a.img" "$TEST_TMP/b.img"
python3 "$STUBVISOR_SRC/tests/virtio/echo.py" unix "$TEST_TMP/echo.ready" "$TEST_TMP/lan.sock" &
track_pid $!
wait_for 10 test -f "$TEST_TMP/echo.ready" || fail "the frame echo did not start"

# The PCI IDs a -device word's function has (transitional virtio ids).
ids_of() {
    case $1 in
    virtio-blk*) echo 1af4:1001 ;;
    virtio-net*) echo 1af4:1000 ;;
    virtio-console*) echo 1af4:1003 ;;
    virtio-rng*) echo 1af4:1005 ;;
    *) fail "a -device word the test does not know: $1" ;;
    esac
}

for p in stubdom process inline; do
    [ "$p" = stubdom ] && [ "$(id -u)" -ne 0 ] && continue
    n=k$p
    write_cfg "$TEST_TMP/$n.cfg" "$n" pci-list.elf \
        "disk = [ '$TEST_TMP/a.img,raw,xvda,rw', '$TEST_TMP/b.img,raw,xvdb,ro' ]" \
        "vif = [ 'mac=00:16:3e:00:00:0a, backend=socket:$TEST_TMP/lan.sock' ]" \
        'virtio_console = 1' 'virtio_rng = 1' 'on_poweroff = "preserve"' \
        "device_model_placement = \"$p\""
    timeout 60 "$STUBCTL" create -p "$TEST_TMP/$n.cfg" || fail "create $n: $(cat "$TEST_TMP"/log/*.log)"
    d=$("$STUBCTL" domid "$n")
    vm=$(xenstore-read "/local/domain/$d/vm")
    # The words, one a line, in order.
    : >"$TEST_TMP/$p.words"
    for i in $(xenstore-list "$vm/image/dm-argv" | sort); do
        xenstore-read "$vm/image/dm-argv/$i" >>"$TEST_TMP/$p.words"
    done
    devices=$(awk 'prev == "-device" { print } { prev = $0 }' "$TEST_TMP/$p.words")
    expect_eq "$p: the -device words" "virtio-blk,readonly=off
virtio-blk,readonly=on
virtio-net,mac=00:16:3e:00:00:0a
virtio-console
virtio-rng" "$devices"
    head -n1 "$TEST_TMP/$p.words" | grep -qx stubdm || fail "$p: dm-argv does not start with stubdm"
    # stubvmm was told the descriptors, not the devices.
    vmm=$(vmm_pid_of "$d")
    args=$(tr '\0' ' ' <"/proc/$vmm/cmdline")
    case $p in
    inline) expect_contains "$p: stubvmm's words" "-- stubdm " "$args" ;;
    *) case $args in *-device*) fail "$p: stubvmm got device words: $args" ;; esac ;;
    esac
    case $args in *--rng* | *--mac*) fail "$p: stubvmm got a device option: $args" ;; esac

    console_log "$n" "$TEST_TMP/$p.out"
    "$STUBCTL" unpause "$n" || fail "unpause $n"
    wait_for 60 grep -q "pci-list: .* functions" "$TEST_TMP/$p.out" ||
        fail "$p: no PCI listing: $(cat "$TEST_TMP/$p.out")"
    tr -d '\r' <"$TEST_TMP/$p.out" | grep -E '^pci 00:[0-9a-f]{2}\.[0-7] [0-9a-f]{4}:' >"$TEST_TMP/$p.pci"
    # One function per -device word, in order, from slot 3.
    slot=3
    for w in $devices; do # no word has a space
        want="pci 00:$(printf %02x "$slot").0 $(ids_of "$w") "
        grep -q "^$want" "$TEST_TMP/$p.pci" || fail "$p: $w is not at slot $slot: $(cat "$TEST_TMP/$p.pci")"
        slot=$((slot + 1))
    done
    timeout 30 "$STUBCTL" destroy "$n" || fail "destroy $n"
done

# The same topology in every placement.
for p in process inline; do
    [ -f "$TEST_TMP/stubdom.pci" ] || break
    cmp -s "$TEST_TMP/stubdom.pci" "$TEST_TMP/$p.pci" ||
        fail "stubdom and $p differ: $(diff "$TEST_TMP/stubdom.pci" "$TEST_TMP/$p.pci")"
done
cmp -s "$TEST_TMP/process.pci" "$TEST_TMP/inline.pci" ||
    fail "process and inline differ: $(diff "$TEST_TMP/process.pci" "$TEST_TMP/inline.pci")"
expect_eq "functions" 7 "$(wc -l <"$TEST_TMP/inline.pci")"
pass
