// Analysis panels through UI clicks on the built-in trained CNN: quantize (Quantize > Calibrate),
// then
// - Histograms: pick a tensor, drag the +amax clip handle inward and outward; the clipping vs
//   rounding split must move the right way (more clipping and clipped values inward, none beyond
//   the max), return to the same numbers when the calibrated amax is restored, and have the
//   rounding part of the size uniform rounding predicts (step^2 / 12 over the unclipped values);
// - Range x precision: a small sweep (4 and 8 bits x max and entropy, 200 samples) run in steps
//   with progress; 8-bit accuracy near the Quantize tab's simulated accuracy and not below 4-bit;
//   the app's per-frame work stays within the 50 ms budget during it;
// - Model: after quantization the layer list carries per-layer SQNR and clip fractions.
// Screenshots: histograms.png, range.png, model_health.png in the artifacts folder.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, openApp, state, waitFrames, clickItem, screenshot, sampleFrames, assertFrameBudget,
  until } from './harness.mjs';

let env;
before(async () => { env = await startEnv(); });
after(async () => { await env?.close(); });

// Drags from (x0, y) to (x1, y) in small moves, a frame between each (ImGui reads one mouse
// position per frame).
async function drag(page, x0, x1, y) {
  await page.mouse.move(x0, y);
  await waitFrames(page, 1);
  await page.mouse.down();
  await waitFrames(page, 1);
  const n = 8;
  for (let i = 1; i <= n; ++i) {
    await page.mouse.move(x0 + ((x1 - x0) * i) / n, y);
    await waitFrames(page, 1);
  }
  await page.mouse.up();
  await waitFrames(page, 2);
}

