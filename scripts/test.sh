#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine, builds and runs every test.
#   scripts/test.sh            the default (optimised) build, then the manifest fuzzer for 30 s
#   scripts/test.sh asan tsan  also the suite under AddressSanitizer+UBSan and ThreadSanitizer
# After the C++ suites: the packaging checks (scripts/test-package.sh: the library in every build
# type with g++ and clang++, consumed installed, as a subdirectory and by FetchContent, the .deb),
# then the Node.js binding (scripts/test-node.sh), again under AddressSanitizer+UBSan when asan
# is asked for. The suite runs under g++ (default, asan) and clang++ (tsan).
# FUZZ_SECONDS=0 skips the fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
presets=("default" "$@")
for preset in "${presets[@]}"; do
  echo "== tests: $preset"
  bash scripts/build.sh "$preset"
  ctest --preset "$preset"
done
echo "== tests: packaging (every build type with g++ and clang++, installed, consumed, .deb)"
bash scripts/test-package.sh
echo "== tests: Node.js binding"
bash scripts/test-node.sh
for preset in "$@"; do
  if [ "$preset" = "asan" ]; then
    echo "== tests: Node.js binding under asan"
    bash scripts/test-node.sh asan
  fi
done
if [ "${FUZZ_SECONDS:-30}" -gt 0 ]; then
  echo "== fuzz: manifest parser, ${FUZZ_SECONDS:-30} s"
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
fi
