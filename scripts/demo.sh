#!/usr/bin/env bash
# The README's main job: install what the build needs (idempotent), build,
# then run `somna demo` on built-in simulated data.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs" >/dev/null

build/somna --version
# Simulate a seed-000-shaped study and run the whole chain on it; prints where
# the report is.  Extra arguments go to `somna demo` (e.g. --seed 7).
build/somna demo -o demo-out "$@"
