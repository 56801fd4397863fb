# Shared steps of the real-QEMU tests (sourced).  A test boots tiny guests
# (scripts/make-guest.sh) under Debian's qemu-system-x86_64 with TCG against
# vhost-refnet, drives them through their command serial port, and asserts
# what the guests see.  Every wait has a deadline (scaled by
# VHC_TIMEOUT_SCALE); everything started is killed and the run directory
# removed on exit, whatever happened.
#
# Environment: REFNET (vhost-refnet binary, for the tests that start it),
# GUEST (directory with vmlinuz and initrd.img), QEMU (default qemu-system-x86_64), QEMU_ARGS (extra
# arguments, e.g. -L DIR for a QEMU built from source).

set -euo pipefail
: "${GUEST:?GUEST must name the guest directory}"
REFNET=${REFNET:-}
QEMU=${QEMU:-qemu-system-x86_64}
QEMU_ARGS=${QEMU_ARGS:-}
scale=${VHC_TIMEOUT_SCALE:-1}
run=$(mktemp -d /tmp/vhc-qemu.XXXXXX)
declare -A qemu_pid=() cmd_in=() cmd_out=()
refnet_pid=
other_pids=()     # anything else started (spawn)

say() { echo "# $*" >&2; }
fail() {
    echo "FAIL: $*" >&2
    for f in "$run"/*.console; do
        [[ -f "$f" ]] && { echo "--- last lines of $(basename "$f")" >&2; tail -n 15 "$f" >&2; }
    done
    [[ -f "$run/refnet.err" ]] && { echo "--- vhost-refnet stderr" >&2; tail -n 30 "$run/refnet.err" >&2; }
    exit 1
}
secs() { awk -v s="$1" -v k="$scale" 'BEGIN { printf "%d", s * k + 0.5 }'; }

cleanup() {
    local p
    for p in "${qemu_pid[@]}" $refnet_pid "${other_pids[@]}"; do
        kill -KILL "$p" 2>/dev/null || true
    done
    for p in "${qemu_pid[@]}" $refnet_pid "${other_pids[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 129' HUP INT TERM

# refnet_start ARGS...: vhost-refnet with these arguments, stderr kept.
refnet_start() {
    "$REFNET" "$@" 2>> "$run/refnet.err" &
    refnet_pid=$!
}

# wait_socket PATH: until vhost-refnet listens there (or died).
wait_socket() {
    local deadline=$((SECONDS + $(secs 10)))
    until [[ -S "$1" ]]; do
        kill -0 "$refnet_pid" 2>/dev/null || fail "vhost-refnet exited before listening on $1"
        ((SECONDS < deadline)) || fail "vhost-refnet did not listen on $1"
        sleep 0.05
    done
}

# refnet_kill: SIGKILL, as a crash would.
refnet_kill() {
    kill -KILL "$refnet_pid"
    wait "$refnet_pid" 2>/dev/null || true
    refnet_pid=
}

# refnet_stats: per-ring counters (SIGUSR1), as "ring=N packets=P" lines.
refnet_stats() {
    local before after
    before=$(grep -c 'refnet: stats ring=' "$run/refnet.err" || true)
    kill -USR1 "$refnet_pid"
    local deadline=$((SECONDS + $(secs 5)))
    while :; do
        after=$(grep -c 'refnet: stats ring=' "$run/refnet.err" || true)
        ((after > before)) && break
        ((SECONDS < deadline)) || fail "vhost-refnet printed no stats"
        sleep 0.1
    done
    sleep 0.2
    grep 'refnet: stats ring=' "$run/refnet.err" | tail -n $((after - before)) |
        sed -E 's/.*ring=([0-9]+) dir=[a-z]+ packets=([0-9]+).*/ring=\1 packets=\2/'
}

