// Histogram calibrator and the four amax methods (contracts and complexity in histogram.h).
#include "core/quant/histogram.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>

namespace qp::quant {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

Status CheckAbsHistogram(const Histogram& h) {
  if (h.counts.empty()) return InvalidArgument("histogram has no bins");
  if (h.lo != 0.0) {
    return InvalidArgument("histogram starts at ", h.lo,
                           "; amax methods need a histogram of |x| starting at 0");
  }
  if (h.total() <= 0) return FailedPrecondition("histogram is empty; observe data first");
  return Status::Ok();
}

Status CheckAmaxOptions(const AmaxOptions& o) {
  if (o.bits < kMinBits || o.bits > kMaxBits) {
    return OutOfRange("quantization bits is ", o.bits, "; bits must be in [", kMinBits, ", ",
                      kMaxBits, "]");
  }
  if (!(o.percentile > 0.0 && o.percentile <= 100.0)) {
    return InvalidArgument("percentile is ", o.percentile, "; it must be in (0, 100]");
  }
  if (o.stride < 1) return InvalidArgument("entropy stride is ", o.stride, "; it must be >= 1");
  if (o.start_bin < 1) return InvalidArgument("start_bin is ", o.start_bin, "; it must be >= 1");
  return Status::Ok();
}

// Largest code of symmetric amax quantization (NVIDIA's maxbound).
double AmaxLevels(const AmaxOptions& o) {
  return std::ldexp(1.0, o.bits - 1 + (o.is_unsigned ? 1 : 0)) - 1.0;
}

// nearbyint for 0 <= v < 2^51 without a libm call: adding and subtracting 1.5 * 2^52 rounds to an
// integer in the FPU's round-to-nearest-even mode, exactly as nearbyint does in that mode.
inline double RoundSmall(double v) {
  constexpr double kMagic = 6755399441055744.0;  // 1.5 * 2^52
  return (v + kMagic) - kMagic;
}

struct BatchStats {
  float min, max;
  int64_t bad;
};

// Four independent lanes keep the min/max dependency chains short (without -ffast-math the
// compiler may not reorder a float min reduction itself); locals stay in registers.
BatchStats ScanBatch(const float* x, int64_t n) {
  float mn[4] = {x[0], x[0], x[0], x[0]}, mx[4] = {x[0], x[0], x[0], x[0]};
  int64_t bad = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int k = 0; k < 4; ++k) {
      const float v = x[i + k];
      bad += !(std::fabs(v) <= FLT_MAX);
      mn[k] = v < mn[k] ? v : mn[k];
      mx[k] = v > mx[k] ? v : mx[k];
    }
  }
  for (; i < n; ++i) {
    const float v = x[i];
    bad += !(std::fabs(v) <= FLT_MAX);
    mn[0] = v < mn[0] ? v : mn[0];
    mx[0] = v > mx[0] ? v : mx[0];
  }
  BatchStats s;
  s.min = std::min(std::min(mn[0], mn[1]), std::min(mn[2], mn[3]));
  s.max = std::max(std::max(mx[0], mx[1]), std::max(mx[2], mx[3]));
  s.bad = bad;
  return s;
}

float PercentileAmax(const Histogram& h, double percentile) {
  const double target = percentile / 100.0 * static_cast<double>(h.total());
  int64_t cum = 0;
  for (int i = 0; i < h.num_bins(); ++i) {
    cum += h.counts[static_cast<size_t>(i)];
    if (static_cast<double>(cum) >= target) return static_cast<float>(h.edge(i + 1));
  }
  return static_cast<float>(h.hi);
}

}  // namespace

std::vector<double> Histogram::Edges() const {
  std::vector<double> e(counts.size() + 1);
  for (size_t i = 0; i < e.size(); ++i) e[i] = edge(static_cast<int>(i));
  return e;
}

int64_t Histogram::total() const {
  int64_t t = 0;
  for (int64_t c : counts) t += c;
  return t;
}

