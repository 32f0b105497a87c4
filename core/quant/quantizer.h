// Quantizers and the quantization state machine of a model. The hook structure follows TorchQuant
// (pre-observe / quantize / post-observe); TensorQuantizer follows pytorch-quantization's
// TensorQuantizer (disable, calibrate, quantize) plus learned ranges (LSQ / PACT).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/quant/gradients.h"
#include "core/quant/observers.h"
#include "core/quant/qparams.h"
#include "core/quant/quantize.h"

namespace qp::quant {

// ---- Model state machine ------------------------------------------------------------------------
enum class QuantRole : uint8_t { kWeight, kActivation };
const char* QuantRoleName(QuantRole r);

enum class ModelQuantState : uint8_t {
  kFloat,                 // no observation, no quantization
  kCalibrateWeights,      // weight observers collect; the model still runs in float
  kCalibrateActivations,  // activation observers collect; the model still runs in float
  kCalibrateAll,          // both collect; the model still runs in float
  kQat,                   // fake-quant forward, STE/LSQ/PACT backward; observers keep updating
                          // unless frozen or the range is learned
  kQuantizedEval,         // fake-quant (or integer) forward with fixed parameters
};
const char* StateName(ModelQuantState s);
Result<ModelQuantState> ParseState(const std::string& name);

// What a quantizer of a role does in a state:
//
//   state                 | weight: observe quantize | activation: observe quantize
//   ----------------------+--------------------------+-----------------------------
//   float                 |         no      no       |             no      no
//   calibrate_weights     |         yes     no       |             no      no
//   calibrate_activations |         no      no       |             yes     no
//   calibrate_all         |         yes     no       |             yes     no
//   qat                   |         yes     yes      |             yes     yes
//   quantized_eval        |         no      yes      |             no      yes
//
// Calibration runs the float model (pytorch-quantization's disable_quant + enable_calib), so the
// statistics are those of the float network.
struct RolePolicy {
  bool observe = false;
  bool quantize = false;
};
RolePolicy PolicyFor(ModelQuantState state, QuantRole role);

// Legal transitions (row = from, column = to; "=" staying put is always legal and a no-op):
//
//   from \ to             | float cal_w cal_a cal_all qat eval
//   ----------------------+------------------------------------
//   float                 |   =    yes   yes    yes   no   no
//   calibrate_weights     |  yes    =    yes    yes   yes  yes
//   calibrate_activations |  yes   yes    =     yes   yes  yes
//   calibrate_all         |  yes   yes   yes     =    yes  yes
//   qat                   |  yes   no    no     no     =   yes
//   quantized_eval        |  yes   no    no     no    yes   =
//
// Why: QAT and quantized evaluation need ranges, which only calibration produces, so they are
// reached from a calibrate state (or from each other). Going back from QAT/eval to calibration
// would silently overwrite trained ranges; it requires an explicit return to float first.
bool IsLegalTransition(ModelQuantState from, ModelQuantState to);
// FailedPrecondition naming both states, e.g. "illegal quantization state transition from 'float'
// to 'qat': ranges must be calibrated first (go through a calibrate state)".
Status CheckTransition(ModelQuantState from, ModelQuantState to);

class TensorQuantizer;

// Holds the model's state and pushes every transition to its quantizers.
class QuantStateMachine {
 public:
  ModelQuantState state() const { return state_; }
  // Not owned; they must outlive the machine (or be removed with Clear()).
  void Register(TensorQuantizer* q) { quantizers_.push_back(q); }
  void Clear() { quantizers_.clear(); }
  // Checks the transition, then applies it to every registered quantizer. Entering a quantizing
  // state finalises each quantizer's parameters from its observer; if one fails (e.g. it observed
  // nothing), the machine and every quantizer stay in the old state and the error names it.
  Status TransitionTo(ModelQuantState to);

