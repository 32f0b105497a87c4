// Shared harness of the browser tests: serves the web bundle with scripts/serve.mjs on a free
// port, launches Debian's Chromium headless through playwright-core, and drives the ImGui canvas
// by widget label through the page's test hooks (window.qplay.itemRect / state).
// Env: QP_WEB_DIST (bundle folder, default <repo>/build/wasm/web/dist),
//      QP_ARTIFACTS (screenshots, default <repo>/build/browser-artifacts).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import os from 'node:os';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../scripts/serve.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../..');
const require = createRequire(path.join(repoRoot, 'tests', 'package.json'));
const { chromium } = require('playwright-core');

export const distDir = path.resolve(process.env.QP_WEB_DIST || path.join(repoRoot, 'build/wasm/web/dist'));
export const artifactsDir = path.resolve(process.env.QP_ARTIFACTS || path.join(repoRoot, 'build/browser-artifacts'));

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader', '--enable-unsafe-webgpu',
];

export function checkBundle() {
  for (const f of ['index.html', 'qplay.js', 'qplay.wasm']) {
    if (!existsSync(path.join(distDir, f))) {
      throw new Error(`web bundle incomplete: ${path.join(distDir, f)} missing ` +
                      '(build target qp_web, or set QP_WEB_DIST)');
    }
  }
}

// Starts the server and the browser; returns { url, browser, close() }.
export async function startEnv() {
  checkBundle();
  const { server, url } = await startServer({ dir: distDir, port: 0, quiet: true });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true,
  });
  return {
    url, browser,
    async close() {
      await browser.close();
      await new Promise((r) => server.close(r));
    },
  };
}

// Opens the page and waits for window.qplay.ready (first frame drawn). Collects console
// errors and page errors into `errors`. Returns { page, errors, firstFrameMs }.
export async function openApp(env, { viewport = { width: 1280, height: 800 }, deviceScaleFactor = 1,
                                     acceptDownloads = false } = {}) {
  const context = await env.browser.newContext({ viewport, deviceScaleFactor, acceptDownloads });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  const t0 = Date.now();
  await page.goto(env.url, { waitUntil: 'load' });
  await page.evaluate(() => window.qplay.ready.then(() => true));
  // Navigation start to the end of the first frame, as the page measured it; the wall clock
  // here as a fallback.
  const firstFrameMs = (await page.evaluate(() => window.qplay.firstFrameMs)) ?? Date.now() - t0;
  return { page, context, errors, firstFrameMs };
}

export async function state(page) {
  return page.evaluate(() => window.qplay.state());
}

// Waits until `frames` more frames have been drawn (state().frame grows).
export async function waitFrames(page, frames = 3) {
  const start = (await state(page)).frame;
  await page.waitForFunction((target) => window.qplay.state().frame >= target, start + frames,
                             { polling: 'raf', timeout: 20000 });
}

export async function itemRect(page, label) {
  const r = await page.evaluate((l) => window.qplay.itemRect(l), label);
  if (!r) throw new Error(`no widget labelled '${label}' in the last frame`);
  return r;
}

// Clicks a widget by label at a relative position inside its rectangle (0.5, 0.5 = centre).
export async function clickItem(page, label, fx = 0.5, fy = 0.5) {
  const r = await itemRect(page, label);
  // Hover first and let a frame see it: a move and a press delivered between the same two frames
  // can be lost (ImGui 1.86 has no input queue), e.g. when the previous click was elsewhere.
  await page.mouse.move(r.x + r.w * fx, r.y + r.h * fy);
  await waitFrames(page, 1);
  await page.mouse.click(r.x + r.w * fx, r.y + r.h * fy);
  await waitFrames(page, 2);
}

// Opens a combo by label and picks an entry by its visible text.
export async function chooseCombo(page, comboLabel, entry) {
  await clickItem(page, comboLabel);
  await clickItem(page, entry);
}

// Drops a file with `bytes` on the canvas, as a user dragging it from the desktop would.
export async function dropFile(page, name, bytes) {
  await page.evaluate(([n, arr]) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(arr)], n));
    const canvas = document.getElementById('canvas');
    canvas.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    canvas.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, [name, Array.from(bytes)]);
}

export async function screenshot(page, name, options = {}) {
  mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, name);
  writeFileSync(file, await page.screenshot(options));
  return file;
}

// ---- Page-state tests (URL state, autosave): helpers over web/page_state.js ----------------------

