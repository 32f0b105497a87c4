// Static PTQ calibration: runs the float prepared graph over calibration batches one call at a
// time, collecting for every activation site ONE |x| histogram (quant::HistogramCalibrator), so
// max / percentile / MSE / entropy all come from one pass, plus the signed min/max (affine) and
// which samples set the largest |x| (outlier attribution). Weights are computed directly from the
// initializers (per channel where configured). The result is a QuantizedModel: plan + params.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/data/dataset.h"
#include "core/graph/executor.h"
#include "core/quant/histogram.h"
#include "core/quant/qparams.h"
#include "core/workflows/plan.h"

namespace qp::workflows {

// A calibration sample whose |x| reached `max_abs` at a site (largest first).
struct OutlierSample {
  int64_t sample = 0;  // index into the calibration dataset
  float max_abs = 0.f;
};

// Everything one calibration pass collected, by activation tensor name. Reusable with another plan
// over the same graph (another bit width or calibrator) without running the data again.
struct CalibrationStats {
  std::map<std::string, quant::HistogramCalibrator> histograms;
  std::map<std::string, std::vector<OutlierSample>> outliers;  // top-k, largest first
  int64_t samples = 0;
  int64_t batches = 0;
};

struct QuantizedModel {
  QuantPlan plan;
  std::map<std::string, quant::TensorQParams> params;  // by site tensor, every site
  std::map<std::string, float> amax;                   // activation sites: the chosen amax
  CalibrationStats stats;                              // may be empty (e.g. after QAT)

  const quant::TensorQParams* Params(const std::string& tensor) const;
};

// Parameters for every site of `plan`: activations from `stats` by each site's calibrator, weights
// from the plan's initializers, pass-through sites copied from their source. Errors name the site
// (no statistics for it, bad spec).
Result<QuantizedModel> ComputeQuantizedModel(const QuantPlan& plan, const CalibrationStats& stats);

// Weight parameters of one weight site (per channel along site.axis, or per tensor).
Result<quant::TensorQParams> WeightParams(const QuantSite& site, const Tensor& weight);

struct CalibrationOptions {
  int64_t batch_size = 64;
  int64_t max_batches = 0;  // 0: the whole dataset
  int num_bins = 2048;
  int top_k = 5;            // outlier samples kept per site
};

// The model's first input from dataset images (an [N, D] input receives flattened NCHW images);
// InvalidArgument naming both shapes if the per-sample sizes differ.
Result<Tensor> AdaptInput(const Graph& graph, const Tensor& images);

class Calibrator {
 public:
  // `data` must outlive the Calibrator. Errors: empty dataset, sample shape not matching the model
  // input, bad options.
  static Result<std::unique_ptr<Calibrator>> Create(const QuantPlan& plan, const data::Dataset* data,
                                                    const CalibrationOptions& options = {});

  // One batch; returns the progress fraction after it (1.0 = done). NaN/Inf in the data is an error
  // naming the site and sample, and nothing from that batch is kept. FailedPrecondition once done
  // or cancelled.
  Result<double> Step();
  double progress() const;
  bool done() const;
  void Cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }
  int64_t batches_done() const { return stats_.batches; }
  int64_t total_batches() const { return total_batches_; }

  const CalibrationStats& stats() const { return stats_; }
  const QuantPlan& plan() const { return plan_; }
  // Params from what was collected so far (at least one batch; a cancelled run may finish early).
  Result<QuantizedModel> Finish() const;

 private:
  Calibrator() = default;
  QuantPlan plan_;
  Graph probe_;  // plan graph with every activation site as an extra output
  std::unique_ptr<Executor> executor_;
  std::vector<std::string> probe_outputs_;
  const data::Dataset* data_ = nullptr;
  CalibrationOptions options_;
  CalibrationStats stats_;
  int64_t next_sample_ = 0;
  int64_t total_batches_ = 0;
  bool cancelled_ = false;
};

// Quantization parameters of a model as JSON (sites with role, spec, axis, scales, zero points).
std::string QuantParamsToJson(const QuantizedModel& model);

}  // namespace qp::workflows
