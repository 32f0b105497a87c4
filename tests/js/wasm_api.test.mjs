// The JavaScript API of the CommonJS wasm build (wasm/qplay_node.js) against its hand-written
// declaration (wasm/qplay.d.ts) and against onnxruntime-node on the same models: every declared
// member exists with the declared kind and nothing else is public; run() agrees with ORT (fp32 and
// int8 QDQ); evaluate() agrees with top-1 counted here from ORT's logits; exportOnnx() bytes run
// in ORT; bad calls give clear messages and leave the module usable.
// Env: QP_WASM_BUILD (wasm build folder, default build/wasm), QP_WORK_DIR (scratch).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const require = createRequire(path.join(root, 'tests', 'package.json'));
const ort = require('onnxruntime-node');

const wasmBuild = path.resolve(process.env.QP_WASM_BUILD || path.join(root, 'build', 'wasm'));
const nodeJs = path.join(wasmBuild, 'wasm', 'qplay_node.js');
const work = fs.mkdtempSync(path.join(process.env.QP_WORK_DIR || os.tmpdir(), 'wasm-api-'));

let qplay;
before(async () => {
  assert.ok(fs.existsSync(nodeJs), `${nodeJs} not found; build target qp_jsapi_node (or set QP_WASM_BUILD)`);
  const createQplay = require(nodeJs);
  assert.equal(typeof createQplay, 'function', 'require(qplay_node.js) is the factory');
  qplay = await createQplay();
  // Benchmark models written by Debian's python3-onnx (not by our exporter): fp32 and QDQ.
  execFileSync('/usr/bin/python3', [path.join(root, 'scripts', 'bench', 'make_models.py'), '--out', work]);
});

after(() => fs.rmSync(work, { recursive: true, force: true }));

// Seeded uniform [0, 1) input.
function input(n, seed) {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; ++i) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = s / 4294967296; }
  return a;
}

function bytes(file) { return new Uint8Array(fs.readFileSync(file)); }

async function ortRun(model, x, shape) {
  const s = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled' });
  const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, shape) });
  const parts = s.outputNames.map((n) => out[n].data);
  const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.length; }
  return all;
}

// float32 sums in another order differ by ~1e-6 relative per layer: 1e-4 of the largest magnitude.
function assertClose(ours, ref, what) {
  assert.equal(ours.length, ref.length, `${what}: output length`);
  const scale = Math.max(...Array.from(ref, Math.abs));
  for (let i = 0; i < ref.length; ++i) {
    assert.ok(Math.abs(ours[i] - ref[i]) <= 1e-4 * scale + 1e-6, `${what}: output ${i} ours ${ours[i]} vs ORT ${ref[i]}`);
  }
}

