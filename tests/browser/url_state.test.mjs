// URL state of the playground (web/page_state.js): the hash names the model (built-in by name +
// seed, dropped file by SHA-256) and the quantization config; reopening the URL reproduces the same
// model bit for bit and the same config; a dropped model unknown to the browser is asked for.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEnv, repoRoot, openPageState as open, runFixed, waitHash } from './harness.mjs';

let env, work;
before(async () => {
  env = await startEnv();
  work = mkdtempSync(path.join(process.env.QP_WORK_DIR || os.tmpdir(), 'urlstate-'));
  // A model we did not write (Debian python3-onnx), to drop as a file.
  execFileSync('/usr/bin/python3', [path.join(repoRoot, 'scripts', 'bench', 'make_models.py'), '--out', work]);
});
after(async () => {
  if (env) await env.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the URL names a built-in model and its seed; opening it reproduces the model', async () => {
  const a = await env.browser.newContext({ viewport: { width: 1000, height: 700 } });
  const { page } = await open(a, env.url);
  assert.deepEqual(await page.evaluate(() => window.qplay.loadDemo('mlp', 3)), { ok: true, message: '' });
  const hash = await waitHash(page, /model=demo:mlp&seed=3/);
  const y = await runFixed(page, 784);

  const b = await env.browser.newContext({ viewport: { width: 1000, height: 700 } });
  const other = await open(b, env.url + hash);
  const st = await other.page.evaluate(() => window.qplay.api.state());
  assert.equal(st.model.name, 'mlp');
  assert.deepEqual(await runFixed(other.page, 784), y, 'same seed: the same weights');
  // Another seed gives other weights (the seed is really part of the identity).
  await other.page.evaluate(() => window.qplay.loadDemo('mlp', 4));
  assert.notDeepEqual(await runFixed(other.page, 784), y);
  assert.match(await waitHash(other.page, /seed=4/), /model=demo:mlp&seed=4/);
  assert.deepEqual(other.errors, []);
  await a.close();
  await b.close();
});

test('a dropped model is named by content hash; a fresh browser asks for the file, then loads it', async () => {
  const file = path.join(work, 'mlp.fp32.onnx');
  const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
  const a = await env.browser.newContext();
  const { page } = await open(a, env.url);
  await page.setInputFiles('#qp-file-input', file);
  const hash = await waitHash(page, /model=sha256:/);
  assert.ok(hash.startsWith(`#model=sha256:${sha}&name=mlp.fp32.onnx`), hash);
  const y = await runFixed(page, 784);

  // Same browser profile: the model bytes are in IndexedDB, the URL loads them by itself.
  const again = await open(a, env.url + hash);
  assert.equal((await again.page.evaluate(() => window.qplay.api.state())).model.name, 'mlp.fp32.onnx');
  assert.deepEqual(await runFixed(again.page, 784), y);

  // A fresh profile does not have the file: the page asks for it and keeps its default model.
  const b = await env.browser.newContext();
  const fresh = await open(b, env.url + hash);
  const asked = await fresh.page.evaluate(() => ({
    pending: window.qplay.page.pendingModel(),
    banner: document.getElementById('qp-banner').textContent,
    model: window.qplay.api.state().model.name,
  }));
  assert.equal(asked.pending.hash, `sha256:${sha}`);
  assert.match(asked.banner, /mlp\.fp32\.onnx/);
  assert.notEqual(asked.model, 'mlp.fp32.onnx');
  await fresh.page.setInputFiles('#qp-file-input', file);
  await fresh.page.waitForFunction(() => window.qplay.page.pendingModel() === null, null, { timeout: 10000 });
  assert.equal(await fresh.page.evaluate(() => document.getElementById('qp-banner').style.display), 'none');
  assert.deepEqual(await runFixed(fresh.page, 784), y);
  assert.equal(await waitHash(fresh.page, /sha256/), hash);
  await a.close();
  await b.close();
});

test('the URL carries the quantization config; opening it reproduces it', async () => {
  const a = await env.browser.newContext();
  const { page } = await open(a, env.url);
  await page.evaluate(() => window.qplay.loadDemo('cnn', 2));
  const set = await page.evaluate(() => window.qplay.setConfig({ preset: 'w4a8', layers: {} }));
  assert.deepEqual(set, { ok: true, message: '' });
  const config = await page.evaluate(() => window.qplay.getConfig());
  assert.equal(config.preset, 'w4a8');
  assert.equal(config.weights.bits, 4);
  const hash = await waitHash(page, /model=demo:cnn&seed=2&config=/);
  const encoded = hash.match(/config=([^&]+)/)[1];
  assert.deepEqual(JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')), config, 'the hash holds the config');

  const b = await env.browser.newContext();
  const other = await open(b, env.url + hash);
  assert.deepEqual(await other.page.evaluate(() => window.qplay.page.lastRestore), { ok: true, message: '' });
  assert.deepEqual(await other.page.evaluate(() => window.qplay.getConfig()), config);
  assert.equal((await other.page.evaluate(() => window.qplay.api.state())).model.name, 'cnn');
  // A config the model rejects (unknown layer): reported, the page keeps going.
  const badHash = '#model=demo:cnn&seed=2&config=' + Buffer.from('{"preset":"int8","layers":{"nope":{"skip":true}}}').toString('base64url');
  const third = await open(b, env.url + badHash);
  const r = await third.page.evaluate(() => window.qplay.page.lastRestore);
  assert.equal(r.ok, false);
  assert.match(r.message, /nope/);
  await a.close();
  await b.close();
});
