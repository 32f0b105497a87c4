// qplay: the native command-line front end over core/session (batch work and verification).
// Errors go to stderr with exit code 1; usage errors exit with 2. Every command works on any
// supported ONNX model; `demo:NAME` names an untrained demo architecture instead of a file.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "core/data/file_io.h"
#include "core/data/raw.h"
#include "core/session/data_spec.h"
#include "core/session/session.h"
#include "core/onnx/onnx.h"
#include "core/workflows/analysis.h"
#include "core/workflows/qat.h"
#include "core/workflows/qdq_export.h"

namespace {

using qp::Status;

constexpr const char* kUsage = R"(usage: qplay <command> [options]

commands:
  info MODEL [--batch N]
      ops, per-layer output shapes, parameter counts and MACs
  run MODEL --input IN.f32 --output OUT.f32 [--backend fp32|scalar|xnnpack]
      IN: raw little-endian float32 for the first input, batch inferred from the file size;
      OUT: every output concatenated as raw float32, in graph output order. fp32 runs the float
      reference; scalar/xnnpack run a quantized (QDQ or QOperator) model on the int8 kernels of
      that backend, with identical output bits on every backend
  eval MODEL --data SPEC [--limit N] [--batch N]
      top-1 accuracy and loss; SPEC: fashion-mnist:test | fashion-mnist:train |
      idx:IMAGES:LABELS | npy:IMAGES:LABELS
  train --arch mlp|cnn|mobilenet --out FILE.onnx [--epochs E] [--batch B] [--lr LR]
        [--optimizer adam|sgd] [--seed S] [--data SPEC] [--test SPEC] [--max-steps N]
      trains a demo architecture (or MODEL given with --model) on Fashion-MNIST with a cosine
      schedule, deterministically for the seed, evaluates it and exports it (ONNX opset 13)

  quantize MODEL (--data SPEC | --random-calibration N) [--preset P | --config F.json]
           [--calib-batches N] [--batch B] [--test SPEC] [--limit N] [--layout ort|trt]
           [--out QDQ.onnx] [--params-out PARAMS.json] [--backend scalar|xnnpack]
      static PTQ: calibrates on SPEC (N batches of B, default 8 x 64; random [0, 1] inputs only
      with --random-calibration N), prints float / simulated / int8 accuracy on --test (default
      SPEC) and how far simulation and int8 differ per activation site (in quanta); writes the QDQ
      ONNX and the parameters as JSON. Presets: int8 (default), int8_s8, trt_w8a8, w4a8, w4a4, w3a3
  export MODEL --out FILE.onnx [--format qdq|float] [quantize options]
      the QDQ model (default; the quantize options, without the report) or the float model
  qat MODEL --data SPEC [--test SPEC] [--preset P | --config F.json]
      [--method ste|lsq|lsq+|pact] [--lsq-init 1] [--epochs E | --steps N] [--qat-batch B]
      [--lr LR] [--range-lr LR] [--zero-point-lr LR] [--freeze-bn-step N]
      [--freeze-observers-step N] [--seed S] [--limit N] [--out F.onnx] [--params-out F.json]
      quantization-aware training from the PTQ start (calibrated on 8 batches of SPEC): prints the
      simulated accuracy before and after, and progress (loss, accuracy, clipped fraction); --out
      writes the QDQ model (8-bit configs) or else the float model with the QAT-trained weights.
      lsq+ = LSQ plus a learned (integer at export) zero point on affine activations (its rate
      --zero-point-lr, default the range lr); --lsq-init 1 starts weight scales at LSQ's
      2 mean|w| / sqrt(Qp) instead of the calibrated ones
  sweep MODEL --data SPEC [--test SPEC] [--bits 2,3,4,5,6,7,8] [--per-layer 1] [--global 0]
        [--limit N] [--out TABLE.csv|TABLE.json]
      range x precision: bits x activation calibrator (max, percentile 99.9/99.99/99.999, mse,
      entropy), accuracy and output SQNR of the simulation on --test (default SPEC, 1000 samples).
      Rows have scope "all" (every layer at those bits); --per-layer 1 adds one row per layer
      with only that layer at those bits (the others at the --preset/--config base); --global 0
      leaves out the "all" rows
  analyze MODEL --data SPEC [--test SPEC] [--preset P | --config F.json] [--limit N]
          [--sensitivity 0] [--mixed-bits 4,8 [--mixed-layers L1,L2] [--max-points N]
          [--mixed-out F.csv]]
      per-layer SQNR (float vs fake-quant vs int8 kernels) and layer sensitivity (only one layer
      quantized / all but one), most sensitive first (--sensitivity 0 skips it). --mixed-bits:
      mixed-precision what-if: every combination of those weight bit widths over the layers with
      weights (or --mixed-layers), at most --max-points (default 256) configurations; prints size
      (weight bits), accuracy and output SQNR per combination, Pareto points marked '*'

MODEL is an .onnx file or demo:mlp | demo:cnn | demo:mobilenet (untrained).
)";

// --key value options after the positional arguments.
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;

  bool has(const std::string& k) const { return options.count(k) > 0; }
  std::string get(const std::string& k, const std::string& def = "") const {
    auto it = options.find(k);
    return it == options.end() ? def : it->second;
  }
};

bool ParseArgs(int argc, char** argv, int first, Args* out, std::string* error) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0) {
      if (i + 1 >= argc) {
        *error = "option " + a + " needs a value";
        return false;
      }
      out->options[a.substr(2)] = argv[++i];
    } else {
      out->positional.push_back(a);
    }
  }
  return true;
}

