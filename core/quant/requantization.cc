// Requantization parameter computation (see requantization.h). Must reproduce XNNPACK 2022-02
// operator-side scale formulas (fully-connected/convolution/add) and TFLite QuantizeMultiplier.
#include "core/quant/requantization.h"

#include <cmath>

namespace qp::quant {

const char* RequantSchemeName(RequantScheme scheme) {
  switch (scheme) {
    case RequantScheme::kFp32: return "fp32";
    case RequantScheme::kQ31: return "q31";
  }
  return "unknown";
}

namespace {
Status CheckScale(float s, const char* what) {
  if (!(s > 0.0f) || !std::isnormal(s)) {
    return InvalidArgument(what, " is ", s, "; scales must be finite, positive and normal");
  }
  return Status::Ok();
}
}  // namespace

Status CheckFp32Scale(float scale, const char* what) {
  if (!(scale >= 0x1.0p-32f) || !(scale < 256.0f)) {
    return OutOfRange(what, " is ", scale, "; the fp32 requantization scale must be in [2^-32, 256)");
  }
  return Status::Ok();
}

Result<float> Fp32ConvScale(float input_scale, float weight_scale, float output_scale) {
  QP_RETURN_IF_ERROR(CheckScale(input_scale, "input scale"));
  QP_RETURN_IF_ERROR(CheckScale(weight_scale, "weight scale"));
  QP_RETURN_IF_ERROR(CheckScale(output_scale, "output scale"));
  // Same operation order as XNNPACK's create functions: (input * kernel) / output.
  const float scale = input_scale * weight_scale / output_scale;
  QP_RETURN_IF_ERROR(CheckFp32Scale(scale, "input*weight/output scale"));
  return scale;
}

Result<RequantChannel> Q31FromReal(double real) {
  if (!(real > 0.0) || !std::isfinite(real) || real >= 2147483648.0) {
    return OutOfRange("real multiplier ", real, " must be finite and in (0, 2^31)");
  }
  int exponent = 0;
  const double mantissa = std::frexp(real, &exponent);  // real = mantissa * 2^exponent, [0.5, 1)
  int64_t q = std::llround(mantissa * 2147483648.0);    // round half away from zero, as TFLite
  if (q == (INT64_C(1) << 31)) {
    q /= 2;
    ++exponent;
  }
  if (exponent < -31) {  // the multiplier would be flushed to zero, as TFLite does
    return OutOfRange("real multiplier ", real, " is below 2^-32; Q31 cannot represent it");
  }
  RequantChannel ch;
  ch.multiplier = static_cast<int32_t>(q);
  ch.shift = exponent;
  ch.scale = static_cast<float>(real);
  return ch;
}

Result<RequantChannel> MakeRequantChannel(float input_scale, float weight_scale,
                                          float output_scale) {
  QP_ASSIGN_OR_RETURN(float scale, Fp32ConvScale(input_scale, weight_scale, output_scale));
  const double real = static_cast<double>(input_scale) * static_cast<double>(weight_scale) /
                      static_cast<double>(output_scale);
  QP_ASSIGN_OR_RETURN(RequantChannel ch, Q31FromReal(real));
  ch.scale = scale;
  return ch;
}

Result<OutputQuant> MakeOutputQuant(RequantScheme scheme, int32_t zero_point, int32_t qmin,
                                    int32_t qmax) {
  if (zero_point < -128 || zero_point > 127) {
    return OutOfRange("output zero point ", zero_point, " must be in [-128, 127] for int8");
  }
  if (qmin < -128 || qmax > 127 || qmin >= qmax) {
    return OutOfRange("output clamp [", qmin, ", ", qmax,
                      "] must satisfy -128 <= qmin < qmax <= 127");
  }
  if (scheme != RequantScheme::kFp32 && scheme != RequantScheme::kQ31) {
    return InvalidArgument("requantization scheme ", static_cast<int>(scheme), " is unknown");
  }
  OutputQuant q;
  q.scheme = scheme;
  q.zero_point = zero_point;
  q.qmin = qmin;
  q.qmax = qmax;
  return q;
}

Result<AddFixedPoint> MakeAddFixedPoint(float a_output_scale, float b_output_scale,
                                        int32_t a_zero_point, int32_t b_zero_point) {
  for (float r : {a_output_scale, b_output_scale}) {
    if (!(r >= 0x1.0p-10f) || !(r < 0x1.0p+8f)) {
      return OutOfRange("add input/output scale ratio ", r,
                        " must be in [2^-10, 2^8) for the fixed-point add");
    }
  }
  if (a_zero_point < -128 || a_zero_point > 127 || b_zero_point < -128 || b_zero_point > 127) {
    return OutOfRange("add input zero points ", a_zero_point, ", ", b_zero_point,
                      " must be in [-128, 127]");
  }
  // The largest ratio gets 21 significant bits: shift = 20 - exponent(max ratio), in [12, 30].
  const float max_ratio = a_output_scale > b_output_scale ? a_output_scale : b_output_scale;
  uint32_t max_bits;
  std::memcpy(&max_bits, &max_ratio, sizeof(max_bits));
  const int32_t max_exponent = static_cast<int32_t>(max_bits >> 23) - 127;
  const uint32_t shift = static_cast<uint32_t>(20 - max_exponent);
  // Scaling by 2^shift is done on the exponent bits, then rounded to an integer with lrintf
  // (round to nearest even), exactly as XNNPACK's init does.
  auto scaled = [shift](float r) {
    uint32_t bits;
    std::memcpy(&bits, &r, sizeof(bits));
    bits += shift << 23;
    float f;
    std::memcpy(&f, &bits, sizeof(f));
    return static_cast<int32_t>(std::lrintf(f));
  };
  AddFixedPoint p;
  p.a_multiplier = scaled(a_output_scale);
  p.b_multiplier = scaled(b_output_scale);
  p.shift = shift;
  const int32_t rounding = INT32_C(1) << (shift - 1);
  p.bias = rounding - p.a_multiplier * a_zero_point - p.b_multiplier * b_zero_point;
  return p;
}

const char* AddSchemeName(AddScheme scheme) {
  switch (scheme) {
    case AddScheme::kXnnpackFixedPoint: return "xnnpack_fixed_point";
    case AddScheme::kFp32: return "fp32";
  }
  return "unknown";
}

Result<AddRequant> MakeAddRequant(AddScheme scheme, float a_scale, int32_t a_zero_point,
                                  float b_scale, int32_t b_zero_point, float output_scale) {
  QP_RETURN_IF_ERROR(CheckScale(a_scale, "add input A scale"));
  QP_RETURN_IF_ERROR(CheckScale(b_scale, "add input B scale"));
  QP_RETURN_IF_ERROR(CheckScale(output_scale, "add output scale"));
  AddRequant r;
  r.scheme = scheme;
  r.a_ratio = a_scale / output_scale;
  r.b_ratio = b_scale / output_scale;
  r.a_zero_point = a_zero_point;
  r.b_zero_point = b_zero_point;
  // Both schemes accept the same inputs, so switching scheme never changes what is legal.
  QP_ASSIGN_OR_RETURN(r.fixed, MakeAddFixedPoint(r.a_ratio, r.b_ratio, a_zero_point, b_zero_point));
  if (scheme != AddScheme::kXnnpackFixedPoint && scheme != AddScheme::kFp32) {
    return InvalidArgument("add scheme ", static_cast<int>(scheme), " is unknown");
  }
  return r;
}

Result<RequantChannel> MakeMulRequant(float a_scale, float b_scale, float output_scale) {
  QP_RETURN_IF_ERROR(CheckScale(a_scale, "mul input A scale"));
  QP_RETURN_IF_ERROR(CheckScale(b_scale, "mul input B scale"));
  QP_RETURN_IF_ERROR(CheckScale(output_scale, "mul output scale"));
  const float scale = a_scale * b_scale / output_scale;
  if (!(scale >= 0x1.0p-16f) || !(scale < 256.0f)) {
    return OutOfRange("mul scale ratio sa*sb/sy is ", scale, "; must be in [2^-16, 2^8)");
  }
  QP_ASSIGN_OR_RETURN(RequantChannel ch,
                      Q31FromReal(static_cast<double>(a_scale) * b_scale / output_scale));
  ch.scale = scale;
  return ch;
}

Result<RequantChannel> MakeAvgPoolRequant(float input_scale, float output_scale, size_t count) {
  QP_RETURN_IF_ERROR(CheckScale(input_scale, "pool input scale"));
  QP_RETURN_IF_ERROR(CheckScale(output_scale, "pool output scale"));
  const float ratio = input_scale / output_scale;
  if (!(ratio >= 0x1.0p-8f) || !(ratio < 0x1.0p+8f)) {
    return OutOfRange("pool input/output scale ratio ", ratio, " must be in [2^-8, 2^8)");
  }
  if (count == 0 || count > (size_t{1} << 24)) {
    return OutOfRange("pool window count ", count, " must be in [1, 2^24]");
  }
  const float scale = ratio / static_cast<float>(count);
  QP_RETURN_IF_ERROR(CheckFp32Scale(scale, "pool scale"));
  QP_ASSIGN_OR_RETURN(RequantChannel ch,
                      Q31FromReal(static_cast<double>(input_scale) / output_scale / count));
  ch.scale = scale;
  return ch;
}

}  // namespace qp::quant
