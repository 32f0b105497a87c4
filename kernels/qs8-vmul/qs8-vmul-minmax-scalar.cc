// Scalar reference of the elementwise multiply: exact int32 product of the centred inputs, then
// quant::Requantize. The oracle.
#include "kernels/qs8-vmul/qs8-vmul.h"

namespace qp::kernels::scalar {

Status qs8_vmul_minmax_create(const QS8MulParams& params, QS8MulOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8MulParams(params));
  op->params = params;
  return Status::Ok();
}

Status qs8_vmul_minmax_run(const QS8MulOp& op, size_t n, const int8_t* a, const int8_t* b,
                           bool b_broadcast, int8_t* y) {
  const QS8MulParams& p = op.params;
  for (size_t i = 0; i < n; ++i) {
    const int32_t bv = b_broadcast ? b[0] : b[i];
    const int32_t acc = (a[i] - p.a_zero_point) * (bv - p.b_zero_point);
    y[i] = static_cast<int8_t>(quant::Requantize(acc, p.requant, p.output));
  }
  return Status::Ok();
}

}  // namespace qp::kernels::scalar
