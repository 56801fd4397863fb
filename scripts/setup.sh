#!/usr/bin/env bash
# setup.sh [main|tests] — install what vhost-conform needs from Debian 12
# packages (run as root).  `main`: what the main job needs to build the
# suite and run it against the bundled vhost-refnet.  `tests` (default):
# that plus every real peer and tool the tests use.  Skips apt entirely
# when everything is already there.
set -euo pipefail
what=${1:-tests}

# building and running the suite (libedit: the shell's line editing; procps
# and util-linux: pgrep and taskset in the scripts)
main=(cmake gcc make pkg-config libglib2.0-dev libedit-dev procps util-linux)

# the tests:
# - check, libsubunit-dev: unit tests; socat, perl: harness self-tests and
#   TAP checks
# - dpdk, dpdk-dev (dpdk-testpmd), qemu-system-common (qemu-storage-daemon,
#   virtiofsd): real peers
# - qemu-system-x86, linux-image-amd64 (its kernel and modules),
#   busybox-static, cpio, kmod: the guests of tests/qemu
# - clang, libclang-rt-14-dev (libFuzzer, ASan runtime): fuzz/; valgrind:
#   scripts/valgrind-suite.sh
# - libxml2-utils (xmllint), chromium (headless, ~290 MB): the reports'
#   checks in tests/report
# - openvswitch-switch-dpdk: the OVS-DPDK peer (tests/peer/ovs-dpdk.sh)
# - groff-base, man-db, bsdextrautils (col): the man pages' check; dpkg-dev
#   (dpkg-shlibdeps) and file: the Debian package (cpack, tests/install);
#   debootstrap: its fresh Debian 12 root (install/debian12-chroot, long)
tests=(check libsubunit-dev socat perl
       dpdk dpdk-dev qemu-system-common
       qemu-system-x86 linux-image-amd64 busybox-static cpio kmod
       clang libclang-rt-14-dev valgrind
       libxml2-utils chromium openvswitch-switch-dpdk
       groff-base man-db bsdextrautils dpkg-dev file debootstrap)

case $what in
main) packages=("${main[@]}") ;;
tests) packages=("${main[@]}" "${tests[@]}") ;;
*) echo "usage: setup.sh [main|tests]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
