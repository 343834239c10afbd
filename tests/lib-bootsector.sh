# make_boot_disk IMG: the example's boot disk (examples/make-boot-disk.sh:
# a boot sector that prints "boot sector: hello" on COM1, writes 256 times
# "SV" to sector 1 through int 13h and exits 42 through isa-debug-exit, 43
# if the BIOS reported an error).  Used by the SeaBIOS tests.
make_boot_disk() {
    "$STUBVISOR_SRC/examples/make-boot-disk.sh" "$1"
}
