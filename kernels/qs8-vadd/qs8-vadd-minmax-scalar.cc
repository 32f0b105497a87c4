// Scalar reference of the elementwise add: quant::AddRequantApply per element. The oracle.
#include "kernels/qs8-vadd/qs8-vadd.h"

namespace qp::kernels::scalar {

Status qs8_vadd_minmax_create(const QS8AddParams& params, QS8AddOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8AddParams(params));
  op->params = params;
  return Status::Ok();
}

Status qs8_vadd_minmax_run(const QS8AddOp& op, size_t n, const int8_t* a, const int8_t* b,
                           bool b_broadcast, int8_t* y) {
  for (size_t i = 0; i < n; ++i) {
    const int32_t bv = b_broadcast ? b[0] : b[i];
    y[i] = static_cast<int8_t>(quant::AddRequantApply(a[i], bv, op.params.requant, op.params.output));
  }
  return Status::Ok();
}

}  // namespace qp::kernels::scalar