test('Histograms, Range x precision and Model health through the UI', async () => {
  const { page, context, errors } = await openApp(env);
  await waitFrames(page, 3);
  let s = await state(page);
  assert.equal(s.model.trained, 'cnn');
  assert.deepEqual(s.model.health, [], 'no health figures before quantization');

  await clickItem(page, 'Quantize');
  await waitFrames(page, 3);
  await clickItem(page, 'Calibrate');
  s = await until(page, (x) => x.quantize.accuracy.simulated != null || x.quantize.error, 'PTQ');
  assert.equal(s.quantize.error, '');
  const simulated = s.quantize.accuracy.simulated;

  // ---- Histograms ------------------------------------------------------------------------------
  await clickItem(page, 'Histograms');
  // The weight sites' histograms are computed a few per frame once the quantized model appears.
  s = await until(page, (x) => !x.histograms.weightsPending, 'weight histograms');
  const h0 = s.histograms;
  assert.ok(h0.tensors >= 6, `activation and weight tensors listed: ${h0.names}`);
  // The second activation site (the first conv's output); the selector is a combo.
  const target = h0.names[1];
  await clickItem(page, 'Tensor');
  await clickItem(page, target);
  await page.mouse.move(1, 1);
  s = await until(page, (x) => x.histograms.tensor === target && x.histograms.handles, 'tensor selected');
  let h = s.histograms;
  assert.equal(h.role, 'activation');
  for (const k of ['max', 'percentile_99.9', 'percentile_99.99', 'percentile_99.999', 'mse', 'entropy'])
    assert.ok(h.thresholds[k] > 0, `threshold ${k} = ${h.thresholds[k]}`);
  assert.ok(h.thresholds['percentile_99.9'] <= h.thresholds['percentile_99.999']);
  assert.ok(h.thresholds['percentile_99.999'] <= h.thresholds.max * 1.01, 'a percentile is at most a bin past the max');
  assert.ok(h.outliers.length > 0, 'calibration samples that set the max');
  assert.equal(h.outliers[0].maxAbs, h.thresholds.max, 'the first outlier sample holds the max');
  assert.equal(h.amax, h.calibratedAmax);
  const before = h.split;
  assert.equal(before.clipping + before.rounding, before.total);
  // Rounding error per unclipped value lies in [0, step^2 / 4] (step = amax / levels) and is
  // step^2 / 12 for values spread over the grid; exact zeros (ReLU outputs) add none, so the mean
  // over all values is between a small fraction of step^2 / 12 and step^2 / 4.
  {
    const levels = h.unsigned ? 2 ** h.siteBits - 1 : 2 ** (h.siteBits - 1) - 1;
    const step = h.amax / levels;
    const unclipped = 1 - before.clippedCount / before.count;
    assert.ok(before.rounding <= (step * step / 4) * unclipped, `rounding ${before.rounding} vs step ${step}`);
    assert.ok(before.rounding >= (step * step / 12) * unclipped * 0.1, `rounding ${before.rounding} vs step ${step}`);
  }

  // Drag +amax inward to 40% of the way to zero: more clipping, more values clipped.
  const zeroX = (h.handles.loX + h.handles.hiX) / 2;
  await drag(page, h.handles.hiX, zeroX + (h.handles.hiX - zeroX) * 0.4, h.handles.y);
  s = await state(page);
  h = s.histograms;
  assert.ok(h.amax < h.calibratedAmax * 0.6,
            `amax after the inward drag: ${h.amax} (calibrated ${h.calibratedAmax})`);
  assert.equal(h.clipLo, -h.amax, 'the handles move together');
  assert.ok(h.split.clipping > before.clipping, `clipping ${h.split.clipping} vs ${before.clipping}`);
  assert.ok(h.split.clippedCount > before.clippedCount);
  assert.ok(h.split.rounding < before.rounding, 'a narrower range rounds finer');
  const inward = h.split;
  await page.mouse.move(1, 1);
  await waitFrames(page, 2);
  await screenshot(page, 'histograms.png');

  // Outward past the max: nothing clipped.
  await drag(page, h.handles.hiX, 1275, h.handles.y);  // to the right edge of the 1280 px page
  h = (await state(page)).histograms;
  assert.ok(h.amax >= h.thresholds.max, `amax ${h.amax} >= max ${h.thresholds.max}`);
  assert.equal(h.split.clipping, 0);
  assert.equal(h.split.clippedCount, 0);
  assert.ok(h.split.rounding > inward.rounding);

  // Back to the calibrated amax: the same split as before the drags (computed by core, not cached).
  const recomputes = h.recomputes;
  await clickItem(page, 'Reset to calibrated');
  h = (await state(page)).histograms;
  assert.ok(h.recomputes > recomputes);
  assert.equal(h.amax, h.calibratedAmax);
  assert.deepEqual(h.split, before);

  // A weight: its |w| histogram from the values; clipping at the max clips nothing, and the
  // largest element is the first "outlier".
  const weight = h.names[h.names.length - 2];
  await clickItem(page, 'Tensor');
  await clickItem(page, weight);
  await page.mouse.move(1, 1);
  h = (await until(page, (x) => x.histograms.tensor === weight && x.histograms.handles, 'weight selected')).histograms;
  assert.equal(h.role, 'weight');
  assert.ok(h.dataRange.min < 0 && h.dataRange.max > 0, 'weights are signed');
  assert.equal(h.amax, h.thresholds.max);
  assert.equal(h.split.clippedCount, 0);
  assert.equal(h.outliers[0].maxAbs, h.thresholds.max);
  await waitFrames(page, 2);
  await screenshot(page, 'histograms_weight.png');

  // ---- Range x precision -------------------------------------------------------------------------
  await clickItem(page, 'Range x precision');
  await waitFrames(page, 3);
  // Defaults: bits 2, 4, 6, 8 and all six calibrators; keep 4 and 8 x max and entropy.
  for (const label of ['2-bit', '6-bit', 'p99.9', 'p99.99', 'p99.999', 'mse']) await clickItem(page, label);
  await clickItem(page, 'Run sweep');
  let sawPartial = false;
  const progress = [];
  const run = await sampleFrames(page, (x) => !x.range.running && !!x.range.status, {
    what: 'the sweep', timeoutMs: 300000,
    phase: (x) => `sweep ${x.range.done}/${x.range.total}`,
    onPoll: (x) => {
      progress.push(x.range.progress);
      if (x.range.running && x.range.done > 0 && x.range.done < x.range.total) sawPartial = true;
    },
  });
  s = run.state;
  const r = s.range;
  assert.equal(r.error, '');
  assert.match(r.status, /^done/);
  assert.deepEqual(r.bits, [4, 8]);
  assert.deepEqual(r.calibrators, ['max', 'entropy']);
  assert.equal(r.total, 4);
  assert.equal(r.rows.length, 4);
  assert.ok(sawPartial, 'rows arrived one by one while the sweep ran');
  for (let i = 1; i < progress.length; ++i) assert.ok(progress[i] >= progress[i - 1], 'progress never goes back');
  assert.equal(r.progress, 1);
  const row = (bits, cal) => r.rows.find((x) => x.bits === bits && x.calibrator === cal);
  for (const cal of ['max', 'entropy']) {
    assert.ok(row(8, cal).accuracy >= row(4, cal).accuracy - 0.02,
              `${cal}: 8-bit ${row(8, cal).accuracy} vs 4-bit ${row(4, cal).accuracy}`);
    assert.ok(row(8, cal).outputSqnr > row(4, cal).outputSqnr, `${cal}: 8-bit output SQNR above 4-bit`);
  }
  // 200 samples vs the Quantize tab's 2,000: the 8-bit max row is the same configuration family.
  assert.ok(Math.abs(row(8, 'max').accuracy - simulated) <= 0.05,
            `8-bit max ${row(8, 'max').accuracy} vs simulated ${simulated}`);
  console.log(`range sweep: ${r.rows.length} configurations on ${r.samples} samples in ${r.steps} steps, ` +
              `${(r.runMs / 1000).toFixed(1)} s of work, longest step ${r.maxStepMs.toFixed(1)} ms; ` +
              `rows ${JSON.stringify(r.rows)}`);
  assertFrameBudget(run, 'Range sweep');
  await page.mouse.move(1, 1);
  await waitFrames(page, 2);
  await screenshot(page, 'range.png');

  // ---- Model health ------------------------------------------------------------------------------
  await clickItem(page, 'Model');
  await waitFrames(page, 3);
  s = await state(page);
  const health = s.model.health;
  console.log(`model health: ${health.length} layers on ${s.model.healthSamples} samples, computed once in ${s.model.healthMs.toFixed(1)} ms`);
  assert.ok(health.length >= 3, `layers with figures: ${JSON.stringify(health)}`);
  const convs = health.filter((x) => x.op === 'Conv' || x.op === 'Gemm');
  assert.ok(convs.length >= 2);
  for (const l of convs) {
    assert.ok(l.weightSqnr > 25, `${l.layer}: 8-bit per-channel weight SQNR ${l.weightSqnr}`);
  }
  assert.ok(health.some((x) => x.outputSqnr != null && x.outputSqnr > 10), 'activation SQNR reported');
  assert.ok(health.some((x) => x.clipFraction != null && x.clipFraction >= 0 && x.clipFraction < 0.05));
  await page.mouse.move(1, 1);
  await waitFrames(page, 2);
  await screenshot(page, 'model_health.png');
  assert.deepEqual(errors, []);
  await context.close();
});
