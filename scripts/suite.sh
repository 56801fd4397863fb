#!/usr/bin/env bash
# The main job: set up, build, run every case against the bundled vhost-refnet
# in both socket modes. TAP 14 on stdout; TAP files in reports/.
# Extra arguments go to `vhost-conform run` (e.g. --filter 'rings/*').
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
mkdir -p reports
status=0
for mode in server client; do
    build/harness/vhost-conform run --mode "$mode" \
        --tap "reports/vhost-refnet-$mode.tap" "$@" || status=$?
done
exit "$status"
