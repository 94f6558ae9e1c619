#!/usr/bin/env bash
# Builds the Node.js binding (bindings/node) and runs its tests: the reference's JS tests, real
# mail libraries against Postfix and Dovecot, backpressure and bad input (docs/node.md).
#   scripts/test-node.sh         the release addon, every test
#   scripts/test-node.sh asan    the addon and library under AddressSanitizer+UBSan (libasan
#                                preloaded into node), every test but the mail ones: those start
#                                Postfix and Dovecot, which must not inherit the preload
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "test-node: node and npm (Node.js 20 or later) are needed for the binding's tests" >&2
  exit 1
fi
cd bindings/node
npm install --no-audit --no-fund
if [ "${1:-}" = "asan" ]; then
  TCPSOCKET_NODE_SANITIZE=address,undefined node scripts/build.js
  export TCPSOCKET_NODE_ADDON="$PWD/build-asan/tcpsocket.node"
  # Node itself is not instrumented and frees little at exit: leaks are not ours to judge here.
  # A small quarantine: the memory-bound tests measure RSS, which the default 256 MiB would swell.
  export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:quarantine_size_mb=16
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  LD_PRELOAD="$(g++ -print-file-name=libasan.so)" node --test --test-concurrency=1 --test-force-exit --test-timeout=180000 \
    $(ls test/*.test.js test/reference/*.test.js | grep -v -e mailservers -e emailjs)
else
  npm test
fi
