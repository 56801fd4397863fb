#!/usr/bin/env bash
# Self-tests of the interactive CLI: shell (through a pipe, against the
# bundled vhost-refnet), features, --shard, --jobs, --repeat, --trace, help.
# usage: cli-check.sh VHOST-CONFORM SCENARIO
set -uo pipefail
vc=$1 scenario=$2
filter='negotiation/*'
fail() { echo "FAIL: $*" >&2; exit 1; }
verdicts() { grep -E '^(not )?ok ' "$1" | sed -E 's/ # .*//'; }
# The shell fed through a FIFO, so a step can wait for what the shell said
# (under load a fixed sleep is not enough): shell_start ARGS..., say LINE...,
# seen ERE (up to 20 s), shell_end (the output in $out, the status in $rc).
shell_start() {
    sh_dir=$(mktemp -d); mkfifo "$sh_dir/in"
    timeout 60 "$vc" shell "$@" < "$sh_dir/in" > "$sh_dir/out" 2>&1 &
    sh_pid=$!
    exec {sh_w}>"$sh_dir/in"
}
say() { printf '%s\n' "$@" >&"$sh_w"; }
seen() {
    for ((i = 0; i < 200; i++)); do
        grep -qE "$1" "$sh_dir/out" && return 0
        sleep 0.1
    done
    return 1
}
shell_end() {
    exec {sh_w}>&-
    wait "$sh_pid"; rc=$?
    out=$(cat "$sh_dir/out")
    rm -rf "$sh_dir"
}

