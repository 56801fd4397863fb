#!/usr/bin/env bash
# Datapath benchmark, side by side with DPDK, in one command:
#   bench/run.sh [--pairs N] [--seconds S] [--warmup S] [--ring-size N] [--out FILE]
# Builds the release build (build-bench), then for every pair and every
# configuration (split/packed x 64/1518-byte frames) runs, interleaved:
#   refnet  vhc-bench -> vhost-refnet (loopback)
#   dpdk    vhc-bench -> dpdk-testpmd net_vhost (io forwarding = loopback)
#   vu      dpdk-testpmd virtio-user (flowgen) -> the same dpdk-testpmd net_vhost
# and prints Mpps and Gbit/s per run, then per configuration the ratio
# refnet/dpdk and vu/dpdk (min/median/max over the pairs).  Only ratios from
# one interleaved run mean anything on this noisy 2-vCPU machine.
# CPU layout (see README.md): back ends forward on CPU 1, front ends on CPU 0.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=$root/build-bench
pairs=5 seconds=3 warmup=1 qsize=256 out=
while (($#)); do
    case $1 in
        --pairs) pairs=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --warmup) warmup=$2; shift 2 ;;
        --ring-size) qsize=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
configs=("split 64" "split 1518" "packed 64" "packed 1518")
work=$(mktemp -d /tmp/vhc-bench.XXXXXX)
results=${out:-$work/results.tsv}
: >"$results"
pids=()
cleanup() { for p in "${pids[@]}"; do stop_pid "$p"; done; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- build ----
echo "== building release (build-bench)"
cmake -S "$root" -B "$build" -DVHC_SANITIZE=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null \
    && cmake --build "$build" -j2 --target vhc-bench vhost-refnet >"$work/build.log" 2>&1 \
    || { tail -30 "$work/build.log"; echo "run.sh: build failed" >&2; exit 1; }
bench=$build/bench/vhc-bench
refnet=$build/reference-backend/vhost-refnet
command -v dpdk-testpmd >/dev/null || { echo "run.sh: dpdk-testpmd not installed" >&2; exit 1; }

# ---- back ends ----
# SIGINT lets testpmd stop its ports and remove its files; KILL after 5 s.
stop_pid() {
    local p=$1 i
    kill -INT "$p" 2>/dev/null || return 0
    for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    return 0
}

testpmd_vhost() { # SOCK LOG: one port, io forwarding on lcore 1, main lcore 0
    dpdk-testpmd -l 0-1 --main-lcore 0 --no-huge -m 512 --no-pci --file-prefix vhc-bench \
        --vdev "net_vhost0,iface=$1" -- --forward-mode=io --total-num-mbufs=32768 \
        --stats-period 3600 --nb-cores=1 --txq=1 --rxq=1 >"$2" 2>&1 &
    pids+=($!)
}

# refnet's loopback option, when its --help lists one (REFNET_ARGS overrides).
refnet_args() {
    if [[ -n ${REFNET_ARGS+x} ]]; then echo "$REFNET_ARGS"; return; fi
    "$refnet" --help 2>&1 | grep -q -- '--loopback' && echo "--loopback"
}

start_refnet() { # SOCK LOG
    # shellcheck disable=SC2046
    taskset -c 1 "$refnet" --socket "$1" $(refnet_args) >"$2" 2>&1 &
    pids+=($!)
}

field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

# ---- one measurement; prints "rx_pps gbps status note" ----
run_gen() { # BACKEND RING FRAME
    local sock=$work/$1.sock log=$work/$1.log line rc
    rm -f "$sock"
    if [[ $1 == refnet ]]; then start_refnet "$sock" "$log"; else testpmd_vhost "$sock" "$log"; fi
    line=$(taskset -c 0 "$bench" --socket "$sock" --backend "$1" --ring "$2" --frame "$3" \
           --ring-size "$qsize" --warmup "$warmup" --seconds "$seconds" --timeout 15000 \
           2>"$work/bench.err")
    rc=$?
    stop_pid "${pids[-1]}"; unset 'pids[-1]'
    case $rc in
        0) echo "$(field rx_pps "$line") $(field rx_gbps "$line") ok -" ;;
        3) echo "0 0 skip $(tr ' ' _ <<<"${line#SKIP: }")" ;;
        *) echo "0 0 fail vhc-bench_exit_${rc}_status=$(field status "$line"):_$(tr ' \n' '__' <"$work/bench.err" | sed 's/vhc-bench:_//g' | head -c 300)" ;;
    esac
}

