#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine, builds and runs every test, as CI does:
#   scripts/test.sh               the suite built with clang++ (preset clang) and under
#                                 AddressSanitizer+UBSan (asan) and ThreadSanitizer (tsan), both
#                                 g++; the packaging checks; the Node.js binding, also under asan;
#                                 the manifest and PROXY header fuzzers, 30 s each
#   scripts/test.sh PRESET...     only the suite in those presets (e.g. `default` for a quick run)
# The packaging checks (scripts/test-package.sh) build the library in every build type with g++
# and clang++, and consume it installed, as a subdirectory, by FetchContent and as a .deb.
# FUZZ_SECONDS=0 skips the fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
everything=0
presets=("$@")
if [ ${#presets[@]} -eq 0 ]; then
  everything=1
  presets=(clang asan tsan)
fi
for preset in "${presets[@]}"; do
  echo "== tests: $preset"
  bash scripts/build.sh "$preset"
  ctest --preset "$preset"
done
[ "$everything" -eq 1 ] || exit 0
echo "== tests: packaging"
bash scripts/test-package.sh
echo "== tests: Node.js binding"
bash scripts/test-node.sh
echo "== tests: Node.js binding under asan"
bash scripts/test-node.sh asan
if [ "${FUZZ_SECONDS:-30}" -gt 0 ]; then
  echo "== fuzz: manifest and PROXY header parsers, ${FUZZ_SECONDS:-30} s each"
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
fi