 private:
  ModelQuantState state_ = ModelQuantState::kFloat;
  std::vector<TensorQuantizer*> quantizers_;
};

// ---- Quantizer hooks ----------------------------------------------------------------------------
// A quantizer is three hooks around a tensor (TorchQuant): PreObserve sees the float input (range
// statistics), Quantize produces the fake-quantized output, PostObserve sees input and output
// (error statistics, clipped fraction). Forward runs them as the current mode says.
class Quantizer {
 public:
  virtual ~Quantizer() = default;
  virtual Status PreObserve(const float* x, const Dims& dims) = 0;
  virtual Status Quantize(const float* x, const Dims& dims, float* y) = 0;
  virtual Status PostObserve(const float* x, const float* y, const Dims& dims) = 0;
  virtual bool observing() const = 0;
  virtual bool quantizing() const = 0;
  // observe -> PreObserve; quantize -> Quantize, else y = x (copied unless y == x); -> PostObserve.
  Status Forward(const float* x, const Dims& dims, float* y);
};

enum class RangeLearning : uint8_t { kNone, kLsq, kPact };

struct TensorQuantizerConfig {
  std::string name = "tensor";  // used in error messages ("quantizer 'fc1.weight'")
  QuantRole role = QuantRole::kActivation;
  QuantSpec spec;
  RoundingMode rounding = RoundingMode::kHalfToEven;
  RangeLearning learning = RangeLearning::kNone;  // LSQ: per-tensor or per-axis; PACT: per tensor
};

// Statistics PostObserve keeps for the UI: how many values were clipped (outside the range) and the
// mean squared fake-quant error of the last quantized tensor.
struct QuantizerStats {
  int64_t values = 0;
  int64_t clipped = 0;
  double last_mse = 0.0;
};

class TensorQuantizer : public Quantizer {
 public:
  // The observer decides the granularity (per-channel observers give per-axis params). PACT needs a
  // per-tensor observer. InvalidArgument for a bad spec or config.
  static Result<std::unique_ptr<TensorQuantizer>> Create(const TensorQuantizerConfig& config,
                                                         std::unique_ptr<Observer> observer);

  const TensorQuantizerConfig& config() const { return config_; }
  const Observer& observer() const { return *observer_; }

  // Mode, normally set by the state machine; set_enabled(false) overrides it (the quantizer then
  // neither observes nor quantizes: a layer kept in float).
  Status ApplyState(ModelQuantState state);
  void set_enabled(bool e) { enabled_ = e; }
  bool enabled() const { return enabled_; }
  // A frozen observer ignores data (NVIDIA's advice: do not move scales every QAT step).
  void set_observer_frozen(bool f) { frozen_ = f; }
  bool observer_frozen() const { return frozen_; }
  bool observing() const override { return enabled_ && policy_.observe && !frozen_ && !learning(); }
  bool quantizing() const override { return enabled_ && policy_.quantize; }
  // Learning its range: quantizing in QAT with LSQ or PACT configured.
  bool learning() const {
    return enabled_ && state_ == ModelQuantState::kQat && config_.learning != RangeLearning::kNone;
  }

  // Parameters. Finalize computes them from the observer (FailedPrecondition if it saw nothing);
  // SetParams overrides them (validated; the state machine will not recompute over them until
  // Reset). For PACT, alpha is the clip value and params() are PactParams(alpha).
  Status Finalize();
  Status SetParams(const TensorQParams& p);
  const std::optional<TensorQParams>& params() const { return params_; }
  float pact_alpha() const { return alpha_; }
  Status SetPactAlpha(float alpha);
  void Reset();  // clears observer, params and gradients

  Status PreObserve(const float* x, const Dims& dims) override;
  Status Quantize(const float* x, const Dims& dims, float* y) override;
  Status PostObserve(const float* x, const float* y, const Dims& dims) override;
  const QuantizerStats& stats() const { return stats_; }

  // Backward of the current mode: identity when not quantizing; STE when quantizing with a fixed
  // range; LSQ (scale per channel, gradient scale 1/sqrt(N_channel * Qp)) or PACT (alpha) when
  // learning. Parameter gradients accumulate until StepRange or ZeroGrad.
  Status Backward(const float* x, const float* grad_y, const Dims& dims, float* grad_x);
  const std::vector<double>& range_grads() const { return grads_; }
  void ZeroGrad() { std::fill(grads_.begin(), grads_.end(), 0.0); }
  // Plain SGD on the learned range: scale (or alpha) -= lr * grad, kept >= FLT_MIN; grads cleared.
  Status StepRange(double lr);

 private:
  TensorQuantizer(const TensorQuantizerConfig& c, std::unique_ptr<Observer> o)
      : config_(c), observer_(std::move(o)) {}
  std::string What() const { return "quantizer '" + config_.name + "'"; }
  Status EnsureParams();

  TensorQuantizerConfig config_;
  std::unique_ptr<Observer> observer_;
  ModelQuantState state_ = ModelQuantState::kFloat;
  RolePolicy policy_;
  bool enabled_ = true;
  bool frozen_ = false;
  bool user_params_ = false;
  std::optional<TensorQParams> params_;
  float alpha_ = 0.0f;
  std::vector<double> grads_;
  QuantizerStats stats_;
  friend class QuantStateMachine;
};

}  // namespace qp::quant
