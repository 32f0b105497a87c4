// The fp32 reference executor in headless Chromium next to onnxruntime-web fp32, on the same ONNX
// file in the same page: the playground bundle (build/wasm/web/dist) is served with its JS API
// (window.qplay.loadModel / run), and onnxruntime-web (wasm EP, one thread, graph optimisation
// 'all') is loaded into that page from tests/node_modules. Median of N timed runs after warm-up;
// our timing includes copying the input in and the logits out through Embind, ORT's includes
// reading the output tensor. Prints JSON lines {bench, case, variant, metric: "ms", value}.
//   node scripts/bench/graph/chromium_fp32.mjs [--model models/cnn.onnx] [--runs 30] [--dist DIR]
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../serve.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..', '..');
const require = createRequire(path.join(root, 'tests', 'package.json'));
const { chromium } = require('playwright-core');

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) =>
  (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const modelFile = path.resolve(args.model || path.join(root, 'models', 'cnn.onnx'));
const runs = Number(args.runs || 30);
const dist = path.resolve(args.dist || path.join(root, 'build', 'wasm', 'web', 'dist'));
const ortDir = path.join(root, 'tests', 'node_modules', 'onnxruntime-web', 'dist');
const name = path.basename(modelFile, '.onnx');

const { server, url } = await startServer({ dir: dist, port: 0, quiet: true });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'] });
try {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') console.error('[page]', m.text()); });
  // onnxruntime-web's files under /ort/ of the same origin.
  await page.route('**/ort/**', (route) => {
    const f = path.join(ortDir, path.basename(new URL(route.request().url()).pathname));
    if (!fs.existsSync(f)) return route.fulfill({ status: 404, body: 'not found' });
    const type = f.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
    return route.fulfill({ status: 200, headers: { 'Content-Type': type }, body: fs.readFileSync(f) });
  });
  await page.goto(url);
  await page.evaluate(() => window.qplay.ready.then(() => true));
  await page.addScriptTag({ url: '/ort/ort.wasm.min.js' }).catch(() => page.addScriptTag({ url: '/ort/ort.min.js' }));
  const bytes = Array.from(fs.readFileSync(modelFile));
  for (const batch of [1, 64]) {
    const r = await page.evaluate(async ({ bytes, batch, runs }) => {
      const u8 = new Uint8Array(bytes);
      const n = batch * 784;
      const x = new Float32Array(n);
      let s = 12345;
      for (let i = 0; i < n; ++i) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; x[i] = (s >>> 8) / 16777216; }
      const time = async (fn, warm, count) => {
        for (let i = 0; i < warm; ++i) await fn();
        const t = [];
        for (let i = 0; i < count; ++i) { const t0 = performance.now(); await fn(); t.push(performance.now() - t0); }
        t.sort((a, b) => a - b);
        return t[Math.floor(t.length / 2)];
      };
      const loaded = window.qplay.loadModel(u8);
      if (!loaded.ok) throw new Error(loaded.message);
      const count = batch === 1 ? runs : Math.max(5, Math.floor(runs / 3));
      const ours = await time(() => window.qplay.run(x)[0], 3, count);
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.wasmPaths = '/ort/';
      const sess = await ort.InferenceSession.create(u8, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      const xt = new ort.Tensor('float32', x, [batch, 1, 28, 28]);
      const theirs = await time(async () => (await sess.run({ [sess.inputNames[0]]: xt }))[sess.outputNames[0]].data[0], 3, count);
      await sess.release();
      return { ours, theirs, count };
    }, { bytes, batch, runs });
    for (const [variant, v] of [['qplay-wasm-fp32', r.ours], ['ort-web-fp32', r.theirs]])
      console.log(JSON.stringify({ bench: 'graph-chromium', case: `${name}/b${batch}`, variant, metric: 'ms',
                                   value: Number(v.toPrecision(4)), runs: r.count }));
    console.error(`[chromium-fp32] ${name} b${batch}: qplay ${r.ours.toFixed(3)} ms, ort-web ${r.theirs.toFixed(3)} ms, ratio ${(r.ours / r.theirs).toFixed(2)}`);
  }
} finally {
  await browser.close();
  server.close();
}
