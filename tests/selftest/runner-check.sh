#!/bin/bash
# runner-check.sh VHOST_CONFORM SCENARIO
# Self-tests of the runner's own duties, each against a fake back end made
# of sh and socat: a setup error bails out at once (exit 2, one Bail out!),
# a case whose setup broke is `broken`, nothing outlives the run (setsid'd
# grandchildren, SIGHUP, SIGKILL), the back end's log is capped, the case
# directory goes whole, `record` removes nothing but a socket, {n} is always
# replaced, and the waits follow --timeout-scale.  Each scenario fails when
# its point regresses.
set -uo pipefail

vc=$(realpath "$1") scenario=$2
here=$(cd "$(dirname "$0")" && pwd)
marker="vhcrt-$$-$scenario"          # in every fake's command line, for pgrep
work=$(mktemp -d "${TMPDIR:-/tmp}/vhcrt.XXXXXX")
trap 'for p in $(pgrep -f -- "$marker"); do kill -KILL "$p" 2>/dev/null; done
      chmod -R u+rwx "$work" 2>/dev/null; rm -rf "$work"' EXIT

fail() { echo "FAIL ($scenario): $*" >&2; exit 1; }
# a silent fake: listens, reads everything, never replies
silent="socat -u -lp $marker UNIX-LISTEN:{socket},fork OPEN:/dev/null,wronly"
# accepts and closes at once: each case fails fast
closes="socat -lp $marker UNIX-LISTEN:{socket},fork EXEC:/bin/true"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# run ARGS...: vhost-conform run with TMPDIR=$work; sets rc, out, err, ms
run() {
    local t0; t0=$(now_ms)
    TMPDIR=${run_tmpdir:-$work} timeout -k 5 170 "$vc" run --tap "$work/out.tap" "$@" \
        >"$work/stdout" 2>"$work/stderr"
    rc=$?
    ms=$(( $(now_ms) - t0 ))
    out=$(cat "$work/stdout") err=$(cat "$work/stderr")
    echo "exit $rc after $ms ms"
    sed 's/^/  | /' "$work/stdout" | grep -E '^  \| (Bail|not ok|ok|#)|verdict|message' | head -n 30
    sed 's/^/  stderr: /' "$work/stderr" | tail -n 5
}

nothing_left() {
    if pgrep -f -- "$marker" >/dev/null; then
        pgrep -af -- "$marker" >&2
        fail "a fake back-end process is still running"
    fi
    local left; left=$(find "${1:-$work}" -maxdepth 1 -name 'vhc.*')
    [ -z "$left" ] || fail "left behind: $left"
}

# A setup error: exit 2 within 3 s, exactly one Bail out! naming why, at
# most max_cases cases judged (one per job: each job's first setup), the
# --tap file the same as stdout.
expect_bail() {
    local why=$1 max_cases=${2:-0}
    ((rc == 2)) || fail "exit status $rc, want 2"
    ((ms < 3000)) || fail "took $ms ms to give up, want under 3 s"
    [ "$(grep -c '^Bail out!' <<<"$out")" -eq 1 ] || fail "want exactly one Bail out! line"
    grep -E "^Bail out! .*$why" <<<"$out" >/dev/null || fail "Bail out! does not say '$why'"
    local n; n=$(grep -c '^not ok ' <<<"$out")
    ((n <= max_cases)) || fail "$n cases judged, want at most $max_cases"
    cmp -s "$work/stdout" "$work/out.tap" || fail "--tap file differs from stdout"
    nothing_left
}

case $scenario in
setup-missing-binary)
    run --backend "/nonexistent/vhc-nosuch-$marker {socket}" --filter 'connect/*'
    expect_bail "/nonexistent/vhc-nosuch-$marker does not exist"
    run --backend "vhc-nosuch-$marker --socket {socket}" --filter 'connect/*'
    expect_bail "vhc-nosuch-$marker is not found in PATH"
    # a program sh cannot find behind a word the check does not judge: the
    # back end exits 127 at once, and the first case's setup sees it
    run --backend "exec vhc-nosuch-$marker {socket}" --filter 'connect/*' --jobs 2
    expect_bail "exited with status 127 before it listened on" 2
    ;;
