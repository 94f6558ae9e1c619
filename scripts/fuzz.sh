#!/usr/bin/env bash
# Builds the fuzzers with clang's libFuzzer (+ASan/UBSan) and runs each for a bounded time:
#   manifest      a manifest.webapp (src/manifest.cpp)
#   proxy_header  the start of a connection behind a load balancer (src/proxy_header.cpp)
#   bash scripts/fuzz.sh [SECONDS]     (default 60, per fuzzer)
# The committed corpora (fuzz/corpus/NAME) seed them; new inputs go to a scratch directory, so a
# run never changes the repository. Crashes are written to build/fuzz/ and fail the script.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
out=build/fuzz
flags=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -DASIO_STANDALONE -DASIO_NO_DEPRECATED -DASIO_DISABLE_STD_ALIGNED_ALLOC -Iinclude -Isrc)

run() {  # NAME MAX_LEN SOURCES...
  local name=$1 max_len=$2
  shift 2
  mkdir -p "$out/corpus-$name"
  clang++ "${flags[@]}" "fuzz/${name}_fuzzer.cpp" "$@" -lssl -lcrypto -o "$out/${name}_fuzzer"
  echo "-- ${name}: ${seconds} s"
  "$out/${name}_fuzzer" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
    -max_len="$max_len" -dict="fuzz/${name}.dict" -artifact_prefix="$out/${name}-" \
    -print_final_stats=1 "$out/corpus-$name" "fuzz/corpus/$name" 2>&1 | tail -n 20
  return "${PIPESTATUS[0]}"
}

mkdir -p "$out"
run manifest 4096 src/manifest.cpp src/bounded_file.cpp src/app_policy.cpp src/socket_rule.cpp \
  src/error_table.cpp src/address.cpp
run proxy_header 70000 src/proxy_header.cpp
