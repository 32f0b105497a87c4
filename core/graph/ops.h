// Per-op forward functions of the fp32 executor (and the plain integer references of the ONNX
// quantization ops), callable on their own: Tensors in, Tensor out, attributes as structs.
// Each must match the ONNX operator definition (opsets 11-17) named in its comment; the ONNX
// backend node tests in tests/onnx/conformance_test.cc are the oracle.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/base/status.h"
#include "core/graph/tensor.h"

namespace qp::ops {

// ---- Shared geometry -----------------------------------------------------------------------------

enum class AutoPad { kNotSet, kValid, kSameUpper, kSameLower };

// Conv (ONNX Conv-11). Empty vectors mean the ONNX default (kernel from W, strides/dilations 1,
// pads 0). pads = [x1_begin, x2_begin, ..., x1_end, x2_end, ...]; ignored unless auto_pad is kNotSet.
struct ConvAttrs {
  std::vector<int64_t> kernel_shape;
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pads;
  AutoPad auto_pad = AutoPad::kNotSet;
  int64_t group = 1;
};

// MaxPool-12 / AveragePool-11. kernel_shape is required. dilations only apply to MaxPool.
struct PoolAttrs {
  std::vector<int64_t> kernel_shape;
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pads;
  AutoPad auto_pad = AutoPad::kNotSet;
  bool ceil_mode = false;
  bool count_include_pad = false;  // AveragePool only
};

// Gemm-13: Y = alpha * A' * B' + beta * C, C unidirectionally broadcast to [M, N].
struct GemmAttrs {
  float alpha = 1.f;
  float beta = 1.f;
  bool trans_a = false;
  bool trans_b = false;
};

// Spatial geometry of a conv/pool window, normalized to 3 spatial dims (leading dims of size 1,
// stride 1, no pad, so 1-D and 2-D ops run through the same 3-D loops).
struct WindowGeometry {
  int nspatial = 0;  // 1, 2 or 3 as in the model
  std::array<int64_t, 3> in{1, 1, 1}, kernel{1, 1, 1}, out{1, 1, 1};
  std::array<int64_t, 3> stride{1, 1, 1}, dilation{1, 1, 1}, pad_begin{0, 0, 0}, pad_end{0, 0, 0};
  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
  int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
};

// The AveragePool window of output position `o` (per spatial dim): [begin, end) clipped to the
// input, and the divisor, which with count_include_pad counts the window clipped to input + pads
// (as the ONNX reference does) and otherwise only the input elements. Forward and backward share it.
struct PoolWindow {
  int64_t begin[3], end[3];
  int64_t divisor;
};
inline PoolWindow AveragePoolWindow(const WindowGeometry& g, const int64_t o[3], bool count_include_pad) {
  PoolWindow w;
  int64_t count_pad = 1, count = 1;
  for (int d = 0; d < 3; ++d) {
    int64_t s = o[d] * g.stride[d] - g.pad_begin[d];
    int64_t e = s + g.kernel[d] < g.in[d] + g.pad_end[d] ? s + g.kernel[d] : g.in[d] + g.pad_end[d];
    count_pad *= e - s;
    s = s > 0 ? s : 0;
    e = e < g.in[d] ? e : g.in[d];
    count *= e > s ? e - s : 0;
    w.begin[d] = s;
    w.end[d] = e;
  }
  w.divisor = count_include_pad ? count_pad : count;
  return w;
}

// Output size per spatial dim, ONNX formula: floor-or-ceil((in + pb + pe - ((k-1)*d+1)) / s) + 1;
// with ceil_mode a window that would start in the end padding is dropped (as onnxruntime does);
// auto_pad SAME_* gives out = ceil(in / s), the odd pad at the end (UPPER) or beginning (LOWER).
// `spatial_in` and `kernel` have the same length (1..3). Errors name the rule that failed.
Result<WindowGeometry> ResolveWindow(const Shape& spatial_in, const std::vector<int64_t>& kernel,
                                     const std::vector<int64_t>& strides,
                                     const std::vector<int64_t>& dilations,
                                     const std::vector<int64_t>& pads, AutoPad auto_pad,
                                     bool ceil_mode);

// numpy broadcasting of two shapes ("shapes [2, 3] and [4] do not broadcast").
Result<Shape> BroadcastShapes(const Shape& a, const Shape& b);

// Row-major float GEMM, C[M,N] = sum_k A[M,K] B[K,N] (+ C if accumulate), with leading dims.
// The inner loop of Conv (after im2col), Gemm and MatMul.
void GemmF32(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
             int64_t ldb, float* c, int64_t ldc, bool accumulate);

// ---- Float ops (float32 unless noted) ------------------------------------------------------------

// Conv-11: x [N, C, *spatial], w [M, C/group, *kernel], bias [M] or null. 1-3 spatial dims.
Result<Tensor> Conv(const Tensor& x, const Tensor& w, const Tensor* bias, const ConvAttrs& attrs);
// Gemm-13: a, b rank 2, c null or broadcastable to [M, N].
Result<Tensor> Gemm(const Tensor& a, const Tensor& b, const Tensor* c, const GemmAttrs& attrs);
// MatMul-13: numpy.matmul (1-D operands promoted, batch dims broadcast).
Result<Tensor> MatMul(const Tensor& a, const Tensor& b);

// Add/Sub/Mul/Div-14 with numpy broadcasting; float32, int8, uint8, int32, int64 (both inputs of
// one dtype). Integer Div truncates toward zero, division by zero is an error.
enum class BinaryOp { kAdd, kSub, kMul, kDiv };
Result<Tensor> Binary(BinaryOp op, const Tensor& a, const Tensor& b);
inline Result<Tensor> Add(const Tensor& a, const Tensor& b) { return Binary(BinaryOp::kAdd, a, b); }
inline Result<Tensor> Sub(const Tensor& a, const Tensor& b) { return Binary(BinaryOp::kSub, a, b); }
inline Result<Tensor> Mul(const Tensor& a, const Tensor& b) { return Binary(BinaryOp::kMul, a, b); }
inline Result<Tensor> Div(const Tensor& a, const Tensor& b) { return Binary(BinaryOp::kDiv, a, b); }

Result<Tensor> Relu(const Tensor& x);                        // Relu-14: max(x, 0)
Result<Tensor> LeakyRelu(const Tensor& x, float alpha);      // LeakyRelu-16: x<0 ? alpha*x : x
Result<Tensor> Sigmoid(const Tensor& x);                     // Sigmoid-13
Result<Tensor> Tanh(const Tensor& x);                        // Tanh-13
// HardSigmoid-6: max(0, min(1, alpha*x + beta)).
Result<Tensor> HardSigmoid(const Tensor& x, float alpha, float beta);
// HardSwish-14: x * max(0, min(1, x/6 + 1/2)).
Result<Tensor> HardSwish(const Tensor& x);
// Clip-13: min(max(x, lo), hi); lo/hi are scalars of x's dtype or null (no bound). Any numeric dtype.
Result<Tensor> Clip(const Tensor& x, const Tensor* lo, const Tensor* hi);
// Float convenience form (ReLU6 = ClipF(x, 0, 6)).
Result<Tensor> ClipF(const Tensor& x, float lo, float hi);

// BatchNormalization-15 in inference mode: (x - mean) / sqrt(var + eps) * scale + bias over dim 1.
Result<Tensor> BatchNormalization(const Tensor& x, const Tensor& scale, const Tensor& bias,
                                  const Tensor& mean, const Tensor& var, float epsilon);

// MaxPool-12 (float32, int8, uint8) and AveragePool-11 (float32) over 1-3 spatial dims.
Result<Tensor> MaxPool(const Tensor& x, const PoolAttrs& attrs);
Result<Tensor> AveragePool(const Tensor& x, const PoolAttrs& attrs);
// GlobalAveragePool-1: mean over all spatial dims, keeping them as size 1.
Result<Tensor> GlobalAveragePool(const Tensor& x);

// Softmax-13 / LogSoftmax-13 along `axis`; coerce_2d selects the opset < 13 semantics (the input is
// viewed as [prod(dims[:axis]), prod(dims[axis:])] and normalized over the second dim).
Result<Tensor> Softmax(const Tensor& x, int64_t axis, bool coerce_2d = false);
Result<Tensor> LogSoftmax(const Tensor& x, int64_t axis, bool coerce_2d = false);

// ---- Layout ops (any dtype) ----------------------------------------------------------------------

Result<Tensor> Flatten(const Tensor& x, int64_t axis);  // Flatten-13, axis in [-r, r]
// Reshape-14: 0 copies the input dim (unless allowzero), one -1 is inferred.
Result<Tensor> Reshape(const Tensor& x, const std::vector<int64_t>& shape, bool allowzero);
Result<Shape> ReshapeOutputShape(const Shape& in, const std::vector<int64_t>& shape, bool allowzero);
// Transpose-13; empty perm reverses the dims.
Result<Tensor> Transpose(const Tensor& x, const std::vector<int64_t>& perm);
Result<Tensor> Concat(const std::vector<const Tensor*>& xs, int64_t axis);  // Concat-13
// Squeeze-13 (empty axes: every dim of size 1) and Unsqueeze-13 (axes of the output).
Result<Tensor> Squeeze(const Tensor& x, const std::vector<int64_t>& axes);
Result<Tensor> Unsqueeze(const Tensor& x, const std::vector<int64_t>& axes);
Result<Shape> SqueezeOutputShape(const Shape& in, const std::vector<int64_t>& axes);
Result<Shape> UnsqueezeOutputShape(const Shape& in, const std::vector<int64_t>& axes);

// Pad-13: pads = [x1_begin, ..., xn_begin, x1_end, ..., xn_end] (negative values crop);
// constant mode fills `value` (converted to x's dtype), reflect mirrors without repeating the edge,
// edge repeats the edge.
enum class PadMode { kConstant, kReflect, kEdge };
Result<Tensor> Pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode, double value);

