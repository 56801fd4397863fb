#!/usr/bin/env bash
# Deterministic cost per frame, beside run.sh's noisy Mpps:
#   bench/cost.sh [--frames N] [--build DIR] [--refnet BINARY] [--configs "split 64,..."]
# For each configuration, over a fixed frame count, with valgrind's
# callgrind (cache simulation on; configurations "RING FRAME [log] [mrg]"):
#   refnet  vhost-refnet under callgrind, only ref_fwd_burst counted
#           (--toggle-collect: the datapath, not the control plane or the
#           sleeps); the generator runs natively in --lockstep (a batch of
#           32 is posted only when the last is all back), so every run
#           makes the same bursts; refnet sleeps on kicks between them.
#   gen     vhc-bench under callgrind, only its per-frame functions
#           counted (post_batch and the mfe_net calls of its loop), against
#           a native vhost-refnet --poll.  "log": vhc-bench --log (dirty
#           logging on); "mrg": vhc-bench --mrg (MRG_RXBUF negotiated).
# Prints one line per configuration and side: instructions (Ir), L1 data
# misses (D1mr+D1mw) and last-level misses (DLmr+DLmw) per frame, frames
# counted by vhost-refnet's own stats.  Exit 1 when valgrind is missing.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=$root/build-bench frames=200000 configs="split 64,split 1518,packed 64,packed 1518,split 64 log,packed 64 log"
while (($#)); do
    case $1 in
        --frames) frames=$2; shift 2 ;;
        --build) build=$2; shift 2 ;;
        --refnet) refnet_bin=$2; shift 2 ;;
        --configs) configs=$2; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "cost.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
command -v valgrind >/dev/null || { echo "cost.sh: valgrind not installed" >&2; exit 1; }
bench=$build/bench/vhc-bench refnet=${refnet_bin:-$build/reference-backend/vhost-refnet}
work=$(mktemp -d /tmp/vhc-cost.XXXXXX)
bg=
cleanup() {
    if [[ -n $bg ]]; then kill -INT "$bg" 2>/dev/null; sleep 1; kill -KILL "$bg" 2>/dev/null; wait "$bg" 2>/dev/null; fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_sock() { for _ in $(seq 150); do [[ -S $1 ]] && return 0; sleep 0.2; done; return 1; }
stop_bg() { kill -INT "$bg" 2>/dev/null; wait "$bg" 2>/dev/null; bg=; }
# events of a callgrind file -> "Ir D1 LL" totals
totals() {
    awk '/^events:/ { for (i = 2; i <= NF; i++) col[$i] = i - 1 }
         /^summary:/ { split($0, v, " ");
             printf "%s %s %s\n", v[col["Ir"] + 1], v[col["D1mr"] + 1] + v[col["D1mw"] + 1],
                                  v[col["DLmr"] + 1] + v[col["DLmw"] + 1] }' "$1"
}
frames_of() { sed -n 's/.*stats ring=0 dir=rx packets=\([0-9]*\).*/\1/p' "$1" | tail -1; }
# the simulated last-level cache is this machine's L3 (32 MiB; valgrind guesses wrong)
vg=(valgrind --tool=callgrind --cache-sim=yes --LL=33554432,16,64)

printf '%-6s %-7s %5s %-7s %9s %10s %9s %9s\n' side ring frame options frames Ir/frame D1miss/f LLmiss/f
IFS=, read -ra cfgs <<<"$configs"
for cfg in "${cfgs[@]}"; do
    read -r ring frame words <<<"$cfg"
    opt=() lg=${words:-off}; lg=${lg// /+}
    for w in $words; do
        case $w in log|mrg) opt+=(--$w) ;; *) echo "cost.sh: unknown option $w in $cfg" >&2; exit 2 ;; esac
    done
    common=("${opt[@]}" --backend refnet --ring "$ring" --frame "$frame" --warmup 0 --seconds 600
            --frames "$frames" --timeout 30000 --stall 20000)
    # refnet under callgrind, the generator native and in lock step
    sock=$work/r.sock out=$work/refnet.cg log=$work/refnet.log
    rm -f "$sock"
    taskset -c 1 "${vg[@]}" --callgrind-out-file="$out" --toggle-collect=ref_fwd_burst \
        "$refnet" --socket "$sock" --once 2>"$log" &
    bg=$!
    wait_sock "$sock" || { echo "cost.sh: refnet under valgrind did not start" >&2; exit 1; }
    taskset -c 0 "$bench" --socket "$sock" "${common[@]}" --lockstep >"$work/line" 2>&1 \
        || { cat "$work/line"; exit 1; }
    stop_bg
    n=$(frames_of "$log")
    read -r ir d1 ll < <(totals "$out")
    awk -v s=refnet -v r="$ring" -v f="$frame" -v l="$lg" -v n="$n" -v ir="$ir" -v d1="$d1" -v ll="$ll" \
        'BEGIN { printf "%-6s %-7s %5s %-7s %9d %10.1f %9.2f %9.2f\n", s, r, f, l, n, ir / n, d1 / n, ll / n }'
    # the generator under callgrind, refnet native and polling
    sock=$work/g.sock out=$work/gen.cg log=$work/gen-refnet.log
    rm -f "$sock"
    taskset -c 1 "$refnet" --socket "$sock" --poll --once 2>"$log" &
    bg=$!
    wait_sock "$sock" || { echo "cost.sh: refnet did not start" >&2; exit 1; }
    taskset -c 0 "${vg[@]}" --callgrind-out-file="$out" --toggle-collect=post_batch \
        --toggle-collect=mfe_net_reclaim_tx --toggle-collect=mfe_net_rx_poll \
        --toggle-collect=mfe_net_rx_refill --toggle-collect=mfe_ring_kick \
        "$bench" --socket "$sock" "${common[@]}" >"$work/line" 2>"$work/gen.err" \
        || { cat "$work/line" "$work/gen.err"; exit 1; }
    stop_bg
    n=$(sed -n 's/.* rx=\([0-9]*\) .*/\1/p' "$work/line")
    read -r ir d1 ll < <(totals "$out")
    awk -v s=gen -v r="$ring" -v f="$frame" -v l="$lg" -v n="$n" -v ir="$ir" -v d1="$d1" -v ll="$ll" \
        'BEGIN { printf "%-6s %-7s %5s %-7s %9d %10.1f %9.2f %9.2f\n", s, r, f, l, n, ir / n, d1 / n, ll / n }'
done
