// Two quantization configurations A and B of one float model, side by side: simulated (fake-quant)
// top-1 accuracy of each on the same evaluation samples, and per-site SQNR of each against the
// float model, computed a bounded piece per Step() so a UI can interleave it with frames (the
// Compare panel). One calibration pass serves both configurations: statistics from an earlier pass
// (the session's quantized model) are reused when they cover every activation site of both plans,
// otherwise the job calibrates first.
//
// Figures are those of the one-shot analysis calls, only chunked: accuracy as EvaluateConfig
// (simulation, top-1 of the first output), SQNR as PerLayerSqnr's fake_quant_db (weights: W vs
// FakeQuant(W); activations: float model vs simulation at the site, summed over the SQNR samples
// before the ratio is taken, so chunking does not change the figure beyond float summation order).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/data/dataset.h"
#include "core/graph/graph.h"
#include "core/workflows/analysis.h"
#include "core/workflows/calibrate.h"
#include "core/workflows/quant_config.h"
#include "core/workflows/simulate.h"

namespace qp::workflows {

struct CompareOptions {
  int64_t eval_samples = 1000;  // first samples of the evaluation data for accuracy (<= 0: all)
  int64_t sqnr_samples = 64;    // first samples for the activation SQNR
  int64_t chunk = 4;            // samples per model run (one run per Step)
  // Samples per SQNR run (0: chunk); those runs keep every intermediate value, so they cost more.
  int64_t sqnr_chunk = 0;
  CalibrationOptions calibration;  // used only when the given statistics do not cover the plans
};

struct CompareRow {
  std::string tensor;
  std::string layer;
  quant::QuantRole role = quant::QuantRole::kActivation;
  // NaN (and bits 0) when the site does not exist in that configuration (e.g. a skipped layer).
  int bits_a = 0, bits_b = 0;
  double sqnr_a = std::numeric_limits<double>::quiet_NaN();
  double sqnr_b = std::numeric_limits<double>::quiet_NaN();
};

class CompareJob {
 public:
  enum class Phase { kCalibrate, kPrepare, kEvaluate, kSqnr, kDone };

  // `calibration` and `eval` must outlive the job; `stats` (may be null) is copied. Errors: either
  // config does not plan on the graph, empty evaluation data, samples not matching the model input,
  // no calibration data while `stats` does not cover the plans.
  static Result<std::unique_ptr<CompareJob>> Create(const Graph& float_graph, const QuantConfig& a,
                                                    const QuantConfig& b, const CalibrationStats* stats,
                                                    const data::Dataset* calibration,
                                                    const data::Dataset* eval,
                                                    const CompareOptions& options = {});

  // One piece of work (a calibration batch; one of three preparation stages per configuration:
  // parameters, site list with weight SQNR, runner; or one model run over `chunk` samples); the
  // progress after it. FailedPrecondition once done.
  Result<double> Step();
  bool done() const { return phase_ == Phase::kDone; }
  double progress() const;
  Phase phase() const { return phase_; }
  static const char* PhaseName(Phase p);  // "calibrate", "prepare", "evaluate", "sqnr", "done"
  bool reused_stats() const { return reused_stats_; }

  // Simulated top-1 over the samples evaluated so far.
  double accuracy_a() const { return Accuracy(0); }
  double accuracy_b() const { return Accuracy(1); }
  int64_t evaluated() const { return eval_next_; }
  int64_t eval_total() const { return eval_total_; }
  // Sites of A then those only in B; filled once the SQNR phase is done.
  const std::vector<CompareRow>& rows() const { return rows_; }

 private:
  struct Side {
    QuantConfig config;
    std::optional<QuantizedModel> model;  // between the preparation stages
    std::unique_ptr<QuantizedRunner> runner;
    std::vector<LayerSqnr> sites;  // PerLayerSqnr on one sample: the site list and weight SQNR
    std::map<std::string, std::pair<double, double>> act;  // site -> (sum ref^2, sum (ref-sim)^2)
    int64_t correct = 0;
  };
  CompareJob() = default;
  double Accuracy(int side) const;
  Status Prepare(int stage);  // stage 0..5: side stage / 3, part stage % 3
  Status EvaluateChunk();
  Status SqnrRun();
  int64_t SqnrChunk() const { return options_.sqnr_chunk > 0 ? options_.sqnr_chunk : options_.chunk; }
  void FinishRows();

  Graph float_graph_;
  const data::Dataset* eval_ = nullptr;
  CompareOptions options_;
  CalibrationStats stats_;
  std::unique_ptr<Calibrator> calibrator_;
  bool reused_stats_ = false;
  Phase phase_ = Phase::kCalibrate;
  int prepare_stage_ = 0;
  int64_t eval_total_ = 0, eval_next_ = 0;
  int eval_side_ = 0;  // evaluation alternates A, B on the same chunk
  int64_t sqnr_total_ = 0, sqnr_next_ = 0;
  int sqnr_stage_ = 0;  // per chunk: A's float values, A's simulation, B's float, B's simulation
  std::map<std::string, Tensor> float_values_;  // of the current chunk and side
  Side side_[2];
  std::vector<CompareRow> rows_;
};

}  // namespace qp::workflows
