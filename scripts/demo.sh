#!/bin/sh
# The main job: create the `hello` guest of examples/hello.cfg with its device
# model in a sandboxed stub domain.  stubctl starts the store by itself when
# none runs; -c attaches to the guest's serial console until the guest powers
# off (it prints one line and exits), after which on_poweroff destroys it.
# The store stays for the next guest: the last lines say so, and how to stop
# it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${STUBVISOR_BIN:-$top/build/bin}
stubctl="$bin/stubctl"
"$stubctl" create -c "$top/examples/hello.cfg"
rundir=${STUBVISOR_RUNDIR:-/run/stubvisor}
env=""
[ -n "${STUBVISOR_RUNDIR:-}" ] && env="STUBVISOR_RUNDIR=$STUBVISOR_RUNDIR "
echo "demo: the guest ran with its device model in a stub domain and is gone;"
echo "demo: its device model's log is in ${STUBVISOR_LOGDIR:-/var/log/stubvisor}/hello.log"
echo "demo: the store (stubstored) keeps running on $rundir/store.sock for the next guest;"
echo "demo: see it with \`$env$stubctl store status\`, stop it with \`$env$stubctl store stop\`"
