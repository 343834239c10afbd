#!/bin/sh
# GRUB from a disk (firmware = "seabios", a virtio disk made by
# tests/make-grub-disk.sh, shared read-only by every test of the run):
# GRUB's menu on COM1; `cat` of a file through GRUB's FAT code over
# SeaBIOS's virtio-blk int 13h; GRUB's `lspci` listing our PCI functions
# with the ids the platform gives them; and GRUB's `linux` + `initrd`
# booting the bzImage test kernel at its 32-bit entry, whose verdict is OK.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm
[ -n "${STUBVISOR_GRUB_DISK:-}" ] ||
    skip "no GRUB disk in this build (needs grub-pc-bin, dosfstools, mtools: scripts/deps.sh)"
[ -f "$STUBVISOR_GRUB_DISK" ] || fail "$STUBVISOR_GRUB_DISK is missing"
[ -f /usr/share/seabios/bios.bin ] || skip "SeaBIOS (Debian package seabios) is not installed"

cat >"$TEST_TMP/g.cfg" <<CFG
name = "grub"
firmware = "seabios"
memory = 64
disk = [ '$STUBVISOR_GRUB_DISK,raw,xvda,ro' ]
CFG
# GRUB takes 15-30 s here; the guest ends itself through isa-debug-exit.
timeout 240 "$STUBCTL" create -c "$TEST_TMP/g.cfg" </dev/null >"$TEST_TMP/g.raw" 2>&1 ||
    fail "create -c: $(tail -c 3000 "$TEST_TMP/g.raw")"
# The menu is drawn with escape sequences: keep the text.
tr -d '\r' <"$TEST_TMP/g.raw" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' >"$TEST_TMP/g.out"
out=$(cat "$TEST_TMP/g.out")
echo "$out" | grep -v '^ *$' | head -n 60
expect_contains "the text file, through GRUB's cat" \
    "stubvisor grub-disk: a file read by GRUB through SeaBIOS int 13h" "$out"
lspci=$(sed -n '/grub-disk: lspci/,/grub-disk: end of lspci/p' "$TEST_TMP/g.out")
expect_contains "lspci: the i440FX host bridge" "00:00.0 8086:1237 [0600]" "$lspci"
expect_contains "lspci: the PIIX3 ISA bridge" "00:01.0 8086:7000 [0601]" "$lspci"
expect_contains "lspci: the virtio-blk disk" "1af4:1001 [0180]" "$lspci"
expect_contains "GRUB's menu" "GNU GRUB" "$out"
expect_contains "the menu entry" "bzguest with an initrd" "$out"
expect_contains "the entry booted" "grub-disk: loading bzguest" "$out"
expect_contains "the kernel at GRUB's linux entry" "bzguest: entered at the 32-bit entry" "$out"
expect_contains "the kernel's verdict" "bzguest: verdict OK" "$out"
pass
