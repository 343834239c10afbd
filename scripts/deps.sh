#!/bin/sh
# Install what stubvisor needs to build, test and benchmark, on Debian 12.
# Idempotent and quick when everything is there: apt runs only for what is
# missing.  Run as root (or through sudo).
set -eu

packages="
build-essential pkg-config meson ninja-build
clang libclang-rt-14-dev clang-format
linux-libc-dev libseccomp-dev libjansson-dev libcmocka-dev
xenstore-utils seabios qemu-system-x86
procps iproute2 util-linux psmisc python3
pandoc man-db bash-completion
debhelper dpkg-dev lintian
grub-pc-bin grub-common dosfstools mtools e2fsprogs busybox-static dnsmasq-base ipxe-qemu
"

missing=""
for p in $packages; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
    "install ok installed") ;;
    *) missing="$missing $p" ;;
    esac
done

if [ -z "$missing" ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo "$0" "$@"
    fi
    echo "deps.sh: missing packages:$missing; run as root to install them" >&2
    exit 111
fi

echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # word splitting is the point
apt-get install -y -qq --no-install-recommends $missing >/dev/null
