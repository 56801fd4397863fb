#!/usr/bin/env bash
# run-suite.sh VHOST_CONFORM OUTDIR NAME MODE [run options...]
# Runs the whole suite against one back end in one socket mode (waits scaled by
# $VHC_TIMEOUT_SCALE when set, for a busy CI runner), keeps the TAP
# in OUTDIR/NAME-MODE.tap and checks it with prove: the test passes when the
# stream parses cleanly and nothing failed unexpectedly (exit status 0).
set -euo pipefail
vc=$1 outdir=$2 name=$3 mode=$4
shift 4
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$outdir"
tap="$outdir/$name-$mode.tap"
rc=0
scale=()
[[ -n "${VHC_TIMEOUT_SCALE:-}" ]] && scale=(--timeout-scale "$VHC_TIMEOUT_SCALE")
"$vc" run --mode "$mode" --tap "$tap" "${scale[@]}" "$@" > /dev/null || rc=$?
grep -E '^# (pass|fail|skip)' "$tap" || true
"$here/../tap/prove-tap.sh" --parse-only "$tap"
if ((rc != 0)); then
    echo "vhost-conform exited $rc; failures:" >&2
    grep -E '^not ok' "$tap" | grep -v '# TODO' >&2 || true
fi
exit "$rc"
