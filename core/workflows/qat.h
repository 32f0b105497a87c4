// Quantization-aware training over a calibrated QuantizedModel (core/workflows/calibrate.h): the
// prepared graph (BatchNorm already folded by PrepareForQuantization with its running statistics,
// i.e. frozen) is trained by train::Trainer with a FakeQuantHook at every site of the plan.
//
//   method  weights                                   activations
//   kSte    fake-quant with STE; ranges follow the     fixed calibrated ranges, STE
//           weights (per-channel max) every step until
//           freeze_observers_step, then stay
//   kLsq    learned step size per channel (LSQ) when   learned step size (LSQ)
//           learn_weight_scales, else as kSte
//   kPact   as kSte                                    learned clip alpha (PACT, per tensor)
//                                                      on ReLU-like (calibrated min >= 0) or
//                                                      signed sites; others as kSte
//   kLsqPlus as kLsq                                   as kLsq, plus a learned zero point on
//                                                      affine sites (LSQ+, Bhalgat et al. 2020;
//                                                      FakeQuantOptions::learn_zero_point): the
//                                                      forward uses the rounded zero point, so
//                                                      exported zero points are integers in range
// Graph inputs get no range gradient (the Trainer does not backpropagate into its input), so
// their learned ranges stay at the calibrated values.
//
// Every mode change goes through the hook's quant::QuantStateMachine: float -> calibrate_all ->
// qat at Create (the calibrated parameters are the start), qat <-> quantized_eval for Evaluate,
// quantized_eval at Finish. state() is the current state and transitions() the log.
//
// One minibatch per Step(): weights by the Trainer's optimizer (Adam by default) under the cosine
// schedule, learned ranges by plain SGD with range_lr times the same cosine factor. Each step
// records loss, accuracy, the fraction of quantized values outside their range (the STE mask
// zeroes their gradient) and each site's scale (mean over channels) or PACT alpha.
// A failed Step (diverged loss, non-finite data, hook error) restores weights, ranges and
// gradients, and records nothing; only the data stream has moved on by one batch.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/data/dataset.h"
#include "core/graph/graph.h"
#include "core/quant/quantizer.h"
#include "core/train/trainer.h"
#include "core/workflows/calibrate.h"
#include "core/workflows/fake_quant.h"
#include "core/workflows/simulate.h"

namespace qp::workflows {

enum class QatMethod : uint8_t { kSte, kLsq, kPact, kLsqPlus };
const char* QatMethodName(QatMethod m);  // "ste", "lsq", "pact", "lsq+"
Result<QatMethod> ParseQatMethod(const std::string& name);

struct QatOptions {
  QatMethod method = QatMethod::kLsq;
  bool learn_weight_scales = true;  // kLsq / kLsqPlus: weights' scales learned too
  // kLsq / kLsqPlus with learned weight scales: start each weight channel's scale at LSQ's
  // 2 mean|w| / sqrt(Qp) instead of the calibrated one.
  bool lsq_weight_init = false;
  int64_t batch_size = 64;
  int64_t total_steps = 0;  // cosine schedule length; 0 = one epoch of the training set
  bool cosine = true;       // false: constant learning rates
  train::TrainerOptions::Opt optimizer = train::TrainerOptions::Opt::kAdam;
  float lr = 1e-4f;         // weights (and biases)
  float range_lr = 1e-2f;   // LSQ scales / PACT alphas (SGD; LSQ gradients are pre-scaled)
  // kLsqPlus: learned zero points (SGD on the offset -z * s, same cosine factor); < 0: range_lr.
  // The offset's gradient only comes from clamped values, so it is much smaller than the scale's
  // and usually wants a larger rate.
  float zero_point_lr = -1.f;
  // BatchNormalization nodes that PrepareForQuantization could not fold use running statistics
  // from this step on (-1: never; 0: from the start).
  int64_t freeze_bn_step = -1;
  // Weight ranges stop following the weights from this step on (-1: never). Learned ranges are
  // not observer-driven and ignore it.
  int64_t freeze_observers_step = -1;
  uint64_t seed = 1;  // data order
};
Status ValidateQatOptions(const QatOptions& o);

struct QatStepRecord {
  int64_t step = 0;
  int64_t epoch = 0;
  double loss = 0;
  double accuracy = 0;
  float lr = 0;
  float range_lr = 0;
  float zero_point_lr = 0;
  double clip_fraction = 0;        // over every quantized tensor of the step
  std::vector<float> site_range;   // per QatTrainer::site_names(): mean scale, or PACT alpha
  // Per site: the zero point (mean over channels); for a learned one (kLsqPlus) its real value,
  // of which the forward pass uses the rounded integer.
  std::vector<float> site_zero_point;
  std::vector<double> site_clip;   // per site: fraction outside the range (0 if it saw nothing)
  bool bn_frozen = false;
  bool observers_frozen = false;
};

struct QatTransition {
  int64_t step = 0;  // steps done when it happened
  quant::ModelQuantState from = quant::ModelQuantState::kFloat;
  quant::ModelQuantState to = quant::ModelQuantState::kFloat;
};

class QatTrainer {
 public:
  // `start` gives plan, graph and the calibrated parameters; `train` must outlive the trainer.
  // Errors: bad options, an op on the training path without a backward pass ("qat: Trainer: no
  // backward for op ..."), params that do not fit the plan, a dataset the model cannot take.
  static Result<std::unique_ptr<QatTrainer>> Create(const QuantizedModel& start,
                                                    const data::Dataset* train,
                                                    const QatOptions& options);

