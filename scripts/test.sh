#!/usr/bin/env bash
# Installs what the tests need, builds everything and runs the whole suite
# through ctest: unit tests, end-to-end tests against a real starlingd, the
# fault-injection test, and bounded libFuzzer runs (a clang build of its own).
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc)
scripts/install-deps.sh --test

cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build/test -j "$jobs"
ctest --test-dir build/test --output-on-failure -j "$jobs"

if [[ "${STARLING_SKIP_FUZZ:-0}" != "1" ]]; then
  cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTARLING_FUZZ=ON \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
  cmake --build build/fuzz -j "$jobs"
  ctest --test-dir build/fuzz --output-on-failure -j "$jobs"
fi
