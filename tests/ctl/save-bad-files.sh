#!/bin/sh
# stubctl restore refuses what is not a good save file, before anything is
# made: truncated (in the header, in MEMORY, without END), a flipped byte
# in CONFIG, VCPU and MEMORY, a foreign file, an empty one, a newer format
# version, bytes after END, a config that does not fit the saved guest.
# Each: a sentence that says what is wrong, exit 1, no domain, no process,
# no store node, no run directory.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm
need_cmd python3 xenstore-ls

# The override is part of the config the save file keeps.
write_cfg "$TEST_TMP/c.cfg" bad counter.elf
timeout 60 "$STUBCTL" create -p "$TEST_TMP/c.cfg" memory=16 || fail "create"
console_log bad "$TEST_TMP/c.out"
"$STUBCTL" unpause bad
wait_for 30 count_at_least "$TEST_TMP/c.out" 1 || fail "no count"
good="$TEST_TMP/good.save"
timeout 60 "$STUBCTL" save bad "$good" || fail "save"
nothing_left

# variant NAME: write $TEST_TMP/NAME.save, a damaged copy of the good one.
variant() {
    python3 - "$good" "$TEST_TMP/$1.save" "$1" <<'PY'
import os, struct, sys
sys.path.insert(0, os.environ["STUBVISOR_SRC"] + "/tests")
from savefile_edit import CONFIG, VCPU, MEMORY, DM, END, sections as find_sections, replace as replaced
data = bytearray(open(sys.argv[1], "rb").read())
kind = sys.argv[3]
sections = find_sections(data)
def replace(t, payload):
    """The section's payload replaced, with a good checksum."""
    global data
    data = replaced(data, t, payload)
def flip(t):
    o, n = sections[t]
    data[o + n // 2] ^= 0x40
if kind == "header":
    data = data[:20]
elif kind == "mid-memory":
    o, n = sections[MEMORY]
    data = data[:o + n // 2]
elif kind == "no-end":
    data = data[:sections[END][0] - 24]
elif kind == "flip-config":
    flip(CONFIG)
elif kind == "flip-vcpu":
    flip(VCPU)
elif kind == "flip-memory":
    flip(MEMORY)
elif kind == "newer":
    struct.pack_into("<I", data, 16, 7)
elif kind == "trailing":
    data += b"\0" * 100
elif kind == "dm-blob":
    o, n = sections[DM]
    replace(DM, bytes([data[o] ^ 0x40]) + bytes(data[o + 1:o + n]))
elif kind == "config-syntax":
    replace(CONFIG, b'name = "bad"\nmemory = lots\n')
elif kind == "config-memory":
    o, n = sections[CONFIG]
    replace(CONFIG, bytes(data[o:o + n]).replace(b"memory = 16", b"memory = 64"))
elif kind == "empty":
    data = b""
open(sys.argv[2], "wb").write(data)
PY
}

# refused NAME EXPECTED-TEXT [CFG]
refused() {
    out=$(timeout 30 "$STUBCTL" restore ${3:-} "$TEST_TMP/$1.save" 2>&1) && st=0 || st=$?
    expect_eq "$1: exit status" 1 "$st"
    expect_contains "$1: message" "$2" "$out"
    nothing_left
}

for v in header mid-memory no-end flip-config flip-vcpu flip-memory newer trailing empty \
    dm-blob config-syntax config-memory; do
    variant $v
done
refused header "truncated in the header"
refused mid-memory "truncated in section MEMORY"
refused no-end "END section is missing"
refused flip-config "section CONFIG: checksum mismatch"
refused flip-vcpu "section VCPU: checksum mismatch"
refused flip-memory "section MEMORY: checksum mismatch"
refused newer "version 7 is newer than this stubvisor (1)"
refused trailing "after the END section"
refused empty "not a stubvisor save file"
refused config-syntax "(the config in the save file)"
refused config-memory "memory = 64 MiB, but the saved guest has 16 MiB"
cp "$STUBVISOR_GUESTS/counter.elf" "$TEST_TMP/foreign.save"
refused foreign "not a stubvisor save file"
mkdir "$TEST_TMP/dir.save"
refused dir "not a regular file"
mkfifo "$TEST_TMP/fifo.save"
refused fifo "not a regular file"

# A config that does not describe the saved guest.
write_cfg "$TEST_TMP/big.cfg" bad counter.elf "memory = 32"
cp "$good" "$TEST_TMP/good2.save"
refused good2 "memory = 32 MiB, but the saved guest has 16 MiB" "$TEST_TMP/big.cfg"
write_cfg "$TEST_TMP/two.cfg" bad counter.elf "vcpus = 2"
sed -i 's/^memory = 32$/memory = 16/' "$TEST_TMP/two.cfg"
refused good2 "vcpus = 2, but the saved guest has 1" "$TEST_TMP/two.cfg"

# Usage errors.
st=0; "$STUBCTL" restore >/dev/null 2>&1 || st=$?
expect_eq "restore without a file" 100 "$st"
st=0; "$STUBCTL" restore -x "$good" >/dev/null 2>&1 || st=$?
expect_eq "restore -x" 100 "$st"
st=0; "$STUBCTL" restore "$TEST_TMP/c.cfg" "$good" extra >/dev/null 2>&1 || st=$?
expect_eq "restore with three arguments" 100 "$st"
nothing_left

# Damage only the device model sees (its blob, with a good checksum): the
# restore gets as far as the device model's continue, which answers error;
# the restore fails and everything it made is removed.
out=$(timeout 60 "$STUBCTL" restore "$TEST_TMP/dm-blob.save" 2>&1) && fail "dm-blob: restored: $out"
expect_contains "dm-blob: message" "the device model answered error instead of running" "$out"
nothing_left

# The good file itself restores (so the refusals above came from the damage).
timeout 60 "$STUBCTL" restore -p "$good" || fail "restoring the good file"
"$STUBCTL" list | grep -Eq '^bad +[0-9]+ +16 +1 +--p---' || fail "bad is not there, paused: $("$STUBCTL" list)"
timeout 30 "$STUBCTL" destroy bad || fail destroy
nothing_left
pass
