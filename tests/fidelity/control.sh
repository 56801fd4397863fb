#!/usr/bin/env bash
# control.sh VHOST_CONFORM FIXTURES: a fidelity check with one line of a
# profile changed must fail and show the difference, for each version's
# profile in turn.  Without this, a fidelity test that passes could be one
# that cannot fail.
#   qemu-7.2  b1_boot   enable_rounds_before_start 2 -> 1: a feature round missing
#   qemu-8.2  b1_boot   reset_enable_round no -> yes: three reset rounds too many
#   qemu-10.2 h3_reset  system_reset_extra_rounds 1 -> 0: system_reset's round missing
set -uo pipefail
vc=$1 fixtures=$2
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
t=$(mktemp -d /tmp/vhc-fidctl.XXXXXX)
trap 'rm -rf "$t"' EXIT

# check VERSION TRACE SCENARIO 'KEY = FROM' 'KEY = TO' SHOWN SUMMARY
#   SHOWN: a regular expression a line of the side-by-side report must match
#   SUMMARY: trace-diff's last line, exactly
check() {
    local version=$1 trace=$2 scenario=$3 from=$4 to=$5 shown=$6 summary=$7
    local profile="$fixtures/profiles/qemu-$version.profile" changed="$t/qemu-$version.profile"
    sed "s/^$from\$/$to/" "$profile" > "$changed"
    cmp -s "$profile" "$changed" && fail "qemu-$version: the edit '$from' -> '$to' did not apply"
    echo "## qemu-$version, $trace: '$from' becomes '$to'"
    local out rc
    out=$("$here/fidelity.sh" "$vc" "$fixtures" "$version" "$trace" "$scenario" 1 \
              --profile-file "$changed" 2>&1)
    rc=$?
    echo "$out"
    ((rc == 1)) || fail "qemu-$version: fidelity.sh exited $rc with the changed profile, want 1"
    grep -qE "$shown" <<<"$out" || fail "qemu-$version: the difference is not shown ($shown)"
    grep -qF "$summary" <<<"$out" || fail "qemu-$version: not the expected summary: $summary"
    echo "## ok: qemu-$version's changed line is caught"
}

check 7.2 b1_boot boot 'enable_rounds_before_start = 2' 'enable_rounds_before_start = 1' \
    '^< [0-9]{4} F->B SET_VRING_ENABLE' \
    'trace-diff: DIFFERENT: 52 message(s) expected, 50 recorded, 2 line(s) differ'
check 8.2 b1_boot boot 'reset_enable_round = no' 'reset_enable_round = yes' \
    '^>.*F->B SET_VRING_ENABLE' \
    'trace-diff: DIFFERENT: 52 message(s) expected, 64 recorded, 12 line(s) differ'
check 10.2 h3_reset reset 'system_reset_extra_rounds = 1' 'system_reset_extra_rounds = 0' \
    '^< [0-9]{4} F->B SET_VRING_ENABLE' \
    'trace-diff: DIFFERENT: 124 message(s) expected, 120 recorded, 4 line(s) differ'
echo "ok: a changed line of each profile is caught"