case $scenario in
shell)
    out=$(printf '%s\n' GET_FEATURES 'need-reply on' 'SET_PROTOCOL_FEATURES 0x8' \
            SET_OWNER 'SET_VRING_NUM 0 256' 'GET_VRING_BASE 0' mem BOGUS quit \
          | timeout 60 "$vc" shell 2>&1)
    rc=$?
    echo "$out"
    # decoded request and reply, an ack owed through REPLY_ACK, the state reply
    grep -qE '^0001 F->B GET_FEATURES\(1\) flags=0x1\[v1\]' <<<"$out" || fail "no GET_FEATURES sent"
    grep -qE '^0002 B->F GET_FEATURES\(1\) flags=0x5\[v1,REPLY\] size=8 .*VERSION_1' <<<"$out" \
        || fail "no decoded GET_FEATURES reply"
    grep -qE 'B->F SET_OWNER\(3\) .*REPLY.* u64=0x0 \(ack\)' <<<"$out" || fail "no SET_OWNER ack"
    grep -qE 'B->F GET_VRING_BASE\(11\) .*state=\{index=0,num=0\}' <<<"$out" \
        || fail "no GET_VRING_BASE reply"
    grep -qE 'F->B SET_MEM_TABLE\(5\) .*nfds=2' <<<"$out" || fail "mem sent no SET_MEM_TABLE"
    grep -q "unknown command 'BOGUS'" <<<"$out" || fail "BOGUS not refused"
    ((rc == 1)) || fail "exit status $rc, want 1 (BOGUS failed)"
    # a clean session exits 0, and QEMU's init runs as one command
    out=$(printf 'qemu-init\nGET_QUEUE_NUM\n' | timeout 60 "$vc" shell 2>&1) || fail "clean session failed: $out"
    grep -qE 'F->B SET_BACKEND_REQ_FD' <<<"$out" || fail "qemu-init sent no SET_BACKEND_REQ_FD"
    grep -qE 'B->F GET_QUEUE_NUM\(17\)' <<<"$out" || fail "no GET_QUEUE_NUM reply"
    # kill, the notice at once, restart, reconnect
    shell_start
    say qemu-init kill
    seen '^\*\*\* the back end was killed by SIGKILL' || true   # checked below
    say GET_FEATURES restart qemu-init reconnect GET_FEATURES 'kill TERM' quit
    shell_end
    echo "$out"
    grep -qE '^back end \(pid [0-9]+\) was killed by SIGKILL$' <<<"$out" || fail "kill did not say so"
    # told before the next command was read, not as 'Broken pipe' at it
    # (a close, or a reset when the killed back end left our last message unread)
    notice=$(grep -nE '^\*\*\* the (back end closed the connection|connection broke)' <<<"$out" |
             head -1 | cut -d: -f1)
    next=$(grep -n '^> GET_FEATURES' <<<"$out" | head -1 | cut -d: -f1)
    [[ -n $notice && -n $next ]] && ((notice < next)) || fail "no notice before the next command"
    grep -q '^\*\*\* the back end was killed by SIGKILL' <<<"$out" || fail "no notice of the exit"
    grep -qE '^back end restarted \(pid [0-9]+; the last one was killed by SIGKILL\)' <<<"$out" ||
        fail "restart did not say so"
    [[ $(grep -c 'F->B SET_BACKEND_REQ_FD' <<<"$out") == 2 ]] || fail "qemu-init after restart"
    after=$(sed -n '/^> reconnect/,$p' <<<"$out")
    grep -q '^connected to ' <<<"$after" || fail "reconnect did not connect"
    grep -qE '^[0-9]{4} B->F GET_FEATURES' <<<"$after" || fail "no reply after reconnect"
    grep -qE '^back end \(pid [0-9]+\) exited with status 0$' <<<"$after" || fail "kill TERM"
    ((rc == 1)) || fail "exit status $rc, want 1 (GET_FEATURES after kill failed)"
    # a back end that closes by itself: told at once, with how it ended
    shell_start --backend "socat UNIX-LISTEN:{socket} SYSTEM:'sleep 1'"
    seen '^\*\*\* the back end exited' || true   # checked below
    say quit
    shell_end
    echo "$out"
    [[ $(sed -n '2,3p' <<<"$out") == "*** the back end closed the connection ('reconnect' or 'restart')"$'\n'"*** the back end exited with status 0 ('restart' starts it again)" ]] ||
        fail "a close by the back end was not told before the next command"
    # a back end not started here cannot be killed or restarted
    t=$(mktemp -d)
    "$(dirname "$vc")/../reference-backend/vhost-refnet" --socket "$t/s.sock" >/dev/null 2>&1 &
    ref=$!
    out=$(printf 'kill\nrestart\nGET_FEATURES\n' | timeout 60 "$vc" shell --socket "$t/s.sock" 2>&1)
    rc=$?
    kill "$ref"; wait "$ref" 2>/dev/null; rm -rf "$t"
    grep -q '^kill: the back end was not started here (--socket)' <<<"$out" || fail "kill --socket: $out"
    grep -q '^restart: the back end was not started here' <<<"$out" || fail "restart --socket"
    grep -qE 'B->F GET_FEATURES' <<<"$out" || fail "the connection did not survive: $out"
    ((rc == 1)) || fail "--socket kill/restart: exit $rc, want 1"
    # on a terminal (libedit): the notice comes while the prompt waits
    out=$( { sleep 1; echo kill; sleep 1.5; echo quit; } |
           script -qec "'$vc' shell" /dev/null | tr -d '\r')
    grep -q '^\*\*\* the back end closed the connection' <<<"$out" || fail "no notice on a terminal: $out"
    ;;
features)
    out=$(timeout 60 "$vc" features --profile qemu-8.2) || fail "features failed"
    echo "$out"
    for label in 'profile: *qemu-8.2' 'features offered: *0x[0-9a-f]{16} .*VERSION_1' \
                 'features guest can get:' 'features QEMU masks:' 'protocol acked: *0x' \
                 'queue pairs: *[0-9]+' 'max mem slots:'; do
        grep -qE "^$label" <<<"$out" || fail "no line '$label'"
    done
    "$vc" features --profile nosuch 2>/dev/null; (($? == 2)) || fail "bad profile not a usage error"
    ;;
