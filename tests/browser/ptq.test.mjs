// Post-training quantization through the UI: the page opens with the trained CNN and the embedded
// Fashion-MNIST subset; clicking Quantize > Calibrate calibrates, quantizes and evaluates the float
// model, the fake-quant simulation and the int8 kernels on the 2,000 test images, in steps between
// frames. Asserts the reported accuracies (float from the committed model, which
// tests/js/models_golden.test.mjs ties to onnxruntime-node; int8 within a point of it, as 8-bit PTQ
// of this CNN must be) and that the app's per-frame work stays within the 50 ms frame budget in
// every frame (max, not only p95) while calibration, the stepped int8 plan preparation and the
// evaluations run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, openApp, state, waitFrames, clickItem, screenshot, sampleFrames, assertFrameBudget } from './harness.mjs';

let env;
before(async () => { env = await startEnv(); });
after(async () => { await env?.close(); });

test('PTQ of the built-in CNN through UI clicks reports float, simulated and int8 accuracy', async () => {
  const { page, context, errors } = await openApp(env);
  await waitFrames(page, 3);
  let s = await state(page);
  assert.equal(s.model.trained, 'cnn', 'the page opens with the trained CNN');
  assert.equal(s.data.calibration, 1000, 'the embedded calibration subset');
  assert.equal(s.data.test, 2000, 'the embedded test subset');

  await clickItem(page, 'Data');
  await waitFrames(page, 2);
  await screenshot(page, 'data.png');

  await clickItem(page, 'Quantize');
  await waitFrames(page, 3);  // the tab switches in the frame after the click
  s = await state(page);
  assert.equal(s.quantize.config, 'int8');
  assert.ok(s.quantize.sites > 0, 'the int8 preset places quantizers');
  // Idle frames first, as the machine's baseline for the log (no stepped work runs).
  const idleStart = (await state(page)).frame;
  await page.waitForTimeout(3000);
  s = await state(page);
  const idle = s.recentUiMs.slice(-Math.min(s.frame - idleStart, s.recentUiMs.length));
  const idleMax = Math.max(...idle);
  await clickItem(page, 'Calibrate');

  let sawProgress = false;
  let sawPreparing = false;
  const run = await sampleFrames(page, (x) => x.quantize.accuracy.int8 != null || x.quantize.error !== '', {
    what: 'PTQ',
    // Where the long frames fall (for the log): the Quantize panel's phase at the poll.
    phase: ({ quantize: q }) => (q.calibrating ? 'calibration' : q.preparing ? 'int8 plan'
      : `evaluation ${Object.entries(q.accuracy).filter(([, v]) => v != null).length}/${Object.keys(q.accuracy).length}`),
    onPoll: ({ quantize: q }) => {
      if (q.calibrating && q.calibrationProgress > 0 && q.calibrationProgress < 1) sawProgress = true;
      if (q.preparing) sawPreparing = true;
    },
  });
  s = run.state;
  assert.equal(s.quantize.error, '', `PTQ failed: ${s.quantize.error}`);
  assert.ok(sawProgress || s.quantize.calibrationMs > 0, 'calibration ran in steps');
  const acc = s.quantize.accuracy;
  assert.ok(acc.model >= 0.88, `float accuracy ${acc.model} on the subset`);
  assert.ok(acc.int8 >= acc.model - 0.01, `int8 ${acc.int8} vs float ${acc.model}`);
  assert.ok(Math.abs(acc.simulated - acc.int8) <= 0.005, `simulated ${acc.simulated} vs int8 ${acc.int8}`);
  console.log(`PTQ in the page: float ${acc.model}, simulated ${acc.simulated}, int8 ${acc.int8}; ` +
              `longest step ${s.quantize.maxStepMs.toFixed(1)} ms; int8 plan in ${s.quantize.prepSteps} steps, ` +
              `${s.quantize.prepMs.toFixed(1)} ms; longest step by kind ${JSON.stringify(s.quantize.maxStepMsBy)}; ` +
              `idle frames before the run: max ${idleMax.toFixed(1)} ms over ${idle.length}`);
  // The int8 plan (lowering, weight packing) is built a node per step, not inside one frame.
  assert.ok(s.quantize.prepSteps > 5, `int8 plan built in ${s.quantize.prepSteps} steps`);
  assert.ok(sawPreparing || s.quantize.prepSteps > 0, 'the plan preparation ran');
  assertFrameBudget(run, 'PTQ');
  await page.mouse.move(1, 1);
  await waitFrames(page, 2);
  await screenshot(page, 'quantize.png');
  assert.deepEqual(errors, []);
  await context.close();
});
