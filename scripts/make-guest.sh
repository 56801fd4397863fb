#!/usr/bin/env bash
# make-guest.sh OUTDIR — a tiny Linux guest for the real-QEMU tests, from
# Debian packages only: the kernel of linux-image-amd64 and busybox-static.
#
# OUTDIR gets vmlinuz and initrd.img.  The initramfs loads the virtio
# modules (net, blk, fs) and then serves a command channel on the second
# serial port (ttyS1): it prints "VHC-READY" once, then reads one shell
# command per line, runs it, and answers with its output followed by
# "VHC-END <status>".  The console (ttyS0) stays free for kernel messages.
# Rebuilt only when the kernel or busybox changed.
set -euo pipefail
out=${1:?usage: make-guest.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)

kdir=$(ls -d /lib/modules/*/kernel/drivers/net 2>/dev/null | sort -V | tail -n 1)
[[ -n "$kdir" ]] || { echo "make-guest: no kernel modules (install linux-image-amd64)" >&2; exit 1; }
kver=$(basename "$(dirname "$(dirname "$(dirname "$kdir")")")")
kernel=/boot/vmlinuz-$kver
busybox=/bin/busybox
[[ -r "$kernel" ]] || { echo "make-guest: $kernel missing" >&2; exit 1; }
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' ||
    { echo "make-guest: $busybox is not static (install busybox-static)" >&2; exit 1; }

stamp="$kver $(sha256sum "$busybox" "$0" | awk '{print $1}' | tr '\n' ' ')"
if [[ -f "$out/stamp" && "$(cat "$out/stamp")" == "$stamp" && -f "$out/initrd.img" ]]; then
    exit 0
fi

moddir=/lib/modules/$kver
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,mnt,lib/modules}
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"

# Modules with their dependencies, each after what it needs (modinfo's
# depends field), so init can insmod them in file order.
declare -A seen=()
order=()
add_module() {
    local name=$1 path dep
    [[ -n "${seen[$name]:-}" ]] && return 0
    seen[$name]=1
    path=$(modinfo -k "$kver" -n "$name" 2>/dev/null) || return 0
    [[ "$path" == /* ]] || return 0          # built in
    for dep in $(modinfo -k "$kver" -F depends "$name" | tr ',' ' '); do
        add_module "$dep"
    done
    cp "$path" "$root/lib/modules/"
    order+=("$(basename "$path")")
}
for m in virtio_pci virtio_net virtio_blk virtiofs; do
    add_module "$m"
done
printf '%s\n' "${order[@]}" > "$root/lib/modules/order"

cat > "$root/init" <<'EOF'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /lib/modules/order); do
    insmod /lib/modules/$m 2>/dev/null
done
ip link set lo up
# fd 3 holds the command port open from here on: a tty that nobody has
# open drops what arrives
exec 3<> /dev/ttyS1
stty raw -echo <&3
echo VHC-READY >&3
while read -r line <&3; do
    sh -c "$line" < /dev/null >&3 2>&3 3>&-
    echo "VHC-END $?" >&3
done
poweroff -f
EOF
chmod +x "$root/init"

(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.img.tmp"
mv "$out/initrd.img.tmp" "$out/initrd.img"
cp "$kernel" "$out/vmlinuz"
echo "$stamp" > "$out/stamp"
echo "make-guest: $out (kernel $kver, modules: ${order[*]})" >&2
