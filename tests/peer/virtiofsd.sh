#!/usr/bin/env bash
# virtiofsd.sh VHOST_CONFORM OUTDIR EXPECT: the generic cases against
# /usr/lib/qemu/virtiofsd (QEMU 7.2's C virtiofsd) sharing an empty folder.
# It needs root (it sets up its sandbox): -o sandbox=chroot, the mode meant
# for containers.  Also the hardening cases.  Net-only datapath and descriptor
# cases must SKIP.
set -euo pipefail
vc=$1 outdir=$2 expect=$3
vfsd=/usr/lib/qemu/virtiofsd
[[ -x $vfsd ]] || { echo "$vfsd not installed (package qemu-system-common)" >&2; exit 1; }
((EUID == 0)) || { echo "virtiofsd needs root" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
share=$(mktemp -d /tmp/vhc-vfsd.XXXXXX)
trap 'rm -rf "$share"' EXIT
# --jobs 8 on two cores: virtiofsd serves one connection, so most of its cases spend
# their time waiting 10 s for a second one (idle, not CPU): 222 s with 2 jobs, 114 s
# with 4, 62 s with 8.
"$here/run-suite.sh" "$vc" "$outdir" virtiofsd server --device fs --jobs 8 \
    --backend "$vfsd --socket-path={socket} -o source=$share -o sandbox=chroot" \
    --expect "$expect" --filter 'connect/*' --filter 'negotiation/*' --filter 'memory/*' \
    --filter 'rings/*' --filter 'datapath/*' --filter 'hardening/*' \
    --filter 'config/*' --filter 'lifecycle/*' --filter 'inflight/*' \
    --filter 'enable/*' --filter 'backend/*' --filter 'migration/play-migrate'
