// The explorer's computation (see explorer_study.h): every quantization step is a core/quant
// call; this file only chooses specs for the UI's symmetric/affine switch and aggregates.
#include "web/explorer_study.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace qp::web {
namespace {

quant::AmaxMethod MethodOf(CalibratorKind k) { return static_cast<quant::AmaxMethod>(k); }

// Symmetric: signed around 0, or unsigned [0, amax] when the data has no negative values (as
// pytorch-quantization does after a ReLU). Affine: unsigned, zero point from the data.
quant::QuantSpec SpecFor(const StudyData& data, const StudyConfig& config) {
  quant::QuantSpec spec;
  spec.bits = config.bits;
  spec.narrow_range = false;
  spec.scheme = config.symmetric ? quant::Scheme::kSymmetric : quant::Scheme::kAffine;
  spec.is_signed = config.symmetric && data.data_min < 0.0f;
  return spec;
}

quant::AmaxOptions AmaxOptionsFor(const StudyData& data, const StudyConfig& config) {
  quant::AmaxOptions o;
  o.bits = config.bits;
  // The search methods count levels as NVIDIA does: one-sided data uses all 2^b - 1 steps.
  o.is_unsigned = data.data_min >= 0.0f;
  o.percentile = config.percentile;
  return o;
}

double Sqnr(double mean_square, double mse) {
  if (mse <= 0.0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(mean_square / mse);
}

}  // namespace

const char* CalibratorName(CalibratorKind k) {
  if (k == CalibratorKind::kManual) return "manual";
  if (k >= CalibratorKind::kMax && k < CalibratorKind::kManual) {
    return quant::AmaxMethodName(MethodOf(k));
  }
  return "?";
}

Result<StudyData> PrepareStudy(std::vector<float> values) {
  if (values.empty()) return InvalidArgument("explorer: the tensor is empty");
  StudyData d;
  QP_ASSIGN_OR_RETURN(quant::HistogramCalibrator calib, quant::HistogramCalibrator::Create());
  QP_RETURN_IF_ERROR(
      calib.Observe(values.data(), static_cast<int64_t>(values.size())).WithContext("explorer"));
  d.data_min = calib.min();
  d.data_max = calib.max();
  d.calibrator = std::move(calib);
  double sum_sq = 0.0;
  for (float v : values) sum_sq += static_cast<double>(v) * v;
  d.mean_square = sum_sq / static_cast<double>(values.size());
  d.values = std::move(values);
  return d;
}

Result<quant::QParams> StudyParams(const StudyData& data, const StudyConfig& config,
                                   quant::QuantSpec* spec_out, float* amax_out) {
  if (!data.calibrator) return FailedPrecondition("explorer: no tensor observed yet");
  const quant::QuantSpec spec = SpecFor(data, config);
  float amax = config.manual_amax;
  if (config.calibrator == CalibratorKind::kManual) {
    if (!(std::isfinite(amax) && amax > 0.0f)) {
      return InvalidArgument("explorer: manual clip value ", amax, " must be finite and > 0");
    }
  } else {
    QP_ASSIGN_OR_RETURN(amax, data.calibrator->ComputeAmax(MethodOf(config.calibrator),
                                                           AmaxOptionsFor(data, config)));
  }
  if (spec_out != nullptr) *spec_out = spec;
  if (amax_out != nullptr) *amax_out = amax;
  if (config.symmetric) return quant::ParamsFromAmax(amax, spec);
  return quant::ParamsFromMinMax(std::max(data.data_min, -amax), std::min(data.data_max, amax),
                                 spec);
}

Result<StudyResult> RunStudy(const StudyData& data, const StudyConfig& config) {
  if (!data.calibrator) return FailedPrecondition("explorer: no tensor observed yet");
  if (config.display_bins < 1 || config.display_bins > 4096) {
    return OutOfRange("explorer: display_bins ", config.display_bins, " outside [1, 4096]");
  }
  StudyResult r;
  const quant::AmaxOptions amax_options = AmaxOptionsFor(data, config);
  for (int k = 0; k < kNumCalibrators; ++k) {
    Result<float> amax =
        data.calibrator->ComputeAmax(MethodOf(static_cast<CalibratorKind>(k)), amax_options);
    r.threshold_ok[static_cast<size_t>(k)] = amax.ok();
    if (amax.ok()) {
      r.thresholds[static_cast<size_t>(k)] = *amax;
    } else {
      r.threshold_errors[static_cast<size_t>(k)] = amax.status().ToString();
    }
  }

  QP_ASSIGN_OR_RETURN(r.params, StudyParams(data, config, &r.spec, nullptr));
  r.clip_lo = r.params.RealMin();
  r.clip_hi = r.params.RealMax();
  const int64_t n = static_cast<int64_t>(data.values.size());
  QP_ASSIGN_OR_RETURN(r.error, quant::QuantErrorSplit(data.values.data(), n, r.params));
  r.sqnr_db = Sqnr(data.mean_square, r.error.total());
  r.clipped_fraction = static_cast<double>(r.error.clipped_count) / static_cast<double>(n);
  for (float v : data.values) {
    const double e = std::fabs(static_cast<double>(v) - quant::FakeQuantValue(v, r.params));
    r.max_abs_error = std::max(r.max_abs_error, e);
  }

  // Display histogram: the data range joined with the clip range, so clipped tails and the
  // unused part of the grid are both visible.
  double lo = std::min(data.data_min, r.clip_lo);
  double hi = std::max(data.data_max, r.clip_hi);
  if (!(hi > lo)) hi = lo + 1.0;
  QP_ASSIGN_OR_RETURN(r.hist,
                      quant::ComputeHistogram(data.values.data(), n, config.display_bins, lo, hi));
  return r;
}

Result<std::vector<double>> SqnrByBits(const StudyData& data, const StudyConfig& config, int lo,
                                       int hi) {
  std::vector<double> out;
  const int64_t n = static_cast<int64_t>(data.values.size());
  for (int b = lo; b <= hi; ++b) {
    StudyConfig c = config;
    c.bits = b;
    QP_ASSIGN_OR_RETURN(quant::QParams p, StudyParams(data, c, nullptr, nullptr));
    QP_ASSIGN_OR_RETURN(quant::ErrorSplit e, quant::QuantErrorSplit(data.values.data(), n, p));
    out.push_back(Sqnr(data.mean_square, e.total()));
  }
  return out;
}

}  // namespace qp::web
