#!/bin/sh
# The xl commands users reach for on day one, on a stub-domain guest with
# two vCPUs that counts (busy) and an inline guest:
#   info       the host's facts and the store's
#   uptime     every domain, the stub domain with its guest
#   vcpu-list  a row per vCPU with its host CPU, state and time, and one
#              for the device model process
#   list -n/-v where each device model runs; UUIDs
#   top -b     frames with every domain's CPU and memory, the guest and
#              its stub domain side by side, the busy guest's CPU(%) > 0
#   rename     store, stub domain, kept config; a restart keeps the name;
#              a taken or bad name is refused and changes nothing
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm
need_cmd xenstore-read

write_cfg "$TEST_TMP/busy.cfg" busy counter.elf "vcpus = 2" 'on_reboot = "restart"'
write_cfg "$TEST_TMP/inl.cfg" inl echo.elf 'device_model_placement = "inline"'
timeout 60 "$STUBCTL" create "$TEST_TMP/busy.cfg" 2>/dev/null || fail "create busy"
timeout 60 "$STUBCTL" create "$TEST_TMP/inl.cfg" 2>/dev/null || fail "create inl"
b=$("$STUBCTL" domid busy)
bdm=$("$STUBCTL" domid busy-dm)

# info
info=$("$STUBCTL" info)
field() { echo "$info" | sed -n "s/^$1 *: //p"; }
expect_eq "info nr_cpus" "$(nproc)" "$(field nr_cpus)"
expect_eq "info kvm_api_version" 12 "$(field kvm_api_version)"
expect_eq "info release" "$(uname -r)" "$(field release)"
expect_eq "info stubvisor_version" "$("$STUBCTL" --version | sed 's/.* //')" "$(field stubvisor_version)"
expect_eq "info store_path" "$STUBVISOR_RUNDIR/store.sock" "$(field store_path)"
expect_contains "info store" "running (pid " "$(field store)"
expect_eq "info nr_guests" 2 "$(field nr_guests)"
[ "$(field total_memory)" -gt 0 ] && [ "$(field free_memory)" -gt 0 ] || fail "info memory: $info"

# uptime
up=$("$STUBCTL" uptime)
echo "$up" | grep -Eq "^Domain-0 +0 +([0-9]+ days?, )? ?[0-9]+:[0-9]{2}:[0-9]{2}$" || fail "uptime Domain-0: $up"
echo "$up" | grep -Eq "^busy +$b +0:[0-9]{2}:[0-9]{2}$" || fail "uptime busy: $up"
echo "$up" | grep -Eq "^busy-dm +$bdm +0:[0-9]{2}:[0-9]{2}$" || fail "uptime busy-dm: $up"
expect_contains "uptime -s" "up " "$("$STUBCTL" uptime -s busy)"

# vcpu-list: two vCPU rows for busy (running, counting), one for its DM.
vl=$("$STUBCTL" vcpu-list busy busy-dm)
echo "$vl"
expect_eq "vcpu rows of busy" 2 "$(echo "$vl" | grep -Ec "^busy +$b +[01] +[0-9]+ +(r--|-b-) ")"
echo "$vl" | grep -Eq "^busy-dm +$bdm +- +[0-9]+ +(r--|-b-) " || fail "no device model row: $vl"
"$STUBCTL" pause busy
expect_eq "paused vcpus" 2 "$("$STUBCTL" vcpu-list busy | grep -Ec "^busy +$b +[01] +[0-9]+ +--p ")"
"$STUBCTL" unpause busy
expect_eq "inline: no device model row" 1 "$("$STUBCTL" vcpu-list inl | grep -c '^inl ')"

# list -n and -v
ln=$("$STUBCTL" list -n)
echo "$ln" | grep -Eq "^busy +$b .* stubdom *$" || fail "list -n busy: $ln"
echo "$ln" | grep -Eq "^busy-dm +$bdm .* stubdom *$" || fail "list -n busy-dm: $ln"
echo "$ln" | grep -Eq "^inl .* inline *$" || fail "list -n inl: $ln"
uuid=$(xenstore-read "$(xenstore-read /local/domain/$b/vm)/uuid")
"$STUBCTL" list -v busy | grep -Eq "^busy +$b .* $uuid " || fail "list -v: $("$STUBCTL" list -v)"

# top: two frames; every domain; busy's CPU(%) in the second.
top=$(timeout 60 "$STUBCTL" top -b -i 2 -d 1)
echo "$top"
expect_eq "frames" 2 "$(echo "$top" | grep -c '^stubctl top - ')"
for n in Domain-0 busy busy-dm inl; do
    expect_eq "rows of $n" 2 "$(echo "$top" | awk -v n="$n" '$1 == n' | wc -l)"
done
# The stub domain comes right after its guest.
echo "$top" | awk '$1 == "busy" { getline; print $1 }' | grep -qx busy-dm || fail "busy-dm is not next to busy"
pct=$(echo "$top" | awk '$1 == "busy" { p = $4 } END { print p }')
awk -v p="$pct" 'BEGIN { exit !(p > 0) }' || fail "busy's CPU(%) in the second frame: $pct"
mem=$(echo "$top" | awk '$1 == "busy" { print $7; exit }')
expect_eq "busy's MAXMEM(k)" 32768 "$mem"

# rename
"$STUBCTL" rename busy busier || fail "rename"
expect_eq "renamed domid" "$b" "$("$STUBCTL" domid busier)"
expect_eq "renamed stub domain" busier-dm "$("$STUBCTL" domname "$bdm")"
expect_eq "renamed /vm name" busier "$(xenstore-read "$(xenstore-read /local/domain/$b/vm)/name")"
grep -q '^name = "busier"$' "$STUBVISOR_RUNDIR/dom$b/config" || fail "kept config not renamed"
st=0; out=$("$STUBCTL" rename busier inl 2>&1) || st=$?
expect_eq "rename to a taken name" 1 "$st"
expect_contains "rename to a taken name" "a domain called inl exists" "$out"
for badname in "x-dm" "123" "Domain-0" "a b" 'x;memory=1'; do
    "$STUBCTL" rename busier "$badname" >/dev/null 2>&1 && fail "renamed to '$badname'"
done
expect_eq "name after refusals" busier "$("$STUBCTL" domname "$b")"
# A restart (on_reboot = restart) keeps the new name.
"$STUBCTL" reboot busier || fail reboot
wait_for 30 sh -c "\"$STUBCTL\" list busier | grep -q r-----" || fail "busier did not come back: $("$STUBCTL" list)"
"$STUBCTL" list busy >/dev/null 2>&1 && fail "the old name came back with the restart"
pass
