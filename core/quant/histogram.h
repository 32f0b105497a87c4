// Histogram calibrator: one histogram of |x| from which amax is computed by max, percentile, MSE
// and entropy (TensorRT's KL method) without collecting again. The amax rules must match NVIDIA
// pytorch-quantization's calib/histogram.py (_compute_amax_{percentile,mse,entropy}); the histogram
// itself grows by exact power-of-two re-binning (below), unlike theirs, so its bin count stays
// fixed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/quant/observers.h"
#include "core/quant/qparams.h"
#include "core/quant/quantize.h"

namespace qp::quant {

// A histogram over [lo, hi] with counts.size() equal bins. Bin i covers
// [lo + i*w, lo + (i+1)*w) with w = (hi - lo) / bins; the last bin also holds hi.
// When hi == lo (nothing but zeros seen) every value is in bin 0.
struct Histogram {
  std::vector<int64_t> counts;
  double lo = 0.0;
  double hi = 0.0;
  float max_abs = 0.0f;  // exact largest |x| observed (the histogram calibrator's "max" amax)

  int num_bins() const { return static_cast<int>(counts.size()); }
  double bin_width() const { return counts.empty() ? 0.0 : (hi - lo) / counts.size(); }
  double edge(int i) const { return lo + i * bin_width(); }            // 0 <= i <= bins
  double center(int i) const { return lo + (i + 0.5) * bin_width(); }  // 0 <= i < bins
  std::vector<double> Edges() const;
  int64_t total() const;
};

// A plain signed histogram of n values over [lo, hi] (values outside are counted in the end bins),
// for drawing. InvalidArgument for num_bins < 1, lo >= hi, non-finite bounds or values.
Result<Histogram> ComputeHistogram(const float* x, int64_t n, int num_bins, double lo, double hi);

enum class AmaxMethod : uint8_t { kMax, kPercentile, kMse, kEntropy };
const char* AmaxMethodName(AmaxMethod m);
Result<AmaxMethod> ParseAmaxMethod(
    const std::string& name);  // "max", "percentile", "mse", "entropy"

struct AmaxOptions {
  int bits = 8;              // target width (2..16)
  bool is_unsigned = false;  // NVIDIA "unsigned": levels = 2^bits - 1 instead of 2^(bits-1) - 1
  double percentile = 99.99;
  int start_bin = 128;  // MSE and entropy candidates start here (pytorch-quantization default)
  int stride = 1;       // entropy candidate stride
};

// The candidate thresholds a search method tried, its objective at each, and the winner.
struct AmaxSearch {
  std::vector<double> amax;       // candidate thresholds, increasing
  std::vector<double> objective;  // MSE (mean over values) or KL divergence; +inf allowed
  int best = -1;                  // index of the chosen candidate
};

// Every method works on a histogram of |x| (lo == 0):
//   kMax:        h.max_abs (exact, not a bin edge).
//   kPercentile: the upper edge of the first bin where the cumulative count reaches
//                percentile/100 of the total (so amax >= the true percentile, by < one bin width).
//   kMse:        candidates are bin centers i in [start_bin, bins); each bin is represented by its
//                center with its count; error = sum count * (FQ(center) - center)^2 / total with FQ
//                symmetric amax fake-quant (signed levels 2^(b-1)-1, unsigned 2^b-1, half-to-even);
//                the first minimum wins. Cost O(bins^2 / 2) multiply-adds (tail via prefix sums).
//   kEntropy:    TensorRT's KL method as pytorch-quantization writes it: counts[0] := counts[1];
//                for each i in start_bin..bins (step stride): P = counts[0..i) with the counts
//                beyond i added to P[i-1]; Q = counts[0..i) merged into 2^(b-1) (unsigned: 2^b)
//                chunks (bin j goes to chunk floor(j * levels / i)), each chunk's sum spread evenly
//                over its nonzero bins, zero bins stay zero; D = KL(P/|P| || Q/|Q|), +inf where Q
//                is 0 and P is not. The LAST minimum wins; amax = edge(i). Cost O(bins * min(bins,
//                levels)) using prefix sums of count and count*log(count) (numpy's version is
//                O(bins^2) in Python loops).
// Errors: lo != 0 (not an |x| histogram), empty histogram, bad bits/percentile/start_bin/stride.
Result<float> ComputeAmax(const Histogram& h, AmaxMethod method, const AmaxOptions& options = {});
Result<AmaxSearch> MseSearch(const Histogram& h, const AmaxOptions& options = {});
Result<AmaxSearch> EntropySearch(const Histogram& h, const AmaxOptions& options = {});

// All four from the same histogram.
struct AllAmax {
  float max = 0.0f, percentile = 0.0f, mse = 0.0f, entropy = 0.0f;
};
Result<AllAmax> ComputeAllAmax(const Histogram& h, const AmaxOptions& options = {});

// Clipping vs rounding error of symmetric fake-quant with this amax and width, estimated from the
// |x| histogram with each bin at its center: bins whose center is above amax count as clipping
// (error (center - amax)^2), the others as rounding. Mean over all counted values.
Result<ErrorSplit> HistogramErrorSplit(const Histogram& h, float amax, int bits, bool is_unsigned);

// Collects a histogram of |x|. Growth rule (exact, nothing discarded): the first batch with a
// nonzero value sets hi = its max |x| (zeros seen earlier are kept for bin 0). When a later batch
// has max |x| > hi, hi is doubled k times (the least k with hi * 2^k >= max) and old bin i is added
// to new bin i >> k: with the bin count fixed, every old bin lies entirely inside one new bin, so
// the result equals binning all data directly into the final range (up to float rounding of a value
// lying exactly on an edge). Resolution is therefore at worst 2x coarser than max|x| / bins.
// Also tracks the signed min and max, used for affine specs.
struct HistogramOptions {
  int num_bins = 2048;
  AmaxMethod method = AmaxMethod::kPercentile;  // used by ComputeQParams
  AmaxOptions amax;                             // bits / unsigned come from the spec at use
};

class HistogramCalibrator : public Observer {
 public:
  // InvalidArgument for num_bins outside [2, 1 << 20].
  static Result<HistogramCalibrator> Create(const HistogramOptions& options = {});
  std::string Name() const override { return "histogram"; }
  Status Observe(const float* x, int64_t n);
  Status Observe(const float* x, const Dims& dims) override;
  // amax by options.method, then ParamsFromAmax (symmetric specs) or, for affine specs,
  // ParamsFromMinMax(max(min, -amax), min(max, amax)): the signed range clipped to amax.
  Result<TensorQParams> ComputeQParams(const QuantSpec& spec) const override;
  bool has_data() const override { return total_ > 0; }
  void Reset() override;
  std::unique_ptr<Observer> Clone() const override {
    return std::make_unique<HistogramCalibrator>(*this);
  }