  ~QatTrainer();
  // One minibatch. FailedPrecondition after Finish. With a step in progress, completes it.
  Result<QatStepRecord> Step();
  // The same step spread over calls, for a caller with a frame budget: each call runs up to
  // `max_nodes` (>= 1) node passes of the Trainer's step (train::Trainer::AdvanceStep), starting
  // a step if none is in progress, and returns the record once the step is done (nullopt
  // before). Same arithmetic as Step. Evaluate and Finish complete a step in progress first.
  Result<std::optional<QatStepRecord>> AdvanceStep(int64_t max_nodes);
  bool step_in_progress() const;
  // Simulated (fake-quant) accuracy with the current weights and ranges: qat -> quantized_eval ->
  // qat around a Trainer evaluation (BN in inference mode). max_samples <= 0: all.
  Result<train::EvalResult> Evaluate(const data::Dataset& ds, int64_t max_samples = -1);
  // Ends training (state quantized_eval) and returns the model: the plan's graph with the trained
  // weights and the current parameters (weight ranges recomputed from the final weights unless
  // frozen or learned), ready for BuildQdqGraph / QuantizedRunner. Callable once more to re-read.
  Result<QuantizedModel> Finish();
  // The float prepared graph with the QAT-trained weights (for export as a plain fp32 model).
  const Graph& float_graph() const { return trainer_->graph(); }

  quant::ModelQuantState state() const { return hook_->state(); }
  const std::vector<QatTransition>& transitions() const { return transitions_; }
  const std::vector<QatStepRecord>& history() const { return history_; }
  const std::vector<std::string>& site_names() const { return site_names_; }
  int64_t steps() const { return trainer_->steps(); }
  int64_t total_steps() const { return total_steps_; }
  const QatOptions& options() const { return options_; }
  FakeQuantHook& hook() { return *hook_; }
  train::Trainer& trainer() { return *trainer_; }

 private:
  class ClipCountingHook;
  struct StepSnapshot;
  QatTrainer();
  Status BeginStep();
  Status CompletePendingStep();
  Status Restore(const StepSnapshot& snap, const Status& why);
  Status Transition(quant::ModelQuantState to);
  Status TrackWeightRanges();
  Status LsqWeightInit();
  std::vector<quant::TensorQuantizer*> OwnQuantizers();

  QuantizedModel start_;
  QatOptions options_;
  std::shared_ptr<FakeQuantHook> hook_;
  std::shared_ptr<ClipCountingHook> counter_;
  std::unique_ptr<train::Trainer> trainer_;
  std::vector<std::string> site_names_;  // sites that own a quantizer, in plan order
  std::vector<size_t> site_index_;       // their index in the plan
  std::vector<QatStepRecord> history_;
  std::vector<QatTransition> transitions_;
  int64_t total_steps_ = 0;
  bool finished_ = false;
  std::unique_ptr<StepSnapshot> pending_;  // a step in progress (AdvanceStep)
};

}  // namespace qp::workflows
