// Where precision is lost, on top of one calibration pass (CalibrationStats) and ptq's runners:
//   PerLayerSqnr            float vs fake-quant vs integer kernels, per weight and activation site
//   LayerSensitivity        quantize one layer only / all but one; rank by accuracy or output SQNR
//   RangePrecisionSweep     bits x activation calibrator, globally and per layer, stepping (one
//                           configuration per Step) with progress; CSV and JSON tables
//   AnalyzeTensorClip       clipping vs rounding error at any clip value (from the histogram) and
//                           the calibration samples that set the max (outlier attribution)
//   MixedPrecisionWhatIf    model size in bits vs accuracy for per-layer weight-bit choices, with
//                           the Pareto points (ParetoFront)
// "Layers" are the plan's quantized nodes without the activations fused into them and without
// pass-through ops (Flatten, MaxPool, ...), which follow their input's quantization.
// SQNR is 10 log10(sum ref^2 / sum (ref - test)^2) in dB (+inf when identical). "Output SQNR" is
// that of the first graph output (logits) against the float model on the evaluation samples.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/data/dataset.h"
#include "core/graph/graph.h"
#include "core/quant/quantize.h"
#include "core/workflows/calibrate.h"
#include "core/workflows/quant_config.h"
#include "core/workflows/simulate.h"

namespace qp::workflows {

double SqnrDb(const float* ref, const float* test, int64_t n);

// ---- Per-layer SQNR -------------------------------------------------------------------------------
struct LayerSqnr {
  std::string tensor;
  std::string layer;
  quant::QuantRole role = quant::QuantRole::kActivation;
  int bits = 8;
  double fake_quant_db = 0;  // weights: W vs FakeQuant(W); activations: float model vs simulation
  // Integer kernels: weights: W vs the stored int8 codes dequantized; activations: float model vs
  // the int8 execution's dequantized site values. NaN when the model is not all 8-bit.
  double int8_db = std::numeric_limits<double>::quiet_NaN();
};
// Sites that share parameters (pass-through) are listed once, under their own tensor.
// with_int8 = false skips the integer kernels (no int8 lowering: a UI computes the fake-quant
// figures in a fraction of the time); activations' int8_db stays NaN (weights' comes from the
// stored codes, no kernels) and the graph input's site is left out.
Result<std::vector<LayerSqnr>> PerLayerSqnr(const QuantizedModel& model, const Tensor& input,
                                            bool with_int8 = true);

// ---- Evaluation context shared by the analyses ---------------------------------------------------
// The float model, one calibration pass and the evaluation samples (first max_samples).
struct AnalysisContext {
  Graph float_graph;        // as given (PrepareAndPlan runs per configuration)
  CalibrationStats stats;   // from a Calibrator over a plan of this graph with every layer quantized
  data::Dataset eval;
  Tensor float_logits;      // float model's first output on eval (filled by MakeAnalysisContext)
};
Result<AnalysisContext> MakeAnalysisContext(const Graph& float_graph, const CalibrationStats& stats,
                                            const data::Dataset& eval, int64_t max_samples);

// MakeAnalysisContext in pieces (the float model over `chunk` evaluation samples per Step), for
// a UI that must return between pieces; Take() after done() gives the same context.
class AnalysisContextBuilder {
 public:
  static Result<std::unique_ptr<AnalysisContextBuilder>> Start(const Graph& float_graph,
                                                               const CalibrationStats& stats,
                                                               const data::Dataset& eval,
                                                               int64_t max_samples, int64_t chunk);
  Status Step();  // FailedPrecondition when done
  bool done() const { return next_ >= ctx_.eval.size(); }
  double progress() const;
  Result<AnalysisContext> Take();  // FailedPrecondition before done()

