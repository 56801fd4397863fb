#!/usr/bin/env bash
# virtio-user.sh BACKEND VARIANT [SECONDS]
#   BACKEND  path to vhost-refnet, or "dpdk" for testpmd's own net_vhost
#            (the control: it shows the script itself is sound)
#   VARIANT  split | packed | nomrg | inorder
#
# A real front end drives a loopback back end: dpdk-testpmd with
# net_virtio_user, interactive, io forwarding.  `start tx_first 4` puts 128
# frames in flight; each one the back end loops to RX is forwarded again, so
# the same frames circulate until `stop`.  Then, from `show port stats all`:
#   - frames must have gone round (RX well above the first bursts),
#   - TX - RX = frames still in flight at the stop, between 0 and 128:
#     a back end that drops makes it shrink for good, one that duplicates or
#     invents frames makes RX pass TX,
#   - no RX or TX errors.
# The back end's own counters (testpmd's and vhost-refnet's, printed on
# SIGINT) must mirror the front end's: back-end RX = front-end TX, back-end TX = front RX
# plus what was left unread in the front end's RX ring at the stop.
set -euo pipefail

backend=${1:?backend}
variant=${2:?variant}
secs=${3:-3}
burst_frames=128          # tx_first 4 x burst 32
min_rounds=1000           # RX must exceed the first bursts by this much

declare -A vdev_opts=(
    [split]=""
    [packed]=",packed_vq=1"
    [nomrg]=",mrg_rxbuf=0"
    [inorder]=",in_order=1"
)
[[ -v vdev_opts[$variant] ]] || { echo "unknown variant $variant" >&2; exit 2; }

work=$(mktemp -d /tmp/vhc-vu.XXXXXX)
sock=$work/sock
be_pid=
cleanup() {
    [[ -n $be_pid ]] && kill "$be_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

eal_common="--no-huge -m 256 --no-pci"

start_backend() {
    if [[ $backend == dpdk ]]; then
        # main lcore 0, forwarding lcore 1; the front end takes the opposite
        dpdk-testpmd -l 0-1 $eal_common --file-prefix vhc-vu-be \
            --vdev "net_vhost0,iface=$sock" -- --total-num-mbufs=16384 \
            --forward-mode=io --stats-period 3600 > "$work/backend.out" 2>&1 &
    else
        "$backend" --socket "$sock" > "$work/backend.out" 2>&1 &
    fi
    be_pid=$!
    for _ in $(seq 100); do
        [[ -S $sock ]] && return 0
        kill -0 "$be_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "back end did not create $sock within 10 s" >&2
    tail -20 "$work/backend.out" >&2
    exit 1
}

# The commands, paced: testpmd reads them one by one from stdin.
commands() {
    sleep 2
    echo "start tx_first 4"
    sleep "$secs"
    echo "stop"
    sleep 1
    echo "show port stats all"
    sleep 1
    echo "quit"
}

run_frontend() {
    commands | timeout $((secs + 30)) dpdk-testpmd -l 0-1 --main-lcore 1 $eal_common \
        --file-prefix vhc-vu \
        --vdev "net_virtio_user0,path=$sock,queues=1${vdev_opts[$variant]}" \
        -- -i --total-num-mbufs=16384 --forward-mode=io --rxq=1 --txq=1 \
        > "$work/frontend.out" 2>&1 || {
        echo "front end (testpmd virtio_user) failed:" >&2
        tail -30 "$work/frontend.out" >&2
        exit 1
    }
}

# field FILE KEY: the last "KEY: N" value in FILE's port statistics block
field() {
    sed -n '/NIC statistics for port 0/,$p' "$1" | grep -o "$2: *[0-9]*" | tail -1 |
        grep -o '[0-9]*$'
}

# backend_field KEY: from testpmd's closing forward statistics
backend_field() {
    grep -o "$1: *[0-9]*" "$work/backend.out" | tail -1 | grep -o '[0-9]*$'
}

fail() {
    echo "FAIL ($variant): $*" >&2
    echo "--- front end ---" >&2; tail -40 "$work/frontend.out" >&2
    echo "--- back end ---" >&2; tail -20 "$work/backend.out" >&2
    exit 1
}

start_backend
run_frontend
rx=$(field "$work/frontend.out" RX-packets) || true
tx=$(field "$work/frontend.out" TX-packets) || true
rx_err=$(field "$work/frontend.out" RX-errors) || true
tx_err=$(field "$work/frontend.out" TX-errors) || true
[[ -n $rx && -n $tx ]] || fail "no port statistics in the front end's output"
echo "front end: TX $tx, RX $rx, RX-errors ${rx_err:-?}, TX-errors ${tx_err:-?}"

inflight=$((tx - rx))
((rx >= burst_frames + min_rounds)) ||
    fail "frames did not go round: RX $rx after ${secs}s (want >= $((burst_frames + min_rounds)))"
((inflight >= 0)) || fail "RX $rx exceeds TX $tx: the back end duplicated or invented frames"
((inflight <= burst_frames)) ||
    fail "TX $tx - RX $rx = $inflight frames missing: more than the $burst_frames in flight"
((${rx_err:-0} == 0 && ${tx_err:-0} == 0)) || fail "errors: RX $rx_err, TX $tx_err"

# The back end's own counters: testpmd and vhost-refnet print them on SIGINT.
kill -INT "$be_pid"
for _ in $(seq 50); do kill -0 "$be_pid" 2>/dev/null || break; sleep 0.1; done
be_pid=
if [[ $backend == dpdk ]]; then
    be_rx=$(backend_field RX-packets) || true
    be_tx=$(backend_field TX-packets) || true
else
    # vhost-refnet on exit: "stats ring=N dir=rx|tx packets=N ..."; its
    # ring 1 (dir tx) carries the guest's TX, ring 0 (dir rx) the guest's RX
    be_rx=$(grep -o 'ring=1 dir=tx packets=[0-9]*' "$work/backend.out" | tail -1 |
            grep -o '[0-9]*$') || true
    be_tx=$(grep -o 'ring=0 dir=rx packets=[0-9]*' "$work/backend.out" | tail -1 |
            grep -o '[0-9]*$') || true
fi
echo "back end: RX $be_rx, TX $be_tx"
[[ -n $be_rx && -n $be_tx ]] || fail "no counters in the back end's output"
[[ $be_rx == "$tx" ]] || fail "back end received $be_rx frames, the front end sent $tx"
# frames the back end sent after the front end stopped polling wait in the
# front end's RX ring: at most what was in flight
unread=$((be_tx - rx))
((unread >= 0 && unread <= burst_frames)) ||
    fail "back end sent $be_tx frames, the front end received $rx"
echo "ok: $((rx)) frames looped, $inflight in flight at the stop"
