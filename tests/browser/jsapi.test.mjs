// window.qplay in the served page: the JS API of wasm/qplay.d.ts on the page's own Session (the
// Model panel shows what the API loads), run() against onnxruntime-node on the model the page
// exports, and a corrupt model reported while the session keeps running.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startEnv, openApp, state, waitFrames, repoRoot } from './harness.mjs';

const require = createRequire(path.join(repoRoot, 'tests', 'package.json'));
const ort = require('onnxruntime-node');

let env;
before(async () => { env = await startEnv(); });
after(async () => { if (env) await env.close(); });

function declaredMembers() {
  const dts = readFileSync(path.join(repoRoot, 'wasm', 'qplay.d.ts'), 'utf8');
  const body = dts.match(/export interface QplayApi \{([\s\S]*?)\n\}/)[1];
  const names = [];
  for (const line of body.split('\n')) {
    const m = line.trim().match(/^(?:readonly\s+)?([A-Za-z_$][\w$]*)\??[(:]/);
    if (m) names.push(m[1]);
  }
  return names;
}

test('window.qplay carries the JS API on the page session; run() matches ORT on the exported model; bad calls and oversized batches leave the session usable', async () => {
  const { page, errors } = await openApp(env);
  const keys = await page.evaluate(() => window.qplayReady.then((q) => q === window.qplay && Object.keys(window.qplay.api)));
  assert.ok(keys, 'window.qplayReady resolves with window.qplay');
  const declared = declaredMembers();
  assert.deepEqual([...keys].sort(), [...declared].sort(), 'qplay.api has exactly the declared members');
  for (const k of declared) assert.equal(await page.evaluate((n) => typeof window.qplay[n], k), 'function', k);

  const r = await page.evaluate(() => window.qplay.loadDemo('mlp', 5));
  assert.deepEqual(r, { ok: true, message: '' });
  await waitFrames(page, 3);
  const s = await state(page);
  assert.equal(s.model.name, 'mlp', 'the Model panel and the API share the Session');
  assert.equal(s.session.model.name, 'mlp');

  const n = 3 * 784;
  const { x, y, onnx } = await page.evaluate((count) => {
    const x = new Float32Array(count);
    for (let i = 0; i < count; i++) x[i] = Math.sin(i * 0.37) * 0.5 + 0.5;
    const y = window.qplay.run(x);
    return { x: Array.from(x), y: Array.from(y), onnx: Array.from(window.qplay.exportOnnx()) };
  }, n);
  const sess = await ort.InferenceSession.create(new Uint8Array(onnx));
  const ref = (await sess.run({ [sess.inputNames[0]]: new ort.Tensor('float32', Float32Array.from(x), [3, 1, 28, 28]) }))[sess.outputNames[0]].data;
  assert.equal(y.length, ref.length);
  const scale = Math.max(...Array.from(ref, Math.abs));
  // float32 sums in another order: 1e-4 of the largest output magnitude.
  for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(y[i] - ref[i]) <= 1e-4 * scale + 1e-6, `output ${i}: ${y[i]} vs ORT ${ref[i]}`);

  // A corrupt model: reported, the session keeps the mlp and runs it.
  const bad = await page.evaluate(() => window.qplay.loadModel(new Uint8Array([8, 1, 18, 3, 1, 2]), 'broken.onnx'));
  assert.equal(bad.ok, false);
  assert.match(bad.message, /broken\.onnx/);
  const again = await page.evaluate((count) => {
    const x = new Float32Array(count);
    for (let i = 0; i < count; i++) x[i] = Math.sin(i * 0.37) * 0.5 + 0.5;
    return Array.from(window.qplay.run(x));
  }, n);
  assert.deepEqual(again, y);
  const thrown = await page.evaluate(() => { try { window.qplay.run(new Float32Array(5)); return null; } catch (e) { return e.message; } });
  assert.match(thrown, /5 input values are not a whole number of samples of 784/);
  // A batch whose intermediate values would not fit the wasm heap: refused before it allocates
  // (an allocation failure would abort the module), naming the batch and what fits; the page and
  // the session go on.
  const huge = await page.evaluate(() => {
    window.qplay.loadBuiltinModel('cnn');
    try { window.qplay.run(new Float32Array(20000 * 784)); return null; } catch (e) { return e.message; }
  });
  assert.match(huge ?? '', /ResourceExhausted: run: a batch of 20000 needs about \d+ MiB .* the largest batch that fits is \d+/);
  assert.equal((await page.evaluate(() => Array.from(window.qplay.run(new Float32Array(2 * 784))))).length, 20);
  await waitFrames(page, 3);
  assert.equal((await state(page)).model.name, 'cnn.onnx');
  assert.deepEqual(errors, []);
  await page.context().close();
});
