// Requantizing copy of an int8 tensor to another scale and zero point (XNNPACK calls the op
// qs8-vcvt): y = Requantize(x - x_zero_point) with the multiplier input_scale / output_scale, the
// per-input step of a concatenation whose inputs have their own scales (ONNX Runtime's
// QLinearConcat, a QDQ Concat). Arithmetic is core/quant's Requantize (fp32 by default, Q31 as the
// named alternative); every variant must give the scalar reference's bits. Variants: qs8-vcvt.inc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/base/status.h"
#include "core/quant/requantization.h"
#include "kernels/isa.h"

namespace qp::kernels {

struct QS8CvtParams {
  int32_t input_zero_point = 0;   // [-128, 127]
  quant::RequantChannel requant;  // quant::MakeRequantChannel(input_scale, 1, output_scale)
  quant::OutputQuant output;      // zero point, clamp and scheme
};

struct QS8CvtOp {
  QS8CvtParams params;
};

using QS8CvtCreateFn = Status (*)(const QS8CvtParams& params, QS8CvtOp* op);
// rows x cols elements, row r at x + r * x_stride -> y + r * y_stride (strides in elements), so a
// concatenation writes each input into its column band of the output in one call.
using QS8CvtRunFn = Status (*)(const QS8CvtOp& op, size_t rows, size_t cols, const int8_t* x,
                               size_t x_stride, int8_t* y, size_t y_stride);
using QS8CvtVariant = KernelVariant<QS8CvtCreateFn, QS8CvtRunFn>;

const std::vector<QS8CvtVariant>& QS8CvtVariants();
Status ValidateQS8CvtParams(const QS8CvtParams& params);
// Params for input (scale, zero point) -> output (scale, zero point, clamp), fp32 or Q31 scheme.
Result<QS8CvtParams> MakeQS8CvtParams(float input_scale, int32_t input_zero_point,
                                      float output_scale, const quant::OutputQuant& output);

namespace scalar {
Status qs8_vcvt_create(const QS8CvtParams& params, QS8CvtOp* op);
Status qs8_vcvt_run(const QS8CvtOp& op, size_t rows, size_t cols, const int8_t* x,
                    size_t x_stride, int8_t* y, size_t y_stride);
}  // namespace scalar
namespace wasmsimd {
Status qs8_vcvt_16x_create(const QS8CvtParams& params, QS8CvtOp* op);
Status qs8_vcvt_16x_run(const QS8CvtOp& op, size_t rows, size_t cols, const int8_t* x,
                        size_t x_stride, int8_t* y, size_t y_stride);
}  // namespace wasmsimd

}  // namespace qp::kernels
