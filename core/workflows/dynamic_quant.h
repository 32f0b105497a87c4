// Dynamic quantization of Gemm/MatMul (ONNX Runtime's quantize_dynamic): weights int8 symmetric
// (per output channel or per tensor) computed once; each batch's activation is quantized at run
// time to uint8 with DynamicQuantizeLinear's rule (range of the batch extended to 0, affine), the
// product is MatMulInteger in int32, then scaled by x_scale * w_scale and the float bias added.
// Everything else runs on the fp32 reference ops.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/graph.h"
#include "core/graph/tensor.h"
#include "core/quant/qparams.h"

namespace qp::workflows {

struct DynamicQuantOptions {
  bool per_channel = true;
  std::vector<std::string> skip;  // node names kept float
};

class DynamicQuantizedModel {
 public:
  // Quantizes every Gemm (alpha = beta = 1, transA = 0) and 2-D MatMul with a constant weight.
  // Errors: invalid graph, a skip name that is no node.
  static Result<std::unique_ptr<DynamicQuantizedModel>> Create(const Graph& graph,
                                                               const DynamicQuantOptions& options = {});
  Result<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs) const;
  const std::vector<std::string>& quantized_layers() const { return layers_; }
  const quant::TensorQParams* WeightParams(const std::string& layer) const;

 private:
  DynamicQuantizedModel() = default;
  struct Layer {
    Tensor wq;  // int8 [K, N] (column n = output n)
    quant::TensorQParams params;
    const Tensor* bias = nullptr;  // into graph_.initializers
  };
  Graph graph_;
  std::vector<size_t> order_;
  std::map<std::string, Layer> by_node_;
  std::vector<std::string> layers_;
};

}  // namespace qp::workflows
