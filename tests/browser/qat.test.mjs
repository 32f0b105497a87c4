// QAT through the UI: quantize the built-in CNN (Quantize > Calibrate), then in the QAT tab Start,
// single Steps, Play until 20 steps (the app's work per frame within the 50 ms budget), Pause. The loss history grows one record per step, every loss
// is finite, the state machine reports 'qat', and Finish makes the QAT result the session's
// quantized model (the JS API's state() agrees).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEnv, openApp, state, waitFrames, clickItem, screenshot, sampleFrames, assertFrameBudget,
  until as untilState } from './harness.mjs';

let env;
before(async () => { env = await startEnv(); });
after(async () => { await env?.close(); });

// Waits on the page state; a timeout shows the Quantize and QAT states.
const until = (page, pred, what) =>
  untilState(page, pred, what, { timeoutMs: 180000, detail: (s) => JSON.stringify({ q: s.quantize, t: s.qat }) });

test('QAT: 20 steps through Play/Step grow the loss history; Finish keeps a quantized model', async () => {
  const { page, context, errors } = await openApp(env);
  await waitFrames(page, 3);
  await clickItem(page, 'Quantize');
  await waitFrames(page, 3);
  await clickItem(page, 'Calibrate');
  await until(page, (s) => s.quantize.quantized, 'calibration');

  await clickItem(page, 'QAT');
  await waitFrames(page, 3);
  assert.equal((await state(page)).qat.running, false);
  await clickItem(page, 'Start');
  let s = await until(page, (x) => x.qat.running, 'QAT start');
  assert.equal(s.qat.state, 'qat');
  await waitFrames(page, 2);
  for (let i = 1; i <= 3; ++i) {
    await clickItem(page, 'Step');
    s = await until(page, (x) => x.qat.historyLength >= i, `step ${i}`);
  }
  assert.equal(s.qat.historyLength, 3, 'one record per single step');
  await clickItem(page, 'Play');
  // A minibatch step (batch 16) takes longer than a frame; the panel spreads it over frames one
  // layer pass at a time, so every frame stays within the budget while QAT plays.
  const run = await sampleFrames(page, (x) => x.qat.historyLength >= 20, { what: '20 QAT steps',
                                                                            phase: (x) => `QAT step ${x.qat.steps}` });
  await clickItem(page, 'Pause');
  s = await state(page);
  console.log(`QAT in the page: batch ${s.qat.batch}, a step's compute ${s.qat.stepMs.toFixed(1)} ms ` +
              `(slowest layer pass ${s.qat.worstPassMs.toFixed(1)} ms)`);
  assertFrameBudget(run, 'QAT');
  assert.equal(s.qat.playing, false);
  assert.ok(s.qat.historyLength >= 20);
  assert.ok(Number.isFinite(s.qat.last.loss) && s.qat.last.loss > 0, `loss ${s.qat.last.loss}`);
  assert.ok(s.qat.last.accuracy >= 0 && s.qat.last.accuracy <= 1);
  const steps = s.qat.historyLength;
  await waitFrames(page, 5);
  assert.equal((await state(page)).qat.historyLength, steps, 'paused: no more steps');
  await page.mouse.move(1, 1);
  await waitFrames(page, 2);
  await screenshot(page, 'qat.png');

  await clickItem(page, 'Finish');
  s = await until(page, (x) => !x.qat.running, 'finish');
  assert.equal(s.quantize.quantized, true, 'the QAT result is the quantized model');
  assert.deepEqual(errors, []);
  await context.close();
});
