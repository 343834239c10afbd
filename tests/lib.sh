# Shared helpers for shell tests: source it with `. "$STUBVISOR_SRC/tests/lib.sh"`.
#
# Gives each test a private $STUBVISOR_RUNDIR and $TMPDIR that are removed on
# exit, kills what the test started (by pid, nothing else), and offers skip /
# fail helpers that follow the exit-code convention (77 = skipped).

set -eu

: "${STUBVISOR_BIN:?run tests through meson test or make check}"
: "${STUBVISOR_SRC:?run tests through meson test or make check}"

test_name=$(basename "$0")
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/stubvisor-test.XXXXXX")
export STUBVISOR_RUNDIR="$TEST_TMP/run"
mkdir -p "$STUBVISOR_RUNDIR"
test_pids=""

# Remember a background process so that cleanup ends it.
track_pid() { test_pids="$test_pids $1"; }

cleanup() {
    status=$?
    for pid in $test_pids; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $test_pids; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TEST_TMP"
    exit "$status"
}
trap cleanup EXIT INT TERM

skip() { echo "SKIP: $test_name: $*"; exit 77; }
fail() { echo "FAIL: $test_name: $*" >&2; exit 1; }
pass() { echo "PASS: $test_name"; exit 0; }

need_kvm() {
    [ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "no usable /dev/kvm on this host"
}

need_cmd() {
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || skip "$c is not installed"
    done
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
    [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

# expect_contains WHAT NEEDLE HAYSTACK
expect_contains() {
    case "$3" in
    *"$2"*) ;;
    *) fail "$1: expected to find '$2' in: $3" ;;
    esac
}

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds or time runs out.
wait_for() {
    limit=$1
    shift
    i=0
    while ! "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        [ "$i" -le $((limit * 10)) ] || return 1
        sleep 0.1
    done
}
