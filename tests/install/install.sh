#!/bin/sh
# `meson install` (what `make install` runs) into a temporary DESTDIR,
# then the installation itself is used, nothing from the build tree:
#   - the files: programs in bin, sbin and libexec/stubvisor, test guests
#     and examples under share/stubvisor (the examples naming the installed
#     guests), man pages, the bash completion, the systemd units, the
#     settings of stubvisor-guests;
#   - every man page renders with `man -l`: its NAME, the doc's sections,
#     no roff errors;
#   - the installed stubctl creates the installed hello example, and the
#     monitor and device model that run are the installed ones (found
#     relative to stubctl, not from the environment);
#   - the completion offers commands, options and domain names;
#   - the units' ExecStart/ExecStop lines, run as systemd would in a
#     private run directory: stubstored.service starts and stops the
#     store; stubvisor-guests.service creates the configs of its auto
#     directory, saves them at stop, restores them at the next start, and
#     shuts them down at stop when it has no save directory.
#   install.sh BUILD-ROOT
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_cmd meson man
build=${1:?usage: install.sh BUILD-ROOT}
[ -f "$build/docs/stubctl.1" ] || skip "no man pages in this build (pandoc missing)"

root="$TEST_TMP/root"
meson install -C "$build" --destdir "$root" --no-rebuild --quiet >"$TEST_TMP/install.log" 2>&1 ||
    fail "meson install: $(cat "$TEST_TMP/install.log")"
