// Quantize (f32 -> int8/uint8), dequantize (int8/uint8 -> f32) and the exact uint8 <-> int8
// conversion (value and zero point shifted by 128), so uint8 models from ONNX Runtime run on the
// int8 kernels. Numerics are core/quant's QuantizeValue / DequantizeValue (ONNX QuantizeLinear:
// x / scale in fp32, round half to even, saturate; NaN -> zero point). Variants: qs8-quant.inc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/base/status.h"
#include "core/quant/qparams.h"
#include "kernels/isa.h"

namespace qp::kernels {

enum class QuantKind : uint8_t {
  kQuantizeS8,    // const float* -> int8_t*   (qparams qmin/qmax within [-128, 127])
  kQuantizeU8,    // const float* -> uint8_t*  (qparams qmin/qmax within [0, 255])
  kDequantizeS8,  // const int8_t* -> float*
  kDequantizeU8,  // const uint8_t* -> float*
  kConvertU8ToS8, // const uint8_t* -> int8_t*: q - 128 (exact; the zero point moves by -128)
  kConvertS8ToU8, // const int8_t* -> uint8_t*: q + 128
};
const char* QuantKindName(QuantKind kind);

struct QS8QuantParams {
  QuantKind kind = QuantKind::kQuantizeS8;
  quant::QParams qparams;  // unused by the conversions
};

struct QS8QuantOp {
  QS8QuantParams params;
};

using QS8QuantCreateFn = Status (*)(const QS8QuantParams& params, QS8QuantOp* op);
// x and y point at n elements of the types `kind` names.
using QS8QuantRunFn = Status (*)(const QS8QuantOp& op, size_t n, const void* x, void* y);
using QS8QuantVariant = KernelVariant<QS8QuantCreateFn, QS8QuantRunFn>;

const std::vector<QS8QuantVariant>& QS8QuantVariants();
Status ValidateQS8QuantParams(const QS8QuantParams& params);
// The zero point of the same real grid after kConvertU8ToS8 (zp - 128) / kConvertS8ToU8 (+128).
inline int32_t ConvertedZeroPoint(QuantKind kind, int32_t zero_point) {
  return kind == QuantKind::kConvertU8ToS8 ? zero_point - 128 : zero_point + 128;
}

namespace scalar {
Status qs8_quant_create(const QS8QuantParams& params, QS8QuantOp* op);
Status qs8_quant_run(const QS8QuantOp& op, size_t n, const void* x, void* y);
}  // namespace scalar
namespace wasmsimd {
Status qs8_quant_16x_create(const QS8QuantParams& params, QS8QuantOp* op);
Status qs8_quant_16x_run(const QS8QuantOp& op, size_t n, const void* x, void* y);
}  // namespace wasmsimd

}  // namespace qp::kernels
