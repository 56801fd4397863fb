#!/usr/bin/env bash
# (c) Two guests on one vhost-refnet in switch mode (one port each): they
# ping each other, and 4 MiB of random data move over TCP (HTTP) in each
# direction with their checksums compared.
. "$(dirname "$0")/lib.sh"
refnet_start --mode switch --socket "$run/a.sock" --socket "$run/b.sock"
wait_socket "$run/a.sock"
wait_socket "$run/b.sock"
mapfile -t nic1 < <(vhost_user_net 1 "$run/a.sock")
mapfile -t nic2 < <(vhost_user_net 2 "$run/b.sock")
guest_boot ga "${nic1[@]}"
guest_boot gb "${nic2[@]}"
net_up ga 10.77.0.1
net_up gb 10.77.0.2
ping_ok ga 10.77.0.2
ping_ok gb 10.77.0.1
for side in "ga gb 10.77.0.1" "gb ga 10.77.0.2"; do
    read -r server client addr <<< "$side"
    gsh "$server" 'mkdir -p /www && dd if=/dev/urandom of=/www/blob bs=64k count=64 2>/dev/null && httpd -p 80 -h /www'
    want=$(gsh "$server" 'sha256sum /www/blob' | awk '{print $1}')
    got=$(gsh "$client" "wget -q -O - http://$addr/blob | sha256sum" 120 | awk '{print $1}')
    say "$server -> $client: sent $want, received $got"
    [[ -n "$want" && "$want" == "$got" ]] || fail "4 MiB from $server to $client arrived changed"
done
guest_poweroff ga
guest_poweroff gb
refnet_check
echo "ok: two guests through switch mode, 2 x 4 MiB intact"