# virtio-user front end, flowgen (sends, and receives and frees what comes
# back); the mean Rx-pps testpmd reports after the warm-up.
run_vu() { # RING FRAME
    local sock=$work/vu.sock log=$work/vu.log vlog=$work/vu-vhost.log packed=0
    [[ $1 == packed ]] && packed=1
    rm -f "$sock"
    testpmd_vhost "$sock" "$vlog"
    local vhost=$!
    for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.1; done
    # flowgen subtracts 4 bytes of FCS from --txpkts
    # testpmd prints about every 2 s however short the period (its main loop
    # sleeps); Rx-pps is computed over the real interval, so: drop the
    # samples before and including the first non-zero one (start-up and
    # warm-up), average the rest.  6 s covers EAL and mempool start-up.
    timeout -s INT $((${warmup%.*} + ${seconds%.*} + 6)) \
        dpdk-testpmd -l 0-1 --main-lcore 1 --no-huge -m 512 --no-pci --file-prefix vhc-bench-vu \
        --vdev "net_virtio_user0,path=$sock,queues=1,queue_size=$qsize,mrg_rxbuf=0,in_order=0,packed_vq=$packed" \
        -- --forward-mode=flowgen --txpkts=$(($2 + 4)) --total-num-mbufs=32768 --stats-period 1 \
        --nb-cores=1 --txq=1 --rxq=1 >"$log" 2>&1
    stop_pid "$vhost"; unset 'pids[-1]'
    awk -v frame="$2" '
        /Rx-pps:/ { if (warm) { s += $2; m++ } else if ($2 > 0) warm = 1 }
        /RX-packets:.*RX-bytes:/ { p = $2; b = $6 }
        END {
            if (m == 0 || s == 0) { print "0 0 fail no_Rx-pps_samples_after_warm-up"; exit }
            if (p > 0 && int(b / p + 0.5) != frame) { print "0 0 fail frame_" int(b / p) "_bytes"; exit }
            printf "%.0f %.3f ok -\n", s / m, s / m * frame * 8 / 1e9
        }' "$log"
}

run_one() { # NAME RING FRAME
    if [[ $1 == vu ]]; then run_vu "$2" "$3"; else run_gen "$@"; fi
}

# ---- is refnet's datapath there? ----
echo "== checking vhost-refnet's datapath"
refnet_ok=1
# (run_one writes to a file, not a pipe: it runs in this shell, which
# tracks the back ends it starts)
seconds=1 warmup=0 run_gen refnet split 64 >"$work/one"
read -r _ _ st note <"$work/one"
if [[ $st != ok ]]; then
    refnet_ok=0
    echo "vhost-refnet: datapath not available (${note//_/ })"
fi
names=(dpdk vu)
((refnet_ok)) && names=(refnet dpdk vu)

# ---- interleaved runs ----
echo "== $pairs pairs, ${seconds}s measured after ${warmup}s warm-up, ring size $qsize"
printf '%-5s %-7s %5s %-7s %8s %9s  %s\n' pair ring frame backend Mpps Gbit/s status
for ((p = 1; p <= pairs; p++)); do
    order=("${names[@]}")
    ((p % 2 == 0)) && order=($(printf '%s\n' "${names[@]}" | tac))  # ABBA: cancel drift
    for cfg in "${configs[@]}"; do
        read -r ring frame <<<"$cfg"
        for name in "${order[@]}"; do
            run_one "$name" "$ring" "$frame" >"$work/one"
            read -r pps gbps st note <"$work/one"
            printf '%-5s %-7s %5s %-7s %8.3f %9.3f  %s\n' "$p" "$ring" "$frame" "$name" \
                "$(awk -v x="$pps" 'BEGIN{print x/1e6}')" "$gbps" "$st${note:+ ${note//_/ }}" \
                | sed 's/ -$//'
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$ring" "$frame" "$name" "$pps" "$gbps" "$st" >>"$results"
        done
    done
done

# ---- summary: per configuration, ratios over the pairs ----
echo "== summary (median Mpps; ratios min/median/max over pairs with both ok)"
awk -F'\t' '
    function med(a, n,   i, j, t) {
        for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
        return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
    }
    function ratio(num, cfg,   p, r, n) {
        n = 0
        for (p = 1; p <= maxp; p++) {
            if (ok[p, cfg, num] && ok[p, cfg, "dpdk"] && pps[p, cfg, "dpdk"] > 0)
                r[++n] = pps[p, cfg, num] / pps[p, cfg, "dpdk"]
        }
        if (n == 0) return "n/a"
        med(r, n)
        return sprintf("%.3f/%.3f/%.3f", r[1], med(r, n), r[n])
    }
    function medpps(name, cfg,   p, v, n) {
        n = 0
        for (p = 1; p <= maxp; p++) if (ok[p, cfg, name]) v[++n] = pps[p, cfg, name]
        return n ? sprintf("%.3f", med(v, n) / 1e6) : "n/a"
    }
    {
        cfg = $2 " " $3; ok[$1, cfg, $4] = ($7 == "ok"); pps[$1, cfg, $4] = $5
        if ($1 > maxp) maxp = $1
        if (!(cfg in seen)) { seen[cfg] = 1; order[++nc] = cfg }
    }
    END {
        printf "%-12s %8s %8s %8s  %-20s %-20s\n", "config", "refnet", "dpdk", "vu", "refnet/dpdk", "vu/dpdk"
        for (i = 1; i <= nc; i++) {
            c = order[i]
            printf "%-12s %8s %8s %8s  %-20s %-20s\n", c, medpps("refnet", c), medpps("dpdk", c),
                medpps("vu", c), ratio("refnet", c), ratio("vu", c)
        }
    }' "$results"
((refnet_ok)) || echo "vhost-refnet: datapath not available (see above); DPDK figures only"
[[ -n $out ]] && echo "results: $out"
exit 0
