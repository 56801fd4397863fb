#!/usr/bin/env bash
# (a) QEMU as chardev client: vhost-refnet listens, QEMU connects; the guest
# brings eth0 up and every frame it sends comes back through refnet's
# loopback; refnet's per-ring counters agree; the guest powers off cleanly.
. "$(dirname "$0")/lib.sh"
sock=$run/vu.sock
refnet_start --socket "$sock"
wait_socket "$sock"
mapfile -t nic < <(vhost_user_net 1 "$sock")
guest_boot g1 "${nic[@]}"
net_up g1 10.77.0.1
loop_traffic g1 200
stats=$(refnet_stats)
say "refnet: $(tr '\n' ' ' <<< "$stats")"
grep -Eq 'ring=1 packets=(2[0-9][0-9]|[3-9][0-9][0-9]|[0-9]{4,})' <<< "$stats" ||
    fail "refnet's TX ring counted fewer than 200 frames"
guest_poweroff g1
refnet_check
echo "ok: client mode, 200 frames looped"
