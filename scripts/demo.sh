#!/usr/bin/env bash
# The main job: run `somna demo` on built-in simulated data.
set -euo pipefail
cd "$(dirname "$0")/.."
build/somna --version