shard)
    all=$("$vc" run --list-only --filter "$filter")
    a=$("$vc" run --list-only --filter "$filter" --shard 1/2)
    b=$("$vc" run --list-only --filter "$filter" --shard 2/2)
    [[ -n $a && -n $b ]] || fail "an empty shard"
    [[ $(sort <<<"$a"$'\n'"$b") == $(sort <<<"$all") ]] || fail "shards do not cover the list"
    [[ -z $(comm -12 <(sort <<<"$a") <(sort <<<"$b")) ]] || fail "shards overlap"
    "$vc" run --shard 3/2 --list-only 2>/dev/null; (($? == 2)) || fail "--shard 3/2 accepted"
    ;;
jobs)
    t=$(mktemp -d)
    timeout 300 "$vc" run --filter "$filter" --jobs 1 >"$t/1.tap"; r1=$?
    timeout 300 "$vc" run --filter "$filter" --jobs 2 >"$t/2.tap"; r2=$?
    ((r1 == r2)) || fail "exit status $r1 with one job, $r2 with two"
    n=$(verdicts "$t/1.tap" | wc -l)
    ((n > 1)) || fail "too few cases ($n)"
    diff <(verdicts "$t/1.tap") <(verdicts "$t/2.tap") || fail "--jobs 2 differs from --jobs 1"
    grep -q "^1\.\.$n\$" "$t/2.tap" || fail "plan of --jobs 2 is not 1..$n"
    rm -rf "$t"
    ;;
repeat)
    one=$("$vc" run --filter "$filter" | grep -cE '^(not )?ok ')
    err=$(mktemp)
    out=$("$vc" run --filter "$filter" --repeat 2 --trace 2>"$err")
    two=$(grep -cE '^(not )?ok ' <<<"$out")
    ((two == 2 * one)) || fail "--repeat 2 ran $two, want $((2 * one))"
    grep -qE '^ok [0-9]+ - negotiation/[^ ]+@rep2' <<<"$out" || fail "no @rep2 ids"
    grep -qE '^[0-9]{4} F->B GET_FEATURES' "$err" || fail "--trace printed no messages"
    rm -f "$err"
    ;;
help)
    for c in list explain run shell features report replay record play trace-diff profiles; do
        page=$("$vc" "$c" --help) || fail "$c --help failed"
        for s in NAME SYNOPSIS DESCRIPTION 'EXIT STATUS' EXAMPLES; do
            grep -q "^$s" <<<"$page" || fail "$c --help has no $s"
        done
    done
    "$vc" help nosuch 2>/dev/null; (($? == 2)) || fail "help nosuch not a usage error"
    # completion: commands and case ids
    src=$(dirname "$0")/../../scripts/vhost-conform.bash-completion
    out=$(bash -c "source '$src'; PATH=$(dirname "$vc"):\$PATH
        COMP_WORDS=(vhost-conform explain negotiation/get-f); COMP_CWORD=2; _vhost_conform
        echo \"\${COMPREPLY[@]}\"
        COMP_WORDS=(vhost-conform sh); COMP_CWORD=1; _vhost_conform; echo \"\${COMPREPLY[@]}\"
        COMP_WORDS=(vhost-conform run --profile qemu-8); COMP_CWORD=3; _vhost_conform
        echo \"\${COMPREPLY[@]}\"")
    grep -q 'negotiation/get-features' <<<"$out" || fail "no case id completion: $out"
    grep -qx 'shell' <<<"$out" || fail "no command completion: $out"
    grep -qx 'qemu-8.2' <<<"$out" || fail "no profile completion: $out"
    ;;
