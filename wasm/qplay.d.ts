// TypeScript declaration of the qplay JavaScript API (hand-written: Emscripten 3.1.6 cannot emit
// one). tests/js/wasm_api.test.mjs checks that the object has exactly the members of QplayApi,
// each of the declared kind. Node: `const createQplay = require('<build>/wasm/qplay_node.js');
// const qplay = await createQplay();`. Page: `await window.qplayReady` (or `qplay.ready`).
//
// Errors: commands return {ok, message} (message is the Status text, "" when ok); calls that
// produce a value throw an Error whose message is the Status text (TypeError for an argument of
// the wrong type). A failed call leaves the session as it was, and the module stays usable.

/** Result of a command. `message` names the operation, the bad value and the rule. */
export interface Outcome {
  ok: boolean;
  message: string;
}

export type ExecMode = 'float' | 'simulated' | 'int8';

export interface RunOptions {
  /** Run the int8 kernels of a model that is QDQ already, instead of the fp32 reference. */
  int8?: boolean;
  /** Run the session's quantized model (after setConfig + calibrate): its prepared float graph,
   *  the fake-quant simulation, or the int8 kernels. Overrides `int8`. */
  mode?: ExecMode;
}

export interface CalibrateOptions {
  /** samples per calibration batch (default 64) */
  batchSize?: number;
  /** stop after this many batches (default 0: the whole calibration set) */
  maxBatches?: number;
}

export interface EvaluateOptions {
  /** Dataset role to evaluate on (default "test"). */
  role?: DataRole;
  /** At most this many samples (default -1: all). */
  maxSamples?: number;
  int8?: boolean;
  /** Evaluate the session's quantized model in this mode (see RunOptions.mode). */
  mode?: ExecMode;
}

export type DataRole = 'train' | 'calibration' | 'test';

export interface EvalSummary {
  samples: number;
  correct: number;
  /** top-1 of the first output against the labels, in [0, 1] */
  accuracy: number;
  /** mean softmax cross-entropy of the first output taken as logits */
  loss: number;
}

/** A graph input or output; null dims are dynamic (the batch, usually). */
export interface ValueInfo {
  name: string;
  dtype: string;
  shape: (number | null)[] | null;
}

export interface LayerState {
  name: string;
  op: string;
  outputShape: (number | null)[];
  params: number;
  macs: number;
}

export interface DataState {
  samples: number;
  numClasses: number;
  sampleShape: number[];
}

export interface QatOptions {
  /** "ste" | "lsq" (default) | "pact" */
  method?: 'ste' | 'lsq' | 'pact';
  /** weights' learning rate (default 1e-4) */
  lr?: number;
  /** default 64 */
  batchSize?: number;
  /** cosine schedule length (default 0: one epoch of the train data) */
  totalSteps?: number;
}

export interface QatStepRecord {
  step: number;
  epoch: number;
  /** minibatch loss and accuracy before the update */
  loss: number;
  accuracy: number;
  lr: number;
  /** fraction of quantized values outside their range */
  clipFraction: number;
}

export interface SessionState {
  model: null | {
    name: string;
    opset: number;
    inputs: ValueInfo[];
    outputs: ValueInfo[];
    /** totals at batch 1 */
    params: number;
    macs: number;
    layers: LayerState[];
  };
  data: { train: DataState | null; calibration: DataState | null; test: DataState | null };
  training: {
    active: boolean;
    history: { step: number; epoch: number; loss: number; accuracy: number; lr: number }[];
  };
  quant: {
    /** the complete config (core/workflows/README.md), null before setConfig */
    config: object | null;
    calibrating: boolean;
    /** calibration progress in [0, 1] */
    progress: number;
    quantized: boolean;
    /** moves whenever the quantized model is set, replaced (QAT finish, restore) or dropped */
    generation: number;
    /** per-site scales and zero points after calibrate(), else null */
    params: object | null;
    qat: { active: boolean; history: QatStepRecord[] };
  };
}

export interface QplayApi {
  /** Imports ONNX bytes (untrusted; capped at 256 MiB). On error the previous model stays. */
  loadModel(bytes: Uint8Array, name?: string): Outcome;
  /** A built-in architecture ("mlp" | "cnn" | "mobilenet") with fresh parameters from `seed` (default 1). */
  loadDemo(name: string, seed?: number): Outcome;
  /** Names of the trained models this build embeds (models/*.onnx at build time), sorted. */
  builtinModels(): string[];
  /** Loads one of builtinModels() (e.g. "cnn"). */
  loadBuiltinModel(name: string): Outcome;
  /** The embedded Fashion-MNIST subset (its test split for "test", its calibration split, drawn
   *  from the training set, for "calibration" and "train"). {ok:false} when the build has none. */
  loadBuiltinData(role: DataRole): Outcome;
  /** Images and labels, each a .npy or IDX file's bytes (told apart by magic bytes; uint8 pixels are
   *  divided by 255), installed under `role`. numClasses defaults to 10. */
  setData(role: DataRole, images: Uint8Array, labels: Uint8Array, numClasses?: number): Outcome;
  /** Runs the first graph input; the batch is input.length / (values of one sample). Returns every
   *  output flattened and concatenated in graph output order. Throws on error. */
  run(input: Float32Array, options?: RunOptions): Float32Array;
  /** Top-1 accuracy and loss over a dataset role. Throws on error (no model, no data). */
  evaluate(options?: EvaluateOptions): EvalSummary;
  /** A JSON snapshot of the session. In the playground page, qplay.state() is the page snapshot
   *  (web/README.md) and this object is its `session` member. */
  state(): SessionState;
  /** The current float model (trained weights included) as ONNX bytes (opset >= 13). Throws on error. */
  exportOnnx(): Uint8Array;
  /** Quantization config: JSON text or object, {"preset": "int8", "weights": {...}, "activations":
   *  {...}, "layers": {"conv1": {"skip": true}}} (core/workflows/README.md). Validated against the
   *  model; clears calibration. */
  setConfig(config: string | object): Outcome;
  /** The complete config in effect (every field written), or null. */
  getConfig(): object | null;
  /** Calibrates on the "calibration" data and quantizes (the session then has a quantized model). */
  calibrate(options?: CalibrateOptions): Outcome;
  /** Starts QAT from the quantized model (after calibrate) on the "train" data. */
  startQat(options?: QatOptions): Outcome;
  /** One QAT minibatch. Throws on error (QAT not started, ...); a failed step changes nothing. */
  qatStep(): QatStepRecord;
  /** Makes the QAT weights and ranges the session's quantized model and ends QAT. */
  finishQat(): Outcome;
  /** The quantized model as a QDQ ONNX file, laid out as ONNX Runtime ("ort", default) or TensorRT
   *  ("trt") expect. Throws on error (not quantized, bits != 8, ...). */
  exportQDQ(layout?: 'ort' | 'trt'): Uint8Array;
  /** The quantized model (QAT-trained weights and learned ranges included) in two parts that
   *  restoreQuantized takes back: the prepared graph with its weights as ONNX bytes and the
   *  per-site parameters as JSON text. null when the session has no quantized model. */
  quantizedSnapshot(): QuantizedSnapshot | null;
  /** Makes a snapshot the session's quantized model again, over the same model and config it was
   *  saved with (load the model and setConfig first). A snapshot that does not fit is refused,
   *  naming the node, weight or site, and the session is unchanged. */
  restoreQuantized(graph: Uint8Array, params: string): Outcome;
}

export interface QuantizedSnapshot {
  graph: Uint8Array;
  params: string;
}

/** The CommonJS node build's export. */
declare function createQplay(options?: object): Promise<QplayApi>;
export default createQplay;
