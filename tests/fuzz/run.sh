#!/bin/sh
# Run one libFuzzer harness for a bounded time: run.sh HARNESS SEED_DIR SECONDS
# New corpus entries go to a scratch folder in the build tree, never into the
# seeds that are checked in.  A crash leaves its input next to the scratch
# folder and fails the test (libFuzzer's own crash status, 77, would read as
# a skip).
set -eu
harness=$1 seeds=$2 seconds=$3
work=$(dirname "$harness")/fuzz-work/$(basename "$harness")
mkdir -p "$work/corpus"
set -- "$work/corpus"
[ -d "$seeds" ] && set -- "$@" "$seeds"
exec "$harness" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$work/" -print_final_stats=1 -error_exitcode=1 "$@"
