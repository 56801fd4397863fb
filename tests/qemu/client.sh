#!/usr/bin/env bash
# (a) QEMU as chardev client: vhost-refnet listens, QEMU connects; the guest
# brings eth0 up and every frame it sends comes back through refnet's
# loopback; refnet's per-ring counters agree; the guest powers off cleanly.
. "$(dirname "$0")/lib.sh"
sock=$run/vu.sock
refnet_start --socket "$sock"
wait_socket "$sock"
mapfile -t nic < <(vhost_user_net 1 "$sock")
boot_loop_check g1 "${nic[@]}"
echo "ok: client mode, 200 frames looped"
