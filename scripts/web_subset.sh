#!/usr/bin/env bash
# Writes the Fashion-MNIST web subset (1,000 calibration + 2,000 test images, seeded; see
# core/data/README.md) that the wasm build embeds into the playground, the offline bundle and the
# node API build. Idempotent: does nothing when the four files are already there.
#   scripts/web_subset.sh [WASM_BUILD_DIR]      (default build/wasm; writes DIR/web/subset)
# Builds the native tool qp_make_subset in build/native (preset native) if needed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="${1:-build/wasm}/web/subset"
have=1
for f in calib-images-idx3-ubyte calib-labels-idx1-ubyte test-images-idx3-ubyte test-labels-idx1-ubyte; do
  [ -s "$OUT/$f" ] || have=0
done
[ "$have" = 1 ] && exit 0
[ -f build/native/build.ninja ] || cmake --preset native >/dev/null
cmake --build build/native --target qp_make_subset >/dev/null
mkdir -p "$OUT"
build/native/core/data/qp_make_subset "$OUT"