// Members of `interface QplayApi` in the d.ts: name -> 'function' | 'property'.
function declaredMembers() {
  const dts = fs.readFileSync(path.join(root, 'wasm', 'qplay.d.ts'), 'utf8');
  const body = dts.match(/export interface QplayApi \{([\s\S]*?)\n\}/);
  assert.ok(body, 'qplay.d.ts declares interface QplayApi');
  const members = new Map();
  for (const line of body[1].split('\n')) {
    const code = line.replace(/\/\*\*.*?\*\/|\/\/.*$/g, '').trim();
    if (!code || code.startsWith('*') || code.startsWith('/**')) continue;
    const m = code.match(/^(?:readonly\s+)?([A-Za-z_$][\w$]*)(\??)(\(|:)/);
    if (m) members.set(m[1], m[3] === '(' ? 'function' : 'property');
  }
  return members;
}

test('the API object has exactly the members qplay.d.ts declares, of the declared kind', () => {
  const declared = declaredMembers();
  assert.ok(declared.size >= 7, `parsed ${declared.size} members from qplay.d.ts`);
  for (const [name, kind] of declared) {
    assert.ok(name in qplay, `declared member ${name} is missing`);
    if (kind === 'function') assert.equal(typeof qplay[name], 'function', `${name} is a function`);
    else assert.notEqual(typeof qplay[name], 'function', `${name} is a property`);
  }
  for (const name of Object.keys(qplay)) assert.ok(declared.has(name), `undeclared public member ${name}`);
});

test('loadModel + run match onnxruntime-node (fp32, dynamic batch, mlp and cnn)', async () => {
  for (const c of [{ model: 'mlp', shape: [3, 784] }, { model: 'cnn', shape: [2, 1, 28, 28] }]) {
    const file = path.join(work, `${c.model}.fp32.onnx`);
    const r = qplay.loadModel(bytes(file), `${c.model}.onnx`);
    assert.deepEqual(r, { ok: true, message: '' });
    const x = input(c.shape.reduce((a, b) => a * b), 11);
    const ours = qplay.run(x);
    assert.ok(ours instanceof Float32Array);
    assertClose(ours, await ortRun(file, x, c.shape), c.model);
    const st = qplay.state();
    assert.equal(st.model.name, `${c.model}.onnx`);
    const s = await ort.InferenceSession.create(file);
    assert.deepEqual(st.model.inputs.map((v) => v.name), s.inputNames);
    assert.deepEqual(st.model.outputs.map((v) => v.name), s.outputNames);
  }
});

test('run({int8: true}) on QDQ models is within one output quantum of onnxruntime-node', async () => {
  for (const c of [{ model: 'mlp', shape: [4, 784] }, { model: 'cnn', shape: [3, 1, 28, 28] }]) {
    const file = path.join(work, `${c.model}.qdq_s8.onnx`);
    assert.equal(qplay.loadModel(bytes(file), c.model).ok, true);
    const x = input(c.shape.reduce((a, b) => a * b), 5);
    const ours = qplay.run(x, { int8: true });
    const s = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all' });
    const ref = (await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, c.shape) }))[s.outputNames[0]].data;
    // Outputs are dequantized (q - zp) * scale: the smallest gap between distinct values is one quantum.
    const distinct = [...new Set(ref)].sort((a, b) => a - b);
    let quantum = Infinity;
    for (let i = 1; i < distinct.length; ++i) quantum = Math.min(quantum, distinct[i] - distinct[i - 1]);
    assert.equal(ours.length, ref.length);
    for (let i = 0; i < ref.length; ++i) {
      assert.ok(Math.abs(ours[i] - ref[i]) <= quantum * 1.001, `${c.model} int8 output ${i}: ${ours[i]} vs ORT ${ref[i]} (quantum ${quantum})`);
    }
  }
});

test('a corrupt model gives {ok:false, message} and the previous model keeps running', async () => {
  const file = path.join(work, 'mlp.fp32.onnx');
  assert.equal(qplay.loadModel(bytes(file), 'good.onnx').ok, true);
  const good = bytes(file);
  const corrupt = good.slice(0, 200);
  corrupt[5] ^= 0xff;
  for (const bad of [corrupt, new Uint8Array([1, 2, 3, 4, 5]), new Uint8Array(0)]) {
    const r = qplay.loadModel(bad, 'bad.onnx');
    assert.equal(r.ok, false);
    assert.match(r.message, /bad\.onnx/, 'the message names the file');
  }
  assert.equal(qplay.state().model.name, 'good.onnx');
  const x = input(2 * 784, 3);
  assertClose(qplay.run(x), await ortRun(file, x, [2, 784]), 'after corrupt loads');
});

test('bad arguments throw clear errors; the module stays usable', async () => {
  const file = path.join(work, 'mlp.fp32.onnx');
  assert.equal(qplay.loadModel(bytes(file)).ok, true);
  assert.throws(() => qplay.run(new Float32Array(783)), /783 input values are not a whole number of samples of 784/);
  assert.throws(() => qplay.run(new Float32Array(0)), /run:/);
  assert.throws(() => qplay.run([1, 2, 3]), { name: 'TypeError', message: /Float32Array/ });
  assert.throws(() => qplay.loadModel('model'), { name: 'TypeError', message: /Uint8Array/ });
  assert.throws(() => qplay.run(new Float32Array(784), 3), { name: 'TypeError' });
  const demo = qplay.loadDemo('resnet');
  assert.equal(demo.ok, false);
  assert.match(demo.message, /resnet/);
  assert.equal(qplay.loadDemo('cnn', -1).ok, false);
  assert.throws(() => qplay.evaluate(), /test/, 'no test data: the message names the role');
  const d = qplay.setData('validation', new Uint8Array(4), new Uint8Array(4));
  assert.equal(d.ok, false);
  assert.match(d.message, /validation/);
  const x = input(784, 9);
  assertClose(qplay.run(x), await ortRun(file, x, [1, 784]), 'after bad calls');
});

