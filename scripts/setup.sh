#!/usr/bin/env bash
# Install what vhost-conform needs from Debian 12 packages (run as root).
# Skips apt entirely when everything is already there.
set -euo pipefail

# clang + libclang-rt-14-dev (libFuzzer, ASan runtime) build fuzz/; valgrind
# runs scripts/valgrind-suite.sh.  libxml2-utils (xmllint) and chromium
# (headless, ~290 MB) check the reports in tests/report: CI runs that test,
# so they are not optional.  qemu-system-x86, linux-image-amd64 (its kernel
# and modules), busybox-static, cpio and kmod make and boot the guests of
# tests/qemu
packages=(cmake gcc make pkg-config libglib2.0-dev check libsubunit-dev socat
          dpdk dpdk-dev qemu-system-common perl python3 procps util-linux
          libxml2-utils chromium libedit-dev
          clang libclang-rt-14-dev valgrind
          # OVS-DPDK peer (tests/peer/ovs-dpdk.sh): OVS 3.1 on DPDK 22.11; the script
          # runs its own ovsdb-server and ovs-vswitchd-dpdk, no system OVS service
          openvswitch-switch-dpdk
          qemu-system-x86 linux-image-amd64 busybox-static cpio kmod)
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
