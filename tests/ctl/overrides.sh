#!/bin/sh
# Command-line overrides take part in every check, as with xl: a config
# without a kernel or firmware gets one from the command line, and an
# override replaces a value the check would refuse.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm

printf 'name = "ov"\n' >"$TEST_TMP/nokernel.cfg"
printf 'name = "ov"\nmemory = 8\n' >"$TEST_TMP/bare.cfg"
# Alone each is refused, and the message names the file.
out=$("$STUBCTL" create "$TEST_TMP/nokernel.cfg" 2>&1) && fail "created without a kernel"
expect_contains "no kernel" "$TEST_TMP/nokernel.cfg: kernel: no kernel or firmware" "$out"
out=$("$STUBCTL" create "$TEST_TMP/bare.cfg" "kernel=$STUBVISOR_GUESTS/counter.elf" 2>&1) &&
    fail "created with 8 MiB"
expect_contains "too little memory" "$TEST_TMP/bare.cfg:2: memory" "$out"

# The overrides supply the kernel and replace the memory.
timeout 60 "$STUBCTL" create -p "$TEST_TMP/bare.cfg" "kernel=$STUBVISOR_GUESTS/counter.elf" memory=32 \
    2>/dev/null || fail "create with kernel= and memory= on the command line"
"$STUBCTL" list ov | grep -Eq '^ov +[0-9]+ +32 +1 +--p---' || fail "ov: $("$STUBCTL" list)"
timeout 30 "$STUBCTL" destroy ov || fail "destroy ov"

# An override's own error names the command line.
out=$("$STUBCTL" create "$TEST_TMP/bare.cfg" "kernel=$STUBVISOR_GUESTS/counter.elf" memory=lots 2>&1) &&
    fail "created with memory=lots"
expect_contains "bad override" "command line" "$out"
expect_contains "bad override" "memory" "$out"

# firmware = "seabios" from the command line (SeaBIOS waits for a boot
# device that is not there: it runs).
if [ -r /usr/share/seabios/bios.bin ]; then
    timeout 60 "$STUBCTL" create "$TEST_TMP/bare.cfg" firmware=seabios memory=32 2>/dev/null ||
        fail "create with firmware=seabios on the command line"
    "$STUBCTL" list ov | grep -Eq '^ov +[0-9]+ +32 ' || fail "ov with SeaBIOS: $("$STUBCTL" list)"
    timeout 30 "$STUBCTL" destroy ov || fail "destroy ov (SeaBIOS)"
fi
nothing_left
pass
