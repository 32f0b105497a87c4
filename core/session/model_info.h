// What a model is, for the CLI's `info`, the playground's layer list and the analysis tables:
// per node its op, output shape, parameter count and multiply-accumulate count (MACs) at a given
// batch, plus totals. MACs follow the usual convention: one multiply-add per weight use
// (Conv: N*Hout*Wout*Cout*(Cin/group)*kH*kW; Gemm/MatMul: M*N*K; elementwise and pooling ops 0).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/graph.h"

namespace qp {

struct LayerInfo {
  std::string name;      // node name (or its first output when the node is unnamed)
  std::string op;        // op type
  std::vector<std::string> inputs, outputs;
  Shape output_shape;    // first output, kDynamicDim where unknown
  int64_t params = 0;    // elements of float/int initializers the node consumes as weights/biases
  int64_t macs = 0;      // at the batch given to DescribeGraph
};

struct ModelInfo {
  std::string name;
  std::string producer;
  int64_t opset = 0;
  std::vector<ValueInfo> inputs, outputs;
  std::vector<LayerInfo> layers;         // topological order
  std::map<std::string, int> op_counts;  // op type -> number of nodes
  int64_t total_params = 0;              // every initializer element, counted once
  int64_t total_macs = 0;
  int64_t batch = 1;
};

// Describes a graph after shape inference at `batch` (symbolic batch dims set to it). The graph is
// validated first; errors name the node.
Result<ModelInfo> DescribeGraph(const Graph& graph, int64_t batch = 1);

// A fixed-width text table of ModelInfo (the CLI prints it).
std::string FormatModelInfo(const ModelInfo& info);

}  // namespace qp
