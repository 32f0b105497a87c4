// qplay: the native command-line front end over core/session (batch work and verification).
// Errors go to stderr with exit code 1; usage errors exit with 2. Every command works on any
// supported ONNX model; `demo:NAME` names an untrained demo architecture instead of a file.
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
  return Usage("unknown command '" + cmd + "'");
}