Result<Histogram> ComputeHistogram(const float* x, int64_t n, int num_bins, double lo, double hi) {
  if (num_bins < 1) return InvalidArgument("histogram bins is ", num_bins, "; it must be >= 1");
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi)) {
    return InvalidArgument("histogram range [", lo, ", ", hi, "] must be finite with lo < hi");
  }
  if (n < 0) return InvalidArgument("element count is ", n, "; it must be >= 0");
  QP_RETURN_IF_ERROR(CheckFinite(x, n, "histogram"));
  Histogram h;
  h.counts.assign(static_cast<size_t>(num_bins), 0);
  h.lo = lo;
  h.hi = hi;
  const double inv = num_bins / (hi - lo);
  for (int64_t i = 0; i < n; ++i) {
    const double t = (x[i] - lo) * inv;
    const int b = t < 0 ? 0 : (t >= num_bins ? num_bins - 1 : static_cast<int>(t));
    ++h.counts[static_cast<size_t>(b)];
    h.max_abs = std::max(h.max_abs, std::fabs(x[i]));
  }
  return h;
}

const char* AmaxMethodName(AmaxMethod m) {
  switch (m) {
    case AmaxMethod::kMax:
      return "max";
    case AmaxMethod::kPercentile:
      return "percentile";
    case AmaxMethod::kMse:
      return "mse";
    case AmaxMethod::kEntropy:
      return "entropy";
  }
  return "?";
}

Result<AmaxMethod> ParseAmaxMethod(const std::string& name) {
  for (AmaxMethod m :
       {AmaxMethod::kMax, AmaxMethod::kPercentile, AmaxMethod::kMse, AmaxMethod::kEntropy}) {
    if (name == AmaxMethodName(m)) return m;
  }
  return InvalidArgument("calibration method '", name,
                         "' is unknown; use max, percentile, mse or entropy");
}

Result<AmaxSearch> MseSearch(const Histogram& h, const AmaxOptions& o) {
  QP_RETURN_IF_ERROR(CheckAbsHistogram(h));
  QP_RETURN_IF_ERROR(CheckAmaxOptions(o));
  const int bins = h.num_bins();
  if (o.start_bin >= bins) {
    return InvalidArgument("MSE start_bin ", o.start_bin, " >= ", bins,
                           " bins; there would be no candidate");
  }
  const double levels = AmaxLevels(o);
  const double total = static_cast<double>(h.total());
  // Suffix sums of n, n*c, n*c^2 give the clipping error of all bins above a candidate in O(1).
  std::vector<double> s0(bins + 1, 0.0), s1(bins + 1, 0.0), s2(bins + 1, 0.0);
  for (int b = bins - 1; b >= 0; --b) {
    const double n = static_cast<double>(h.counts[static_cast<size_t>(b)]), c = h.center(b);
    s0[b] = s0[b + 1] + n;
    s1[b] = s1[b + 1] + n * c;
    s2[b] = s2[b + 1] + n * c * c;
  }
  AmaxSearch s;
  double best = kInf;
  for (int i = o.start_bin; i < bins; ++i) {
    const double amax = h.center(i);
    const double step = amax / levels;
    double err = 0.0;
    for (int b = 0; b <= i; ++b) {
      const int64_t n = h.counts[static_cast<size_t>(b)];
      if (n == 0) continue;
      const double c = h.center(b);
      const double q = std::min(RoundSmall(c / step), levels);
      const double d = q * step - c;
      err += static_cast<double>(n) * d * d;
    }
    // Bins above amax saturate to amax: sum n (c - amax)^2 = S2 - 2 amax S1 + amax^2 S0.
    err += std::max(0.0, s2[i + 1] - 2.0 * amax * s1[i + 1] + amax * amax * s0[i + 1]);
    err /= total;
    s.amax.push_back(amax);
    s.objective.push_back(err);
    if (err < best) {  // first minimum wins (np.argmin)
      best = err;
      s.best = static_cast<int>(s.amax.size()) - 1;
    }
  }
  return s;
}

