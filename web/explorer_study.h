// What the quantization explorer shows, computed without ImGui: a tensor's quantization
// parameters from a calibrator, the error split, SQNR per bit width and a display histogram.
// Every quantization step calls core/quant (HistogramCalibrator, ParamsFromAmax/MinMax,
// QuantErrorSplit, ComputeHistogram); only aggregation for display happens here, and this is
// the part that moves to core/session's analysis once that exists.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/quant/histogram.h"
#include "core/quant/qparams.h"
#include "core/quant/quantize.h"

namespace qp::web {

// The first four match quant::AmaxMethod (computed from the histogram); kManual is a clip value
// the user dragged on the histogram (StudyConfig::manual_amax).
enum class CalibratorKind : int { kMax = 0, kPercentile, kMse, kEntropy, kManual, kCount };
constexpr int kNumCalibrators = 4;  // the histogram methods, max..entropy
// "max", "percentile", "mse", "entropy", "manual"
const char* CalibratorName(CalibratorKind k);

struct StudyConfig {
  int bits = 8;  // 2..16 (the UI offers 2..8)
  CalibratorKind calibrator = CalibratorKind::kMax;
  bool symmetric = true;      // symmetric (signed, or unsigned for data >= 0) or affine
  double percentile = 99.99;  // for kPercentile
  float manual_amax = 1.0f;   // for kManual: finite and > 0
  int display_bins = 160;     // bars of the display histogram
};

// A tensor observed once: the calibrator's 2048-bin |x| histogram and the signed range. Every
// study of this tensor (any bits, calibrator, scheme) reads it without collecting again.
struct StudyData {
  std::vector<float> values;
  std::optional<quant::HistogramCalibrator> calibrator;
  float data_min = 0, data_max = 0;
  double mean_square = 0;  // signal power for SQNR
};

// Observes `values` (rejects empty input and NaN/Inf, naming the first bad index).
Result<StudyData> PrepareStudy(std::vector<float> values);

struct StudyResult {
  // Every calibrator's threshold (amax, the clip magnitude) for the configured bits;
  // threshold_ok[k] is false, and threshold_errors[k] says why, when one cannot be computed.
  std::array<float, kNumCalibrators> thresholds{};
  std::array<bool, kNumCalibrators> threshold_ok{};
  std::array<std::string, kNumCalibrators> threshold_errors;

  // The chosen configuration.
  quant::QuantSpec spec;
  quant::QParams params;
  float clip_lo = 0, clip_hi = 0;  // representable real range [RealMin, RealMax]
  quant::ErrorSplit error;         // exact, over every value
  double sqnr_db = 0;              // 10 log10(mean(x^2) / mean((x - fq(x))^2)); +inf if exact
  double max_abs_error = 0;
  double clipped_fraction = 0;

  // Display histogram over [hist.lo, hist.hi] (the data range joined with the clip range).
  quant::Histogram hist;
};

// The study of `data` under `config`. Errors come back as a Status naming the step.
Result<StudyResult> RunStudy(const StudyData& data, const StudyConfig& config);

// Quantization parameters for `config` (amax from the chosen calibrator at config.bits), the
// same rule as HistogramCalibrator::ComputeQParams: symmetric -> ParamsFromAmax; affine ->
// ParamsFromMinMax over the signed range clipped to [-amax, amax].
Result<quant::QParams> StudyParams(const StudyData& data, const StudyConfig& config,
                                   quant::QuantSpec* spec_out, float* amax_out);

// SQNR (dB) for bits = lo..hi with config's calibrator and scheme (the curve under the panel).
Result<std::vector<double>> SqnrByBits(const StudyData& data, const StudyConfig& config, int lo,
                                       int hi);

}  // namespace qp::web
