// The explorer's computation (see explorer_study.h). Parameters come from core/quant
// (MinMaxObserver, ParamsFromAmax / ParamsFromMinMax), errors from quant::QuantErrorSplit and FakeQuantValue.
#include "web/explorer_study.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/quant/observers.h"

namespace qp::web {
namespace {

constexpr int kNumCalibrators = static_cast<int>(CalibratorKind::kCount);

// Clip magnitude (amax) chosen by calibrator `k` for `bits`.
Result<float> CalibratorAmax(const std::vector<float>& values, float data_min, float data_max,
                             CalibratorKind k, const StudyConfig& cfg, int bits) {
  switch (k) {
    case CalibratorKind::kMax:
      return std::max(std::fabs(data_min), std::fabs(data_max));
    case CalibratorKind::kPercentile:
    case CalibratorKind::kMse:
    case CalibratorKind::kEntropy:
      return Status(StatusCode::kUnimplemented,
                    std::string("calibrator '") + CalibratorName(k) +
                        "' needs core/quant's HistogramCalibrator, which has not landed yet");
    case CalibratorKind::kCount:
      break;
  }
  return InvalidArgument("calibrator ", static_cast<int>(k), " unknown");
}

// Symmetric: signed around 0, or unsigned [0, amax] when the data has no negative values (as
// pytorch-quantization does after a ReLU). Affine: unsigned over the data range clipped to
// [-amax, amax], with zero exactly representable (ParamsFromMinMax extends the range to 0).
Result<quant::QParams> ParamsFor(float amax, float data_min, float data_max, bool symmetric,
                                 int bits, quant::QuantSpec* spec_out) {
  quant::QuantSpec spec;
  spec.bits = bits;
  spec.narrow_range = false;
  if (symmetric) {
    spec.scheme = quant::Scheme::kSymmetric;
    spec.is_signed = data_min < 0.0f;
    *spec_out = spec;
    return quant::ParamsFromAmax(amax, spec);
  }
  spec.scheme = quant::Scheme::kAffine;
  spec.is_signed = false;
  *spec_out = spec;
  return quant::ParamsFromMinMax(std::max(data_min, -amax), std::min(data_max, amax), spec);
}

double Sqnr(double mean_square, double mse) {
  if (mse <= 0.0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(mean_square / mse);
}

}  // namespace

const char* CalibratorName(CalibratorKind k) {
  switch (k) {
    case CalibratorKind::kMax: return "max";
    case CalibratorKind::kPercentile: return "percentile";
    case CalibratorKind::kMse: return "mse";
    case CalibratorKind::kEntropy: return "entropy";
    case CalibratorKind::kCount: break;
  }
  return "?";
}

Result<StudyResult> RunStudy(const std::vector<float>& values, const StudyConfig& config) {
  if (values.empty()) return InvalidArgument("explorer: the tensor is empty");
  if (config.display_bins < 1 || config.display_bins > 4096) {
    return OutOfRange("explorer: display_bins ", config.display_bins, " outside [1, 4096]");
  }
  StudyResult r;
  r.count = static_cast<int64_t>(values.size());
  // The data range through core's MinMax observer, which also rejects NaN/Inf with the count
  // and the first bad index.
  quant::MinMaxObserver minmax;
  QP_RETURN_IF_ERROR(minmax.Observe(values.data(), r.count).WithContext("explorer"));
  r.data_min = minmax.min();
  r.data_max = minmax.max();
  double sum_sq = 0.0;
  for (float v : values) sum_sq += static_cast<double>(v) * v;
  r.mean_square = sum_sq / static_cast<double>(values.size());

  for (int k = 0; k < kNumCalibrators; ++k) {
    Result<float> amax = CalibratorAmax(values, r.data_min, r.data_max,
                                        static_cast<CalibratorKind>(k), config, config.bits);
    r.threshold_ok[k] = amax.ok();
    if (amax.ok()) {
      r.thresholds[k] = *amax;
    } else {
      r.threshold_errors[k] = amax.status().message();
    }
  }
  const int chosen = static_cast<int>(config.calibrator);
  if (chosen < 0 || chosen >= kNumCalibrators) {
    return InvalidArgument("explorer: calibrator ", chosen, " unknown");
  }
  if (!r.threshold_ok[chosen]) {
    return Status(StatusCode::kUnimplemented, r.threshold_errors[chosen]);
  }

  QP_ASSIGN_OR_RETURN(r.params, ParamsFor(r.thresholds[chosen], r.data_min, r.data_max,
                                          config.symmetric, config.bits, &r.spec));
  r.clip_lo = r.params.RealMin();
  r.clip_hi = r.params.RealMax();
  QP_ASSIGN_OR_RETURN(r.error, quant::QuantErrorSplit(values.data(), r.count, r.params));
  r.sqnr_db = Sqnr(r.mean_square, r.error.total());
  r.clipped_fraction = static_cast<double>(r.error.clipped_count) / static_cast<double>(r.count);
  for (float v : values) {
    const double e = std::fabs(static_cast<double>(v) - quant::FakeQuantValue(v, r.params));
    r.max_abs_error = std::max(r.max_abs_error, e);
  }

  for (int b = config.min_sqnr_bits; b <= config.max_sqnr_bits; ++b) {
    QP_ASSIGN_OR_RETURN(float amax, CalibratorAmax(values, r.data_min, r.data_max,
                                                   config.calibrator, config, b));
    quant::QuantSpec spec;
    QP_ASSIGN_OR_RETURN(quant::QParams p,
                        ParamsFor(amax, r.data_min, r.data_max, config.symmetric, b, &spec));
    QP_ASSIGN_OR_RETURN(quant::ErrorSplit e, quant::QuantErrorSplit(values.data(), r.count, p));
    r.sqnr_by_bits.push_back(Sqnr(r.mean_square, e.total()));
  }

  // Display histogram: the data range joined with the clip range, so clipped tails and the
  // unused part of the grid are both visible.
  r.hist_lo = std::min(r.data_min, r.clip_lo);
  r.hist_hi = std::max(r.data_max, r.clip_hi);
  if (!(r.hist_hi > r.hist_lo)) r.hist_hi = r.hist_lo + 1.0f;
  r.hist_counts.assign(static_cast<size_t>(config.display_bins), 0u);
  const double inv_width = config.display_bins / (static_cast<double>(r.hist_hi) - r.hist_lo);
  for (float v : values) {
    int bin = static_cast<int>((static_cast<double>(v) - r.hist_lo) * inv_width);
    bin = std::clamp(bin, 0, config.display_bins - 1);
    ++r.hist_counts[static_cast<size_t>(bin)];
  }
  return r;
}

}  // namespace qp::web
