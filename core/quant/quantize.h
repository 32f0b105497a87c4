// Quantize, dequantize and fake-quant, per tensor and per axis, with saturation and named rounding.
// Must match ONNX QuantizeLinear / DequantizeLinear and torch.quantize_per_tensor / per_channel:
// q = saturate(round(x / scale) + zero_point), x' = (q - zero_point) * scale, fake-quant =
// x'(q(x)).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/base/status.h"
#include "core/quant/qparams.h"

namespace qp::quant {

// kHalfToEven is std::nearbyint under the default FE_TONEAREST mode, as torch.round, numpy.round
// and ONNX QuantizeLinear: 2.5 -> 2, 3.5 -> 4, -2.5 -> -2. kHalfAwayFromZero is std::round
// (2.5 -> 3, -2.5 -> -3), the rounding of TFLite's reference kernels and gemmlowp.
enum class RoundingMode : uint8_t { kHalfToEven, kHalfAwayFromZero };

const char* RoundingModeName(RoundingMode mode);

inline float RoundValue(float v, RoundingMode mode) {
  return mode == RoundingMode::kHalfToEven ? std::nearbyint(v) : std::round(v);
}

// One value. The division is done in float (x / scale, as ONNX and MLAS; NVIDIA multiplies by its
// reciprocal scale, which can differ in the last ulp right at a rounding tie). Saturation happens
// in float before the cast, so any finite or infinite x is safe. NaN maps to the zero point
// (dequantizes to 0.0): observers reject NaN, this keeps a stray NaN from becoming an arbitrary
// code. Precondition: ValidateQParams(p).ok().
inline int32_t QuantizeValue(float x, const QParams& p,
                             RoundingMode mode = RoundingMode::kHalfToEven) {
  if (std::isnan(x)) return p.zero_point;
  const float r = RoundValue(x / p.scale, mode);
  const float lo = static_cast<float>(p.qmin - p.zero_point);
  const float hi = static_cast<float>(p.qmax - p.zero_point);
  const float c = r < lo ? lo : (r > hi ? hi : r);
  return static_cast<int32_t>(c) + p.zero_point;
}

inline float DequantizeValue(int32_t q, const QParams& p) {
  return static_cast<float>(q - p.zero_point) * p.scale;
}

// Literally DequantizeValue(QuantizeValue(x)), so simulation and integer execution agree bit for
// bit.
inline float FakeQuantValue(float x, const QParams& p,
                            RoundingMode mode = RoundingMode::kHalfToEven) {
  return DequantizeValue(QuantizeValue(x, p, mode), p);
}

// ---- Per tensor over n contiguous values. InvalidArgument if params are invalid or n < 0. -------
Status Quantize(const float* x, int64_t n, const QParams& p, int32_t* q,
                RoundingMode mode = RoundingMode::kHalfToEven);
Status Dequantize(const int32_t* q, int64_t n, const QParams& p, float* y);
Status FakeQuant(const float* x, int64_t n, const QParams& p, float* y,
                 RoundingMode mode = RoundingMode::kHalfToEven);

// int8 / uint8 storage conveniences: the params' [qmin, qmax] must fit the storage type.
Status QuantizeInt8(const float* x, int64_t n, const QParams& p, int8_t* q,
                    RoundingMode mode = RoundingMode::kHalfToEven);
Status QuantizeUint8(const float* x, int64_t n, const QParams& p, uint8_t* q,
                     RoundingMode mode = RoundingMode::kHalfToEven);
Status DequantizeInt8(const int8_t* q, int64_t n, const QParams& p, float* y);
Status DequantizeUint8(const uint8_t* q, int64_t n, const QParams& p, float* y);

// ---- Per tensor or per axis over a row-major array of shape `dims` ------------------------------
// Channel c of p.axis uses p.Channel(c); per-tensor params (axis == nullopt) apply to all elements.
// Errors: the axis is out of range, the channel count differs from dims[axis], invalid params.
Status Quantize(const float* x, const Dims& dims, const TensorQParams& p, int32_t* q,
                RoundingMode mode = RoundingMode::kHalfToEven);
Status Dequantize(const int32_t* q, const Dims& dims, const TensorQParams& p, float* y);
Status FakeQuant(const float* x, const Dims& dims, const TensorQParams& p, float* y,
                 RoundingMode mode = RoundingMode::kHalfToEven);

// Quantization error of x under p, split by where each value falls (all sums over elements,
// divided by n; both are mean squared errors in real units):
//   clipping: values outside [RealMin, RealMax], error (x - clamp(x))^2 plus their rounding at the
//             edge, i.e. (x - FakeQuant(x))^2 for those values;
//   rounding: values inside, (x - FakeQuant(x))^2.
// total = clipping + rounding = mean((x - FakeQuant(x))^2).
struct ErrorSplit {
  double clipping = 0.0;
  double rounding = 0.0;
  double total() const { return clipping + rounding; }
  int64_t clipped_count = 0;  // values outside the representable range
  int64_t count = 0;
};
Result<ErrorSplit> QuantErrorSplit(const float* x, int64_t n, const QParams& p,
                                   RoundingMode mode = RoundingMode::kHalfToEven);

}  // namespace qp::quant
