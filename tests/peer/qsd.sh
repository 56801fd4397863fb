#!/usr/bin/env bash
# qsd.sh VHOST_CONFORM OUTDIR EXPECT: the generic cases against
# qemu-storage-daemon's vhost-user-blk export (null-co disk, 2 virtqueues so
# the suite's ring pair 0/1 exists), plus the hardening cases.  Net-only
# datapath and descriptor cases must SKIP.
set -euo pipefail
vc=$1 outdir=$2 expect=$3
command -v qemu-storage-daemon > /dev/null || { echo "qemu-storage-daemon not installed" >&2; exit 1; }
# --jobs 4 on two cores: a case spends most of its time starting and
# stopping the daemon (42 s with 2 jobs, 26 s with 4).
here=$(cd "$(dirname "$0")" && pwd)
be="qemu-storage-daemon --blockdev driver=null-co,node-name=n0 --export type=vhost-user-blk,id=e0,node-name=n0,addr.type=unix,addr.path={socket},writable=on,num-queues=2"
exec "$here/run-suite.sh" "$vc" "$outdir" qemu-storage-daemon server --device blk --jobs 4 --backend "$be" \
     --expect "$expect" --filter 'connect/*' --filter 'negotiation/*' --filter 'memory/*' \
     --filter 'rings/*' --filter 'datapath/*' --filter 'hardening/*' \
     --filter 'config/*' --filter 'lifecycle/*' --filter 'inflight/*' \
     --filter 'enable/*' --filter 'backend/*' --filter 'migration/play-migrate'
