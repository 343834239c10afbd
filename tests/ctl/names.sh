#!/bin/sh
# domid and domname resolve every domain `list` shows, as xl does: Domain-0
# (with or without a store), each guest and each stub domain <guest>-dm;
# an unknown name or id is refused with exit 1.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm

# No store yet: Domain-0 is still there.
expect_eq "domid Domain-0, no store" 0 "$("$STUBCTL" domid Domain-0)"
expect_eq "domname 0, no store" Domain-0 "$("$STUBCTL" domname 0)"
st=0; "$STUBCTL" domid nosuch >/dev/null 2>&1 || st=$?
expect_eq "domid of nothing, no store" 1 "$st"

write_cfg "$TEST_TMP/s.cfg" nm-stub echo.elf
write_cfg "$TEST_TMP/i.cfg" nm-inline echo.elf 'device_model_placement = "inline"'
timeout 60 "$STUBCTL" create "$TEST_TMP/s.cfg" 2>/dev/null || fail "create nm-stub"
timeout 60 "$STUBCTL" create "$TEST_TMP/i.cfg" 2>/dev/null || fail "create nm-inline"

# Every row of list, both ways.
rows=$("$STUBCTL" list | awk 'NR > 1 { print $1 " " $2 }')
expect_eq "rows" 4 "$(echo "$rows" | wc -l)"
echo "$rows" | while read -r name id; do
    expect_eq "domid $name" "$id" "$("$STUBCTL" domid "$name")"
    expect_eq "domname $id" "$name" "$("$STUBCTL" domname "$id")"
done
echo "$rows" | grep -q '^nm-stub-dm ' || fail "no stub domain row: $rows"

# What is not listed is refused, with the identifier named.
for bad in nosuch 999 nm-inline-dm -1; do
    st=0
    out=$("$STUBCTL" domid -- "$bad" 2>&1) || st=$?
    expect_eq "domid $bad" 1 "$st"
    expect_contains "domid $bad message" "$bad is an invalid domain identifier" "$out"
done
st=0; "$STUBCTL" domname 999 >/dev/null 2>&1 || st=$?
expect_eq "domname 999" 1 "$st"
pass
