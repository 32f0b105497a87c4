// Runs an Emscripten-built benchmark program (a .js + .wasm pair with a main() that prints JSON
// lines) inside headless Debian Chromium and echoes what it printed, so the same benchmark source
// is measured natively, under node and in the browser.
// Files are served through Playwright's request routing from a synthetic origin with COOP/COEP
// headers (cross-origin isolation gives performance.now() microsecond resolution).
//
//   node scripts/bench/run_wasm_in_chromium.mjs build/wasm/scripts/bench/quant/bench_quant.js [args...]
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '..', 'tests', 'package.json'));
const { chromium } = require('playwright-core');

const [jsPath, ...progArgs] = process.argv.slice(2);
if (!jsPath || !fs.existsSync(jsPath)) {
  console.error(`usage: run_wasm_in_chromium.mjs <program.js> [args...]  (not found: ${jsPath})`);
  process.exit(2);
}
const dir = path.dirname(path.resolve(jsPath));
const jsName = path.basename(jsPath);
const ORIGIN = 'http://localhost:9';  // routed by Playwright, never connected; localhost is a trustworthy origin, so COOP/COEP apply
const MIME = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html',
               '.json': 'application/json', '.data': 'application/octet-stream' };
const page_html = `<!doctype html><meta charset="utf-8"><title>bench</title><script>
  window.__lines = []; window.__done = false;
  var Module = {
    arguments: ${JSON.stringify(progArgs)},
    print: (t) => window.__lines.push(String(t)),
    printErr: (t) => window.__lines.push('[stderr] ' + t),
    onExit: () => { window.__done = true; },
    postRun: [() => { window.__done = true; }],
    onAbort: (w) => { window.__lines.push('[abort] ' + w); window.__done = true; },
  };
</script><script src="${jsName}"></script>`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  await page.route(`${ORIGIN}/**`, async (route) => {
    const rel = decodeURIComponent(new URL(route.request().url()).pathname).replace(/^\/+/, '');
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin',
                      'Cross-Origin-Embedder-Policy': 'require-corp' };
    if (rel === '' || rel === 'index.html') {
      return route.fulfill({ status: 200, headers: { ...headers, 'Content-Type': 'text/html' }, body: page_html });
    }
    const file = path.resolve(dir, rel);
    if (!file.startsWith(dir + path.sep) || !fs.existsSync(file)) return route.fulfill({ status: 404, body: 'not found' });
    return route.fulfill({ status: 200, headers: { ...headers, 'Content-Type': MIME[path.extname(file)] || 'application/octet-stream' },
                           body: fs.readFileSync(file) });
  });
  await page.goto(`${ORIGIN}/index.html`);
  await page.waitForFunction(() => window.__done === true, null, { timeout: 15 * 60 * 1000, polling: 200 });
  const { lines, isolated, ua } = await page.evaluate(() => ({
    lines: window.__lines, isolated: self.crossOriginIsolated, ua: navigator.userAgent }));
  console.error(`[chromium] ${ua.match(/Chrome\/[\d.]+/)?.[0] ?? ua}; crossOriginIsolated=${isolated}`);
  for (const l of lines) console.log(l);
  if (lines.some((l) => l.startsWith('[abort]'))) process.exitCode = 1;
} finally {
  await browser.close();
}
