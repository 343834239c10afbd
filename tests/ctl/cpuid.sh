#!/bin/sh
# The CPUID policy: cpuid.elf prints the leaves it sees; with
# cpuid = "host,A=0,B=0" (two features this host does give guests) both
# bits are gone and every other bit of their registers is as before.  The
# policy is saved with the guest (the save file's CPUID record has them
# cleared), and a restore of a file whose guest saw a feature this host
# cannot give (vmx: stubvisor keeps it from guests) is refused, naming it.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm
need_cmd python3

# Features to try, with where they live: NAME LEAF REGISTER BIT.  The
# first ones come first because the nested KVM of the development machines
# honours KVM_SET_CPUID2 for them (its CPUID answers most other bits from
# the host whatever the table says; QEMU's -cpu host,-popcnt shows the same
# there); a real host honours them all.
candidates="x2apic 1 ecx 21
lahfsahf 80000001 ecx 0
tsc-deadline 1 ecx 24
3dnowprefetch 80000001 ecx 8
popcnt 1 ecx 23
sse4_2 1 ecx 20
aes 1 ecx 25
rdtscp 80000001 edx 27"

# reg FILE LEAF REGISTER: the register's value (hex) in cpuid.elf's output.
reg() {
    tr -d '\r' <"$1" | sed -n "s/^cpuid 0*$2\.0: .*$3=\([0-9a-f]*\).*/\1/p"
}

boot() { # NAME [CONFIG LINES]: run cpuid.elf, output in $TEST_TMP/NAME.out
    n=$1
    shift
    write_cfg "$TEST_TMP/$n.cfg" "$n" cpuid.elf "$@"
    timeout 60 "$STUBCTL" create -c "$TEST_TMP/$n.cfg" </dev/null >"$TEST_TMP/$n.out" 2>&1 ||
        fail "create -c $n: $(tail -c 2000 "$TEST_TMP/$n.out")"
    grep -q "cpuid: done" "$TEST_TMP/$n.out" || fail "$n: cpuid.elf did not finish"
}

boot base
cat "$TEST_TMP/base.out"
picked=""
masks=""
echo "$candidates" | {
    while read -r name leaf r bit; do
        v=$(reg "$TEST_TMP/base.out" "$leaf" "$r")
        [ -n "$v" ] || continue
        if [ $(((0x$v >> bit) & 1)) -eq 1 ]; then
            echo "$name $leaf $r $bit"
        fi
    done >"$TEST_TMP/present"
}
[ "$(wc -l <"$TEST_TMP/present")" -ge 2 ] ||
    skip "this host gives guests fewer than two of: $(echo "$candidates" | cut -d' ' -f1 | tr '\n' ' ')"
set -- $(head -n 2 "$TEST_TMP/present" | tr '\n' ' ')
a=$1 a_leaf=$2 a_reg=$3 a_bit=$4 b=$5 b_leaf=$6 b_reg=$7 b_bit=$8
echo "masking $a and $b"

boot masked "cpuid = \"host,$a=0,$b=0\""
for f in "$a $a_leaf $a_reg $a_bit" "$b $b_leaf $b_reg $b_bit"; do
    set -- $f
    before=$(reg "$TEST_TMP/base.out" "$2" "$3")
    after=$(reg "$TEST_TMP/masked.out" "$2" "$3")
    [ $(((0x$after >> $4) & 1)) -eq 0 ] || fail "$1 is still set: $3=$after"
done
# Nothing else moved: the registers the two bits live in, less those bits.
python3 - "$TEST_TMP/base.out" "$TEST_TMP/masked.out" "$a_leaf:$a_reg:$a_bit" "$b_leaf:$b_reg:$b_bit" <<'PY' ||
import re, sys
def regs(path):
    out = {}
    for line in open(path, errors="replace"):
        m = re.match(r"cpuid ([0-9a-f]+)\.(\d): eax=(\w+) ebx=(\w+) ecx=(\w+) edx=(\w+)", line.strip())
        if m:
            out[(int(m[1], 16), int(m[2]))] = dict(zip(("eax", "ebx", "ecx", "edx"), (int(x, 16) for x in m.groups()[2:])))
    return out
