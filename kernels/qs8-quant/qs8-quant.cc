// Quantize/convert family: dispatch table from qs8-quant.inc and shared validation.
#include "kernels/qs8-quant/qs8-quant.h"

namespace qp::kernels {

const std::vector<QS8QuantVariant>& QS8QuantVariants() {
  static const std::vector<QS8QuantVariant> table = {
#define QP_QS8_QUANT_VARIANT(name, ISA, ns, fn) \
  {name, QP_KERNEL_ISA_##ISA, QP_KERNEL_FN_##ISA(ns::fn##_create), QP_KERNEL_FN_##ISA(ns::fn##_run)},
#include "kernels/qs8-quant/qs8-quant.inc"
#undef QP_QS8_QUANT_VARIANT
  };
  return table;
}

const char* QuantKindName(QuantKind kind) {
  switch (kind) {
    case QuantKind::kQuantizeS8: return "quantize_s8";
    case QuantKind::kQuantizeU8: return "quantize_u8";
    case QuantKind::kDequantizeS8: return "dequantize_s8";
    case QuantKind::kDequantizeU8: return "dequantize_u8";
    case QuantKind::kConvertU8ToS8: return "convert_u8_s8";
    case QuantKind::kConvertS8ToU8: return "convert_s8_u8";
  }
  return "unknown";
}

Status ValidateQS8QuantParams(const QS8QuantParams& p) {
  switch (p.kind) {
    case QuantKind::kConvertU8ToS8:
    case QuantKind::kConvertS8ToU8: return Status::Ok();
    case QuantKind::kQuantizeS8:
    case QuantKind::kDequantizeS8:
    case QuantKind::kQuantizeU8:
    case QuantKind::kDequantizeU8: break;
    default: return InvalidArgument("quant kernel: unknown kind ", static_cast<int>(p.kind));
  }
  QP_RETURN_IF_ERROR(quant::ValidateQParams(p.qparams).WithContext(QuantKindName(p.kind)));
  const bool s8 = p.kind == QuantKind::kQuantizeS8 || p.kind == QuantKind::kDequantizeS8;
  const int32_t lo = s8 ? -128 : 0, hi = s8 ? 127 : 255;
  if (p.qparams.qmin < lo || p.qparams.qmax > hi || p.qparams.zero_point < lo ||
      p.qparams.zero_point > hi) {
    return OutOfRange(QuantKindName(p.kind), ": qmin/qmax/zero point ", p.qparams.qmin, "/",
                      p.qparams.qmax, "/", p.qparams.zero_point, " do not fit [", lo, ", ", hi,
                      "]");
  }
  return Status::Ok();
}

}  // namespace qp::kernels
