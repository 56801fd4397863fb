#!/usr/bin/env bash
# Smoke test: vhc-bench for one second against dpdk-testpmd's vhost PMD (io
# forwarding loops TX back to RX); passes when frames came back intact.
# Exit 77 (CTest skip) when dpdk-testpmd is not installed.
set -uo pipefail
bench=${1:?usage: smoke.sh PATH/TO/vhc-bench}
command -v dpdk-testpmd >/dev/null || { echo "SKIP: dpdk-testpmd not installed"; exit 77; }
dir=$(mktemp -d /tmp/vhc-smoke.XXXXXX)
sock=$dir/vhost.sock
dpdk-testpmd -l 0-1 --main-lcore 0 --no-huge -m 512 --no-pci --file-prefix "vhc-smoke-$$" \
    --vdev "net_vhost0,iface=$sock" -- --forward-mode=io --total-num-mbufs=32768 \
    --stats-period 3600 --nb-cores=1 --txq=1 --rxq=1 >"$dir/testpmd.log" 2>&1 &
pmd=$!
trap 'kill -INT $pmd 2>/dev/null; sleep 1; kill -KILL $pmd 2>/dev/null; wait $pmd 2>/dev/null; rm -rf "$dir"' EXIT
line=$(timeout 60 "$bench" --socket "$sock" --backend dpdk --warmup 0.5 --seconds 1 --timeout 10000)
rc=$?
echo "$line"
[[ $rc -eq 0 ]] || { echo "FAIL: vhc-bench exited $rc"; tail -20 "$dir/testpmd.log"; exit 1; }
rx=$(sed -n 's/.* rx=\([0-9]*\) .*/\1/p' <<<"$line")
[[ ${rx:-0} -gt 0 ]] || { echo "FAIL: no frame came back (rx=${rx:-?})"; exit 1; }
echo "PASS: rx=$rx"
