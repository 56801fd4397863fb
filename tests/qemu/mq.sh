#!/usr/bin/env bash
# (g) Two queue pairs (queues=2, mq=on, 2 vCPUs): QEMU runs one vhost device
# per pair on the one connection, each with its own memory table.  Pings
# pinned to each vCPU use both TX queues; every frame comes back, and
# vhost-refnet's counters show traffic on all four rings.
. "$(dirname "$0")/lib.sh"
sock=$run/vu.sock
refnet_start --socket "$sock" --queues 2
wait_socket "$sock"
SMP="-smp 2"
NETDEV_OPTS=",queues=2"
mapfile -t nic < <(vhost_user_net 1 "$sock" "" ,mq=on)
guest_boot g1 "${nic[@]}"
net_up g1 10.77.0.1
grep -q 'vhost_set_mem_table failed\|falling back' "$run/g1.qemu" &&
    fail "QEMU fell back from vhost: $(cat "$run/g1.qemu")"
read -r tx0 rx0 <<< "$(counters g1)"
bg_ping g1 150 0
bg_ping g1 150 1
wait_bg g1
all_back g1 "$tx0" "$rx0"
stats=$(refnet_stats)
say "refnet: $(tr '\n' ' ' <<< "$stats")"
for ring in 0 1 2 3; do
    n=$(sed -n "s/^ring=$ring packets=//p" <<< "$stats")
    (( ${n:-0} >= 20 )) || fail "ring $ring carried ${n:-no} frames"
done
guest_poweroff g1
refnet_check
echo "ok: two queue pairs, all four rings carried traffic"
