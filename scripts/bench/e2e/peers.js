// End-to-end latency of the peer engines in the browser, one thread, on the files written by
// scripts/bench/make_models.py: onnxruntime-web (wasm EP, fp32 and QDQ u8/s8) and
// tfjs-backend-wasm (fp32, the same weights rebuilt from <model>.layers.json). Loaded by page.html;
// run_e2e.mjs drives it. Each measurement: warm-up runs, then the median of N timed runs, every run
// including reading the output back, so engines that compute lazily are timed fully.
/* global ort, tf */

// Deterministic input in [0, 1) (the same for every engine).
function input(n) {
  const a = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; ++i) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; a[i] = (s >>> 8) / 16777216; }
  return a;
}

async function timeIt(fn, warmup, runs) {
  for (let i = 0; i < warmup; ++i) await fn();
  const t = [];
  for (let i = 0; i < runs; ++i) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

async function benchOrt(model, variant, shape, warmup, runs) {
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.simd = true;
  ort.env.wasm.wasmPaths = '/ort/';
  const session = await ort.InferenceSession.create(`/models/${model}.${variant}.onnx`, {
    executionProviders: ['wasm'], graphOptimizationLevel: 'all', executionMode: 'sequential' });
  const x = new ort.Tensor('float32', input(shape.reduce((a, b) => a * b)), shape);
  const name = session.inputNames[0];
  const ms = await timeIt(async () => {
    const out = await session.run({ [name]: x });
    return out[session.outputNames[0]].data[0];
  }, warmup, runs);
  await session.release();
  return ms;
}

let tfReady = null;
async function initTf() {
  if (!tfReady) {
    tfReady = (async () => {
      tf.wasm.setWasmPaths('/tfjs/');
      tf.wasm.setThreadsCount(1);
      await tf.setBackend('wasm');
      await tf.ready();
    })();
  }
  return tfReady;
}

// Builds the network of <model>.layers.json with tfjs fused ops (NHWC, weights as HWIO).
async function buildTf(model) {
  const desc = await (await fetch(`/models/${model}.layers.json`)).json();
  const blob = new Float32Array(await (await fetch(`/models/${model}.weights.bin`)).arrayBuffer());
  const slice = (w) => blob.subarray(w.offset, w.offset + w.shape.reduce((a, b) => a * b));
  const layers = desc.layers.map((L) => {
    const out = { ...L };
    if (L.op === 'Conv') {
      const [co, cig, k] = L.w.shape;
      const w = tf.tensor4d(slice(L.w), [co, cig, k, k]);
      if (L.groups > 1) {
        // Depthwise: ONNX [C,1,k,k] -> tfjs [k,k,C,1].
        out.wt = tf.keep(tf.transpose(w, [2, 3, 0, 1]));
      } else {
        out.wt = tf.keep(tf.transpose(w, [2, 3, 1, 0]));  // OIHW -> HWIO
      }
      w.dispose();
      out.bt = tf.keep(tf.tensor1d(slice(L.b)));
    } else if (L.op === 'Gemm') {
      const [co, ci] = L.w.shape;
      const w = tf.tensor2d(slice(L.w), [co, ci]);
      out.wt = tf.keep(tf.transpose(w));
      w.dispose();
      out.bt = tf.keep(tf.tensor1d(slice(L.b)));
    }
    return out;
  });
  const act = (a) => (a === 'relu' ? 'relu' : a === 'relu6' ? 'relu6' : 'linear');
  return (x) => tf.tidy(() => {
    const env = { input: x.rank === 4 ? tf.transpose(x, [0, 2, 3, 1]) : x };  // NCHW -> NHWC
    for (const L of layers) {
      const a = env[L.inputs[0]];
      let y;
      if (L.op === 'Conv') {
        const pad = L.pad === 0 ? 'valid' : [[0, 0], [L.pad, L.pad], [L.pad, L.pad], [0, 0]];
        const args = { x: a, filter: L.wt, strides: L.stride, pad, bias: L.bt, activation: act(L.act) };
        y = L.groups > 1 ? tf.fused.depthwiseConv2d(args) : tf.fused.conv2d(args);
      } else if (L.op === 'Gemm') {
        y = tf.fused.matMul({ a, b: L.wt, bias: L.bt, activation: act(L.act) });
      } else if (L.op === 'MaxPool') {
        y = tf.maxPool(a, L.k, L.k, 'valid');
      } else if (L.op === 'GlobalAveragePool') {
        y = tf.mean(a, [1, 2], true);
      } else if (L.op === 'Flatten') {
        // Match ONNX's NCHW flatten order so the Gemm weights line up.
        y = a.rank === 4 ? tf.reshape(tf.transpose(a, [0, 3, 1, 2]), [a.shape[0], -1]) : a;
      } else if (L.op === 'Add') {
        y = tf.add(a, env[L.inputs[1]]);
      }
      env[L.output] = y;
    }
    return env[desc.output];
  });
}

async function benchTf(model, shape, warmup, runs) {
  await initTf();
  const net = await buildTf(model);
  const x = tf.tensor(input(shape.reduce((a, b) => a * b)), shape);
  const ms = await timeIt(async () => {
    const y = net(x);
    const d = await y.data();
    y.dispose();
    return d[0];
  }, warmup, runs);
  x.dispose();
  return ms;
}

// Our engine (qp_e2e.js, built from scripts/bench/e2e/qp_e2e.cc): mode 0 = fp32 Executor on the
// float file, 1 = Int8Executor on the QDQ file. Each run copies the float input into the module's
// memory, runs and reads the first output value, like the peers.
let qpModule = null;
async function benchQp(model, variant, mode, shape, warmup, runs) {
  if (!qpModule) qpModule = await QpE2E();  // eslint-disable-line no-undef
  const M = qpModule;
  const bytes = new Uint8Array(await (await fetch(`/models/${model}.${variant}.onnx`)).arrayBuffer());
  const ptr = M._malloc(bytes.length);
  M.HEAPU8.set(bytes, ptr);
  const h = M._qp_e2e_load(ptr, bytes.length, mode);
  M._free(ptr);
  if (h < 0) throw new Error(M.UTF8ToString(M._qp_e2e_error()));
  const x = input(shape.reduce((a, b) => a * b));
  const ms = await timeIt(async () => {
    const buf = M._qp_e2e_input(h, shape[0]);
    M.HEAPF32.set(x, buf >> 2);
    if (M._qp_e2e_run(h, shape[0]) !== 0) throw new Error(M.UTF8ToString(M._qp_e2e_error()));
    return M._qp_e2e_output0(h);
  }, warmup, runs);
  window.qpSummary = M.UTF8ToString(M._qp_e2e_summary(h));
  return ms;
}

window.runPeer = async ({ engine, model, variant, shape, warmup, runs }) => {
  if (engine === 'qp') return benchQp(model, variant, variant === 'fp32' ? 0 : 1, shape, warmup, runs);
  if (engine === 'ort') return benchOrt(model, variant, shape, warmup, runs);
  if (engine === 'tfjs') return benchTf(model, shape, warmup, runs);
  throw new Error(`unknown engine ${engine}`);
};
window.peersReady = true;
