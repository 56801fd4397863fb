#!/bin/bash
# selftest.sh VHOST_CONFORM SCENARIO FILTER [CRASH_FILTER]
# Runs the suite against a misbehaving fake back end made with socat and
# checks what the harness makes of it: exit status 1, TAP that TAP::Parser
# reads cleanly with the expected verdicts in YAML, a bounded wall time, and
# nothing left behind (no fake back-end process, no vhc.* directory).
set -euo pipefail

vc=$1 scenario=$2
filters=(--filter "$3")
crash_filter=${4:-$3}   # cases that wait for a reply: the crash lands mid-case
here=$(cd "$(dirname "$0")" && pwd)
marker="vhcst-$$-$scenario"          # in the fake's command line, for pgrep
work=$(mktemp -d "${TMPDIR:-/tmp}/vhcst.XXXXXX")
# on the way out, whatever the harness failed to stop is ended by its pid
trap 'for p in $(pgrep -f -- "$marker"); do kill -KILL "$p" 2>/dev/null; done
      rm -rf "$work"' EXIT
ulimit -c 0                          # the crash scenario must not drop cores

listen="socat -lp $marker UNIX-LISTEN:{socket}"
extra=()
case $scenario in
closes)    # accepts, then closes at once
    backend="$listen,fork EXEC:/bin/true"; verdicts=fail; bound=30 ;;
silent)    # accepts, reads everything, never replies
    backend="socat -u -lp $marker UNIX-LISTEN:{socket},fork OPEN:/dev/null,wronly"
    verdicts=fail; bound=60 ;;
garbage)   # answers with bytes that are no vhost-user message
    backend="$listen,fork SYSTEM:'printf garbage-garbage-garbage-garbage; sleep 5'"
    verdicts=fail; bound=30 ;;
crash)     # the back end (a shell around socat: socat itself catches SIGSEGV)
           # is killed by SIGSEGV the moment a front end connects
    backend="sh -c '$listen SYSTEM:\"kill -SEGV \$\$; sleep 5\"'"
    filters=(--filter "$crash_filter"); verdicts=crash; bound=30 ;;
client)    # client mode: the fake connects to our socket, then never replies
    backend="socat -u -lp $marker UNIX-CONNECT:{socket} OPEN:/dev/null,wronly"
    extra=(--mode client); filters+=(--filter connect/client-basic); verdicts=fail; bound=60 ;;
timeout)   # never replies, and the case deadline (10 s x 0.01) comes before
           # any of the front end's own waits can give up
    backend="socat -u -lp $marker UNIX-LISTEN:{socket},fork OPEN:/dev/null,wronly"
    extra=(--timeout-scale 0.01); verdicts=timeout; bound=20 ;;
*)  echo "unknown scenario $scenario" >&2; exit 2 ;;
esac

fail() { echo "FAIL ($scenario): $*" >&2; exit 1; }

start=$(date +%s%N)
set +e
TMPDIR=$work timeout -k 5 110 "$vc" run --backend "$backend" "${filters[@]}" \
    --tap "$work/out.tap" "${extra[@]}" >"$work/stdout.tap" 2>"$work/stderr"
rc=$?
set -e
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "exit $rc after ${elapsed_ms} ms"
sed 's/^/  stderr: /' "$work/stderr" | tail -n 20

[ "$rc" -eq 1 ] || fail "exit status $rc, want 1"
cmp -s "$work/out.tap" "$work/stdout.tap" || fail "--tap file differs from stdout"
perl "$here/tap-check.pl" "$work/out.tap" $verdicts || {
    cat "$work/out.tap"; fail "TAP check"; }
(( elapsed_ms < bound * 1000 )) || fail "took ${elapsed_ms} ms, bound ${bound} s"
if pgrep -f -- "$marker" >/dev/null; then
    pgrep -af -- "$marker" >&2
    fail "fake back end still running"
fi
left=$(find "$work" -maxdepth 1 -name 'vhc.*')
[ -z "$left" ] || fail "left behind: $left"
echo "PASS ($scenario)"
