#!/usr/bin/env bash
# control.sh VHOST_CONFORM FIXTURES: the fidelity check of b1_boot with one
# line of the qemu-7.2 profile changed (three guest-probe enable rounds
# become two) must fail, and show the missing round.  Without this, a
# fidelity test that passes could be one that cannot fail.
set -uo pipefail
vc=$1 fixtures=$2
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
t=$(mktemp -d /tmp/vhc-fidctl.XXXXXX)
trap 'rm -rf "$t"' EXIT
sed 's/^enable_rounds_before_start = 3$/enable_rounds_before_start = 2/' \
    "$fixtures/profiles/qemu-7.2.profile" > "$t/changed.profile"
cmp -s "$fixtures/profiles/qemu-7.2.profile" "$t/changed.profile" && fail "the edit did not apply"
out=$("$here/fidelity.sh" "$vc" "$fixtures" b1_boot boot 1 --profile-file "$t/changed.profile" 2>&1)
rc=$?
echo "$out"
((rc == 1)) || fail "fidelity.sh exited $rc with the changed profile, want 1"
grep -qE '^< [0-9]{4} F->B SET_VRING_ENABLE' <<<"$out" || fail "the missing round is not shown"
grep -q 'trace-diff: DIFFERENT: 52 message(s) expected, 50 recorded, 2 line(s) differ' <<<"$out" \
    || fail "not the expected summary"
echo "ok: the changed profile line is caught"