Result<AmaxSearch> EntropySearch(const Histogram& h, const AmaxOptions& o) {
  QP_RETURN_IF_ERROR(CheckAbsHistogram(h));
  QP_RETURN_IF_ERROR(CheckAmaxOptions(o));
  const int bins = h.num_bins();
  if (o.start_bin > bins) {
    return InvalidArgument("entropy start_bin ", o.start_bin, " > ", bins,
                           " bins; there would be no candidate");
  }
  // pytorch-quantization replaces bin 0 (dominated by exact zeros after ReLU) by bin 1.
  std::vector<double> c(static_cast<size_t>(bins));
  for (int b = 0; b < bins; ++b) c[b] = static_cast<double>(h.counts[static_cast<size_t>(b)]);
  if (bins > 1) c[0] = c[1];
  // Prefix sums: count, nonzero bins, count * log(count).
  std::vector<double> pc(bins + 1, 0.0), plp(bins + 1, 0.0);
  std::vector<int64_t> pnz(bins + 1, 0);
  for (int b = 0; b < bins; ++b) {
    pc[b + 1] = pc[b] + c[b];
    pnz[b + 1] = pnz[b] + (c[b] != 0.0 ? 1 : 0);
    plp[b + 1] = plp[b] + (c[b] > 0.0 ? c[b] * std::log(c[b]) : 0.0);
  }
  const double total = pc[bins];
  const int64_t levels = int64_t{1} << (o.bits - 1 + (o.is_unsigned ? 1 : 0));
  AmaxSearch s;
  double best = kInf;
  for (int i = o.start_bin; i <= bins; i += o.stride) {
    const double outliers = pc[bins] - pc[i];
    const double tq = pc[i];
    const double p_last = c[i - 1] + outliers;
    double cross = 0.0;   // sum over bins < i-1 of c * log(q)
    double last_q = 0.0;  // q of bin i-1
    for (int64_t lo = 0; lo < i;) {
      const int64_t j = lo * levels / i;
      const int64_t hi = std::min<int64_t>(((j + 1) * i + levels - 1) / levels, i);
      const double sum = pc[hi] - pc[lo];
      const int64_t nz = pnz[hi] - pnz[lo];
      if (nz > 0) {
        const double q = sum / static_cast<double>(nz);
        const double lq = std::log(q);
        if (hi == i) {
          cross += (sum - c[i - 1]) * lq;
          if (c[i - 1] > 0.0) last_q = q;
        } else {
          cross += sum * lq;
        }
      }
      lo = hi;
    }
    double d;
    if (tq <= 0.0 || total <= 0.0 || (p_last > 0.0 && last_q == 0.0)) {
      d = kInf;  // P has mass where Q has none
    } else {
      const double plogp = plp[i - 1] + (p_last > 0.0 ? p_last * std::log(p_last) : 0.0);
      const double plogq = cross + (p_last > 0.0 ? p_last * std::log(last_q) : 0.0);
      d = (plogp - plogq) / total - std::log(total) + std::log(tq);
    }
    s.amax.push_back(h.edge(i));
    s.objective.push_back(d);
    if (d <= best) {  // last minimum wins, as pytorch-quantization's reversed argmin
      best = d;
      s.best = static_cast<int>(s.amax.size()) - 1;
    }
  }
  if (s.best < 0) s.best = static_cast<int>(s.amax.size()) - 1;  // every candidate was +inf
  return s;
}

