// Requantization: int32 accumulator -> int8 output, computed once per layer from real scales.
// Default scheme is XNNPACK's fp32 one (must match XNNPACK 2022-02 `fp32_scalar_fmagic` bit for bit);
// gemmlowp/TFLite Q31 fixed-point (SaturatingRoundingDoublingHighMul + RoundingDivideByPOT) is
// the named alternative. Kernels receive these params and never compute them.
#pragma once

#include <cstdint>
#include <cstring>

#include "core/base/status.h"

namespace qp::quant {

// How an int32 accumulator becomes an int8. An enum value, never an #ifdef.
enum class RequantScheme : uint8_t {
  // out = clamp(rne(float(acc) * scale) + zero_point, qmin, qmax), all in IEEE fp32 with one
  // rounding per operation (int->float, the multiply, the round). XNNPACK's default since 2021.
  kFp32 = 0,
  // gemmlowp/TFLite: out = clamp(RoundingDivideByPOT(SRDHM(acc << left, multiplier), right) + zp).
  // Rounds ties toward +inf in the doubling-high-mul and away from zero in the shift (gemmlowp).
  kQ31 = 1,
};
const char* RequantSchemeName(RequantScheme scheme);

// One output channel's requantization in both forms (computed once by MakeRequantChannel).
struct RequantChannel {
  float scale = 0.0f;      // kFp32: the float multiplier input_scale * weight_scale / output_scale
  int32_t multiplier = 0;  // kQ31: Q0.31 mantissa in [2^30, 2^31)
  int32_t shift = 0;       // kQ31: exponent; real = multiplier * 2^(shift - 31) (TFLite sign:
                           // shift > 0 is a left shift, shift < 0 a rounding right shift)
};

// The output side shared by every requantizing kernel: zero point and fused clamp (ReLU/ReLU6
// are expressed as qmin/qmax, never as a separate pass).
struct OutputQuant {
  RequantScheme scheme = RequantScheme::kFp32;
  int32_t zero_point = 0;  // in [-128, 127]
  int32_t qmin = -128;     // qmin < qmax, both in [-128, 127]
  int32_t qmax = 127;
};

// ---- Parameter computation (trust boundary: validates, returns Status) --------------------------

// XNNPACK's float multiplier, computed exactly as XNNPACK's operators do: (in * w) / out in fp32,
// in that order. Rejects scales that are not finite positive normal floats and results outside
// [2^-32, 256) (XNNPACK's own range for the fp32 scheme).
Result<float> Fp32ConvScale(float input_scale, float weight_scale, float output_scale);
// The same range check for an already formed ratio (add/mul/pool use their own ratios).
Status CheckFp32Scale(float scale, const char* what);

// TFLite QuantizeMultiplier: real = multiplier * 2^(shift-31), multiplier in [2^30, 2^31).
// real must be finite, > 0 and < 2^31 (the result must fit); a real that rounds the mantissa up
// to 2^31 is renormalised (multiplier 2^30, shift + 1).
Result<RequantChannel> Q31FromReal(double real);

// Both forms for one channel: scale = Fp32ConvScale(...) and the Q31 form of the exact double
// product in * w / out (what TFLite's reference kernels compute).
Result<RequantChannel> MakeRequantChannel(float input_scale, float weight_scale,
                                          float output_scale);

// Validates zero point and clamp range of an int8 output.
Result<OutputQuant> MakeOutputQuant(RequantScheme scheme, int32_t zero_point, int32_t qmin = -128,
                                    int32_t qmax = 127);

// ---- The arithmetic (inline: every kernel's scalar path calls exactly these) --------------------

// Round-to-nearest-even of a float already clamped to [-2^22, 2^22], by the magic-bias trick:
// adding 1.5*2^23 moves the value into [2^23, 2^24) where the float spacing is exactly 1, so the
// IEEE addition itself rounds to an integer (ties to even in the default rounding mode) and the
// integer sits in the low mantissa bits. This is the same rounding as lrintf()/nearbyintf() in the
// default mode and as SIMD cvtps2dq / f32x4.nearest; tests check the equivalence.
inline int32_t MagicRoundFp32(float clamped) {
  const float biased = clamped + 12582912.0f;  // 0x1.8p+23
  uint32_t bits;
  std::memcpy(&bits, &biased, sizeof(bits));
  return static_cast<int32_t>(bits) - INT32_C(0x4B400000);
}

// kFp32: float(acc) rounds to nearest even for |acc| > 2^24 (as in XNNPACK), the product is one
// fp32 multiply, the clamp happens in float before rounding (equivalent to after, since the bounds
// are integers), then the zero point is added.
inline int32_t RequantizeFp32(int32_t acc, float scale, const OutputQuant& out) {
  float x = static_cast<float>(acc) * scale;
  const float lo = static_cast<float>(out.qmin - out.zero_point);
  const float hi = static_cast<float>(out.qmax - out.zero_point);
  x = x < lo ? lo : x;
  x = x > hi ? hi : x;
  return MagicRoundFp32(x) + out.zero_point;
}

// gemmlowp: the high 32 bits of 2*a*b, i.e. a*b / 2^31 rounded to nearest with ties toward
// +infinity (the +-2^30 nudge then a truncating division); saturates a == b == INT32_MIN.
inline int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) return INT32_MAX;
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int64_t nudge = ab >= 0 ? (INT64_C(1) << 30) : (1 - (INT64_C(1) << 30));
  // Division (not a shift) truncates toward zero, as gemmlowp specifies.
  return static_cast<int32_t>((ab + nudge) / (INT64_C(1) << 31));
}