setup-exits-at-once)
    for mode in server client; do
        for jobs in 1 2; do
            echo "-- $mode, --jobs $jobs"
            run --backend "sh -c 'echo $marker cannot start >&2; exit 3' {socket}" \
                --mode "$mode" --jobs "$jobs" --filter 'connect/*' --filter 'negotiation/*'
            what=$([ "$mode" = client ] && echo "connected to" || echo "listened on")
            expect_bail "exited with status 3 before it $what .*$marker cannot start" "$jobs"
            # the case whose setup broke says so, with the back end's words
            grep -q '^  verdict: broken$' <<<"$out" || fail "no 'verdict: broken' in the TAP"
            grep -q "^  backend_stderr: .*$marker cannot start" <<<"$out" \
                || fail "the back end's output is not in the YAML"
        done
    done
    ;;
setup-no-socket-placeholder)
    run --backend "socat -u -lp $marker UNIX-LISTEN:$work/fixed.sock OPEN:/dev/null" \
        --filter 'connect/*'
    expect_bail "the back-end command has no \\{socket\\}"
    ;;
setup-socket-too-long)
    long=$work/$(printf 'd%.0s' {1..100})
    mkdir -p "$long"
    run_tmpdir=$long run --backend "$silent" --filter 'connect/*'
    expect_bail "the socket path $long/vhc.XXXXXX/vu.sock is [0-9]+ bytes; a UNIX socket's holds at most 107"
    nothing_left "$long"
    run --socket "$long/vu.sock" --filter 'connect/*'
    expect_bail "the socket path $long/vu.sock is [0-9]+ bytes"
    ;;
broken-later-case)
    # starts once; every later start exits at once: the first case is a
    # plain failure (the fake closes), the others are broken, no bail out
    once="sh -c 'if [ -e $work/started ]; then echo $marker gone >&2; exit 4; fi
              touch $work/started; exec $closes' {socket}"
    ids=$("$vc" run --list-only --filter 'connect/[rs]*' | grep -v SKIP)
    first=$(head -n 1 <<<"$ids")
    n=$(wc -l <<<"$ids")
    ((n >= 3)) || fail "too few cases ($n)"
    run --backend "$once" --filter 'connect/[rs]*' --junit "$work/out.xml"
    ((rc == 1)) || fail "exit status $rc, want 1 (broken cases are failures)"
    grep -q '^Bail out!' <<<"$out" && fail "bailed out, though a back end came up"
    perl "$here/tap-check.pl" "$work/out.tap" fail broken || fail "TAP check"
    b=$(grep -c '^  verdict: broken$' <<<"$out")
    ((b == n - 1)) || fail "$b broken cases, want $((n - 1))"
    grep -qE "^# pass 0, fail 1, skip 0, todo 0, xpass 0, timeout 0, crash 0, broken $((n - 1))$" \
        <<<"$out" || fail "the summary line does not count the broken cases"
    grep -q "<error message=\"the back end exited with status 4 before it listened" \
        "$work/out.xml" || fail "JUnit has no <error> for a broken case"
    [ "$(grep -c 'type="broken"' "$work/out.xml")" -eq $((n - 1)) ] \
        || fail "JUnit: not $((n - 1)) errors of type broken"
    # the report reader keeps the word
    "$vc" report --junit "$work/again.xml" "$work/out.tap" || fail "report failed"
    [ "$(grep -c 'type="broken"' "$work/again.xml")" -eq $((n - 1)) ] \
        || fail "report: broken cases lost reading the TAP back"
    # an expectation never covers a broken case, and cannot name the word
    for id in $ids; do echo "$id fail listed" >>"$work/expect.txt"; done
    rm -f "$work/started"
    run --backend "$once" --filter 'connect/[rs]*' --expect "$work/expect.txt"
    ((rc == 1)) || fail "with every case listed: exit status $rc, want 1"
    grep -qE "^not ok 1 - $first # TODO" <<<"$out" || fail "the first case is not a TODO"
    grep -E '^not ok [0-9]+ .* # TODO' <<<"$out" | grep -v '^not ok 1 ' \
        && fail "a broken case matched an expectation"
    grep -qE "^# pass 0, fail 0, skip 0, todo 1, xpass 0, timeout 0, crash 0, broken $((n - 1))$" \
        <<<"$out" || fail "the summary line counts a broken case as todo"
    echo "$first broken setups happen" >"$work/expect-broken.txt"
    "$vc" run --list-only --expect "$work/expect-broken.txt" >/dev/null 2>"$work/err"
    (($? == 2)) || fail "an expectation of 'broken' was accepted"
    grep -q "broken cannot be expected" "$work/err" || fail "no reason for refusing 'broken'"
    nothing_left
    ;;
