#!/usr/bin/env bash
# (d) The guest's driver unbinds and rebinds the device (QEMU stops the
# vhost device, then starts it from fresh rings at base 0), twice; frames
# loop before and after each time.
. "$(dirname "$0")/lib.sh"
sock=$run/vu.sock
refnet_start --socket "$sock"
wait_socket "$sock"
mapfile -t nic < <(vhost_user_net 1 "$sock")
guest_boot g1 "${nic[@]}"
net_up g1 10.77.0.1
loop_traffic g1 100
for round in 1 2; do
    rebind g1 10.77.0.1
    loop_traffic g1 100
done
guest_poweroff g1
refnet_check
echo "ok: unbind/bind twice, frames loop after each"