base, masked = regs(sys.argv[1]), regs(sys.argv[2])
cleared = {}
for spec in sys.argv[3:]:
    leaf, r, bit = spec.split(":")
    cleared.setdefault((int(leaf, 16), r), 0)
    cleared[(int(leaf, 16), r)] |= 1 << int(bit)
for (leaf, r), mask in cleared.items():
    if base[(leaf, 0)][r] & ~mask != masked[(leaf, 0)][r] & ~mask:
        sys.exit("leaf %x %s: other bits changed: %08x -> %08x" % (leaf, r, base[(leaf, 0)][r], masked[(leaf, 0)][r]))
PY
    fail "masking two bits changed others"

# Saved with the guest, and checked at restore.
write_cfg "$TEST_TMP/s.cfg" sv counter.elf "cpuid = \"host,$a=0,$b=0\"" "memory = 16"
timeout 60 "$STUBCTL" create -p "$TEST_TMP/s.cfg" || fail "create counter"
console_log sv "$TEST_TMP/sv.out"
"$STUBCTL" unpause sv
wait_for 30 count_at_least "$TEST_TMP/sv.out" 1 || fail "no count"
timeout 60 "$STUBCTL" save sv "$TEST_TMP/sv.save" || fail "save"
python3 - "$TEST_TMP/sv.save" "$TEST_TMP/vmx.save" "$a_leaf:$a_reg:$a_bit" "$b_leaf:$b_reg:$b_bit" <<'PY' ||
import os, struct, sys
sys.path.insert(0, os.environ["STUBVISOR_SRC"] + "/tests")
from savefile_edit import VM, VM_HEAD_SIZE, sections, replace, records
data = bytearray(open(sys.argv[1], "rb").read())
off, n = sections(data)[VM]
vm = bytearray(data[off:off + n])
cpuid = next((o for tag, o, _ in records(vm, VM_HEAD_SIZE) if tag == 7), None)
if cpuid is None:
    sys.exit("no CPUID record in the save file")
count = struct.unpack_from("<I", vm, cpuid)[0]
regs = {"eax": 12, "ebx": 16, "ecx": 20, "edx": 24}
def entry(leaf):
    for i in range(count):
        e = cpuid + 8 + 40 * i
        if struct.unpack_from("<I", vm, e)[0] == leaf:
            return e
    sys.exit("leaf %x not in the CPUID record" % leaf)
for spec in sys.argv[3:]:
    leaf, r, bit = spec.split(":")
    v = struct.unpack_from("<I", vm, entry(int(leaf, 16)) + regs[r])[0]
    if v >> int(bit) & 1:
        sys.exit("the saved CPUID has %s" % spec)
e = entry(1) + regs["ecx"]
struct.pack_into("<I", vm, e, struct.unpack_from("<I", vm, e)[0] | 1 << 5)  # vmx
open(sys.argv[2], "wb").write(replace(data, VM, vm))
PY
    fail "the save file's CPUID record"
wait_for 30 sh -c "! \"$STUBCTL\" list | grep -Eq '^sv '" || fail "sv still listed after save"
set +e
timeout 60 "$STUBCTL" restore "$TEST_TMP/vmx.save" >"$TEST_TMP/r.out" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a restore of a guest that saw vmx succeeded"
expect_contains "restore refusal" "the guest saw CPU feature vmx, which this host cannot give it" \
    "$(cat "$TEST_TMP/r.out")"
timeout 60 "$STUBCTL" restore "$TEST_TMP/sv.save" || fail "restore of the good file"
wait_for 30 sh -c "\"$STUBCTL\" list | grep -Eq '^sv '" || fail "sv not back"
pass