Result<float> ComputeAmax(const Histogram& h, AmaxMethod method, const AmaxOptions& o) {
  QP_RETURN_IF_ERROR(CheckAbsHistogram(h));
  QP_RETURN_IF_ERROR(CheckAmaxOptions(o));
  if (h.hi <= 0.0 || method == AmaxMethod::kMax) return h.max_abs;  // hi == 0: only zeros seen
  switch (method) {
    case AmaxMethod::kPercentile:
      return PercentileAmax(h, o.percentile);
    case AmaxMethod::kMse: {
      QP_ASSIGN_OR_RETURN(AmaxSearch s, MseSearch(h, o));
      return static_cast<float>(s.amax[static_cast<size_t>(s.best)]);
    }
    case AmaxMethod::kEntropy: {
      QP_ASSIGN_OR_RETURN(AmaxSearch s, EntropySearch(h, o));
      return static_cast<float>(s.amax[static_cast<size_t>(s.best)]);
    }
    default:
      return h.max_abs;
  }
}

Result<AllAmax> ComputeAllAmax(const Histogram& h, const AmaxOptions& o) {
  AllAmax a;
  QP_ASSIGN_OR_RETURN(a.max, ComputeAmax(h, AmaxMethod::kMax, o));
  QP_ASSIGN_OR_RETURN(a.percentile, ComputeAmax(h, AmaxMethod::kPercentile, o));
  QP_ASSIGN_OR_RETURN(a.mse, ComputeAmax(h, AmaxMethod::kMse, o));
  QP_ASSIGN_OR_RETURN(a.entropy, ComputeAmax(h, AmaxMethod::kEntropy, o));
  return a;
}

Result<ErrorSplit> HistogramErrorSplit(const Histogram& h, float amax, int bits, bool is_unsigned) {
  QP_RETURN_IF_ERROR(CheckAbsHistogram(h));
  AmaxOptions o;
  o.bits = bits;
  o.is_unsigned = is_unsigned;
  QP_RETURN_IF_ERROR(CheckAmaxOptions(o));
  if (!std::isfinite(amax) || !(amax > 0.0f)) {
    return InvalidArgument("amax is ", amax, "; it must be finite and > 0");
  }
  const double levels = AmaxLevels(o);
  const double step = amax / levels;
  ErrorSplit e;
  e.count = h.total();
  for (int b = 0; b < h.num_bins(); ++b) {
    const int64_t n = h.counts[static_cast<size_t>(b)];
    if (n == 0) continue;
    const double c = h.center(b);
    if (c > amax) {
      e.clipping += n * (c - amax) * (c - amax);
      e.clipped_count += n;
    } else {
      const double d = std::min(RoundSmall(c / step), levels) * step - c;
      e.rounding += n * d * d;
    }
  }
  e.clipping /= static_cast<double>(e.count);
  e.rounding /= static_cast<double>(e.count);
  return e;
}

// ---- HistogramCalibrator ------------------------------------------------------------------------

HistogramCalibrator::HistogramCalibrator(const HistogramOptions& o) : options_(o) {
  hist_.counts.assign(static_cast<size_t>(o.num_bins), 0);
}

Result<HistogramCalibrator> HistogramCalibrator::Create(const HistogramOptions& options) {
  if (options.num_bins < 2 || options.num_bins > (1 << 20)) {
    return InvalidArgument("histogram bins is ", options.num_bins, "; it must be in [2, 1048576]");
  }
  return HistogramCalibrator(options);
}

void HistogramCalibrator::Reset() {
  hist_ = Histogram();
  hist_.counts.assign(static_cast<size_t>(options_.num_bins), 0);
  total_ = 0;
  min_ = max_ = 0.0f;
}

