#!/usr/bin/env bash
# Quick start: installs the build packages, builds Release and starts
# starlingd in the foreground with the embedded default configuration.
# Extra arguments go to starlingd, e.g. `scripts/run.sh --log-level debug`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTARLING_TESTS=OFF -DSTARLING_BENCHMARKS=OFF >/dev/null
cmake --build build/release --target starlingd starlingctl
exec build/release/app/starlingd "$@"
