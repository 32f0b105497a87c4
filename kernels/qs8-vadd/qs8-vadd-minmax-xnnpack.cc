// XNNPACK adapter of the elementwise add (native): xnn_create_add_nd_qs8 given our fp32 ratios
// as input scales with output scale 1, so XNNPACK derives the same fixed-point multipliers as
// quant::MakeAddFixedPoint (its 2022 add is fixed-point, not fp32).
#include <xnnpack.h>

#include "kernels/qs8-vadd/qs8-vadd.h"
#include "kernels/xnnpack-common.h"

namespace qp::kernels::xnnpack {

Status qs8_vadd_minmax_create(const QS8AddParams& params, QS8AddOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8AddParams(params));
  if (params.requant.scheme != quant::AddScheme::kXnnpackFixedPoint) {
    return Unimplemented("xnnpack add: scheme ", quant::AddSchemeName(params.requant.scheme),
                         " is not XNNPACK's (xnnpack_fixed_point only)");
  }
  QP_RETURN_IF_ERROR(EnsureInitialized());
  op->params = params;
  const quant::AddRequant& r = params.requant;
  xnn_operator_t xop = nullptr;
  QP_RETURN_IF_ERROR(FromXnnStatus(
      xnn_create_add_nd_qs8(static_cast<int8_t>(r.a_zero_point), r.a_ratio,
                            static_cast<int8_t>(r.b_zero_point), r.b_ratio,
                            static_cast<int8_t>(params.output.zero_point), 1.0f,
                            static_cast<int8_t>(params.output.qmin),
                            static_cast<int8_t>(params.output.qmax), 0, &xop),
      "xnnpack add create"));
  op->backend = OwnOperator(xop);
  return Status::Ok();
}

Status qs8_vadd_minmax_run(const QS8AddOp& op, size_t n, const int8_t* a, const int8_t* b,
                           bool b_broadcast, int8_t* y) {
  if (n == 0) return Status::Ok();
  auto* xop = static_cast<xnn_operator_t>(op.backend.get());
  const size_t a_shape[1] = {n};
  const size_t b_shape[1] = {b_broadcast ? size_t{1} : n};
  QP_RETURN_IF_ERROR(FromXnnStatus(
      xnn_setup_add_nd_qs8(xop, 1, a_shape, 1, b_shape, a, b, y, nullptr), "xnnpack add setup"));
  return RunOperator(xop);
}

}  // namespace qp::kernels::xnnpack