// .npy v1.0 writer (little-endian; header padded to a multiple of 64 bytes).
function npy(descr, shape, data) {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

// IDX writer (big-endian dims).
function idx(typeCode, shape, data) {
  const out = new Uint8Array(4 + 4 * shape.length + data.byteLength);
  out.set([0, 0, typeCode, shape.length]);
  const dv = new DataView(out.buffer);
  shape.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 4 + 4 * shape.length);
  return out;
}

test('loadDemo + exportOnnx runs in ORT like run(); setData + evaluate match top-1 counted from ORT', async () => {
  const r = qplay.loadDemo('cnn', 7);
  assert.deepEqual(r, { ok: true, message: '' });
  const onnxBytes = qplay.exportOnnx();
  assert.ok(onnxBytes instanceof Uint8Array && onnxBytes.length > 1000);
  const exported = path.join(work, 'demo-cnn.onnx');
  fs.writeFileSync(exported, onnxBytes);
  const n = 37;
  // uint8 pixels (the dataset divides by 255) and labels 0..9.
  const pixels = new Uint8Array(n * 784);
  let s = 99;
  for (let i = 0; i < pixels.length; ++i) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; pixels[i] = s >>> 24; }
  const labels = new Uint8Array(n).map((_, i) => (i * 7) % 10);
  const x = Float32Array.from(pixels, (p) => p / 255);
  const ref = await ortRun(exported, x, [n, 1, 28, 28]);
  assertClose(qplay.run(x), ref, 'demo cnn exported');

  // Independent top-1 over ORT's logits.
  let correct = 0;
  for (let i = 0; i < n; ++i) {
    const row = ref.subarray(i * 10, i * 10 + 10);
    let best = 0;
    for (let k = 1; k < 10; ++k) if (row[k] > row[best]) best = k;
    if (best === labels[i]) correct++;
  }
  // The same data as .npy (images) + IDX (labels), and as IDX + .npy int64 labels.
  assert.deepEqual(qplay.setData('test', npy('|u1', [n, 28, 28], pixels), idx(0x08, [n], labels)), { ok: true, message: '' });
  let e = qplay.evaluate();
  assert.equal(e.samples, n);
  assert.equal(e.correct, correct);
  assert.ok(Math.abs(e.accuracy - correct / n) < 1e-12);
  assert.equal(qplay.setData('calibration', idx(0x08, [n, 28, 28], pixels), npy('<i8', [n], BigInt64Array.from(labels, BigInt))).ok, true);
  e = qplay.evaluate({ role: 'calibration', maxSamples: 10 });
  assert.equal(e.samples, 10);
  const st = qplay.state();
  assert.equal(st.model.name, 'cnn');
  assert.equal(st.data.test.samples, n);
  assert.equal(st.data.calibration.samples, n);
  assert.equal(st.data.train, null);
  assert.deepEqual(st.training, { active: false, history: [] });
  // Bad labels: the message names the rule, the old dataset stays.
  const bad = qplay.setData('test', npy('|u1', [n, 28, 28], pixels), idx(0x08, [n], new Uint8Array(n).fill(12)));
  assert.equal(bad.ok, false);
  assert.match(bad.message, /12/);
  assert.equal(qplay.state().data.test.samples, n);
});

test('builtinModels lists models/*.onnx; each loads and runs like onnxruntime-node on the file', async () => {
  const files = fs.readdirSync(path.join(root, 'models')).filter((f) => f.endsWith('.onnx')).sort();
  // The build globs models/ at configure time: a stale build tree shows up here.
  assert.deepEqual(qplay.builtinModels(), files.map((f) => f.slice(0, -5)));
  for (const f of files) {
    const name = f.slice(0, -5);
    assert.deepEqual(qplay.loadBuiltinModel(name), { ok: true, message: '' }, name);
    const file = path.join(root, 'models', f);
    const s = await ort.InferenceSession.create(file);
    const st = qplay.state();
    const perSample = st.model.inputs[0].shape.slice(1).reduce((a, b) => a * b, 1);
    const batch = st.model.inputs[0].shape[0] === null ? 2 : st.model.inputs[0].shape[0];
    const x = input(batch * perSample, 21);
    assertClose(qplay.run(x), await ortRun(file, x, [batch, ...st.model.inputs[0].shape.slice(1)]), `built-in ${name}`);
    assert.deepEqual(st.model.inputs.map((v) => v.name), s.inputNames);
  }
  const r = qplay.loadBuiltinModel('no-such-model');
  assert.equal(r.ok, false);
  assert.match(r.message, /no-such-model/);
  assert.equal(qplay.loadBuiltinModel('../etc/passwd').ok, false);
  // The node build embeds no data subset: a clear refusal, not a crash.
  const d = qplay.loadBuiltinData('test');
  assert.equal(d.ok, false);
  assert.match(d.message, /subset/);
});