reaper-setsid)
    # the fake's shell starts a grandchild in a session of its own, which
    # the back end's process group kill cannot reach
    grand="setsid sh -c 'sleep 300; : $marker-grandchild' </dev/null >/dev/null 2>&1 &"
    run --backend "sh -c \"$grand exec $closes\" {socket}" --filter 'connect/server-basic'
    ((rc == 1)) || fail "exit status $rc, want 1"
    grep -qE "^# connect/server-basic: killed what outlived the back end: [0-9]+ \((sh|sleep)\)" \
        <<<"$out" || fail "the TAP does not say what was killed"
    grep -q "killed what outlived" <<<"$err" || fail "stderr does not say what was killed"
    nothing_left
    ;;
sighup|sigkill)
    sig=${scenario#sig}
    TMPDIR=$work "$vc" run --backend "$silent" --filter 'connect/server-basic' \
        >"$work/stdout" 2>"$work/stderr" &
    pid=$!
    for _ in $(seq 100); do pgrep -f -- "$marker" >/dev/null && break; sleep 0.1; done
    pgrep -f -- "$marker" >/dev/null || fail "the fake back end never started"
    sleep 0.5   # the case is connected and waiting for a reply
    kill -"${sig^^}" "$pid"
    wait "$pid"
    rc=$?
    echo "exit $rc after SIG${sig^^}"
    cat "$work/stdout"
    if [ "$sig" = hup ]; then
        ((rc == 129)) || fail "exit status $rc, want 129 (128 + SIGHUP)"
        grep -q '^Bail out! interrupted by SIGHUP' "$work/stdout" || fail "no Bail out! line"
    fi
    # a SIGKILLed runner cannot clean up: its worker does, within a moment
    for _ in $(seq 50); do
        pgrep -f -- "$marker" >/dev/null || [ -n "$(find "$work" -maxdepth 1 -name 'vhc.*')" ] \
            || break
        sleep 0.1
    done
    nothing_left
    ;;
log-cap)
    # 1 GiB on stderr before it listens, then one last line
    flood="sh -c '(yes $marker-flood | head -c 1073741824; echo; echo $marker-last-words) >&2
                  exec $silent' {socket}"
    (
        peak=0
        while [ ! -e "$work/done" ]; do
            s=$(du -sb "$work" 2>/dev/null | cut -f1)
            ((s > peak)) && peak=$s && echo "$peak" >"$work/peak"
            sleep 0.05
        done
    ) &
    watcher=$!
    run --backend "$flood" --filter 'connect/server-basic' --timeout-scale 3
    touch "$work/done"
    wait "$watcher"
    peak=$(cat "$work/peak" 2>/dev/null || echo 0)
    echo "peak disk use under the case directory: $peak bytes"
    ((rc == 1)) || fail "exit status $rc, want 1"
    ((peak < 8 * 1024 * 1024)) || fail "the log grew to $peak bytes"
    grep -q "^    $marker-last-words$" <<<"$out" || fail "the log's tail is not in the YAML"
    nothing_left
    ;;
