#!/usr/bin/env bash
# (e) QMP stop and cont while the guest sends: the rings stop
# (GET_VRING_BASE) and restart from the saved index; not a frame is lost
# or duplicated across the pause.
. "$(dirname "$0")/lib.sh"
sock=$run/vu.sock
refnet_start --socket "$sock"
wait_socket "$sock"
mapfile -t nic < <(vhost_user_net 1 "$sock")
guest_boot g1 "${nic[@]}"
net_up g1 10.77.0.1
read -r tx0 rx0 <<< "$(counters g1)"
bg_ping g1 300
sleep 1
for round in 1 2; do
    stop_cont g1 2
    sleep 1
done
wait_bg g1
all_back g1 "$tx0" "$rx0"
guest_poweroff g1
refnet_check
echo "ok: stop/cont twice during traffic, nothing lost"