usage)
    # --version: the project's version and a commit
    v=$("$vc" --version) || fail "--version failed"
    grep -qE '^vhost-conform [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]{7,}(-dirty)?|unknown)\)$' \
        <<<"$v" || fail "--version printed '$v'"
    # the body of section $1 of the page on stdin, without its trailing blank line
    sect() { awk -v s="$1" '$0 == s { on = 1; next } /^[A-Z]/ { on = 0 } on' | sed '${/^$/d}'; }
    src=$(dirname "$0")/../../scripts/vhost-conform.bash-completion
    # every command has its page, and the overview names every command
    cmds="list explain run shell features report replay record play trace-diff profiles help"
    ov=$("$vc" help)
    for c in $cmds; do
        grep -qE "^  ([a-z, -]+ )?$c( |,|$)" <<<"$ov" || fail "the overview does not name $c"
    done
    for c in $cmds; do
        page=$("$vc" help "$c") || fail "help $c failed"
        [[ $("$vc" "$c" --help) == "$page" ]] || fail "$c --help differs from help $c"
        # a bad option prints the page's SYNOPSIS and OPTIONS, line for line
        u=$("$vc" "$c" --no-such-option 2>&1 >/dev/null); rc=$?
        ((rc == 2)) || fail "$c --no-such-option exited $rc, want 2"
        want=$(sect SYNOPSIS <<<"$page" | sed "s/^  //" | tr -s " \n" " ")
        got=$(sed -n '/^usage: /,/^$/p' <<<"$u" | sed 's/^usage: //' | tr -s ' \n' ' ')
        [[ $want == "$got" ]] || fail "$c: usage synopsis '$got', help's '$want'"
        opts=$(sect OPTIONS <<<"$page")
        [[ -z $opts || $u == *"$opts"* ]] || fail "$c: the usage's options are not help's:"$'\n'"$u"
        # every option the page names is one the command takes
        for o in $(grep -oE '^  --[a-z-]+' <<<"$opts"); do
            e=$("$vc" "$c" "$o" x --no-such-option 2>&1 </dev/null)
            grep -q "unrecognized option '$o'" <<<"$e" && fail "$c: help names $o, $c does not take it"
        done
        # the bash completion offers exactly the page's options
        [[ $c == help ]] && continue
        comp=$(bash -c "source '$src'; COMP_WORDS=(vhost-conform $c --); COMP_CWORD=2
            _vhost_conform; printf '%s\n' \"\${COMPREPLY[@]}\"" | grep -- '^--' | sort -u)
        # the options a line starts with ("  --tap FILE, --junit FILE  text"), not those
        # its text mentions
        doc=$( (grep -E '^  --' <<<"$opts" | sed -E 's/^  (([^ ]| [^ ])*).*/\1/' |
                 grep -oE -- '--[a-z][a-z-]+'; echo --help) | sort -u)
        [[ $comp == "$doc" ]] ||
            fail "$c: completion offers $(tr '\n' ' ' <<<"$comp"); help names $(tr '\n' ' ' <<<"$doc")"
    done
    # the back-end options are one parser: the same refusal from every command
    for c in run replay play shell features; do
        e=$("$vc" "$c" --timeout-scale 0 x 2>&1 </dev/null); rc=$?
        ((rc == 2)) || fail "$c --timeout-scale 0 exited $rc, want 2"
        grep -q "^vhost-conform: --timeout-scale takes a number above 0, up to 1000, not '0'$" \
            <<<"$e" || fail "$c --timeout-scale 0: $e"
    done
    for c in run replay play; do
        e=$("$vc" "$c" --mode sideways x 2>&1 </dev/null)
        grep -q "^vhost-conform: --mode takes server or client, not 'sideways'$" <<<"$e" ||
            fail "$c --mode sideways: $e"
    done
    # and the scale applies: the shell's wait of 100 ms, times 3
    out=$(echo quit | timeout 60 "$vc" shell --timeout 100 --timeout-scale 3 2>&1)
    grep -q '^connected to .* (timeout 300 ms;' <<<"$out" || fail "shell --timeout-scale: $out"
    "$vc" >/dev/null 2>&1; (($? == 2)) || fail "no command is not a usage error"
    "$vc" list 'nosuch*' >/dev/null 2>&1; (($? == 2)) || fail "list with no match did not exit 2"
    "$vc" run --filter 'nosuch*' --list-only >/dev/null 2>&1; (($? == 2)) || fail "run --filter nomatch"
    "$vc" list 'negotiation/*' >/dev/null || fail "list with matches failed"
    # exit statuses are documented, 130 (SIGINT) among them
    grep -qE '^  128\+N .*130 SIGINT' <<<"$("$vc" help run)" || fail "help run does not document 130"
    grep -qE '^  130, 143 ' <<<"$("$vc" help)" || fail "the overview does not document 130/143"
    # man pages: one per command, from the same text, clean roff, whatis lines
    t=$(mktemp -d)
    "$vc" help --man-dir "$t" || fail "help --man-dir failed"
    for c in '' $cmds; do
        f=$t/vhost-conform${c:+-$c}.1
        [[ -s $f ]] || fail "no man page $f"
        w=$(LC_ALL=C groff -man -Tascii -ww -z "$f" 2>&1); [[ -z $w ]] || fail "$f: groff: $w"
        lexgrog "$f" | grep -q "vhost-conform${c:+-$c} - " || fail "$f: no whatis line"
        body=$(LC_ALL=C MANWIDTH=200 man -l "$f" 2>/dev/null | col -bx)
        page=$("$vc" help $c)
        for s in DESCRIPTION COMMANDS OPTIONS 'EXIT STATUS'; do
            while IFS= read -r line; do
                [[ -z $line ]] && continue
                grep -qF -- "${line#  }" <<<"$body" || fail "$f lacks '$line' of the help text"
            done < <(sect "$s" <<<"$page")
        done
    done
    rm -rf "$t"
    ;;
