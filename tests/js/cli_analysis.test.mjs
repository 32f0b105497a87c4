// `qplay sweep --per-layer` and `qplay analyze --mixed-bits` on the trained MLP (models/mlp.onnx,
// Fashion-MNIST; skipped when the dataset is absent). Oracles independent of the analysis code:
// the MLP's weight shapes as documented (784-256-128-10) for the model sizes, a Pareto front
// recomputed here from the printed rows, and `qplay quantize`'s simulated accuracy for the
// all-8-bit point and the per-layer 8-bit rows (the same calibration, the same test slice).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const nativeBuild = process.env.QP_NATIVE_BUILD || path.join(root, 'build', 'native');
const qplay = path.join(nativeBuild, 'qplay');
const work = fs.mkdtempSync(path.join(process.env.QP_WORK_DIR || os.tmpdir(), 'cli-analysis-'));
const haveData = fs.existsSync('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz');
const skip = haveData ? false : '/usr/share/datasets/fashion-mnist absent (Debian package dataset-fashion-mnist)';
const model = path.join(root, 'models', 'mlp.onnx');
const common = ['--data', 'fashion-mnist:train', '--test', 'fashion-mnist:test', '--limit', '300'];
// Weight elements per Gemm of the MLP (models/README.md: 784-256-128-10).
const weights = { fc1: 784 * 256, fc2: 256 * 128, fc3: 128 * 10 };

function run(args) {
  return execFileSync(qplay, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function simulatedInt8Accuracy() {
  const out = run(['quantize', model, ...common]);
  const m = out.match(/simulated accuracy on \S+: ([0-9.]+) \((\d+)\/(\d+)\)/);
  assert.ok(m, out);
  assert.equal(Number(m[3]), 300);
  return Number(m[1]);
}

test('qplay analyze --mixed-bits: sizes, Pareto points and the all-8-bit point', { skip }, () => {
  assert.ok(fs.existsSync(qplay), `${qplay} not found; build the native tree`);
  const csvPath = path.join(work, 'mixed.csv');
  const out = run(['analyze', model, ...common, '--sensitivity', '0', '--mixed-bits', '2,4,8',
    '--mixed-out', csvPath]);
  assert.match(out, /mixed precision what-if on 300 samples: 27 configurations/);
  const lines = fs.readFileSync(csvPath, 'utf8').trim().split('\n');
  assert.equal(lines[0], 'size_bits,accuracy,output_sqnr_db,pareto,fc1,fc2,fc3');
  const rows = lines.slice(1).map((l) => {
    const [size, acc, sqnr, pareto, b1, b2, b3] = l.split(',');
    return { size: Number(size), acc: Number(acc), sqnr: Number(sqnr), pareto: pareto === '1',
      bits: { fc1: Number(b1), fc2: Number(b2), fc3: Number(b3) } };
  });
  assert.equal(rows.length, 27);
  const seen = new Set();
  for (const r of rows) {
    seen.add(`${r.bits.fc1}/${r.bits.fc2}/${r.bits.fc3}`);
    const size = Object.entries(weights).reduce((s, [l, n]) => s + n * r.bits[l], 0);
    assert.equal(r.size, size, JSON.stringify(r));
    assert.ok(r.acc >= 0 && r.acc <= 1);
  }
  assert.equal(seen.size, 27);
  // Pareto: no other row is at most as large and at least as accurate, one of them strictly.
  for (const r of rows) {
    const dominated = rows.some((o) => o.size <= r.size && o.acc >= r.acc && (o.size < r.size || o.acc > r.acc));
    assert.equal(r.pareto, !dominated, JSON.stringify(r));
  }
  const all8 = rows.find((r) => r.bits.fc1 === 8 && r.bits.fc2 === 8 && r.bits.fc3 === 8);
  assert.ok(Math.abs(all8.acc - simulatedInt8Accuracy()) <= 1 / 300 + 1e-9, JSON.stringify(all8));
  // 2-bit weights everywhere cost accuracy on this model.
  const all2 = rows.find((r) => r.bits.fc1 === 2 && r.bits.fc2 === 2 && r.bits.fc3 === 2);
  assert.ok(all2.acc < all8.acc - 0.05, `${all2.acc} vs ${all8.acc}`);
  // The printed table marks the same points.
  assert.equal((out.match(/^\* /gm) || []).length, rows.filter((r) => r.pareto).length);
});

test('qplay sweep --per-layer: one row per layer, bits and calibrator', { skip }, () => {
  const csvPath = path.join(work, 'sweep.csv');
  run(['sweep', model, ...common, '--bits', '4,8', '--per-layer', '1', '--out', csvPath]);
  const lines = fs.readFileSync(csvPath, 'utf8').trim().split('\n');
  assert.equal(lines[0], 'scope,bits,calibrator,accuracy,output_sqnr_db,error');
  const rows = lines.slice(1).map((l) => l.split(','));
  const scopes = new Set(rows.map((r) => r[0]));
  assert.deepEqual([...scopes].sort(), ['all', 'fc1', 'fc2', 'fc3']);
  // 4 scopes x 2 widths x 6 calibrators.
  assert.equal(rows.length, 4 * 2 * 6);
  // One layer at 8 bits (max calibration) in an otherwise int8 model is the int8 model.
  const base = simulatedInt8Accuracy();
  for (const layer of ['fc1', 'fc2', 'fc3']) {
    const r = rows.find((x) => x[0] === layer && x[1] === '8' && x[2] === 'max');
    assert.ok(r, layer);
    assert.ok(Math.abs(Number(r[3]) - base) <= 3 / 300 + 1e-9, `${layer}: ${r[3]} vs ${base}`);
  }
  // --global 0 leaves out the "all" rows.
  run(['sweep', model, ...common, '--bits', '4', '--per-layer', '1', '--global', '0', '--out', csvPath]);
  const only = fs.readFileSync(csvPath, 'utf8').trim().split('\n').slice(1);
  assert.equal(only.length, 3 * 6);
  assert.ok(only.every((l) => !l.startsWith('all,')));
});

test('qplay analyze / sweep: bad mixed-precision and sweep flags are usage errors', { skip }, () => {
  const r1 = spawnSync(qplay, ['analyze', model, ...common, '--mixed-layers', 'fc1']);
  assert.equal(r1.status, 2);
  assert.match(r1.stderr.toString(), /--mixed-layers, --max-points and --mixed-out need --mixed-bits/);
  const r2 = spawnSync(qplay, ['analyze', model, ...common, '--sensitivity', '0', '--mixed-bits', '4,8',
    '--mixed-layers', 'fc9']);
  assert.equal(r2.status, 1);
  assert.match(r2.stderr.toString(), /'fc9' is not a layer with quantized weights \(known: fc1, fc2, fc3\)/);
  const r3 = spawnSync(qplay, ['analyze', model, ...common, '--sensitivity', '0', '--mixed-bits', '2,4,8',
    '--max-points', '10']);
  assert.equal(r3.status, 1);
  assert.match(r3.stderr.toString(), /27 combinations exceed the cap of 10/);
  const r4 = spawnSync(qplay, ['sweep', model, ...common, '--global', '0']);
  assert.equal(r4.status, 2);
  const help = spawnSync(qplay, ['help']).stdout.toString();
  for (const flag of ['--per-layer 1', '--global 0', '--mixed-bits', '--mixed-layers', '--max-points', 'lsq+'])
    assert.ok(help.includes(flag), flag);
});
