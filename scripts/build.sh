#!/usr/bin/env bash
# Configure and build into build/ (ASan+UBSan test build unless VHC_SANITIZE=OFF;
# the tests too unless VHC_TESTS=OFF).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DVHC_SANITIZE="${VHC_SANITIZE:-ON}" -DBUILD_TESTING="${VHC_TESTS:-ON}" >&2
cmake --build build -j"$(nproc)" >&2
