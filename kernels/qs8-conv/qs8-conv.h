// qs8/qc8 2-D convolution, NHWC: general (any kernel, stride, dilation, asymmetric padding,
// groups, depthwise) with a 1x1 fast path. Every variant has this signature and must give the
// scalar reference's bits. Variants are listed in qs8-conv.inc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/base/status.h"
#include "core/quant/requantization.h"
#include "kernels/isa.h"

namespace qp::kernels {

// Numeric contract (XNNPACK convolution2d_nhwc_qs8/qc8 semantics):
//  out[b][oy][ox][g*goc + o] = requant(bias[g*goc+o] + sum_{ky,kx,c} (x - za) * W[g*goc+o][ky][kx][c])
//  with x = in[b][oy*stride_h - pad_top + ky*dilation_h][ox*stride_w - pad_left + kx*dilation_w]
//         [g*gic + c]; taps that fall into the padding contribute 0 (as if x == za).
//  Output size: out_h = (in_h + pad_top + pad_bottom - dilation_h*(kernel_h-1) - 1) / stride_h + 1.
//  Weights are [groups*goc][kernel_h][kernel_w][gic] (OHWI, XNNPACK/TFLite layout), symmetric
//  int8; bias int32 in units of input_scale*weight_scale; accumulation mod 2^32 (no wrap for
//  kernel_h*kernel_w*gic <= 65536, enforced).
struct QS8ConvParams {
  size_t kernel_h = 1, kernel_w = 1;
  size_t stride_h = 1, stride_w = 1;
  size_t dilation_h = 1, dilation_w = 1;
  size_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  size_t groups = 1;
  size_t group_input_channels = 0;   // gic
  size_t group_output_channels = 0;  // goc
  size_t input_pixel_stride = 0;     // elements between pixels; 0 means groups * gic
  size_t output_pixel_stride = 0;    // 0 means groups * goc
  const int8_t* weights = nullptr;
  const int32_t* bias = nullptr;     // [groups*goc] or nullptr
  int32_t input_zero_point = 0;
  const quant::RequantChannel* requant = nullptr;  // [1] or [groups*goc] when per_channel
  bool per_channel = false;
  quant::OutputQuant output;
};

struct QS8ConvOp {
  QS8ConvParams params;                        // borrowed pointers cleared, strides resolved
  std::vector<int8_t> weights;                 // variant layout
  std::vector<int32_t> bias;                   // variant layout
  std::vector<quant::RequantChannel> requant;  // groups*goc entries
  std::shared_ptr<void> backend;               // XNNPACK operator or variant state
  mutable std::vector<int8_t> scratch;         // variant scratch; run() is not reentrant
  mutable std::vector<int16_t> scratch16;      // int16 im2col rows (wasmsimd)
};

using QS8ConvCreateFn = Status (*)(const QS8ConvParams& params, QS8ConvOp* op);
// Runs on a batch of NHWC images; fails (InvalidArgument) when the input is smaller than the
// dilated kernel after padding.
using QS8ConvRunFn = Status (*)(const QS8ConvOp& op, size_t batch, size_t in_h, size_t in_w,
                                const int8_t* input, int8_t* output);
using QS8ConvVariant = KernelVariant<QS8ConvCreateFn, QS8ConvRunFn>;

const std::vector<QS8ConvVariant>& QS8ConvVariants();
Status ValidateQS8ConvParams(const QS8ConvParams& params);
void InitQS8ConvOp(const QS8ConvParams& params, QS8ConvOp* op);
// Output size along one axis, or an error naming the axis when the window does not fit.
Result<size_t> ConvOutputSize(size_t in, size_t pad_a, size_t pad_b, size_t kernel, size_t stride,
                              size_t dilation, const char* axis);

namespace scalar {
Status qs8_conv_minmax_create(const QS8ConvParams& params, QS8ConvOp* op);
Status qs8_conv_minmax_run(const QS8ConvOp& op, size_t batch, size_t in_h, size_t in_w,
                           const int8_t* input, int8_t* output);
}  // namespace scalar

namespace wasmsimd {
// im2col into int16 rows feeding the 2x4c8 GEMM (1x1 stride-1 unpadded convolutions only widen
// the input pixels); depthwise
// convolutions (gic == goc == 1) go to the qs8-dwconv 8-channel kernel.
Status qs8_conv_minmax_2x4c8_create(const QS8ConvParams& params, QS8ConvOp* op);
Status qs8_conv_minmax_2x4c8_run(const QS8ConvOp& op, size_t batch, size_t in_h, size_t in_w,
                                 const int8_t* input, int8_t* output);
}  // namespace wasmsimd

namespace xnnpack {
// xnn_create_convolution2d_nhwc_qs8 (per tensor) / _qc8 (per channel); fp32 scheme only.
Status qs8_conv_minmax_create(const QS8ConvParams& params, QS8ConvOp* op);
Status qs8_conv_minmax_run(const QS8ConvOp& op, size_t batch, size_t in_h, size_t in_w,
                           const int8_t* input, int8_t* output);
}  // namespace xnnpack

}  // namespace qp::kernels
