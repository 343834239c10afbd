#!/bin/sh
# SeaBIOS boots from a virtio-blk disk: seabios-boot.sh PLACEMENT.  The
# disk's boot sector prints a line on COM1, writes sector 1 through the
# BIOS (int 13h, AH=03h, which SeaBIOS turns into a virtio-blk write) and
# writes 42 to isa-debug-exit (port 0xf4), so stubvmm must exit 42 (43 if
# the BIOS reported an error), the line must be in the serial output and
# the pattern in the image; SeaBIOS must have found the disk through its
# own virtio driver (modern interface) on the way.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/vmm/lib-vmm.sh"
need_kvm
placement=${1:-stubdom}
need_placement "$placement"
[ -f /usr/share/seabios/bios.bin ] || skip "SeaBIOS (Debian package seabios) is not installed"

img="$TEST_TMP/boot.img"
log="$TEST_TMP/log"
truncate -s 1M "$img"

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
dd if="$TEST_TMP/boot.bin" of="$img" conv=notrunc 2>/dev/null
printf '\125\252' | dd of="$img" bs=1 seek=510 conv=notrunc 2>/dev/null

rc=0
timeout 200 "$STUBVISOR_BIN/stubvmm" --firmware seabios --memory 64 --dm "$placement" \
    --serial "file:$TEST_TMP/serial" --disk "$img" </dev/null 2>"$log" || rc=$?
if [ "$rc" != 42 ]; then
    cat "$log" >&2
    fail "expected exit status 42 from the boot sector, got $rc"
fi
content=$(cat "$log")
expect_contains "SeaBIOS found the disk" "found virtio-blk at 00:03.0" "$content"
expect_contains "modern interface" "using modern (1.0) virtio mode" "$content"
expect_contains "the boot sector's line on COM1" "boot sector: hello" "$(cat "$TEST_TMP/serial")"

# Sector 1 of the image must now hold the pattern, and sector 2 be untouched.
want=$(awk 'BEGIN { for (i = 0; i < 256; i++) printf "SV" }')
got=$(dd if="$img" bs=512 skip=1 count=1 2>/dev/null)
[ "$got" = "$want" ] || fail "sector 1 of the image does not hold the pattern written through int 13h"
got2=$(dd if="$img" bs=512 skip=2 count=1 2>/dev/null | tr -d '\000')
[ -z "$got2" ] || fail "sector 2 of the image changed"
pass
