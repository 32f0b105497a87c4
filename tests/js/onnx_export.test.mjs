// Exported float models (qp_onnx_tool, from tests/onnx/test_models.cc) must pass Debian onnx 1.12's
// checker with full_check and run in onnxruntime-node, with graph optimizations 'disabled' and
// 'all', giving our executor's outputs within 1e-5 relative.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const require = createRequire(path.join(root, 'tests', 'package.json'));
const ort = require('onnxruntime-node');

const nativeBuild = process.env.QP_NATIVE_BUILD || path.join(root, 'build', 'native');
const tool = path.join(nativeBuild, 'tests', 'onnx', 'qp_onnx_tool');
const work = fs.mkdtempSync(path.join(process.env.QP_WORK_DIR || os.tmpdir(), 'onnx-export-'));

function readF32(file) {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

test('qp_onnx_tool exists in the native build', () => {
  assert.ok(fs.existsSync(tool), `${tool} not found; build the native tree (QP_NATIVE_BUILD)`);
});

test('exported models pass the onnx checker and match onnxruntime-node', async () => {
  execFileSync(tool, [work], { stdio: 'inherit' });
  const manifest = JSON.parse(fs.readFileSync(path.join(work, 'manifest.json'), 'utf8'));
  assert.ok(manifest.models.length >= 3);
  for (const m of manifest.models) {
    const model = path.join(work, `${m.name}.onnx`);
    // Our own files only (onnx 1.12's external-data handling must not see untrusted models).
    execFileSync('/usr/bin/python3', ['-c',
      'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)', model]);
    const input = new ort.Tensor('float32', readF32(path.join(work, `${m.name}.input.bin`)), m.input_shape);
    for (const level of ['disabled', 'all']) {
      const session = await ort.InferenceSession.create(model, {
        graphOptimizationLevel: level, executionProviders: ['cpu'], intraOpNumThreads: 1 });
      const result = await session.run({ [m.input]: input });
      m.outputs.forEach((o, i) => {
        const ours = readF32(path.join(work, `${m.name}.output${i}.bin`));
        const theirs = result[o.name];
        assert.deepEqual(Array.from(theirs.dims), o.shape, `${m.name} ${o.name} shape (${level})`);
        // Both sides are float32 with differently ordered sums (ORT's MLAS GEMM/conv vs our loops):
        // the per-element error is a few ulp of the largest partial sums, so 1e-5 relative to
        // max(|ref|, 1) holds with a wide margin while any real semantic difference is far larger.
        let worst = 0;
        for (let k = 0; k < ours.length; ++k) {
          const err = Math.abs(ours[k] - theirs.data[k]) / Math.max(Math.abs(theirs.data[k]), 1);
          worst = Math.max(worst, err);
        }
        assert.ok(worst <= 1e-5, `${m.name} output ${o.name} (${level}): worst relative error ${worst}`);
      });
    }
  }
});
