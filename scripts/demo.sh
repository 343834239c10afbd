#!/bin/sh
# The main job: create the `hello` guest of examples/hello.cfg with its device
# model in a sandboxed stub domain.  stubctl starts the store by itself when
# none runs; -c attaches to the guest's serial console until the guest powers
# off (it prints one line and exits), after which on_poweroff destroys it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
stubctl="$top/build/bin/stubctl"
"$stubctl" create -c "$top/examples/hello.cfg"
echo "demo: the guest ran with its device model in a stub domain and is gone;"
echo "demo: its device model's log is in ${STUBVISOR_LOGDIR:-/var/log/stubvisor}/hello.log"
