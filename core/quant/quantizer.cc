// Quantizer hooks, TensorQuantizer and the model state machine (tables in quantizer.h).
#include "core/quant/quantizer.h"

#include <algorithm>
#include <cfloat>
#include <cstring>

namespace qp::quant {

const char* QuantRoleName(QuantRole r) { return r == QuantRole::kWeight ? "weight" : "activation"; }

const char* StateName(ModelQuantState s) {
  switch (s) {
    case ModelQuantState::kFloat:
      return "float";
    case ModelQuantState::kCalibrateWeights:
      return "calibrate_weights";
    case ModelQuantState::kCalibrateActivations:
      return "calibrate_activations";
    case ModelQuantState::kCalibrateAll:
      return "calibrate_all";
    case ModelQuantState::kQat:
      return "qat";
    case ModelQuantState::kQuantizedEval:
      return "quantized_eval";
  }
  return "?";
}

namespace {
constexpr ModelQuantState kAllStates[] = {ModelQuantState::kFloat,
                                          ModelQuantState::kCalibrateWeights,
                                          ModelQuantState::kCalibrateActivations,
                                          ModelQuantState::kCalibrateAll,
                                          ModelQuantState::kQat,
                                          ModelQuantState::kQuantizedEval};

bool IsCalibrate(ModelQuantState s) {
  return s == ModelQuantState::kCalibrateWeights || s == ModelQuantState::kCalibrateActivations ||
         s == ModelQuantState::kCalibrateAll;
}
bool IsQuantizing(ModelQuantState s) {
  return s == ModelQuantState::kQat || s == ModelQuantState::kQuantizedEval;
}
}  // namespace

Result<ModelQuantState> ParseState(const std::string& name) {
  for (ModelQuantState s : kAllStates) {
    if (name == StateName(s)) return s;
  }
  return InvalidArgument("quantization state '", name,
                         "' is unknown; use float, calibrate_weights, calibrate_activations, "
                         "calibrate_all, qat or quantized_eval");
}

RolePolicy PolicyFor(ModelQuantState state, QuantRole role) {
  const bool w = role == QuantRole::kWeight;
  switch (state) {
    case ModelQuantState::kFloat:
      return {false, false};
    case ModelQuantState::kCalibrateWeights:
      return {w, false};
    case ModelQuantState::kCalibrateActivations:
      return {!w, false};
    case ModelQuantState::kCalibrateAll:
      return {true, false};
    case ModelQuantState::kQat:
      return {true, true};
    case ModelQuantState::kQuantizedEval:
      return {false, true};
  }
  return {false, false};
}

bool IsLegalTransition(ModelQuantState from, ModelQuantState to) {
  if (from == to || to == ModelQuantState::kFloat) return true;
  if (from == ModelQuantState::kFloat) return IsCalibrate(to);
  if (IsCalibrate(from)) return true;
  return IsQuantizing(to);  // from qat / quantized_eval: only to each other (or float)
}

Status CheckTransition(ModelQuantState from, ModelQuantState to) {
  if (IsLegalTransition(from, to)) return Status::Ok();
  const char* why =
      from == ModelQuantState::kFloat
          ? "ranges must be calibrated first (go through a calibrate state)"
          : "calibrating again would overwrite trained ranges (return to float first)";
  return FailedPrecondition("illegal quantization state transition from '", StateName(from),
                            "' to '", StateName(to), "': ", why);
}

Status QuantStateMachine::TransitionTo(ModelQuantState to) {
  QP_RETURN_IF_ERROR(CheckTransition(state_, to));
  if (to == state_) return Status::Ok();
  // Entering a quantizing state: parameters come from calibration (recomputed when arriving from a
  // calibrate state, kept when moving between qat and quantized_eval). Done before any quantizer
  // changes mode, so a failure leaves everything in the old state.
  for (TensorQuantizer* q : quantizers_) {
    const bool will_quantize = q->enabled() && PolicyFor(to, q->config().role).quantize;
    if (!will_quantize || q->user_params_) continue;
    if (IsCalibrate(state_) || !q->params_) {
      Status s = q->Finalize();
      if (!s.ok()) {
        return s.WithContext(std::string("entering '") + StateName(to) + "'");
      }
    }
  }
  for (TensorQuantizer* q : quantizers_) QP_RETURN_IF_ERROR(q->ApplyState(to));
  state_ = to;
  return Status::Ok();
}

Status Quantizer::Forward(const float* x, const Dims& dims, float* y) {
  if (observing()) QP_RETURN_IF_ERROR(PreObserve(x, dims));
  if (quantizing()) {
    QP_RETURN_IF_ERROR(Quantize(x, dims, y));
  } else if (y != x) {
    QP_ASSIGN_OR_RETURN(AxisLayout l, MakeAxisLayout(dims, std::nullopt));
    if (l.size() > 0) std::memcpy(y, x, static_cast<size_t>(l.size()) * sizeof(float));
  }
  return PostObserve(x, y, dims);
}

// ---- TensorQuantizer ----------------------------------------------------------------------------

Result<std::unique_ptr<TensorQuantizer>> TensorQuantizer::Create(
    const TensorQuantizerConfig& config, std::unique_ptr<Observer> observer) {
  QP_RETURN_IF_ERROR(IntegerRange(config.spec).status());
  if (!observer) return InvalidArgument("quantizer '", config.name, "': no observer given");
  if (config.learning == RangeLearning::kPact && observer->Name().rfind("per_channel", 0) == 0) {
    return InvalidArgument("quantizer '", config.name,
                           "': PACT learns one clip value; use a per-tensor observer");
  }
  return std::unique_ptr<TensorQuantizer>(new TensorQuantizer(config, std::move(observer)));
}

Status TensorQuantizer::ApplyState(ModelQuantState state) {
  const RolePolicy p = PolicyFor(state, config_.role);
  if (enabled_ && p.quantize && !params_) QP_RETURN_IF_ERROR(Finalize());
  state_ = state;
  policy_ = p;
  return Status::Ok();
}

Status TensorQuantizer::Finalize() {
  Result<TensorQParams> p = observer_->ComputeQParams(config_.spec);
  if (!p.ok()) return p.status().WithContext(What());
  if (config_.learning == RangeLearning::kPact) {
    // alpha = the calibrated upper end of the range (amax for symmetric specs).
    const float alpha = p->Channel(0).RealMax();
    QP_RETURN_IF_ERROR(SetPactAlpha(alpha > 0.0f ? alpha : 1.0f));
    user_params_ = false;
    return Status::Ok();
  }
  params_ = std::move(*p);
  grads_.assign(params_->scales.size(), 0.0);
  return Status::Ok();
}

Status TensorQuantizer::SetParams(const TensorQParams& p) {
  Status s = ValidateTensorQParams(p);
  if (!s.ok()) return s.WithContext(What());
  if (config_.learning == RangeLearning::kPact) {
    return InvalidArgument(What(), ": PACT params come from alpha; use SetPactAlpha");
  }
  params_ = p;
  grads_.assign(p.scales.size(), 0.0);
  user_params_ = true;
  return Status::Ok();
}

Status TensorQuantizer::SetPactAlpha(float alpha) {
  Result<QParams> p = PactParams(alpha, config_.spec.bits, config_.spec.is_signed);
  if (!p.ok()) return p.status().WithContext(What());
  alpha_ = alpha;
  params_ = TensorQParams::PerTensor(*p);
  grads_.assign(1, 0.0);
  return Status::Ok();
}

void TensorQuantizer::Reset() {
  observer_->Reset();
  params_.reset();
  grads_.clear();
  user_params_ = false;
  alpha_ = 0.0f;
  stats_ = QuantizerStats();
}

Status TensorQuantizer::EnsureParams() {
  if (params_) return Status::Ok();
  return Finalize();
}

Status TensorQuantizer::PreObserve(const float* x, const Dims& dims) {
  Status s = observer_->Observe(x, dims);
  if (!s.ok()) return s.WithContext(What());
  // During QAT the parameters follow the observer (PyTorch's QAT semantics) unless set by hand.
  if (state_ == ModelQuantState::kQat && !user_params_ &&
      config_.learning == RangeLearning::kNone) {
    QP_RETURN_IF_ERROR(Finalize());
  }
  return Status::Ok();
}

Status TensorQuantizer::Quantize(const float* x, const Dims& dims, float* y) {
  QP_RETURN_IF_ERROR(EnsureParams());
  if (config_.learning == RangeLearning::kPact) {
    QP_ASSIGN_OR_RETURN(AxisLayout l, MakeAxisLayout(dims, std::nullopt));
    return PactForward(x, l.size(), alpha_, config_.spec.bits, config_.spec.is_signed, y);
  }
  Status s = FakeQuant(x, dims, *params_, y, config_.rounding);
  return s.ok() ? s : s.WithContext(What());
}

Status TensorQuantizer::PostObserve(const float* x, const float* y, const Dims& dims) {
  if (!quantizing() || x == y || !params_) return Status::Ok();
  QP_ASSIGN_OR_RETURN(AxisLayout l, MakeAxisLayout(dims, params_->axis));
  int64_t clipped = 0;
  double se = 0.0;
  for (int64_t o = 0; o < l.outer; ++o) {
    for (int64_t c = 0; c < l.channels; ++c) {
      const QParams p = params_->Channel(params_->axis ? c : 0);
      const float lo =
          config_.learning == RangeLearning::kPact && !config_.spec.is_signed ? 0.0f : p.RealMin();
      const float hi = p.RealMax();
      const int64_t off = (o * l.channels + c) * l.inner;
      for (int64_t i = off; i < off + l.inner; ++i) {
        clipped += (x[i] < lo || x[i] > hi);
        const double d = static_cast<double>(x[i]) - y[i];
        se += d * d;
      }
    }
  }
  stats_.values += l.size();
  stats_.clipped += clipped;
  stats_.last_mse = l.size() > 0 ? se / static_cast<double>(l.size()) : 0.0;
  return Status::Ok();
}

Status TensorQuantizer::Backward(const float* x, const float* grad_y, const Dims& dims,
                                 float* grad_x) {
  QP_ASSIGN_OR_RETURN(AxisLayout all, MakeAxisLayout(dims, std::nullopt));
  if (!quantizing()) {
    if (grad_x != grad_y && all.size() > 0) {
      std::memcpy(grad_x, grad_y, static_cast<size_t>(all.size()) * sizeof(float));
    }
    return Status::Ok();
  }
  QP_RETURN_IF_ERROR(EnsureParams());
  if (!learning()) return FakeQuantSteBackward(x, grad_y, dims, *params_, grad_x);
  if (config_.learning == RangeLearning::kPact) {
    QP_ASSIGN_OR_RETURN(
        double ga, PactBackward(x, grad_y, all.size(), alpha_, config_.spec.is_signed, grad_x));
    grads_[0] += ga;
    return Status::Ok();
  }
  // LSQ, per channel: sum the unscaled scale gradient over the channel's runs, then apply
  // g = 1 / sqrt(N_channel * Qp).
  QP_RETURN_IF_ERROR(ValidateTensorQParams(*params_, &dims));
  QP_ASSIGN_OR_RETURN(AxisLayout l, MakeAxisLayout(dims, params_->axis));
  for (int64_t c = 0; c < l.channels; ++c) {
    const QParams p = params_->Channel(params_->axis ? c : 0);
    double sum = 0.0;
    for (int64_t o = 0; o < l.outer; ++o) {
      const int64_t off = (o * l.channels + c) * l.inner;
      QP_ASSIGN_OR_RETURN(LsqGrads g, LsqBackward(x + off, grad_y + off, l.inner, p, 1.0,
                                                  grad_x + off, config_.rounding));
      sum += g.grad_scale;
    }
    const int32_t qp = std::max(1, p.qmax - p.zero_point);
    grads_[static_cast<size_t>(c)] += LsqGradientScale(l.outer * l.inner, qp) * sum;
  }
  return Status::Ok();
}

Status TensorQuantizer::StepRange(double lr) {
  if (!params_) return FailedPrecondition(What(), ": no range to update (not calibrated)");
  if (!std::isfinite(lr)) return InvalidArgument(What(), ": learning rate ", lr, " is not finite");
  if (config_.learning == RangeLearning::kPact) {
    const double a = std::max<double>(alpha_ - lr * grads_[0], FLT_MIN);
    QP_RETURN_IF_ERROR(SetPactAlpha(static_cast<float>(a)));
    return Status::Ok();
  }
  for (size_t c = 0; c < params_->scales.size(); ++c) {
    const double s = params_->scales[c] - lr * grads_[c];
    params_->scales[c] =
        static_cast<float>(std::min<double>(std::max<double>(s, FLT_MIN), FLT_MAX));
  }
  ZeroGrad();
  return Status::Ok();
}

}  // namespace qp::quant