bool ParseInt(const std::string& s, int64_t lo, int64_t hi, int64_t* v) {
  char* end = nullptr;
  const long long x = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || x < lo || x > hi) return false;
  *v = x;
  return true;
}

int Fail(const Status& s) {
  std::fprintf(stderr, "qplay: %s\n", s.ToString().c_str());
  return 1;
}

int Usage(const std::string& why) {
  std::fprintf(stderr, "qplay: %s\n\n%s", why.c_str(), kUsage);
  return 2;
}

Status LoadModelArg(qp::Session& s, const std::string& model, uint64_t seed) {
  if (model.rfind("demo:", 0) == 0) {
    QP_ASSIGN_OR_RETURN(qp::DemoModel m, qp::ParseDemoModel(model.substr(5)));
    return s.LoadDemoModel(m, seed);
  }
  return s.LoadModelFile(model);
}

int CmdInfo(const Args& a) {
  if (a.positional.size() != 1) return Usage("info takes exactly one MODEL");
  int64_t batch = 1;
  if (a.has("batch") && !ParseInt(a.get("batch"), 1, 1 << 20, &batch)) return Usage("--batch must be 1..1048576");
  qp::Session s;
  if (Status st = LoadModelArg(s, a.positional[0], 1); !st.ok()) return Fail(st);
  qp::Result<qp::ModelInfo> info = s.Info(batch);
  if (!info.ok()) return Fail(info.status());
  std::fputs(qp::FormatModelInfo(*info).c_str(), stdout);
  return 0;
}

int CmdRun(const Args& a) {
  if (a.positional.size() != 1) return Usage("run takes exactly one MODEL");
  if (!a.has("input") || !a.has("output")) return Usage("run needs --input and --output");
  const std::string backend = a.get("backend", "fp32");
  qp::RunOptions run;
  if (backend != "fp32") {
    qp::Result<qp::int8::Backend> b = qp::int8::ParseBackend(backend);
    if (!b.ok()) return Fail(b.status());
    run.int8 = true;
    run.backend = *b;
  }
  qp::Session s;
  if (Status st = LoadModelArg(s, a.positional[0], 1); !st.ok()) return Fail(st);
  if (run.int8) {
    qp::Result<const qp::int8::Int8Executor*> plan = s.Int8Plan(run);
    if (!plan.ok()) return Fail(plan.status());
    if ((*plan)->fallback_nodes() > 0)
      std::fprintf(stderr, "qplay: note: %s\n", (*plan)->Summary().c_str());
  }
  qp::Result<std::vector<uint8_t>> bytes = qp::data::ReadFileBytes(a.get("input"));
  if (!bytes.ok()) return Fail(bytes.status());
  if (bytes->size() % 4 != 0)
    return Fail(qp::InvalidArgument("input file '", a.get("input"), "' has ", bytes->size(),
                                    " bytes, not a whole number of float32 values"));
  std::vector<float> values(bytes->size() / 4);
  std::memcpy(values.data(), bytes->data(), bytes->size());
  qp::Result<std::vector<qp::Tensor>> outs = s.RunFloat(values.data(), values.size(), run);
  if (!outs.ok()) return Fail(outs.status());
  std::vector<uint8_t> out_bytes;
  for (const qp::Tensor& t : *outs) {
    const std::vector<float> f = t.ToFloatVector();
    const auto* p = reinterpret_cast<const uint8_t*>(f.data());
    out_bytes.insert(out_bytes.end(), p, p + f.size() * sizeof(float));
  }
  if (Status st = qp::data::WriteFileBytes(a.get("output"), out_bytes); !st.ok()) return Fail(st);
  return 0;
}

int CmdEval(const Args& a) {
  if (a.positional.size() != 1) return Usage("eval takes exactly one MODEL");
  if (!a.has("data")) return Usage("eval needs --data SPEC");
  int64_t limit = -1, batch = 256;
  if (a.has("limit") && !ParseInt(a.get("limit"), 1, int64_t{1} << 40, &limit)) return Usage("--limit must be >= 1");
  if (a.has("batch") && !ParseInt(a.get("batch"), 1, 1 << 16, &batch)) return Usage("--batch must be 1..65536");
  qp::Session s;
  if (Status st = LoadModelArg(s, a.positional[0], 1); !st.ok()) return Fail(st);
  qp::Result<qp::data::Dataset> ds = qp::LoadDataSpec(a.get("data"));
  if (!ds.ok()) return Fail(ds.status());
  if (Status st = s.SetData(qp::DataRole::kTest, std::move(ds).value()); !st.ok()) return Fail(st);
  qp::Result<qp::EvalSummary> e = s.Evaluate(qp::DataRole::kTest, limit, batch);
  if (!e.ok()) return Fail(e.status());
  std::printf("model %s on %s: top-1 accuracy %.4f (%lld/%lld), loss %.4f\n", s.model_name().c_str(),
              a.get("data").c_str(), e->accuracy, static_cast<long long>(e->correct),
              static_cast<long long>(e->samples), e->loss);
  return 0;
}

