// onnxruntime-node (CPU, one thread, graph optimizations 'all') on the same files and batches as
// bench_graph, printing the same JSON lines with variant "ort-node-fp32".
//   node scripts/bench/graph/ort_node.mjs build/bench/models/cnn.fp32.onnx ... [--runs N]
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '..', '..', 'tests', 'package.json'));
const ort = require('onnxruntime-node');

const args = process.argv.slice(2);
let runs = 20;
const models = [];
for (let i = 0; i < args.length; ++i) {
  if (args[i] === '--runs') runs = Number(args[++i]);
  else models.push(args[i]);
}
for (const file of models) {
  const session = await ort.InferenceSession.create(file, {
    graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1, executionProviders: ['cpu'] });
  const inputName = session.inputNames[0];
  const name = path.basename(file).split('.')[0];
  // ORT-node does not expose input shapes: the e2e models are [N, ...] with N dynamic, except mbv2.
  const shapes = { mlp: [784], cnn: [1, 28, 28], mbv2: [3, 224, 224] };
  for (const batch of name === 'mbv2' ? [1] : [1, 64]) {
    const dims = [batch, ...shapes[name]];
    const n = dims.reduce((a, b) => a * b, 1);
    const x = new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => (i % 97) / 97), dims);
    const count = batch === 1 ? runs : Math.max(3, Math.floor(runs / 4));
    const ms = [];
    for (let r = 0; r < count + 1; ++r) {
      const t0 = performance.now();
      await session.run({ [inputName]: x });
      if (r > 0) ms.push(performance.now() - t0);
    }
    ms.sort((a, b) => a - b);
    console.log(JSON.stringify({ bench: 'graph', case: `${name}/b${batch}`, variant: 'ort-node-fp32',
                                 metric: 'ms', value: Number(ms[Math.floor(ms.length / 2)].toPrecision(4)), runs: count }));
  }
}
