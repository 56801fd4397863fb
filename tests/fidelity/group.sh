#!/usr/bin/env bash
# group.sh VHOST_CONFORM FIXTURES 'VERSION TRACE SCENARIO QUEUES'...
#
# The fidelity check of several traces recorded with the same back-end
# command line (none of them kills the back end): the back end starts once,
# on private paths, and each trace is played and compared against it in
# turn by fidelity.sh (VHC_FID_SOCKET), as a QEMU started afresh would meet
# a back end that served QEMUs before.  What a new connection sees of
# dpdk-testpmd's vhost port does not depend on the ones before: the device
# is created anew for each.  Each trace's result is printed by name; exit 1
# when one differs, 2 for a setup problem.
set -uo pipefail
vc=$1 fixtures=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
scale=${VHC_TIMEOUT_SCALE:-1}

# the back-end socket of a trace (its proxy header), and its back end's
# command line with that socket as {socket} and no DPDK file prefix
socket_of() {
    grep -m1 '^# proxy: ' "$fixtures/qemu-$1/$2.log" |
        sed -nE 's/.* --connect ([^ ]+).*/\1/p; s/.* -b connect:([^ ]+).*/\1/p' | head -n1
}
backend_of() {
    local line sock
    line=$(grep -m1 '^# backend: ' "$fixtures/qemu-$1/$2.log" | sed 's/^# backend: //')
    sock=$(socket_of "$1" "$2")
    [[ -n $sock ]] || return 1
    line=${line//"$sock"/\{socket\}}
    sed -E 's/--file-prefix [^ ]+/--file-prefix P/' <<<"$line"
}
read -r v0 tr0 _ <<<"$1"
backend=$(backend_of "$v0" "$tr0") ||
    { echo "group.sh: no back-end socket in $v0/$tr0's proxy header" >&2; exit 2; }
[[ $backend == dpdk-testpmd* ]] ||
    { echo "group.sh: $v0/$tr0 is not a dpdk-testpmd trace" >&2; exit 2; }
command -v dpdk-testpmd > /dev/null || { echo "dpdk-testpmd missing" >&2; exit 2; }
for row in "$@"; do
    read -r v tr _ <<<"$row"
    [[ $(backend_of "$v" "$tr") == "$backend" ]] ||
        { echo "group.sh: $v/$tr was recorded with another back-end command line" >&2; exit 2; }
done

t=$(mktemp -d /tmp/vhc-fidgrp.XXXXXX)
prefix=vhcfidgrp-$$
be_pid=
cleanup() {
    if [[ -n $be_pid ]]; then
        kill "$be_pid" 2> /dev/null
        for _ in $(seq 100); do kill -0 "$be_pid" 2> /dev/null || break; sleep 0.1; done
        kill -9 "$be_pid" 2> /dev/null
        wait "$be_pid" 2> /dev/null
    fi
    rm -rf "$t" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT

cmd=${backend//\{socket\}/$t/be.sock}
cmd=${cmd//\$RUN/$t}
cmd=$(sed -E "s/--file-prefix [^ ]+/--file-prefix $prefix/" <<<"$cmd")
echo "# back end, once for ${#} traces: $cmd"
# shellcheck disable=SC2086  # the recorded command line, split as a shell would
dpdk-testpmd ${cmd#dpdk-testpmd} < /dev/null > "$t/backend.log" 2>&1 &
be_pid=$!
limit=$(awk -v s="$scale" 'BEGIN { printf "%d", 300 * s }')   # tenths of a second
for ((i = 0; i < limit; i++)); do
    [[ -S $t/be.sock ]] && break
    kill -0 "$be_pid" 2> /dev/null || break
    sleep 0.1
done
if [[ ! -S $t/be.sock ]]; then
    echo "group.sh: the back end did not come up"
    tail -n 15 "$t/backend.log"
    exit 2
fi

failed=() passed=()
for row in "$@"; do
    read -r v tr sc q <<<"$row"
    VHC_FID_SOCKET=$t/be.sock VHC_FID_BACKEND_LOG=$t/backend.log \
        "$here/fidelity.sh" "$vc" "$fixtures" "$v" "$tr" "$sc" "$q"
    rc=$?
    if ((rc == 0)); then passed+=("$v/$tr"); else failed+=("$v/$tr (exit $rc)"); fi
    echo "## $v/$tr: $( ((rc == 0)) && echo same || echo "DIFFERENT or failed (exit $rc)")"
    if ! kill -0 "$be_pid" 2> /dev/null; then
        echo "group.sh: the back end died during $v/$tr"; tail -n 15 "$t/backend.log"; exit 1
    fi
done
echo "# same: ${passed[*]:-none}"
((${#failed[@]} == 0)) || { echo "# failed: ${failed[*]}"; exit 1; }
exit 0
