// Scalar reference of the requantizing copy: quant::Requantize(x - zero point) per element. The
// oracle.
#include "kernels/qs8-vcvt/qs8-vcvt.h"

namespace qp::kernels::scalar {

Status qs8_vcvt_create(const QS8CvtParams& params, QS8CvtOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8CvtParams(params));
  op->params = params;
  return Status::Ok();
}

Status qs8_vcvt_run(const QS8CvtOp& op, size_t rows, size_t cols, const int8_t* x,
                    size_t x_stride, int8_t* y, size_t y_stride) {
  const QS8CvtParams& p = op.params;
  for (size_t r = 0; r < rows; ++r) {
    for (size_t i = 0; i < cols; ++i) {
      const int32_t acc = static_cast<int32_t>(x[r * x_stride + i]) - p.input_zero_point;
      y[r * y_stride + i] = static_cast<int8_t>(quant::Requantize(acc, p.requant, p.output));
    }
  }
  return Status::Ok();
}

}  // namespace qp::kernels::scalar
