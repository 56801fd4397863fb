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
"$vc" run "${runs[@]}" --mode client --tap "$work/b.tap" > /dev/null || fail "refnet client run"
rc=0
"$vc" run --filter 'connect/s*' --filter 'negotiation/get-features*' --tap "$work/c.tap" \
    --junit "$work/c.xml" --backend "socat UNIX-LISTEN:{socket},fork EXEC:/bin/true" \
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
# `run --junit` and `report` on the same run give the same verdicts
for q in failure error skipped; do
    direct=$(xml "$work/c.xml" "count(//$q)")
    merged=$(xml "$work/m.xml" "count(//testsuite[3]//$q)")
    [[ $direct == "$merged" ]] || fail "<$q>: run --junit $direct, report $merged"
done

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
grep -q 'class="m fb"' "$work/m.dom" || fail "no front end -> back end arrow drawn"
dom "file://$work/a.html" > "$work/a.dom" || fail "chromium failed on the run's own page"
grep -q 'data-ready="1"' "$work/a.dom" || fail "a.html: script did not run"
# the page logs nothing itself: any console line is a script error or warning
if grep -E 'Uncaught|:CONSOLE[:(]|net::ERR' "$work/console"; then
    fail "console messages"
fi
echo "report: $tests cases, $bad unexpected failures, $ids matrix rows; XML and HTML checked"
