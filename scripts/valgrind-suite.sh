#!/usr/bin/env bash
# valgrind-suite.sh [BUILDDIR] [run options...]: the whole suite against
# vhost-refnet under valgrind memcheck (invalid accesses, leaks, fds left
# open), with a build without sanitizers (ASan and valgrind do not mix).
#
# The harness reports a back end as crashed only for a crash signal or a
# sanitizer report in its log; memcheck's exit status 99 is not one, and its
# leak and fd checks run at exit, after the case has judged.  So each
# valgrind writes its own log, and this script judges them afterwards:
# fails when any log has errors (ERROR SUMMARY > 0, which includes
# definitely/indirectly lost blocks under --leak-check=full with
# --errors-for-leak-kinds=definite,indirect), any fd refnet opened itself
# still open at exit (inherited ones are the harness's), or no summary at all (killed before it could finish:
# reported, not failed, since the harness SIGKILLs after its grace period).
#
# Takes ~3.5 min on 2 cores (148 cases, --timeout-scale 4): label `long`,
# registered only with -DVHC_LONG_TESTS=ON (tests/leak/CMakeLists.txt).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-vg}
shift || true
cmake -S "$src" -B "$build" -DVHC_SANITIZE=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build "$build" -j2 --target vhost-refnet vhost-conform > /dev/null
refnet=$build/reference-backend/vhost-refnet
logs=$build/reports/valgrind
rm -rf "$logs"
mkdir -p "$logs"
tap=$build/reports/valgrind-suite.tap
vg="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"
vg+=" --track-fds=yes --log-file=$logs/vg.%p.log"
rc=0
"$build/harness/vhost-conform" run --timeout-scale 4 --tap "$tap" \
    --backend "$vg $refnet --socket {socket} --queues 2" "$@" > /dev/null || rc=$?
grep -E '^# (pass|fail|skip)' "$tap" || true
grep -E '^not ok' "$tap" | grep -v '# TODO' || true

total=0 errors=0 fdleaks=0 unfinished=0
for f in "$logs"/vg.*.log; do
    [[ -e $f ]] || continue
    total=$((total + 1))
    summary=$(grep -o 'ERROR SUMMARY: [0-9]*' "$f" | grep -o '[0-9]*$' || true)
    if [[ -z $summary ]]; then
        unfinished=$((unfinished + 1))
        continue
    fi
    if ((summary > 0)); then
        errors=$((errors + 1))
        echo "memcheck errors ($summary) in $f:" >&2
        grep -E 'Invalid|uninitialised|definitely lost|indirectly lost' "$f" | head -5 >&2
    fi
    # fds refnet opened itself and left open: listed ones not inherited
    own=$(awk '/Open (file descriptor|AF_UNIX socket)/ { if (fd) n++; fd = 1; next }
               /<inherited from parent>/ { fd = 0 }
               END { if (fd) n++; print n + 0 }' "$f")
    if ((own > 0)); then
        fdleaks=$((fdleaks + 1))
        echo "$own fds opened by refnet still open at exit in $f" >&2
    fi
done
echo "valgrind: $total runs of vhost-refnet, $errors with memcheck errors," \
     "$fdleaks with fds left open at exit, $unfinished killed before their summary"
((total > 0)) || { echo "no valgrind logs: was valgrind run?" >&2; exit 1; }
((errors == 0 && fdleaks == 0)) || rc=1
exit "$rc"