# The prefix as configured (a path from /).
prefix=$(meson introspect "$build" --buildoptions |
    python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
p="$root$prefix"
for f in bin/stubctl sbin/stubstored libexec/stubvisor/stubvmm libexec/stubvisor/stubdm \
    libexec/stubvisor/stubvisor-guests share/stubvisor/guests/hello.elf \
    share/stubvisor/guests/counter.elf share/stubvisor/examples/hello.cfg \
    share/stubvisor/examples/seabios-disk.cfg share/stubvisor/examples/make-boot-disk.sh \
    share/man/man1/stubctl.1 share/man/man5/stubctl.cfg.5 share/man/man8/stubvmm.8 \
    share/man/man8/stubdm.8 share/man/man8/stubstored.8 \
    share/bash-completion/completions/stubctl; do
    [ -e "$p/$f" ] || fail "not installed: $f (in $(find "$root" -type f | head -50))"
done
unitdir=$(find "$root" -name stubstored.service -printf '%h\n' | head -n1)
[ -n "$unitdir" ] && [ -f "$unitdir/stubvisor-guests.service" ] || fail "no systemd units installed"
defaults=$(find "$root" -path '*/default/stubvisor-guests' | head -n1)
[ -n "$defaults" ] || fail "no settings file for stubvisor-guests"
expect_contains "example's kernel" 'kernel = "../guests/hello.elf"' "$(cat "$p/share/stubvisor/examples/hello.cfg")"

# Man pages.
for page in man1/stubctl.1 man5/stubctl.cfg.5 man8/stubvmm.8 man8/stubdm.8 man8/stubstored.8; do
    name=$(basename "$page" | sed 's/\.[0-9]$//')
    out=$(MANWIDTH=100 man --warnings -E UTF-8 -l "$p/share/man/$page" 2>"$TEST_TMP/man.err") ||
        fail "man -l $page"
    expect_contains "$page: NAME" "NAME" "$out"
    expect_contains "$page: the name" "$name - " "$out"
    expect_contains "$page: SEE ALSO" "SEE ALSO" "$out"
    # Wide tables are the terminal's business; anything else is an error.
    grep -v -e 'table wider than line width' -e 'cannot adjust line' -e 'will not fit on one page' \
        -e 'around line' \
        -e '^ *$' "$TEST_TMP/man.err" >"$TEST_TMP/man.bad" || true
    [ -s "$TEST_TMP/man.bad" ] && fail "man -l $page: $(cat "$TEST_TMP/man.bad")"
done
expect_contains "stubctl(1) holds the commands" "stubctl save [-c] [-p] DOMAIN" \
    "$(MANWIDTH=200 man -l "$p/share/man/man1/stubctl.1" 2>/dev/null | tr -s ' ')"
expect_contains "stubctl.cfg(5) holds the keys" "on_poweroff" \
    "$(MANWIDTH=200 man -l "$p/share/man/man5/stubctl.cfg.5" 2>/dev/null)"

# complete WORDS...: what the completion offers for the last word.
complete_words() {
    bash -c '
        . /usr/share/bash-completion/bash_completion
        . "$0"
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        _stubctl
        printf "%s\n" "${COMPREPLY[@]}"' "$p/share/bash-completion/completions/stubctl" "$@"
}
if [ -f /usr/share/bash-completion/bash_completion ]; then
    expect_eq "commands after 'cr'" create "$(complete_words "$p/bin/stubctl" cr)"
    expect_contains "vcpu-list among the commands" vcpu-list "$(complete_words "$p/bin/stubctl" "")"
    expect_contains "save's options" "-p" "$(complete_words "$p/bin/stubctl" save -)"
    expect_eq "console -t" "pv serial" "$(complete_words "$p/bin/stubctl" console -t "" | sort | tr '\n' ' ' | sed 's/ $//')"
fi

# The rest needs KVM.
[ -r /dev/kvm ] && [ -w /dev/kvm ] || {
    echo "SKIP (in part): no /dev/kvm: the installation was not run"
    pass
}
STUBCTL="$p/bin/stubctl" # lib-ctl's clean-up uses the installed one too
out=$(timeout 60 "$STUBCTL" create -c "$p/share/stubvisor/examples/hello.cfg" </dev/null 2>&1) ||
    fail "installed create: $out"
expect_contains "installed hello" "hello from guest" "$out"
timeout 60 "$STUBCTL" create -p "$p/share/stubvisor/examples/counter.cfg" 2>/dev/null || fail "installed counter"
d=$("$STUBCTL" domid counter)
vmm=$(vmm_pid_of "$d")
expect_eq "the monitor that runs" "$p/libexec/stubvisor/stubvmm" "$(readlink "/proc/$vmm/exe")"
dmpid=$(dm_pid counter)
expect_eq "the device model that runs" "$p/libexec/stubvisor/stubdm" "$(readlink "/proc/$dmpid/exe")"
expect_eq "the store that runs" "$p/sbin/stubstored" \
    "$(readlink "/proc/$(cat "$STUBVISOR_RUNDIR/store.pid")/exe")"
if [ -f /usr/share/bash-completion/bash_completion ]; then
    expect_contains "domain names" counter-dm "$(complete_words "$STUBCTL" domid "")"
fi
timeout 30 "$STUBCTL" destroy counter || fail "destroy counter"
"$STUBCTL" store stop >/dev/null || fail "store stop"

# exec_line UNIT KEY: the unit's KEY= line with the installed paths moved
# under $root, ${VAR} left to the shell (as systemd expands them).
exec_line() {
    sed -n "s/^$2=//p" "$unitdir/$1" | sed "s|^/|$root/|"
}
# stubstored.service
start=$(exec_line stubstored.service ExecStart)
stop=$(exec_line stubstored.service ExecStop)
sh -c "$start" || fail "stubstored.service ExecStart: $start"
"$STUBCTL" store status >/dev/null || fail "no store after ExecStart"
[ -f "$STUBVISOR_RUNDIR/store.pid" ] || fail "no PIDFile after ExecStart"
sh -c "$stop" >/dev/null || fail "stubstored.service ExecStop: $stop"
st=0; "$STUBCTL" store status >/dev/null || st=$?
expect_eq "store after ExecStop" 1 "$st"

# stubvisor-guests.service, with the store of stubstored.service under it.
sh -c "$start" || fail "ExecStart of the store"
gstart=$(exec_line stubvisor-guests.service ExecStart)
gstop=$(exec_line stubvisor-guests.service ExecStop)
mkdir -p "$TEST_TMP/auto"
sed "s|^kernel = .*|kernel = \"$p/share/stubvisor/guests/counter.elf\"|" \
    "$p/share/stubvisor/examples/counter.cfg" >"$TEST_TMP/auto/counter.cfg"
export STUBVISOR_GUESTS_AUTO="$TEST_TMP/auto" STUBVISOR_GUESTS_SAVE="$TEST_TMP/save"
sh -c "$gstart" >"$TEST_TMP/g.out" 2>&1 || fail "guests ExecStart: $(cat "$TEST_TMP/g.out")"
"$STUBCTL" list counter | grep -q ' r----- ' || fail "counter not started: $("$STUBCTL" list)"
sh -c "$gstart" >"$TEST_TMP/g.out" 2>&1 || fail "guests ExecStart again: $(cat "$TEST_TMP/g.out")"
expect_contains "a second start" "counter is running already" "$(cat "$TEST_TMP/g.out")"
sh -c "$gstop" >"$TEST_TMP/g.out" 2>&1 || fail "guests ExecStop: $(cat "$TEST_TMP/g.out")"
[ -s "$TEST_TMP/save/counter.save" ] || fail "counter was not saved: $(cat "$TEST_TMP/g.out")"
"$STUBCTL" list counter >/dev/null 2>&1 && fail "counter still runs after ExecStop"
sh -c "$gstart" >"$TEST_TMP/g.out" 2>&1 || fail "guests ExecStart (restore): $(cat "$TEST_TMP/g.out")"
expect_contains "restored at start" "restored $TEST_TMP/save/counter.save" "$(cat "$TEST_TMP/g.out")"
[ -e "$TEST_TMP/save/counter.save" ] && fail "the save file is left after the restore"
expect_eq "one counter" 1 "$("$STUBCTL" list | grep -c '^counter ')"
STUBVISOR_GUESTS_SAVE="" sh -c "$gstop" >"$TEST_TMP/g.out" 2>&1 || fail "guests ExecStop (shutdown)"
"$STUBCTL" list counter >/dev/null 2>&1 && fail "counter still runs after a shutdown stop"
[ -e "$TEST_TMP/save/counter.save" ] && fail "saved although there was no save directory"
sh -c "$stop" >/dev/null || fail "ExecStop of the store"
pass