int CmdTrain(const Args& a) {
  if (!a.has("out")) return Usage("train needs --out FILE.onnx");
  if (a.has("arch") == a.has("model")) return Usage("train needs exactly one of --arch NAME or --model FILE");
  int64_t epochs = 5, batch = 64, seed = 1, max_steps = -1;
  if (a.has("epochs") && !ParseInt(a.get("epochs"), 1, 1000, &epochs)) return Usage("--epochs must be 1..1000");
  if (a.has("batch") && !ParseInt(a.get("batch"), 1, 4096, &batch)) return Usage("--batch must be 1..4096");
  if (a.has("seed") && !ParseInt(a.get("seed"), 0, int64_t{1} << 62, &seed)) return Usage("--seed must be >= 0");
  if (a.has("max-steps") && !ParseInt(a.get("max-steps"), 1, int64_t{1} << 40, &max_steps))
    return Usage("--max-steps must be >= 1");
  const std::string opt = a.get("optimizer", "adam");
  if (opt != "adam" && opt != "sgd") return Usage("--optimizer must be adam or sgd");
  const float lr = a.has("lr") ? std::strtof(a.get("lr").c_str(), nullptr) : (opt == "adam" ? 2e-3f : 0.05f);
  if (!(lr > 0 && lr < 10)) return Usage("--lr must be in (0, 10)");

  qp::Session s;
  const std::string model = a.has("arch") ? "demo:" + a.get("arch") : a.get("model");
  if (Status st = LoadModelArg(s, model, static_cast<uint64_t>(seed)); !st.ok()) return Fail(st);
  qp::Result<qp::data::Dataset> train = qp::LoadDataSpec(a.get("data", "fashion-mnist:train"));
  if (!train.ok()) return Fail(train.status());
  qp::Result<qp::data::Dataset> test = qp::LoadDataSpec(a.get("test", "fashion-mnist:test"));
  if (!test.ok()) return Fail(test.status());
  const int64_t steps_per_epoch = (train->size() + batch - 1) / batch;
  int64_t total = steps_per_epoch * epochs;
  if (max_steps > 0 && max_steps < total) total = max_steps;
  if (Status st = s.SetData(qp::DataRole::kTrain, std::move(train).value()); !st.ok()) return Fail(st);
  if (Status st = s.SetData(qp::DataRole::kTest, std::move(test).value()); !st.ok()) return Fail(st);

  qp::train::TrainerOptions o;
  o.batch_size = batch;
  o.seed = static_cast<uint64_t>(seed);
  o.optimizer = opt == "adam" ? qp::train::TrainerOptions::Opt::kAdam : qp::train::TrainerOptions::Opt::kSgd;
  o.sgd.momentum = 0.9f;
  o.sgd.weight_decay = 5e-4f;
  o.schedule.kind = qp::train::LrSchedule::Kind::kCosine;
  o.schedule.base_lr = lr;
  o.schedule.warmup_steps = std::min<int64_t>(200, total / 10);
  o.schedule.total_steps = total - o.schedule.warmup_steps;  // cosine runs after the warmup
  if (Status st = s.StartTraining(o); !st.ok()) return Fail(st);
  std::printf("training %s: %lld steps (%lld epochs of %lld), batch %lld, %s lr %g, seed %lld\n",
              s.model_name().c_str(), static_cast<long long>(total), static_cast<long long>(epochs),
              static_cast<long long>(steps_per_epoch), static_cast<long long>(batch), opt.c_str(), lr,
              static_cast<long long>(seed));
  double loss_acc = 0, acc_acc = 0;
  int window = 0;
  for (int64_t step = 0; step < total; ++step) {
    qp::Result<qp::train::StepResult> r = s.TrainStep();
    if (!r.ok()) return Fail(r.status());
    loss_acc += r->loss;
    acc_acc += r->accuracy;
    ++window;
    if ((step + 1) % steps_per_epoch == 0 || step + 1 == total) {
      std::printf("  step %6lld  epoch %lld  loss %.4f  train acc %.4f  lr %.3g\n",
                  static_cast<long long>(step + 1), static_cast<long long>(r->epoch), loss_acc / window,
                  acc_acc / window, r->lr);
      std::fflush(stdout);
      loss_acc = acc_acc = 0;
      window = 0;
    }
  }
  if (Status st = s.CommitTraining(); !st.ok()) return Fail(st);
  qp::Result<qp::EvalSummary> e = s.Evaluate(qp::DataRole::kTest);
  if (!e.ok()) return Fail(e.status());
  qp::Result<std::string> bytes = s.ExportOnnx();
  if (!bytes.ok()) return Fail(bytes.status());
  std::vector<uint8_t> out(bytes->begin(), bytes->end());
  if (Status st = qp::data::WriteFileBytes(a.get("out"), out); !st.ok()) return Fail(st);
  std::printf("test accuracy %.4f (%lld/%lld), loss %.4f; wrote %s (%zu bytes)\n", e->accuracy,
              static_cast<long long>(e->correct), static_cast<long long>(e->samples), e->loss,
              a.get("out").c_str(), out.size());
  return 0;
}

// ---- quantize / export (core/workflows through the Session) -------------------------------------

// Random inputs in [0, 1] shaped like the model's first input (labels 0): only on explicit request.
qp::Result<qp::data::Dataset> RandomCalibration(const qp::Session& s, int64_t n) {
  const qp::ValueInfo& in = s.graph().inputs[0];
  qp::Shape shape = in.shape;
  if (!in.has_shape || shape.empty()) return qp::InvalidArgument("input '", in.name, "' has no known shape");
  shape[0] = n;
  for (size_t i = 1; i < shape.size(); ++i)
    if (shape[i] < 0) return qp::InvalidArgument("input '", in.name, "' has an unknown dim ", i);
  QP_ASSIGN_OR_RETURN(qp::Tensor images, qp::Tensor::Create(qp::DType::kFloat32, shape));
  qp::data::SplitMix64 rng(20261122);
  for (int64_t i = 0; i < images.numel(); ++i) images.f32()[i] = rng.Uniform01();
  qp::data::Dataset ds;
  ds.images = std::move(images);
  ds.labels = qp::Tensor(qp::DType::kInt64, {n});
  ds.num_classes = 10;
  return ds;
}