 private:
  AnalysisContextBuilder() = default;
  AnalysisContext ctx_;
  int64_t chunk_ = 0, next_ = 0;
  std::vector<float> logits_;
  bool taken_ = false;
};

struct ConfigResult {
  double accuracy = 0;     // simulated (fake-quant) top-1
  double output_sqnr = 0;  // dB, simulated logits vs float logits
};
// Plans `config` over the float graph, computes parameters from the context's statistics and
// evaluates the simulation.
Result<ConfigResult> EvaluateConfig(const AnalysisContext& ctx, const QuantConfig& config);

// EvaluateConfig in pieces, for callers that must return between pieces (a UI frame budget):
// Start plans and computes parameters; each Step simulates the next `chunk` evaluation samples;
// after the last, result() equals EvaluateConfig's (logits are per sample, whatever the batch).
class ConfigEvaluation {
 public:
  // `ctx` must outlive the evaluation. chunk < 1 is InvalidArgument.
  static Result<std::unique_ptr<ConfigEvaluation>> Start(const AnalysisContext* ctx,
                                                         const QuantConfig& config, int64_t chunk);
  Status Step();  // FailedPrecondition when done
  bool done() const { return next_ >= ctx_->eval.size(); }
  double progress() const;  // fraction of the evaluation samples simulated
  const ConfigResult& result() const { return result_; }  // valid once done()

 private:
  ConfigEvaluation() = default;
  const AnalysisContext* ctx_ = nullptr;
  Graph graph_;                            // the configuration's prepared graph
  std::shared_ptr<train::TensorHook> hook_;  // its calibrated fake-quant
  int64_t chunk_ = 0;
  int64_t next_ = 0;
  std::vector<float> logits_;  // simulated first output of the samples so far
  ConfigResult result_;
};

// ---- Sensitivity ------------------------------------------------------------------------------------
struct SensitivityRow {
  std::string layer;
  ConfigResult only;     // only this layer quantized (all others skipped)
  ConfigResult all_but;  // every layer but this one quantized
};
struct SensitivityReport {
  double float_accuracy = 0;
  ConfigResult all;              // every layer quantized
  std::vector<SensitivityRow> rows;  // ranked, most sensitive first
};
enum class RankBy { kAccuracy, kOutputSqnr };
// Most sensitive first: the lowest "only" accuracy (or output SQNR); ties by the largest gain when
// the layer is left float (all_but).
Result<SensitivityReport> LayerSensitivity(const AnalysisContext& ctx, const QuantConfig& config,
                                           RankBy rank = RankBy::kAccuracy);
std::string SensitivityToString(const SensitivityReport& r);

// ---- Range x precision sweep ----------------------------------------------------------------------
struct CalibChoice {
  CalibMethod method = CalibMethod::kMax;
  double percentile = 99.99;
  std::string Name() const;  // "max", "percentile_99.9", "mse", "entropy", "minmax"
};
std::vector<CalibChoice> DefaultSweepCalibrators();  // max, p99.9, p99.99, p99.999, mse, entropy

struct SweepOptions {
  std::vector<int> bits = {2, 3, 4, 5, 6, 7, 8};
  std::vector<CalibChoice> calibrators = DefaultSweepCalibrators();
  bool global = true;      // rows with every layer at (bits, calibrator)
  bool per_layer = false;  // rows with one layer at (bits, calibrator), the others at the base
};
struct SweepRow {
  std::string scope;  // "all" or the layer name
  int bits = 8;
  std::string calibrator;
  double accuracy = 0;
  double output_sqnr = 0;
  std::string error;  // a configuration the math refuses (e.g. entropy at 2 bits): its Status text
};

// Weights take `bits` (with the base config's weight calibrator, max per channel by default);
// activations take `bits` and the calibrator.
class RangePrecisionSweep {
 public:
  // `ctx` must outlive the sweep. InvalidArgument for bits outside [2, 8], no calibrators.
  static Result<std::unique_ptr<RangePrecisionSweep>> Create(const AnalysisContext* ctx,
                                                             const QuantConfig& base,
                                                             const SweepOptions& options);
  // One configuration (chunk_samples 0), or one piece of one: planning and parameters, then
  // chunk_samples evaluation samples per call. Returns the progress after it; FailedPrecondition
  // when done. The rows do not depend on the chunking.
  Result<double> Step();
  bool done() const { return next_ >= jobs_.size(); }
  double progress() const;
  size_t total() const { return jobs_.size(); }
  const std::vector<SweepRow>& rows() const { return rows_; }
  // Evaluation samples per Step (0: a whole configuration per Step, the default). Takes effect
  // from the next configuration. Negative is InvalidArgument.
  Status set_chunk_samples(int64_t n);
  // Layers of the per-layer rows (the plan's quantized layers a user would name).
  const std::vector<std::string>& layers() const { return layers_; }

