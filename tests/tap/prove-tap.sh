#!/usr/bin/env bash
# prove-tap.sh [--parse-only] FILE...
# Reads saved TAP streams with prove. Fails on any parse error or warning;
# without --parse-only it also fails when prove judges a stream failed.
#
# Debian 12's prove (Test::Harness 3.44) knows TAP up to version 13 and
# rejects the "TAP version 14" line itself.  Everything else vhost-conform
# writes (plan first, directives, YAML blocks; no subtests) is TAP 13 as
# well, so the copy handed to prove has its version line read as 13.  Any
# other deviation still fails here.
set -euo pipefail
parse_only=0
if [[ ${1:-} == --parse-only ]]; then parse_only=1; shift; fi
(($#)) || { echo "usage: $0 [--parse-only] FILE..." >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for f in "$@"; do
    head -n1 "$f" | grep -qx 'TAP version 14' || { echo "$f: first line is not 'TAP version 14'" >&2; status=1; continue; }
    copy="$tmp/$(basename "$f").t"
    sed '1s/^TAP version 14$/TAP version 13/' "$f" > "$copy"
    out=$(prove --exec cat "$copy" 2>&1) && rc=0 || rc=$?
    if grep -qiE 'parse error|unknown|warning|wrong number|no plan' <<<"$out"; then
        echo "$f: prove complains:" >&2; echo "$out" >&2; status=1
    elif ((rc != 0 && !parse_only)); then
        echo "$f: prove judged the run failed:" >&2; echo "$out" >&2; status=1
    fi
done
exit "$status"
