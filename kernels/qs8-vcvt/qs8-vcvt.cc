// Requantizing copy family: dispatch table from qs8-vcvt.inc and shared validation.
#include "kernels/qs8-vcvt/qs8-vcvt.h"

namespace qp::kernels {

const std::vector<QS8CvtVariant>& QS8CvtVariants() {
  static const std::vector<QS8CvtVariant> table = {
#define QP_QS8_VCVT_VARIANT(name, ISA, ns, fn) \
  {name, QP_KERNEL_ISA_##ISA, QP_KERNEL_FN_##ISA(ns::fn##_create), QP_KERNEL_FN_##ISA(ns::fn##_run)},
#include "kernels/qs8-vcvt/qs8-vcvt.inc"
#undef QP_QS8_VCVT_VARIANT
  };
  return table;
}

Status ValidateQS8CvtParams(const QS8CvtParams& p) {
  QP_RETURN_IF_ERROR(quant::MakeOutputQuant(p.output.scheme, p.output.zero_point, p.output.qmin,
                                            p.output.qmax)
                         .status()
                         .WithContext("qs8 vcvt"));
  if (p.input_zero_point < -128 || p.input_zero_point > 127) {
    return OutOfRange("qs8 vcvt: input zero point ", p.input_zero_point, " outside [-128, 127]");
  }
  if (p.output.scheme == quant::RequantScheme::kFp32) {
    QP_RETURN_IF_ERROR(quant::CheckFp32Scale(p.requant.scale, "qs8 vcvt"));
  } else if (p.requant.multiplier < (INT32_C(1) << 30)) {
    return OutOfRange("qs8 vcvt: Q31 multiplier ", p.requant.multiplier,
                      " below 2^30; build params with MakeQS8CvtParams");
  }
  return Status::Ok();
}

Result<QS8CvtParams> MakeQS8CvtParams(float input_scale, int32_t input_zero_point,
                                      float output_scale, const quant::OutputQuant& output) {
  QS8CvtParams p;
  p.input_zero_point = input_zero_point;
  // The weight scale 1 makes Fp32ConvScale's (in * w) / out the plain ratio in / out.
  QP_ASSIGN_OR_RETURN(p.requant, quant::MakeRequantChannel(input_scale, 1.0f, output_scale));
  p.output = output;
  QP_RETURN_IF_ERROR(ValidateQS8CvtParams(p));
  return p;
}

}  // namespace qp::kernels
