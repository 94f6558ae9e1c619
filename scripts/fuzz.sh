#!/usr/bin/env bash
# Builds the manifest fuzzer with clang's libFuzzer (+ASan/UBSan) and runs it for a bounded time.
#   bash scripts/fuzz.sh [SECONDS]     (default 60)
# The committed corpus (fuzz/corpus/manifest) seeds it; new inputs go to a scratch directory, so a
# run never changes the repository. Crashes are written to build/fuzz/ and fail the script.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
out=build/fuzz
mkdir -p "$out/corpus"
clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -DASIO_STANDALONE -DASIO_NO_DEPRECATED -DASIO_DISABLE_STD_ALIGNED_ALLOC -Iinclude -Isrc \
  fuzz/manifest_fuzzer.cpp src/manifest.cpp src/bounded_file.cpp src/app_policy.cpp src/socket_rule.cpp \
  src/error_table.cpp src/address.cpp -lssl -lcrypto \
  -o "$out/manifest_fuzzer"
"$out/manifest_fuzzer" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=4096 \
  -dict=fuzz/manifest.dict -artifact_prefix="$out/" -print_final_stats=1 \
  "$out/corpus" fuzz/corpus/manifest 2>&1 | tail -n 40
