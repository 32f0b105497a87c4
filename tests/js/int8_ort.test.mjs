// The int8 executor (tests/int8 qp_int8_run, every backend of the native build) against
// onnxruntime-node (graphOptimizationLevel 'all', which runs QDQ models on its int8 kernels) on the
// ORT-style QDQ benchmark models from scripts/bench/make_models.py, uint8 and int8 activations:
// every output within one output quantum (the output DequantizeLinear's scale). Also prints the
// scalar int8 result's max difference from our fp32 executor on the float model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root, ort, tool, input } from './int8_tool.mjs';

const work = fs.mkdtempSync(path.join(process.env.QP_WORK_DIR || os.tmpdir(), 'int8-ort-'));

function runOurs(model, inFile, backend) {
  const outFile = path.join(work, `${path.basename(model)}.${backend}.out`);
  const stdout = execFileSync(tool, [model, inFile, outFile, backend], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const m = /quantum (\S+) (\S+)/.exec(stdout);
  const b = fs.readFileSync(outFile);
  return { out: new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4), quantum: m ? Number(m[2]) : NaN };
}

test('int8 executor within one output quantum of onnxruntime-node on QDQ models', async () => {
  assert.ok(fs.existsSync(tool), `${tool} not found; build target qp_int8_run in the native tree`);
  execFileSync('/usr/bin/python3', [path.join(root, 'scripts', 'bench', 'make_models.py'), '--out', work]);
  const cases = [
    { model: 'mlp', shape: [3, 784] },          // Gemm + folded Relu, dynamic batch
    { model: 'cnn', shape: [2, 1, 28, 28] },    // Conv, MaxPool, Flatten of NHWC data into Gemm
    { model: 'mbv2', shape: [1, 3, 224, 224] }, // depthwise, residual Add, Clip(0, 6), global pool
  ];
  const backends = ['scalar', 'xnnpack'];
  for (const c of cases) {
    const x = input(c.shape.reduce((a, b) => a * b), 7);
    const inFile = path.join(work, `${c.model}.in.f32`);
    fs.writeFileSync(inFile, Buffer.from(x.buffer));
    const fp32 = runOurs(path.join(work, `${c.model}.fp32.onnx`), inFile, 'fp32').out;
    for (const kind of ['qdq_u8', 'qdq_s8']) {
      const file = path.join(work, `${c.model}.${kind}.onnx`);
      const s = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all' });
      const ref = (await s.run({ input: new ort.Tensor('float32', x, c.shape) })).output.data;
      let scalar = null;
      for (const backend of backends) {
        const { out, quantum } = runOurs(file, inFile, backend);
        assert.ok(quantum > 0, `${file}: output quantum not found`);
        assert.equal(out.length, ref.length, `${c.model} ${kind}: output length`);
        let worst = 0;
        for (let i = 0; i < ref.length; ++i) {
          const d = Math.abs(out[i] - ref[i]) / quantum;
          worst = Math.max(worst, d);
          // Both engines round every layer to the same grid but with different arithmetic (ORT's
          // MLAS requantizes in its own fp32 order, our kernels follow XNNPACK's), so a value
          // that lands on a rounding tie may move by one step; more than one is a real error.
          // The 1e-3 absorbs the float representation of k * quantum.
          assert.ok(d <= 1 + 1e-3, `${c.model} ${kind} ${backend} output ${i}: ours ${out[i]} vs ORT ${ref[i]} (${d} quanta)`);
        }
        if (scalar === null) {
          scalar = out;
          let fd = 0;
          for (let i = 0; i < out.length; ++i) fd = Math.max(fd, Math.abs(out[i] - fp32[i]));
          console.log(`[int8_ort] ${c.model}.${kind}: max |int8 - ORT| = ${worst.toFixed(3)} quanta (${backend}); ` +
                      `max |int8 scalar - our fp32 on the float model| = ${fd.toExponential(3)} (${(fd / quantum).toFixed(1)} quanta)`);
        } else {
          console.log(`[int8_ort] ${c.model}.${kind}: max |int8 - ORT| = ${worst.toFixed(3)} quanta (${backend})`);
          for (let i = 0; i < out.length; ++i) {
            assert.ok(Object.is(out[i], scalar[i]), `${c.model} ${kind}: ${backend} differs from scalar at ${i}`);
          }
        }
      }
    }
  }
});
