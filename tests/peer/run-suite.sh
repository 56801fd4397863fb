#!/usr/bin/env bash
# run-suite.sh VHOST_CONFORM OUTDIR NAME MODE [run options...]
# (--other-profiles among the options: every bundled QEMU profile but the
# default, each as --profile NAME.)
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
args=()                 # the options, --other-profiles expanded
for a in "$@"; do
    if [[ $a == --other-profiles ]]; then
        n=${#args[@]}
        while read -r p _; do args+=(--profile "$p"); done < <("$vc" profiles | grep -v '(default)')
        ((${#args[@]} > n)) || { echo "run-suite.sh: no profile but the default" >&2; exit 2; }
    else
        args+=("$a")
    fi
done
"$vc" run --mode "$mode" --tap "$tap" "${scale[@]}" "${args[@]}" > /dev/null || rc=$?
grep -E '^# (pass|fail|skip)' "$tap" || true
"$here/../tap/prove-tap.sh" --parse-only "$tap"
if ((rc != 0)); then
    echo "vhost-conform exited $rc; failures:" >&2
    grep -E '^not ok' "$tap" | grep -v '# TODO' >&2 || true
fi
exit "$rc"
