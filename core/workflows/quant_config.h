// Quantization configuration: defaults for weights and activations, per-layer overrides by node
// name, and named presets (ONNX Runtime int8, TensorRT W8A8, W4A8, W4A4, W3A3). The JSON form is
// documented in core/workflows/README.md; ParseQuantConfig validates it against a graph.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/graph.h"
#include "core/quant/qparams.h"

namespace qp::workflows {

// How a tensor's range is chosen. kMax / kPercentile / kMse / kEntropy are quant::AmaxMethod on the
// |x| histogram (symmetric amax; for affine specs the signed range clipped to amax); kMinMax is the
// observed [min, max] (affine only).
enum class CalibMethod : uint8_t { kMax, kPercentile, kMse, kEntropy, kMinMax };
const char* CalibMethodName(CalibMethod m);  // "max", "percentile", "mse", "entropy", "minmax"
Result<CalibMethod> ParseCalibMethod(const std::string& name);

// One tensor's quantization. bits 2..8 (16 allowed for activations: simulation only, no int16
// kernels yet). per_channel applies to weights only (axis = output channel).
struct TensorQuantConfig {
  int bits = 8;
  bool is_signed = true;
  bool symmetric = true;
  bool narrow_range = false;
  bool per_channel = false;
  CalibMethod calibrator = CalibMethod::kMax;
  double percentile = 99.99;  // for kPercentile, in (0, 100]

  quant::QuantSpec Spec() const;
};

// Per-layer override (key: node name of the prepared graph, or a graph input name for the input's
// activation quantizer). Unset fields take the config's defaults.
struct LayerQuantConfig {
  bool skip = false;  // keep the layer float: no weight quantizer, no output quantizer of its own
  std::optional<TensorQuantConfig> weights;
  std::optional<TensorQuantConfig> activations;  // the layer's output activation
};

struct QuantConfig {
  std::string preset;  // name it was built from ("" = custom)
  TensorQuantConfig weights;
  TensorQuantConfig activations;
  std::map<std::string, LayerQuantConfig> layers;

  // Effective configs for a layer (override or default).
  const TensorQuantConfig& WeightsFor(const std::string& layer) const;
  const TensorQuantConfig& ActivationsFor(const std::string& layer) const;
  bool Skipped(const std::string& layer) const;
};

// Presets:
//   "int8"      ONNX Runtime QDQ default: weights s8 symmetric per channel (max), activations u8
//               affine (minmax). "int8_s8" is the same with s8 affine activations.
//   "trt_w8a8"  TensorRT: every zero point 0; weights s8 symmetric narrow [-127, 127] per channel
//               (max); activations s8 symmetric (percentile 99.99).
//   "w4a8", "w4a4", "w3a3": weights signed symmetric per channel (max) at 4 / 4 / 3 bits;
//               activations unsigned affine at 8 / 4 / 3 bits, percentile 99.99 (signed range
//               clipped to the percentile amax). Simulation only below 8 bits (no 4-bit export
//               at opset 13).
const std::vector<std::string>& PresetNames();
Result<QuantConfig> PresetConfig(const std::string& name);

// Checks ranges and combinations: bits in [2, 8] (16 for activations), percentile in (0, 100],
// minmax only for affine, per_channel only for weights, and (with a graph) that every layer name
// exists. Messages name the layer and the field.
Status ValidateQuantConfig(const QuantConfig& config, const Graph* graph);

// JSON: {"preset": "int8", "weights": {...}, "activations": {...}, "layers": {"conv1": {"skip":
// true}, "fc2": {"weights": {"bits": 4}}}}. A preset gives the starting point; "weights" /
// "activations" keys override its fields; layer entries override the resulting defaults per field.
// Unknown keys, wrong types, unknown layers (when graph != nullptr) are errors with line:col.
Result<QuantConfig> ParseQuantConfig(const std::string& json, const Graph* graph);
// Complete form (every field written); ParseQuantConfig(QuantConfigToJson(c)) == c.
std::string QuantConfigToJson(const QuantConfig& config);

bool operator==(const TensorQuantConfig& a, const TensorQuantConfig& b);
bool operator==(const LayerQuantConfig& a, const LayerQuantConfig& b);
bool operator==(const QuantConfig& a, const QuantConfig& b);

}  // namespace qp::workflows
