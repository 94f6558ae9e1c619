#!/usr/bin/env bash
# Builds and takes in tcpsocket the ways its users do, on a fresh Debian 12 machine:
#   1. the library in every build type (Release, Debug, RelWithDebInfo, MinSizeRel) with g++ and
#      clang++, warnings as errors (unity builds: each build type costs one pass over the library);
#   2. a shared build installed into a prefix, then a program built against it with
#      find_package(tcpsocket) and with pkg-config, and the installed CLI run from there;
#   3. a static build installed, and the same program against it;
#   4. the program with tcpsocket as add_subdirectory() and as FetchContent (from a source archive);
#   5. the .deb made by CPack, installed with apt, and `tcpsocket --version` run from /usr/bin;
#      its systemd units checked by systemd-analyze verify;
#   6. the README's getting-started snippets, extracted and built as written, and run.
# The program (tests/consumer) echoes a message and catches a named exception across the library.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
src=$PWD
work=$(mktemp -d)
deb_installed=""
cleanup() {
  if [ -n "$deb_installed" ]; then
    apt-get remove -y -qq tcpsocket >/dev/null 2>&1 || dpkg -r tcpsocket >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

step() { echo "== package: $*"; }
configure() {  # configure DIR [cmake args...]: quiet unless it fails
  local dir=$1
  shift
  cmake -G Ninja -B "$dir" "$@" >"$dir.log" 2>&1 || { cat "$dir.log"; return 1; }
}
no_extras=(-DTCPSOCKET_BUILD_TESTS=OFF -DTCPSOCKET_BUILD_BENCH=OFF -DTCPSOCKET_BUILD_EXAMPLES=OFF)

for cxx in g++ clang++; do
  for type in Release Debug RelWithDebInfo MinSizeRel; do
    step "library, $cxx, $type"
    configure "$work/lib-$cxx-$type" -S . -DCMAKE_CXX_COMPILER=$cxx -DCMAKE_BUILD_TYPE=$type \
      -DTCPSOCKET_WERROR=ON -DCMAKE_UNITY_BUILD=ON -DTCPSOCKET_BUILD_TOOLS=OFF "${no_extras[@]}"
    cmake --build "$work/lib-$cxx-$type" --target tcpsocket >/dev/null
  done
done

consume() {  # consume NAME [cmake args...]: builds tests/consumer and runs it
  local name=$1
  shift
  configure "$work/consumer-$name" -S tests/consumer "$@"
  cmake --build "$work/consumer-$name" >/dev/null
  "$work/consumer-$name/consumer"
}

step "shared library installed; find_package, pkg-config, the CLI"
configure "$work/shared" -S . -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
  -DCMAKE_INSTALL_PREFIX="$work/prefix-shared" -DTCPSOCKET_WERROR=ON -DCMAKE_UNITY_BUILD=ON \
  "${no_extras[@]}"
cmake --build "$work/shared" >/dev/null
cmake --install "$work/shared" >/dev/null
consume package-shared -DCMAKE_PREFIX_PATH="$work/prefix-shared"
# Only the public API is exported (cmake/tcpsocket.map), none of Asio's or OpenSSL's symbols.
leaked=$(nm -DC --defined-only "$work/prefix-shared/lib/libtcpsocket.so" | grep -cv ' tcpsocket::\|for tcpsocket::' || true)
if [ "$leaked" -ne 0 ]; then
  nm -DC --defined-only "$work/prefix-shared/lib/libtcpsocket.so" | grep -v ' tcpsocket::\|for tcpsocket::' | head
  echo "test-package: the shared library exports $leaked symbols outside namespace tcpsocket" >&2
  exit 1
fi
PKG_CONFIG_PATH="$work/prefix-shared/lib/pkgconfig" \
  g++ -o "$work/consumer-pkgconfig" tests/consumer/main.cpp \
  $(PKG_CONFIG_PATH="$work/prefix-shared/lib/pkgconfig" pkg-config --cflags --libs tcpsocket)
LD_LIBRARY_PATH="$work/prefix-shared/lib" "$work/consumer-pkgconfig"
# The installed CLI finds its library through its RUNPATH, from a prefix outside the system's.
"$work/prefix-shared/bin/tcpsocket" --version
test -f "$work/prefix-shared/share/man/man1/tcpsocket.1"
test -f "$work/prefix-shared/share/bash-completion/completions/tcpsocket"
test -f "$work/prefix-shared/share/doc/tcpsocket/LICENSE"

step "the README's getting-started server, built from the README as written"
python3 scripts/readme-snippets.py README.md "$work/readme"
configure "$work/readme-build" -S "$work/readme" -DCMAKE_PREFIX_PATH="$work/prefix-shared"
cmake --build "$work/readme-build" >/dev/null
python3 tests/consumer/readme_kv_client.py "$work/readme-build/kv_server"

step "static library installed; find_package"
configure "$work/static" -S . -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_INSTALL_PREFIX="$work/prefix-static" -DCMAKE_UNITY_BUILD=ON -DTCPSOCKET_BUILD_TOOLS=OFF \
  "${no_extras[@]}"
cmake --build "$work/static" >/dev/null
cmake --install "$work/static" >/dev/null
consume package-static -DCMAKE_PREFIX_PATH="$work/prefix-static"

step "add_subdirectory"
consume subdirectory -DCONSUME=subdirectory -DTCPSOCKET_SOURCE="$src"

step "FetchContent"
tar -C "$src" --exclude=./build --exclude=./.git --exclude=./bindings/node/node_modules \
  -czf "$work/tcpsocket-src.tar.gz" .
consume fetchcontent -DCONSUME=fetchcontent -DTCPSOCKET_URL="$work/tcpsocket-src.tar.gz"

step ".deb from CPack, installed with apt"
(cd "$work/shared" && cpack -G DEB >/dev/null)
deb=$(ls "$work"/shared/tcpsocket_*.deb)
dpkg-deb --info "$deb" | grep -E 'Package|Version|Depends'
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
deb_installed=1
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$deb" >/dev/null
version=$(/usr/bin/tcpsocket --version)
echo "$version"
[ "$version" = "tcpsocket $(sed -n 's/^project(tcpsocket VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)" ]
# The systemd units it ships name /usr/bin/tcpsocket, which now exists: systemd's own checker
# must find nothing to say of them.
units=/usr/share/doc/tcpsocket/systemd
ls "$units"/tcpsocket.socket "$units"/tcpsocket.service
verify=$(systemd-analyze verify --man=no "$units"/tcpsocket.socket "$units"/tcpsocket.service 2>&1)
[ -z "$verify" ] || { echo "$verify"; exit 1; }
echo "== package: all passed"
