#!/usr/bin/env bash
# Installs the Debian 12 packages tcpsocket needs to build and test. Idempotent: installs only
# what is missing, and runs apt-get update only when something is.
set -euo pipefail

packages=(g++ cmake ninja-build libasio-dev libssl-dev libgtest-dev netcat-openbsd python3 iproute2 util-linux procps
  nlohmann-json3-dev clang libclang-rt-14-dev libbenchmark-dev openssl ca-certificates liburing-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
