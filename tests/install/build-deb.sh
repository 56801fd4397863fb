#!/usr/bin/env bash
# build-deb.sh SRC WORK — the build a package is made from, as a packager
# makes it: release, no sanitizers, no tests, prefix /usr; only what it
# installs is built; then cpack -G DEB.  Prints the package's path.
# Shared by deb-check.sh and debian12-check.sh.
set -euo pipefail
src=$1 work=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
for t in cpack dpkg-deb dpkg-shlibdeps file; do
    command -v "$t" >/dev/null || fail "$t missing (scripts/setup.sh installs dpkg-dev, file)"
done
nice cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DVHC_SANITIZE=OFF \
    -DBUILD_TESTING=OFF -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON \
    > "$work/configure.log" || { cat "$work/configure.log" >&2; fail "configure"; }
nice cmake --build "$work/build" -j2 --target vhost-conform vhost-refnet vhc_man \
    > "$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; fail "build"; }
(cd "$work/build" && cpack -G DEB > "$work/cpack.log" 2>&1) ||
    { cat "$work/cpack.log" >&2; fail "cpack"; }
deb=$(ls "$work"/build/vhost-conform_*.deb)
[[ -f $deb ]] || fail "no package"
echo "$deb"