// Config, calibration data and calibration: shared by quantize and export. Prints progress to
// stderr when `verbose`.
Status QuantizeFromArgs(const Args& a, qp::Session& s, bool verbose) {
  if (a.has("preset") && a.has("config")) return qp::InvalidArgument("give --preset or --config, not both");
  if (a.has("data") == a.has("random-calibration"))
    return qp::InvalidArgument("calibration needs exactly one of --data SPEC or --random-calibration N "
                               "(random inputs are used only when asked for)");
  int64_t batches = 8, batch = 64;
  if (a.has("calib-batches") && !ParseInt(a.get("calib-batches"), 1, 1 << 20, &batches))
    return qp::InvalidArgument("--calib-batches must be 1..1048576");
  if (a.has("batch") && !ParseInt(a.get("batch"), 1, 4096, &batch))
    return qp::InvalidArgument("--batch must be 1..4096");
  if (a.has("config")) {
    QP_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, qp::data::ReadFileBytes(a.get("config")));
    Status st = s.SetQuantConfig(std::string(bytes.begin(), bytes.end()));
    if (!st.ok()) return st.WithContext("config '" + a.get("config") + "'");
  } else {
    QP_RETURN_IF_ERROR(s.SetQuantPreset(a.get("preset", "int8")));
  }
  qp::data::Dataset cal;
  if (a.has("data")) {
    QP_ASSIGN_OR_RETURN(cal, qp::LoadDataSpec(a.get("data")));
  } else {
    int64_t n = 0;
    if (!ParseInt(a.get("random-calibration"), 1, 1 << 20, &n))
      return qp::InvalidArgument("--random-calibration must be a sample count 1..1048576");
    QP_ASSIGN_OR_RETURN(cal, RandomCalibration(s, n));
  }
  QP_RETURN_IF_ERROR(s.SetData(qp::DataRole::kCalibration, std::move(cal)));
  qp::workflows::CalibrationOptions co;
  co.batch_size = batch;
  co.max_batches = batches;
  QP_RETURN_IF_ERROR(s.StartCalibration(co));
  double p = 0;
  while (p < 1.0) {
    QP_ASSIGN_OR_RETURN(p, s.CalibrateStep());
    if (verbose) std::fprintf(stderr, "\rcalibrating: %3.0f%%", 100 * p);
  }
  if (verbose) std::fprintf(stderr, "\n");
  return s.Quantize();
}

Status WriteText(const std::string& path, const std::string& text) {
  return qp::data::WriteFileBytes(path, std::vector<uint8_t>(text.begin(), text.end()));
}

Status WriteQuantOutputs(const Args& a, const qp::Session& s) {
  if (a.has("out")) {
    QP_ASSIGN_OR_RETURN(qp::workflows::QdqLayout layout, qp::workflows::ParseQdqLayout(a.get("layout", "ort")));
    QP_ASSIGN_OR_RETURN(std::string bytes, s.ExportQdq(layout));
    QP_RETURN_IF_ERROR(WriteText(a.get("out"), bytes));
    std::printf("wrote %s (QDQ, %s layout, %zu bytes)\n", a.get("out").c_str(),
                qp::workflows::QdqLayoutName(layout), bytes.size());
  }
  if (a.has("params-out")) {
    QP_ASSIGN_OR_RETURN(std::string json, s.QuantParamsJson());
    QP_RETURN_IF_ERROR(WriteText(a.get("params-out"), json));
    std::printf("wrote %s (quantization parameters)\n", a.get("params-out").c_str());
  }
  return Status::Ok();
}

int CmdQuantize(const Args& a) {
  if (a.positional.size() != 1) return Usage("quantize takes exactly one MODEL");
  int64_t limit = -1;
  if (a.has("limit") && !ParseInt(a.get("limit"), 1, int64_t{1} << 40, &limit)) return Usage("--limit must be >= 1");
  qp::RunOptions run;
  if (a.has("backend")) {
    qp::Result<qp::int8::Backend> b = qp::int8::ParseBackend(a.get("backend"));
    if (!b.ok()) return Fail(b.status());
    run.backend = *b;
  }
  qp::Session s;
  if (Status st = LoadModelArg(s, a.positional[0], 1); !st.ok()) return Fail(st);
  if (Status st = QuantizeFromArgs(a, s, true); !st.ok()) return Fail(st);
  const qp::workflows::QuantizedModel& m = *s.quantized_model();
  std::printf("model %s, config %s: %zu quantizers, %zu quantized layers, %zu skipped\n",
              s.model_name().c_str(), m.plan.config.preset.empty() ? "custom" : m.plan.config.preset.c_str(),
              m.plan.sites.size(), m.plan.quantized_layers.size(), m.plan.skipped_layers.size());
  const std::string test = a.get("test", a.get("data"));
  bool int8_ok = true;
  for (const qp::workflows::QuantSite& site : m.plan.sites) int8_ok = int8_ok && site.spec.bits == 8;
  if (!test.empty()) {
    qp::Result<qp::data::Dataset> ds = qp::LoadDataSpec(test);
    if (!ds.ok()) return Fail(ds.status());
    if (Status st = s.SetData(qp::DataRole::kTest, std::move(ds).value()); !st.ok()) return Fail(st);
    for (qp::workflows::ExecMode mode : {qp::workflows::ExecMode::kFloat, qp::workflows::ExecMode::kSimulated,
                                         qp::workflows::ExecMode::kInt8}) {
      if (mode == qp::workflows::ExecMode::kInt8 && !int8_ok) {
        std::printf("%-9s accuracy: n/a (sites below 8 bits run in simulation only)\n", "int8");
        continue;
      }
      qp::Result<qp::EvalSummary> e = s.EvaluateQuantized(mode, qp::DataRole::kTest, limit, 256, run);
      if (!e.ok()) return Fail(e.status());
      std::printf("%-9s accuracy on %s: %.4f (%lld/%lld), loss %.6f\n", qp::workflows::ExecModeName(mode),
                  test.c_str(), e->accuracy, static_cast<long long>(e->correct),
                  static_cast<long long>(e->samples), e->loss);
    }
  }
  if (int8_ok) {
    const qp::DataRole role = test.empty() ? qp::DataRole::kCalibration : qp::DataRole::kTest;
    qp::Result<qp::workflows::SimIntReport> rep = s.SimIntReport(role, 256);
    if (!rep.ok()) return Fail(rep.status());
    std::fputs(qp::workflows::SimIntReportToString(*rep).c_str(), stdout);
  }
  if (Status st = WriteQuantOutputs(a, s); !st.ok()) return Fail(st);
  return 0;
}