# refnet_check: still running, no sanitizer report in its stderr.
refnet_check() {
    if [[ -n "$refnet_pid" ]] && ! kill -0 "$refnet_pid" 2>/dev/null; then
        fail "vhost-refnet died"
    fi
    if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$run/refnet.err"; then
        fail "sanitizer report in vhost-refnet's stderr"
    fi
}

# qemu_start NAME DEVICE-ARGS...: start QEMU with the guest and these
# devices (or -S to keep the CPU stopped); does not wait.
qemu_start() {
    local name=$1
    shift
    rm -f "$run/$name.cmd.in" "$run/$name.cmd.out" "$run/$name.qmp"
    mkfifo "$run/$name.cmd.in" "$run/$name.cmd.out"
    # shellcheck disable=SC2086
    "$QEMU" $QEMU_ARGS -machine q35 -accel tcg -m 256 ${SMP:--smp 1} \
        -object memory-backend-memfd,id=mem,size=256M,share=on -numa node,memdev=mem \
        -display none ${NO_REBOOT--no-reboot} -monitor none \
        -serial "file:$run/$name.console" \
        -chardev "pipe,id=cmd,path=$run/$name.cmd" -serial chardev:cmd \
        -qmp "unix:$run/$name.qmp,server=on,wait=off" \
        "$@" \
        -kernel "$GUEST/vmlinuz" -initrd "$GUEST/initrd.img" \
        -append 'console=ttyS0 loglevel=4 panic=-1' > "$run/$name.qemu" 2>&1 &
    qemu_pid[$name]=$!
    local in out
    exec {in}<> "$run/$name.cmd.in" {out}<> "$run/$name.cmd.out"
    cmd_in[$name]=$in
    cmd_out[$name]=$out
}

# guest_boot NAME DEVICE-ARGS...: qemu_start, then wait until the guest's
# command channel says VHC-READY.
guest_boot() {
    local name=$1
    qemu_start "$@"
    wait_ready "$name"
}

# wait_ready NAME: the guest (re)booted and serves its command channel.
wait_ready() {
    local name=$1 out=${cmd_out[$1]}
    local line deadline=$((SECONDS + $(secs 90)))
    while ((SECONDS < deadline)); do
        if read -r -t 1 -u "$out" line; then
            [[ "$line" == *VHC-READY* ]] && { say "$name: booted"; return 0; }
        fi
        kill -0 "${qemu_pid[$name]}" 2>/dev/null ||
            fail "$name: QEMU exited: $(tail -n 5 "$run/$name.qemu")"
    done
    fail "$name: no VHC-READY within $(secs 90) s"
}

# gsh NAME COMMAND [SECONDS]: run COMMAND in the guest; its output goes to
# stdout; fails the test when it exits non-zero or takes too long.
gsh() {
    local name=$1 cmd=$2 limit=$(secs "${3:-60}")
    local out=${cmd_out[$name]} line status=
    printf '%s\n' "$cmd" >&"${cmd_in[$name]}"
    local deadline=$((SECONDS + limit))
    while ((SECONDS < deadline)); do
        if read -r -t 1 -u "$out" line; then
            line=${line%$'\r'}
            if [[ "$line" =~ ^VHC-END\ ([0-9]+)$ ]]; then
                status=${BASH_REMATCH[1]}
                break
            fi
            printf '%s\n' "$line"
        fi
        kill -0 "${qemu_pid[$name]}" 2>/dev/null || fail "$name: QEMU exited during: $cmd"
    done
    [[ -n "$status" ]] || fail "$name: '$cmd' did not finish within $limit s"
    ((status == 0)) || fail "$name: '$cmd' exited $status"
}

# qmp NAME COMMAND-JSON: one QMP command; fails unless it returns.
qmp() {
    local reply
    reply=$(printf '{"execute":"qmp_capabilities"}\n%s\n' "$2" |
            timeout "$(secs 10)" socat -t 2 - "UNIX-CONNECT:$run/$1.qmp") ||
        fail "$1: QMP $2: no answer"
    [[ $(grep -c '"return"' <<< "$reply") -ge 2 ]] || fail "$1: QMP $2: $reply"
}

