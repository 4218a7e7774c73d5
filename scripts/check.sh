#!/usr/bin/env bash
# The whole test suite: a warnings-as-errors build and an ASan+UBSan build,
# each running every ctest test.  This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

scripts/deps.sh --test

run_suite() {
  local dir=$1 cc=$2; shift 2
  CC=$cc cmake -S . -B "$dir" -DSOMNA_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  (cd "$dir" && ctest --output-on-failure -j "$jobs")
}

# Two compilers, two builds: gcc for the release build, clang for the
# sanitizer build, both with warnings as errors.
echo "== build/ (gcc, optimised, -Werror)"
run_suite build gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== build-asan/ (clang, AddressSanitizer + UndefinedBehaviorSanitizer, -Werror)"
run_suite build-asan clang -DCMAKE_BUILD_TYPE=Debug -DSOMNA_SANITIZE=ON
