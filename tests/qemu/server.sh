#!/usr/bin/env bash
# (b) QEMU as chardev server (server=on,wait=off): QEMU listens and waits in
# netdev init until vhost-refnet (--client) connects; then as (a).
. "$(dirname "$0")/lib.sh"
sock=$run/vu.sock
mapfile -t nic < <(vhost_user_net 1 "$sock" ,server=on,wait=off)
# refnet retries its connect until QEMU listens
refnet_start --socket "$sock" --client
boot_loop_check g1 "${nic[@]}"
echo "ok: server mode, 200 frames looped"
