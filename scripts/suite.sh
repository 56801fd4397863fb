#!/usr/bin/env bash
# The main job: set up, build, run every case against the bundled vhost-refnet
# in both socket modes. TAP 14 on stdout; TAP, JUnit and HTML in reports/.
# Extra arguments go to `vhost-conform run` (e.g. --filter 'rings/*').
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh main
VHC_TESTS=OFF bash scripts/build.sh
mkdir -p reports
status=0
# stdout carries one TAP stream (server mode); the client-mode run goes to
# its files only, with its summary on stderr
run() {
    build/harness/vhost-conform run --mode "$1" --tap "reports/vhost-refnet-$1.tap" \
        --junit "reports/vhost-refnet-$1.xml" "${@:2}"
}
run server "$@" || status=$?
run client "$@" > /dev/null || status=$?
grep '^# pass' reports/vhost-refnet-client.tap | sed 's/^/client mode: /' >&2 || true
# one page with both runs side by side
build/harness/vhost-conform report --html reports/vhost-refnet.html \
    reports/vhost-refnet-server.tap reports/vhost-refnet-client.tap >&2 || status=$?
exit "$status"
