#!/usr/bin/env bash
# Smoke test of the bench against vhost-refnet, not timed: a fixed number of
# frames must come back intact (sequence and content checked by vhc-bench)
# in each mode run.sh uses: one copy and --equal-work, split and packed, 64
# and 1518 bytes, dirty logging off and on, a working set, and MRG_RXBUF
# negotiated (the fast path takes it too).
set -uo pipefail
bench=${1:?usage: smoke-refnet.sh VHC-BENCH VHOST-REFNET}
refnet=${2:?usage: smoke-refnet.sh VHC-BENCH VHOST-REFNET}
dir=$(mktemp -d /tmp/vhc-smoke-refnet.XXXXXX)
pid=
stop() { [[ -n $pid ]] && { kill -INT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=; }; }
trap 'stop; rm -rf "$dir"' EXIT
fail=0
for mode in "" "--equal-work"; do
    rm -f "$dir/s"
    "$refnet" --socket "$dir/s" --poll $mode 2>"$dir/refnet.log" &
    pid=$!
    for run in "split 64" "packed 1518" "split 1518 --log" "packed 64 --log" "split 64 --working-set 16" \
               "split 1518 --mrg" "packed 64 --mrg"; do
        read -r ring frame extra <<<"$run"
        # shellcheck disable=SC2086
        line=$(timeout 120 "$bench" --socket "$dir/s" --backend refnet --ring "$ring" --frame "$frame" \
               --warmup 0 --seconds 60 --frames 20000 --timeout 20000 --stall 20000 $extra 2>&1)
        rc=$?
        rx=$(sed -n 's/.* rx=\([0-9]*\) .*/\1/p' <<<"$line")
        if ((rc != 0)) || [[ ${rx:-0} -lt 20000 ]] || ! grep -q ' bad=0 status=ok' <<<"$line"; then
            echo "FAIL: refnet ${mode:-one-copy} $run: exit $rc: $line"
            fail=1
        else
            echo "ok: refnet ${mode:-one-copy} $run: rx=$rx"
        fi
    done
    stop
done
((fail == 0)) || { tail -20 "$dir/refnet.log"; exit 1; }
echo PASS
