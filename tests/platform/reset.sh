#!/bin/sh
# Guest resets and firmware loading with tiny firmware images: reset.sh
# inline|process|stubdom.  Each image is 64 KiB whose reset vector (at
# 0xfffffff0, real mode) runs a few instructions:
#   i8042:  mov al,0xfe; out 0x64,al   -> reboot: exit status 103
#   port92: mov al,0x01; out 0x92,al   -> reboot: exit status 103
#   cf9:    mov dx,0xcf9; mov al,6; out dx,al -> reboot: exit status 103
#   exit:   mov al,0x2a; out 0xf4,al   -> power off with status 42
# and then halts.  They prove that the vCPU starts at the reset vector, the
# image is mapped at the top of 4 GiB, and each reset path ends stubvmm.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/vmm/lib-vmm.sh"
need_kvm
placement=$1
need_placement "$placement"

# make_rom FILE CODE: 65520 bytes of hlt, then CODE (printf escapes) and
# hlt padding to 16 bytes.
make_rom() {
    head -c 65520 /dev/zero | tr '\0' '\364' >"$1"
    printf "$2" >>"$1"
    pad=$((65536 - $(wc -c <"$1")))
    head -c "$pad" /dev/zero | tr '\0' '\364' >>"$1"
    expect_eq "size of $1" 65536 "$(wc -c <"$1")"
}

run_rom() {
    status=0
    timeout 60 "$STUBVISOR_BIN/stubvmm" --firmware "$1" --memory 16 --dm "$placement" \
        </dev/null >/dev/null 2>"$TEST_TMP/err" || status=$?
}

make_rom "$TEST_TMP/i8042.rom" '\260\376\346\144\364\353\375'
run_rom "$TEST_TMP/i8042.rom"
expect_eq "i8042 reset: exit status" 103 "$status"
expect_contains "i8042 reset: log" "guest reset through the keyboard controller" \
    "$(cat "$TEST_TMP/err")"

make_rom "$TEST_TMP/port92.rom" '\260\001\346\222\364\353\375'
run_rom "$TEST_TMP/port92.rom"
expect_eq "port 0x92 reset: exit status" 103 "$status"

make_rom "$TEST_TMP/cf9.rom" '\272\371\014\260\006\356\364\353\375'
run_rom "$TEST_TMP/cf9.rom"
expect_eq "port 0xcf9 reset: exit status" 103 "$status"

make_rom "$TEST_TMP/exit.rom" '\260\052\346\364\364\353\375'
run_rom "$TEST_TMP/exit.rom"
expect_eq "debug exit from firmware: exit status" 42 "$status"

# Bad images are usage errors.
head -c 1000 /dev/zero >"$TEST_TMP/small.rom"
run_rom "$TEST_TMP/small.rom"
expect_eq "odd-sized firmware" 100 "$status"
run_rom "$TEST_TMP/missing.rom"
expect_eq "missing firmware" 100 "$status"
pass