int CmdExport(const Args& a) {
  if (a.positional.size() != 1) return Usage("export takes exactly one MODEL");
  if (!a.has("out")) return Usage("export needs --out FILE.onnx");
  qp::Session s;
  if (Status st = LoadModelArg(s, a.positional[0], 1); !st.ok()) return Fail(st);
  const std::string format = a.get("format", "qdq");
  if (format != "qdq" && format != "float") return Usage("--format must be qdq or float");
  if (format == "float") {
    qp::Result<std::string> bytes = s.ExportOnnx();
    if (!bytes.ok()) return Fail(bytes.status());
    if (Status st = WriteText(a.get("out"), *bytes); !st.ok()) return Fail(st);
    std::printf("wrote %s (float, %zu bytes)\n", a.get("out").c_str(), bytes->size());
    return 0;
  }
  if (Status st = QuantizeFromArgs(a, s, false); !st.ok()) return Fail(st);
  if (Status st = WriteQuantOutputs(a, s); !st.ok()) return Fail(st);
  return 0;
}

// ---- qat / sweep / analyze (QAT and analysis over core/workflows) -----------------------------
// Calibrates through the Session like `quantize` (8 x 64 samples of --data unless told otherwise)
// and returns the test set (--test, default --data; first --limit samples).
Status CalibrateForAnalysis(const Args& a, qp::Session& s, int64_t default_limit, qp::data::Dataset* test) {
  QP_RETURN_IF_ERROR(QuantizeFromArgs(a, s, true));
  int64_t limit = default_limit;
  if (a.has("limit") && !ParseInt(a.get("limit"), 1, int64_t{1} << 40, &limit))
    return qp::InvalidArgument("--limit must be >= 1");
  QP_ASSIGN_OR_RETURN(qp::data::Dataset ds, qp::LoadDataSpec(a.get("test", a.get("data"))));
  if (limit > 0 && limit < ds.size()) {
    QP_ASSIGN_OR_RETURN(ds, qp::data::SliceDataset(ds, 0, limit));
  }
  *test = std::move(ds);
  return Status::Ok();
}

bool ParseFloatArg(const std::string& s, double lo, double hi, double* v) {
  char* end = nullptr;
  const double x = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !(x >= lo && x <= hi)) return false;
  *v = x;
  return true;
}

qp::Result<double> SimAccuracy(const qp::workflows::QuantizedModel& m, const qp::data::Dataset& ds) {
  QP_ASSIGN_OR_RETURN(std::unique_ptr<qp::workflows::QuantizedRunner> r, qp::workflows::QuantizedRunner::Create(m));
  QP_ASSIGN_OR_RETURN(qp::workflows::AccuracyResult acc,
                      qp::workflows::EvaluateAccuracy(*r, qp::workflows::ExecMode::kSimulated, ds));
  return acc.accuracy;
}