// ---- Quantization ops (plain references; rounding from core/quant: half to even, saturate) ------

// QuantizeLinear-13: y = saturate(round_half_even(x / scale) + zero_point). scale/zero_point are
// scalars or 1-D along `axis`; zero_point (int8 or uint8) picks the output dtype, uint8 if null.
Result<Tensor> QuantizeLinear(const Tensor& x, const Tensor& scale, const Tensor* zero_point,
                              int64_t axis = 1);
// DequantizeLinear-13: y = (x - zero_point) * scale; x int8, uint8 or int32 (int32: zero point 0).
Result<Tensor> DequantizeLinear(const Tensor& x, const Tensor& scale, const Tensor* zero_point,
                                int64_t axis = 1);
// DynamicQuantizeLinear-11: uint8, range [min(0, min x), max(0, max x)]; returns {y, scale, zp}.
Result<std::vector<Tensor>> DynamicQuantizeLinear(const Tensor& x);
// ConvInteger-10: int32 conv of (x - x_zp) and (w - w_zp); zps null = 0; w_zp scalar or [M].
Result<Tensor> ConvInteger(const Tensor& x, const Tensor& w, const Tensor* x_zp, const Tensor* w_zp,
                           const ConvAttrs& attrs);
// MatMulInteger-10: int32 matmul of (a - a_zp) and (b - b_zp); a_zp scalar or [M], b_zp scalar or [N].
Result<Tensor> MatMulInteger(const Tensor& a, const Tensor& b, const Tensor* a_zp, const Tensor* b_zp);
// QLinearConv-10: y = saturate(round_half_even(acc * x_scale * w_scale[m] / y_scale) + y_zp),
// acc = int32 ConvInteger result + bias (int32 [M] or null).
Result<Tensor> QLinearConv(const Tensor& x, const Tensor& x_scale, const Tensor& x_zp, const Tensor& w,
                           const Tensor& w_scale, const Tensor& w_zp, const Tensor& y_scale,
                           const Tensor& y_zp, const Tensor* bias, const ConvAttrs& attrs);
// QLinearMatMul-10: same requantization over MatMulInteger; b_scale/b_zp scalar or per column.
Result<Tensor> QLinearMatMul(const Tensor& a, const Tensor& a_scale, const Tensor& a_zp,
                             const Tensor& b, const Tensor& b_scale, const Tensor& b_zp,
                             const Tensor& y_scale, const Tensor& y_zp);

}  // namespace qp::ops
