#!/usr/bin/env bash
# record-traces.sh OUTDIR [NAME...] — record what a real QEMU sends to real
# back ends, scenario by scenario, with vhost-conform's recording proxy.
#
#   VC=build/harness/vhost-conform GUEST=build/guest \
#   QEMU=/path/qemu-system-x86_64 QEMU_ARGS='-L /path/pc-bios' \
#   RECONNECT_OPT=reconnect-ms=1000 scripts/record-traces.sh fixtures/qemu-10.2
#
# Each NAME (default: all below) writes OUTDIR/NAME.log and NAME.raw.  The
# net back end is dpdk-testpmd (--no-huge, io forwarding on a looped port,
# as the QEMU 7.2 fixtures were recorded), blk is qemu-storage-daemon, fs is
# virtiofsd.  The guest is scripts/make-guest.sh's; the front end's socket
# is the proxy's, which connects on to the back end's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: record-traces.sh OUTDIR [NAME...]}
shift
mkdir -p "$out"
out=$(cd "$out" && pwd)
: "${VC:?VC must name the vhost-conform binary}"
# shellcheck source=../tests/qemu/lib.sh
. "$here/../tests/qemu/lib.sh"

# name | device | description
scenarios=(
  "a1_init_client|net|netdev init only, no guest (-S), QEMU chardev client; then QMP quit"
  "a4_init_mq|net|netdev init only (-S), queues=2, mq=on; then QMP quit"
  "a5_init_reconnect|net|netdev init only (-S), chardev client with reconnect (1 s); then QMP quit"
  "b1_boot|net|guest boots, eth0 up, 20 frames looped by testpmd, poweroff -f"
  "b2_boot_mq|net|as b1_boot with queues=2, mq=on, -smp 2 (the guest enables both pairs)"
  "c1_guest_cycle|net|boot; ip link down/up; unbind/bind of virtio_net; rmmod/insmod; poweroff"
  "d1_reconnect_client|net|boot (chardev reconnect, 1 s); testpmd SIGKILLed, restarted 2 s later; QEMU reconnects; QMP quit"
  "d2_reconnect_mq|net|as d1_reconnect_client with queues=2, mq=on, -smp 2"
  "h1_host_cycle|net|boot; QMP stop, cont (vhost stops and restarts from the saved index); poweroff"
  "h2_link_cycle|net|boot; QMP set_link off, on; poweroff"
  "h3_reset|net|boot; QMP system_reset; the guest boots again; poweroff"
  "e1_blk_init|blk|vhost-user-blk-pci init only (-S); then QMP quit"
  "e2_blk_boot|blk|blk device started by the firmware, then by Linux: reads 256 KiB, writes a sector with fsync, poweroff -f"
  "f1_fs_init|fs|vhost-user-fs-pci init only (-S); then QMP quit"
  "f2_fs_boot|fs|the guest mounts the virtiofs share, reads a file, unmounts, poweroff -f"
)

be_sock=$run/be.sock
fe_sock=$run/fe.sock
be_cmd=()

# the back end of a device, listening on $be_sock; queue pairs for net
backend_start() {
    local dev=$1 pairs=${2:-1}
    rm -f "$be_sock"
    case $dev in
    net)
        be_cmd=(dpdk-testpmd -l 0-1 --no-huge -m 256 --no-pci --file-prefix "vhc-rec$$"
                --vdev "net_vhost0,iface=$be_sock,queues=$pairs" --
                --stats-period 3600 --total-num-mbufs=16384 --port-topology=loop
                --forward-mode=io --nb-cores=1 --rxq="$pairs" --txq="$pairs") ;;
    blk)
        [[ -f "$run/disk.img" ]] || truncate -s 64M "$run/disk.img"
        be_cmd=(qemu-storage-daemon --blockdev "driver=file,node-name=file,filename=$run/disk.img"
                --export "type=vhost-user-blk,id=exp,node-name=file,addr.type=unix,addr.path=$be_sock,writable=on") ;;
    fs)
        mkdir -p "$run/share"
        echo "hello from the host" > "$run/share/hello"
        be_cmd=(/usr/lib/qemu/virtiofsd "--socket-path=$be_sock" -o "source=$run/share"
                -o sandbox=chroot -o cache=none) ;;
    esac
    spawn "$run/backend.log" "${be_cmd[@]}"
    be_pid=$spawned
    local deadline=$((SECONDS + $(secs 30)))
    until [[ -S "$be_sock" ]]; do
        kill -0 "$be_pid" 2>/dev/null || fail "back end exited: $(tail -n 5 "$run/backend.log")"
        ((SECONDS < deadline)) || fail "back end did not listen on $be_sock"
        sleep 0.1
    done
}

backend_kill() {
    kill -KILL "$be_pid" 2>/dev/null || true   # virtiofsd exits with its front end
    wait "$be_pid" 2>/dev/null || true
}

proxy_start() {
    local name=$1 dev=$2
    rm -f "$fe_sock"
    spawn "$run/proxy.log" "$VC" record --listen "$fe_sock" --connect "$be_sock" \
        --log "$run/$name.log" --raw "$run/$name.raw" --device "$dev" --wait 60
    proxy_pid=$spawned
    local deadline=$((SECONDS + $(secs 10)))
    until [[ -S "$fe_sock" ]]; do
        ((SECONDS < deadline)) || fail "proxy did not listen: $(cat "$run/proxy.log")"
        sleep 0.05
    done
}

# the proxy writes its files out on SIGTERM
proxy_stop() {
    sleep 0.5
    kill -TERM "$proxy_pid" 2>/dev/null || true
    wait "$proxy_pid" 2>/dev/null || true
}

