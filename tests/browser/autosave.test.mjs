// IndexedDB autosave and session files of the playground (web/page_state.js): a reload without
// hash offers the autosaved session and restores the same model bit for bit; a session file with a
// dropped model inside round-trips into another browser profile; a QAT-trained quantized model
// comes back with the session.
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
  work = mkdtempSync(path.join(process.env.QP_WORK_DIR || os.tmpdir(), 'autosave-'));
  // A model we did not write (Debian python3-onnx), to drop as a file.
  execFileSync('/usr/bin/python3', [path.join(repoRoot, 'scripts', 'bench', 'make_models.py'), '--out', work]);
});
after(async () => {
  if (env) await env.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('autosave: a reload without hash offers the saved session and restores it', async () => {
  const ctx = await env.browser.newContext();
  const { page } = await open(ctx, env.url);
  await page.evaluate(() => window.qplay.loadDemo('mlp', 11));
  await waitHash(page, /seed=11/);
  await page.evaluate(() => window.qplay.page.saveNow());
  const y = await runFixed(page, 784);
  await page.close();

  const { page: p2 } = await open(ctx, env.url);  // no hash
  await p2.waitForSelector('#qp-banner-restore', { state: 'visible', timeout: 10000 });
  assert.match(await p2.textContent('#qp-banner'), /mlp \(seed 11\)/);
  assert.notEqual((await p2.evaluate(() => window.qplay.api.state())).model.name, 'mlp', 'nothing restored before the click');
  await p2.click('#qp-banner-restore');
  await p2.waitForFunction(() => window.qplay.page.lastRestore && window.qplay.page.lastRestore.ok, null, { timeout: 10000 });
  assert.equal((await p2.evaluate(() => window.qplay.api.state())).model.name, 'mlp');
  assert.deepEqual(await runFixed(p2, 784), y);
  assert.match(await waitHash(p2, /seed=11/), /model=demo:mlp&seed=11/);
  await ctx.close();
});

test('a trained built-in model is saved by name and restored with its trained weights', async () => {
  const ctx = await env.browser.newContext();
  const { page } = await open(ctx, env.url);
  assert.ok((await page.evaluate(() => window.qplay.builtinModels())).includes('cnn'), 'the bundle embeds models/cnn.onnx');
  // The Model tab's "cnn (trained)" loads /models/cnn.onnx: the session names it cnn.onnx.
  assert.deepEqual(await page.evaluate(() => window.qplay.loadBuiltinModel('cnn')), { ok: true, message: '' });
  const hash = await waitHash(page, /model=builtin:/);
  assert.match(hash, /^#model=builtin:cnn(&|$)/);
  await page.evaluate(() => window.qplay.page.saveNow());
  const y = await runFixed(page, 784);
  // Oracle that the weights matter: the untrained architecture of the same name answers otherwise.
  await page.evaluate(() => window.qplay.loadDemo('cnn', 1));
  assert.notDeepEqual(await runFixed(page, 784), y);
  await page.evaluate(() => window.qplay.loadBuiltinModel('cnn'));
  await page.evaluate(() => window.qplay.page.saveNow());
  await page.close();

  const { page: p2 } = await open(ctx, env.url);  // no hash: the autosave banner
  await p2.waitForSelector('#qp-banner-restore', { state: 'visible', timeout: 10000 });
  assert.match(await p2.textContent('#qp-banner'), /cnn \(trained\)/);
  await p2.click('#qp-banner-restore');
  await p2.waitForFunction(() => window.qplay.page.lastRestore, null, { timeout: 10000 });
  assert.deepEqual(await p2.evaluate(() => window.qplay.page.lastRestore), { ok: true, message: '' });
  assert.equal((await p2.evaluate(() => window.qplay.api.state())).model.name, 'cnn.onnx');
  assert.deepEqual(await runFixed(p2, 784), y);

  // The URL alone reproduces it in another browser profile.
  const other = await env.browser.newContext();
  const { page: p3 } = await open(other, env.url + hash);
  const r = await p3.evaluate(() => window.qplay.page.restored);
  assert.equal(r && r.ok, true, JSON.stringify(r));
  assert.deepEqual(await runFixed(p3, 784), y);
  await other.close();
  await ctx.close();
});

test('session file: export with the dropped model inside, import in another browser profile', async () => {
  const file = path.join(work, 'cnn.fp32.onnx');
  const a = await env.browser.newContext();
  const { page } = await open(a, env.url);
  await page.setInputFiles('#qp-file-input', file);
  await waitHash(page, /name=cnn\.fp32\.onnx/);
  const text = await page.evaluate(() => window.qplay.page.exportSession());
  const s = JSON.parse(text);
  assert.equal(s.format, 'qplay-session');
  assert.equal(s.model.kind, 'file');
  assert.ok(Buffer.from(s.modelBytes, 'base64').equals(readFileSync(file)), 'the session file carries the model bytes');
  const y = await runFixed(page, 784);

  const b = await env.browser.newContext();
  const { page: p2 } = await open(b, env.url);
  const bad = await p2.evaluate(() => window.qplay.page.importSession('{"format":"other"}'));
  assert.equal(bad.ok, false);
  assert.match(bad.message, /qplay-session/);
  assert.deepEqual(await p2.evaluate((t) => window.qplay.page.importSession(t), text), { ok: true, message: '' });
  assert.equal((await p2.evaluate(() => window.qplay.api.state())).model.name, 'cnn.fp32.onnx');
  assert.deepEqual(await runFixed(p2, 784), y);
  await a.close();
  await b.close();
});

// The quantized model is part of the saved session, QAT training included: quantize the trained
// CNN, run QAT steps, finish; after a reload the autosave brings back the same int8 model (its
// int8 outputs bit for bit, which differ from a fresh calibration's), and so does a session file
// in another browser profile.
test('a QAT-trained quantized model is autosaved and restored, and travels in session files', async () => {
  const ctx = await env.browser.newContext();
  const { page } = await open(ctx, env.url);
  const trained = await page.evaluate(() => {
    const q = window.qplay;
    const out = [q.loadBuiltinModel('cnn'), q.setConfig({ preset: 'int8' }), q.calibrate({ batchSize: 64, maxBatches: 2 }),
                 q.startQat({ method: 'lsq', lr: 1e-3, batchSize: 16 })];
    for (let i = 0; i < 3; ++i) q.qatStep();
    out.push(q.finishQat());
    return out;
  });
  for (const r of trained) assert.deepEqual(r, { ok: true, message: '' });
  const y = await runFixed(page, 784, { mode: 'int8' });
  await page.evaluate(() => window.qplay.page.saveNow());
  await page.close();

  const { page: p2 } = await open(ctx, env.url);  // no hash: the autosave banner
  await p2.waitForSelector('#qp-banner-restore', { state: 'visible', timeout: 10000 });
  assert.match(await p2.textContent('#qp-banner'), /its quantized model/);
  await p2.click('#qp-banner-restore');
  await p2.waitForFunction(() => window.qplay.page.lastRestore, null, { timeout: 10000 });
  assert.deepEqual(await p2.evaluate(() => window.qplay.page.lastRestore), { ok: true, message: '' });
  assert.equal((await p2.evaluate(() => window.qplay.api.state())).quant.quantized, true);
  assert.deepEqual(await runFixed(p2, 784, { mode: 'int8' }), y);
  // Oracle that the restore matters: calibrating afresh gives the PTQ model, not the QAT one.
  const text = await p2.evaluate(() => window.qplay.page.exportSession());
  assert.equal(typeof JSON.parse(text).quantized.graph, 'string');
  await p2.evaluate(() => window.qplay.calibrate({ batchSize: 64, maxBatches: 2 }));
  assert.notDeepEqual(await runFixed(p2, 784, { mode: 'int8' }), y);

  const other = await env.browser.newContext();
  const { page: p3 } = await open(other, env.url);
  assert.deepEqual(await p3.evaluate((t) => window.qplay.page.importSession(t), text), { ok: true, message: '' });
  assert.deepEqual(await runFixed(p3, 784, { mode: 'int8' }), y);
  // A session file whose quantized part was tampered with restores the model and config and says
  // what it could not restore; the page keeps working.
  const bad = JSON.parse(text);
  bad.quantized.params = bad.quantized.params.replace('"bits": 8', '"bits": 5');
  const r = await p3.evaluate((t) => window.qplay.page.importSession(t), JSON.stringify(bad));
  assert.equal(r.ok, false);
  assert.match(r.message, /restored, but not the quantized model: .*was saved as 5-bit/);
  assert.equal((await p3.evaluate(() => window.qplay.api.state())).model.name, 'cnn.onnx');
  await other.close();
  await ctx.close();
});