# guest_poweroff NAME: the guest powers off; QEMU must exit by itself.
guest_poweroff() {
    local name=$1 pid=${qemu_pid[$1]}
    printf 'poweroff -f\n' >&"${cmd_in[$name]}"
    local deadline=$((SECONDS + $(secs 30)))
    while kill -0 "$pid" 2>/dev/null; do
        ((SECONDS < deadline)) || fail "$name: QEMU did not exit after poweroff"
        sleep 0.2
    done
    wait "$pid" 2>/dev/null || true
    unset "qemu_pid[$name]"
    say "$name: powered off"
}

# net_up NAME ADDR: eth0 up with ADDR/24; waits for the carrier.
net_up() {
    gsh "$1" "ip link set eth0 up && ip addr add $2/24 dev eth0"
    wait_carrier "$1" 1
}

# wait_carrier NAME 0|1
wait_carrier() {
    local deadline=$((SECONDS + $(secs 30))) c
    while :; do
        c=$(gsh "$1" 'cat /sys/class/net/eth0/carrier 2>/dev/null || echo none')
        [[ "$c" == "$2" ]] && return 0
        ((SECONDS < deadline)) || fail "$1: carrier $c, waited for $2"
        sleep 0.5
    done
}

# counters NAME: "TX RX" packets of eth0 as the guest counts them.
counters() {
    gsh "$1" 'cat /sys/class/net/eth0/statistics/tx_packets /sys/class/net/eth0/statistics/rx_packets' |
        tr '\n' ' '
}

# loop_traffic NAME COUNT [SIZE]: COUNT frames through a loopback port: a
# static neighbour, so each ping is one frame out and, looped back, one in.
# Asserts that every frame sent came back (the guest's own counters).
loop_traffic() {
    local name=$1 n=$2 size=${3:-1000} tx0 rx0 tx1 rx1
    gsh "$name" 'arp -s 10.77.0.2 02:00:00:00:07:02 2>/dev/null; true'
    read -r tx0 rx0 <<< "$(counters "$name")"
    gsh "$name" "ping -q -c $n -i 0.02 -s $size -W 1 10.77.0.2 > /dev/null; true" 60
    local deadline=$((SECONDS + $(secs 10)))
    while :; do
        read -r tx1 rx1 <<< "$(counters "$name")"
        (( rx1 - rx0 >= tx1 - tx0 )) && break
        ((SECONDS < deadline)) || break
        sleep 0.3
    done
    say "$name: sent $((tx1 - tx0)) frames, $((rx1 - rx0)) came back"
    (( tx1 - tx0 >= n )) || fail "$name: only $((tx1 - tx0)) of $n frames sent"
    (( rx1 - rx0 == tx1 - tx0 )) || fail "$name: sent $((tx1 - tx0)), got back $((rx1 - rx0))"
}

vhost_user_net() { # ID SOCKET [chardev options] -> QEMU arguments for one NIC
    local id=$1 sock=$2 chopts=${3:-} devopts=${4:-}
    printf '%s\n' -chardev "socket,id=chr$id,path=$sock$chopts" \
        -netdev "vhost-user,id=net$id,chardev=chr$id${NETDEV_OPTS:-}" \
        -device "virtio-net-pci,netdev=net$id,vectors=0,mac=52:54:00:77:00:0$id$devopts"
}

# ping_ok NAME ADDR: three pings from NAME to ADDR, every one answered.
ping_ok() {
    local out
    out=$(gsh "$1" "ping -c 3 -W 5 $2" 30)
    [[ "$out" == *" 0% packet loss"* ]] || fail "$1 cannot ping $2: $out"
    say "$1 -> $2: 3 of 3 pings answered"
}

