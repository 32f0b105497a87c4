// Int8 execution of a quantized graph: Int8Executor::Create recognises the QDQ regions ONNX Runtime's
// static quantizer writes and lowers them once into int8 kernel calls (packed weights, precomputed
// requantization); Run must give identical bits on every backend (scalar, wasmsimd, xnnpack).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/graph.h"
#include "core/graph/tensor.h"
#include "kernels/isa.h"

namespace qp::int8 {

// The backend is the kernel ISA; a family without a variant for it (e.g. XNNPACK 2-D average
// pooling) uses the scalar variant, which every variant matches bit for bit by contract.
using Backend = kernels::Isa;
// Backends compiled into this build (scalar always first).
std::vector<Backend> AvailableBackends();
// "scalar" / "wasmsimd" / "xnnpack" -> Backend, or InvalidArgument listing the choices.
Result<Backend> ParseBackend(const std::string& name);

struct Int8Options {
  Backend backend = Backend::kScalar;
  GraphLimits limits;
  // A bias DequantizeLinear scale further than this (relative) from input_scale x weight_scale is
  // requantized to input_scale x weight_scale, with a warning in notes(); further than
  // bias_scale_reject_rtol the graph is rejected (the bias would lose or invent precision).
  double bias_scale_warn_rtol = 1e-5;
  double bias_scale_reject_rtol = 0.5;
};

// Supported patterns (anything else runs its node with the fp32 reference, see notes()):
//  - Q(x) on a float value: quantize at the boundary (NCHW float -> NHWC int8 for rank 4);
//  - DQ(int8 weights, per tensor or per axis 0/N, zero point 0) + optional DQ(int32 bias, zero point
//    0) or float bias -> Conv (2-D, any groups/stride/dilation/padding; depthwise to dwconv) /
//    Gemm (alpha = beta = 1, transA = 0) / MatMul (2-D) -> [Relu | Clip] -> Q: one fused kernel;
//  - DQ, DQ -> Add (same shapes or a scalar) -> [Relu | Clip] -> Q: qs8-vadd (XNNPACK fixed point);
//  - DQ -> MaxPool / Flatten / Identity: scale-preserving, no requantization (a following Q with the
//    same scale and zero point is free; a different one re-quantizes through float, exactly);
//  - DQ -> AveragePool / GlobalAveragePool -> Q: qs8 avgpool / gavgpool;
//  - uint8 activations: zero point shifted by 128 (exact), so all int8 kernels serve them;
//  - TensorRT-style weights (float constant -> QuantizeLinear -> DequantizeLinear, zero point 0):
//    the constant Q is folded at prepare; float biases are quantized at input x weight scale.
//  - DQ, DQ, ... -> Concat (not along the batch) -> [Relu | Clip] -> Q: each input requantized into
//    its band of the output by qs8-vcvt (a copy where it is already on the output's grid);
//  - QOperator QLinearConv / QLinearMatMul with constant scales, and ONNX Runtime's contrib
//    (com.microsoft) QLinearAdd / QLinearConcat: rewritten to their QDQ definition at prepare, then
//    lowered as above (a contrib op that cannot be rewritten is a Status: it has no fp32 reference).
// Not lowered yet (fp32 reference per node): Reshape, Mul, and any region whose output is not
// followed by a single QuantizeLinear.
class Int8Executor {
 public:
  // One call: Int8PlanBuilder::Start then Finish.
  static Result<Int8Executor> Create(Graph graph, const Int8Options& options = {});

  // Inputs/outputs in graph order, as the fp32 Executor; dim 0 of every input is the batch.
  Result<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs) const;
  // Run that also records the wall time of every step (microseconds, in step order) and its name
  // ("node 'c1' (Conv): qs8 conv" style), for the runtime-overhead benchmark.
  Result<std::vector<Tensor>> RunProfiled(const std::vector<Tensor>& inputs, std::vector<double>* step_us,
                                          std::vector<std::string>* step_names) const;

  Backend backend() const;
  int int8_kernel_steps() const;
  int fallback_nodes() const;
  // Warnings and fallbacks, each naming the node ("node 'c1' (Conv): weight zero point 3 != 0; fp32
  // reference").
  const std::vector<std::string>& notes() const;
  std::string Summary() const;

  struct Plan;

 private:
  friend class Int8PlanBuilder;
  std::shared_ptr<const Plan> plan_;
};

// Builds the same plan as Int8Executor::Create in bounded steps, so a UI can spread the lowering
// and weight packing over frames: Start validates, rewrites and infers shapes; each Step folds or
// lowers one node (one fused region: a Conv with its bias, activation and output Q is one step);
// Finish completes whatever is left and returns the executor. Create is Start + Finish, so the
// stepped and one-shot plans are the same code. An error in any call is the Status Create gives,
// and the builder stays failed.
class Int8PlanBuilder {
 public:
  static Result<Int8PlanBuilder> Start(Graph graph, const Int8Options& options = {});
  Int8PlanBuilder(Int8PlanBuilder&&) noexcept;
  Int8PlanBuilder& operator=(Int8PlanBuilder&&) noexcept;
  ~Int8PlanBuilder();

  // One node's work; the progress fraction after it (1.0 = ready for Finish).
  Result<double> Step();
  bool done() const;
  double progress() const;
  // The executor (running the remaining steps first); the builder is empty afterwards.
  Result<Int8Executor> Finish();

 private:
  Int8PlanBuilder();
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace qp::int8
