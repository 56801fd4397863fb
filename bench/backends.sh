# Sourced by run.sh: the back ends it starts and stops, and the virtio-user
# front end.  CPU layout (README.md): back ends forward on CPU 1, front
# ends on CPU 0.  Uses run.sh's work, pids, refnet, qsize, warmup, seconds.

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
        --stats-period 3600 --nb-cores=1 --txq=1 --rxq=1 --record-core-cycles >"$2" 2>&1 &
    pids+=($!)
}

# The back end's busy cycles per frame, from its log after it stopped (or
# OVS's PMD stats): the TSC cycles of the bursts that moved frames, divided
# by the frames, counted alike by all three: testpmd --record-core-cycles
# ("CPU cycles/packet"), vhost-refnet's stats (TX ring: cycles, packets),
# OVS's "avg processing cycles per packet".  "-" when not found.
cycles_of() { # KIND LOG
    local v=
    case $1 in
        dpdk) v=$(sed -n 's/.*CPU cycles\/packet=\([0-9.]*\).*/\1/p' "$2" | tail -1) ;;
        refnet) v=$(awk '/refnet: stats ring=1 dir=tx/ { p = c = 0
                      for (i = 1; i <= NF; i++) { split($i, f, "=")
                          if (f[1] == "packets") p = f[2]; if (f[1] == "cycles") c = f[2] } }
                      END { if (p > 0 && c > 0) printf "%.1f", c / p }' "$2") ;;
        ovs) v=$(ovs-appctl -t "$OVS_RUNDIR/ovs-vswitchd.ctl" dpif-netdev/pmd-stats-show 2>/dev/null |
                 sed -n 's/.*avg processing cycles per packet: \([0-9.]*\).*/\1/p' | head -1) ;;
    esac
    echo "${v:--}"
}

# vhost-refnet on CPU 1; REFNET_ARGS, when set, replaces the arguments given.
start_refnet() { # SOCK LOG ARGS...
    local sock=$1 log=$2
    shift 2
    # shellcheck disable=SC2086
    taskset -c 1 "$refnet" --socket "$sock" ${REFNET_ARGS-$@} >"$log" 2>&1 &
    pids+=($!)
}

# virtio-user front end, flowgen (sends, and receives and frees what comes
# back), against BACKEND (dpdk: testpmd's net_vhost; refnet: vhost-refnet
# --poll --equal-work); the mean Rx-pps testpmd reports after the warm-up.
run_vu() { # BACKEND RING FRAME
    local sock=$work/vu.sock log=$work/vu.log vlog=$work/vu-vhost.log packed=0
    [[ $2 == packed ]] && packed=1
    rm -f "$sock"
    if [[ $1 == refnet ]]; then start_refnet "$sock" "$vlog" --poll --equal-work
    else testpmd_vhost "$sock" "$vlog"; fi
    local vhost=${pids[-1]}
    for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.1; done
    # flowgen subtracts 4 bytes of FCS from --txpkts.  testpmd prints about
    # every 2 s however short the period; Rx-pps is over the real interval,
    # so: drop the samples up to the first non-zero one (start-up, warm-up),
    # average the rest.  6 s covers EAL and mempool start-up.  A testpmd
    # that does not stop within 10 s of its SIGINT is killed (one was seen
    # to go on 14 minutes past its SIGINT).
    timeout -s INT -k 10 $((${warmup%.*} + ${seconds%.*} + 10)) \
        dpdk-testpmd -l 0-1 --main-lcore 1 --no-huge -m 512 --no-pci --file-prefix vhc-bench-vu \
        --vdev "net_virtio_user0,path=$sock,queues=1,queue_size=$qsize,mrg_rxbuf=0,in_order=0,packed_vq=$packed" \
        -- --forward-mode=flowgen --txpkts=$(($3 + 4)) --total-num-mbufs=32768 --stats-period 1 \
        --nb-cores=1 --txq=1 --rxq=1 >"$log" 2>&1
    stop_pid "$vhost"; unset 'pids[-1]'
    local kind=dpdk; [[ $1 == refnet ]] && kind=refnet
    awk -v frame="$3" -v cpf="$(cycles_of $kind "$vlog")" '
        /Rx-pps:/ { if (warm) { s += $2; m++ } else if ($2 > 0) warm = 1 }
        /RX-packets:.*RX-bytes:/ { p = $2; b = $6 }
        END {
            if (m == 0 || s == 0) { print "0 0 0 - fail no_Rx-pps_samples_after_warm-up"; exit }
            if (p > 0 && int(b / p + 0.5) != frame) { print "0 0 0 - fail frame_" int(b / p) "_bytes"; exit }
            printf "%.0f %.3f 0 %s ok -\n", s / m, s / m * frame * 8 / 1e9, cpf
        }' "$log"
}
