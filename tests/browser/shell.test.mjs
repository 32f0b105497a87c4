// Browser tests of the playground shell: the page renders (non-blank canvas, no console errors),
// the Bits slider and the Calibrator combo work through real clicks located by the ImGui test
// hooks, the reported SQNR matches an independent recomputation in this file, HiDPI backing
// store, frame time. Screenshots go to QP_ARTIFACTS (see harness.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  startEnv, openApp, state, waitFrames, itemRect, clickItem, chooseCombo, screenshot, dropFile } from './harness.mjs';

let env;
before(async () => { env = await startEnv(); });
after(async () => { if (env) await env.close(); });

// Pixel statistics of a PNG screenshot, decoded by the page itself (no PNG library needed).
async function imageStats(page, png) {
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + b64;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width; c.height = img.height;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    const colors = new Set();
    let differ = 0;
    const [r0, g0, b0] = [d[0], d[1], d[2]];
    for (let i = 0; i < d.length; i += 4) {
      colors.add((d[i] >> 3) << 10 | (d[i + 1] >> 3) << 5 | (d[i + 2] >> 3));
      if (Math.abs(d[i] - r0) + Math.abs(d[i + 1] - g0) + Math.abs(d[i + 2] - b0) > 30) differ++;
    }
    return { width: c.width, height: c.height, colors: colors.size, differFraction: differ / (d.length / 4) };
  }, png.toString('base64'));
}

// Independent SQNR: quantize the page's tensor with the reported parameters using the ONNX
// QuantizeLinear formula in float32 (Math.fround), round half to even, saturate, dequantize.
function recomputeSqnr(values, q) {
  const roundHalfEven = (v) => {
    const f = Math.floor(v);
    const d = v - f;
    if (d > 0.5) return f + 1;
    if (d < 0.5) return f;
    return f % 2 === 0 ? f : f + 1;
  };
  const scale = Math.fround(q.scale);
  let sig = 0, err = 0, clipped = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    let r = roundHalfEven(Math.fround(x / scale));
    const lo = q.qmin - q.zeroPoint, hi = q.qmax - q.zeroPoint;
    if (r < lo) { r = lo; } else if (r > hi) { r = hi; }
    const y = Math.fround(r * scale);
    if (x < Math.fround(lo * scale) || x > Math.fround(hi * scale)) clipped++;
    sig += x * x;
    err += (x - y) * (x - y);
  }
  return { sqnrDb: 10 * Math.log10(sig / err), clippedFraction: clipped / values.length };
}

