// Byte- and JSON-level helpers over Session (see session_io.h).
#include "core/session/session_io.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <utility>

#include "core/data/dataset.h"
#include "core/data/fashion_mnist.h"
#include "core/workflows/quant_config.h"

namespace qp {
namespace {

// Minimal JSON text building for the snapshot: strings escaped per RFC 8259, non-finite -> null.
void AppendString(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void AppendNumber(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  out += buf;
}

void AppendInt(std::string& out, int64_t v) { out += std::to_string(v); }

void AppendShape(std::string& out, const Shape& shape, bool has_shape = true) {
  if (!has_shape) {
    out += "null";
    return;
  }
  out += '[';
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ',';
    if (shape[i] < 0) out += "null";  // dynamic dim
    else AppendInt(out, shape[i]);
  }
  out += ']';
}

void AppendValueInfos(std::string& out, const std::vector<ValueInfo>& values) {
  out += '[';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += "{\"name\":";
    AppendString(out, values[i].name);
    out += ",\"dtype\":";
    AppendString(out, DTypeName(values[i].dtype));
    out += ",\"shape\":";
    AppendShape(out, values[i].shape, values[i].has_shape);
    out += '}';
  }
  out += ']';
}

void AppendModel(std::string& out, const Session& s) {
  if (!s.has_model()) {
    out += "null";
    return;
  }
  out += "{\"name\":";
  AppendString(out, s.model_name());
  Result<ModelInfo> info = s.Info(1);
  if (!info.ok()) {
    out += ",\"error\":";
    AppendString(out, info.status().ToString());
    out += '}';
    return;
  }
  const ModelInfo& m = info.value();
  out += ",\"opset\":";
  AppendInt(out, m.opset);
  out += ",\"inputs\":";
  AppendValueInfos(out, m.inputs);
  out += ",\"outputs\":";
  AppendValueInfos(out, m.outputs);
  out += ",\"params\":";
  AppendInt(out, m.total_params);
  out += ",\"macs\":";
  AppendInt(out, m.total_macs);
  out += ",\"layers\":[";
  for (size_t i = 0; i < m.layers.size(); ++i) {
    const LayerInfo& l = m.layers[i];
    if (i) out += ',';
    out += "{\"name\":";
    AppendString(out, l.name);
    out += ",\"op\":";
    AppendString(out, l.op);
    out += ",\"outputShape\":";
    AppendShape(out, l.output_shape);
    out += ",\"params\":";
    AppendInt(out, l.params);
    out += ",\"macs\":";
    AppendInt(out, l.macs);
    out += '}';
  }
  out += "]}";
}

void AppendData(std::string& out, const Session& s) {
  out += '{';
  const DataRole roles[] = {DataRole::kTrain, DataRole::kCalibration, DataRole::kTest};
  for (size_t i = 0; i < 3; ++i) {
    if (i) out += ',';
    AppendString(out, DataRoleName(roles[i]));
    out += ':';
    const data::Dataset* d = s.dataset(roles[i]);
    if (d == nullptr) {
      out += "null";
      continue;
    }
    out += "{\"samples\":";
    AppendInt(out, d->size());
    out += ",\"numClasses\":";
    AppendInt(out, d->num_classes);
    out += ",\"sampleShape\":";
    const Shape& shape = d->images.shape();
    AppendShape(out, Shape(shape.begin() + 1, shape.end()));
    out += '}';
  }
  out += '}';
}

void AppendTraining(std::string& out, const Session& s) {
  out += "{\"active\":";
  out += s.training() ? "true" : "false";
  out += ",\"history\":[";
  const std::vector<train::StepResult>& h = s.training_history();
  for (size_t i = 0; i < h.size(); ++i) {
    if (i) out += ',';
    out += "{\"step\":";
    AppendInt(out, h[i].step);
    out += ",\"epoch\":";
    AppendInt(out, h[i].epoch);
    out += ",\"loss\":";
    AppendNumber(out, h[i].loss);
    out += ",\"accuracy\":";
    AppendNumber(out, h[i].accuracy);
    out += ",\"lr\":";
    AppendNumber(out, h[i].lr);
    out += '}';
  }
  out += "]}";
}

void AppendQuant(std::string& out, const Session& s) {
  out += "{\"config\":";
  const workflows::QuantConfig* c = s.quant_config();
  out += c != nullptr ? workflows::QuantConfigToJson(*c) : std::string("null");
  out += ",\"calibrating\":";
  out += s.calibrating() ? "true" : "false";
  out += ",\"progress\":";
  AppendNumber(out, s.calibration_progress());
  out += ",\"quantized\":";
  out += s.quantized_model() != nullptr ? "true" : "false";
  out += ",\"generation\":";
  AppendInt(out, static_cast<int64_t>(s.quantized_generation()));
  out += ",\"params\":";
  Result<std::string> params = s.QuantParamsJson();
  out += params.ok() ? params.value() : std::string("null");
  out += ",\"qat\":{\"active\":";
  const workflows::QatTrainer* qat = s.qat();
  out += qat != nullptr ? "true" : "false";
  out += ",\"history\":[";
  if (qat != nullptr) {
    const std::vector<workflows::QatStepRecord>& h = qat->history();
    for (size_t i = 0; i < h.size(); ++i) {
      if (i) out += ',';
      out += "{\"step\":";
      AppendInt(out, h[i].step);
      out += ",\"epoch\":";
      AppendInt(out, h[i].epoch);
      out += ",\"loss\":";
      AppendNumber(out, h[i].loss);
      out += ",\"accuracy\":";
      AppendNumber(out, h[i].accuracy);
      out += ",\"lr\":";
      AppendNumber(out, h[i].lr);
      out += ",\"clipFraction\":";
      AppendNumber(out, h[i].clip_fraction);
      out += '}';
    }
  }
  out += "]}}";
}

}  // namespace