int CmdQat(const Args& a) {
  if (a.positional.size() != 1) return Usage("qat takes exactly one MODEL");
  if (!a.has("data")) return Usage("qat needs --data SPEC (the training set)");
  qp::workflows::QatOptions o;
  int64_t epochs = 1, steps = 0, batch = 64, seed = 1, fbn = -1, fobs = -1;
  double lr = 1e-4, rlr = 1e-2;
  if (a.has("method")) {
    qp::Result<qp::workflows::QatMethod> m = qp::workflows::ParseQatMethod(a.get("method"));
    if (!m.ok()) return Usage(m.status().message());
    o.method = *m;
  }
  if (a.has("epochs") && !ParseInt(a.get("epochs"), 1, 1000, &epochs)) return Usage("--epochs must be 1..1000");
  if (a.has("steps") && !ParseInt(a.get("steps"), 1, int64_t{1} << 40, &steps)) return Usage("--steps must be >= 1");
  if (a.has("qat-batch") && !ParseInt(a.get("qat-batch"), 1, 4096, &batch)) return Usage("--qat-batch must be 1..4096");
  if (a.has("seed") && !ParseInt(a.get("seed"), 0, int64_t{1} << 62, &seed)) return Usage("--seed must be >= 0");
  if (a.has("lr") && !ParseFloatArg(a.get("lr"), 1e-12, 10, &lr)) return Usage("--lr must be in (0, 10]");
  if (a.has("range-lr") && !ParseFloatArg(a.get("range-lr"), 0, 1e6, &rlr)) return Usage("--range-lr must be >= 0");
  if (a.has("freeze-bn-step") && !ParseInt(a.get("freeze-bn-step"), -1, int64_t{1} << 40, &fbn))
    return Usage("--freeze-bn-step must be >= -1");
  if (a.has("freeze-observers-step") && !ParseInt(a.get("freeze-observers-step"), -1, int64_t{1} << 40, &fobs))
    return Usage("--freeze-observers-step must be >= -1");
  if (a.has("lsq-init")) o.lsq_weight_init = a.get("lsq-init") != "0";
  if (a.has("zero-point-lr")) {
    double zlr = 0;
    if (!ParseFloatArg(a.get("zero-point-lr"), 0, 1e9, &zlr)) return Usage("--zero-point-lr must be >= 0");
    o.zero_point_lr = static_cast<float>(zlr);
  }
  qp::Session s;
  if (Status st = LoadModelArg(s, a.positional[0], 1); !st.ok()) return Fail(st);
  qp::data::Dataset test;
  if (Status st = CalibrateForAnalysis(a, s, -1, &test); !st.ok()) return Fail(st);
  qp::Result<qp::data::Dataset> train = qp::LoadDataSpec(a.get("data"));
  if (!train.ok()) return Fail(train.status());
  const qp::workflows::QuantizedModel start = *s.quantized_model();
  o.batch_size = batch;
  o.seed = static_cast<uint64_t>(seed);
  o.lr = static_cast<float>(lr);
  o.range_lr = static_cast<float>(rlr);
  o.freeze_bn_step = fbn;
  o.freeze_observers_step = fobs;
  const int64_t per_epoch = (train->size() + batch - 1) / batch;
  o.total_steps = steps > 0 ? steps : epochs * per_epoch;
  qp::Result<double> before = SimAccuracy(start, test);
  if (!before.ok()) return Fail(before.status());
  std::printf("PTQ start (%s): simulated accuracy %.4f on %lld samples\n",
              start.plan.config.preset.empty() ? "custom" : start.plan.config.preset.c_str(), *before,
              static_cast<long long>(test.size()));
  qp::Result<std::unique_ptr<qp::workflows::QatTrainer>> t = qp::workflows::QatTrainer::Create(start, &*train, o);
  if (!t.ok()) return Fail(t.status());
  std::printf("QAT %s: %lld steps of %lld (lr %g, range lr %g, cosine), state %s\n",
              qp::workflows::QatMethodName(o.method), static_cast<long long>(o.total_steps),
              static_cast<long long>(batch), lr, rlr, qp::quant::StateName((*t)->state()));
  double loss = 0, acc = 0, clip = 0;
  int64_t window = 0;
  for (int64_t i = 0; i < o.total_steps; ++i) {
    qp::Result<qp::workflows::QatStepRecord> r = (*t)->Step();
    if (!r.ok()) return Fail(r.status());
    loss += r->loss;
    acc += r->accuracy;
    clip += r->clip_fraction;
    ++window;
    if ((i + 1) % 100 == 0 || i + 1 == o.total_steps) {
      std::fprintf(stderr, "step %lld/%lld epoch %lld: loss %.4f, accuracy %.4f, clipped %.4f%%, lr %.3g\n",
                   static_cast<long long>(i + 1), static_cast<long long>(o.total_steps),
                   static_cast<long long>(r->epoch), loss / window, acc / window, 100 * clip / window, r->lr);
      loss = acc = clip = 0;
      window = 0;
    }
  }
  qp::Result<qp::workflows::QuantizedModel> done = (*t)->Finish();
  if (!done.ok()) return Fail(done.status());
  qp::Result<double> after = SimAccuracy(*done, test);
  if (!after.ok()) return Fail(after.status());
  std::printf("after QAT: simulated accuracy %.4f (state %s)\n", *after, qp::quant::StateName((*t)->state()));
  if (o.method == qp::workflows::QatMethod::kLsqPlus && !(*t)->history().empty()) {
    // Learned zero points: calibrated -> learned (real value; the model uses the rounded one).
    const auto& first = (*t)->history().front();
    const auto& last = (*t)->history().back();
    for (size_t k = 0; k < (*t)->site_names().size(); ++k) {
      const std::string& name = (*t)->site_names()[k];
      const qp::workflows::QuantSite* site = done->plan.FindSite(name);
      if (!site || site->role != qp::quant::QuantRole::kActivation || site->spec.scheme != qp::quant::Scheme::kAffine)
        continue;
      std::printf("zero point %-28s %8.3f -> %8.3f (exported %d)\n", name.c_str(), first.site_zero_point[k],
                  last.site_zero_point[k], done->params.at(name).zero_points[0]);
    }
  }
  if (a.has("out")) {
    bool all8 = true;
    for (const auto& site : done->plan.sites) all8 = all8 && site.spec.bits == 8;
    qp::Result<std::string> bytes = all8 ? qp::workflows::ExportQdqOnnx(*done, qp::workflows::QdqLayout::kOrt)
                                         : qp::onnx::ExportModel((*t)->float_graph());
    if (!bytes.ok()) return Fail(bytes.status());
    if (Status st = WriteText(a.get("out"), *bytes); !st.ok()) return Fail(st);
    std::printf("wrote %s (%s, %zu bytes)\n", a.get("out").c_str(),
                all8 ? "QDQ, ort layout" : "float graph with QAT-trained weights; sub-8-bit has no opset-13 QDQ form",
                bytes->size());
  }
  if (a.has("params-out")) {
    if (Status st = WriteText(a.get("params-out"), qp::workflows::QuantParamsToJson(*done)); !st.ok()) return Fail(st);
    std::printf("wrote %s (quantization parameters)\n", a.get("params-out").c_str());
  }
  return 0;
}

