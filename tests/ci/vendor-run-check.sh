#!/usr/bin/env bash
# vendor-run-check.sh VHOST_CONFORM VHOST_REFNET — ci/vendor-run.sh as a
# vendor's CI runs it, with vhost-refnet as "their" back end: it must pass
# and leave TAP, JUnit and HTML; against a back end that cannot start it
# must fail.
set -euo pipefail
vc=$1 refnet=$2
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export VHC_BIN=$vc VHC_ARGS="--filter negotiation/*"

VHC_BACKEND="$refnet --socket {socket}" VHC_REPORTS=$tmp/ok "$top/ci/vendor-run.sh"
for f in vhost-conform.tap vhost-conform.xml vhost-conform.html; do
    [[ -s "$tmp/ok/$f" ]] || { echo "FAIL: no $f" >&2; exit 1; }
done
grep -Eq '^# pass [1-9][0-9]*, fail 0' "$tmp/ok/vhost-conform.tap" ||
    { echo "FAIL: summary: $(grep '^# pass' "$tmp/ok/vhost-conform.tap")" >&2; exit 1; }
xmllint --noout "$tmp/ok/vhost-conform.xml"

rc=0
VHC_ARGS="--filter connect/server-basic" VHC_BACKEND="/bin/false {socket}" VHC_REPORTS=$tmp/bad "$top/ci/vendor-run.sh" 2> "$tmp/bad.err" || rc=$?
((rc != 0)) || { echo "FAIL: a back end that cannot start passed" >&2; exit 1; }
echo "ok: vendor-run passes against vhost-refnet, exits $rc against /bin/false"
