// Drives the end-to-end benchmark in headless Debian Chromium (one thread, cross-origin isolated):
// for each workload (mlp b1/b64, cnn b1/b64, mbv2 b1) and engine, the median latency in ms.
// Prints JSON lines {"bench":"e2e","case":...,"variant":...,"metric":"ms","value":...}.
//   node scripts/bench/e2e/run_e2e.mjs [--models build/bench/models] [--runs 50] [--only mlp,cnn]
//        [--qp build/wasm/scripts/bench/e2e]   (folder of our qp_e2e.js/.wasm; engines skipped if absent)
//        [--engines qp,ort,tfjs]
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..', '..');
const require = createRequire(path.join(root, 'tests', 'package.json'));
const { chromium } = require('playwright-core');
const nm = path.join(root, 'tests', 'node_modules');

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) =>
  (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const modelsDir = path.resolve(args.models || path.join(root, 'build', 'bench', 'models'));
const runs = Number(args.runs || 50);
const only = (args.only || 'mlp,cnn,mbv2').split(',');
const qpDir = path.resolve(args.qp || path.join(root, 'build', 'wasm', 'scripts', 'bench', 'e2e'));
const engineKinds = (args.engines || 'qp,ort,tfjs').split(',');

const mounts = {
  '/ort/': path.join(nm, 'onnxruntime-web', 'dist'),
  '/tfjs/': path.join(nm, '@tensorflow', 'tfjs-backend-wasm', 'dist'),
  '/tfjs-core/': path.join(nm, '@tensorflow', 'tfjs-core', 'dist'),
  '/models/': modelsDir,
  '/page/': here,
  '/qp/': qpDir,
};
const MIME = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
               '.html': 'text/html', '.json': 'application/json' };

const workloads = [
  { model: 'mlp', batch: 1, shape: [1, 784] }, { model: 'mlp', batch: 64, shape: [64, 784] },
  { model: 'cnn', batch: 1, shape: [1, 1, 28, 28] }, { model: 'cnn', batch: 64, shape: [64, 1, 28, 28] },
  { model: 'mbv2', batch: 1, shape: [1, 3, 224, 224] },
].filter((w) => only.includes(w.model));
const engines = [
  { engine: 'qp', variant: 'qdq_u8', label: 'qplay int8 (QDQ u8, wasmsimd)' },
  { engine: 'qp', variant: 'qdq_s8', label: 'qplay int8 (QDQ s8, wasmsimd)' },
  { engine: 'qp', variant: 'fp32', label: 'qplay fp32' },
  { engine: 'ort', variant: 'fp32', label: 'ort-web fp32' },
  { engine: 'ort', variant: 'qdq_u8', label: 'ort-web int8 (QDQ u8)' },
  { engine: 'ort', variant: 'qdq_s8', label: 'ort-web int8 (QDQ s8)' },
  { engine: 'tfjs', variant: 'fp32', label: 'tfjs-wasm fp32' },
].filter((e) => engineKinds.includes(e.engine) && (e.engine !== 'qp' || fs.existsSync(path.join(qpDir, 'qp_e2e.js'))));

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') console.error('[page]', m.text()); });
  await page.route('http://localhost:9/**', async (route) => {
    const p = decodeURIComponent(new URL(route.request().url()).pathname);
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
    const mount = Object.keys(mounts).find((m) => p.startsWith(m));
    const file = p === '/' ? path.join(here, 'page.html') : mount && path.resolve(mounts[mount], p.slice(mount.length));
    if (!file || !(file === path.join(here, 'page.html') || file.startsWith(mounts[mount] + path.sep)) || !fs.existsSync(file)) {
      return route.fulfill({ status: 404, headers, body: `not found: ${p}` });
    }
    return route.fulfill({ status: 200, headers: { ...headers, 'Content-Type': MIME[path.extname(file)] || 'application/octet-stream' },
                           body: fs.readFileSync(file) });
  });
  await page.goto('http://localhost:9/');
  await page.waitForFunction(() => window.peersReady === true);
  const isolated = await page.evaluate(() => self.crossOriginIsolated);
  console.error(`[e2e] crossOriginIsolated=${isolated}, runs=${runs}`);
  for (const w of workloads) {
    for (const e of engines) {
      const warmup = w.model === 'mbv2' ? 5 : 20;
      const n = w.model === 'mbv2' ? Math.min(runs, 20) : runs;
      try {
        const ms = await page.evaluate((a) => window.runPeer(a),
          { engine: e.engine, model: w.model, variant: e.variant, shape: w.shape, warmup, runs: n });
        const extra = e.engine === 'qp' ? { summary: await page.evaluate(() => window.qpSummary) } : {};
        console.log(JSON.stringify({ bench: 'e2e', case: `${w.model} b=${w.batch}`, variant: e.label, metric: 'ms', value: ms,
                                     warmup, runs: n, ...extra }));
      } catch (err) {
        console.error(`[e2e] ${e.label} on ${w.model} b=${w.batch} failed: ${err.message ?? err}`);
      }
    }
  }
} finally {
  await browser.close();
}
