#!/usr/bin/env bash
# report-check.sh VHOST_CONFORM
# End to end: two runs against the bundled vhost-refnet (server, client) and
# one against a fake back end that closes every connection (failures with
# transcripts) write TAP, JUnit and HTML; `vhost-conform report` merges the
# three TAP files.  Checks: xmllint reads every XML file, the JUnit counts
# match the TAP, `run --junit` and `report` agree, and headless Chromium
# loads the page with its script run to the end, the matrix in the DOM, a
# sequence diagram drawn and no console error.
set -euo pipefail
vc=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/vhcrep.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v xmllint >/dev/null || fail "xmllint missing (package libxml2-utils; scripts/setup.sh)"
command -v chromium >/dev/null || fail "chromium missing (package chromium; scripts/setup.sh)"

runs=(--filter 'connect/*' --filter 'negotiation/get-*')
"$vc" run "${runs[@]}" --mode server --tap "$work/a.tap" --junit "$work/a.xml" \
    --html "$work/a.html" > /dev/null || fail "refnet server run failed"
"$vc" run "${runs[@]}" --mode client --profile qemu-8.2 --tap "$work/b.tap" > /dev/null ||
    fail "refnet client run"
rc=0
echo 'connect/server-basic fail the fake back end closes every connection' > "$work/known.txt"
"$vc" run --filter 'connect/s*' --filter 'negotiation/get-features*' --tap "$work/c.tap" \
    --expect "$work/known.txt" --junit "$work/c.xml" --backend "socat UNIX-LISTEN:{socket},fork EXEC:/bin/true" \
    > /dev/null 2>&1 || rc=$?
((rc == 1)) || fail "fake back-end run exited $rc, want 1"
"$vc" report --junit "$work/m.xml" --html "$work/m.html" "$work/a.tap" "$work/b.tap" \
    "$work/c.tap" || fail "report exited $?"

xml() { xmllint --xpath "$2" "$1"; }
for f in a c m; do
    xmllint --noout "$work/$f.xml" || fail "$f.xml is not well-formed"
done
# counts: testcases = test lines; failure+error = unexpected 'not ok' lines
tests=$(cat "$work"/[abc].tap | grep -cE '^(not )?ok ')
bad=$(cat "$work"/[abc].tap | grep -E '^not ok ' | grep -vc '# TODO' || true)
[[ $(xml "$work/m.xml" 'count(//testsuite)') == 3 ]] || fail "want 3 testsuites"
[[ $(xml "$work/m.xml" 'count(//testcase)') == "$tests" ]] || fail "testcases != $tests"
[[ $(xml "$work/m.xml" 'count(//failure|//error)') == "$bad" ]] || fail "failures != $bad"
((bad > 0)) || fail "the fake back end produced no failure"
[[ $(xml "$work/m.xml" 'string(//testsuite[1]/@name)') == "vhost-refnet server" ]] ||
    fail "suite name: $(xml "$work/m.xml" 'string(//testsuite[1]/@name)')"
# what produced each run: the TAP header, the JUnit properties, the HTML page
version=$("$vc" --version | sed -E 's/^vhost-conform ([^ ]+) \(commit ([^)]+)\)$/\1 \2/')
for f in a b c; do
    for k in version commit date host backend mode profile device options; do
        grep -qE "^# $k: .+" "$work/$f.tap" || fail "$f.tap has no '# $k:' header line"
    done
    [[ "$(sed -n 's/^# version: //p' "$work/$f.tap") $(sed -n 's/^# commit: //p' "$work/$f.tap")" == "$version" ]] ||
        fail "$f.tap: version and commit are not --version's ($version)"
    grep -qE '^# date: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "$work/$f.tap" || fail "$f.tap: date"
    grep -qx "# host: $(uname -n) ($(uname -s) $(uname -r) $(uname -m))" "$work/$f.tap" ||
        fail "$f.tap: host"
    grep -qx '# device: net' "$work/$f.tap" || fail "$f.tap: device"
done
grep -qx '# profile: qemu-7.2' "$work/a.tap" || fail "a.tap: the default profile not named"
grep -qx '# profile: qemu-8.2' "$work/b.tap" || fail "b.tap: --profile qemu-8.2 not named"
grep -qx '# mode: client' "$work/b.tap" || fail "b.tap: mode"
grep -qxF "# options: --filter 'connect/*' --filter 'negotiation/get-*' --mode client --profile qemu-8.2 --tap $work/b.tap" \
    "$work/b.tap" || fail "b.tap: options: $(grep '^# options' "$work/b.tap")"
for s in 1 2 3; do
    for k in version commit date host backend mode profile device options source summary; do
        [[ -n $(xml "$work/m.xml" "string(//testsuite[$s]/properties/property[@name='$k']/@value)") ]] ||
            fail "suite $s of the report has no property $k"
    done
    [[ $(xml "$work/m.xml" "string(//testsuite[$s]/@hostname)") == "$(uname -n)" ]] ||
        fail "suite $s: hostname"
done
[[ $(xml "$work/m.xml" "string(//testsuite[2]/properties/property[@name='profile']/@value)") == qemu-8.2 ]] ||
    fail "the client run's profile property"
# class names apart per back end, mode and profile: no class of one run in another
c1=$(xml "$work/m.xml" 'string(//testsuite[1]/testcase[1]/@classname)')
c2=$(xml "$work/m.xml" 'string(//testsuite[2]/testcase[1]/@classname)')
[[ $c1 == vhost-refnet.server.qemu-7_2.connect && $c2 == vhost-refnet.client.qemu-8_2.connect ]] ||
    fail "class names $c1 and $c2"
