// qs8/qc8 GEMM family: the dispatch table from qs8-gemm.inc and the create() validation every
// variant shares, so all variants accept and reject exactly the same parameters.
#include "kernels/qs8-gemm/qs8-gemm.h"

namespace qp::kernels {

const std::vector<QS8GemmVariant>& QS8GemmVariants() {
  static const std::vector<QS8GemmVariant> table = {
#define QP_QS8_GEMM_VARIANT(name, ISA, ns, fn) \
  {name, QP_KERNEL_ISA_##ISA, QP_KERNEL_FN_##ISA(ns::fn##_create), QP_KERNEL_FN_##ISA(ns::fn##_run)},
#include "kernels/qs8-gemm/qs8-gemm.inc"
#undef QP_QS8_GEMM_VARIANT
  };
  return table;
}

Status ValidateQS8GemmParams(const QS8GemmParams& p) {
  if (p.n == 0) return InvalidArgument("qs8 gemm: n is 0; output channels must be >= 1");
  if (p.k == 0 || p.k > 65536) {
    return OutOfRange("qs8 gemm: k is ", p.k, "; must be in [1, 65536] so int32 sums cannot wrap");
  }
  if (p.a_stride != 0 && p.a_stride < p.k) {
    return InvalidArgument("qs8 gemm: a_stride ", p.a_stride, " is below k ", p.k);
  }
  if (p.c_stride != 0 && p.c_stride < p.n) {
    return InvalidArgument("qs8 gemm: c_stride ", p.c_stride, " is below n ", p.n);
  }
  if (p.weights == nullptr) return InvalidArgument("qs8 gemm: weights are null");
  if (p.requant == nullptr) return InvalidArgument("qs8 gemm: requant params are null");
  if (p.input_zero_point < -128 || p.input_zero_point > 127) {
    return OutOfRange("qs8 gemm: input zero point ", p.input_zero_point, " outside [-128, 127]");
  }
  QP_RETURN_IF_ERROR(quant::MakeOutputQuant(p.output.scheme, p.output.zero_point, p.output.qmin,
                                            p.output.qmax)
                         .status()
                         .WithContext("qs8 gemm"));
  const size_t channels = p.per_channel ? p.n : 1;
  for (size_t j = 0; j < channels; ++j) {
    if (p.output.scheme == quant::RequantScheme::kFp32) {
      QP_RETURN_IF_ERROR(quant::CheckFp32Scale(p.requant[j].scale, "qs8 gemm requant scale"));
    } else if (p.requant[j].multiplier < (INT32_C(1) << 30) || p.requant[j].shift > 8 ||
               p.requant[j].shift < -31) {
      return OutOfRange("qs8 gemm: Q31 channel ", j, " multiplier ", p.requant[j].multiplier,
                        " shift ", p.requant[j].shift,
                        "; need multiplier >= 2^30 and shift in [-31, 8]");
    }
  }
  return Status::Ok();
}

void InitQS8GemmOp(const QS8GemmParams& params, QS8GemmOp* op) {
  op->params = params;
  op->params.a_stride = params.a_stride ? params.a_stride : params.k;
  op->params.c_stride = params.c_stride ? params.c_stride : params.n;
  op->requant.assign(params.n, params.requant[0]);
  if (params.per_channel) op->requant.assign(params.requant, params.requant + params.n);
  op->params.weights = nullptr;
  op->params.bias = nullptr;
  op->params.requant = nullptr;
  op->weights.clear();
  op->bias.clear();
  op->backend.reset();
}

}  // namespace qp::kernels
