// Float graphs built in code that together use every float op of the executor (with the awkward
// attributes: groups, depthwise, dilations, asymmetric pads, auto_pad, ceil_mode,
// count_include_pad, Gemm alpha/beta/trans, reflect/edge Pad, Reshape 0/-1, opset-13 Squeeze/
// Unsqueeze inputs). Used by the export round-trip test and by qp_onnx_tool (onnxruntime check).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/graph/graph.h"

namespace qp::testing {

struct TestModel {
  std::string name;
  Graph graph;
  Shape input_shape;  // a concrete shape to run with (batch 2)
};

// Deterministic for a given seed.
std::vector<TestModel> ExportTestModels(uint64_t seed);

}  // namespace qp::testing
