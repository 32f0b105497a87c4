// Shared by the int8 vs onnxruntime-node tests: onnxruntime-node from tests/node_modules, the native
// qp_int8_run tool (QP_NATIVE_BUILD, default build/native) and the seeded inputs both engines get.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '..', '..');
export const ort = createRequire(path.join(root, 'tests', 'package.json'))('onnxruntime-node');
export const nativeBuild = process.env.QP_NATIVE_BUILD || path.join(root, 'build', 'native');
export const tool = path.join(nativeBuild, 'tests', 'int8', 'qp_int8_run');

// Seeded uniform [0, 1) input (the calibration range of make_models.py), the same for both engines.
export function input(n, seed) {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; ++i) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = s / 4294967296; }
  return a;
}
