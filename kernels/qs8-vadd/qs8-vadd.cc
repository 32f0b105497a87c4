// Elementwise add family: dispatch table from qs8-vadd.inc and shared validation.
#include "kernels/qs8-vadd/qs8-vadd.h"

namespace qp::kernels {

const std::vector<QS8AddVariant>& QS8AddVariants() {
  static const std::vector<QS8AddVariant> table = {
#define QP_QS8_VADD_VARIANT(name, ISA, ns, fn) \
  {name, QP_KERNEL_ISA_##ISA, QP_KERNEL_FN_##ISA(ns::fn##_create), QP_KERNEL_FN_##ISA(ns::fn##_run)},
#include "kernels/qs8-vadd/qs8-vadd.inc"
#undef QP_QS8_VADD_VARIANT
  };
  return table;
}

Status ValidateQS8AddParams(const QS8AddParams& p) {
  QP_RETURN_IF_ERROR(quant::MakeOutputQuant(quant::RequantScheme::kFp32, p.output.zero_point,
                                            p.output.qmin, p.output.qmax)
                         .status()
                         .WithContext("qs8 add"));
  const quant::AddRequant& r = p.requant;
  if (r.scheme != quant::AddScheme::kXnnpackFixedPoint && r.scheme != quant::AddScheme::kFp32) {
    return InvalidArgument("qs8 add: unknown scheme ", static_cast<int>(r.scheme));
  }
  if (r.a_zero_point < -128 || r.a_zero_point > 127 || r.b_zero_point < -128 ||
      r.b_zero_point > 127) {
    return OutOfRange("qs8 add: input zero points ", r.a_zero_point, ", ", r.b_zero_point,
                      " outside [-128, 127]");
  }
  if (r.scheme == quant::AddScheme::kXnnpackFixedPoint && (r.fixed.shift < 12 || r.fixed.shift > 30)) {
    return OutOfRange("qs8 add: fixed-point shift ", r.fixed.shift,
                      " outside [12, 30]; build params with quant::MakeAddRequant");
  }
  return Status::Ok();
}

}  // namespace qp::kernels
