#!/usr/bin/env bash
# Benchmarks (never tests): builds the bench programs natively and with Emscripten, runs each one
# natively, under node and in headless Chromium, and writes what they print (JSON lines) to
# build/bench/<program>-<env>.jsonl plus a combined table build/bench/report.md.
#   ./scripts/bench.sh [quant] [kernels] [graph] [e2e] ...   (default: every program that exists)
# e2e writes the float and QDQ models to build/bench/models/{mlp,cnn,mbv2}.{fp32,qdq_u8,qdq_s8}.onnx
# (stable paths, so anyone can rerun other engines on them) and times every engine in Chromium.
# Programs print one JSON object per line: {"bench": ..., "case": ..., "metric": ..., "value": ...}
# plus optional fields; scripts/bench/report.mjs tabulates them with ratios.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export NODE_PATH=/usr/share/nodejs
OUT="$ROOT/build/bench"; mkdir -p "$OUT"
[ "${QP_SKIP_SETUP:-0}" = 1 ] || ./scripts/setup.sh

PROGRAMS=("$@")
if [ "${#PROGRAMS[@]}" = 0 ]; then
  for d in scripts/bench/*/; do PROGRAMS+=("$(basename "$d")"); done
fi

cmake --preset native >/dev/null && cmake --preset wasm >/dev/null
for p in "${PROGRAMS[@]}"; do
  if [ "$p" = e2e ]; then
    # End to end: the same ONNX files fed to every engine in headless Chromium (one thread).
    echo "[bench] e2e: writing models to build/bench/models"
    /usr/bin/python3 scripts/bench/make_models.py --out "$OUT/models"
    echo "[bench] e2e: building our engine (qp_e2e, wasm)"
    cmake --build --preset wasm --target qp_e2e >/dev/null
    node scripts/bench/e2e/run_e2e.mjs --models "$OUT/models" --qp build/wasm/scripts/bench/e2e \
      --runs "${QP_E2E_RUNS:-50}" | tee "$OUT/e2e-chromium.jsonl"
    continue
  fi
  if [ "$p" = graph ]; then
    # The graph runtimes on the e2e model files: fp32 Executor, and on the QDQ files the
    # Int8Executor (xnnpack natively) with its overhead over the sum of its step times.
    [ -f "$OUT/models/mlp.qdq_u8.onnx" ] || /usr/bin/python3 scripts/bench/make_models.py --out "$OUT/models"
    echo "[bench] building bench_graph (native)"
    cmake --build --preset native --target bench_graph >/dev/null
    models=()
    for m in mlp cnn mbv2; do models+=("$OUT/models/$m.fp32.onnx" "$OUT/models/$m.qdq_u8.onnx" "$OUT/models/$m.qdq_s8.onnx"); done
    echo "[bench] bench_graph native"
    build/native/scripts/bench/graph/bench_graph "${models[@]}" --runs "${QP_GRAPH_RUNS:-40}" | tee "$OUT/graph-native.jsonl"
    continue
  fi
  target="bench_$p"
  echo "[bench] building $target (native, wasm)"
  cmake --build --preset native --target "$target" >/dev/null
  cmake --build --preset wasm --target "$target" >/dev/null
  native_bin="build/native/scripts/bench/$p/$target"
  wasm_js="build/wasm/scripts/bench/$p/$target.js"
  echo "[bench] $target native";   "$native_bin" | tee "$OUT/$p-native.jsonl"
  echo "[bench] $target node";     node --no-experimental-fetch "$wasm_js" | tee "$OUT/$p-node.jsonl"
  echo "[bench] $target chromium"; node scripts/bench/run_wasm_in_chromium.mjs "$wasm_js" | tee "$OUT/$p-chromium.jsonl"
done
node scripts/bench/report.mjs "$OUT" | tee "$OUT/report.md"
