#!/usr/bin/env bash
# ci-fuzz.sh SOURCE BUILDDIR: from a non-clang build, configure a second,
# small build with clang (ASan + UBSan + libFuzzer), build only the fuzz
# targets and run the short campaign (run-short.sh).
set -euo pipefail
src=$1 build=$2
cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DVHC_SANITIZE=ON > "$build.configure.log" 2>&1 || {
    tail -30 "$build.configure.log" >&2; exit 1; }
cmake --build "$build" -j2 --target fuzz_msg fuzz_ring make_seeds > "$build.build.log" 2>&1 || {
    tail -40 "$build.build.log" >&2; exit 1; }
exec "$src/fuzz/run-short.sh" "$build/fuzz/fuzz_msg" "$build/fuzz/fuzz_ring" \
     "$build/fuzz/make_seeds" \
     "$src/fixtures/qemu-7.2" "$build/fuzz/work"
