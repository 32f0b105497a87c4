// Compare, Benchmark and image data through the UI: the page opens with the trained CNN and the
// embedded Fashion-MNIST subset; Quantize > Calibrate makes the int8 model; Compare runs int8 against
// w4a4 (chosen in the combos) in steps and must rank them as bit widths do (accuracy and per-site
// SQNR) while the app's per-frame work stays within 50 ms; Benchmark times fp32 and int8 per layer;
// a PNG written here (node zlib) is dropped and converted to the model input as documented (mean
// pixel checked against the pattern drawn), and a corrupt .png shows an error naming it while the
// session keeps working. Screenshots of the three panels go to the artifacts folder.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import {
  startEnv, openApp, state, waitFrames, clickItem, chooseCombo, screenshot, dropFile, sampleFrames, assertFrameBudget,
} from './harness.mjs';

let env;
before(async () => { env = await startEnv(); });
after(async () => { await env?.close(); });

// A PNG (8-bit RGB, no interlace) of width x height from pixel(x, y) -> [r, g, b].
function png(width, height, pixel) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);  // bit depth 8, colour type 2 (RGB)
  const raw = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    raw[y * (1 + width * 3)] = 0;  // filter: none
    for (let x = 0; x < width; x++) raw.set(pixel(x, y), y * (1 + width * 3) + 1 + x * 3);
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
                        chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

// Polls state() until done(s) while collecting the UI time of every frame drawn meanwhile.
// The shared frame sampler, returning the last state as `s`.
async function pollWork(page, done, what, options = {}) {
  const run = await sampleFrames(page, done, { what, timeoutMs: 300000, ...options });
  return { s: run.state, run };
}

