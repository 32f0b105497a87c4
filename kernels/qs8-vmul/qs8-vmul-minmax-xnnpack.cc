// XNNPACK adapter of the elementwise multiply (native): xnn_create_multiply_nd_qs8 with our
// precomputed scale as input 1's scale and unit other scales, so XNNPACK's (s1 * s2) / sy equals
// it exactly; XNNPACK 2022's qs8 multiply is fp32-requantized like quant::RequantizeFp32.
#include <xnnpack.h>

#include "kernels/qs8-vmul/qs8-vmul.h"
#include "kernels/xnnpack-common.h"

namespace qp::kernels::xnnpack {

Status qs8_vmul_minmax_create(const QS8MulParams& params, QS8MulOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8MulParams(params));
  if (params.output.scheme != quant::RequantScheme::kFp32) {
    return Unimplemented("xnnpack mul: scheme ", quant::RequantSchemeName(params.output.scheme),
                         " is not in XNNPACK (fp32 only)");
  }
  QP_RETURN_IF_ERROR(EnsureInitialized());
  op->params = params;
  xnn_operator_t xop = nullptr;
  QP_RETURN_IF_ERROR(FromXnnStatus(
      xnn_create_multiply_nd_qs8(static_cast<int8_t>(params.a_zero_point), params.requant.scale,
                                 static_cast<int8_t>(params.b_zero_point), 1.0f,
                                 static_cast<int8_t>(params.output.zero_point), 1.0f,
                                 static_cast<int8_t>(params.output.qmin),
                                 static_cast<int8_t>(params.output.qmax), 0, &xop),
      "xnnpack mul create"));
  op->backend = OwnOperator(xop);
  return Status::Ok();
}

Status qs8_vmul_minmax_run(const QS8MulOp& op, size_t n, const int8_t* a, const int8_t* b,
                           bool b_broadcast, int8_t* y) {
  if (n == 0) return Status::Ok();
  auto* xop = static_cast<xnn_operator_t>(op.backend.get());
  const size_t a_shape[1] = {n};
  const size_t b_shape[1] = {b_broadcast ? size_t{1} : n};
  QP_RETURN_IF_ERROR(FromXnnStatus(
      xnn_setup_multiply_nd_qs8(xop, 1, a_shape, 1, b_shape, a, b, y, nullptr),
      "xnnpack mul setup"));
  return RunOperator(xop);
}

}  // namespace qp::kernels::xnnpack
