#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine, builds, runs the benchmarks side by side and
# writes docs/benchmarks.md. Takes about ten minutes. Extra arguments go to bench/run.py.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh default
python3 bench/run.py "$@"