// gemmlowp: x / 2^exponent rounded to nearest, ties away from zero. exponent in [0, 31].
inline int32_t RoundingDivideByPOT(int32_t x, int exponent) {
  const int32_t mask = static_cast<int32_t>((INT64_C(1) << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// kQ31, TFLite MultiplyByQuantizedMultiplier. The left shift saturates to int32 instead of
// overflowing (TFLite leaves that case undefined); our multipliers keep real < 256 so it only
// matters for absurd accumulators.
inline int32_t MultiplyByQuantizedMultiplier(int32_t acc, int32_t multiplier, int32_t shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  int64_t shifted = static_cast<int64_t>(acc) * (INT64_C(1) << left);
  if (shifted > INT32_MAX) shifted = INT32_MAX;
  if (shifted < INT32_MIN) shifted = INT32_MIN;
  return RoundingDivideByPOT(
      SaturatingRoundingDoublingHighMul(static_cast<int32_t>(shifted), multiplier), right);
}

inline int32_t RequantizeQ31(int32_t acc, int32_t multiplier, int32_t shift,
                             const OutputQuant& out) {
  int32_t v = MultiplyByQuantizedMultiplier(acc, multiplier, shift);
  // Saturating add of the zero point (v can be near INT32_MAX for huge accumulators).
  int64_t w = static_cast<int64_t>(v) + out.zero_point;
  w = w < out.qmin ? out.qmin : w;
  w = w > out.qmax ? out.qmax : w;
  return static_cast<int32_t>(w);
}

// The one entry point kernels use per output value.
inline int32_t Requantize(int32_t acc, const RequantChannel& ch, const OutputQuant& out) {
  return out.scheme == RequantScheme::kFp32
             ? RequantizeFp32(acc, ch.scale, out)
             : RequantizeQ31(acc, ch.multiplier, ch.shift, out);
}

// ---- XNNPACK 2022-02 fixed-point elementwise add (a named scheme of the add kernel) -------------
// acc = bias + a * a_multiplier + b * b_multiplier; out = clamp(acc >> shift) + zero_point,
// where bias folds the zero points and the rounding constant 2^(shift-1) (so the arithmetic shift
// rounds half up). Multipliers have 21 significant bits; shift in [12, 30].
struct AddFixedPoint {
  int32_t bias = 0;
  int32_t a_multiplier = 0;
  int32_t b_multiplier = 0;
  uint32_t shift = 0;
};
// From the ratios a_scale/out_scale and b_scale/out_scale, each in [2^-10, 2^8) (XNNPACK's range).
Result<AddFixedPoint> MakeAddFixedPoint(float a_output_scale, float b_output_scale,
                                        int32_t a_zero_point, int32_t b_zero_point);
inline int32_t AddFixedPointApply(int32_t a, int32_t b, const AddFixedPoint& p,
                                  const OutputQuant& out) {
  // Wrapping int32 arithmetic as XNNPACK's; |a*mult| < 2^28 so nothing wraps in practice.
  const int32_t acc = static_cast<int32_t>(static_cast<uint32_t>(p.bias) +
                                           static_cast<uint32_t>(a * p.a_multiplier) +
                                           static_cast<uint32_t>(b * p.b_multiplier));
  int32_t v = acc >> p.shift;  // arithmetic shift (C++20 semantics, what g++/clang do)
  const int32_t lo = out.qmin - out.zero_point, hi = out.qmax - out.zero_point;
  v = v < lo ? lo : v;
  v = v > hi ? hi : v;
  return v + out.zero_point;
}

// ---- Elementwise add of two int8 tensors with their own scales (ONNX QLinearAdd) ----------------
// y = (sa*(a - za) + sb*(b - zb)) / sy + zy. The arithmetic is a named scheme:
enum class AddScheme : uint8_t {
  // XNNPACK 2022-02's fixed-point add (AddFixedPoint above): the default, because it is what the
  // native XNNPACK backend computes, so every backend gives the same bits.
  kXnnpackFixedPoint = 0,
  // fp32: float(a - za) * ra + float(b - zb) * rb (two products, one sum, no FMA), then clamp and
  // round to nearest even like RequantizeFp32. Not available through XNNPACK 2022.
  kFp32 = 1,
};
const char* AddSchemeName(AddScheme scheme);

struct AddRequant {
  AddScheme scheme = AddScheme::kXnnpackFixedPoint;
  float a_ratio = 0, b_ratio = 0;  // sa / sy and sb / sy, fp32 divisions as XNNPACK computes them
  int32_t a_zero_point = 0, b_zero_point = 0;
  AddFixedPoint fixed;             // kXnnpackFixedPoint only
};
// Validates scales (finite, positive, normal) and ratios ([2^-10, 2^8), XNNPACK's range).
Result<AddRequant> MakeAddRequant(AddScheme scheme, float a_scale, int32_t a_zero_point,
                                  float b_scale, int32_t b_zero_point, float output_scale);

inline int32_t AddRequantApply(int32_t a, int32_t b, const AddRequant& r, const OutputQuant& out) {
  if (r.scheme == AddScheme::kXnnpackFixedPoint) return AddFixedPointApply(a, b, r.fixed, out);
  float x = static_cast<float>(a - r.a_zero_point) * r.a_ratio;
  x += static_cast<float>(b - r.b_zero_point) * r.b_ratio;
  const float lo = static_cast<float>(out.qmin - out.zero_point);
  const float hi = static_cast<float>(out.qmax - out.zero_point);
  x = x < lo ? lo : x;
  x = x > hi ? hi : x;
  return MagicRoundFp32(x) + out.zero_point;
}

// ---- Elementwise multiply (ONNX QLinearMul / XNNPACK multiply_nd_qs8) ---------------------------
// acc = (a - za) * (b - zb) exactly in int32, then Requantize(acc, channel, out) with the channel's
// scale = (sa * sb) / sy in fp32 (XNNPACK's order, range [2^-16, 2^8)).
Result<RequantChannel> MakeMulRequant(float a_scale, float b_scale, float output_scale);

// ---- Average pooling: acc = sum over `count` inputs of (x - zx), out = Requantize(acc, ch, out) --
// scale = (sx / sy) / float(count): the ratio first, then the division by the count, both in fp32
// (XNNPACK's global average pooling given input scale sx/sy and output scale 1 computes the same).
// The ratio must be in [2^-8, 2^8) (XNNPACK's range); count >= 1.
Result<RequantChannel> MakeAvgPoolRequant(float input_scale, float output_scale, size_t count);

}  // namespace qp::quant
