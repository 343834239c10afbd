#!/bin/sh
# Run every benchmark registered under bench/ (meson suite "bench").
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
meson test -C build --benchmark --verbose --num-processes 1 ${BENCH_ARGS:-}
