#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine, builds, and runs the tcpsocket echo server.
# Extra arguments go to `tcpsocket listen` (e.g. --port 7000 --mode chat).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh default >&2
exec build/default/tools/tcpsocket/tcpsocket listen "$@"
