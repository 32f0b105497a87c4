// Elementwise multiply family: dispatch table from qs8-vmul.inc and shared validation.
#include "kernels/qs8-vmul/qs8-vmul.h"

namespace qp::kernels {

const std::vector<QS8MulVariant>& QS8MulVariants() {
  static const std::vector<QS8MulVariant> table = {
#define QP_QS8_VMUL_VARIANT(name, ISA, ns, fn) \
  {name, QP_KERNEL_ISA_##ISA, QP_KERNEL_FN_##ISA(ns::fn##_create), QP_KERNEL_FN_##ISA(ns::fn##_run)},
#include "kernels/qs8-vmul/qs8-vmul.inc"
#undef QP_QS8_VMUL_VARIANT
  };
  return table;
}

Status ValidateQS8MulParams(const QS8MulParams& p) {
  QP_RETURN_IF_ERROR(quant::MakeOutputQuant(p.output.scheme, p.output.zero_point, p.output.qmin,
                                            p.output.qmax)
                         .status()
                         .WithContext("qs8 mul"));
  if (p.a_zero_point < -128 || p.a_zero_point > 127 || p.b_zero_point < -128 ||
      p.b_zero_point > 127) {
    return OutOfRange("qs8 mul: input zero points ", p.a_zero_point, ", ", p.b_zero_point,
                      " outside [-128, 127]");
  }
  if (p.output.scheme == quant::RequantScheme::kFp32 &&
      (!(p.requant.scale >= 0x1.0p-16f) || !(p.requant.scale < 256.0f))) {
    return OutOfRange("qs8 mul: scale ", p.requant.scale, " outside [2^-16, 2^8)");
  }
  if (p.output.scheme == quant::RequantScheme::kQ31 &&
      (p.requant.multiplier < (INT32_C(1) << 30) || p.requant.shift > 8 || p.requant.shift < -31)) {
    return OutOfRange("qs8 mul: Q31 multiplier ", p.requant.multiplier, " shift ",
                      p.requant.shift, " out of range");
  }
  return Status::Ok();
}

}  // namespace qp::kernels