int CmdSweep(const Args& a) {
  if (a.positional.size() != 1) return Usage("sweep takes exactly one MODEL");
  if (!a.has("data")) return Usage("sweep needs --data SPEC (calibration)");
  qp::workflows::SweepOptions o;
  if (a.has("bits")) {
    o.bits.clear();
    std::string list = a.get("bits");
    size_t pos = 0;
    while (pos <= list.size()) {
      const size_t comma = std::min(list.find(',', pos), list.size());
      int64_t b = 0;
      if (!ParseInt(list.substr(pos, comma - pos), 2, 8, &b)) return Usage("--bits must be a comma list of 2..8");
      o.bits.push_back(static_cast<int>(b));
      pos = comma + 1;
    }
  }
  if (a.has("per-layer")) o.per_layer = a.get("per-layer") != "0";
  if (a.has("global")) o.global = a.get("global") != "0";
  if (!o.global && !o.per_layer) return Usage("--global 0 needs --per-layer 1 (nothing to sweep)");
  const std::string out = a.get("out");
  const bool json = out.size() > 5 && out.substr(out.size() - 5) == ".json";
  qp::Session s;
  if (Status st = LoadModelArg(s, a.positional[0], 1); !st.ok()) return Fail(st);
  qp::data::Dataset test;
  if (Status st = CalibrateForAnalysis(a, s, 1000, &test); !st.ok()) return Fail(st);
  const qp::workflows::QuantizedModel& m = *s.quantized_model();
  qp::Result<qp::workflows::AnalysisContext> ctx = qp::workflows::MakeAnalysisContext(m.plan.graph, m.stats, test, -1);
  if (!ctx.ok()) return Fail(ctx.status());
  qp::Result<std::unique_ptr<qp::workflows::RangePrecisionSweep>> sw =
      qp::workflows::RangePrecisionSweep::Create(&*ctx, m.plan.config, o);
  if (!sw.ok()) return Fail(sw.status());
  while (!(*sw)->done()) {
    qp::Result<double> p = (*sw)->Step();
    if (!p.ok()) return Fail(p.status());
    std::fprintf(stderr, "\rsweep: %3.0f%%", 100 * *p);
  }
  std::fprintf(stderr, "\n");
  const std::string table = json ? qp::workflows::SweepToJson((*sw)->rows()) : qp::workflows::SweepToCsv((*sw)->rows());
  if (out.empty()) {
    std::fputs(table.c_str(), stdout);
  } else {
    if (Status st = WriteText(out, table); !st.ok()) return Fail(st);
    std::printf("wrote %s (%zu rows)\n", out.c_str(), (*sw)->rows().size());
  }
  return 0;
}

