// Quantizer placement: where quantizers go in a prepared graph and with which spec, as ONNX
// Runtime's QDQ quantizer places them (inputs and outputs of quantized ops, a shared tensor
// quantized once, pass-through ops keep their input's parameters), so the QDQ graph built from the
// plan lowers completely onto core/int8's Int8Executor.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/graph.h"
#include "core/quant/quantizer.h"
#include "core/workflows/prepare.h"
#include "core/workflows/quant_config.h"

namespace qp::workflows {

// One quantizer. Weight sites are initializers (input 1 of Conv/Gemm/MatMul); activation sites are
// values (graph inputs or node outputs; after a fusion, the activation's output).
struct QuantSite {
  std::string tensor;  // value / initializer name in the prepared graph
  std::string layer;   // node whose config it follows (weights: the consumer; activations: the
                       // producer, or the first quantized consumer for graph inputs and for
                       // outputs of skipped layers)
  quant::QuantRole role = quant::QuantRole::kActivation;
  quant::QuantSpec spec;
  std::optional<int> axis;  // per-channel axis (weights): 0 for Conv and Gemm transB=1, else 1
  CalibMethod calibrator = CalibMethod::kMax;
  double percentile = 99.99;
  // Pass-through (MaxPool, Flatten, Reshape, Identity): the tensor reuses the parameters of the
  // site of this other tensor (its input); "" otherwise.
  std::string shared_from;
};

// Ops the planner quantizes; anything else stays float (its quantized inputs are dequantized).
bool IsQuantizableOp(const std::string& op_type);
// Ops whose output keeps the input's quantization (ORT: MaxPool, Flatten, Reshape, Identity...).
bool IsPassThroughOp(const std::string& op_type);

struct QuantPlan {
  Graph graph;  // the prepared graph the sites refer to
  QuantConfig config;
  std::vector<QuantSite> sites;              // weights and activations, in graph order
  std::vector<std::string> quantized_layers;  // nodes that run quantized
  std::vector<std::string> skipped_layers;    // skipped by the config
  std::vector<Fusion> fusions;

  // nullptr / -1 if the tensor has no quantizer.
  const QuantSite* FindSite(const std::string& tensor) const;
  int SiteIndex(const std::string& tensor) const;
};

// Places the quantizers. Errors: the config names a layer the graph does not have, a spec the
// math refuses (bits), per_channel on an activation, a graph that fails validation.
Result<QuantPlan> PlanQuantization(const Graph& prepared, const QuantConfig& config);

// PrepareForQuantization + PlanQuantization.
Result<QuantPlan> PrepareAndPlan(const Graph& graph, const QuantConfig& config);

}  // namespace qp::workflows
