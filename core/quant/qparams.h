// Quantization schemes and parameters: integer ranges, scale and zero point from (min, max) or from
// amax. Must match PyTorch's observer math (zero exactly representable, zero point in [qmin, qmax])
// and NVIDIA pytorch-quantization's amax convention (see "Two conventions for scale" below).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"

namespace qp::quant {

// Shapes are plain row-major dims: core/quant is a leaf library and knows no Tensor.
using Dims = std::vector<int64_t>;

inline constexpr int kMinBits = 2;
inline constexpr int kMaxBits = 16;

// How reals map to integers.
//   kAffine:    q = clamp(round(x / scale) + zero_point, qmin, qmax); zero_point chosen from data.
//   kSymmetric: the same formula with a fixed zero point: 0 when signed; qmin when unsigned
//               (NVIDIA's "unsigned": the range is [0, amax], negative reals saturate to 0).
enum class Scheme : uint8_t { kAffine, kSymmetric };

// One quantizer's integer format. narrow_range drops the lowest code (qmin + 1): int8 becomes
// [-127, 127], uint8 becomes [1, 255]. Integers are stored in int32, so every width 2..16 fits.
struct QuantSpec {
  int bits = 8;
  bool is_signed = true;
  bool narrow_range = false;
  Scheme scheme = Scheme::kSymmetric;
};

// "int8 symmetric narrow" style label, for messages and the UI.
std::string SpecToString(const QuantSpec& spec);

struct QRange {
  int32_t qmin = -128;
  int32_t qmax = 127;
};

// The integer range of a spec. Signed: [-2^(b-1), 2^(b-1) - 1]; unsigned: [0, 2^b - 1]; narrow
// range adds 1 to qmin. OutOfRange if bits is outside [2, 16].
Result<QRange> IntegerRange(const QuantSpec& spec);

// Per-tensor parameters. Contract (checked by ValidateQParams): scale finite and > 0,
// qmin < qmax, qmin <= zero_point <= qmax. The real value of code q is (q - zero_point) * scale,
// so code zero_point is exactly 0.0.
struct QParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
  int32_t qmin = -128;
  int32_t qmax = 127;

  // Smallest and largest representable reals: (qmin - zp) * scale and (qmax - zp) * scale.
  float RealMin() const { return static_cast<float>(qmin - zero_point) * scale; }
  float RealMax() const { return static_cast<float>(qmax - zero_point) * scale; }
};

Status ValidateQParams(const QParams& p);

// Per-tensor or per-axis parameters of one tensor. axis == nullopt: per tensor, one scale.
// Otherwise scales[c] / zero_points[c] apply to index c along `axis`; a negative axis counts from
// the end (-1 = last) and is resolved against the tensor's rank where the params are used.
struct TensorQParams {
  std::optional<int> axis;
  std::vector<float> scales;
  std::vector<int32_t> zero_points;
  int32_t qmin = -128;
  int32_t qmax = 127;

  static TensorQParams PerTensor(const QParams& p);
  int64_t num_channels() const { return static_cast<int64_t>(scales.size()); }
  // Precondition: 0 <= c < num_channels().
  QParams Channel(int64_t c) const;
};

// Checks every channel as ValidateQParams does, that scales and zero_points have equal nonzero
// length, and, when `dims` is given, that the axis exists and its extent equals the count.
Status ValidateTensorQParams(const TensorQParams& p, const Dims* dims = nullptr);

// ---- Choosing parameters ---------------------------------------------------------------------
//
// From (min, max), PyTorch's MinMaxObserver math:
//   the range is first extended to include 0: lo = min(min, 0), hi = max(max, 0), so 0.0 is
//   always exactly representable (padding and ReLU zeros must round-trip exactly).
//   kAffine:    scale = (hi - lo) / (qmax - qmin)        [float arithmetic, as PyTorch]
//               zero_point = clamp(qmin - nearbyint(lo / scale), qmin, qmax)
//   kSymmetric: amax = max(-lo, hi) when signed; amax = hi when unsigned (its range is [0, amax],
//               negative reals saturate to 0 and must not widen it); then as ParamsFromAmax.
// From amax (symmetric only), NVIDIA pytorch-quantization's tensor_quant:
//   signed:   zero_point = 0,    scale = amax / (2^(b-1) - 1)   (127 for int8, narrow or not)
//   unsigned: zero_point = qmin, scale = amax / (qmax - qmin)   (255 for uint8; range [0, amax])
// Degenerate ranges: when hi == lo (an all-zero tensor) the scale is 1.0, any positive scale
// represents all-zeros exactly and 1.0 keeps later arithmetic finite; a nonzero range so tiny that
// the scale would be subnormal gets the smallest normal float (FLT_MIN) instead.
//
// Two conventions for "scale" (both exist in the wild; this library stores the first):
//   PyTorch / ONNX / TFLite: scale = step size, real = (q - zp) * scale, q = round(x / scale) + zp.
//   NVIDIA (pytorch-quantization, ModelOpt): scale = maxbound / amax, the RECIPROCAL of the step:
//   q = round(x * scale), real = q / scale. For int8, amax = 0.9921 gives NVIDIA scale 128.0 and
//   step 0.0078. NvidiaScaleFromStep / StepFromNvidiaScale convert between them.
//
// Errors: OutOfRange for bits outside [2, 16]; InvalidArgument for NaN/Inf bounds, min > max,
// amax < 0 or non-finite.
Result<QParams> ParamsFromMinMax(float min, float max, const QuantSpec& spec);
Result<QParams> ParamsFromAmax(float amax, const QuantSpec& spec);

// Per-axis: one (min, max) or amax per channel, same rules per channel.
Result<TensorQParams> ParamsFromMinMaxPerAxis(const std::vector<float>& mins,
                                              const std::vector<float>& maxs, int axis,
                                              const QuantSpec& spec);
Result<TensorQParams> ParamsFromAmaxPerAxis(const std::vector<float>& amaxs, int axis,
                                            const QuantSpec& spec);

// The "maxbound" of NVIDIA's convention for a spec: 2^(b-1) - 1 signed, qmax - qmin unsigned.
Result<int32_t> AmaxBound(const QuantSpec& spec);
inline float NvidiaScaleFromStep(float step) { return 1.0f / step; }
inline float StepFromNvidiaScale(float nvidia_scale) { return 1.0f / nvidia_scale; }

// Axis handling shared by per-axis code: axis may be negative (Python style, -1 = last).
// OutOfRange if it does not name a dim of `rank`.
Result<int> NormalizeAxis(int axis, int rank);

// Row-major decomposition of a shape around one axis: element (o, c, i) is at
// (o * channels + c) * inner + i. Per-tensor uses channels = 1.
struct AxisLayout {
  int64_t outer = 1;
  int64_t channels = 1;
  int64_t inner = 1;
  int64_t size() const { return outer * channels * inner; }
};

// Validates dims (>= 0, no overflow) and the axis. InvalidArgument for a negative dim or an
// element count above 2^62.
Result<AxisLayout> MakeAxisLayout(const Dims& dims, std::optional<int> axis);

}  // namespace qp::quant
