#!/usr/bin/env bash
# Datapath benchmark, side by side with DPDK, in one command:
#   bench/run.sh [--pairs N] [--seconds S] [--warmup S] [--ring-size N]
#                [--working-set MIB] [--log] [--ovs] [--no-cost] [--out FILE]
#                [--configs "RING FRAME,..."] [--columns NAME,...]
# Builds the release build (build-bench), then for every pair and every
# configuration (split/packed x 64/1518-byte frames) runs, interleaved
# (the order reversed every other pair), each back end started fresh:
#   refnet     vhc-bench -> vhost-refnet --poll (one copy, zero header)
#   refnet-eq  vhc-bench -> vhost-refnet --poll --equal-work (DPDK's work)
#   dpdk       vhc-bench -> dpdk-testpmd net_vhost, io forwarding
#   vu         testpmd virtio-user (flowgen) -> dpdk-testpmd net_vhost
#   vu-refnet  testpmd virtio-user (flowgen) -> vhost-refnet --poll --equal-work
#   ovs        vhc-bench -> OVS-DPDK dpdkvhostuser port, loopback flow (--ovs)
#   refnet-log, dpdk-log  refnet / dpdk with dirty logging on (--log)
#   memcpy     this machine's memcpy on the --working-set terms (--working-set)
# Before and after the runs, vhc-xcore: what a cache line moved between
# the two CPUs costs (the floor under a 64-byte frame's cycles, README.md).
# Prints every run (Mpps, Gbit/s, waits, steal, load), then per configuration
# the median Mpps of each column and its ratio to dpdk (min/median/max over
# pairs), slow-mode runs reported apart; then bench/cost.sh's instructions
# per frame (unless --no-cost).  Only ratios of one interleaved run mean
# anything on this shared 2-vCPU machine.  See README.md.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=$root/build-bench
pairs=10 seconds=1 warmup=0.5 qsize=256 out= ws=0 log=0 ovs=0 cost=1 ovs_sock= only_cfg= only_col=
orig=("$@")
while (($#)); do
    case $1 in
        --pairs) pairs=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --warmup) warmup=$2; shift 2 ;;
        --ring-size) qsize=$2; shift 2 ;;
        --working-set) ws=$2; shift 2 ;;
        --log) log=1; shift ;;
        --ovs) ovs=1; shift ;;
        --ovs-socket) ovs=1 ovs_sock=$2; shift 2 ;;   # inside tests/peer/ovs-dpdk.sh
        --no-cost) cost=0; shift ;;
        --configs) only_cfg=$2; shift 2 ;;
        --columns) only_col=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
configs=("split 64" "split 1518" "packed 64" "packed 1518")
[[ -n $only_cfg ]] && IFS=, read -ra configs <<<"$only_cfg"
work=$(mktemp -d /tmp/vhc-bench.XXXXXX)
results=${out:-$work/results.tsv}
: >"$results"
pids=()
cleanup() { for p in "${pids[@]}"; do stop_pid "$p"; done; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building release (build-bench)"
cmake -S "$root" -B "$build" -DVHC_SANITIZE=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null \
    && cmake --build "$build" -j2 --target vhc-bench vhc-xcore vhost-refnet >"$work/build.log" 2>&1 \
    || { tail -30 "$work/build.log"; echo "run.sh: build failed" >&2; exit 1; }
bench=$build/bench/vhc-bench
xcore() { # WHEN: the cost of a cache line moved from the front end's CPU to the back end's
    local l
    l=$(taskset -c 0,1 "$build/bench/vhc-xcore" --cpus 0,1 2>&1)
    [[ $l == *status=ok* ]] || { echo "== cross-core line moves, $1: not measured (${l//$'\n'/; })"; return; }
    echo "== cross-core line moves, CPU 0 -> CPU 1, $1 (vhc-xcore, TSC cycles): read $(field line_cycles "$l")" \
         "alone, $(field pipelined_cycles "$l") a line pipelined; write $(field write_line_cycles "$l")" \
         "alone, $(field write_pipelined_cycles "$l") pipelined"
}
refnet=$build/reference-backend/vhost-refnet
command -v dpdk-testpmd >/dev/null || { echo "run.sh: dpdk-testpmd not installed" >&2; exit 1; }
source "$here/backends.sh"
# --ovs: run the whole bench inside tests/peer/ovs-dpdk.sh (hugepages, a
# private OVS-DPDK with a dpdkvhostuser port and the loopback flow, all
# given back on exit), which calls us again with --ovs-socket.  Its PMD
# thread is on CPU 1 like the other back ends; pmd-maxsleep lets it sleep
# while the other columns are measured (it does not sleep under load).
if ((ovs)) && [[ -z $ovs_sock ]]; then
    ((EUID == 0)) || { echo "run.sh: --ovs needs root (hugepages)" >&2; exit 1; }
    rm -rf "$work"; trap - EXIT
    VHC_OVS_RUN="$0 ${orig[*]} --ovs-socket" VHC_OVS_LIMIT=${VHC_OVS_LIMIT:-7200} \
        VHC_OVS_CONFIG=other_config:pmd-maxsleep=1000 \
        exec "$root/tests/peer/ovs-dpdk.sh" none none none server
fi

# ---- noise: steal time and load around each run ----
cpu_sample() { awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t }' /proc/stat; }
steal_pct() { # BEFORE AFTER ("steal total")
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
        d = y[2] - x[2]; printf "%.1f", (d > 0 ? 100 * (y[1] - x[1]) / d : 0) }'
}
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

