#!/usr/bin/env bash
# ovs-dpdk.sh VHOST_CONFORM OUTDIR EXPECT MODE [run options...]
#
# The suite against OVS-DPDK (Debian 12's openvswitch-switch-dpdk: OVS 3.1,
# DPDK 22.11) as an already-running back end, in one socket mode:
#   server  a dpdkvhostuser port: OVS listens on $OVS_RUNDIR/vhu0 and the
#           suite connects (--socket);
#   client  a dpdkvhostuserclient port: OVS connects to vhost-server-path.
#           `run --mode client --socket PATH` listens on PATH for every
#           case and waits for the back end; OVS's vhost client reconnects
#           by itself (DPDK retries once a second), so each case gets a
#           fresh connection from the same running OVS.
# One netdev bridge with the port of the mode (MTU 9000), which loops its frames
# back (in_port=P,actions=in_port).  Cases that must kill or restart the back
# end SKIP (the runner cannot, with --socket).
#
# VHC_OVS_RUN, when set, replaces the suite: "$VHC_OVS_RUN SOCKET" runs against
# the port (bench/run.sh --ovs); VHC_OVS_CONFIG adds Open_vSwitch settings.
#
# OVS-DPDK always adds --in-memory, which rules out --no-huge: the script
# allocates 2 MiB hugepages (VHC_OVS_PAGES, default 600) on top of what is
# there, mounts a private hugetlbfs when none is mounted, runs ovsdb-server
# and ovs-vswitchd-dpdk in a private directory, and on every exit path stops
# both, unmounts, gives the pages back and removes the directory; it fails
# if any of that does not work out.
set -euo pipefail
vc=$1 outdir=$2 expect=$3 mode=$4
shift 4
here=$(cd "$(dirname "$0")" && pwd)
vswitchd=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
schema=/usr/share/openvswitch/vswitch.ovsschema
pages=${VHC_OVS_PAGES:-600}
[[ $mode == server || $mode == client ]] || { echo "mode must be server or client" >&2; exit 2; }
[[ -x $vswitchd ]] || { echo "$vswitchd not installed (package openvswitch-switch-dpdk)" >&2; exit 1; }
for t in ovsdb-tool ovsdb-server ovs-vsctl ovs-ofctl; do
    command -v $t > /dev/null || { echo "$t not installed (package openvswitch-switch)" >&2; exit 1; }
done
((EUID == 0)) || { echo "OVS-DPDK needs root (hugepages, hugetlbfs)" >&2; exit 1; }

nr=/proc/sys/vm/nr_hugepages
old_pages=$(cat "$nr")
work=$(mktemp -d "${TMPDIR:-/tmp}/vhc-ovs.XXXXXX")
huge='' db_pid='' sw_pid='' suite_pid='' problems=0

say() { echo "ovs-dpdk: $*" >&2; }

