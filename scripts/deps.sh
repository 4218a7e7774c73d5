#!/usr/bin/env bash
# Install the Debian 12 packages somna needs, only those missing (idempotent).
#   scripts/deps.sh          build + runtime packages
#   scripts/deps.sh --test   also what the test suite uses (EDFlib, MNE, PostgreSQL, Chromium)
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config
            libfftw3-dev libgsl-dev libsqlite3-dev libpq-dev libssl-dev libcairo2-dev)
test_pkgs=(libcmocka-dev clang libclang-rt-14-dev libedf-dev
           python3-mne python3-numpy python3-scipy python3-pandas
           postgresql chromium valgrind)

want=("${build_pkgs[@]}")
if [ "${1:-}" = "--test" ]; then
  want+=("${test_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "somna: these Debian packages are missing: ${missing[*]}" >&2
  echo "somna: run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "somna: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