# ---- one measurement: prints "pps gbps waits cycles/frame status note" ----
run_gen() { # COLUMN RING FRAME
    local col=$1 sock=$work/$1.sock blog=$work/$1.log line rc extra=()
    rm -f "$sock"
    case $col in
        refnet|refnet-log) start_refnet "$sock" "$blog" --poll ;;
        refnet-eq) start_refnet "$sock" "$blog" --poll --equal-work ;;
        dpdk|dpdk-log) testpmd_vhost "$sock" "$blog" ;;
        ovs) sock=$ovs_sock
             ovs-appctl -t "$OVS_RUNDIR/ovs-vswitchd.ctl" dpif-netdev/pmd-stats-clear >/dev/null 2>&1 ;;
    esac
    [[ $col == *-log ]] && extra+=(--log)
    ((ws > 0)) && extra+=(--working-set "$ws")
    line=$(taskset -c 0 "$bench" --socket "$sock" --backend "$col" --ring "$2" --frame "$3" \
           --ring-size "$qsize" --warmup "$warmup" --seconds "$seconds" --timeout 15000 \
           "${extra[@]}" 2>"$work/bench.err")
    rc=$?
    [[ $col == ovs ]] || { stop_pid "${pids[-1]}"; unset 'pids[-1]'; }
    local kind=${col%-log}; kind=${kind%-eq}
    case $rc in
        0) echo "$(field rx_pps "$line") $(field rx_gbps "$line") $(field waits "$line") $(cycles_of "$kind" "$blog") ok -" ;;
        3) echo "0 0 0 - skip $(tr ' ' _ <<<"${line#SKIP: }")" ;;
        *) echo "0 0 0 - fail vhc-bench_exit_${rc}_status=$(field status "$line"):_$(tr ' \n' '__' <"$work/bench.err" | sed 's/vhc-bench:_//g' | head -c 300)" ;;
    esac
}

run_one() { # COLUMN RING FRAME
    case $1 in
        vu) run_vu dpdk "$2" "$3" ;;
        vu-refnet) run_vu refnet "$2" "$3" ;;
        memcpy) "$bench" --memcpy --frame "$3" --working-set "$ws" --seconds "$seconds" \
                    >"$work/cp" 2>&1 && read -r l <"$work/cp" \
                    && echo "$(field copy_fps "$l") $(field copy_gbps "$l") 0 - ok -" \
                    || echo "0 0 0 - fail memcpy" ;;
        *) run_gen "$@" ;;
    esac
}

# ---- is refnet's datapath there? ----
echo "== checking vhost-refnet's datapath"
seconds=1 warmup=0 run_gen refnet split 64 >"$work/one"
read -r _ _ _ _ st note <"$work/one"
[[ $st == ok ]] || { echo "vhost-refnet: datapath not available (${note//_/ })" >&2; exit 1; }
names=(refnet refnet-eq dpdk vu vu-refnet)
((log)) && names+=(refnet-log dpdk-log)
((ovs)) && names+=(ovs)
((ws > 0)) && names+=(memcpy)
[[ -n $only_col ]] && IFS=, read -ra names <<<"$only_col"

# ---- interleaved runs ----
xcore before
wsnote=; ((ws > 0)) && wsnote=", working set $ws MiB"
echo "== $pairs pairs, ${seconds}s measured after ${warmup}s warm-up, ring size $qsize$wsnote"
printf '%-4s %-6s %5s %-10s %8s %8s %7s %6s %6s %5s  %s\n' pair ring frame column Mpps Gbit/s cyc/fr waits steal% load status
for ((p = 1; p <= pairs; p++)); do
    order=("${names[@]}")
    ((p % 2 == 0)) && mapfile -t order < <(printf '%s\n' "${names[@]}" | tac)
    for cfg in "${configs[@]}"; do
        read -r ring frame <<<"$cfg"
        for name in "${order[@]}"; do
            c0=$(cpu_sample)
            run_one "$name" "$ring" "$frame" >"$work/one"
            steal=$(steal_pct "$c0" "$(cpu_sample)")
            load=$(cut -d' ' -f1 /proc/loadavg)
            read -r pps gbps waits cpf st note <"$work/one"
            printf '%-4s %-6s %5s %-10s %8.3f %8s %7s %6s %6s %5s  %s\n' "$p" "$ring" "$frame" "$name" \
                "$(awk -v x="$pps" 'BEGIN{print x/1e6}')" "$gbps" "$cpf" "$waits" "$steal" "$load" \
                "$st${note:+ ${note//_/ }}" | sed 's/ -$//'
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$ring" "$frame" "$name" "$pps" \
                "$gbps" "$st" "$waits" "$steal" "$load" "$cpf" >>"$results"
        done
    done
done
xcore after
awk -F'\t' -v seconds="$seconds" -f "$here/summary.awk" "$results"
[[ -n $out ]] && echo "results: $out"
if ((cost)); then
    echo "== instructions per frame (bench/cost.sh, callgrind, 100000 frames)"
    "$here/cost.sh" --frames 100000 --build "$build" || echo "cost.sh failed (valgrind missing?)"
fi
exit 0
