#!/usr/bin/env bash
# (b) QEMU as chardev server (server=on,wait=off): QEMU listens and waits in
# netdev init until vhost-refnet (--client) connects; then as (a).
. "$(dirname "$0")/lib.sh"
sock=$run/vu.sock
mapfile -t nic < <(vhost_user_net 1 "$sock" ,server=on,wait=off)
# refnet retries its connect until QEMU listens
refnet_start --socket "$sock" --client
guest_boot g1 "${nic[@]}"
net_up g1 10.77.0.1
loop_traffic g1 200
stats=$(refnet_stats)
say "refnet: $(tr '\n' ' ' <<< "$stats")"
grep -Eq 'ring=1 packets=(2[0-9][0-9]|[3-9][0-9][0-9]|[0-9]{4,})' <<< "$stats" ||
    fail "refnet's TX ring counted fewer than 200 frames"
guest_poweroff g1
refnet_check
echo "ok: server mode, 200 frames looped"
