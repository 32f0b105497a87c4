// What the quantization explorer shows, computed without ImGui: a tensor's quantization
// parameters from a calibrator, the error split, SQNR per bit width and a display histogram.
// Every quantization step calls core/quant; only aggregation for display happens here (this is
// the part that moves to core/session's analysis once it exists).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/quant/qparams.h"
#include "core/quant/quantize.h"

namespace qp::web {

enum class CalibratorKind : int { kMax = 0, kPercentile, kMse, kEntropy, kCount };
const char* CalibratorName(CalibratorKind k);  // "max", "percentile", "mse", "entropy"

struct StudyConfig {
  int bits = 8;                 // 2..16 (the UI offers 2..8)
  CalibratorKind calibrator = CalibratorKind::kMax;
  bool symmetric = true;        // symmetric signed, or affine (unsigned when the data is >= 0)
  double percentile = 99.99;    // for kPercentile
  int display_bins = 160;       // bars of the display histogram
  int min_sqnr_bits = 2, max_sqnr_bits = 8;  // the SQNR-versus-bits curve
};

struct StudyResult {
  // The tensor.
  int64_t count = 0;
  float data_min = 0, data_max = 0;
  double mean_square = 0;  // signal power for SQNR

  // Every calibrator's threshold (amax, i.e. the clip magnitude) for the configured bits;
  // ok[k] is false (and errors[k] says why) when one cannot be computed.
  std::array<float, static_cast<int>(CalibratorKind::kCount)> thresholds{};
  std::array<bool, static_cast<int>(CalibratorKind::kCount)> threshold_ok{};
  std::array<std::string, static_cast<int>(CalibratorKind::kCount)> threshold_errors;

  // The chosen configuration.
  quant::QuantSpec spec;
  quant::QParams params;
  float clip_lo = 0, clip_hi = 0;  // representable real range [RealMin, RealMax]
  quant::ErrorSplit error;
  double sqnr_db = 0;              // 10 log10(mean(x^2) / mean((x - fq(x))^2)); +inf if exact
  double max_abs_error = 0;
  double clipped_fraction = 0;

  // SQNR for bits in [min_sqnr_bits, max_sqnr_bits] with the same calibrator and scheme.
  std::vector<double> sqnr_by_bits;

  // Display histogram over [hist_lo, hist_hi] (the data range joined with the clip range).
  float hist_lo = 0, hist_hi = 0;
  std::vector<uint32_t> hist_counts;
};

// The full study of `values` under `config`. Errors (bad bits, a calibrator that fails) come
// back as a Status naming the step; values must be finite and non-empty.
Result<StudyResult> RunStudy(const std::vector<float>& values, const StudyConfig& config);

}  // namespace qp::web
