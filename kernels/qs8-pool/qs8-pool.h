// int8 pooling, NHWC: max pooling, average pooling (2-D window) and global average pooling.
// Every variant of an op has that op's signature and must give the scalar reference's bits.
// Variants: qs8-maxpool.inc, qs8-avgpool.inc, qs8-gavgpool.inc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/base/status.h"
#include "core/quant/requantization.h"
#include "kernels/isa.h"

namespace qp::kernels {

// Window geometry shared by max and average pooling (output size as for convolution).
struct PoolGeometry {
  size_t channels = 0;
  size_t kernel_h = 2, kernel_w = 2;
  size_t stride_h = 2, stride_w = 2;
  size_t dilation_h = 1, dilation_w = 1;
  size_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  size_t input_pixel_stride = 0;   // 0 means channels
  size_t output_pixel_stride = 0;  // 0 means channels
};
Status ValidatePoolGeometry(const PoolGeometry& g, const char* op);
void ResolvePoolStrides(PoolGeometry* g);

// ---- max pooling: out = clamp(max over the window taps inside the image, qmin, qmax) ----------
// Padding taps are ignored (ONNX MaxPool pads with -inf); no requantization (the output has the
// input's scale and zero point, as ONNX and XNNPACK require).
struct QS8MaxPoolParams {
  PoolGeometry geometry;
  int32_t qmin = -128, qmax = 127;
};
struct QS8MaxPoolOp {
  QS8MaxPoolParams params;
  std::shared_ptr<void> backend;
};
using QS8MaxPoolCreateFn = Status (*)(const QS8MaxPoolParams&, QS8MaxPoolOp*);
using QS8MaxPoolRunFn = Status (*)(const QS8MaxPoolOp&, size_t batch, size_t in_h, size_t in_w,
                                   const int8_t* input, int8_t* output);
using QS8MaxPoolVariant = KernelVariant<QS8MaxPoolCreateFn, QS8MaxPoolRunFn>;
const std::vector<QS8MaxPoolVariant>& QS8MaxPoolVariants();

// ---- average pooling: acc = sum over counted taps of (x - zx); out = Requantize(acc, rq[count])
// count = taps inside the image (count_include_pad = false, ONNX default) or kernel_h*kernel_w
// (count_include_pad = true; padding taps then count as x == zx, contributing 0).
struct QS8AvgPoolParams {
  PoolGeometry geometry;
  bool count_include_pad = false;
  int32_t input_zero_point = 0;
  float input_scale = 0, output_scale = 0;  // create() derives one RequantChannel per count
  quant::OutputQuant output;
};
struct QS8AvgPoolOp {
  QS8AvgPoolParams params;
  std::vector<quant::RequantChannel> requant_by_count;  // index = count, 1..kernel_h*kernel_w
  std::shared_ptr<void> backend;
};
using QS8AvgPoolCreateFn = Status (*)(const QS8AvgPoolParams&, QS8AvgPoolOp*);
using QS8AvgPoolRunFn = Status (*)(const QS8AvgPoolOp&, size_t batch, size_t in_h, size_t in_w,
                                   const int8_t* input, int8_t* output);
using QS8AvgPoolVariant = KernelVariant<QS8AvgPoolCreateFn, QS8AvgPoolRunFn>;
const std::vector<QS8AvgPoolVariant>& QS8AvgPoolVariants();
// Computes requant_by_count with quant::MakeAvgPoolRequant (shared by every variant's create).
Status InitQS8AvgPoolOp(const QS8AvgPoolParams& params, QS8AvgPoolOp* op);

// ---- global average pooling over `width` pixels (H*W) per image ------------------------------
// acc[c] = sum_p (x[p][c] - zx); out[c] = Requantize(acc, requant, output) with requant =
// quant::MakeAvgPoolRequant(sx, sy, width) (XNNPACK 2022 qs8 gavgpool arithmetic, fp32).
struct QS8GlobalAvgPoolParams {
  size_t channels = 0;
  size_t width = 0;                // pixels per image, fixed at create (it sets the scale)
  size_t input_pixel_stride = 0;   // 0 means channels
  int32_t input_zero_point = 0;
  quant::RequantChannel requant;   // from quant::MakeAvgPoolRequant(sx, sy, width)
  float input_output_ratio = 0;    // sx / sy (what XNNPACK is given, with output scale 1)
  quant::OutputQuant output;
};
struct QS8GlobalAvgPoolOp {
  QS8GlobalAvgPoolParams params;
  std::shared_ptr<void> backend;
};
using QS8GlobalAvgPoolCreateFn = Status (*)(const QS8GlobalAvgPoolParams&, QS8GlobalAvgPoolOp*);
// output is [batch][channels] (dense).
using QS8GlobalAvgPoolRunFn = Status (*)(const QS8GlobalAvgPoolOp&, size_t batch,
                                         const int8_t* input, int8_t* output);
using QS8GlobalAvgPoolVariant = KernelVariant<QS8GlobalAvgPoolCreateFn, QS8GlobalAvgPoolRunFn>;
const std::vector<QS8GlobalAvgPoolVariant>& QS8GlobalAvgPoolVariants();
Status ValidateQS8GlobalAvgPoolParams(const QS8GlobalAvgPoolParams& params);

namespace scalar {
Status qs8_maxpool_minmax_create(const QS8MaxPoolParams&, QS8MaxPoolOp*);
Status qs8_maxpool_minmax_run(const QS8MaxPoolOp&, size_t, size_t, size_t, const int8_t*, int8_t*);
Status qs8_avgpool_minmax_create(const QS8AvgPoolParams&, QS8AvgPoolOp*);
Status qs8_avgpool_minmax_run(const QS8AvgPoolOp&, size_t, size_t, size_t, const int8_t*, int8_t*);
Status qs8_gavgpool_minmax_create(const QS8GlobalAvgPoolParams&, QS8GlobalAvgPoolOp*);
Status qs8_gavgpool_minmax_run(const QS8GlobalAvgPoolOp&, size_t, const int8_t*, int8_t*);
}  // namespace scalar
namespace wasmsimd {
Status qs8_maxpool_minmax_16c_create(const QS8MaxPoolParams&, QS8MaxPoolOp*);
Status qs8_maxpool_minmax_16c_run(const QS8MaxPoolOp&, size_t, size_t, size_t, const int8_t*, int8_t*);
Status qs8_avgpool_minmax_8c_create(const QS8AvgPoolParams&, QS8AvgPoolOp*);
Status qs8_avgpool_minmax_8c_run(const QS8AvgPoolOp&, size_t, size_t, size_t, const int8_t*, int8_t*);
Status qs8_gavgpool_minmax_8c_create(const QS8GlobalAvgPoolParams&, QS8GlobalAvgPoolOp*);
Status qs8_gavgpool_minmax_8c_run(const QS8GlobalAvgPoolOp&, size_t, const int8_t*, int8_t*);
}  // namespace wasmsimd
namespace xnnpack {
// xnn_create_max_pooling2d_nhwc_s8 and xnn_create_global_average_pooling_nwc_qs8 (fp32 scheme).
// There is no XNNPACK 2022 qs8 2-D average pooling, so that op has no XNNPACK variant.
Status qs8_maxpool_minmax_create(const QS8MaxPoolParams&, QS8MaxPoolOp*);
Status qs8_maxpool_minmax_run(const QS8MaxPoolOp&, size_t, size_t, size_t, const int8_t*, int8_t*);
Status qs8_gavgpool_minmax_create(const QS8GlobalAvgPoolParams&, QS8GlobalAvgPoolOp*);
Status qs8_gavgpool_minmax_run(const QS8GlobalAvgPoolOp&, size_t, const int8_t*, int8_t*);
}  // namespace xnnpack

}  // namespace qp::kernels