test('Compare int8 vs w4a4, Benchmark fp32 vs int8, and PNG images through the UI', async () => {
  const { page, context, errors } = await openApp(env);
  await waitFrames(page, 3);
  let s = await state(page);
  assert.equal(s.model.trained, 'cnn', 'the page opens with the trained CNN');

  // Benchmark before quantizing: int8 is absent and the panel says so.
  await clickItem(page, 'Benchmark');
  await waitFrames(page, 3);
  s = await state(page);
  assert.equal(s.benchmark.int8Available, false);
  assert.match(s.benchmark.int8Note, /no quantized model/);

  // PTQ through the UI (as ptq.test.mjs).
  await clickItem(page, 'Quantize');
  await waitFrames(page, 3);
  await clickItem(page, 'Calibrate');
  ({ s } = await pollWork(page, (t) => t.quantize.accuracy.int8 != null || t.quantize.error, 'PTQ'));
  assert.equal(s.quantize.error, '');
  const ptqSimulated = s.quantize.accuracy.simulated;

  // Compare: A = int8, B = w4a4, chosen in the combos.
  await clickItem(page, 'Compare');
  await waitFrames(page, 3);
  await chooseCombo(page, 'A source', 'int8');
  await chooseCombo(page, 'B source', 'w4a4');
  s = await state(page);
  assert.equal(s.compare.a.source, 'int8');
  assert.equal(s.compare.b.source, 'w4a4');
  assert.equal(s.compare.b.weightBits, 4);
  assert.equal(s.compare.b.actBits, 4);
  await clickItem(page, 'Run comparison');
  let run;
  let sawProgress = false;
  ({ s, run } = await pollWork(page, (t) => t.compare.result != null || !!t.compare.error, 'Compare', {
    onPoll: (t) => { if (t.compare.running && t.compare.progress > 0 && t.compare.progress < 1) sawProgress = true; },
    phase: (t) => `compare ${(100 * t.compare.progress).toFixed(0)}%`,
  }));
  assert.equal(s.compare.error, '');
  const r = s.compare.result;
  assert.ok(sawProgress, 'the comparison ran in steps with progress');
  assert.equal(r.reusedStats, true, 'the Quantize tab\'s calibration statistics are reused');
  // A is the int8 preset the Quantize tab simulated on 2,000 samples; here on the first 500.
  assert.ok(Math.abs(r.accuracyA - ptqSimulated) <= 0.03, `A ${r.accuracyA} vs Quantize simulated ${ptqSimulated}`);
  assert.ok(r.accuracyA > r.accuracyB - 0.01, `int8 ${r.accuracyA} vs w4a4 ${r.accuracyB}`);
  const finite = r.rows.filter((x) => x.sqnrA != null && x.sqnrB != null);
  assert.ok(finite.length >= 4, `per-site rows: ${JSON.stringify(r.rows)}`);
  assert.ok(finite.some((x) => x.role === 'weight') && finite.some((x) => x.role === 'activation'));
  for (const x of finite) {
    assert.equal(x.bitsA, 8);
    assert.equal(x.bitsB, 4);
    assert.ok(Math.abs(x.delta - (x.sqnrB - x.sqnrA)) < 1e-6);
  }
  const higher = finite.filter((x) => x.sqnrA > x.sqnrB).length;
  assert.ok(higher >= 0.8 * finite.length, `SQNR A > B at ${higher} of ${finite.length} sites`);
  console.log(`Compare int8 ${r.accuracyA} vs w4a4 ${r.accuracyB} on ${r.samples} samples, ${finite.length} sites ` +
              `(A higher at ${higher}); ${s.compare.runMs.toFixed(0)} ms of work, longest step ` +
              `${s.compare.maxStepMs.toFixed(1)} ms (${s.compare.maxStepPhase})`);
  assertFrameBudget(run, 'Compare');
  await page.mouse.move(1, 1);
  await waitFrames(page, 2);
  await screenshot(page, 'compare.png');

  // Benchmark: fp32 and int8, per layer.
  await clickItem(page, 'Benchmark');
  await waitFrames(page, 3);
  await clickItem(page, 'Run benchmark');
  ({ s, run } = await pollWork(page, (t) => t.benchmark.phase === 'done' || !!t.benchmark.error, 'Benchmark',
                              { phase: (t) => `benchmark ${t.benchmark.phase}` }));
  const b = s.benchmark;
  assert.equal(b.error, '');
  assert.equal(b.int8Available, true, b.int8Note);
  assert.equal(b.fp32Runs, b.runs);
  assert.equal(b.int8Runs, b.runs);
  assert.ok(b.fp32TotalMs > 0 && b.int8TotalMs > 0, `totals ${b.fp32TotalMs} / ${b.int8TotalMs}`);
  // One row per node of the fp32 model, each timed; the int8 steps land on layers (fused
  // activations have none) plus the float <-> int8 boundary row.
  const fpRows = b.rows.filter((x) => x.fp32Ms != null);
  assert.deepEqual(fpRows.map((x) => x.op), s.model.ops, 'a row per model node, in order');
  // Every node is timed; performance.now() ticks in 5 us steps here, so a node below that (Flatten,
  // a Relu on a few values) can have a median of 0; the layers that compute must be positive.
  for (const x of fpRows) {
    assert.ok(x.fp32Ms >= 0, `fp32 ${x.layer} ${x.fp32Ms}`);
    if (x.op === 'Conv' || x.op === 'Gemm' || x.op === 'MaxPool') assert.ok(x.fp32Ms > 0, `fp32 ${x.layer} ${x.fp32Ms}`);
  }
  assert.ok(fpRows.filter((x) => x.op === 'Conv').every((x) => x.fp32Ms >= 0.02), 'convolutions take measurable time');
  const int8Rows = b.rows.filter((x) => x.int8Ms != null);
  assert.ok(int8Rows.length >= 3);
  for (const x of int8Rows) assert.ok(x.int8Ms >= 0 && x.int8Steps > 0, JSON.stringify(x));
  assert.ok(int8Rows.some((x) => x.op === 'Conv' && x.int8Ms > 0), 'the convolutions ran as int8 kernels');
  const fpSum = fpRows.reduce((a, x) => a + x.fp32Ms, 0);
  const i8Sum = int8Rows.reduce((a, x) => a + x.int8Ms, 0);
  // Medians of parts against the median of totals: equal up to run-to-run spread.
  assert.ok(fpSum <= b.fp32TotalMs * 1.25, `fp32 layers ${fpSum} vs total ${b.fp32TotalMs}`);
  assert.ok(i8Sum <= b.int8TotalMs * 1.25, `int8 layers ${i8Sum} vs total ${b.int8TotalMs}`);
  console.log(`Benchmark batch ${b.batch}, ${b.runs} runs (${b.backend}): fp32 ${b.fp32TotalMs.toFixed(2)} ms, ` +
              `int8 ${b.int8TotalMs.toFixed(2)} ms; layer sums ${fpSum.toFixed(2)} / ${i8Sum.toFixed(2)} ms`);
  assertFrameBudget(run, 'Benchmark', { minFrames: 3 });  // a few runs per frame, a few frames
  await page.mouse.move(1, 1);
  await waitFrames(page, 2);
  await screenshot(page, 'benchmark.png');

  // Data: a 56 x 40 PNG, left half white, right half black -> 28 x 28 grey, mean pixel 0.5.
  await clickItem(page, 'Data');
  await waitFrames(page, 3);
  const before = (await state(page)).filesLoaded;
  await dropFile(page, '3_half.png', png(56, 40, (x) => (x < 28 ? [255, 255, 255] : [0, 0, 0])));
  await page.waitForFunction((n) => window.qplay.state().filesLoaded > n, before, { timeout: 20000 });
  s = await state(page);
  assert.equal(s.errorCount, 0, s.lastError);
  assert.equal(s.data.images.count, 1);
  assert.deepEqual(s.data.images.shape, [1, 28, 28]);
  assert.equal(s.data.images.files[0].label, 3);
  assert.ok(Math.abs(s.data.images.files[0].meanPixel - 0.5) < 1e-9, `mean ${s.data.images.files[0].meanPixel}`);
  // An unlabeled image: the images now calibrate only.
  await dropFile(page, 'dots.png', png(28, 28, (x, y) => ((x + y) % 2 ? [200, 100, 50] : [0, 0, 0])));
  await page.waitForFunction((n) => window.qplay.state().filesLoaded > n + 1, before, { timeout: 20000 });
  s = await state(page);
  assert.equal(s.data.images.count, 2);
  assert.equal(s.data.images.files[1].label, null);
  assert.match(s.data.images.usedFor, /calibration/);
  assert.equal(s.data.calibration, 2);
  // Corrupt: a PNG signature and garbage.
  const corrupt = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('not really a png')]);
  await dropFile(page, 'broken.png', corrupt);
  await page.waitForFunction(() => window.qplay.state().errorCount > 0, null, { timeout: 20000 });
  s = await state(page);
  assert.match(s.lastError, /broken\.png/);
  assert.match(s.lastError, /could not decode/);
  assert.equal(s.data.images.count, 2, 'the corrupt image changed nothing');
  // The session still runs the model.
  const out = await page.evaluate(() => Array.from(window.qplay.run(new Float32Array(784))));
  assert.equal(out.length, 10);
  assert.ok(out.every(Number.isFinite));
  await waitFrames(page, 3);
  await screenshot(page, 'data_images.png');
  assert.deepEqual(errors, []);
  await context.close();
});