device_args() { # DEVICE CHARDEV-OPTIONS NETDEV-OPTIONS DEVICE-OPTIONS
    local chr="socket,id=chr0,path=$fe_sock$2"
    case $1 in
    net) printf '%s\n' -chardev "$chr" -netdev "vhost-user,id=net0,chardev=chr0$3" \
             -device "virtio-net-pci,netdev=net0,vectors=0$4" ;;
    blk) printf '%s\n' -chardev "$chr" -device "vhost-user-blk-pci,chardev=chr0,vectors=0$4" ;;
    fs)  printf '%s\n' -chardev "$chr" -device "vhost-user-fs-pci,chardev=chr0,tag=myfs$4" ;;
    esac
}

traffic() { loop_traffic g 20 100; }

# ---- the scenarios: what the guest and the host do ----
sc_init() { qemu_start g "${dev_args[@]}" -S; sleep "$(secs 3)"; qemu_quit g; }
sc_boot() { guest_boot g "${dev_args[@]}"; net_up g 10.77.0.1; traffic; guest_poweroff g; }
sc_guest_cycle() {
    guest_boot g "${dev_args[@]}"
    net_up g 10.77.0.1
    traffic
    gsh g 'ip link set eth0 down'
    sleep 1
    gsh g 'ip link set eth0 up'
    wait_carrier g 1
    rebind g 10.77.0.1
    traffic
    gsh g 'rmmod virtio_net'
    gsh g 'insmod /lib/modules/virtio_net.ko'
    net_up g 10.77.0.1
    traffic
    guest_poweroff g
}
sc_reconnect() {
    guest_boot g "${dev_args[@]}"
    net_up g 10.77.0.1
    traffic
    backend_kill
    wait_carrier g 0
    sleep 2
    backend_start net "$pairs"
    wait_carrier g 1
    traffic
    qemu_quit g
}
sc_host_cycle() {
    guest_boot g "${dev_args[@]}"
    net_up g 10.77.0.1
    traffic
    stop_cont g 1
    traffic
    guest_poweroff g
}
sc_link_cycle() {
    guest_boot g "${dev_args[@]}"
    net_up g 10.77.0.1
    traffic
    qmp g '{"execute":"set_link","arguments":{"name":"net0","up":false}}'
    wait_carrier g 0
    qmp g '{"execute":"set_link","arguments":{"name":"net0","up":true}}'
    wait_carrier g 1
    traffic
    guest_poweroff g
}
sc_reset() {
    NO_REBOOT= guest_boot g "${dev_args[@]}"
    net_up g 10.77.0.1
    traffic
    qmp g '{"execute":"system_reset"}'
    wait_ready g
    net_up g 10.77.0.1
    traffic
    guest_poweroff g
}
sc_blk_boot() {
    guest_boot g "${dev_args[@]}"
    gsh g 'dd if=/dev/vda of=/dev/null bs=64k count=4 && dd if=/dev/zero of=/dev/vda bs=512 count=1 conv=fsync'
    guest_poweroff g
}
sc_fs_boot() {
    guest_boot g "${dev_args[@]}"
    gsh g 'mount -t virtiofs myfs /mnt && cat /mnt/hello && umount /mnt' | grep -q 'hello from the host' ||
        fail "the guest did not read the share"
    guest_poweroff g
}

record_one() {
    local name=$1 dev=$2 desc=$3 chopts="" ndopts="" dvopts="" body
    pairs=1
    SMP="-smp 1"
    case $name in
    *_mq) pairs=2 SMP="-smp 2" ndopts=",queues=2" dvopts=",mq=on" ;;
    esac
    case $name in
    *reconnect*) chopts=",${RECONNECT_OPT:-reconnect=1}" ;;
    esac
    case $name in
    *_init*) body=sc_init ;;
    b*_boot*) body=sc_boot ;;
    c1_*) body=sc_guest_cycle ;;
    d*) body=sc_reconnect ;;
    h1_*) body=sc_host_cycle ;;
    h2_*) body=sc_link_cycle ;;
    h3_*) body=sc_reset ;;
    e2_*) body=sc_blk_boot ;;
    f2_*) body=sc_fs_boot ;;
    esac
    mapfile -t dev_args < <(device_args "$dev" "$chopts" "$ndopts" "$dvopts")
    backend_start "$dev" "$pairs"
    proxy_start "$name" "$dev"
    say "recording $name"
    "$body"
    proxy_stop
    backend_kill
    {
        echo "# vhost-user trace: $name"
        echo "# description: $desc"
        echo "# recorded: $(date -u +%Y-%m-%dT%H:%M:%SZ) with scripts/record-traces.sh"
        echo "# qemu version: $("$QEMU" --version | head -n 1)"
        echo "# qemu: $QEMU $QEMU_ARGS -machine q35 -accel tcg -m 256 $SMP ${dev_args[*]} (guest: scripts/make-guest.sh)"
        echo "# backend: ${be_cmd[*]}"
        grep -v '^# vhost-user trace:' "$run/$name.log"
    } | sed "s|$run|\$RUN|g" > "$out/$name.log"
    cp "$run/$name.raw" "$out/$name.raw"
    say "$name: $(grep -c '^[0-9]' "$out/$name.log") messages"
}

for row in "${scenarios[@]}"; do
    IFS='|' read -r name dev desc <<< "$row"
    if (($#)); then
        want=0
        for n in "$@"; do [[ "$n" == "$name" ]] && want=1; done
        ((want)) || continue
    fi
    record_one "$name" "$dev" "$desc"
done
