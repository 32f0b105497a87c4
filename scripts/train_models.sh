#!/usr/bin/env bash
# Regenerates the demo models in models/ with our own trainer and exporter (native build), from
# Debian's Fashion-MNIST, deterministically for the seed. Writes models/<name>.onnx and
# models/manifest.json (test accuracy as `qplay train` measured it, file size, the exact command).
# Usage: scripts/train_models.sh [mlp] [cnn] [mobilenet]     (default: all three)
# Takes roughly 2 CPU-minutes per CNN epoch on this machine kind; run it on an idle machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
./scripts/setup.sh >/dev/null
cmake --preset native >/dev/null
cmake --build build/native --target qplay >/dev/null

# name  epochs  (seed 1, Adam lr 2e-3, batch 64, cosine schedule with warmup: the CLI defaults)
declare -A EPOCHS=([mlp]=10 [cnn]=8 [mobilenet]=4)
NAMES=("$@")
[ ${#NAMES[@]} -eq 0 ] && NAMES=(mlp cnn mobilenet)
mkdir -p build/models-train
for name in "${NAMES[@]}"; do
  [ -n "${EPOCHS[$name]:-}" ] || { echo "unknown model '$name' (mlp, cnn, mobilenet)" >&2; exit 2; }
  cmd="build/native/qplay train --arch $name --epochs ${EPOCHS[$name]} --seed 1 --out models/$name.onnx"
  echo "[train] $cmd"
  $cmd | tee "build/models-train/$name.log"
done

# manifest.json from the logs of every model present.
node - <<'JS'
const fs = require('fs');
const out = {};
for (const name of ['mlp', 'cnn', 'mobilenet']) {
  const log = `build/models-train/${name}.log`;
  if (!fs.existsSync(log) || !fs.existsSync(`models/${name}.onnx`)) continue;
  const text = fs.readFileSync(log, 'utf8');
  const m = text.match(/test accuracy ([0-9.]+) \((\d+)\/(\d+)\), loss ([0-9.]+)/);
  const head = text.match(/training \S+: (\d+) steps \((\d+) epochs/);
  if (!m || !head) throw new Error(`${log}: no final accuracy line`);
  out[name] = {
    file: `${name}.onnx`,
    bytes: fs.statSync(`models/${name}.onnx`).size,
    test_accuracy: Number(m[1]), test_correct: Number(m[2]), test_samples: Number(m[3]),
    test_loss: Number(m[4]), epochs: Number(head[2]), steps: Number(head[1]), seed: 1,
    command: `scripts/train_models.sh ${name}`,
  };
}
const prev = fs.existsSync('models/manifest.json') ? JSON.parse(fs.readFileSync('models/manifest.json', 'utf8')) : {};
fs.writeFileSync('models/manifest.json', JSON.stringify({ ...prev, ...out }, null, 2) + '\n');
console.log('[train] wrote models/manifest.json');
JS
