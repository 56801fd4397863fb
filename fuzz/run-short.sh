#!/usr/bin/env bash
# run-short.sh FUZZ_MSG FUZZ_RING MAKE_SEEDS FIXTURES WORKDIR
# The CI fuzz run: make the seed corpora (make_seeds), replay every
# regression input in regress/ (each must pass), then fuzz each target for
# FUZZ_SECONDS (30 by default).  Fails on any crash, leak, sanitizer report
# or timeout; the crashing input is left in WORKDIR/crash-* (copy it into
# regress/).
set -euo pipefail
msg=$(realpath "$1") ring=$(realpath "$2") seeds=$(realpath "$3") fixtures=$4
work=$(realpath -m "$5")
here=$(cd "$(dirname "$0")" && pwd)
secs=${FUZZ_SECONDS:-30}
rm -rf "$work"
mkdir -p "$work"
"$seeds" "$fixtures" "$work/seeds"

declare -A bin=([msg]=$msg [ring]=$ring)
declare -A maxlen=([msg]=16384 [ring]=69638)    # ring: fuzz_ring.h FR_MAX_LEN
for t in msg ring; do
    regress=("$here"/regress/$t/*)
    if [[ -e ${regress[0]} ]]; then
        echo "== fuzz_$t: ${#regress[@]} regression inputs"
        "${bin[$t]}" -close_fd_mask=2 "${regress[@]}" > "$work/$t-regress.log" 2>&1 || {
            tail -60 "$work/$t-regress.log" >&2; exit 1; }
    fi
    mkdir -p "$work/corpus-$t"
    echo "== fuzz_$t: ${secs}s from $(ls "$work/seeds/$t" | wc -l) seeds"
    rc=0
    (cd "$work" && "${bin[$t]}" -max_total_time="$secs" -max_len="${maxlen[$t]}" \
        -timeout=10 -rss_limit_mb=4096 -close_fd_mask=2 -print_final_stats=1 \
        "$work/corpus-$t" "$work/seeds/$t") > "$work/$t.log" 2>&1 || rc=$?
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+.*DONE' "$work/$t.log" || true
    if ((rc != 0)); then
        echo "fuzz_$t failed (exit $rc):" >&2
        tail -60 "$work/$t.log" >&2
        ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* 2>/dev/null >&2 || true
        exit 1
    fi
done
echo "ok: no crash"
