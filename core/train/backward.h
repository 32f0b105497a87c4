// Backward passes (vector-Jacobian products) of the fp32 ops in core/graph/ops.h, for training.
// Each takes the forward inputs (and attributes, as the same structs the forward uses) plus dy, the
// gradient of the loss w.r.t. the forward output, and returns the gradients w.r.t. the inputs.
// Gradients of broadcast inputs are summed over the broadcast dims. Subgradient choices at kinks
// follow PyTorch (Relu'(0) = 0, Clip passes lo <= x <= hi, MaxPool routes to the first maximum).
// tests/train/backward_test.cc checks every function against central finite differences of the
// ops.h forward.
#pragma once

#include <vector>

#include "core/base/status.h"
#include "core/graph/ops.h"
#include "core/graph/tensor.h"

namespace qp::train {

// ---- Linear ops ------------------------------------------------------------------------------------

struct ConvGrads {
  Tensor dx;  // [N, C, *spatial]
  Tensor dw;  // [M, C/group, *kernel]
  Tensor db;  // [M] (sum of dy; the caller ignores it when the Conv has no bias)
};
// Conv-11 (1-3 spatial dims, groups, depthwise, dilations, strides, asymmetric pads, auto_pad).
// need_dx = false skips dx (a first layer fed by data).
Result<ConvGrads> ConvBackward(const Tensor& x, const Tensor& w, const Tensor& dy,
                               const ops::ConvAttrs& attrs, bool need_dx = true);

struct GemmGrads {
  Tensor da, db;
  Tensor dc;  // shaped like c (beta * dy summed over c's broadcast dims); empty if c was null
};
// Gemm-13: y = alpha * A' B' + beta * C.
Result<GemmGrads> GemmBackward(const Tensor& a, const Tensor& b, const Tensor* c, const Tensor& dy,
                               const ops::GemmAttrs& attrs);

struct BinaryGrads {
  Tensor da, db;
};
// MatMul-13 (numpy.matmul: 1-D promotion, broadcast batch dims reduced in the gradients).
Result<BinaryGrads> MatMulBackward(const Tensor& a, const Tensor& b, const Tensor& dy);

// Add/Sub/Mul/Div-14 on float32 with numpy broadcasting.
Result<BinaryGrads> BinaryBackward(ops::BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& dy);

// Sums `g` over the dims that numpy broadcasting expanded from `target` (the reduction every
// broadcast operand's gradient needs). `target` must broadcast to g's shape.
Result<Tensor> ReduceToShape(const Tensor& g, const Shape& target);

// ---- Activations (float32; x is the forward input) -----------------------------------------------

Result<Tensor> ReluBackward(const Tensor& x, const Tensor& dy);                    // x > 0
Result<Tensor> LeakyReluBackward(const Tensor& x, const Tensor& dy, float alpha);  // x > 0 ? 1 : alpha
Result<Tensor> ClipBackward(const Tensor& x, const Tensor& dy, float lo, float hi);  // lo <= x <= hi
Result<Tensor> SigmoidBackward(const Tensor& x, const Tensor& dy);                 // s (1 - s)
Result<Tensor> TanhBackward(const Tensor& x, const Tensor& dy);                    // 1 - tanh^2
Result<Tensor> HardSigmoidBackward(const Tensor& x, const Tensor& dy, float alpha, float beta);
Result<Tensor> HardSwishBackward(const Tensor& x, const Tensor& dy);  // 0 | (2x + 3) / 6 | 1

// ---- Pooling -------------------------------------------------------------------------------------

Result<Tensor> MaxPoolBackward(const Tensor& x, const Tensor& dy, const ops::PoolAttrs& attrs);
Result<Tensor> AveragePoolBackward(const Tensor& x, const Tensor& dy, const ops::PoolAttrs& attrs);
Result<Tensor> GlobalAveragePoolBackward(const Tensor& x, const Tensor& dy);

// ---- BatchNormalization in training mode (ONNX BatchNormalization-15, training_mode = 1) ----------
// y = (x - mean_B) / sqrt(var_B + eps) * scale + bias with the batch statistics over all dims but 1
// (var_B biased: divided by the count). The running statistics update as ONNX defines it:
//   running_mean' = running_mean * momentum + mean_B * (1 - momentum)   (same for var, with var_B)
// Note ONNX's momentum weighs the OLD value (default 0.9), the opposite of PyTorch's.
struct BatchNormTrainOutput {
  Tensor y;
  Tensor batch_mean, batch_var;          // [C]
  Tensor running_mean, running_var;      // updated, [C]
  Tensor inv_std;                        // 1 / sqrt(var_B + eps), [C] (saved for backward)
};
Result<BatchNormTrainOutput> BatchNormTrainForward(const Tensor& x, const Tensor& scale,
                                                   const Tensor& bias, const Tensor& running_mean,
                                                   const Tensor& running_var, float epsilon,
                                                   float momentum);
struct BatchNormGrads {
  Tensor dx, dscale, dbias;
};
// Backward of the training-mode forward (the batch statistics depend on x).
Result<BatchNormGrads> BatchNormTrainBackward(const Tensor& x, const Tensor& scale,
                                              const Tensor& batch_mean, const Tensor& inv_std,
                                              const Tensor& dy);

// Backward of the inference formula with fixed statistics (frozen BN, e.g. late in QAT):
// y = (x - mean) * inv_std * scale + bias with inv_std = 1 / sqrt(var + eps) constant.
Result<BatchNormGrads> BatchNormEvalBackward(const Tensor& x, const Tensor& scale, const Tensor& mean,
                                             const Tensor& var, float epsilon, const Tensor& dy);

// ---- Layout --------------------------------------------------------------------------------------

// Flatten / Reshape / Squeeze / Unsqueeze: dy reshaped back to the input shape.
Result<Tensor> ReshapeBackward(const Tensor& dy, const Shape& x_shape);
// Transpose-13 (empty perm reverses): dy transposed by the inverse permutation.
Result<Tensor> TransposeBackward(const Tensor& dy, const std::vector<int64_t>& perm);
// Concat-13: dy split along `axis` into pieces shaped like the inputs.
Result<std::vector<Tensor>> ConcatBackward(const Tensor& dy, const std::vector<Shape>& input_shapes,
                                           int64_t axis);

// ---- Loss ----------------------------------------------------------------------------------------

struct LossOutput {
  double loss = 0;       // mean over the batch of -log softmax(logits)[label]
  int64_t correct = 0;   // samples whose arg max (first on ties) equals the label
  Tensor dlogits;        // d loss / d logits = (softmax - onehot) / N, [N, C]
};
// Softmax cross-entropy over logits [N, C] and int64 labels [N] in [0, C). The log-sum-exp is
// shifted by the row max, so large logits do not overflow.
Result<LossOutput> SoftmaxCrossEntropy(const Tensor& logits, const Tensor& labels);

}  // namespace qp::train
