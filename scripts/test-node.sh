#!/usr/bin/env bash
# Builds the Node.js binding (bindings/node) and runs its tests: the reference's JS tests, real
# mail libraries against Postfix and Dovecot, backpressure and bad input (docs/node.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "test-node: node and npm (Node.js 20 or later) are needed for the binding's tests" >&2
  exit 1
fi
cd bindings/node
npm install --no-audit --no-fund
npm test
