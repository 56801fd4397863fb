#!/usr/bin/env bash
# vendor-run.sh — the steps the CI recipes in this folder run, for a
# vendor's back end, runnable as they are on a Debian 12 machine (as root):
#
#   VHC_BACKEND='my-backend --socket {socket}' ci/vendor-run.sh
#
# Environment:
#   VHC_BACKEND  the back end, a command template with {socket} (required)
#   VHC_MODE     server (the back end listens) or client (default server)
#   VHC_EXPECT   an expectations file: known failures become TODO
#   VHC_REPORTS  where vhost-conform.tap, .xml (JUnit) and .html go
#                (default reports/ of this checkout)
#   VHC_ARGS     more `vhost-conform run` options, e.g. --profile all
#   VHC_BIN      an already built vhost-conform: skips setup and build
# Exit status: the suite's (0 when nothing failed unexpectedly).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
: "${VHC_BACKEND:?set VHC_BACKEND to the back end command, with {socket}}"
mode=${VHC_MODE:-server}
reports=${VHC_REPORTS:-$top/reports}
if [[ -z "${VHC_BIN:-}" ]]; then
    bash "$top/scripts/setup.sh" main
    VHC_TESTS=OFF bash "$top/scripts/build.sh"
    VHC_BIN=$top/build/harness/vhost-conform
fi
mkdir -p "$reports"
args=(run --backend "$VHC_BACKEND" --mode "$mode"
      --tap "$reports/vhost-conform.tap" --junit "$reports/vhost-conform.xml")
[[ -n "${VHC_EXPECT:-}" ]] && args+=(--expect "$VHC_EXPECT")
# shellcheck disable=SC2206
[[ -n "${VHC_ARGS:-}" ]] && args+=($VHC_ARGS)
status=0
"$VHC_BIN" "${args[@]}" > /dev/null || status=$?
"$VHC_BIN" report --html "$reports/vhost-conform.html" "$reports/vhost-conform.tap" || true
grep -E '^# (pass|fail)' "$reports/vhost-conform.tap" >&2 || true
echo "vendor-run: reports in $reports (exit $status)" >&2
exit "$status"
