#!/bin/sh
# echo.elf sends back every byte it receives on COM1 and exits 0 after 'q'.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/guests/qemu.sh"
need_qemu
elf=$(guest_elf echo)

qemu_stdin="$TEST_TMP/in"
printf 'hello, echo 0123456789\nsecond line q' >"$qemu_stdin"
qemu_boot "$elf" "" 30
expect_eq "guest exit status" 0 "$guest_status"
expect_eq "echoed bytes" "$(cat "$qemu_stdin")" "$(cat "$qemu_out")"
pass
