#!/usr/bin/env bash
# shard-check.sh VHOST_CONFORM PROVE_TAP
# Shards merge back into one run: `run --shard 1/2` and `2/2` against the
# bundled vhost-refnet, merged by `report --tap/--html/--junit`, give the
# verdicts of one unsharded run, in one TAP stream prove reads and one
# JUnit suite; a shard given twice is an error, a missing one a warning.
# Also: `explain` prints the messages of its dry run.
set -euo pipefail
vc=$1 prove_tap=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/vhcshard.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
sel=(--filter 'connect/*' --filter 'negotiation/*')
"$vc" run "${sel[@]}" --shard 1/2 --tap "$work/s1.tap" > /dev/null || fail "shard 1/2"
"$vc" run "${sel[@]}" --shard 2/2 --tap "$work/s2.tap" > /dev/null || fail "shard 2/2"
"$vc" run "${sel[@]}" --tap "$work/all.tap" > /dev/null || fail "unsharded run"
grep -qx '# shard: 2/2' "$work/s2.tap" || fail "no '# shard:' header"
"$vc" report --tap "$work/m.tap" --html "$work/m.html" --junit "$work/m.xml" \
    "$work/s2.tap" "$work/s1.tap" 2> "$work/err" || fail "report exited $?"
[[ ! -s $work/err ]] || fail "report complained: $(cat "$work/err")"
verdicts() { grep -E '^(not )?ok ' "$1" | sed -E 's/^(not ok|ok) [0-9]+ - /\1 /' | sort; }
diff <(verdicts "$work/all.tap") <(verdicts "$work/m.tap") || fail "merged verdicts differ"
n=$(grep -cE '^(not )?ok ' "$work/all.tap")
grep -qx "1..$n" "$work/m.tap" || fail "merged plan is not 1..$n"
grep -E '^(not )?ok ' "$work/m.tap" | awk '{ n = $1 == "ok" ? $2 : $3; if (n != NR) exit 1 }' ||
    fail "merged TAP not numbered 1..$n"
"$prove_tap" "$work/m.tap" || fail "prove rejects the merged TAP"
[[ $(xmllint --xpath 'count(//testsuite)' "$work/m.xml") == 1 ]] || fail "want one testsuite"
[[ $(xmllint --xpath 'count(//testcase)' "$work/m.xml") == "$n" ]] || fail "want $n testcases"
grep -q '<table id="matrix"><thead><tr><th>case</th><th>vhost-refnet server</th></tr>' \
    "$work/m.html" || fail "the page's matrix is not one column 'vhost-refnet server'"
# a shard twice: error; a shard missing: warning, still a report
if "$vc" report --tap "$work/x.tap" "$work/s1.tap" "$work/s1.tap" 2> "$work/err"; then
    fail "a shard given twice was accepted"
fi
grep -q 'given twice' "$work/err" || fail "no clear message: $(cat "$work/err")"
"$vc" report --tap "$work/x.tap" "$work/s1.tap" 2> "$work/err" || fail "one shard alone"
grep -q 'shard 2/2 is missing' "$work/err" || fail "no warning for the missing shard"
# explain: the dry run's messages, a request and its reply
out=$("$vc" explain negotiation/get-features-reply)
grep -q '^messages (as exchanged with vhost-refnet' <<<"$out" || fail "explain: no messages"
grep -qE '^  0001 F->B GET_FEATURES\(1\)' <<<"$out" || fail "explain: no request line"
grep -qE '^  0002 B->F GET_FEATURES\(1\) flags=0x5' <<<"$out" || fail "explain: no reply line"
"$vc" explain negotiation/get-features-reply --no-messages | grep -q '^messages' &&
    fail "--no-messages printed messages"
# explain names every case flag (net cases printed "flags: ?" once)
out=$("$vc" explain datapath/mq/two-pairs --no-messages)
grep -qE '^flags: +MQ NET$' <<<"$out" || fail "explain: flags not named: $(grep '^flags' <<<"$out")"
echo "shards: $n cases merged from 2 shards; explain shows the exchange"