Result<DataRole> ParseDataRole(const std::string& name) {
  for (DataRole r : {DataRole::kTrain, DataRole::kCalibration, DataRole::kTest}) {
    if (name == DataRoleName(r)) return r;
  }
  return InvalidArgument("data role '", name, "' is unknown; use train, calibration or test");
}

Status SetDataFromBytes(Session& session, DataRole role, const std::string& images,
                        const std::string& labels, int64_t num_classes, const std::string& name) {
  if (num_classes < 2 || num_classes > 100000)
    return InvalidArgument("data '", name, "': ", num_classes, " classes; need 2..100000");
  const std::vector<uint8_t> ib(images.begin(), images.end());
  const std::vector<uint8_t> lb(labels.begin(), labels.end());
  QP_ASSIGN_OR_RETURN(Tensor it, data::ParseTensorBytes(ib, name + " images"));
  QP_ASSIGN_OR_RETURN(Tensor lt, data::ParseTensorBytes(lb, name + " labels"));
  QP_ASSIGN_OR_RETURN(data::Dataset ds, data::MakeDataset(it, lt, num_classes, name));
  return session.SetData(role, std::move(ds));
}

std::vector<std::string> ListBuiltinModels(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::filesystem::path& p = it->path();
    if (p.extension() == ".onnx") names.push_back(p.stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status LoadBuiltinModel(Session& session, const std::string& dir, const std::string& name) {
  const std::vector<std::string> names = ListBuiltinModels(dir);
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    std::string known;
    for (const std::string& n : names) known += (known.empty() ? "" : ", ") + n;
    return NotFound("built-in model '", name, "' does not exist (this build has: ",
                    known.empty() ? std::string("none") : known, ")");
  }
  return session.LoadModelFile(dir + "/" + name + ".onnx");
}

Status LoadBuiltinData(Session& session, DataRole role, const std::string& dir) {
  const char* prefix = role == DataRole::kTest ? "test" : "calib";
  Result<data::Dataset> ds = data::LoadIdxDataset(dir, prefix);
  if (!ds.ok())
    return ds.status().WithContext(std::string("built-in Fashion-MNIST subset (") + prefix +
                                   " split; this build may not embed it)");
  return session.SetData(role, std::move(ds).value());
}

Status CalibrateAndQuantize(Session& session, const workflows::CalibrationOptions& options) {
  QP_RETURN_IF_ERROR(session.StartCalibration(options));
  double progress = 0;
  while (progress < 1.0) {
    Result<double> p = session.CalibrateStep();
    if (!p.ok()) {
      session.CancelCalibration();
      return p.status();
    }
    if (!(p.value() > progress)) break;  // no progress: stop rather than loop (Quantize checks)
    progress = p.value();
  }
  return session.Quantize();
}

Result<workflows::ExecMode> ParseExecMode(const std::string& name) {
  for (workflows::ExecMode m : {workflows::ExecMode::kFloat, workflows::ExecMode::kSimulated,
                                workflows::ExecMode::kInt8}) {
    if (name == workflows::ExecModeName(m)) return m;
  }
  return InvalidArgument("execution mode '", name, "' is unknown; use float, simulated or int8");
}

namespace {
std::vector<float> Concatenate(const std::vector<Tensor>& outs) {
  size_t total = 0;
  for (const Tensor& t : outs) total += static_cast<size_t>(t.numel());
  std::vector<float> flat;
  flat.reserve(total);
  for (const Tensor& t : outs) {
    const std::vector<float> v = t.ToFloatVector();
    flat.insert(flat.end(), v.begin(), v.end());
  }
  return flat;
}
}  // namespace

Result<std::vector<float>> RunQuantizedConcatenated(const Session& session, workflows::ExecMode mode,
                                                    const float* values, size_t count,
                                                    const RunOptions& run) {
  if (!session.has_model()) return FailedPrecondition("run: no model is loaded");
  // The batch is inferred as in Session::RunFloat (which only runs the float model).
  const ValueInfo& in = session.graph().inputs[0];
  int64_t per = 1;
  for (size_t i = 1; i < in.shape.size(); ++i) {
    if (in.shape[i] < 0)
      return InvalidArgument("run: input '", in.name, "' has an unknown dim ", i,
                             " besides the batch; the batch cannot be inferred");
    per *= in.shape[i];
  }
  if (in.shape.empty() || count == 0 || per == 0 || count % static_cast<size_t>(per) != 0)
    return InvalidArgument("run: ", count, " input values are not a whole number of samples of ",
                           per, " values (input '", in.name, "')");
  Shape shape = in.shape;
  shape[0] = static_cast<int64_t>(count) / per;
  Tensor t(DType::kFloat32, shape);
  std::copy(values, values + count, t.f32());
  QP_ASSIGN_OR_RETURN(std::vector<Tensor> outs, session.RunQuantized(mode, t, run));
  return Concatenate(outs);
}

Result<std::vector<float>> RunConcatenated(const Session& session, const float* values,
                                           size_t count, const RunOptions& run) {
  QP_ASSIGN_OR_RETURN(std::vector<Tensor> outs, session.RunFloat(values, count, run));
  size_t total = 0;
  for (const Tensor& t : outs) total += static_cast<size_t>(t.numel());
  std::vector<float> flat;
  flat.reserve(total);
  for (const Tensor& t : outs) {
    const std::vector<float> v = t.ToFloatVector();
    flat.insert(flat.end(), v.begin(), v.end());
  }
  return flat;
}

std::string SessionStateJson(const Session& session) {
  std::string out = "{\"model\":";
  AppendModel(out, session);
  out += ",\"data\":";
  AppendData(out, session);
  out += ",\"training\":";
  AppendTraining(out, session);
  out += ",\"quant\":";
  AppendQuant(out, session);
  out += '}';
  return out;
}

}  // namespace qp