test('the page renders a non-blank ImGui canvas without console errors', async () => {
  const { page, context, errors, firstFrameMs } = await openApp(env);
  await waitFrames(page, 5);
  const s = await state(page);
  console.log(`# time to first frame ${firstFrameMs} ms (navigation start to qplay.ready)`);
  assert.ok(s.frame >= 5, `frame counter ${s.frame}`);
  assert.ok(s.items > 10, `test hooks saw ${s.items} labelled items; expected the explorer's widgets`);
  assert.equal(s.errorCount, 0, `app errors: ${s.lastError}`);
  const png = await page.screenshot();
  await screenshot(page, 'shell-dpr1.png');
  const st = await imageStats(page, png);
  // A blank or single-colour canvas has ~1 colour; the UI (text, histogram, widgets) has many
  // and covers a good part of the window.
  assert.ok(st.colors > 50, `only ${st.colors} distinct colours in the screenshot`);
  assert.ok(st.differFraction > 0.05, `only ${(st.differFraction * 100).toFixed(1)}% of pixels differ from the corner`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the Bits slider moves bits and SQNR rises about 6 dB per bit', async () => {
  const { page, context, errors } = await openApp(env);
  await waitFrames(page, 3);
  const values = Float32Array.from(await page.evaluate(() => Array.from(window.qplay.tensorValues())));
  const seen = new Map();
  // Click across the slider from left to right; bits must never decrease and must cover 2..8.
  let prev = 0;
  for (let i = 0; i <= 24; i++) {
    await clickItem(page, 'Bits', 0.01 + 0.98 * i / 24);
    const s = await state(page);
    const bits = s.explorer.bits;
    assert.ok(bits >= prev, `bits went from ${prev} to ${bits} while clicking further right`);
    prev = bits;
    if (!seen.has(bits)) seen.set(bits, s.explorer);
  }
  assert.deepEqual([...seen.keys()].sort((a, b) => a - b), [2, 3, 4, 5, 6, 7, 8]);
  let last = -Infinity;
  for (let b = 2; b <= 8; b++) {
    const e = seen.get(b);
    // The page's SQNR against this file's own float32 QuantizeLinear on the same values: the
    // same operations in the same precision, so only the double-precision summation order
    // differs (relative 1e-9 is far above that, far below any real bug).
    const mine = recomputeSqnr(values, e.qparams);
    assert.ok(Math.abs(mine.sqnrDb - e.metrics.sqnrDb) <= 1e-9 * Math.abs(mine.sqnrDb) + 1e-9,
              `bits ${b}: page SQNR ${e.metrics.sqnrDb} dB, recomputed ${mine.sqnrDb} dB`);
    assert.ok(Math.abs(mine.clippedFraction - e.metrics.clippedFraction) < 1e-12);
    assert.ok(e.metrics.sqnrDb > last, `SQNR did not rise from ${b - 1} to ${b} bits`);
    // Rounding noise of a uniform quantizer is step^2 / 12 and one more bit halves the step:
    // +20 log10(2) = 6.02 dB per bit once the step is small against the distribution's
    // spread (>= 5 bits here; the "max" calibrator on this tensor clips nothing). Band 5..7 dB
    // allows for the discrete distribution of values across grid cells.
    if (b >= 6) {
      const gain = e.metrics.sqnrDb - seen.get(b - 1).metrics.sqnrDb;
      assert.ok(gain > 5 && gain < 7, `SQNR gain from ${b - 1} to ${b} bits is ${gain.toFixed(2)} dB`);
    }
    last = e.metrics.sqnrDb;
  }
  // The curve drawn in the panel agrees with the per-bit results.
  const s = await state(page);
  for (let b = 2; b <= 8; b++) {
    assert.ok(Math.abs(s.explorer.sqnrByBits[b - 2] - seen.get(b).metrics.sqnrDb) < 1e-9);
  }
  assert.deepEqual(errors, []);
  await context.close();
});

test('the Calibrator combo changes the clipping threshold', async () => {
  const { page, context, errors } = await openApp(env);
  await waitFrames(page, 3);
  const before = await state(page);
  assert.equal(before.explorer.calibrator, 'max');
  const amaxMax = before.explorer.qparams.clipHi;
  for (const name of ['percentile', 'mse', 'entropy']) {
    await chooseCombo(page, 'Calibrator', name);
    const s = await state(page);
    assert.equal(s.explorer.calibrator, name);
    assert.equal(s.explorer.error, null, `calibrator ${name}: ${s.explorer.error}`);
    // The tensor has 0.1% outliers at 6..12 sigma: every histogram method clips below the max.
    assert.ok(s.explorer.qparams.clipHi < amaxMax,
              `${name}: clip ${s.explorer.qparams.clipHi} not below max's ${amaxMax}`);
    assert.ok(s.explorer.metrics.clippedFraction > 0, `${name} clips nothing`);
    await page.mouse.move(1, 1);  // no tooltip in the picture
    await waitFrames(page, 2);
    await screenshot(page, `calibrator-${name}.png`);
    if (name === 'percentile') {
      // Its slider appears; at the left end (the 99th percentile) the clip value drops:
      // 1% of the values lie above the 99th percentile, 0.01% above the 99.99th.
      const at9999 = s.explorer.thresholds.percentile;
      await clickItem(page, 'Percentile', 0.005);
      const low = (await state(page)).explorer;
      assert.ok(Math.abs(low.percentile - 99) < 0.01, `percentile ${low.percentile}`);
      assert.ok(low.thresholds.percentile < at9999, `p99 ${low.thresholds.percentile} vs p99.99 ${at9999}`);
      // Independent check: about 1% of |x| lies above the p99 amax (the calibrator returns a
      // bin's upper edge, so at most one 2048th of the range more than the exact quantile).
      const values = await page.evaluate(() => Array.from(window.qplay.tensorValues()));
      const above = values.filter((v) => Math.abs(v) > low.thresholds.percentile).length / values.length;
      assert.ok(above <= 0.01 && above > 0.005, `fraction of |x| above p99 amax: ${above}`);
    }
  }
  assert.deepEqual(errors, []);
  await context.close();
});

test('dragging on the histogram sets a manual clip value; clipping error grows as it shrinks', async () => {
  const { page, context, errors } = await openApp(env);
  await waitFrames(page, 3);
  const before = (await state(page)).explorer;
  const r = await itemRect(page, 'histogram');
  const y = r.y + r.h * 0.6;
  // Drag from the centre towards the right edge, stopping at 70% of the width.
  await page.mouse.move(r.x + r.w * 0.5, y);
  await page.mouse.down();
  for (let f = 0.52; f <= 0.7001; f += 0.06) {
    await page.mouse.move(r.x + r.w * f, y);
    await waitFrames(page, 1);
  }
  const during = (await state(page)).explorer;
  await page.mouse.up();
  await waitFrames(page, 3);
  const wide = (await state(page)).explorer;
  assert.equal(wide.calibrator, 'manual');
  // The plot maps [histogram.lo, histogram.hi] onto the rectangle minus a 10 CSS px margin on
  // each side: |x| at 70% of the width is within 2% of the range of that linear map.
  const span = before.histogram.hi - before.histogram.lo;
  const expected = Math.abs(before.histogram.lo + 0.7 * span);
  assert.ok(Math.abs(wide.manualAmax - expected) < 0.02 * span,
            `manual clip ${wide.manualAmax}, expected about ${expected}`);
  assert.ok(Math.abs(wide.qparams.clipHi - wide.manualAmax) <= wide.qparams.scale,
            'the representable range does not follow the dragged clip value');
  assert.equal(during.calibrator, 'manual', 'the study did not follow the drag live');
  // Now a small clip value (15% of the way from 0 to the right edge): more values clip and
  // clipping dominates the error.
  const r2 = await itemRect(page, 'histogram');
  const s2 = (await state(page)).explorer;
  const zeroF = (0 - s2.histogram.lo) / (s2.histogram.hi - s2.histogram.lo);
  await page.mouse.move(r2.x + r2.w * 0.6, y);
  await page.mouse.down();
  await page.mouse.move(r2.x + r2.w * (zeroF + 0.1 * (1 - zeroF)), y, { steps: 4 });
  await waitFrames(page, 2);
  await page.mouse.up();
  await waitFrames(page, 3);
  const narrow = (await state(page)).explorer;
  assert.ok(narrow.manualAmax < wide.manualAmax);
  assert.ok(narrow.metrics.clippedFraction > wide.metrics.clippedFraction);
  assert.ok(narrow.metrics.clipMse > narrow.metrics.roundMse,
            `clip MSE ${narrow.metrics.clipMse} vs round MSE ${narrow.metrics.roundMse}`);
  await page.mouse.move(1, 1);
  await waitFrames(page, 2);
  await screenshot(page, 'manual-clip.png');
  assert.deepEqual(errors, []);
  await context.close();
});

test('Affine on one-sided activations: zero point and range follow the data', async () => {
  const { page, context, errors } = await openApp(env);
  await waitFrames(page, 3);
  await chooseCombo(page, 'Distribution', 'ReLU activations (one-sided)');
  await clickItem(page, 'Affine');
  const s = await state(page);
  const e = s.explorer;
  assert.equal(e.scheme, 'affine');
  assert.equal(e.data.min, 0);
  // Unsigned 8-bit affine over [0, max]: zero is the lowest code and exactly representable.
  assert.equal(e.qparams.signed, false);
  assert.equal(e.qparams.qmin, 0);
  assert.equal(e.qparams.qmax, 255);
  assert.equal(e.qparams.zeroPoint, 0);
  assert.equal(e.qparams.clipLo, 0);
  const values = Float32Array.from(await page.evaluate(() => Array.from(window.qplay.tensorValues())));
  assert.equal(values.length, e.numel);
  const mine = recomputeSqnr(values, e.qparams);
  assert.ok(Math.abs(mine.sqnrDb - e.metrics.sqnrDb) <= 1e-9 * Math.abs(mine.sqnrDb),
            `page SQNR ${e.metrics.sqnrDb} dB, recomputed ${mine.sqnrDb} dB`);
  // Back to symmetric: one-sided data stays unsigned (pytorch-quantization's rule).
  await clickItem(page, 'Symmetric');
  const sym = (await state(page)).explorer;
  assert.equal(sym.scheme, 'symmetric');
  assert.equal(sym.qparams.signed, false);
  await page.mouse.move(1, 1);
  await waitFrames(page, 2);
  await screenshot(page, 'relu-affine.png');
  assert.deepEqual(errors, []);
  await context.close();
});

test('HiDPI: backing store is CSS size x devicePixelRatio and clicks still hit', async () => {
  const { page, context, errors } = await openApp(env, { deviceScaleFactor: 2 });
  await waitFrames(page, 3);
  const dims = await page.evaluate(() => {
    const c = document.getElementById('canvas');
    return { w: c.width, h: c.height, cssW: c.clientWidth, cssH: c.clientHeight, dpr: devicePixelRatio };
  });
  assert.equal(dims.dpr, 2);
  assert.equal(dims.w, 2 * dims.cssW);
  assert.equal(dims.h, 2 * dims.cssH);
  const s = await state(page);
  assert.equal(s.dpr, 2);
  assert.equal(s.canvas.w, dims.w);
  await clickItem(page, 'Bits', 0.995);
  assert.equal((await state(page)).explorer.bits, 8);
  await clickItem(page, 'Bits', 0.005);
  assert.equal((await state(page)).explorer.bits, 2);
  await page.mouse.move(1, 1);
  await waitFrames(page, 2);
  await screenshot(page, 'shell-dpr2.png');
  // Full-resolution detail (2x pixels) to check that text and lines are crisp.
  await screenshot(page, 'shell-dpr2-detail.png', { clip: { x: 0, y: 0, width: 560, height: 300 } });
  // Resizing the window resizes the backing store with it.
  await page.setViewportSize({ width: 900, height: 640 });
  await waitFrames(page, 3);
  const after = await page.evaluate(() => ({ w: document.getElementById('canvas').width }));
  assert.equal(after.w, 1800);
  assert.deepEqual(errors, []);
  await context.close();
});

// The budget is the app's own work per frame (input, UI build, the explorer's recomputation when
// a control moves): state().recentFrameMs is measured in wasm around the whole frame callback
// minus nothing, and uiMs is the UI part. The end-to-end rAF interval additionally includes
// SwiftShader rasterising the canvas on the CPU, which on a loaded 2-core CI machine is outside
// the app's control; it is reported, not asserted.
test('frame time stays at or under 50 ms while the slider is dragged', async () => {
  const { page, context, errors } = await openApp(env);
  await waitFrames(page, 5);
  const r = await itemRect(page, 'Bits');
  await page.evaluate(() => {
    window.__intervals = [];
    let last = performance.now();
    const tick = (t) => { window.__intervals.push(t - last); last = t; if (window.__intervals.length < 400) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  });
  await page.mouse.move(r.x + 2, r.y + r.h / 2);
  await page.mouse.down();
  const bitsSeen = new Set();
  for (let i = 0; i <= 30; i++) {
    const f = i % 2 ? i / 30 : 1 - i / 30;
    await page.mouse.move(r.x + 2 + (r.w - 4) * f, r.y + r.h / 2);
    await waitFrames(page, 1);
    bitsSeen.add((await state(page)).explorer.bits);
  }
  await page.mouse.up();
  const intervals = await page.evaluate(() => window.__intervals.slice(2));
  const s = await state(page);
  const uiMs = s.recentUiMs;
  const pct = (a, p) => { const b = [...a].sort((x, y) => x - y); return b[Math.min(b.length - 1, Math.floor(b.length * p))]; };
  console.log(`# drag: ${intervals.length} rAF intervals, median ${pct(intervals, 0.5).toFixed(1)} ms, ` +
              `p95 ${pct(intervals, 0.95).toFixed(1)} ms; app UI p95 ${pct(uiMs, 0.95).toFixed(2)} ms; ` +
              `app frame (UI + WebGL submit) p95 ${pct(s.recentFrameMs, 0.95).toFixed(1)} ms`);
  assert.ok(bitsSeen.size >= 5, `the drag changed bits through only ${[...bitsSeen]}`);
  assert.ok(pct(uiMs, 0.95) <= 50, `p95 UI frame time ${pct(uiMs, 0.95)} ms`);
  assert.deepEqual(errors, []);
  await context.close();
});

// Ctrl+<letter> pressed and released inside one task of the page, so that no frame can run
// between the key's down and up (what a quick tap during a slow frame looks like to the app).
async function ctrlTapInOneTask(page, letter) {
  await page.evaluate((l) => {
    const init = { key: l.toLowerCase(), code: `Key${l}`, keyCode: l.charCodeAt(0), ctrlKey: true, bubbles: true };
    const ctrl = { key: 'Control', code: 'ControlLeft', keyCode: 17, bubbles: true };
    window.dispatchEvent(new KeyboardEvent('keydown', { ...ctrl, ctrlKey: true }));
    window.dispatchEvent(new KeyboardEvent('keydown', init));
    window.dispatchEvent(new KeyboardEvent('keyup', init));
    window.dispatchEvent(new KeyboardEvent('keyup', ctrl));
  }, letter);
  await waitFrames(page, 3);
}

// Clipboard bridge, end to end through the system clipboard: ImGui's Ctrl+C reaches
// navigator.clipboard, and the browser's paste event on Ctrl+V supplies ImGui's paste.
test('copy and paste between an ImGui text field and the browser clipboard', async () => {
  const { page, context, errors } = await openApp(env);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: env.url });
  await waitFrames(page, 3);
  // Activate the Seed field (left part of the InputInt group), select all, copy: both shortcuts
  // tapped between two frames, which ImGui 1.86 alone would miss (web/main.cc holds the release).
  await clickItem(page, 'Seed', 0.1);
  await ctrlTapInOneTask(page, 'A');
  await ctrlTapInOneTask(page, 'C');
  assert.equal(await page.evaluate(() => Module.qpClipboard), '1');
  const system = await page.evaluate(() => navigator.clipboard.readText().catch((e) => `error: ${e.message}`));
  assert.equal(system, '1', 'navigator.clipboard did not receive the copied text');
  // Put "42" on the system clipboard; Ctrl+V in the still-active field makes the browser fire
  // its paste event, whose text ImGui's paste then reads.
  await page.evaluate(() => navigator.clipboard.writeText('42'));
  await page.keyboard.press('Control+A');
  await waitFrames(page, 2);
  await page.keyboard.press('Control+V');
  await waitFrames(page, 2);
  await page.keyboard.press('Enter');
  await waitFrames(page, 3);
  assert.equal((await state(page)).explorer.seed, 42);
  assert.deepEqual(errors, []);
  await context.close();
});

