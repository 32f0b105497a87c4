// QuantConfig: presets, validation and the JSON form (see quant_config.h and README.md).
#include "core/workflows/quant_config.h"

#include <cmath>
#include <set>

#include "core/base/json.h"

namespace qp::workflows {

const char* CalibMethodName(CalibMethod m) {
  switch (m) {
    case CalibMethod::kMax: return "max";
    case CalibMethod::kPercentile: return "percentile";
    case CalibMethod::kMse: return "mse";
    case CalibMethod::kEntropy: return "entropy";
    case CalibMethod::kMinMax: return "minmax";
  }
  return "unknown";
}

Result<CalibMethod> ParseCalibMethod(const std::string& name) {
  for (CalibMethod m : {CalibMethod::kMax, CalibMethod::kPercentile, CalibMethod::kMse,
                        CalibMethod::kEntropy, CalibMethod::kMinMax})
    if (name == CalibMethodName(m)) return m;
  return InvalidArgument("calibrator '", name,
                         "' is not known; choose max, percentile, mse, entropy or minmax");
}

quant::QuantSpec TensorQuantConfig::Spec() const {
  quant::QuantSpec s;
  s.bits = bits;
  s.is_signed = is_signed;
  s.narrow_range = narrow_range;
  s.scheme = symmetric ? quant::Scheme::kSymmetric : quant::Scheme::kAffine;
  return s;
}

const TensorQuantConfig& QuantConfig::WeightsFor(const std::string& layer) const {
  auto it = layers.find(layer);
  return it != layers.end() && it->second.weights ? *it->second.weights : weights;
}
const TensorQuantConfig& QuantConfig::ActivationsFor(const std::string& layer) const {
  auto it = layers.find(layer);
  return it != layers.end() && it->second.activations ? *it->second.activations : activations;
}
bool QuantConfig::Skipped(const std::string& layer) const {
  auto it = layers.find(layer);
  return it != layers.end() && it->second.skip;
}

bool operator==(const TensorQuantConfig& a, const TensorQuantConfig& b) {
  return a.bits == b.bits && a.is_signed == b.is_signed && a.symmetric == b.symmetric &&
         a.narrow_range == b.narrow_range && a.per_channel == b.per_channel &&
         a.calibrator == b.calibrator && a.percentile == b.percentile;
}
bool operator==(const LayerQuantConfig& a, const LayerQuantConfig& b) {
  return a.skip == b.skip && a.weights == b.weights && a.activations == b.activations;
}
bool operator==(const QuantConfig& a, const QuantConfig& b) {
  return a.preset == b.preset && a.weights == b.weights && a.activations == b.activations &&
         a.layers == b.layers;
}

namespace {

TensorQuantConfig Weights(int bits, bool narrow) {
  TensorQuantConfig t;
  t.bits = bits;
  t.is_signed = true;
  t.symmetric = true;
  t.narrow_range = narrow;
  t.per_channel = true;
  t.calibrator = CalibMethod::kMax;
  return t;
}

TensorQuantConfig UnsignedAffine(int bits, CalibMethod m) {
  TensorQuantConfig t;
  t.bits = bits;
  t.is_signed = false;
  t.symmetric = false;
  t.calibrator = m;
  return t;
}

}  // namespace

const std::vector<std::string>& PresetNames() {
  static const std::vector<std::string> names = {"int8", "int8_s8", "trt_w8a8", "w4a8", "w4a4", "w3a3"};
  return names;
}

Result<QuantConfig> PresetConfig(const std::string& name) {
  QuantConfig c;
  c.preset = name;
  if (name == "int8") {
    c.weights = Weights(8, false);
    c.activations = UnsignedAffine(8, CalibMethod::kMinMax);
  } else if (name == "int8_s8") {
    c.weights = Weights(8, false);
    c.activations = UnsignedAffine(8, CalibMethod::kMinMax);
    c.activations.is_signed = true;
  } else if (name == "trt_w8a8") {
    c.weights = Weights(8, true);
    c.activations.bits = 8;
    c.activations.is_signed = true;
    c.activations.symmetric = true;
    c.activations.calibrator = CalibMethod::kPercentile;
  } else if (name == "w4a8" || name == "w4a4" || name == "w3a3") {
    const int wb = name == "w3a3" ? 3 : 4;
    const int ab = name == "w4a8" ? 8 : name == "w4a4" ? 4 : 3;
    c.weights = Weights(wb, false);
    c.activations = UnsignedAffine(ab, CalibMethod::kPercentile);
  } else {
    std::string list;
    for (const std::string& n : PresetNames()) list += (list.empty() ? "" : ", ") + n;
    return NotFound("quantization preset '", name, "' does not exist; choose ", list);
  }
  return c;
}

namespace {

Status ValidateTensor(const TensorQuantConfig& t, bool weights, const std::string& where) {
  const char* role = weights ? "weights" : "activations";
  const bool bits_ok = (t.bits >= 2 && t.bits <= 8) || (!weights && t.bits == 16);
  if (!bits_ok)
    return OutOfRange(where, ".", role, ".bits is ", t.bits, "; it must be 2..8",
                      weights ? "" : " (or 16, simulation only)");
  if (t.per_channel && !weights)
    return InvalidArgument(where, ".activations.per_channel is true; per-channel quantization is "
                           "for weights only");
  if (t.calibrator == CalibMethod::kMinMax && t.symmetric)
    return InvalidArgument(where, ".", role, ".calibrator 'minmax' needs an affine scheme "
                           "(symmetric: false); symmetric specs use max, percentile, mse or entropy");
  if (t.calibrator == CalibMethod::kPercentile && !(t.percentile > 0 && t.percentile <= 100))
    return OutOfRange(where, ".", role, ".percentile is ", t.percentile, "; it must be in (0, 100]");
  if (weights && t.per_channel && t.calibrator == CalibMethod::kEntropy)
    return InvalidArgument(where, ".weights.calibrator 'entropy' is not available per channel "
                           "(a KL histogram per channel of a small weight tensor is meaningless); "
                           "use max, percentile or mse");
  if (!quant::IntegerRange(t.Spec()).ok())
    return OutOfRange(where, ".", role, ": ", quant::IntegerRange(t.Spec()).status().message());
  return Status::Ok();
}

}  // namespace

Status ValidateQuantConfig(const QuantConfig& config, const Graph* graph) {
  QP_RETURN_IF_ERROR(ValidateTensor(config.weights, true, "config"));
  QP_RETURN_IF_ERROR(ValidateTensor(config.activations, false, "config"));
  std::set<std::string> names;
  if (graph) {
    for (const Node& n : graph->nodes) names.insert(n.name);
    for (const ValueInfo& v : graph->inputs) names.insert(v.name);
  }
  for (const auto& [name, layer] : config.layers) {
    const std::string where = "config.layers." + name;
    if (graph && !names.count(name))
      return NotFound("config: layer '", name, "' is not a node (or input) of graph '", graph->name,
                      "'");
    if (layer.weights) QP_RETURN_IF_ERROR(ValidateTensor(*layer.weights, true, where));
    if (layer.activations) QP_RETURN_IF_ERROR(ValidateTensor(*layer.activations, false, where));
  }
  return Status::Ok();
}

namespace {

const std::vector<std::string> kTensorKeys = {"bits",        "signed",     "symmetric", "narrow_range",
                                              "per_channel", "calibrator", "percentile"};

// Applies the keys present in `c` over `t`.
Status ReadTensor(const json::Cursor& c, TensorQuantConfig* t) {
  QP_RETURN_IF_ERROR(c.CheckObject());
  QP_RETURN_IF_ERROR(c.CheckKeys(kTensorKeys));
  if (c.Has("bits")) {
    QP_ASSIGN_OR_RETURN(int64_t bits, c["bits"].IntInRange(1, 64));
    t->bits = static_cast<int>(bits);
  }
  QP_ASSIGN_OR_RETURN(t->is_signed, c.BoolOr("signed", t->is_signed));
  QP_ASSIGN_OR_RETURN(t->symmetric, c.BoolOr("symmetric", t->symmetric));
  QP_ASSIGN_OR_RETURN(t->narrow_range, c.BoolOr("narrow_range", t->narrow_range));
  QP_ASSIGN_OR_RETURN(t->per_channel, c.BoolOr("per_channel", t->per_channel));
  if (c.Has("calibrator")) {
    QP_ASSIGN_OR_RETURN(std::string name, c.String("calibrator"));
    Result<CalibMethod> m = ParseCalibMethod(name);
    if (!m.ok()) return InvalidArgument(c.path(), ".calibrator: ", m.status().message());
    t->calibrator = *m;
  }
  QP_ASSIGN_OR_RETURN(t->percentile, c.NumberOr("percentile", t->percentile));
  return Status::Ok();
}

json::Value TensorToJson(const TensorQuantConfig& t) {
  json::Value v = json::Value::Object();
  v.Set("bits", t.bits);
  v.Set("signed", t.is_signed);
  v.Set("symmetric", t.symmetric);
  v.Set("narrow_range", t.narrow_range);
  v.Set("per_channel", t.per_channel);
  v.Set("calibrator", CalibMethodName(t.calibrator));
  v.Set("percentile", t.percentile);
  return v;
}

}  // namespace

Result<QuantConfig> ParseQuantConfig(const std::string& text, const Graph* graph) {
  QP_ASSIGN_OR_RETURN(json::Value root, json::Parse(text));
  json::Cursor c(root, "config");
  QP_RETURN_IF_ERROR(c.CheckObject());
  QP_RETURN_IF_ERROR(c.CheckKeys({"preset", "weights", "activations", "layers"}));
  QuantConfig config;
  if (c.Has("preset")) {
    QP_ASSIGN_OR_RETURN(std::string preset, c.String("preset"));
    QP_ASSIGN_OR_RETURN(config, PresetConfig(preset));
  } else {
    QP_ASSIGN_OR_RETURN(config, PresetConfig("int8"));
    config.preset = "";
  }
  if (c.Has("weights") || c.Has("activations") || c.Has("layers")) {
    if (c.Has("weights")) QP_RETURN_IF_ERROR(ReadTensor(c["weights"], &config.weights));
    if (c.Has("activations")) QP_RETURN_IF_ERROR(ReadTensor(c["activations"], &config.activations));
  }
  if (c.Has("layers")) {
    json::Cursor layers = c["layers"];
    QP_ASSIGN_OR_RETURN(std::vector<std::string> keys, layers.Keys());
    for (const std::string& name : keys) {
      json::Cursor l = layers[name];
      QP_RETURN_IF_ERROR(l.CheckObject());
      QP_RETURN_IF_ERROR(l.CheckKeys({"skip", "weights", "activations"}));
      LayerQuantConfig lc;
      QP_ASSIGN_OR_RETURN(lc.skip, l.BoolOr("skip", false));
      if (l.Has("weights")) {
        TensorQuantConfig t = config.weights;
        QP_RETURN_IF_ERROR(ReadTensor(l["weights"], &t));
        lc.weights = t;
      }
      if (l.Has("activations")) {
        TensorQuantConfig t = config.activations;
        QP_RETURN_IF_ERROR(ReadTensor(l["activations"], &t));
        lc.activations = t;
      }
      config.layers[name] = lc;
    }
  }
  QP_RETURN_IF_ERROR(ValidateQuantConfig(config, graph));
  return config;
}

std::string QuantConfigToJson(const QuantConfig& config) {
  json::Value root = json::Value::Object();
  if (!config.preset.empty()) root.Set("preset", config.preset);
  root.Set("weights", TensorToJson(config.weights));
  root.Set("activations", TensorToJson(config.activations));
  json::Value layers = json::Value::Object();
  for (const auto& [name, l] : config.layers) {
    json::Value v = json::Value::Object();
    v.Set("skip", l.skip);
    if (l.weights) v.Set("weights", TensorToJson(*l.weights));
    if (l.activations) v.Set("activations", TensorToJson(*l.activations));
    layers.Set(name, std::move(v));
  }
  root.Set("layers", std::move(layers));
  json::WriteOptions o;
  o.indent = 2;
  return json::Write(root, o);
}

}  // namespace qp::workflows
