#!/usr/bin/env bash
# Builds the offline bundle: one self-contained HTML file (wasm, font, models/*.onnx and the
# Fashion-MNIST web subset embedded; no pthreads) that works from file:// with no server.
#   1. native qp_make_subset -> <wasm build>/web/subset (core/data/README.md; seeded, deterministic)
#   2. reconfigure the wasm build (it embeds the subset when that folder exists) and build
#      qp_web_offline -> <wasm build>/web/qplay-offline.html; prints its size raw and gzip -9
# Env: QP_NATIVE_DIR (default build/native, preset native), QP_WASM_DIR (default build/wasm,
# preset wasm), QP_JOBS. Run ./scripts/setup.sh first on a fresh machine (play.sh and test.sh do).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export NODE_PATH=/usr/share/nodejs
NATIVE="${QP_NATIVE_DIR:-build/native}"
WASM="${QP_WASM_DIR:-build/wasm}"
JOBS="${QP_JOBS:-$(nproc)}"

if [ ! -f "$NATIVE/build.ninja" ]; then
  if [ "$NATIVE" = build/native ]; then cmake --preset native >/dev/null
  else cmake -S . -B "$NATIVE" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null; fi
fi
cmake --build "$NATIVE" --target qp_make_subset -j "$JOBS"
SUBSET="$WASM/web/subset"
mkdir -p "$SUBSET"
"$NATIVE/core/data/qp_make_subset" "$SUBSET"

if [ "$WASM" = build/wasm ]; then cmake --preset wasm >/dev/null
else emcmake cmake -S . -B "$WASM" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null; fi
cmake "$WASM" >/dev/null  # re-run the checks: the subset folder exists now
cmake --build "$WASM" --target qp_web_offline -j "$JOBS"
OUT="$WASM/web/qplay-offline.html"
[ -f "$OUT" ] || { echo "make_offline.sh: $OUT is missing after the build" >&2; exit 1; }
echo "[offline] $OUT: $(stat -c %s "$OUT") bytes raw, $(gzip -9 -c "$OUT" | wc -c) bytes gzip -9"
echo "[offline] open it in a browser from disk (file://); no server needed"
