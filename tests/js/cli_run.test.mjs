// `qplay run` against onnxruntime-node on models we did not write with our own exporter (the
// benchmark models from scripts/bench/make_models.py, Debian python3-onnx): the batch is inferred
// from the input file size, outputs are raw float32 in graph order. Also the CLI's error exits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const require = createRequire(path.join(root, 'tests', 'package.json'));
const ort = require('onnxruntime-node');

const nativeBuild = process.env.QP_NATIVE_BUILD || path.join(root, 'build', 'native');
const qplay = path.join(nativeBuild, 'qplay');
const work = fs.mkdtempSync(path.join(process.env.QP_WORK_DIR || os.tmpdir(), 'cli-run-'));

// Seeded uniform [0, 1) input, the same for both engines.
function input(n, seed) {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; ++i) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = s / 4294967296; }
  return a;
}

test('qplay run matches onnxruntime-node on the benchmark models', async () => {
  assert.ok(fs.existsSync(qplay), `${qplay} not found; build the native tree`);
  execFileSync('/usr/bin/python3', [path.join(root, 'scripts', 'bench', 'make_models.py'), '--out', work]);
  const cases = [
    { model: 'mlp', shape: [3, 784] },          // dynamic batch, rank-2 input
    { model: 'cnn', shape: [5, 1, 28, 28] },    // dynamic batch, NCHW
    { model: 'mbv2', shape: [1, 3, 224, 224] }, // fixed batch 1, depthwise + residual + Clip
  ];
  for (const c of cases) {
    const file = path.join(work, `${c.model}.fp32.onnx`);
    const x = input(c.shape.reduce((a, b) => a * b), 42);
    fs.writeFileSync(path.join(work, `${c.model}.in.f32`), Buffer.from(x.buffer));
    execFileSync(qplay, ['run', file, '--input', path.join(work, `${c.model}.in.f32`),
                         '--output', path.join(work, `${c.model}.out.f32`)]);
    const ob = fs.readFileSync(path.join(work, `${c.model}.out.f32`));
    const ours = new Float32Array(ob.buffer, ob.byteOffset, ob.byteLength / 4);
    for (const level of ['disabled', 'all']) {
      const s = await ort.InferenceSession.create(file, { graphOptimizationLevel: level });
      const ref = (await s.run({ input: new ort.Tensor('float32', x, c.shape) })).output.data;
      assert.equal(ours.length, ref.length, `${c.model}: output length`);
      // float32 sums in a different order differ by ~1e-6 relative per layer; mbv2 chains 52 convs,
      // so compare against 1e-4 of the output's largest magnitude.
      const scale = Math.max(...Array.from(ref, Math.abs));
      for (let i = 0; i < ref.length; ++i) {
        assert.ok(Math.abs(ours[i] - ref[i]) <= 1e-4 * scale + 1e-6,
          `${c.model} (ORT ${level}) output ${i}: ours ${ours[i]} vs ${ref[i]}`);
      }
    }
  }
});

test('qplay run --backend runs QDQ models on int8 kernels: same bits on every backend, within one quantum of ORT', async () => {
  for (const c of [{ model: 'mlp', shape: [3, 784] }, { model: 'cnn', shape: [5, 1, 28, 28] }]) {
    for (const act of ['qdq_u8', 'qdq_s8']) {
      const file = path.join(work, `${c.model}.${act}.onnx`);
      const x = input(c.shape.reduce((a, b) => a * b), 7);
      const inFile = path.join(work, `${c.model}.${act}.in.f32`);
      fs.writeFileSync(inFile, Buffer.from(x.buffer));
      const outs = {};
      for (const backend of ['scalar', 'xnnpack']) {
        const out = path.join(work, `${c.model}.${act}.${backend}.f32`);
        execFileSync(qplay, ['run', file, '--input', inFile, '--output', out, '--backend', backend]);
        outs[backend] = fs.readFileSync(out);
      }
      assert.ok(outs.scalar.equals(outs.xnnpack), `${c.model} ${act}: scalar and xnnpack bits differ`);
      const ours = new Float32Array(outs.scalar.buffer, outs.scalar.byteOffset, outs.scalar.byteLength / 4);
      // Every output is (q - zp) * scale: the smallest gap between distinct values is the quantum.
      const distinct = [...new Set(ours)].sort((a, b) => a - b);
      let quantum = Infinity;
      for (let i = 1; i < distinct.length; ++i) quantum = Math.min(quantum, distinct[i] - distinct[i - 1]);
      assert.ok(Number.isFinite(quantum) && quantum > 0, `${c.model} ${act}: outputs are not on a grid`);
      const s = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all' });
      const ref = (await s.run({ input: new ort.Tensor('float32', x, c.shape) })).output.data;
      for (let i = 0; i < ref.length; ++i) {
        assert.ok(Math.abs(ours[i] - ref[i]) <= quantum * 1.001,
          `${c.model} ${act} output ${i}: ours ${ours[i]} vs ORT ${ref[i]} (quantum ${quantum})`);
      }
    }
  }
});

test('qplay reports bad input with a message and a non-zero exit code', () => {
  const model = path.join(work, 'mlp.fp32.onnx');
  fs.writeFileSync(path.join(work, 'odd.f32'), Buffer.alloc(784 * 4 + 4));
  const r1 = spawnSync(qplay, ['run', model, '--input', path.join(work, 'odd.f32'), '--output', path.join(work, 'o.f32')]);
  assert.equal(r1.status, 1);
  assert.match(r1.stderr.toString(), /not a whole number of samples of 784/);
  fs.writeFileSync(path.join(work, 'corrupt.onnx'), Buffer.from('\x08\x07\x12\xff\xff\xff\x7fjunk'));
  const r2 = spawnSync(qplay, ['info', path.join(work, 'corrupt.onnx')]);
  assert.equal(r2.status, 1);
  assert.match(r2.stderr.toString(), /qplay: \w+: model 'corrupt.onnx'/);
  const r4 = spawnSync(qplay, ['run', model, '--input', path.join(work, 'odd.f32'), '--output', path.join(work, 'o.f32'),
                               '--backend', 'wasmsimd']);
  assert.equal(r4.status, 1);
  assert.match(r4.stderr.toString(), /backend 'wasmsimd' is not available in this build \(choices: scalar, xnnpack\)/);
  const r3 = spawnSync(qplay, ['frobnicate']);
  assert.equal(r3.status, 2);
  assert.match(r3.stderr.toString(), /unknown command 'frobnicate'/);
});
