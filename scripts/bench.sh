#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine, builds, runs every benchmark and writes
# docs/benchmarks.md and its charts: the side-by-side echo run against raw epoll, Asio, libuv and
# Node's net (bench/run.py, about 9 minutes), the many-idle-connections run (bench/c100k.py, about
# 1 minute), TLS against stunnel4 and next to plain (bench/tls_bench.py, about 2 minutes), accept
# strategies over loops (bench/accept_bench.py, about 1 minute), the micro-benchmarks, the Node.js
# binding against Node's net (bench/node_bench.py, about 4 minutes) and the notes.
# Arguments go to bench/run.py (e.g. --rounds 5 --seconds 5).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --bench
# Debian's python3, which has python3-matplotlib, even where another python3 comes first in PATH.
python3() { /usr/bin/python3 "$@"; }
bash scripts/build.sh default
cmake --preset default >/dev/null  # a build configured before libuv was installed finds it now
cmake --build --preset default --target libuv_echo
bash scripts/build.sh uring  # the same server on io_uring, measured next to it
(cd bindings/node && npm install --no-audit --no-fund)  # the addon, for bench/node_bench.py
python3 bench/run.py "$@"
{
  echo
  echo "## Many idle connections"
  echo
  echo "\`python3 bench/c100k.py\`: idle connections held, each one echoed once (so it was accepted);"
  echo "load generators in several processes with their own 127.0.x.y source addresses."
  echo
  python3 bench/c100k.py
  echo
  echo "## TLS next to plain TCP"
  echo
  python3 bench/tls_bench.py
  echo
  echo "## Spreading connections over loops"
  echo
  python3 bench/accept_bench.py
  echo
  echo "## Micro-benchmarks (hot paths)"
  echo
  echo '```'
  build/default/bench/micro_bench --benchmark_min_time=0.2 2>/dev/null
  echo '```'
  python3 bench/node_bench.py
  cat bench/notes.md
} >> docs/benchmarks.md
echo "wrote docs/benchmarks.md"
