#!/bin/sh
# The main job: boot the hello guest with its device model in a sandboxed stub
# domain, and show what it printed on its serial port.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
exec "$top/build/bin/stubvmm" --kernel "$top/build/guests/hello.elf" --dm stubdom