Status HistogramCalibrator::Observe(const float* x, int64_t n) {
  const std::string what = "observer '" + Name() + "'";
  if (n <= 0) {
    return InvalidArgument(what, ": empty tensor (", n,
                           " elements); an observer needs at least one value");
  }
  // Pass 1: min, max and the non-finite count together (nothing is recorded if any is bad).
  const BatchStats st = ScanBatch(x, n);
  if (st.bad) return CheckFinite(x, n, what);
  const float mn = st.min, mx = st.max;
  const float m = std::max(std::fabs(mn), std::fabs(mx));
  const int bins = options_.num_bins;
  if (hist_.hi == 0.0 && m > 0.0f) {
    hist_.hi = m;  // zeros counted so far are already in bin 0
  } else if (m > hist_.hi) {
    int k = 0;
    double hi = hist_.hi;
    while (hi < m) {
      hi *= 2.0;
      ++k;
    }
    std::vector<int64_t> merged(static_cast<size_t>(bins), 0);
    for (int b = 0; b < bins; ++b) {
      merged[static_cast<size_t>(b >> k)] += hist_.counts[static_cast<size_t>(b)];
    }
    hist_.counts.swap(merged);
    hist_.hi = hi;
  }
  // Pass 2: binning. Four interleaved sub-histograms break the store-to-load dependency between
  // equal consecutive bins; uint32 is safe because a sub-histogram gets at most 2^28 values per
  // block.
  int64_t* counts = hist_.counts.data();
  if (hist_.hi == 0.0) {
    counts[0] += n;
  } else {
    // |v| * inv is in [0, bins * (1 + 2^-23)], so a signed int32 conversion (one instruction on
    // x86 and wasm, unlike uint32) is exact and safe; the top edge goes to the last bin.
    const float inv = static_cast<float>(bins / hist_.hi);
    const int32_t last = bins - 1;
    auto bin_of = [inv, last](float v) {
      const int32_t b = static_cast<int32_t>(std::fabs(v) * inv);
      return b < last ? b : last;
    };
    if (n < 8192) {
      for (int64_t i = 0; i < n; ++i) ++counts[bin_of(x[i])];
    } else {
      std::vector<uint32_t> sub(static_cast<size_t>(4 * bins));
      uint32_t* s0 = sub.data();
      uint32_t* s1 = s0 + bins;
      uint32_t* s2 = s1 + bins;
      uint32_t* s3 = s2 + bins;
      constexpr int64_t kBlock = int64_t{1} << 30;
      for (int64_t start = 0; start < n; start += kBlock) {
        const int64_t end = std::min(n, start + kBlock);
        int64_t i = start;
        for (; i + 4 <= end; i += 4) {
          ++s0[bin_of(x[i])];
          ++s1[bin_of(x[i + 1])];
          ++s2[bin_of(x[i + 2])];
          ++s3[bin_of(x[i + 3])];
        }
        for (; i < end; ++i) ++s0[bin_of(x[i])];
        for (int b = 0; b < bins; ++b) {
          counts[b] += int64_t{s0[b]} + s1[b] + s2[b] + s3[b];
          s0[b] = s1[b] = s2[b] = s3[b] = 0;
        }
      }
    }
  }
  min_ = total_ == 0 ? mn : std::min(min_, mn);
  max_ = total_ == 0 ? mx : std::max(max_, mx);
  hist_.max_abs = std::max(hist_.max_abs, m);
  total_ += n;
  return Status::Ok();
}

Status HistogramCalibrator::Observe(const float* x, const Dims& dims) {
  QP_ASSIGN_OR_RETURN(AxisLayout l, MakeAxisLayout(dims, std::nullopt));
  return Observe(x, l.size());
}

Result<float> HistogramCalibrator::ComputeAmax(AmaxMethod method,
                                               const AmaxOptions& options) const {
  if (total_ == 0) return FailedPrecondition("observer 'histogram': no data observed yet");
  return qp::quant::ComputeAmax(hist_, method, options);
}

namespace {
Result<QParams> ParamsFromCalibrator(const HistogramCalibrator& cal, const QuantSpec& spec) {
  AmaxOptions o = cal.options().amax;
  o.bits = spec.bits;
  o.is_unsigned = !spec.is_signed;
  QP_ASSIGN_OR_RETURN(float amax, cal.ComputeAmax(cal.options().method, o));
  if (spec.scheme == Scheme::kSymmetric) return ParamsFromAmax(amax, spec);
  return ParamsFromMinMax(std::max(cal.min(), -amax), std::min(cal.max(), amax), spec);
}
}  // namespace

