#!/usr/bin/env bash
# (h) Packed rings (packed=on): frames loop; QMP stop/cont during traffic
# loses nothing (the saved index carries the wrap counter); the driver
# unbinds and rebinds, and frames loop again.
. "$(dirname "$0")/lib.sh"
sock=$run/vu.sock
refnet_start --socket "$sock"
wait_socket "$sock"
mapfile -t nic < <(vhost_user_net 1 "$sock" "" ,packed=on)
guest_boot g1 "${nic[@]}"
net_up g1 10.77.0.1
# bit 34 of the negotiated features (the guest's view) is RING_PACKED
f=$(gsh g1 'cat /sys/class/net/eth0/device/features')
[[ "${f:34:1}" == 1 ]] || fail "the guest did not negotiate packed rings: $f"
loop_traffic g1 100
read -r tx0 rx0 <<< "$(counters g1)"
bg_ping g1 300
sleep 1
stop_cont g1 2
wait_bg g1
all_back g1 "$tx0" "$rx0"
rebind g1 10.77.0.1
loop_traffic g1 300
guest_poweroff g1
refnet_check
echo "ok: packed rings: traffic, stop/cont, rebind"
