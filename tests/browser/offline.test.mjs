// The offline bundle (build/<dir>/web/qplay-offline.html, target qp_web_offline): one HTML file
// opened from file:// with no server runs the playground and the JS API: built-in models embedded
// from models/*.onnx run like onnxruntime-node on the same files, and the embedded Fashion-MNIST
// subset evaluates to the top-1 counted here from ORT's logits on the subset files.
// Env: QP_WEB_OFFLINE (the HTML file; default <QP_WEB_DIST>/../qplay-offline.html).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CHROMIUM_ARGS, distDir, repoRoot } from './harness.mjs';

const require = createRequire(path.join(repoRoot, 'tests', 'package.json'));
const ort = require('onnxruntime-node');
const { chromium } = require('playwright-core');
const offline = path.resolve(process.env.QP_WEB_OFFLINE || path.join(distDir, '..', 'qplay-offline.html'));
const subsetDir = path.join(distDir, '..', 'subset');

let browser;
before(async () => {
  assert.ok(existsSync(offline), `${offline} not found (build target qp_web_offline, or set QP_WEB_OFFLINE)`);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
});
after(async () => { if (browser) await browser.close(); });

function idx(file) {
  const b = readFileSync(file);
  const rank = b[3];
  const dims = [];
  for (let i = 0; i < rank; i++) dims.push(b.readUInt32BE(4 + 4 * i));
  return { dims, data: b.subarray(4 + 4 * rank) };
}

test('the single file opens from file:// with no other file and runs models through window.qplay', async () => {
  const html = readFileSync(offline, 'utf8');
  assert.doesNotMatch(html, /<script[^>]* src=/, 'no external scripts');
  assert.doesNotMatch(html, /\.wasm["']/, 'no separate wasm file referenced');
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  const page = await context.newPage();
  const errors = [];
  const requests = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => { if (!r.url().startsWith('data:')) requests.push(r.url()); });
  await page.goto(pathToFileURL(offline).href, { waitUntil: 'load' });
  await page.evaluate(() => window.qplayReady);
  assert.deepEqual(requests, [pathToFileURL(offline).href], 'the page loads nothing but itself');

  // A demo architecture: run() against ORT on the bytes the page exports.
  assert.deepEqual(await page.evaluate(() => window.qplay.loadDemo('cnn', 2)), { ok: true, message: '' });
  const { y, onnx } = await page.evaluate(() => {
    const x = new Float32Array(2 * 784).map((_, i) => (i % 255) / 255);
    return { y: Array.from(window.qplay.run(x)), onnx: Array.from(window.qplay.exportOnnx()) };
  });
  const x = new Float32Array(2 * 784).map((_, i) => (i % 255) / 255);
  const s = await ort.InferenceSession.create(new Uint8Array(onnx));
  const ref = (await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, [2, 1, 28, 28]) }))[s.outputNames[0]].data;
  const scale = Math.max(...Array.from(ref, Math.abs));
  for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(y[i] - ref[i]) <= 1e-4 * scale + 1e-6, `demo output ${i}`);

  // Every trained model of models/ is embedded and listed.
  const files = readdirSync(path.join(repoRoot, 'models')).filter((f) => f.endsWith('.onnx')).sort();
  assert.deepEqual(await page.evaluate(() => window.qplay.builtinModels()), files.map((f) => f.slice(0, -5)));

  // The embedded subset, when the build has one (scripts/make_offline.sh makes it).
  const hasSubset = existsSync(path.join(subsetDir, 'test-images-idx3-ubyte'));
  const d = await page.evaluate(() => window.qplay.loadBuiltinData('test'));
  assert.equal(d.ok, hasSubset, d.message);
  if (hasSubset && files.length > 0) {
    const name = files[0].slice(0, -5);
    assert.equal((await page.evaluate((n) => window.qplay.loadBuiltinModel(n), name)).ok, true);
    const ours = await page.evaluate(() => window.qplay.evaluate({ maxSamples: 500 }));
    const images = idx(path.join(subsetDir, 'test-images-idx3-ubyte'));
    const labels = idx(path.join(subsetDir, 'test-labels-idx1-ubyte'));
    const n = 500;
    const xs = Float32Array.from(images.data.subarray(0, n * 784), (p) => p / 255);
    const m = await ort.InferenceSession.create(path.join(repoRoot, 'models', files[0]));
    const logits = (await m.run({ [m.inputNames[0]]: new ort.Tensor('float32', xs, [n, 1, 28, 28]) }))[m.outputNames[0]].data;
    let correct = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let k = 1; k < 10; k++) if (logits[i * 10 + k] > logits[i * 10 + best]) best = k;
      if (best === labels.data[i]) correct++;
    }
    assert.equal(ours.samples, n);
    // Ties between float logits computed in another order could flip a sample: allow one.
    assert.ok(Math.abs(ours.correct - correct) <= 1, `${name}: ${ours.correct} correct vs ${correct} from ORT`);
  }
  console.log(`offline bundle ${offline}: ${statSync(offline).size} bytes`);
  assert.deepEqual(errors, []);
  await context.close();
});
