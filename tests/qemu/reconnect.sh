#!/usr/bin/env bash
# (f) vhost-refnet is SIGKILLed while the guest sends, and started again
# on the same socket; QEMU (reconnect=1) connects again and restarts the
# rings from its saved index: the carrier comes back, frames loop again,
# and the guest stayed up throughout.
. "$(dirname "$0")/lib.sh"
sock=$run/vu.sock
refnet_start --socket "$sock"
wait_socket "$sock"
mapfile -t nic < <(vhost_user_net 1 "$sock" ,reconnect=1)
guest_boot g1 "${nic[@]}"
net_up g1 10.77.0.1
loop_traffic g1 50
for round in 1 2; do
    bg_ping g1 100
    sleep 1
    refnet_kill
    say "vhost-refnet killed (round $round)"
    wait_carrier g1 0
    rm -f "$sock"
    refnet_start --socket "$sock"
    wait_socket "$sock"
    wait_carrier g1 1
    say "carrier back after restart (round $round)"
    wait_bg g1
    loop_traffic g1 100
done
guest_poweroff g1
refnet_check
echo "ok: two kills and restarts, the guest stayed up and frames loop again"
