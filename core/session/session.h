// Session: the one facade the CLI, the Embind JS API and the ImGui playground use (STYLE 10).
// It owns the current model, the datasets by role, the fp32 reference executor and a stepping
// trainer. Every call validates its input and returns a Status; a failed call leaves the session
// exactly as it was (a bad model file keeps the previous model loaded, a failed step keeps the
// weights). Long work is exposed one step per call so a UI can interleave it with frames.
// Single-threaded: one Session per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/data/dataset.h"
#include "core/graph/graph.h"
#include "core/graph/tensor.h"
#include "core/int8/int8_executor.h"
#include "core/session/demo_models.h"
#include "core/session/model_info.h"
#include "core/train/trainer.h"
#include "core/workflows/calibrate.h"
#include "core/workflows/qdq_export.h"
#include "core/workflows/qat.h"
#include "core/workflows/quant_config.h"
#include "core/workflows/simulate.h"

namespace qp {

class Executor;

enum class DataRole { kTrain = 0, kCalibration = 1, kTest = 2 };
const char* DataRoleName(DataRole role);  // "train", "calibration", "test"

struct SessionOptions {
  size_t max_model_bytes = size_t{256} << 20;  // larger model files are refused before parsing
};

// Which engine runs the model: the fp32 reference executor, or the int8 kernels of one backend
// (a quantized graph lowered once per backend, bit-identical across backends; nodes outside the
// quantized regions run on the fp32 reference, see core/int8/int8_executor.h).
struct RunOptions {
  bool int8 = false;
  // Default: the fastest backend of this build (xnnpack natively, wasmsimd in wasm).
  std::optional<int8::Backend> backend;
};

struct EvalSummary {
  int64_t samples = 0;
  int64_t correct = 0;
  double accuracy = 0;  // top-1 of the first output against the labels
  double loss = 0;      // mean softmax cross-entropy of the first output taken as logits
};

class Session {
 public:
  explicit Session(SessionOptions options = {});
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  // ---- model ----------------------------------------------------------------------------------
  // Imports ONNX bytes (untrusted). On error the current model stays loaded and usable.
  Status LoadModel(const void* bytes, size_t size, const std::string& name);
  Status LoadModelFile(const std::string& path);
  // A demo architecture with fresh (untrained) parameters.
  Status LoadDemoModel(DemoModel model, uint64_t seed);
  // Takes a graph built in code (validated like an imported one).
  Status SetGraph(Graph graph, const std::string& name);

  bool has_model() const { return executor_ != nullptr; }
  const std::string& model_name() const { return model_name_; }
  // Incremented whenever the model changes (load, demo, SetGraph, committed training), so views
  // that cache a description of it (UI panels) know when to refresh.
  uint64_t model_generation() const { return model_generation_; }
  // Changes whenever the quantized model is set, replaced or dropped (Quantize, QAT finish, a new
  // config, a new model): views compare it to know when to recompute what they show of it.
  uint64_t quantized_generation() const { return quantized_generation_; }
  // Precondition: has_model().
  const Graph& graph() const;
  Result<ModelInfo> Info(int64_t batch = 1) const;
  // The current float model (trained weights included) as ONNX bytes, opset 13.
  Result<std::string> ExportOnnx() const;

  // ---- data -----------------------------------------------------------------------------------
  Status SetData(DataRole role, data::Dataset dataset);
  // nullptr when no dataset has that role.
  const data::Dataset* dataset(DataRole role) const;

  // ---- fp32 reference inference ----------------------------------------------------------------
  // The first graph input from `count` floats; the batch is count / (elements of one sample), which
  // must divide exactly. Returns every graph output.
  Result<std::vector<Tensor>> RunFloat(const float* values, size_t count,
                                       const RunOptions& run = {}) const;
  Result<std::vector<Tensor>> Run(const Tensor& input, const RunOptions& run = {}) const;
  // Top-1 accuracy and loss over the dataset of `role` (at most max_samples if > 0), in batches.
  Result<EvalSummary> Evaluate(DataRole role = DataRole::kTest, int64_t max_samples = -1,
                               int64_t batch = 256, const RunOptions& run = {}) const;
  // The int8 plan of the current model for a backend (prepared on first use, then cached).
  Result<const int8::Int8Executor*> Int8Plan(const RunOptions& run) const;