Result<TensorQParams> HistogramCalibrator::ComputeQParams(const QuantSpec& spec) const {
  QP_ASSIGN_OR_RETURN(QParams p, ParamsFromCalibrator(*this, spec));
  return TensorQParams::PerTensor(p);
}

// ---- PerChannelHistogramCalibrator --------------------------------------------------------------

Result<PerChannelHistogramCalibrator> PerChannelHistogramCalibrator::Create(
    int axis, const HistogramOptions& options) {
  QP_RETURN_IF_ERROR(HistogramCalibrator::Create(options).status());
  return PerChannelHistogramCalibrator(axis, options);
}

void PerChannelHistogramCalibrator::Reset() {
  channels_.clear();
  resolved_axis_ = -1;
  rank_ = 0;
}

Status PerChannelHistogramCalibrator::Observe(const float* x, const Dims& dims) {
  const std::string what = "observer '" + Name() + "'";
  QP_ASSIGN_OR_RETURN(int a, NormalizeAxis(axis_, static_cast<int>(dims.size())));
  QP_ASSIGN_OR_RETURN(AxisLayout l, MakeAxisLayout(dims, a));
  if (resolved_axis_ >= 0 && (a != resolved_axis_ || dims.size() != rank_ ||
                              l.channels != static_cast<int64_t>(channels_.size()))) {
    return InvalidArgument(what, ": tensor with ", l.channels, " channels on axis ", a, " after ",
                           channels_.size(), " on axis ", resolved_axis_,
                           "; a per-channel calibrator needs one layout");
  }
  if (l.size() <= 0) {
    return InvalidArgument(what,
                           ": empty tensor (0 elements); an observer needs at least one value");
  }
  QP_RETURN_IF_ERROR(CheckFinite(x, l.size(), what));
  if (channels_.empty()) {
    for (int64_t c = 0; c < l.channels; ++c) channels_.push_back(HistogramCalibrator(options_));
  }
  std::vector<float> buf(static_cast<size_t>(l.outer * l.inner));
  for (int64_t c = 0; c < l.channels; ++c) {
    for (int64_t o = 0; o < l.outer; ++o) {
      const float* run = x + (o * l.channels + c) * l.inner;
      std::copy(run, run + l.inner, buf.begin() + o * l.inner);
    }
    QP_RETURN_IF_ERROR(
        channels_[static_cast<size_t>(c)].Observe(buf.data(), static_cast<int64_t>(buf.size())));
  }
  resolved_axis_ = a;
  rank_ = dims.size();
  return Status::Ok();
}

Result<std::vector<float>> PerChannelHistogramCalibrator::ComputeAmax(
    AmaxMethod method, const AmaxOptions& options) const {
  if (channels_.empty()) return FailedPrecondition("observer '", Name(), "': no data observed yet");
  std::vector<float> r;
  for (size_t c = 0; c < channels_.size(); ++c) {
    Result<float> a = channels_[c].ComputeAmax(method, options);
    if (!a.ok()) return a.status().WithContext("channel " + std::to_string(c));
    r.push_back(*a);
  }
  return r;
}

Result<TensorQParams> PerChannelHistogramCalibrator::ComputeQParams(const QuantSpec& spec) const {
  if (channels_.empty()) return FailedPrecondition("observer '", Name(), "': no data observed yet");
  TensorQParams t;
  t.axis = resolved_axis_;
  for (size_t c = 0; c < channels_.size(); ++c) {
    Result<QParams> p = ParamsFromCalibrator(channels_[c], spec);
    if (!p.ok()) return p.status().WithContext("channel " + std::to_string(c));
    t.scales.push_back(p->scale);
    t.zero_points.push_back(p->zero_point);
    t.qmin = p->qmin;
    t.qmax = p->qmax;
  }
  return t;
}

}  // namespace qp::quant
