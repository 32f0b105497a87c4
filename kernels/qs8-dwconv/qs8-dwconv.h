// qs8/qc8 depthwise 2-D convolution, NHWC, channel multiplier 1 (3x3 and 5x5 at stride 1 and 2
// are the common cases; any size works). Every variant has this signature and must give the
// scalar reference's bits. Variants are listed in qs8-dwconv.inc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/base/status.h"
#include "core/quant/requantization.h"
#include "kernels/isa.h"

namespace qp::kernels {

// Numeric contract: out[b][oy][ox][c] = requant(bias[c] + sum_{ky,kx} (x - za) * W[ky][kx][c]),
// x = in[b][oy*stride_h - pad_top + ky*dil_h][ox*stride_w - pad_left + kx*dil_w][c]; padded taps
// contribute 0. Weights are [kernel_h][kernel_w][channels] (TFLite depthwise / XNNPACK
// XNN_FLAG_DEPTHWISE_CONVOLUTION layout). Output size as in qs8-conv.h.
struct QS8DwConvParams {
  size_t channels = 0;
  size_t kernel_h = 3, kernel_w = 3;
  size_t stride_h = 1, stride_w = 1;
  size_t dilation_h = 1, dilation_w = 1;
  size_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  size_t input_pixel_stride = 0;   // 0 means channels
  size_t output_pixel_stride = 0;  // 0 means channels
  const int8_t* weights = nullptr;
  const int32_t* bias = nullptr;  // [channels] or nullptr
  int32_t input_zero_point = 0;
  const quant::RequantChannel* requant = nullptr;  // [1] or [channels] when per_channel
  bool per_channel = false;
  quant::OutputQuant output;
};

struct QS8DwConvOp {
  QS8DwConvParams params;
  std::vector<int8_t> weights;  // [kernel_h*kernel_w][channels]
  std::vector<int32_t> bias;    // [channels]
  std::vector<quant::RequantChannel> requant;  // [channels]
  std::shared_ptr<void> backend;
};

using QS8DwConvCreateFn = Status (*)(const QS8DwConvParams& params, QS8DwConvOp* op);
using QS8DwConvRunFn = Status (*)(const QS8DwConvOp& op, size_t batch, size_t in_h, size_t in_w,
                                  const int8_t* input, int8_t* output);
using QS8DwConvVariant = KernelVariant<QS8DwConvCreateFn, QS8DwConvRunFn>;

const std::vector<QS8DwConvVariant>& QS8DwConvVariants();
Status ValidateQS8DwConvParams(const QS8DwConvParams& params);
// Resolves strides, copies weights/bias/requant into the op (every variant uses this layout).
void InitQS8DwConvOp(const QS8DwConvParams& params, QS8DwConvOp* op);

namespace scalar {
Status qs8_dwconv_minmax_create(const QS8DwConvParams& params, QS8DwConvOp* op);
Status qs8_dwconv_minmax_run(const QS8DwConvOp& op, size_t batch, size_t in_h, size_t in_w,
                             const int8_t* input, int8_t* output);
}  // namespace scalar

namespace wasmsimd {
// 8 channels x tap pairs with i32x4.dot_i16x8 (the fast one); padding taps read a zero-point row.
Status qs8_dwconv_minmax_8c2_create(const QS8DwConvParams& params, QS8DwConvOp* op);
Status qs8_dwconv_minmax_8c2_run(const QS8DwConvOp& op, size_t batch, size_t in_h, size_t in_w,
                                 const int8_t* input, int8_t* output);
// 8c2 arithmetic and packing, loop order channel block outside, output pixels inside (3x3 / 5x5,
// fp32 scheme; other shapes run 8c2): per-block constants loaded once per row, tap addresses from
// kK row pointers, padding rows read a zero-point image row, only border pixels use a tap table.
Status qs8_dwconv_minmax_8c2r_create(const QS8DwConvParams& params, QS8DwConvOp* op);
Status qs8_dwconv_minmax_8c2r_run(const QS8DwConvOp& op, size_t batch, size_t in_h, size_t in_w,
                                  const int8_t* input, int8_t* output);
// 8 channels x one tap with i32x4.extmul (the first version, kept for comparison).
Status qs8_dwconv_minmax_8c_create(const QS8DwConvParams& params, QS8DwConvOp* op);
Status qs8_dwconv_minmax_8c_run(const QS8DwConvOp& op, size_t batch, size_t in_h, size_t in_w,
                                const int8_t* input, int8_t* output);
}  // namespace wasmsimd

namespace xnnpack {
// A grouped convolution with XNN_FLAG_DEPTHWISE_CONVOLUTION (qs8 or qc8); fp32 scheme only.
Status qs8_dwconv_minmax_create(const QS8DwConvParams& params, QS8DwConvOp* op);
Status qs8_dwconv_minmax_run(const QS8DwConvOp& op, size_t batch, size_t in_h, size_t in_w,
                             const int8_t* input, int8_t* output);
}  // namespace xnnpack

}  // namespace qp::kernels
