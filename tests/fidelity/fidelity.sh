#!/usr/bin/env bash
# fidelity.sh VHOST_CONFORM FIXTURES VERSION TRACE SCENARIO QUEUES [play options]
#
# Plays SCENARIO with --profile qemu-VERSION against the back end
# fixtures/qemu-VERSION/TRACE was recorded with (the command
# line of the trace's '# backend:' header, with a private socket, DPDK
# --file-prefix, disk image and shared folder), through `vhost-conform
# record` as the recording proxy was, and compares what was recorded with
# the trace: `vhost-conform trace-diff` normalises addresses, fd numbers,
# times and bases after traffic and fails on any other difference, side by
# side.  The device (-d) and which side listens (-f listen: / connect:) come
# from the trace's '# proxy:' header.
#
# With VHC_FID_SOCKET set, the back end is already running there (group.sh
# started it for several traces): play gets --socket, record connects to
# it, and VHC_FID_BACKEND_LOG names its output.
#
# Exit status: trace-diff's (0 the same, 1 different), 1 when play failed,
# 2 for a setup problem.
set -uo pipefail
vc=$1 fixtures=$2 version=$3 trace=$4 scenario=$5 queues=$6
shift 6
log="$fixtures/qemu-$version/$trace.log"
[[ -r $log ]] || { echo "no trace $log" >&2; exit 2; }

header() { grep -m1 "^# $1: " "$log" | sed "s/^# $1: //"; }
backend=$(header backend)
proxy=$(header proxy)
[[ -n $backend && -n $proxy ]] || { echo "$trace: no backend/proxy header" >&2; exit 2; }

# the recording's device and socket sides
# the shared fixtures' recorder (-d DEV, -b connect:SOCK) or vhost-conform
# record (--device DEV, --connect SOCK)
dev=$(sed -nE 's/.* -d ([a-z]+).*/\1/p' <<<"$proxy")
[[ -n $dev ]] || dev=$(sed -nE 's/.* --device ([a-z]+).*/\1/p' <<<"$proxy")
dev=${dev:-net}
be_sock=$(sed -nE 's/.* -b connect:([^ ]+).*/\1/p' <<<"$proxy")
[[ -n $be_sock ]] || be_sock=$(sed -nE 's/.* --connect ([^ ]+).*/\1/p' <<<"$proxy")
if grep -q -- ' -f connect:' <<<"$proxy"; then
    mode=client front=(--front-connect)   # QEMU was the chardev server
else
    mode=server front=()
fi
[[ -n $be_sock ]] || { echo "$trace: no back-end socket in the proxy header" >&2; exit 2; }
shared=${VHC_FID_SOCKET:-}

case $backend in
    dpdk-testpmd*) command -v dpdk-testpmd > /dev/null || { echo "dpdk-testpmd missing" >&2; exit 2; } ;;
    qemu-storage-daemon*) command -v qemu-storage-daemon > /dev/null || { echo "qsd missing" >&2; exit 2; } ;;
    /usr/lib/qemu/virtiofsd*)
        [[ -x /usr/lib/qemu/virtiofsd ]] || { echo "virtiofsd missing" >&2; exit 2; }
        ((EUID == 0)) || { echo "virtiofsd needs root" >&2; exit 2; } ;;
esac

# Every wait of play (a reply, the traffic looped back) gets 20 s, scaled by
# VHC_TIMEOUT_SCALE: a testpmd started again answers its first message after
# about 1 s on an idle machine and after more than 5 s at load average 9,
# and a wait only runs out when something is wrong.
scale=${VHC_TIMEOUT_SCALE:-1}
wait_ms=$(awk -v s="$scale" 'BEGIN { printf "%d", 20000 * s }')
record_wait=$(awk -v s="$scale" 'BEGIN { printf "%d", 60 * s }')

t=$(mktemp -d /tmp/vhc-fid.XXXXXX)
proxy_pid=
cleanup() {
    [[ -n $proxy_pid ]] && kill "$proxy_pid" 2> /dev/null && wait "$proxy_pid" 2> /dev/null
    rm -rf "$t" "/var/run/dpdk/vhcfid-$trace-$$"   # our testpmd's runtime files
}
trap cleanup EXIT

# the recorded command line, on private paths: the socket becomes {socket},
# the other $RUN files live in $t, DPDK gets its own runtime directory
cmd=${backend//"$be_sock"/\{socket\}}
cmd=${cmd//\$RUN/$t}
cmd=$(sed -E "s/--file-prefix [^ ]+/--file-prefix vhcfid-$trace-$$/" <<<"$cmd")
[[ $cmd == *"$t/disk.img"* ]] && truncate -s 64M "$t/disk.img"
[[ $cmd == *"$t/share"* ]] && mkdir -p "$t/share"

be_path=${shared:-$t/be.sock}
if [[ -n $shared ]]; then   # the running back end, its output
    backend_args=(--socket "$shared")
else                        # play starts and kills it
    backend_args=(--backend "$cmd" --backend-socket "$t/be.sock" --backend-log "$t/backend.log")
fi
"$vc" record --listen "$t/fe.sock" --connect "$be_path" "${front[@]}" --device "$dev" \
    --log "$t/actual.log" --raw "$t/actual.raw" --wait "$record_wait" > /dev/null 2> "$t/record.err" &
proxy_pid=$!

echo "# qemu-$version/$trace: play $scenario --profile qemu-$version --device $dev" \
     "--queues $queues --mode $mode $*"
"$vc" play "$scenario" --profile "qemu-$version" --device "$dev" --queues "$queues" --mode "$mode" \
    "${backend_args[@]}" --via "$t/fe.sock" --timeout-ms "$wait_ms" "$@"
play_rc=$?
sleep 0.3   # the proxy logs the last close
kill "$proxy_pid" 2> /dev/null
wait "$proxy_pid" 2> /dev/null
proxy_pid=
if [[ -s $t/record.err ]]; then
    echo "# record said:"
    sed 's/^/#   /' "$t/record.err"
fi
"$vc" trace-diff "$log" "$t/actual.log"
rc=$?
if ((rc != 0)); then
    echo "# the recording:"
    grep -vE '^# (line format|DIR|lines starting)' "$t/actual.log" | cut -c1-200 | sed 's/^/#   /'
    echo "# the back end's output (last lines):"
    if [[ -n $shared ]]; then logs=("${VHC_FID_BACKEND_LOG:-/dev/null}"); else logs=("$t"/backend.log*); fi
    tail -n 15 "${logs[@]}" 2> /dev/null | sed 's/^/#   /'
fi
((play_rc != 0 && rc == 0)) && rc=1
exit "$rc"
