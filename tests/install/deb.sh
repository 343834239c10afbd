#!/bin/sh
# The Debian package, built with Debian's own tooling from debian/ in a
# temporary copy of the tree (what git tracks, and new files it does not
# ignore):
#   - dpkg-buildpackage -us -uc -b builds it;
#   - lintian finds no error in it;
#   - its version is meson's project version, and its Depends are what the
#     programs link (dh_shlibdeps);
#   - unpacked with dpkg-deb -x into a temporary root, its stubctl creates
#     its hello example with its own monitor and device model (what
#     `apt install ./stubvisor_*.deb` then `stubctl create` does on a
#     fresh Debian 12);
#   - `make install PREFIX=... DESTDIR=...` in the same copy installs a
#     stubctl that runs from there.
. "$STUBVISOR_SRC/tests/lib.sh"
. "$STUBVISOR_SRC/tests/ctl/lib-ctl.sh"
need_cmd dpkg-buildpackage dh lintian git dpkg-deb meson ninja pandoc

src="$TEST_TMP/src"
mkdir -p "$src"
git -C "$STUBVISOR_SRC" ls-files -z --cached --others --exclude-standard |
    (cd "$STUBVISOR_SRC" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
    (cd "$STUBVISOR_SRC" && tar --null -T - -cf -) | tar -xf - -C "$src" ||
    fail "copying the tree"
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$TEST_TMP/build.log" 2>&1 ||
    fail "dpkg-buildpackage: $(tail -n 40 "$TEST_TMP/build.log")"
version=$(sed -n "s/^ *version: '\([^']*\)',$/\1/p" "$STUBVISOR_SRC/meson.build" | head -n1)
deb=$(ls "$TEST_TMP"/stubvisor_"$version"-*_amd64.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || fail "no stubvisor_$version-*_amd64.deb: $(ls "$TEST_TMP")"

lintian "$TEST_TMP"/stubvisor_*.changes >"$TEST_TMP/lintian.log" 2>&1 || true
errors=$(grep '^E: ' "$TEST_TMP/lintian.log" || true)
[ -z "$errors" ] || fail "lintian errors: $errors"
grep -q '^W: ' "$TEST_TMP/lintian.log" && echo "lintian warnings: $(grep -c '^W: ' "$TEST_TMP/lintian.log")"

depends=$(dpkg-deb -f "$deb" Depends)
expect_contains "Depends" "libjansson4" "$depends"
expect_contains "Depends" "libc6" "$depends"
root="$TEST_TMP/root"
dpkg-deb -x "$deb" "$root" || fail "dpkg-deb -x"
expect_eq "the packaged stubctl" "stubctl (stubvisor) $version" "$("$root/usr/bin/stubctl" --version)"
for f in lib/systemd/system/stubstored.service lib/systemd/system/stubvisor-guests.service \
    etc/default/stubvisor-guests usr/share/man/man1/stubctl.1.gz usr/sbin/stubstored \
    usr/libexec/stubvisor/stubvmm usr/libexec/stubvisor/stubdm; do
    [ -e "$root/$f" ] || fail "not in the package: $f"
done

if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    STUBCTL="$root/usr/bin/stubctl"
    out=$(timeout 60 "$STUBCTL" create -c "$root/usr/share/stubvisor/examples/hello.cfg" </dev/null 2>&1) ||
        fail "the packaged stubctl create: $out"
    expect_contains "the packaged hello" "hello from guest" "$out"
    timeout 60 "$STUBCTL" create -p "$root/usr/share/stubvisor/examples/counter.cfg" 2>/dev/null ||
        fail "the packaged counter"
    vmm=$(vmm_pid_of "$("$STUBCTL" domid counter)")
    expect_eq "the packaged monitor" "$root/usr/libexec/stubvisor/stubvmm" "$(readlink "/proc/$vmm/exe")"
    timeout 30 "$STUBCTL" destroy counter || fail "destroy"
    "$STUBCTL" store stop >/dev/null || fail "store stop"
fi

# make install with PREFIX and DESTDIR, in the same copy.
(cd "$src" && make install PREFIX=/opt/stubvisor DESTDIR="$TEST_TMP/staged") >"$TEST_TMP/make.log" 2>&1 ||
    fail "make install: $(tail -n 30 "$TEST_TMP/make.log")"
staged="$TEST_TMP/staged/opt/stubvisor"
expect_eq "make install's stubctl" "stubctl (stubvisor) $version" "$("$staged/bin/stubctl" --version)"
[ -x "$staged/libexec/stubvisor/stubvmm" ] || fail "make install: no stubvmm"
[ -f "$staged/share/man/man8/stubstored.8" ] || fail "make install: no man pages"
pass