  // ---- memory guard ------------------------------------------------------------------------------
  // Work that scales with a batch is checked against a budget before it allocates, so a batch
  // too large for the model (or the 2 GiB wasm heap) is a ResourceExhausted error naming the batch,
  // the estimate and the budget instead of a failed allocation that would end the page. A run's
  // estimate is the executor's peak of live values per sample (Executor::peak_bytes_per_sample)
  // times the batch; training keeps every value for the backward pass plus gradients and optimizer
  // scratch, counted as three times all values. Evaluations pick a batch that fits. The budget is
  // 768 MiB in wasm32 (2 GiB heap) and 8 GiB natively.
  static constexpr int64_t kDefaultWorkBudgetBytes =
      sizeof(void*) == 4 ? (int64_t{768} << 20) : (int64_t{8} << 30);
  void set_work_budget_bytes(int64_t bytes) { work_budget_bytes_ = bytes; }
  int64_t work_budget_bytes() const { return work_budget_bytes_; }
  // Per-sample estimate of a run, or of a training step; 0 without a model.
  int64_t activation_bytes_per_sample(bool training = false) const;
  // ResourceExhausted when batch x activation_bytes_per_sample(training) exceeds the budget.
  Status CheckBatchFits(const char* what, int64_t batch, bool training = false) const;
  // The largest run batch <= `wanted` that fits (>= 1).
  int64_t FittingBatch(int64_t wanted) const;

  // ---- training (one minibatch per call) ------------------------------------------------------
  // Trains a copy of the current graph on the train dataset.
  Status StartTraining(const train::TrainerOptions& options);
  Result<train::StepResult> TrainStep();
  bool training() const { return trainer_ != nullptr; }
  // Empty when not training.
  const std::vector<train::StepResult>& training_history() const;
  // Makes the trained weights the session's model and ends training.
  Status CommitTraining();
  void AbandonTraining();

