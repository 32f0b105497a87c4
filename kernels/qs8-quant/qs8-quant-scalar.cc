// Scalar reference of quantize / dequantize / convert: core/quant's QuantizeValue and
// DequantizeValue element by element (the same functions fake-quant uses). The oracle.
#include "core/quant/quantize.h"
#include "kernels/qs8-quant/qs8-quant.h"

namespace qp::kernels::scalar {

Status qs8_quant_create(const QS8QuantParams& params, QS8QuantOp* op) {
  QP_RETURN_IF_ERROR(ValidateQS8QuantParams(params));
  op->params = params;
  return Status::Ok();
}

Status qs8_quant_run(const QS8QuantOp& op, size_t n, const void* x, void* y) {
  const quant::QParams& q = op.params.qparams;
  switch (op.params.kind) {
    case QuantKind::kQuantizeS8:
      for (size_t i = 0; i < n; ++i) {
        static_cast<int8_t*>(y)[i] =
            static_cast<int8_t>(quant::QuantizeValue(static_cast<const float*>(x)[i], q));
      }
      break;
    case QuantKind::kQuantizeU8:
      for (size_t i = 0; i < n; ++i) {
        static_cast<uint8_t*>(y)[i] =
            static_cast<uint8_t>(quant::QuantizeValue(static_cast<const float*>(x)[i], q));
      }
      break;
    case QuantKind::kDequantizeS8:
      for (size_t i = 0; i < n; ++i) {
        static_cast<float*>(y)[i] = quant::DequantizeValue(static_cast<const int8_t*>(x)[i], q);
      }
      break;
    case QuantKind::kDequantizeU8:
      for (size_t i = 0; i < n; ++i) {
        static_cast<float*>(y)[i] = quant::DequantizeValue(static_cast<const uint8_t*>(x)[i], q);
      }
      break;
    case QuantKind::kConvertU8ToS8:
      for (size_t i = 0; i < n; ++i) {
        static_cast<int8_t*>(y)[i] = static_cast<int8_t>(static_cast<const uint8_t*>(x)[i] - 128);
      }
      break;
    case QuantKind::kConvertS8ToU8:
      for (size_t i = 0; i < n; ++i) {
        static_cast<uint8_t*>(y)[i] = static_cast<uint8_t>(static_cast<const int8_t*>(x)[i] + 128);
      }
      break;
  }
  return Status::Ok();
}

}  // namespace qp::kernels::scalar
