// FakeQuantHook: a train::TensorHook that puts one quant::TensorQuantizer at every site of a
// QuantPlan. It is how the float graph simulates quantization (any width 2..8, also 16) and how
// QAT trains through quantizers (STE / LSQ / PACT backward of core/quant). The quantizers are
// registered with one quant::QuantStateMachine: every mode change goes through its transitions.
// Bias inputs of quantized Conv/Gemm are fake-quantized to int32 at input scale x weight scale
// (what the QDQ export and the int8 kernels do), so simulation matches integer execution.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/tensor.h"
#include "core/quant/quantizer.h"
#include "core/train/trainer.h"
#include "core/workflows/calibrate.h"
#include "core/workflows/plan.h"

namespace qp::workflows {

struct FakeQuantOptions {
  quant::RangeLearning weight_learning = quant::RangeLearning::kNone;      // kLsq for LSQ weights
  quant::RangeLearning activation_learning = quant::RangeLearning::kNone;  // kLsq or kPact
  // Observer used while observing (calibrate / QAT states). Weights: per-channel or per-tensor
  // MinMax. Activations: kMovingAverage (EMA MinMax, QAT default) or kHistogram (the site's
  // calibrator on a histogram).
  enum class ActivationObserver { kMovingAverage, kHistogram, kMinMax } activation_observer =
      ActivationObserver::kMovingAverage;
  double ema_momentum = 0.99;
  // Per-site override of the two learning modes above, by site tensor (QAT: PACT only on
  // nonnegative or signed activations).
  std::map<std::string, quant::RangeLearning> site_learning;
  bool fake_quant_bias = true;  // int32 bias at sx * sw (needs both sites quantizing)
  // LSQ+ style learned zero point on affine (asymmetric) activation sites that learn their scale
  // with LSQ. The hook keeps a real-valued zero point z per such site; the forward pass uses
  // round(z) (clamped to [qmin, qmax]), so the simulation is always an integer-zero-point model
  // and the export needs no further rounding. Backward: the STE through that rounding, dL/dz =
  // g * sum dL/dy * dy/dz with dy/dz = -s on clamped values and 0 inside the range (the LSQ+
  // offset gradient, see quant::LsqBackward), g = 1 / sqrt(N * Qp) as for the scale. The update
  // learns the real offset beta = -z * s by SGD: z -= lr * dL/dz / s^2 (StepRanges).
  bool learn_zero_point = false;
};

class FakeQuantHook : public train::TensorHook {
 public:
  // One quantizer per site of `plan` (the hook keeps a copy of the sites). The state machine starts
  // in kFloat.
  static Result<std::shared_ptr<FakeQuantHook>> Create(const QuantPlan& plan,
                                                       const FakeQuantOptions& options = {});
  // Convenience: Create, SetParams from the model's params, then state kQuantizedEval (the
  // calibrated simulation).
  static Result<std::shared_ptr<FakeQuantHook>> FromQuantizedModel(const QuantizedModel& model,
                                                                   const FakeQuantOptions& options = {});

  // train::TensorHook. Weights apply at the consumer's input slot, activations at the producer's
  // output (graph inputs: at each consumer's input; only the first consumer observes).
  // Pass-through sites use their source site's quantizer (quantize only, never observe).
  bool Applies(const train::HookSite& site) const override;
  Status Forward(const train::HookSite& site, const Tensor& x, bool training, Tensor* y) override;
  Status Backward(const train::HookSite& site, const Tensor& x, const Tensor& dy, Tensor* dx) override;

  quant::QuantStateMachine& state_machine() { return machine_; }
  quant::ModelQuantState state() const { return machine_.state(); }
  Status TransitionTo(quant::ModelQuantState s) { return machine_.TransitionTo(s); }

  size_t num_sites() const { return sites_.size(); }
  const QuantSite& site(size_t i) const { return sites_[i]; }
  const std::vector<QuantSite>& sites() const { return sites_; }
  // The quantizer of site i (a pass-through site returns its source site's quantizer). Only
  // quantizers of non-shared sites are registered with the state machine.
  quant::TensorQuantizer* quantizer(size_t i);
  const quant::TensorQuantizer* quantizer(size_t i) const;
  // nullptr if the tensor has no site.
  quant::TensorQuantizer* FindQuantizer(const std::string& tensor);

  // Sets every site's params (SetParams; pass-through sites included). Errors name the site.
  Status SetParams(const std::map<std::string, quant::TensorQParams>& params);
  // Current params of every site that has them (for a QuantizedModel after QAT).
  std::map<std::string, quant::TensorQParams> CurrentParams() const;
  // StepRange(lr) on every learning quantizer; learned zero points (if any) with
  // zero_point_lr (< 0: lr); ZeroGrad on all.
  Status StepRanges(double lr, double zero_point_lr = -1);
  void ZeroGrads();
  // Learned zero points (options.learn_zero_point), by owning site index: true where site i's
  // zero point is learned; its real value (the forward uses round(value)) and accumulated
  // gradient. SetLearnedZeroPoints restores values saved from learned_zero_points().
  bool learns_zero_point(size_t i) const;
  const std::vector<double>& learned_zero_points() const { return zp_value_; }
  const std::vector<double>& zero_point_grads() const { return zp_grad_; }
  Status SetLearnedZeroPoints(const std::vector<double>& values);
  void FreezeObservers(bool frozen);

 private:
  FakeQuantHook() = default;
  int Lookup(const train::HookSite& site, bool* observe) const;
  Status FakeQuantBias(const train::HookSite& site, const Tensor& x, Tensor* y) const;

  FakeQuantOptions options_;
  std::vector<QuantSite> sites_;
  std::vector<std::unique_ptr<quant::TensorQuantizer>> quantizers_;  // nullptr for shared sites
  std::vector<int> source_;  // site -> site owning its quantizer
  std::map<std::string, int> by_tensor_;
  // Node name -> (input slot -> site index) for weights and graph-input activations, and the
  // node whose input observes a graph input.
  std::map<std::string, std::map<int, int>> input_sites_;
  std::map<std::string, std::string> input_observer_node_;
  // Node name -> (weight site, input site) for bias fake-quant at slot 2.
  std::map<std::string, std::pair<int, int>> bias_sites_;
  // Per site (owning sites only): zero point learned, its real value and gradient.
  std::vector<bool> zp_learned_;
  std::vector<double> zp_value_, zp_grad_;
  Status ApplyLearnedZeroPoint(size_t i);
  quant::QuantStateMachine machine_;
};

}  // namespace qp::workflows