[[ $(xml "$work/m.xml" "count(//testsuite[1]/testcase[@classname=//testsuite[2]/testcase/@classname])") == 0 ]] ||
    fail "server and client runs share class names"
# a duration on every case, passing ones read back from TAP included
[[ $(xml "$work/m.xml" 'count(//testcase[not(@time)])') == 0 ]] || fail "a case without time"
passing=$(xml "$work/m.xml" 'count(//testsuite[2]/testcase[not(*)])')
timed=$(xml "$work/m.xml" 'count(//testsuite[2]/testcase[not(*)][@time > 0])')
((passing > 0 && passing == timed)) || fail "$timed of $passing passing cases from TAP have a duration"
# an expected failure is told apart from a skip
[[ $(xml "$work/c.xml" "count(//skipped[@type='expected-failure'])") == 1 ]] ||
    fail "the listed failure is not one skipped type=expected-failure"
skips=$(grep -c '# SKIP' "$work/c.tap" || true)
[[ $(xml "$work/c.xml" "count(//skipped[@type='skip'])") == "$skips" ]] || fail "skips in c.xml"
[[ $(xml "$work/c.xml" "count(//skipped[not(@type)])") == 0 ]] || fail "a skipped without type"

# `run --junit` and `report` on the same run give the same verdicts
for q in failure error skipped; do
    direct=$(xml "$work/c.xml" "count(//$q)")
    merged=$(xml "$work/m.xml" "count(//testsuite[3]//$q)")
    [[ $direct == "$merged" ]] || fail "<$q>: run --junit $direct, report $merged"
done

# a listed failure that passes: counted as xpass and named; --strict fails the run
echo 'negotiation/get-features-reply fail stale: it was fixed' > "$work/stale.txt"
"$vc" run --filter 'negotiation/get-features-reply' --expect "$work/stale.txt" \
    > "$work/x.tap" 2> "$work/x.err" || fail "an xpass alone failed the run without --strict"
grep -qE '^# pass 0, fail 0, skip 0, todo 0, xpass 1, timeout 0, crash 0, broken 0$' "$work/x.tap" ||
    fail "summary: $(grep '^# pass' "$work/x.tap")"
grep -q 'listed failure passed.*negotiation/get-features-reply' "$work/x.err" ||
    fail "the xpass is not named on stderr: $(cat "$work/x.err")"
rc=0
"$vc" run --filter 'negotiation/get-features-reply' --expect "$work/stale.txt" --strict \
    --junit "$work/x.xml" > "$work/xs.tap" 2>/dev/null || rc=$?
((rc == 1)) || fail "--strict with an xpass exited $rc, want 1"
grep -qx '# strict: yes' "$work/xs.tap" || fail "no '# strict: yes' in the header"
[[ $(xml "$work/x.xml" "count(//failure[@type='xpass'])") == 1 ]] || fail "no xpass failure in JUnit"
"$vc" report --junit "$work/xr.xml" "$work/xs.tap" || fail "report of the strict run"
[[ $(xml "$work/xr.xml" "count(//failure[@type='xpass'])") == 1 ]] || fail "report lost --strict"

# the page in a real browser
dom() {   # dump the DOM of $1 (URL); console messages go to $work/console
    local prof; prof=$(mktemp -d "$work/prof.XXXXXX")
    timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --user-data-dir="$prof" \
        --enable-logging=stderr --v=0 --dump-dom "$1" 2>>"$work/console"
}
first=$(grep -m1 -o 'href="#r2-c[0-9]*"' "$work/m.html" | sed 's/href="#//; s/"//')
[[ -n $first ]] || fail "no link to a failure of the third run in the matrix"
dom "file://$work/m.html#$first" > "$work/m.dom" || fail "chromium failed"
grep -q 'data-ready="1"' "$work/m.dom" || fail "the page's script did not run to its end"
grep -q '<table id="matrix">' "$work/m.dom" || fail "no matrix in the DOM"
ids=$(cat "$work"/[abc].tap | sed -nE 's/^(not )?ok [0-9]+ - ([^ ]+).*/\2/p' | sort -u | wc -l)
rows=$(sed -n '/<table id="matrix">/,/<\/table>/p' "$work/m.dom" | grep -o '<tr' | wc -l)
((rows == ids + 1)) || fail "matrix has $rows rows, want $ids ids + header"
grep -q "<details class=\"case\" id=\"$first\" open=\"\"" "$work/m.dom" ||
    fail "following the link did not open the failure's details"
grep -qE 'class="m fb( off)?"' "$work/m.dom" || fail "no front end -> back end arrow drawn"
# the message a failure is about is marked, and the runs say what produced them
grep -qE 'class="m (fb|bf) off"' "$work/m.dom" || fail "no failure's message marked"
grep -q 'class="off-mark"' "$work/m.dom" || fail "no 'failure here' mark"
dom "file://$work/a.html" > "$work/a.dom" || fail "chromium failed on the run's own page"
for k in version commit date host backend mode profile device options; do
    grep -q "<td class=\"mono\" data-field=\"$k\">" "$work/a.dom" || fail "a.html does not show $k"
done
grep -q 'data-field="profile">qemu-8.2</td>' "$work/m.dom" || fail "m.html: the client run's profile"
grep -q 'data-ready="1"' "$work/a.dom" || fail "a.html: script did not run"
# the page logs nothing itself: any console line is a script error or warning
if grep -E 'Uncaught|:CONSOLE[:(]|net::ERR' "$work/console"; then
    fail "console messages"
fi
echo "report: $tests cases, $bad unexpected failures, $ids matrix rows; XML and HTML checked"
