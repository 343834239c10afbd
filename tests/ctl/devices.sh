#!/bin/sh
# Disks, NICs and firmware from a config, end to end: devices.sh.
#   1. pci-list with two disks (the second read-only) and a vif on a Unix
#      socket, in a stub domain: the guest sees both virtio-blk functions
#      and the NIC; dm-argv describes them (read-only and the MAC included).
#   2. a vif without a mac gets a random 00:16:3e:xx:xx:xx;
#   3. firmware = "seabios" with a boot-sector disk: the sector's line on
#      the console.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm
need_cmd xenstore-ls python3

truncate -s 1M "$TEST_TMP/a.img" "$TEST_TMP/b.img"
python3 "$STUBVISOR_SRC/tests/virtio/echo.py" unix "$TEST_TMP/echo.ready" "$TEST_TMP/lan.sock" &
track_pid $!
wait_for 10 test -f "$TEST_TMP/echo.ready" || fail "the frame echo did not start"

write_cfg "$TEST_TMP/pci.cfg" tpci pci-list.elf \
    "disk = [ '$TEST_TMP/a.img,raw,xvda,rw', '$TEST_TMP/b.img,raw,xvdb,ro' ]" \
    "vif = [ 'mac=00:16:3e:12:34:56, backend=socket:$TEST_TMP/lan.sock' ]" \
    "on_poweroff = 'preserve'"
# -p: created paused, so that the store can be read before the guest ends.
timeout 60 "$STUBCTL" create -p "$TEST_TMP/pci.cfg" || fail "create pci-list: $(cat "$TEST_TMP"/log/*.log)"
xenstore-ls >"$TEST_TMP/ls.txt"
xs_has() { grep -Eq -- "$1" "$TEST_TMP/ls.txt" || fail "store: no line matching $1: $(cat "$TEST_TMP/ls.txt")"; }
xs_has '^    009 = "-drive"'
xs_has '^    010 = "if=virtio,format=raw,readonly=off"'
xs_has '^    012 = "if=virtio,format=raw,readonly=on"'
xs_has '^    013 = "-nic"'
xs_has '^    014 = "virtio,mac=00:16:3e:12:34:56"'
console_start tpci
"$STUBCTL" unpause tpci || fail "unpause"
wait_for 60 console_has tpci "pci-list: .* functions" || fail "no PCI listing: $(cat "$TEST_TMP/console-tpci.out")"
out=$(tr -d '\r' <"$TEST_TMP/console-tpci.out")
for slot in 03 04; do
    expect_contains "virtio-blk at $slot" "pci 00:$slot.0 1af4:1001 class 018000" "$out"
done
expect_contains "virtio-net" "pci 00:05.0 1af4:1000 class 020000" "$out"
exec 3>&-
timeout 30 "$STUBCTL" destroy tpci || fail "destroy tpci"

# A vif without a mac gets 00:16:3e:xx:xx:xx.
write_cfg "$TEST_TMP/mac.cfg" tmac pci-list.elf "vif = [ 'backend=socket:$TEST_TMP/lan.sock' ]"
timeout 60 "$STUBCTL" create -p "$TEST_TMP/mac.cfg" || fail "create tmac"
xenstore-ls | grep -Eq '^    010 = "virtio,mac=00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}"' ||
    fail "no generated MAC in dm-argv: $(xenstore-ls)"
timeout 30 "$STUBCTL" destroy tmac || fail "destroy tmac"

# SeaBIOS from a boot-sector disk (the one of tests/virtio/seabios-boot.sh:
# it prints a line, writes sector 1 through int 13h and exits 42 through
# port 0xf4, a poweroff for the toolstack).
if [ -f /usr/share/seabios/bios.bin ]; then
    truncate -s 1M "$TEST_TMP/boot.img"
    # emit HEX...: the bytes, in order, on stdout.
    emit() {
        for b in "$@"; do
            printf "\\$(printf %o "0x$b")"
        done
    }

    # The boot sector (16-bit real mode, loaded at 0:7c00, DL = boot drive).
    {
        emit 31 c0            # 7c00 xor ax, ax
        emit 8e d8            # 7c02 mov ds, ax
        emit 8e c0            # 7c04 mov es, ax
        emit 8e d0            # 7c06 mov ss, ax
        emit bc 00 7c         # 7c08 mov sp, 0x7c00
        emit 52               # 7c0b push dx            ; the boot drive
        emit be 4a 7c         # 7c0c mov si, msg
        # print:
        emit ac               # 7c0f lodsb
        emit 84 c0            # 7c10 test al, al
        emit 74 12            # 7c12 jz done
        emit 88 c4            # 7c14 mov ah, al
        emit ba fd 03         # 7c16 mov dx, 0x3fd       ; COM1 line status
        # wait:
        emit ec               # 7c19 in al, dx
        emit a8 20            # 7c1a test al, 0x20       ; transmitter empty?
        emit 74 fb            # 7c1c jz wait
        emit 88 e0            # 7c1e mov al, ah
        emit ba f8 03         # 7c20 mov dx, 0x3f8       ; COM1 data
        emit ee               # 7c23 out dx, al
        emit eb e9            # 7c24 jmp print
        # done: fill 0:8000 with 256 times "SV"
        emit bf 00 80         # 7c26 mov di, 0x8000
        emit b9 00 01         # 7c29 mov cx, 256
        emit b8 53 56         # 7c2c mov ax, 0x5653      ; 'S', 'V'
        emit f3 ab            # 7c2f rep stosw
        emit 5a               # 7c31 pop dx              ; DL = boot drive
        emit bb 00 80         # 7c32 mov bx, 0x8000      ; ES:BX = buffer
        emit b8 01 03         # 7c35 mov ax, 0x0301      ; write, 1 sector
        emit b9 02 00         # 7c38 mov cx, 0x0002      ; cylinder 0, sector 2 (= LBA 1)
        emit b6 00            # 7c3b mov dh, 0           ; head 0
        emit cd 13            # 7c3d int 0x13
        emit 72 04            # 7c3f jc fail
        emit b0 2a            # 7c41 mov al, 42
        emit e6 f4            # 7c43 out 0xf4, al
        # fail:
        emit b0 2b            # 7c45 mov al, 43
        emit e6 f4            # 7c47 out 0xf4, al
        emit f4               # 7c49 hlt
        # msg (7c4a):
        printf 'boot sector: hello\r\n'
        emit 00
    } >"$TEST_TMP/boot.bin"
    dd if="$TEST_TMP/boot.bin" of="$TEST_TMP/boot.img" conv=notrunc 2>/dev/null
    printf '\125\252' | dd of="$TEST_TMP/boot.img" bs=1 seek=510 conv=notrunc 2>/dev/null
    {
        echo 'name = "tbios"'
        echo 'firmware = "seabios"'
        echo 'memory = 64'
        echo "disk = [ '$TEST_TMP/boot.img,raw,xvda,rw' ]"
    } >"$TEST_TMP/bios.cfg"
    timeout 100 "$STUBCTL" create -c "$TEST_TMP/bios.cfg" </dev/null >"$TEST_TMP/bios.out" 2>&1 ||
        fail "create -c seabios: $(tail -c 2000 "$TEST_TMP/bios.out")"
    expect_contains "the boot sector's line" "boot sector: hello" "$(cat "$TEST_TMP/bios.out")"
fi
pass
