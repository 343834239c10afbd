#!/bin/sh
# stubvmm --managed alone: save counter.elf through the control socket,
# restore it with --restore-fd in a new stubvmm, and see the count carry on;
# bad files refused before anything starts.  Argument: the placement.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/vmm/lib-vmm.sh"
test_name="save-restore-$1"

need_kvm
need_cmd python3
need_placement "$1"
guest=$(need_guest counter)
python3 "$STUBVISOR_SRC/tests/vmm/save_restore.py" "$STUBVISOR_BIN/stubvmm" "$guest" "$1" "$TEST_TMP"
