#!/bin/sh
# The command line as xl users know it:
#   - every program answers --version with meson's project version;
#   - `stubctl CMD -h`, `CMD --help` and `stubctl help CMD` print CMD's
#     usage on stdout and exit 0, for every command;
#   - an unknown option is named (exit 100), a missing option value too;
#   - a command may be shortened while unambiguous (xl's rule);
#   - create says "Parsing config from FILE", as xl does;
#   - with no store running, list shows Domain-0 alone and exits 0, and
#     info, uptime and vcpu-list work (xl always lists).
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"

version=$(sed -n "s/^ *version: '\([^']*\)',$/\1/p" "$STUBVISOR_SRC/meson.build" | head -n1)
[ -n "$version" ] || fail "no project version in meson.build"
for p in stubctl stubvmm stubdm stubstored; do
    expect_eq "$p --version" "$p (stubvisor) $version" "$("$STUBVISOR_BIN/$p" --version)"
done

commands=$("$STUBCTL" help | awk '/^ [a-z]/ { print $1 }')
[ "$(echo "$commands" | wc -l)" -ge 20 ] || fail "too few commands in help: $commands"
for c in $commands; do
    for form in "$c -h" "$c --help" "help $c"; do
        st=0
        # shellcheck disable=SC2086 # the form is words on purpose
        out=$("$STUBCTL" $form 2>"$TEST_TMP/err") || st=$?
        expect_eq "stubctl $form: exit" 0 "$st"
        expect_contains "stubctl $form: usage" "Usage: stubctl $c" "$out"
        expect_eq "stubctl $form: stderr" "" "$(cat "$TEST_TMP/err")"
    done
done

# bad CMD... EXPECTED: exit 100, EXPECTED on stderr, then the usage.
bad() {
    expected=$1
    shift
    st=0
    out=$("$STUBCTL" "$@" 2>&1 >/dev/null) || st=$?
    expect_eq "stubctl $*: exit" 100 "$st"
    expect_contains "stubctl $*: message" "$expected" "$out"
    expect_contains "stubctl $*: usage" "Usage: stubctl $1" "$out"
}
bad "unknown option '-z'" create -z x.cfg
bad "unknown option '--frob'" list --frob
bad "unknown option '-x'" save -x d f
bad "unknown option '-q'" restore -q f
bad "option '-i' needs a value" top -i
bad "option '-t' needs a value" console -t
bad "unknown option '-f'" destroy -f d

# As xl: a command may be shortened while it stays unambiguous.
expect_eq "stubctl li" "$("$STUBCTL" list | head -n1)" "$("$STUBCTL" li | head -n1)"
st=0; "$STUBCTL" s >/dev/null 2>&1 || st=$?
expect_eq "an ambiguous command (save, shutdown, store)" 100 "$st"

# No store: Domain-0 alone, exit 0.
st=0
out=$("$STUBCTL" list) || st=$?
expect_eq "list with no store: exit" 0 "$st"
expect_eq "list with no store" "Domain-0" "$(echo "$out" | awk 'NR > 1 { print $1 }')"
for c in "list -l" "list -v" "list -n" "uptime" "vcpu-list" "info" "list Domain-0"; do
    # shellcheck disable=SC2086
    "$STUBCTL" $c >/dev/null || fail "stubctl $c with no store"
done
expect_contains "info with no store" "store                  : not running" "$("$STUBCTL" info)"
[ -e "$STUBVISOR_RUNDIR/store.sock" ] && fail "a listing command started a store"
st=0; "$STUBCTL" list nosuch >/dev/null 2>&1 || st=$?
expect_eq "list of a missing domain" 1 "$st"

# create says what it parses (with /dev/kvm: it also creates).
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    write_cfg "$TEST_TMP/h.cfg" cli-hello hello.elf
    timeout 60 "$STUBCTL" create "$TEST_TMP/h.cfg" 2>"$TEST_TMP/err" >"$TEST_TMP/out" ||
        fail "create: $(cat "$TEST_TMP/err")"
    expect_eq "create's stderr" "Parsing config from $TEST_TMP/h.cfg" "$(cat "$TEST_TMP/err")"
    expect_eq "create's stdout" "" "$(cat "$TEST_TMP/out")"
fi
out=$("$STUBCTL" create "$TEST_TMP/missing.cfg" 2>&1) && fail "created from a missing file"
expect_contains "a missing config" "Parsing config from $TEST_TMP/missing.cfg" "$out"
expect_contains "a missing config" "$TEST_TMP/missing.cfg: cannot open" "$out"
pass