test('setConfig + calibrate + exportQDQ: ORT runs the exported QDQ model like run({mode: "int8"}); bad configs are refused', async () => {
  const file = path.join(work, 'cnn.fp32.onnx');
  assert.equal(qplay.loadModel(bytes(file), 'cnn.onnx').ok, true);
  assert.throws(() => qplay.exportQDQ(), /quantiz/i, 'nothing to export before calibration');
  const n = 64;
  const pixels = new Uint8Array(n * 784);
  let s = 5;
  for (let i = 0; i < pixels.length; ++i) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; pixels[i] = s >>> 24; }
  const labels = new Uint8Array(n).map((_, i) => i % 10);
  assert.equal(qplay.setData('calibration', idx(0x08, [n, 28, 28], pixels), idx(0x08, [n], labels)).ok, true);
  assert.equal(qplay.setData('test', idx(0x08, [n, 28, 28], pixels), idx(0x08, [n], labels)).ok, true);

  const bad = qplay.setConfig('{"preset": "int8", "weights": {"bitz": 8}}');
  assert.equal(bad.ok, false);
  assert.match(bad.message, /bitz/);
  assert.match(qplay.setConfig('{"preset": ').message, /line 1/);
  assert.equal(qplay.getConfig(), null, 'a refused config sets nothing');
  assert.deepEqual(qplay.setConfig({ preset: 'int8' }), { ok: true, message: '' });
  assert.equal(qplay.getConfig().preset, 'int8');
  assert.deepEqual(qplay.calibrate({ batchSize: 16 }), { ok: true, message: '' });
  const st = qplay.state();
  assert.equal(st.quant.quantized, true);
  assert.ok(st.quant.params, 'quant params after calibration');

  const qdq = qplay.exportQDQ('ort');
  const qfile = path.join(work, 'cnn.api.qdq.onnx');
  fs.writeFileSync(qfile, qdq);
  const x = Float32Array.from(pixels.subarray(0, 4 * 784), (p) => p / 255);
  const ours = qplay.run(x, { mode: 'int8' });
  const sess = await ort.InferenceSession.create(qfile, { graphOptimizationLevel: 'all' });
  const ref = (await sess.run({ [sess.inputNames[0]]: new ort.Tensor('float32', x, [4, 1, 28, 28]) }))[sess.outputNames[0]].data;
  const distinct = [...new Set(ref)].sort((a, b) => a - b);
  let quantum = Infinity;
  for (let i = 1; i < distinct.length; ++i) quantum = Math.min(quantum, distinct[i] - distinct[i - 1]);
  assert.equal(ours.length, ref.length);
  // ORT's int8 execution of our export vs our int8 kernels: within one output quantum.
  for (let i = 0; i < ref.length; ++i) assert.ok(Math.abs(ours[i] - ref[i]) <= quantum * 1.001, `int8 output ${i}: ${ours[i]} vs ORT ${ref[i]}`);
  // The simulation is within a few quanta of the int8 kernels (rounding of intermediate sums).
  const sim = qplay.run(x, { mode: 'simulated' });
  const span = Math.max(...Array.from(ref, Math.abs));
  for (let i = 0; i < ref.length; ++i) assert.ok(Math.abs(sim[i] - ours[i]) <= 0.05 * span + 4 * quantum, `sim vs int8 ${i}`);
  const e = qplay.evaluate({ mode: 'int8' });
  assert.equal(e.samples, n);
  assert.throws(() => qplay.evaluate({ mode: 'fast' }), /fast/);
  assert.throws(() => qplay.exportQDQ('tflite'), /tflite/);
  assert.equal(qplay.calibrate({ batchSize: 0 }).ok, false);
});

