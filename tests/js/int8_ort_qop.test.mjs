// QOperator models as ONNX Runtime's quantizer writes them, with its contrib QLinearAdd and
// QLinearConcat (com.microsoft; scripts/bench/make_qop_models.py), on the int8 executor
// (tests/int8 qp_int8_run, every backend of the native build) against onnxruntime-node
// (graphOptimizationLevel 'all'): every output within one output quantum, no node on the fp32
// reference, and the same bits on every backend. Also the bad zero points of that script: a clear
// error naming the node or tensor and the rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root, ort, tool, input } from './int8_tool.mjs';

const work = fs.mkdtempSync(path.join(process.env.QP_WORK_DIR || os.tmpdir(), 'int8-ort-qop-'));

function runOurs(model, inFile, backend) {
  const outFile = path.join(work, `${path.basename(model)}.${backend}.out`);
  const r = spawnSync(tool, [model, inFile, outFile, backend], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, outFile };
}

test('QOperator QLinearAdd / QLinearConcat: int8 kernels within one quantum of onnxruntime-node, no fp32 fallback', async () => {
  assert.ok(fs.existsSync(tool), `${tool} not found; build target qp_int8_run in the native tree`);
  execFileSync('/usr/bin/python3', [path.join(root, 'scripts', 'bench', 'make_qop_models.py'), '--out', work]);
  const shape = [3, 3, 12, 12];
  const x = input(shape.reduce((a, b) => a * b), 11);
  const inFile = path.join(work, 'qop.in.f32');
  fs.writeFileSync(inFile, Buffer.from(x.buffer));
  for (const kind of ['u8', 's8']) {
    const file = path.join(work, `qop_res.${kind}.onnx`);
    const s = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all' });
    const ref = await s.run({ input: new ort.Tensor('float32', x, shape) });
    const names = ['output', 'output2'];
    let first = null;
    for (const backend of ['scalar', 'xnnpack']) {
      const r = runOurs(file, inFile, backend);
      assert.equal(r.status, 0, `${kind} ${backend}: ${r.stderr}`);
      // "xnnpack: 8 int8 kernel steps, 0 fp32 reference nodes, ..." (Int8Executor::Summary)
      const m = /(\d+) int8 kernel steps, (\d+) fp32 reference nodes/.exec(r.stderr);
      assert.ok(m, `${kind} ${backend}: no summary in ${r.stderr}`);
      assert.equal(Number(m[2]), 0, `${kind} ${backend}: nodes on the fp32 reference:\n${r.stderr}`);
      // 5 QLinearConv + 1 QLinearAdd + 2 QLinearConcat.
      assert.equal(Number(m[1]), 8, `${kind} ${backend}: int8 kernel steps:\n${r.stderr}`);
      const quanta = Object.fromEntries([...r.stdout.matchAll(/quantum (\S+) (\S+)/g)].map((q) => [q[1], Number(q[2])]));
      const b = fs.readFileSync(r.outFile);
      const ours = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
      let off = 0;
      const report = [];
      for (const name of names) {
        const want = ref[name].data;
        const q = quanta[name];
        assert.ok(q > 0, `${name}: output quantum not found`);
        let worst = 0, differ = 0;
        for (let i = 0; i < want.length; ++i) {
          const d = Math.abs(ours[off + i] - want[i]) / q;
          worst = Math.max(worst, d);
          if (d > 0.5) ++differ;
          // ORT's QLinearAdd (MLAS, float) and QLinearConcat (a dequantize-quantize lookup table)
          // round in another order than XNNPACK's fixed-point add and our fp32 requantization, so a
          // value on a rounding tie may move by one step; two steps is a real error. The 1e-3
          // absorbs the float representation of k * quantum.
          assert.ok(d <= 1 + 1e-3, `${kind} ${backend} ${name}[${i}]: ours ${ours[off + i]} vs ORT ${want[i]} (${d} quanta)`);
        }
        off += want.length;
        report.push(`${name}: max ${worst.toFixed(3)} quanta, ${differ}/${want.length} off by one`);
      }
      assert.equal(off, ours.length, `${kind} ${backend}: output length`);
      console.log(`[int8_ort_qop] qop_res.${kind} ${backend}: ${report.join('; ')}`);
      if (first === null) {
        first = ours;
      } else {
        for (let i = 0; i < ours.length; ++i) assert.ok(Object.is(ours[i], first[i]), `${kind}: ${backend} differs from scalar at ${i}`);
      }
    }
  }
});

test('QOperator model with a zero point out of range for its type: a clear error', () => {
  assert.ok(fs.existsSync(tool), `${tool} not found; build target qp_int8_run in the native tree`);
  if (!fs.existsSync(path.join(work, 'bad_zp_int32.onnx'))) {
    execFileSync('/usr/bin/python3', [path.join(root, 'scripts', 'bench', 'make_qop_models.py'), '--out', work]);
  }
  const inFile = path.join(work, 'bad.in.f32');
  fs.writeFileSync(inFile, Buffer.from(input(3 * 12 * 12, 3).buffer));
  const cases = [
    // An int32 zero point of 300 on the uint8 input QuantizeLinear.
    ['bad_zp_int32.onnx', /node 'QuantizeLinear_0' \(QuantizeLinear\): zero point 300 has dtype int32; an activation zero point must be uint8 \[0, 255\] or int8 \[-128, 127\]/],
    // A uint8 zero point whose stored value (int32_data) is 300.
    ['bad_zp_stored.onnx', /tensor 'x\.zp': value 300 at index 0 does not fit its type uint8 \[0, 255\]/],
  ];
  for (const [file, want] of cases) {
    for (const backend of ['scalar', 'xnnpack']) {
      const r = runOurs(path.join(work, file), inFile, backend);
      assert.equal(r.status, 1, `${file} ${backend}: exit ${r.status}, stderr ${r.stderr}`);
      assert.match(r.stderr, want, `${file} ${backend}`);
    }
  }
});
