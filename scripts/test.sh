#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine, builds and runs every test.
#   scripts/test.sh            the default (optimised) build
#   scripts/test.sh asan tsan  also under AddressSanitizer+UBSan and ThreadSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."
presets=("default" "$@")
for preset in "${presets[@]}"; do
  echo "== tests: $preset"
  bash scripts/build.sh "$preset"
  ctest --preset "$preset"
done
