#!/usr/bin/env bash
# Installs the Debian 12 packages tcpsocket needs to build and test. Idempotent: installs only
# what is missing, and runs apt-get update only when something is.
#   install-deps.sh           what building and testing need
#   install-deps.sh --bench   and the benchmark's peers and charts (scripts/bench.sh)
set -euo pipefail

packages=(g++ cmake ninja-build libasio-dev libssl-dev libgtest-dev netcat-openbsd python3 iproute2 util-linux procps
  nlohmann-json3-dev clang libclang-rt-14-dev libbenchmark-dev openssl ca-certificates liburing-dev
  postfix dovecot-imapd dovecot-lmtpd curl pkg-config dpkg-dev file haproxy systemd)
if [ "${1:-}" = "--bench" ]; then
  packages+=(libuv1-dev stunnel4 python3-matplotlib)
fi

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
# Postfix's install question, answered ahead: "No configuration" writes no system-wide main.cf,
# so no mail system comes up on port 25. The Node tests run private Postfix and Dovecot instances.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