# Stop what we started (by pid), then check: no process of ours, pages back.
stop_pid() {   # pid name
    local pid=$1 name=$2
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2> /dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2> /dev/null; then
        say "$name ($pid) ignored SIGTERM for 5 s: SIGKILL"
        kill -KILL "$pid" 2> /dev/null || true
    fi
    wait "$pid" 2> /dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$suite_pid" "the suite"   # before the back end it talks to
    stop_pid "$sw_pid" ovs-vswitchd
    stop_pid "$db_pid" ovsdb-server
    if pgrep -f "$work/" > /dev/null; then
        say "processes still running from $work:"; pgrep -af "$work/" >&2
        problems=1
    fi
    if [[ -n $huge ]]; then
        umount "$huge" || { say "cannot unmount $huge"; problems=1; }
    fi
    echo "$old_pages" > "$nr" || true
    local now
    now=$(cat "$nr")
    if ((now != old_pages)); then
        say "nr_hugepages is $now, was $old_pages before the run"
        problems=1
    fi
    rm -rf "$work"
    ((problems == 0)) || ((rc != 0)) || rc=1
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- hugepages and hugetlbfs ----
echo $((old_pages + pages)) > "$nr"
got=$(cat "$nr")
if ((got < old_pages + pages)); then
    say "asked for $pages more 2 MiB hugepages, the kernel gave $((got - old_pages))"
    exit 1
fi
extra="--no-pci --file-prefix=vhc-ovs-$$"
if ! awk '$3 == "hugetlbfs" { found = 1 } END { exit !found }' /proc/mounts; then
    mkdir "$work/huge"
    mount -t hugetlbfs -o pagesize=2M nodev "$work/huge"
    huge=$work/huge
    extra+=" --huge-dir=$huge"
fi

# ---- ovsdb-server and ovs-vswitchd in the private directory ----
export OVS_RUNDIR=$work/run OVS_DBDIR=$work/db OVS_LOGDIR=$work/log OVS_SYSCONFDIR=$work/etc
mkdir -p "$OVS_RUNDIR" "$OVS_DBDIR" "$OVS_LOGDIR" "$OVS_SYSCONFDIR"
db=unix:$OVS_RUNDIR/db.sock
vsctl() { ovs-vsctl --db="$db" --timeout=30 "$@"; }
ovsdb-tool create "$OVS_DBDIR/conf.db" "$schema"
ovsdb-server "$OVS_DBDIR/conf.db" --remote="punix:$OVS_RUNDIR/db.sock" \
    --pidfile="$OVS_RUNDIR/ovsdb-server.pid" --unixctl="$OVS_RUNDIR/ovsdb-server.ctl" \
    --log-file="$OVS_LOGDIR/ovsdb-server.log" > "$OVS_LOGDIR/ovsdb-server.out" 2>&1 &
db_pid=$!
for _ in $(seq 100); do
    [[ -S $OVS_RUNDIR/db.sock ]] && break
    kill -0 "$db_pid" 2> /dev/null || break
    sleep 0.1
done
[[ -S $OVS_RUNDIR/db.sock ]] || { say "ovsdb-server did not start"; cat "$OVS_LOGDIR"/ovsdb-server.* >&2; exit 1; }

# Main thread on CPU 0, the PMD thread (it polls the vhost rings) on CPU 1.
# per-port-memory: each port gets a mempool sized to its queues (about
# 20 000 mbufs) instead of the shared 262 144, which at MTU 9000 would not
# fit in the pages and costs half a minute of retries to find out.
# 512 MiB taken at start (less to zero: DPDK init takes seconds per GiB);
# more comes from the pages on demand, up to dpdk-socket-limit.
pmd_mask=0x2
(($(nproc) >= 2)) || pmd_mask=0x1
vsctl --no-wait init
vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true \
    other_config:dpdk-socket-mem=512 other_config:dpdk-socket-limit=$((pages * 2)) \
    other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=$pmd_mask \
    other_config:per-port-memory=true "other_config:dpdk-extra=$extra" ${VHC_OVS_CONFIG:-}
# netdev_dpdk at debug level: the log shows each TX-queue map change
"$vswitchd" "$db" --pidfile="$OVS_RUNDIR/ovs-vswitchd.pid" \
    --unixctl="$OVS_RUNDIR/ovs-vswitchd.ctl" --log-file="$OVS_LOGDIR/ovs-vswitchd.log" \
    --verbose=netdev_dpdk:file:dbg \
    > "$OVS_LOGDIR/ovs-vswitchd.out" 2>&1 &
sw_pid=$!
deadline=$((SECONDS + 60))
until [[ $(vsctl get Open_vSwitch . dpdk_initialized 2> /dev/null) == true ]]; do
    if ! kill -0 "$sw_pid" 2> /dev/null || ((SECONDS >= deadline)); then
        say "ovs-vswitchd: DPDK not initialized within 60 s"
        tail -30 "$OVS_LOGDIR/ovs-vswitchd.log" >&2 || true
        exit 1
    fi
    sleep 0.5
done

# ---- the bridge, the port of this mode, the loopback flow ----
# mtu_request in the same transaction as the port: OVS applies a vhost
# port's MTU when it (re)configures it with a guest attached, and a port
# that already has its 1500-byte mempool is not reconfigured on a new
# connection, so a later mtu_request would not take effect.
vsctl add-br br0 -- set Bridge br0 datapath_type=netdev
if [[ $mode == server ]]; then
    port=vhu0 sock=$OVS_RUNDIR/vhu0
    vsctl add-port br0 $port -- set Interface $port type=dpdkvhostuser mtu_request=9000
else
    port=vhuc0 sock=$work/client.sock
    vsctl add-port br0 $port -- set Interface $port type=dpdkvhostuserclient \
        "options:vhost-server-path=$sock" mtu_request=9000
fi
err=$(vsctl get Interface $port error)
[[ $err == '[]' ]] || { say "port $port: $err"; tail -20 "$OVS_LOGDIR/ovs-vswitchd.log" >&2; exit 1; }
ovs-ofctl del-flows br0
ovs-ofctl add-flow br0 "in_port=$port,actions=in_port"
if [[ $mode == server ]]; then
    [[ -S $sock ]] || { say "OVS did not create $sock"; exit 1; }
fi

# Under a limit of our own (VHC_OVS_LIMIT seconds): CTest's TIMEOUT kills with
# SIGKILL, and then nobody would stop OVS or give the pages back.
# In the background, so a signal to this script is handled at once (the trap
# stops the suite first).
rc=0
if [[ -n ${VHC_OVS_RUN:-} ]]; then
    # another user of the running OVS (bench/run.sh --ovs): VHC_OVS_RUN SOCKET
    # shellcheck disable=SC2086
    timeout -k 10 "${VHC_OVS_LIMIT:-420}" $VHC_OVS_RUN "$sock" &
else
    timeout -k 10 "${VHC_OVS_LIMIT:-420}" "$here/run-suite.sh" "$vc" "$outdir" ovs-dpdk "$mode" \
        --socket "$sock" --expect "$expect" "$@" &
fi
suite_pid=$!
wait "$suite_pid" || rc=$?
suite_pid=
((rc != 124)) || say "the suite did not finish within ${VHC_OVS_LIMIT:-420} s"
if ! kill -0 "$sw_pid" 2> /dev/null; then
    say "ovs-vswitchd died during the run"; tail -30 "$OVS_LOGDIR/ovs-vswitchd.log" >&2
    rc=1
fi
# OVS's log of the run, for the failures' details
[[ -n ${VHC_OVS_RUN:-} ]] || cp "$OVS_LOGDIR/ovs-vswitchd.log" "$outdir/ovs-dpdk-$mode.ovs-vswitchd.log" 2> /dev/null || true
exit "$rc"
