// Quantization parameters: ranges, validation and choice of scale / zero point (see qparams.h for
// the exact formulas, which follow PyTorch's observers and NVIDIA's amax convention).
#include "core/quant/qparams.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

namespace qp::quant {
namespace {

Status CheckBits(int bits) {
  if (bits < kMinBits || bits > kMaxBits) {
    return OutOfRange("quantization bits is ", bits, "; bits must be in [", kMinBits, ", ",
                      kMaxBits, "]");
  }
  return Status::Ok();
}

// A scale that is finite and positive whatever the range: 1.0 for an empty range, FLT_MIN for a
// range so small that the division would give a subnormal or zero.
float SafeScale(float range, int32_t levels) {
  if (!(range > 0.0f)) return 1.0f;
  const float s = range / static_cast<float>(levels);
  return s < FLT_MIN ? FLT_MIN : s;
}

}  // namespace

std::string SpecToString(const QuantSpec& spec) {
  std::string s = (spec.is_signed ? "int" : "uint") + std::to_string(spec.bits);
  s += spec.scheme == Scheme::kSymmetric ? " symmetric" : " affine";
  if (spec.narrow_range) s += " narrow";
  return s;
}

Result<QRange> IntegerRange(const QuantSpec& spec) {
  QP_RETURN_IF_ERROR(CheckBits(spec.bits));
  QRange r;
  if (spec.is_signed) {
    r.qmin = -(int32_t{1} << (spec.bits - 1));
    r.qmax = (int32_t{1} << (spec.bits - 1)) - 1;
  } else {
    r.qmin = 0;
    r.qmax = (int32_t{1} << spec.bits) - 1;
  }
  if (spec.narrow_range) r.qmin += 1;
  return r;
}

Status ValidateQParams(const QParams& p) {
  if (!std::isfinite(p.scale) || !(p.scale > 0.0f)) {
    return InvalidArgument("quantization scale is ", p.scale, "; scale must be finite and > 0");
  }
  if (p.qmin >= p.qmax) {
    return InvalidArgument("quantization range [", p.qmin, ", ", p.qmax,
                           "] is empty; qmin must be < qmax");
  }
  if (p.qmin < -(int32_t{1} << 16) || p.qmax > (int32_t{1} << 16)) {
    return OutOfRange("quantization range [", p.qmin, ", ", p.qmax,
                      "] exceeds 16-bit codes; supported widths are 2..16 bits");
  }
  if (p.zero_point < p.qmin || p.zero_point > p.qmax) {
    return InvalidArgument("zero point ", p.zero_point, " outside [", p.qmin, ", ", p.qmax,
                           "]; the zero point must be a representable code");
  }
  return Status::Ok();
}

TensorQParams TensorQParams::PerTensor(const QParams& p) {
  TensorQParams t;
  t.axis = std::nullopt;
  t.scales = {p.scale};
  t.zero_points = {p.zero_point};
  t.qmin = p.qmin;
  t.qmax = p.qmax;
  return t;
}

QParams TensorQParams::Channel(int64_t c) const {
  QParams p;
  p.scale = scales[static_cast<size_t>(c)];
  p.zero_point = zero_points[static_cast<size_t>(c)];
  p.qmin = qmin;
  p.qmax = qmax;
  return p;
}

Status ValidateTensorQParams(const TensorQParams& p, const Dims* dims) {
  if (p.scales.empty() || p.scales.size() != p.zero_points.size()) {
    return InvalidArgument("quantization params have ", p.scales.size(), " scales and ",
                           p.zero_points.size(), " zero points; both counts must be equal and > 0");
  }
  if (!p.axis && p.scales.size() != 1) {
    return InvalidArgument("per-tensor quantization params have ", p.scales.size(),
                           " scales; per-tensor means exactly 1");
  }
  for (int64_t c = 0; c < p.num_channels(); ++c) {
    Status s = ValidateQParams(p.Channel(c));
    if (!s.ok()) return p.axis ? s.WithContext("channel " + std::to_string(c)) : s;
  }
  if (dims && p.axis) {
    QP_ASSIGN_OR_RETURN(int a, NormalizeAxis(*p.axis, static_cast<int>(dims->size())));
    const int64_t extent = (*dims)[static_cast<size_t>(a)];
    if (extent != p.num_channels()) {
      return InvalidArgument("per-axis params have ", p.num_channels(), " channels but dim ", a,
                             " has extent ", extent, "; the counts must match");
    }
  }
  return Status::Ok();
}

Result<int32_t> AmaxBound(const QuantSpec& spec) {
  QP_ASSIGN_OR_RETURN(QRange r, IntegerRange(spec));
  if (spec.is_signed) return (int32_t{1} << (spec.bits - 1)) - 1;
  return r.qmax - r.qmin;
}

Result<QParams> ParamsFromAmax(float amax, const QuantSpec& spec) {
  QP_ASSIGN_OR_RETURN(QRange r, IntegerRange(spec));
  if (!std::isfinite(amax) || amax < 0.0f) {
    return InvalidArgument("amax is ", amax, "; amax must be finite and >= 0");
  }
  QP_ASSIGN_OR_RETURN(int32_t bound, AmaxBound(spec));
  QParams p;
  p.qmin = r.qmin;
  p.qmax = r.qmax;
  p.zero_point = spec.is_signed ? 0 : r.qmin;
  p.scale = SafeScale(amax, bound);
  return p;
}

Result<QParams> ParamsFromMinMax(float min, float max, const QuantSpec& spec) {
  QP_ASSIGN_OR_RETURN(QRange r, IntegerRange(spec));
  if (!std::isfinite(min) || !std::isfinite(max)) {
    return InvalidArgument("range [", min, ", ", max,
                           "] is not finite; min and max must be finite");
  }
  if (min > max) {
    return InvalidArgument("range min ", min, " > max ", max, "; min must be <= max");
  }
  const float lo = std::min(min, 0.0f);
  const float hi = std::max(max, 0.0f);
  if (spec.scheme == Scheme::kSymmetric) {
    // Unsigned symmetric covers [0, amax] only, so negative reals (which saturate to 0) do not
    // widen it.
    return ParamsFromAmax(spec.is_signed ? std::max(-lo, hi) : hi, spec);
  }
  QParams p;
  p.qmin = r.qmin;
  p.qmax = r.qmax;
  // hi - lo can overflow to +inf for ranges near FLT_MAX; do it in double and clamp to FLT_MAX.
  const double range = static_cast<double>(hi) - static_cast<double>(lo);
  const float frange = range > FLT_MAX ? FLT_MAX : static_cast<float>(range);
  p.scale = SafeScale(frange, r.qmax - r.qmin);
  // Float division and nearbyint, as PyTorch's _calculate_qparams (zero_point = qmin -
  // round(lo/scale)).
  const double zp = static_cast<double>(r.qmin) - static_cast<double>(std::nearbyint(lo / p.scale));
  p.zero_point = static_cast<int32_t>(
      std::clamp(zp, static_cast<double>(r.qmin), static_cast<double>(r.qmax)));
  return p;
}

namespace {
Result<TensorQParams> StartPerAxis(size_t count, int axis, const QuantSpec& spec) {
  if (count == 0) return InvalidArgument("per-axis params for 0 channels; need at least 1");
  QP_ASSIGN_OR_RETURN(QRange r, IntegerRange(spec));
  TensorQParams t;
  t.axis = axis;
  t.qmin = r.qmin;
  t.qmax = r.qmax;
  t.scales.reserve(count);
  t.zero_points.reserve(count);
  return t;
}
}  // namespace

Result<TensorQParams> ParamsFromMinMaxPerAxis(const std::vector<float>& mins,
                                              const std::vector<float>& maxs, int axis,
                                              const QuantSpec& spec) {
  if (mins.size() != maxs.size()) {
    return InvalidArgument("per-axis range has ", mins.size(), " mins and ", maxs.size(),
                           " maxs; the counts must match");
  }
  QP_ASSIGN_OR_RETURN(TensorQParams t, StartPerAxis(mins.size(), axis, spec));
  for (size_t c = 0; c < mins.size(); ++c) {
    Result<QParams> p = ParamsFromMinMax(mins[c], maxs[c], spec);
    if (!p.ok()) return p.status().WithContext("channel " + std::to_string(c));
    t.scales.push_back(p->scale);
    t.zero_points.push_back(p->zero_point);
  }
  return t;
}

Result<TensorQParams> ParamsFromAmaxPerAxis(const std::vector<float>& amaxs, int axis,
                                            const QuantSpec& spec) {
  QP_ASSIGN_OR_RETURN(TensorQParams t, StartPerAxis(amaxs.size(), axis, spec));
  for (size_t c = 0; c < amaxs.size(); ++c) {
    Result<QParams> p = ParamsFromAmax(amaxs[c], spec);
    if (!p.ok()) return p.status().WithContext("channel " + std::to_string(c));
    t.scales.push_back(p->scale);
    t.zero_points.push_back(p->zero_point);
  }
  return t;
}

Result<int> NormalizeAxis(int axis, int rank) {
  if (rank <= 0 || axis < -rank || axis >= rank) {
    return OutOfRange("axis ", axis, " does not exist in a rank-", rank,
                      " tensor; axis must be in [", -rank, ", ", rank - 1, "]");
  }
  return axis < 0 ? axis + rank : axis;
}

Result<AxisLayout> MakeAxisLayout(const Dims& dims, std::optional<int> axis) {
  AxisLayout l;
  int64_t total = 1;
  constexpr int64_t kCap = int64_t{1} << 62;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] < 0) {
      return InvalidArgument("dim ", d, " is ", dims[d], "; dims must be >= 0");
    }
    if (dims[d] != 0 && total > kCap / dims[d]) {
      return InvalidArgument("element count of the shape overflows 2^62");
    }
    total *= dims[d];
  }
  if (!axis) {
    l.outer = 1;
    l.channels = 1;
    l.inner = total;
    return l;
  }
  QP_ASSIGN_OR_RETURN(int a, NormalizeAxis(*axis, static_cast<int>(dims.size())));
  l.channels = dims[static_cast<size_t>(a)];
  for (int d = 0; d < a; ++d) l.outer *= dims[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(a) + 1; d < dims.size(); ++d) l.inner *= dims[d];
  return l;
}

}  // namespace qp::quant