ids)
    # every case id is written out whole in one case file: grep finds its line
    cases=$(dirname "$0")/../../cases
    n=0
    while read -r id _; do
        hits=$(grep -rnF "\"$id\"" "$cases"/*.c | wc -l)
        ((hits == 1)) || fail "case id $id is in the case files $hits times, want once (literal)"
        n=$((n + 1))
    done < <("$vc" list)
    ((n > 100)) || fail "only $n cases listed"
    ;;
progress)
    # stderr a terminal, stdout a file (run > out.tap): a line per case on stderr
    t=$(mktemp -d)
    out=$(script -qec "'$vc' run --filter '$filter' > '$t/out.tap'" /dev/null | tr -d '\r')
    n=$(grep -cE '^(not )?ok ' "$t/out.tap")
    ((n > 1)) || fail "too few cases ($n)"
    [[ $(grep -cE '^\[[0-9]+/'"$n"'\] negotiation/[^ ]+ \.\.\. [a-z]+' <<<"$out") == "$n" ]] ||
        fail "not one progress line per case on the terminal: $out"
    grep -q '^\[' "$t/out.tap" && fail "progress went into the TAP"
    # both on one terminal: the TAP lines are the progress, each case shown once
    out=$(script -qec "'$vc' run --filter '$filter'" /dev/null | tr -d '\r')
    [[ $(grep -c 'negotiation/get-features-reply' <<<"$out") == 1 ]] ||
        fail "a case printed twice on one terminal: $out"
    # not a terminal (CI): compact periodic lines, then one at the end
    VHC_PROGRESS_INTERVAL=0 "$vc" run --filter "$filter" 2>"$t/err" >/dev/null
    [[ $(grep -cE '^vhost-conform: [0-9]+/'"$n"' cases, [0-9.ms]+: pass [0-9]+, fail [0-9]+, .*; last ' "$t/err") == $((n - 1)) ]] ||
        fail "periodic lines: $(cat "$t/err")"
    grep -qE "^vhost-conform: done, $n/$n cases in " "$t/err" || fail "no last line: $(cat "$t/err")"
    grep -q '^\[' "$t/err" && fail "per-case lines in a CI log"
    "$vc" run --filter "$filter" 2>"$t/err" >/dev/null   # 30 s apart: only the last
    [[ $(wc -l < "$t/err") == 1 ]] || fail "default interval printed: $(cat "$t/err")"
    rm -rf "$t"
    ;;
play)
    list=$("$vc" play --list) || fail "play --list failed"
    for s in init boot guest-cycle host-cycle link-cycle reconnect disconnect reset; do
        grep -qE "^$s " <<<"$list" || fail "play --list lacks $s"
    done
    # every scenario against vhost-refnet, both socket modes for the reconnect
    for s in init boot guest-cycle host-cycle link-cycle reconnect disconnect reset; do
        out=$(timeout 120 "$vc" play "$s" 2>&1) || fail "play $s failed: $out"
        grep -qx PASS <<<"$out" || fail "play $s: no PASS"
    done
    err=$(mktemp)
    out=$(timeout 120 "$vc" play reconnect --mode client --queues 2 --trace 2>"$err") \
        || fail "play reconnect (client, 2 pairs) failed: $out"
    grep -qE '^ +[0-9]+ reconnect +.* ok$' <<<"$out" || fail "no reconnect step: $out"
    # after the reconnect: one enable round per enabled pair, then each
    # pair's features (and no guest probing rounds)
    after=$(sed -n '/-- reconnect:/,$p' "$err" | grep -E '^[0-9]{4} F->B' | cut -d' ' -f3)
    first=$(grep -n SET_FEATURES <<<"$after" | head -1 | cut -d: -f1)
    enables=$(head -n "$first" <<<"$after" | grep -c SET_VRING_ENABLE)
    ((enables == 2)) || fail "reconnect with 2 pairs: $enables SET_VRING_ENABLE before the first SET_FEATURES, want 2"
    rm -f "$err"
    # usage errors
    "$vc" play nosuch 2>/dev/null; (($? == 2)) || fail "play nosuch not a usage error"
    "$vc" play reconnect --socket /tmp/nosuch.sock 2>/dev/null; (($? == 2)) \
        || fail "reconnect with --socket not refused"
    "$vc" play link-cycle --device blk 2>/dev/null; (($? == 2)) || fail "link-cycle on blk accepted"
    "$vc" play reconnect --device fs 2>/dev/null; (($? == 2)) || fail "reconnect on fs accepted"
    ;;
trace-diff)
    fx=$(dirname "$0")/../../fixtures/qemu-7.2
    t=$(mktemp -d)
    "$vc" trace-diff "$fx/b1_boot.log" "$fx/b1_boot.log" > "$t/out" || fail "a trace differs from itself"
    grep -q '^trace-diff: same: 52 message' "$t/out" || fail "no summary: $(cat "$t/out")"
    # QEMU as chardev client or server sends the same (b1, b3; a1, a3)
    "$vc" trace-diff "$fx/b1_boot.log" "$fx/b3_boot_server.log" > /dev/null || fail "b1 and b3 differ"
    "$vc" trace-diff "$fx/a1_init_client.log" "$fx/a3_init_server.log" > /dev/null || fail "a1 and a3 differ"
    # one flag changed: exit 1, shown side by side
    sed 's/^\(0045 .*\)flags=0x1\[v1\]/\1flags=0x9[v1,NEED_REPLY]/' "$fx/b1_boot.log" > "$t/changed.log"
    "$vc" trace-diff "$fx/b1_boot.log" "$t/changed.log" > "$t/out"; rc=$?
    ((rc == 1)) || fail "a changed flag: exit $rc, want 1"
    grep -qE '^\| 0045 F->B SET_STATUS flags=0x1 .*\| 0045 F->B SET_STATUS flags=0x9' "$t/out" \
        || fail "the changed line is not shown side by side: $(cat "$t/out")"
    # different traces differ
    "$vc" trace-diff "$fx/b1_boot.log" "$fx/c1_guest_cycle.log" > /dev/null; (($? == 1)) \
        || fail "b1 and c1 compare equal"
    # bad input
    "$vc" trace-diff "$fx/b1_boot.log" "$t/nosuch.log" 2>/dev/null; (($? == 2)) || fail "a missing file: not 2"
    echo "garbage" > "$t/bad.log"
    "$vc" trace-diff "$t/bad.log" "$fx/b1_boot.log" 2>/dev/null; (($? == 2)) || fail "garbage: not 2"
    rm -rf "$t"
    ;;
*) fail "unknown scenario $scenario" ;;
esac
echo "ok: $scenario"
