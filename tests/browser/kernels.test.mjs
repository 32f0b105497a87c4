// The int8 kernel bit-exactness tests in headless Chromium: the web build of tests/kernels
// (target qp_kernel_tests_web) runs in a page through scripts/bench/run_wasm_in_chromium.mjs with a
// filter selecting every wasm SIMD128 variant against the scalar reference (the exhaustive "Long"
// sweeps excluded). Node runs the same tests in qp_tests; this checks the browser's V8 tier too.
// Env: QP_KERNEL_TESTS_WEB (the .js, default <repo>/build/wasm/tests/kernels/qp_kernel_tests_web.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './harness.mjs';

const js = path.resolve(process.env.QP_KERNEL_TESTS_WEB ||
                        path.join(repoRoot, 'build/wasm/tests/kernels/qp_kernel_tests_web.js'));

test('wasm SIMD128 kernels are bit-exact with the scalar reference in Chromium', { timeout: 60000 }, () => {
  assert.ok(fs.existsSync(js), `${js} is missing: build the wasm target qp_kernel_tests_web`);
  const out = execFileSync('node', [path.join(repoRoot, 'scripts/bench/run_wasm_in_chromium.mjs'), js,
                                    '--gtest_filter=*Variant*wasmsimd*:-*Long*'],
                           { encoding: 'utf8', timeout: 55000 });
  assert.doesNotMatch(out, /\[  FAILED  \]|\[abort\]/, out);
  const ran = out.match(/\[==========\] (\d+) tests? from .* ran/);
  const passed = out.match(/\[  PASSED  \] (\d+) tests?/);
  assert.ok(ran && passed, `no gtest summary in:\n${out}`);
  // Every selected test ran and passed; none was skipped (the SIMD variants exist in this build).
  assert.equal(Number(passed[1]), Number(ran[1]), out);
  assert.doesNotMatch(out, /\[  SKIPPED \]/, out);
  assert.ok(Number(ran[1]) >= 15, `only ${ran[1]} wasm SIMD kernel tests ran`);
});
