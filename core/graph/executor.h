// The fp32 reference executor: prepares a validated graph (topological order, constant folding of
// initializer-only subgraphs, shape inference) and runs it single-threaded, the batch inferred from
// the inputs. Numerically it is the ONNX definition of each op (ops.h); quantized paths are
// measured against it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/graph.h"
#include "core/graph/tensor.h"

namespace qp {

// Runs one node on concrete inputs (nullptr for omitted optional inputs); fills one Tensor per node
// output (omitted optional outputs get an empty Tensor). Errors carry the node's description.
Status RunNode(const Node& node, int64_t opset, const std::vector<const Tensor*>& inputs,
               std::vector<Tensor>* outputs);

// Output dtypes/shapes of one node from its inputs' ValueInfos; `constants[i]` is the value of
// input i when it is known before run time (an initializer), else nullptr. Unknown dims come out
// as kDynamicDim, an unknown rank as has_shape = false.
Status InferNode(const Node& node, int64_t opset, const std::vector<const ValueInfo*>& inputs,
                 const std::vector<const Tensor*>& constants, std::vector<ValueInfo>* outputs);

// Replaces every node whose inputs are all initializers by initializers holding its outputs
// (repeatedly, so whole initializer-only subgraphs fold). Outputs larger than `max_elements` are
// left unfolded. Returns the number of folded nodes.
Result<int> FoldConstants(Graph* g, int64_t max_elements = int64_t{1} << 24);

// Fills g->value_info for every node output (and checks the declared graph outputs agree). Values
// whose known dims (unknown ones counted as 1) exceed max_elements are an error.
Status InferShapes(Graph* g, int64_t max_elements = GraphLimits().max_tensor_elements);

// Bytes of a value for one sample: its ValueInfo shape with unknown dims (the batch) as 1; 0 for
// an unknown rank. Saturates at 2^62, as SaturatingAdd does.
int64_t ValueBytesPerSample(const ValueInfo& v);
int64_t SaturatingAdd(int64_t a, int64_t b);

// Wall time of one executed node (Executor::RunProfiled), in execution order.
struct NodeTime {
  std::string node;  // node name
  std::string op;    // op type
  double us = 0;     // wall time of the node's kernel and its output bookkeeping, microseconds
};

struct ExecutorOptions {
  GraphLimits limits;
  bool fold_constants = true;
};

class Executor {
 public:
  // Validates (ValidateGraph + every node supported at g.opset), orders, folds and infers.
  static Result<Executor> Create(Graph g, const ExecutorOptions& options = {});

  // Inputs in graph input order; outputs in graph output order. Each input must have the declared
  // dtype and rank and match every known dim ("input 'x': dim 1 is 3; the model expects 1").
  Result<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs) const;
  Result<std::vector<Tensor>> Run(const std::map<std::string, Tensor>& inputs) const;
  // Run that also records the wall time of every node (steady clock), for the per-layer
  // benchmark. Same outputs as Run, bit for bit; Run itself takes no timestamps.
  Result<std::vector<Tensor>> RunProfiled(const std::vector<Tensor>& inputs,
                                          std::vector<NodeTime>* times) const;

  const Graph& graph() const { return graph_; }
  int folded_nodes() const { return folded_; }
  // The most bytes of values a run holds at once per sample (inputs, and node outputs until their
  // last reader; kernel scratch not included): a run of batch N needs about N times this.
  int64_t peak_bytes_per_sample() const { return peak_bytes_per_sample_; }

 private:
  Executor() = default;
  // The run loop; `times` == nullptr: no clock reads.
  Result<std::vector<Tensor>> RunImpl(const std::map<std::string, Tensor>& inputs,
                                      std::vector<NodeTime>* times) const;
  Graph graph_;
  std::vector<size_t> order_;
  // Per step in order_: values whose last use is this step (freed after it runs).
  std::vector<std::vector<std::string>> release_;
  int folded_ = 0;
  int64_t peak_bytes_per_sample_ = 0;
  // Gemm nodes (by index into graph_.nodes) with transB = 1 and a constant B: B transposed once at
  // preparation, so each run streams B row-major (same products, same summation order).
  std::map<size_t, Tensor> gemm_bt_;
};

}  // namespace qp