  // The collected |x| histogram (lo = 0).
  const Histogram& histogram() const { return hist_; }
  float min() const { return min_; }
  float max() const { return max_; }
  const HistogramOptions& options() const { return options_; }
  Result<float> ComputeAmax(AmaxMethod method, const AmaxOptions& options) const;

 private:
  friend class PerChannelHistogramCalibrator;
  explicit HistogramCalibrator(const HistogramOptions& o);
  HistogramOptions options_;
  Histogram hist_;
  int64_t total_ = 0;
  float min_ = 0.0f, max_ = 0.0f;
};

// One HistogramCalibrator per channel along `axis` (pytorch-quantization and ModelOpt refuse
// per-channel histograms; here each channel has its own range and growth).
class PerChannelHistogramCalibrator : public Observer {
 public:
  static Result<PerChannelHistogramCalibrator> Create(int axis,
                                                      const HistogramOptions& options = {});
  std::string Name() const override { return "per_channel_histogram"; }
  Status Observe(const float* x, const Dims& dims) override;
  Result<TensorQParams> ComputeQParams(const QuantSpec& spec) const override;
  bool has_data() const override { return !channels_.empty(); }
  void Reset() override;
  std::unique_ptr<Observer> Clone() const override {
    return std::make_unique<PerChannelHistogramCalibrator>(*this);
  }
  int64_t num_channels() const { return static_cast<int64_t>(channels_.size()); }
  const HistogramCalibrator& channel(int64_t c) const { return channels_[static_cast<size_t>(c)]; }
  Result<std::vector<float>> ComputeAmax(AmaxMethod method, const AmaxOptions& options) const;

 private:
  PerChannelHistogramCalibrator(int axis, const HistogramOptions& o) : axis_(axis), options_(o) {}
  int axis_;
  HistogramOptions options_;
  int resolved_axis_ = -1;
  size_t rank_ = 0;
  std::vector<HistogramCalibrator> channels_;
};

}  // namespace qp::quant
