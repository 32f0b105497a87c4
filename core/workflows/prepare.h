// Graph preparation for quantization: BatchNormalization folded into the preceding Conv/Gemm
// (exact in real arithmetic; checked against the unfolded graph in fp32 by tests/workflows), and
// the fusions that decide quantizer placement (no quantizer between an op and its activation), as
// ONNX Runtime's QDQ quantizer and the int8 kernels (core/int8) treat them.
#pragma once

#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/graph.h"

namespace qp::workflows {

struct PrepareReport {
  std::vector<std::string> folded_batchnorms;  // "bn1 -> conv1"
};

// Folds every BatchNormalization whose input is the only use of a Conv (or Gemm with transB=1 /
// transB=0, alpha=beta=1) output with constant weights: W' = W * g / sqrt(var + eps) per output
// channel, b' = (b - mean) * g / sqrt(var + eps) + beta (computed in double, stored as float).
// The BN node disappears; its output name is kept (the Conv now writes it) so later node names and
// graph outputs are unchanged. Other BNs stay. Errors: invalid graph, BN parameters not constant
// or of the wrong size, var + eps <= 0. `report` (optional) lists what was folded.
Result<Graph> PrepareForQuantization(const Graph& graph, PrepareReport* report = nullptr);

// A quantizer-placement fusion: `op` (Conv, Gemm, MatMul, Add) whose only consumer is `activation`
// (Relu, or Clip with constant min 0 and max > 0, e.g. ReLU6). The quantizer goes after the
// activation; the op's own output is never quantized.
struct Fusion {
  std::string op;          // node name
  std::string activation;  // node name
  std::string output;      // the activation's output value (where the quantizer sits)
};
std::vector<Fusion> FindFusions(const Graph& graph);

}  // namespace qp::workflows
