#!/usr/bin/env bash
# Set up, build and run every test: unit (Check), harness self-tests (socat),
# the suite against vhost-refnet, and peer tests against real programs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh tests
bash scripts/build.sh
cd build
ctest --output-on-failure --timeout 600 "$@"