rmtree)
    mkdir "$work/precious" && echo keep >"$work/precious/file"
    mess="d=\$(dirname {socket}); mkdir -p \$d/a/b/c \$d/e; echo x >\$d/a/b/c/f
          ln -s $work/precious \$d/link; ln -s $work/precious \$d/a/b/link; mkfifo \$d/e/fifo"
    run --backend "sh -c '$mess; exec $closes' {socket}" --filter 'connect/server-basic'
    ((rc == 1)) || fail "exit status $rc, want 1"
    [ "$(cat "$work/precious/file" 2>/dev/null)" = keep ] || fail "a symlink was followed"
    nothing_left
    ;;
record-listen)
    echo 'precious' >"$work/not-a-socket"
    "$vc" record --listen "$work/not-a-socket" --connect "$work/nothing.sock" --wait 1 \
        >"$work/log" 2>"$work/err"
    rc=$?
    cat "$work/err"
    ((rc != 0)) || fail "record listened on a path that holds a file"
    [ "$(cat "$work/not-a-socket")" = precious ] || fail "record removed or changed the file"
    grep -q "not a socket" "$work/err" || fail "record does not say why"
    mkdir "$work/a-dir"
    "$vc" record --listen "$work/a-dir" --connect "$work/nothing.sock" --wait 1 \
        >"$work/log" 2>"$work/err"
    [ -d "$work/a-dir" ] || fail "record removed a directory"
    # a stale socket (its listener gone) is replaced, and removed at the end
    socat -u UNIX-LISTEN:"$work/stale.sock",unlink-close=0 /dev/null &
    for _ in $(seq 50); do [ -S "$work/stale.sock" ] && break; sleep 0.1; done
    kill -KILL $! 2>/dev/null; wait $! 2>/dev/null
    [ -S "$work/stale.sock" ] || fail "could not make a stale socket"
    "$vc" record --listen "$work/stale.sock" --connect "$work/nothing.sock" --wait 1 \
        >"$work/log" 2>"$work/err"
    cat "$work/err"
    grep -q "cannot listen" "$work/err" && fail "record did not replace a stale socket"
    [ -e "$work/stale.sock" ] && fail "record left its socket behind"
    ;;
job-number)
    seen=$work/seen
    tmpl="sh -c 'echo job-{n} >>$seen; exec $closes' {socket}"
    run --backend "$tmpl" --filter 'connect/[rs]*'
    ((rc == 1)) || fail "exit status $rc, want 1"
    sort -u "$seen"
    [ "$(sort -u "$seen")" = "job-0" ] || fail "without --jobs {n} is not 0"
    : >"$seen"
    run --backend "$tmpl" --filter 'connect/[rs]*' --jobs 2
    [ "$(sort -u "$seen" | tr '\n' ' ')" = "job-0 job-1 " ] || fail "--jobs 2: not 0 and 1"
    nothing_left
    ;;
deadline-scale)
    # the runner's start window: a client-mode fake that never connects
    run --backend "sh -c 'sleep 300; : $marker' {socket}" --mode client \
        --filter 'connect/client-basic' --timeout-scale 1.2
    ((rc == 2)) || fail "exit status $rc, want 2"
    grep -qE '^Bail out! the back end is still running but has not connected to .* within 12000 ms' \
        <<<"$out" || fail "the start window did not follow --timeout-scale 1.2"
    ((ms >= 12000)) || fail "gave up after $ms ms, before the scaled 12 s"
    # the case's own waits: a reply owed by a silent back end, 5 s x 1.2
    run --backend "$silent" --filter 'connect/server-basic' --timeout-scale 1.2
    ((rc == 1)) || fail "exit status $rc, want 1"
    d=$(sed -n 's/^  duration_ms: //p' <<<"$out")
    echo "failed after $d ms"
    ((d >= 6000)) || fail "the reply wait did not follow --timeout-scale 1.2 ($d ms)"
    # a scale below 1 shortens the deadline only (30 s x 0.1), never a wait
    run --backend "$silent" --filter 'connect/server-basic' --timeout-scale 0.1
    grep -q '^  verdict: timeout$' <<<"$out" || fail "scale 0.1: the wait was shortened"
    nothing_left
    ;;
*) fail "unknown scenario" ;;
esac
echo "PASS ($scenario)"