 private:
  struct Job {
    std::string scope;
    int bits;
    CalibChoice calib;
  };
  RangePrecisionSweep() = default;
  QuantConfig JobConfig(const Job& j) const;
  void FinishJob(const Result<ConfigResult>& r);
  const AnalysisContext* ctx_ = nullptr;
  int64_t chunk_samples_ = 0;
  std::unique_ptr<ConfigEvaluation> current_;  // the configuration being evaluated in chunks
  QuantConfig base_;
  std::vector<std::string> layers_;
  std::vector<Job> jobs_;
  size_t next_ = 0;
  std::vector<SweepRow> rows_;
};
std::string SweepToCsv(const std::vector<SweepRow>& rows);   // scope,bits,calibrator,accuracy,output_sqnr_db,error
std::string SweepToJson(const std::vector<SweepRow>& rows);  // {"rows": [{...}]}

// ---- Clipping vs rounding, outliers ------------------------------------------------------------------
struct TensorClipReport {
  std::string tensor;
  float amax = 0;
  int bits = 8;
  quant::ErrorSplit split;               // from the site's |x| histogram
  std::vector<OutlierSample> outliers;   // calibration samples that set the max, largest first
};
// NotFound for a tensor without statistics; errors of HistogramErrorSplit (bits, amax) pass through.
Result<TensorClipReport> AnalyzeTensorClip(const CalibrationStats& stats, const std::string& tensor,
                                           float amax, int bits, bool is_unsigned = false);

// The thresholds every sweep calibrator (DefaultSweepCalibrators: max, percentile 99.9 / 99.99 /
// 99.999, MSE, entropy) picks on a tensor's |x| histogram at `bits`, in that order, named by
// CalibChoice::Name(). NotFound for a tensor without statistics; a calibrator the math refuses at
// these bits is an error naming it.
Result<std::vector<std::pair<std::string, float>>> CalibratorThresholds(const CalibrationStats& stats,
                                                                        const std::string& tensor,
                                                                        int bits, bool is_unsigned = false);
// |x| statistics of every weight site of `model` (one histogram over all elements, whatever the
// granularity), so AnalyzeTensorClip and CalibratorThresholds work on weights as on activations.
// Outliers are the weight elements' flat indices. InvalidArgument for a non-float weight.
Result<CalibrationStats> WeightClipStats(const QuantizedModel& model, int num_bins = 2048);
// The same for one site (a no-op for a non-weight, pass-through or initializer-less site), so a
// UI can spread the work over frames: WeightClipStats is this over every site in plan order.
Status AddWeightClipStats(const QuantizedModel& model, const QuantSite& site, int num_bins,
                          CalibrationStats* out);

// ---- Mixed precision --------------------------------------------------------------------------------
struct MixedPoint {
  std::map<std::string, int> weight_bits;  // layer -> bits (layers not listed: base config)
  int64_t size_bits = 0;                   // weights: sum of elements x bits (skipped: 32)
  double accuracy = 0;
  double output_sqnr = 0;
  bool pareto = false;
};
// Every combination of `bit_options` over `layers` (capped at max_points; ResourceExhausted beyond).
Result<std::vector<std::map<std::string, int>>> EnumerateBitChoices(
    const std::vector<std::string>& layers, const std::vector<int>& bit_options, size_t max_points = 4096);
// Evaluates each choice and marks the Pareto points (no other point is at most as large and at
// least as accurate with one of the two strict).
Result<std::vector<MixedPoint>> MixedPrecisionWhatIf(const AnalysisContext& ctx, const QuantConfig& base,
                                                     const std::vector<std::map<std::string, int>>& choices);
// Indices of the Pareto-optimal (size, accuracy) points: smaller size and higher accuracy are
// better; duplicates of an optimal point are all optimal. O(n log n).
std::vector<size_t> ParetoFront(const std::vector<std::pair<int64_t, double>>& size_accuracy);

}  // namespace qp::workflows
