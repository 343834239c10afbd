#!/bin/sh
# make-boot-disk.sh IMG: a 1 MiB raw disk that SeaBIOS boots.  Its boot
# sector (hand-assembled 16-bit real-mode code, loaded by the BIOS at
# 0:7c00 with DL = the boot drive) prints "boot sector: hello" on COM1,
# writes 256 times "SV" to sector 1 (LBA 1) through int 13h, then leaves
# through isa-debug-exit (port 0xf4): 42 if the BIOS reported success, 43
# if not, which the toolstack takes as a poweroff.
#
#   examples/make-boot-disk.sh examples/disk.img
#   stubctl create -c examples/seabios-disk.cfg
set -eu
[ $# -eq 1 ] || {
    echo "usage: make-boot-disk.sh IMG" >&2
    exit 100
}

# emit HEX...: the bytes, in order, on stdout.
emit() {
    for b in "$@"; do
        printf "\\$(printf %o "0x$b")"
    done
}

img=$1
truncate -s 1M "$img"
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
} >"$img.bin"
dd if="$img.bin" of="$img" conv=notrunc 2>/dev/null
printf '\125\252' | dd of="$img" bs=1 seek=510 conv=notrunc 2>/dev/null
rm -f "$img.bin"
