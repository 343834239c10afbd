#!/bin/sh
# Every guest ELF carries Xen's PVH entry note (type 18) pointing at its
# 32-bit entry, inside a PT_NOTE segment, and is linked at 1 MiB.
. "$STUBVISOR_SRC/tests/lib.sh"
need_cmd readelf
[ -n "${STUBVISOR_GUESTS:-}" ] || skip "no guest directory in this build"

n=0
for elf in "$STUBVISOR_GUESTS"/*.elf; do
    [ -f "$elf" ] || fail "no guest ELFs in $STUBVISOR_GUESTS"
    notes=$(readelf -n "$elf")
    expect_contains "$elf notes" "Xen" "$notes"
    expect_contains "$elf notes" "(0x00000012)" "$notes"
    entry=$(readelf -h "$elf" | awk '/Entry point/ { print $4 }')
    desc=$(printf '%s\n' "$notes" | awk '/description data/ {
        printf "0x%s%s%s%s\n", $6, $5, $4, $3 }')
    expect_eq "$elf PVH entry" "$entry" "$(printf '0x%x' "$desc")"
    expect_contains "$elf program headers" "NOTE" "$(readelf -l "$elf")"
    first_load=$(readelf -l "$elf" | awk '$1 == "LOAD" { print $3; exit }')
    expect_eq "$elf load address" "0x0000000000100000" "$first_load"
    n=$((n + 1))
done
for g in hello echo pio-bench hostile counter; do
    [ -f "$STUBVISOR_GUESTS/$g.elf" ] || fail "$g.elf is missing"
done
echo "$n guest images carry the PVH note"
pass