test('startQat + 20 qatStep grow the history; finishQat; the QAT model exports and runs in ORT like our int8', async () => {
  assert.throws(() => qplay.qatStep(), /QAT|qat/, 'no QAT running');
  const file = path.join(work, 'mlp.fp32.onnx');
  assert.equal(qplay.loadModel(bytes(file), 'mlp.onnx').ok, true);
  const n = 96;
  const pixels = new Uint8Array(n * 784);
  let s = 17;
  for (let i = 0; i < pixels.length; ++i) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; pixels[i] = s >>> 24; }
  const labels = new Uint8Array(n).map((_, i) => (i * 3) % 10);
  for (const role of ['calibration', 'train']) {
    assert.equal(qplay.setData(role, idx(0x08, [n, 28, 28], pixels), idx(0x08, [n], labels)).ok, true, role);
  }
  assert.equal(qplay.setConfig({ preset: 'int8' }).ok, true);
  assert.equal(qplay.calibrate({ batchSize: 32 }).ok, true);
  assert.equal(qplay.startQat({ method: 'bogus' }).ok, false);
  assert.deepEqual(qplay.startQat({ method: 'ste', lr: 1e-3, batchSize: 16 }), { ok: true, message: '' });
  for (let i = 0; i < 20; ++i) {
    const r = qplay.qatStep();
    assert.equal(r.step, i);
    assert.ok(Number.isFinite(r.loss) && r.loss > 0, `step ${i} loss ${r.loss}`);
    assert.ok(r.accuracy >= 0 && r.accuracy <= 1);
    assert.equal(qplay.state().quant.qat.history.length, i + 1);
  }
  assert.deepEqual(qplay.finishQat(), { ok: true, message: '' });
  assert.equal(qplay.state().quant.qat.active, false);
  const qfile = path.join(work, 'mlp.qat.qdq.onnx');
  fs.writeFileSync(qfile, qplay.exportQDQ());
  const x = Float32Array.from(pixels.subarray(0, 3 * 784), (p) => p / 255);
  const ours = qplay.run(x, { mode: 'int8' });
  const sess = await ort.InferenceSession.create(qfile, { graphOptimizationLevel: 'all' });
  const ref = (await sess.run({ [sess.inputNames[0]]: new ort.Tensor('float32', x, [3, 784]) }))[sess.outputNames[0]].data;
  const distinct = [...new Set(ref)].sort((a, b) => a - b);
  let quantum = Infinity;
  for (let i = 1; i < distinct.length; ++i) quantum = Math.min(quantum, distinct[i] - distinct[i - 1]);
  for (let i = 0; i < ref.length; ++i) assert.ok(Math.abs(ours[i] - ref[i]) <= quantum * 1.001, `QAT int8 output ${i}: ${ours[i]} vs ORT ${ref[i]}`);

  // The QAT-trained model survives a reload of the model: quantizedSnapshot -> loadModel (which
  // drops the quantized model) -> setConfig -> restoreQuantized gives the same int8 outputs.
  const snap = qplay.quantizedSnapshot();
  assert.ok(snap.graph instanceof Uint8Array && typeof snap.params === 'string');
  assert.equal(qplay.loadModel(bytes(file), 'mlp.onnx').ok, true);
  assert.equal(qplay.quantizedSnapshot(), null, 'a new model has no quantized model');
  assert.equal(qplay.restoreQuantized(snap.graph, snap.params).ok, false, 'no config yet');
  assert.equal(qplay.setConfig({ preset: 'int8' }).ok, true);
  const before = qplay.state().quant.generation;
  const wrong = qplay.restoreQuantized(snap.graph, snap.params.replace('"bits": 8', '"bits": 4'));
  assert.equal(wrong.ok, false);
  assert.match(wrong.message, /was saved as 4-bit/);
  assert.equal(qplay.state().quant.generation, before, 'a refused snapshot changes nothing');
  assert.deepEqual(qplay.restoreQuantized(snap.graph, snap.params), { ok: true, message: '' });
  assert.notEqual(qplay.state().quant.generation, before);
  assert.deepEqual(qplay.run(x, { mode: 'int8' }), ours);
  assert.throws(() => qplay.restoreQuantized('not bytes', snap.params), /restoreQuantized/);
});
