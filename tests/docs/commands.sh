#!/bin/sh
# Every command of the README's and docs/'s ```sh blocks runs as written
# (tests/docs/extract.py), so that the pages stay true: in a copy of the
# tree (examples/ copied, the rest linked; build/ is the build under test),
# with a private run and log directory, in a network namespace of its own
# (examples make taps).  A command must exit 0 within its time; blocks
# marked `doc-test: skip` are not run and say why, `timeout-ok` commands
# (a console that stays attached) run for a few seconds.
#   commands.sh BUILD-ROOT
. "$STUBVISOR_SRC/tests/lib-netns.sh"
in_private_netns "$0" "$@"
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_kvm
need_cmd python3 xenstore-ls
build=${1:?usage: commands.sh BUILD-ROOT}

tree="$TEST_TMP/tree"
mkdir -p "$tree" "$TEST_TMP/tmp"
for e in "$STUBVISOR_SRC"/* "$STUBVISOR_SRC"/.clang-format; do
    [ -e "$e" ] || continue
    case "${e##*/}" in
    build | examples) ;;
    *) ln -s "$e" "$tree/${e##*/}" ;;
    esac
done
cp -R "$STUBVISOR_SRC/examples" "$tree/examples"
ln -s "$build" "$tree/build"
export PATH="$tree/build/bin:$PATH"

cd "$STUBVISOR_SRC"
python3 "$STUBVISOR_SRC/tests/docs/extract.py" --rundir "$STUBVISOR_RUNDIR" --tmp "$TEST_TMP/tmp" \
    README.md docs/*.md >"$TEST_TMP/commands" || fail "extracting the commands"

ran=0 skipped=0
doc_run() { # doc_run WHERE MODE COMMAND
    case $2 in
    skip)
        skipped=$((skipped + 1))
        echo "skip $1: $3"
        return
        ;;
    timeout-ok) limit=5 ;;
    *) limit=300 ;;
    esac
    echo "run  $1: $3"
    st=0
    (cd "$tree" && timeout "$limit" sh -c "$3") </dev/null >"$TEST_TMP/out" 2>&1 || st=$?
    if [ "$st" = 124 ] && [ "$2" = timeout-ok ]; then
        st=0
    fi
    [ "$st" = 0 ] || fail "$1: '$3' exited $st: $(tail -c 2000 "$TEST_TMP/out")"
    ran=$((ran + 1))
}
. "$TEST_TMP/commands"
echo "$ran commands ran, $skipped skipped (their blocks say why)"
[ "$ran" -ge 20 ] || fail "only $ran commands ran"
pass