// A minimal .npy v1.0 writer for float32 C-order arrays (numpy.lib.format), written here so the
// page's reader is checked against the format, not against our own writer.
function npyFloat32(values, shape) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const buf = new Uint8Array(10 + header.length + values.length * 4);
  buf.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(buf.buffer).setUint16(8, header.length, true);
  buf.set(new TextEncoder().encode(header), 10);
  new Uint8Array(buf.buffer, 10 + header.length).set(new Uint8Array(new Float32Array(values).buffer));
  return buf;
}

test('dropping a .npy file studies its values; a corrupt file shows an error and changes nothing', async () => {
  const { page, context, errors } = await openApp(env);
  await waitFrames(page, 3);
  // 3 x 100 values: a ramp in [-1, 0.98] plus one outlier at 5.
  const values = Array.from({ length: 300 }, (_, i) => (i === 123 ? 5 : -1 + (i % 100) * 0.02));
  await dropFile(page, 'ramp.npy', npyFloat32(values, [3, 100]));
  await page.waitForFunction(() => window.qplay.state().filesLoaded === 1, null, { timeout: 20000 });
  await waitFrames(page, 2);
  let s = await state(page);
  assert.equal(s.errorCount, 0, s.lastError);
  assert.equal(s.explorer.source, 'file');
  assert.match(s.explorer.distribution, /ramp\.npy \[3, 100\]/);
  assert.equal(s.explorer.numel, 300);
  assert.equal(s.explorer.data.min, Math.fround(-1));
  assert.equal(s.explorer.data.max, 5);
  assert.equal(s.explorer.thresholds.max, 5);  // the max calibrator's amax is max |x|
  const page_values = await page.evaluate(() => Array.from(window.qplay.tensorValues()));
  assert.deepEqual(page_values, values.map(Math.fround));
  await screenshot(page, 'dropped-npy.png');

  // Truncated data: the reader must refuse it, the Errors panel names the file, and the
  // session keeps the previous tensor.
  const bad = npyFloat32(values, [3, 100]).slice(0, 500);
  await dropFile(page, 'broken.npy', bad);
  await page.waitForFunction(() => window.qplay.state().errorCount >= 1, null, { timeout: 20000 });
  await waitFrames(page, 2);
  s = await state(page);
  assert.match(s.lastError, /broken\.npy/);
  assert.equal(s.explorer.numel, 300);
  assert.match(s.explorer.distribution, /ramp\.npy/);
  assert.ok(s.explorer.metrics !== null, 'the study of the previous tensor is gone');
  await page.mouse.move(1, 1);
  await screenshot(page, 'dropped-corrupt.png');
  // Still interactive.
  await clickItem(page, 'Bits', 0.005);
  assert.equal((await state(page)).explorer.bits, 2);
  assert.deepEqual(errors, []);
  await context.close();
});

