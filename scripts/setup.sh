#!/usr/bin/env bash
# Installs everything qplay needs on a Debian bookworm machine, and nothing twice:
#   1. Debian binary packages (toolchains, libraries, test data, Chromium)
#   2. Debian source packages for the wasm build (imgui, protobuf) into build/_deps/
#   3. protobuf-lite compiled for wasm once (build/_deps/protobuf-wasm/)
#   4. npm packages from the committed tests/package-lock.json (npm ci)
# Idempotent: a second run checks stamps and finishes in seconds. Fails naming the missing piece.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="$ROOT/build/_deps"
export NODE_PATH=/usr/share/nodejs
export DEBIAN_FRONTEND=noninteractive

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || die "not root and no sudo: cannot install Debian packages"
  SUDO="sudo"
fi

# ---- 1. Debian packages ---------------------------------------------------------------------------
APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config dpkg-dev xz-utils gzip
  emscripten nodejs clang-16 lld-16
  libxnnpack-dev libpthreadpool-dev
  libonnx-dev libonnx-testdata protobuf-compiler libprotobuf-dev zlib1g-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  chromium fonts-dejavu-core
  dataset-fashion-mnist python3-onnx python3-numpy
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
apt_updated=0
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  mkdir -p "$ROOT/build"
  $SUDO apt-get update -qq >"$ROOT/build/.apt.log" 2>&1 || die "apt-get update failed (see build/.apt.log)"
  apt_updated=1
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$ROOT/build/.apt.log" 2>&1 || \
    { tail -20 "$ROOT/build/.apt.log" >&2; die "could not install Debian packages: ${missing[*]}"; }
fi
# Re-check so a failure above is reported with the package name.
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || \
    die "Debian package '$p' is not installed and could not be installed"
done

# ---- 2. Debian source packages (imgui, protobuf) for the wasm build ------------------------------
mkdir -p "$DEPS/src"
SRC_LIST=/etc/apt/sources.list.d/qplay-src.sources
if [ ! -f "$SRC_LIST" ]; then
  # Same mirror and suites as the binary entries already configured on this machine.
  uris="$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
  [ -n "$uris" ] || uris="http://deb.debian.org/debian"
  say "adding a deb-src entry for $uris (bookworm) in $SRC_LIST"
  $SUDO tee "$SRC_LIST" >/dev/null <<EOF
Types: deb-src
URIs: $uris
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  apt_updated=0
fi

fetch_source() {  # fetch_source NAME DIR_GLOB TARGET_LINK
  local name="$1" glob="$2" link="$3"
  if [ -e "$DEPS/$link/.qp-ok" ]; then return 0; fi
  if ! ls "$DEPS/src/${name}"_*.orig.tar.* >/dev/null 2>&1; then
    if [ "$apt_updated" = 0 ]; then $SUDO apt-get update -qq || die "apt-get update failed"; apt_updated=1; fi
    say "downloading Debian source package '$name'"
    (cd "$DEPS/src" && apt-get source --download-only "$name" >/dev/null 2>&1) || \
      die "apt-get source $name failed (needs the deb-src entry in $SRC_LIST)"
  fi
  local tarball; tarball="$(ls "$DEPS/src/${name}"_*.orig.tar.* | head -1)"
  rm -rf "$DEPS/$link" "$DEPS/src/unpack-$name"
  mkdir -p "$DEPS/src/unpack-$name"
  tar -xf "$tarball" -C "$DEPS/src/unpack-$name"
  local dir; dir="$(find "$DEPS/src/unpack-$name" -mindepth 1 -maxdepth 1 -type d -name "$glob" | head -1)"
  [ -n "$dir" ] || die "unexpected layout in $tarball"
  mv "$dir" "$DEPS/$link"
  rm -rf "$DEPS/src/unpack-$name"
  touch "$DEPS/$link/.qp-ok"
  say "unpacked $name into build/_deps/$link"
}
fetch_source imgui 'imgui*' imgui
fetch_source protobuf 'protobuf*' protobuf-src
[ -f "$DEPS/imgui/imgui.cpp" ] || die "imgui sources incomplete in $DEPS/imgui"

# ---- 3. protobuf-lite for wasm (once) -------------------------------------------------------------
PB_OUT="$DEPS/protobuf-wasm"
if [ ! -f "$PB_OUT/.qp-ok" ]; then
  say "building protobuf-lite for wasm (about a minute)"
  rm -rf "$DEPS/protobuf-wasm-build" "$PB_OUT"
  emcmake cmake -S "$DEPS/protobuf-src/cmake" -B "$DEPS/protobuf-wasm-build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -Dprotobuf_BUILD_TESTS=OFF -Dprotobuf_BUILD_PROTOC_BINARIES=OFF \
    -Dprotobuf_WITH_ZLIB=OFF -Dprotobuf_BUILD_SHARED_LIBS=OFF -DCMAKE_CXX_FLAGS="-O2" \
    >"$DEPS/protobuf-wasm.log" 2>&1 || die "configuring protobuf for wasm failed: see $DEPS/protobuf-wasm.log"
  cmake --build "$DEPS/protobuf-wasm-build" --target libprotobuf-lite >>"$DEPS/protobuf-wasm.log" 2>&1 || \
    die "building protobuf-lite for wasm failed: see $DEPS/protobuf-wasm.log"
  mkdir -p "$PB_OUT/lib" "$PB_OUT/include"
  cp "$DEPS/protobuf-wasm-build/libprotobuf-lite.a" "$PB_OUT/lib/"
  (cd "$DEPS/protobuf-src/src" && find google \( -name '*.h' -o -name '*.inc' \) -print0 | \
     tar --null -cf - -T - | tar -xf - -C "$PB_OUT/include") || die "copying protobuf headers failed"
  rm -rf "$DEPS/protobuf-wasm-build"
  touch "$PB_OUT/.qp-ok"
fi

# ---- 4. npm packages (committed lockfile) ---------------------------------------------------------
NPM_DIR="$ROOT/tests"
LOCK_HASH="$(sha256sum "$NPM_DIR/package-lock.json" | cut -c1-16)"
if [ ! -f "$NPM_DIR/node_modules/.qp-lock-$LOCK_HASH" ]; then
  say "installing npm packages (npm ci in tests/)"
  # onnxruntime-node's install script tries to download CUDA providers: skip it, the CPU build
  # is inside the package.
  (cd "$NPM_DIR" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --ignore-scripts --no-audit --no-fund \
     >"$DEPS/npm.log" 2>&1) || die "npm ci failed in tests/: see $DEPS/npm.log"
  touch "$NPM_DIR/node_modules/.qp-lock-$LOCK_HASH"
fi

say "ready"