  // ---- quantization (PTQ; logic in core/workflows, implemented in session_quant.cc) ----------
  // The flow: SetQuantConfig (or SetQuantPreset) -> StartCalibration -> CalibrateStep until it
  // returns 1.0 (or CancelCalibration / stop early) -> Quantize -> EvaluateQuantized / ExportQdq /
  // QuantParamsJson / SimIntReport. Changing the model clears all of it. Each call validates first
  // and changes nothing on error.
  // Parses and validates the JSON config against the current model and plans the quantizers.
  Status SetQuantConfig(const std::string& json);
  Status SetQuantConfig(const workflows::QuantConfig& config);
  Status SetQuantPreset(const std::string& preset);
  // nullptr until a config is set.
  const workflows::QuantConfig* quant_config() const;
  const workflows::QuantPlan* quant_plan() const;
  // Starts a calibration pass over the calibration data (the test data if none has that role is
  // NOT used: FailedPrecondition).
  Status StartCalibration(const workflows::CalibrationOptions& options = {});
  // One batch; the progress fraction after it (1.0 = all batches done).
  Result<double> CalibrateStep();
  void CancelCalibration();
  bool calibrating() const;
  double calibration_progress() const;
  // Parameters from the batches seen so far (>= 1): the session's quantized model. Ends calibration.
  Status Quantize();
  // nullptr until Quantize succeeded.
  const workflows::QuantizedModel* quantized_model() const;
  // Replaces the quantized model (e.g. after QAT); its plan must belong to the current model.
  Status SetQuantizedModel(workflows::QuantizedModel model);
  // Accuracy of the float prepared graph, the fake-quant simulation, or the int8 kernels.
  Result<EvalSummary> EvaluateQuantized(workflows::ExecMode mode, DataRole role = DataRole::kTest,
                                        int64_t max_samples = -1, int64_t batch = 256,
                                        const RunOptions& run = {}) const;
  // The quantized runner of a backend (float, simulated and int8 execution of the quantized model)
  // built in steps, so a UI can spread the int8 plan's lowering and weight packing over frames:
  // StartQuantizedPrep, then QuantizedPrepStep (one node of the plan per call) until it returns 1.0.
  // Without it the first quantized run or evaluation builds the runner in one call. A runner that
  // already exists needs no steps (quantized_prep_running() is false at once); changing the
  // quantized model drops the preparation.
  Status StartQuantizedPrep(const RunOptions& run = {});
  Result<double> QuantizedPrepStep();
  bool quantized_prep_running() const;
  double quantized_prep_progress() const;
  // Runs the quantized model on one input batch.
  Result<std::vector<Tensor>> RunQuantized(workflows::ExecMode mode, const Tensor& input,
                                           const RunOptions& run = {}) const;
  Result<std::string> ExportQdq(workflows::QdqLayout layout) const;
  Result<std::string> QuantParamsJson() const;
  // ---- QAT (one minibatch per call; logic in core/workflows/qat.h, session_quant.cc) ----------
  // Starts quantization-aware training from the quantized model on the train data. Replacing the
  // quantized model or the train data, or changing the config, ends QAT without a result.
  Status StartQat(const workflows::QatOptions& options);
  // One minibatch (completing a step QatAdvance started); a failed step leaves weights and ranges
  // as before it.
  Result<workflows::QatStepRecord> QatStep();
  // The same minibatch in pieces for a frame budget: up to `max_nodes` node passes (a layer's
  // forward or backward); the record once the step is done, nullopt before.
  Result<std::optional<workflows::QatStepRecord>> QatAdvance(int64_t max_nodes);
  // nullptr when QAT is not running; history(), state(), site_names() for views.
  const workflows::QatTrainer* qat() const;
  // Fake-quant accuracy with the current QAT weights and ranges.
  Result<EvalSummary> EvaluateQat(DataRole role = DataRole::kTest, int64_t max_samples = -1);
  // The trained weights and learned ranges become the session's quantized model (exportable).
  Status FinishQat();
  void AbandonQat();

  // Simulation vs int8 per activation site on the first `samples` of `role` data.
  Result<workflows::SimIntReport> SimIntReport(DataRole role = DataRole::kTest,
                                               int64_t samples = 256) const;

 private:
  struct QuantState;
  QuantState& Quant();
  Result<const workflows::QuantizedRunner*> Runner(const RunOptions& run) const;

  Status Install(Graph graph, const std::string& name);
  // Work that holds a pointer to a dataset stops before SetData replaces it.
  void DropTrainDataUsers();
  void DropCalibrationDataUsers();
  // The dataset's images reshaped to the model's first input ([n, ...sample dims]).
  Result<Tensor> AdaptImages(const Tensor& images, int64_t start, int64_t count) const;

  SessionOptions options_;
  std::string model_name_;
  int64_t work_budget_bytes_ = kDefaultWorkBudgetBytes;
  int64_t run_bytes_per_sample_ = 0;       // computed at Install
  int64_t training_bytes_per_sample_ = 0;
  uint64_t model_generation_ = 0;
  uint64_t quantized_generation_ = 0;
  std::unique_ptr<Executor> executor_;
  // Int8 plans per backend, built lazily from the current model; cleared when the model changes.
  mutable std::map<int8::Backend, std::unique_ptr<int8::Int8Executor>> int8_plans_;
  // The model as installed, before the fp32 executor's constant folding: int8 plans are built from
  // it (folding turns DequantizeLinear(int8 weights) into float constants, hiding the QDQ pattern).
  std::shared_ptr<const Graph> unfolded_;
  std::unique_ptr<data::Dataset> data_[3];
  std::unique_ptr<train::Trainer> trainer_;
  // Quantization config, plan, calibration and quantized model (session_quant.cc); reset with the
  // model.
  std::shared_ptr<QuantState> quant_;  // shared_ptr: QuantState is incomplete here
};

}  // namespace qp