// Opens `url` in a new page of `context` and waits until the app is ready and page_state.js has
// decided about restoring. Returns { page, errors } (uncaught page errors).
export async function openPageState(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url, { waitUntil: 'load' });
  await page.evaluate(() => window.qplay.ready.then(() => window.qplay.page.restored));
  return { page, errors };
}

// The same seeded input (two samples of `perSample` values) in every page; the outputs as an array.
// options: qplay.run's (e.g. {mode: 'int8'} for the quantized model's int8 kernels).
export async function runFixed(page, perSample, options = {}) {
  return page.evaluate(([n, o]) => {
    const x = new Float32Array(2 * n);
    for (let i = 0; i < x.length; i++) x[i] = ((i * 7919) % 1000) / 1000;
    return Array.from(window.qplay.run(x, o));
  }, [perSample, options]);
}

// Waits until location.hash matches `re`; returns the hash.
export async function waitHash(page, re) {
  await page.waitForFunction((src) => new RegExp(src).test(location.hash), re.source, { timeout: 10000 });
  return page.evaluate(() => location.hash);
}

// Polls state() every 200 ms until pred(s) holds; returns that state. `detail(s)` adds to the
// timeout message.
export async function until(page, pred, what, { timeoutMs = 240000, detail = () => '' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await state(page);
    if (pred(s)) return s;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what} ${detail(s)}`);
    await page.waitForTimeout(200);
  }
}

// Samples the app's own per-frame work (state().recentUiMs: UI + stepped work, not SwiftShader's
// rasterisation) of every frame while long work runs: polls state() every 250 ms until done(s)
// (the app keeps the last 120 frames, far more than one poll's worth). phase(s) labels the frames
// over 50 ms for the log; onPoll(s) sees every polled state. Returns { uiMs, slow, load, state }
// with the highest 1-minute load average seen.
export async function sampleFrames(page, done, { phase = () => '', onPoll = () => {}, what = 'the work',
                                                 timeoutMs = 240000 } = {}) {
  const uiMs = [];
  const slow = [];
  let s = await state(page);
  let lastFrame = s.frame;
  let load = os.loadavg()[0];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    load = Math.max(load, os.loadavg()[0]);
    s = await state(page);
    const fresh = Math.min(s.frame - lastFrame, s.recentUiMs.length);  // frames since the last poll
    if (fresh > 0) {
      const frames = s.recentUiMs.slice(-fresh);
      uiMs.push(...frames);
      for (const ms of frames) if (ms > 50) slow.push(`${ms.toFixed(0)} ms (${phase(s)})`);
    }
    lastFrame = s.frame;
    onPoll(s);
    if (done(s)) return { uiMs, slow, load, state: s };
    assert.ok(Date.now() < deadline, `${what} did not finish in ${timeoutMs / 1000} s`);
    await page.waitForTimeout(250);
  }
}

// The frame budget (50 ms of the app's work per frame) over sampled frames. Wall-clock frame times
// measure the machine as much as the app: with more runnable threads than cores (other builds and
// tests on a shared 2-core VM) the page's thread is preempted mid-frame and a 10 ms frame takes
// 50-400 ms. So p95 is asserted always (CI runs the suites one after another), the maximum only
// when the 1-minute load average stayed within the core count (logged otherwise).
export function assertFrameBudget({ uiMs, slow, load }, label, { minFrames = 20 } = {}) {
  assert.ok(uiMs.length >= minFrames, `${label}: only ${uiMs.length} frames sampled`);
  const sorted = [...uiMs].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
  const stats = { frames: sorted.length, p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1] };
  console.log(`${label}: UI work per frame p95 ${stats.p95.toFixed(1)} ms, p99 ${stats.p99.toFixed(1)} ms, ` +
              `max ${stats.max.toFixed(1)} ms over ${stats.frames} frames (load average up to ${load.toFixed(1)})`);
  assert.ok(stats.p95 <= 50, `${label}: per-frame work p95 ${stats.p95} ms exceeds 50 ms ` +
                             `(load average ${load.toFixed(1)}; slow frames: ${slow.join(', ')})`);
  const cores = os.cpus().length;
  if (load <= cores) {
    assert.ok(stats.max <= 50, `${label}: per-frame work max ${stats.max} ms exceeds 50 ms (slow frames: ${slow.join(', ')})`);
  } else {
    console.log(`${label}: frames over 50 ms: ${slow.length ? slow.join(', ') : 'none'}; maximum not asserted ` +
                `at load average ${load.toFixed(1)} on ${cores} cores`);
  }
  return stats;
}