// "a,b,c" -> {"a", "b", "c"} (empty items dropped).
std::vector<std::string> SplitList(const std::string& list) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    const size_t comma = std::min(list.find(',', pos), list.size());
    if (comma > pos) out.push_back(list.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

// Mixed-precision what-if over the analysis context: every combination of --mixed-bits over the
// layers with a weight site (or --mixed-layers), printed as a table with the Pareto points.
Status MixedPrecisionReport(const Args& a, const qp::workflows::QuantizedModel& m,
                            const qp::workflows::AnalysisContext& ctx) {
  std::vector<int> bits;
  for (const std::string& b : SplitList(a.get("mixed-bits"))) {
    int64_t v = 0;
    if (!ParseInt(b, 2, 8, &v)) return qp::InvalidArgument("--mixed-bits must be a comma list of 2..8, got '", b, "'");
    bits.push_back(static_cast<int>(v));
  }
  if (bits.empty()) return qp::InvalidArgument("--mixed-bits must name at least one bit width");
  int64_t max_points = 256;
  if (a.has("max-points") && !ParseInt(a.get("max-points"), 1, 1 << 20, &max_points))
    return qp::InvalidArgument("--max-points must be 1..1048576");
  std::vector<std::string> weighted;  // layers with a weight quantizer, in graph order
  for (const qp::Node& n : m.plan.graph.nodes) {
    if (!n.has_input(1)) continue;
    const qp::workflows::QuantSite* site = m.plan.FindSite(n.inputs[1]);
    if (site && site->role == qp::quant::QuantRole::kWeight) weighted.push_back(n.name);
  }
  std::vector<std::string> layers = weighted;
  if (a.has("mixed-layers")) {
    layers = SplitList(a.get("mixed-layers"));
    for (const std::string& l : layers) {
      if (std::find(weighted.begin(), weighted.end(), l) == weighted.end()) {
        std::string known;
        for (const std::string& w : weighted) known += (known.empty() ? "" : ", ") + w;
        return qp::InvalidArgument("--mixed-layers: '", l, "' is not a layer with quantized weights (known: ", known, ")");
      }
    }
  }
  using Choices = std::vector<std::map<std::string, int>>;
  QP_ASSIGN_OR_RETURN(Choices choices,
                      qp::workflows::EnumerateBitChoices(layers, bits, static_cast<size_t>(max_points)));
  QP_ASSIGN_OR_RETURN(std::vector<qp::workflows::MixedPoint> pts,
                      qp::workflows::MixedPrecisionWhatIf(ctx, m.plan.config, choices));
  std::printf("\nmixed precision what-if on %lld samples: %zu configurations of weight bits {%s} over %zu layers "
              "(others as the base config); '*' = Pareto point (no other is smaller and at least as accurate)\n",
              static_cast<long long>(ctx.eval.size()), pts.size(), a.get("mixed-bits").c_str(), layers.size());
  std::printf("%-2s %12s %10s %10s %9s  %s\n", "", "size_bits", "size_KiB", "accuracy", "sqnr_dB", "weight bits");
  std::string csv = "size_bits,accuracy,output_sqnr_db,pareto";
  for (const std::string& l : layers) csv += "," + l;
  csv += "\n";
  for (const qp::workflows::MixedPoint& p : pts) {
    std::string choice;
    for (const std::string& l : layers) {
      auto it = p.weight_bits.find(l);
      choice += (choice.empty() ? "" : " ") + l + "=" + (it == p.weight_bits.end() ? "-" : std::to_string(it->second));
    }
    std::printf("%-2s %12lld %10.1f %10.4f %9.2f  %s\n", p.pareto ? "*" : "", static_cast<long long>(p.size_bits),
                static_cast<double>(p.size_bits) / 8192.0, p.accuracy, p.output_sqnr, choice.c_str());
    char row[96];
    std::snprintf(row, sizeof(row), "%lld,%.6f,%.4f,%d", static_cast<long long>(p.size_bits), p.accuracy,
                  p.output_sqnr, p.pareto ? 1 : 0);
    csv += row;
    for (const std::string& l : layers) {
      auto it = p.weight_bits.find(l);
      csv += "," + (it == p.weight_bits.end() ? std::string() : std::to_string(it->second));
    }
    csv += "\n";
  }
  if (a.has("mixed-out")) {
    QP_RETURN_IF_ERROR(WriteText(a.get("mixed-out"), csv));
    std::printf("wrote %s (%zu rows)\n", a.get("mixed-out").c_str(), pts.size());
  }
  return Status::Ok();
}

int CmdAnalyze(const Args& a) {
  if (a.positional.size() != 1) return Usage("analyze takes exactly one MODEL");
  if (!a.has("data")) return Usage("analyze needs --data SPEC (calibration)");
  if ((a.has("mixed-layers") || a.has("max-points") || a.has("mixed-out")) && !a.has("mixed-bits"))
    return Usage("--mixed-layers, --max-points and --mixed-out need --mixed-bits");
  qp::Session s;
  if (Status st = LoadModelArg(s, a.positional[0], 1); !st.ok()) return Fail(st);
  qp::data::Dataset test;
  if (Status st = CalibrateForAnalysis(a, s, 1000, &test); !st.ok()) return Fail(st);
  const qp::workflows::QuantizedModel& m = *s.quantized_model();
  qp::Result<qp::data::Dataset> few = qp::data::SliceDataset(test, 0, std::min<int64_t>(test.size(), 256));
  if (!few.ok()) return Fail(few.status());
  qp::Result<qp::Tensor> x = qp::workflows::AdaptInput(m.plan.graph, few->images);
  if (!x.ok()) return Fail(x.status());
  qp::Result<std::vector<qp::workflows::LayerSqnr>> sq = qp::workflows::PerLayerSqnr(m, *x);
  if (!sq.ok()) return Fail(sq.status());
  std::printf("per-site SQNR on %lld samples (dB): float vs fake-quant, float vs int8 kernels\n",
              static_cast<long long>(few->size()));
  std::printf("%-32s %-10s %-12s %5s %12s %12s\n", "tensor", "role", "layer", "bits", "fake-quant", "int8");
  for (const auto& r : *sq)
    std::printf("%-32s %-10s %-12s %5d %12.2f %12.2f\n", r.tensor.c_str(), qp::quant::QuantRoleName(r.role),
                r.layer.c_str(), r.bits, r.fake_quant_db, r.int8_db);
  qp::Result<qp::workflows::AnalysisContext> ctx = qp::workflows::MakeAnalysisContext(m.plan.graph, m.stats, test, -1);
  if (!ctx.ok()) return Fail(ctx.status());
  if (a.get("sensitivity") != "0") {
    qp::Result<qp::workflows::SensitivityReport> rep = qp::workflows::LayerSensitivity(*ctx, m.plan.config);
    if (!rep.ok()) return Fail(rep.status());
    std::printf("\nsensitivity on %lld samples:\n%s", static_cast<long long>(test.size()),
                qp::workflows::SensitivityToString(*rep).c_str());
  }
  if (a.has("mixed-bits")) {
    if (Status st = MixedPrecisionReport(a, m, *ctx); !st.ok()) return Fail(st);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "help") || !std::strcmp(argv[1], "--help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  Args a;
  std::string error;
  if (!ParseArgs(argc, argv, 2, &a, &error)) return Usage(error);
  if (cmd == "info") return CmdInfo(a);
  if (cmd == "run") return CmdRun(a);
  if (cmd == "eval") return CmdEval(a);
  if (cmd == "train") return CmdTrain(a);
  if (cmd == "quantize") return CmdQuantize(a);
  if (cmd == "export") return CmdExport(a);
  if (cmd == "qat") return CmdQat(a);
  if (cmd == "sweep") return CmdSweep(a);
  if (cmd == "analyze") return CmdAnalyze(a);
  return Usage("unknown command '" + cmd + "'");
}