# rebind NAME ADDR: the guest's virtio_net driver lets go of its device and
# takes it again (unbind/bind through sysfs), then eth0 comes back up.
rebind() {
    local dev
    dev=$(gsh "$1" 'basename $(readlink /sys/class/net/eth0/device)')
    [[ "$dev" == virtio* ]] || fail "$1: eth0 has no virtio device ($dev)"
    gsh "$1" "echo $dev > /sys/bus/virtio/drivers/virtio_net/unbind"
    gsh "$1" '! test -e /sys/class/net/eth0' || fail "$1: eth0 still there after unbind"
    gsh "$1" "echo $dev > /sys/bus/virtio/drivers/virtio_net/bind"
    net_up "$1" "$2"
    say "$1: $dev unbound and bound again"
}

# stop_cont NAME SECONDS: QMP stop, a pause, QMP cont (the host stops and
# resumes the VM: vhost rings stop and restart from the saved index).
stop_cont() {
    qmp "$1" '{"execute":"stop"}'
    sleep "$2"
    qmp "$1" '{"execute":"cont"}'
    say "$1: stopped for $2 s and continued"
}

# bg_ping NAME COUNT [CPU]: COUNT pings to the static neighbour in the
# background (on CPU, if given); wait_bg NAME waits for all of them.
bg_ping() {
    local pin=${3:+taskset -c $3 }
    gsh "$1" 'arp -s 10.77.0.2 02:00:00:00:07:02 2>/dev/null; true'
    gsh "$1" "${pin}ping -q -c $2 -i 0.02 -s 1000 -W 1 10.77.0.2 > /dev/null 2>&1 &"
}
wait_bg() {
    local deadline=$((SECONDS + $(secs 60)))
    while [[ -n "$(gsh "$1" 'pidof ping || true')" ]]; do
        ((SECONDS < deadline)) || fail "$1: background pings still running"
        sleep 0.5
    done
}

# all_back NAME TX0 RX0: every frame sent since (TX0, RX0) came back.
all_back() {
    local tx rx deadline=$((SECONDS + $(secs 10)))
    while :; do
        read -r tx rx <<< "$(counters "$1")"
        (( rx - $3 == tx - $2 )) && break
        ((SECONDS < deadline)) || fail "$1: sent $((tx - $2)) frames, got back $((rx - $3))"
        sleep 0.3
    done
    say "$1: sent $((tx - $2)) frames, all came back"
}

# qemu_quit NAME: QMP quit; QEMU must exit.
qemu_quit() {
    local pid=${qemu_pid[$1]}
    qmp "$1" '{"execute":"quit"}' || true
    local deadline=$((SECONDS + $(secs 30)))
    while kill -0 "$pid" 2>/dev/null; do
        ((SECONDS < deadline)) || fail "$1: QEMU did not exit after quit"
        sleep 0.2
    done
    wait "$pid" 2>/dev/null || true
    unset "qemu_pid[$1]"
}

# spawn LOG CMD...: CMD in the background, output to LOG, killed at exit;
# its pid in $spawned.
spawn() {
    local log=$1
    shift
    "$@" > "$log" 2>&1 &
    spawned=$!
    other_pids+=("$spawned")
}

# boot_loop_check NAME NIC-ARGS...: boot, eth0 up, 200 frames looped, and
# vhost-refnet's TX ring counted at least as many; then poweroff.
boot_loop_check() {
    local name=$1 n
    shift
    guest_boot "$name" "$@"
    net_up "$name" 10.77.0.1
    loop_traffic "$name" 200
    local stats
    stats=$(refnet_stats)
    say "refnet: $(tr '\n' ' ' <<< "$stats")"
    n=$(sed -n 's/^ring=1 packets=//p' <<< "$stats")
    (( ${n:-0} >= 200 )) || fail "refnet's TX ring counted ${n:-no} frames, fewer than 200"
    guest_poweroff "$name"
    refnet_check
}
