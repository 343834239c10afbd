#!/bin/sh
# Every C file git tracks is formatted as .clang-format says: the check of
# `make format-check`, run with the tests so that CI holds to it.
. "$STUBVISOR_SRC/tests/lib.sh"
need_cmd clang-format git
cd "$STUBVISOR_SRC" || fail "no source tree"
git rev-parse --git-dir >/dev/null 2>&1 || skip "not a git checkout"
git ls-files -z '*.c' '*.h' | xargs -0 clang-format --dry-run -Werror ||
    fail "files above are not clang-formatted: run make format"
pass