test('Model panel: built-in models and a dropped ONNX file show their layers; a corrupt file keeps the model', async () => {
  const { page, context, errors } = await openApp(env);
  await waitFrames(page, 3);
  await clickItem(page, 'Model');
  let m = (await state(page)).model;
  assert.equal(m.loaded, true);
  assert.equal(m.demo, 'cnn');
  // The built-in CNN: 3 x (Conv + BatchNorm + ReLU + MaxPool), Flatten, Gemm, ReLU, Gemm
  // (core/session/demo_models.h).
  assert.equal(m.ops.filter((o) => o === 'Conv').length, 3);
  assert.equal(m.ops.filter((o) => o === 'Gemm').length, 2);
  await page.mouse.move(1, 1);
  await waitFrames(page, 2);
  await screenshot(page, 'model-cnn.png');
  await clickItem(page, 'mlp');
  m = (await state(page)).model;
  assert.equal(m.demo, 'mlp');
  assert.equal(m.selected, 'demo:mlp');
  // A model loaded through the JS API selects its button too.
  await page.evaluate(() => window.qplay.loadBuiltinModel('cnn'));
  await waitFrames(page, 2);
  assert.equal((await state(page)).model.selected, 'trained:cnn');
  await page.evaluate(() => window.qplay.loadDemo('mlp', 3));
  await waitFrames(page, 2);
  m = (await state(page)).model;
  assert.equal(m.selected, 'demo:mlp');
  assert.equal(m.ops.filter((o) => o === 'Gemm').length, 3);
  assert.equal(m.ops.includes('Conv'), false);
  // A model from the ONNX conformance suite (one Relu node), dropped on the page.
  const relu = readFileSync('/usr/share/libonnx-testdata/data/node/test_relu/model.onnx');
  await dropFile(page, 'test_relu.onnx', relu);
  await page.waitForFunction(() => window.qplay.state().model.name === 'test_relu.onnx', null, { timeout: 20000 });
  m = (await state(page)).model;
  assert.deepEqual(m.ops, ['Relu']);
  assert.equal(m.selected, '', 'a dropped file selects no built-in button');
  assert.equal(m.params, 0);
  // Garbage with an .onnx name: an error naming the file, and the Relu model stays loaded.
  await dropFile(page, 'garbage.onnx', new Uint8Array([8, 7, 0xff, 0xff, 0xff, 1, 2, 3]));
  await page.waitForFunction(() => window.qplay.state().errorCount >= 1, null, { timeout: 20000 });
  const s = await state(page);
  assert.match(s.lastError, /garbage\.onnx/);
  assert.equal(s.model.name, 'test_relu.onnx');
  assert.deepEqual(s.model.ops, ['Relu']);
  assert.deepEqual(errors, []);
  await context.close();
});
