// FakeQuantHook (see fake_quant.h).
#include "core/workflows/fake_quant.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace qp::workflows {
namespace {

quant::Dims DimsOf(const Tensor& t) { return quant::Dims(t.shape().begin(), t.shape().end()); }

quant::AmaxMethod ToAmax(CalibMethod m) {
  switch (m) {
    case CalibMethod::kPercentile: return quant::AmaxMethod::kPercentile;
    case CalibMethod::kMse: return quant::AmaxMethod::kMse;
    case CalibMethod::kEntropy: return quant::AmaxMethod::kEntropy;
    default: return quant::AmaxMethod::kMax;
  }
}

Result<std::unique_ptr<quant::Observer>> MakeObserver(const QuantSite& s, const FakeQuantOptions& o) {
  if (s.role == quant::QuantRole::kWeight) {
    if (s.axis) return std::unique_ptr<quant::Observer>(new quant::PerChannelMinMaxObserver(*s.axis));
    return std::unique_ptr<quant::Observer>(new quant::MinMaxObserver());
  }
  using AO = FakeQuantOptions::ActivationObserver;
  if (o.activation_observer == AO::kMinMax || s.calibrator == CalibMethod::kMinMax)
    return std::unique_ptr<quant::Observer>(new quant::MinMaxObserver());
  if (o.activation_observer == AO::kHistogram) {
    quant::HistogramOptions ho;
    ho.method = ToAmax(s.calibrator);
    ho.amax.percentile = s.percentile;
    QP_ASSIGN_OR_RETURN(quant::HistogramCalibrator h, quant::HistogramCalibrator::Create(ho));
    return std::unique_ptr<quant::Observer>(new quant::HistogramCalibrator(std::move(h)));
  }
  quant::EmaOptions eo;
  eo.momentum = o.ema_momentum;
  QP_ASSIGN_OR_RETURN(quant::MovingAverageMinMaxObserver m, quant::MovingAverageMinMaxObserver::Create(eo));
  return std::unique_ptr<quant::Observer>(new quant::MovingAverageMinMaxObserver(std::move(m)));
}

}  // namespace

Result<std::shared_ptr<FakeQuantHook>> FakeQuantHook::Create(const QuantPlan& plan,
                                                             const FakeQuantOptions& options) {
  auto h = std::shared_ptr<FakeQuantHook>(new FakeQuantHook());
  h->options_ = options;
  h->sites_ = plan.sites;
  h->quantizers_.resize(plan.sites.size());
  h->source_.assign(plan.sites.size(), -1);
  h->zp_learned_.assign(plan.sites.size(), false);
  h->zp_value_.assign(plan.sites.size(), 0.0);
  h->zp_grad_.assign(plan.sites.size(), 0.0);
  for (size_t i = 0; i < plan.sites.size(); ++i) {
    const QuantSite& s = plan.sites[i];
    h->by_tensor_[s.tensor] = static_cast<int>(i);
  }
  for (size_t i = 0; i < plan.sites.size(); ++i) {
    const QuantSite& s = plan.sites[i];
    if (!s.shared_from.empty()) {
      auto it = h->by_tensor_.find(s.shared_from);
      if (it == h->by_tensor_.end())
        return Internal("fake-quant: site '", s.tensor, "' shares the missing site '", s.shared_from, "'");
      h->source_[i] = it->second;
      continue;
    }
    h->source_[i] = static_cast<int>(i);
    quant::TensorQuantizerConfig qc;
    qc.name = s.tensor;
    qc.role = s.role;
    qc.spec = s.spec;
    qc.learning = s.role == quant::QuantRole::kWeight ? options.weight_learning
                                                       : options.activation_learning;
    if (auto ov = options.site_learning.find(s.tensor); ov != options.site_learning.end())
      qc.learning = ov->second;
    QP_ASSIGN_OR_RETURN(std::unique_ptr<quant::Observer> obs, MakeObserver(s, options));
    QP_ASSIGN_OR_RETURN(h->quantizers_[i], quant::TensorQuantizer::Create(qc, std::move(obs)));
    h->zp_learned_[i] = options.learn_zero_point && s.role == quant::QuantRole::kActivation &&
                        qc.learning == quant::RangeLearning::kLsq &&
                        s.spec.scheme == quant::Scheme::kAffine;
    h->machine_.Register(h->quantizers_[i].get());
  }
  const Graph& g = plan.graph;
  std::set<std::string> quantized(plan.quantized_layers.begin(), plan.quantized_layers.end());
  std::set<std::string> graph_inputs;
  for (const ValueInfo& v : g.inputs) graph_inputs.insert(v.name);
  QP_ASSIGN_OR_RETURN(std::vector<size_t> order, TopologicalOrder(g));
  for (size_t ni : order) {
    const Node& n = g.nodes[ni];
    for (size_t slot = 0; slot < n.inputs.size(); ++slot) {
      auto it = h->by_tensor_.find(n.inputs[slot]);
      if (it == h->by_tensor_.end()) continue;
      const QuantSite& s = plan.sites[static_cast<size_t>(it->second)];
      if (s.role == quant::QuantRole::kWeight) {
        if (slot == 1 && quantized.count(n.name)) h->input_sites_[n.name][1] = it->second;
      } else if (graph_inputs.count(s.tensor)) {
        h->input_sites_[n.name][static_cast<int>(slot)] = it->second;
        if (!h->input_observer_node_.count(s.tensor)) h->input_observer_node_[s.tensor] = n.name;
      }
    }
    if (quantized.count(n.name) && (n.op_type == "Conv" || n.op_type == "Gemm") && n.has_input(2) &&
        g.initializers.count(n.inputs[2]) && n.has_input(1)) {
      auto w = h->by_tensor_.find(n.inputs[1]);
      auto x = h->by_tensor_.find(n.inputs[0]);
      if (w != h->by_tensor_.end() && x != h->by_tensor_.end())
        h->bias_sites_[n.name] = {w->second, x->second};
    }
  }
  return h;
}

Result<std::shared_ptr<FakeQuantHook>> FakeQuantHook::FromQuantizedModel(const QuantizedModel& model,
                                                                         const FakeQuantOptions& options) {
  QP_ASSIGN_OR_RETURN(std::shared_ptr<FakeQuantHook> h, Create(model.plan, options));
  QP_RETURN_IF_ERROR(h->SetParams(model.params));
  // Calibration -> quantized evaluation (the only legal way in: through a calibrate state).
  QP_RETURN_IF_ERROR(h->TransitionTo(quant::ModelQuantState::kCalibrateAll));
  QP_RETURN_IF_ERROR(h->TransitionTo(quant::ModelQuantState::kQuantizedEval));
  return h;
}

quant::TensorQuantizer* FakeQuantHook::quantizer(size_t i) {
  return quantizers_[static_cast<size_t>(source_[i])].get();
}
const quant::TensorQuantizer* FakeQuantHook::quantizer(size_t i) const {
  return quantizers_[static_cast<size_t>(source_[i])].get();
}

quant::TensorQuantizer* FakeQuantHook::FindQuantizer(const std::string& tensor) {
  auto it = by_tensor_.find(tensor);
  return it == by_tensor_.end() ? nullptr : quantizer(static_cast<size_t>(it->second));
}

int FakeQuantHook::Lookup(const train::HookSite& site, bool* observe) const {
  *observe = false;
  if (site.output) {
    auto it = by_tensor_.find(site.value);
    if (it == by_tensor_.end()) return -1;
    const QuantSite& s = sites_[static_cast<size_t>(it->second)];
    if (s.role != quant::QuantRole::kActivation || input_observer_node_.count(s.tensor)) return -1;
    *observe = s.shared_from.empty();
    return it->second;
  }
  if (!site.node) return -1;
  auto n = input_sites_.find(site.node->name);
  if (n == input_sites_.end()) return -1;
  auto s = n->second.find(site.slot);
  if (s == n->second.end()) return -1;
  const QuantSite& q = sites_[static_cast<size_t>(s->second)];
  if (q.role == quant::QuantRole::kWeight) {
    *observe = true;
  } else {
    auto o = input_observer_node_.find(q.tensor);
    *observe = o != input_observer_node_.end() && o->second == site.node->name;
  }
  return s->second;
}

bool FakeQuantHook::Applies(const train::HookSite& site) const {
  if (!site.output && site.node && site.slot == 2 && options_.fake_quant_bias &&
      bias_sites_.count(site.node->name))
    return true;
  bool observe = false;
  return Lookup(site, &observe) >= 0;
}

Status FakeQuantHook::FakeQuantBias(const train::HookSite& site, const Tensor& x, Tensor* y) const {
  *y = x;
  const auto& [wi, xi] = bias_sites_.at(site.node->name);
  const quant::TensorQuantizer* wq = quantizer(static_cast<size_t>(wi));
  const quant::TensorQuantizer* xq = quantizer(static_cast<size_t>(xi));
  if (!wq->quantizing() || !xq->quantizing() || !wq->params() || !xq->params()) return Status::Ok();
  if (x.dtype() != DType::kFloat32) return Status::Ok();
  const quant::TensorQParams& wp = *wq->params();
  const double sx = xq->params()->scales[0];
  const int64_t n = x.numel();
  float* out = y->f32();
  for (int64_t c = 0; c < n; ++c) {
    const double sw = wp.scales[wp.axis && wp.num_channels() == n ? static_cast<size_t>(c) : 0];
    const float s = static_cast<float>(sx * sw);  // the float scale the QDQ file stores
    if (!(s > 0)) continue;
    double q = std::nearbyint(static_cast<double>(x.f32()[c]) / s);
    q = std::min(std::max(q, -2147483648.0), 2147483647.0);
    out[c] = static_cast<float>(q * s);
  }
  return Status::Ok();
}

Status FakeQuantHook::Forward(const train::HookSite& site, const Tensor& x, bool training, Tensor* y) {
  (void)training;
  if (!site.output && site.node && site.slot == 2 && bias_sites_.count(site.node->name))
    return FakeQuantBias(site, x, y);
  bool observe = false;
  const int i = Lookup(site, &observe);
  if (i < 0 || x.dtype() != DType::kFloat32) {
    *y = x;
    return Status::Ok();
  }
  quant::TensorQuantizer* q = quantizer(static_cast<size_t>(i));
  *y = Tensor(DType::kFloat32, x.shape());
  const quant::Dims dims = DimsOf(x);
  if (x.numel() == 0) return Status::Ok();
  if (observe) return q->Forward(x.f32(), dims, y->f32());
  if (q->quantizing()) return q->Quantize(x.f32(), dims, y->f32());
  *y = x;
  return Status::Ok();
}

Status FakeQuantHook::Backward(const train::HookSite& site, const Tensor& x, const Tensor& dy,
                               Tensor* dx) {
  if (!site.output && site.node && site.slot == 2 && bias_sites_.count(site.node->name)) {
    *dx = dy;  // STE through the int32 bias rounding (it never clips in practice)
    return Status::Ok();
  }
  bool observe = false;
  const int i = Lookup(site, &observe);
  if (i < 0 || dy.numel() == 0) {
    *dx = dy;
    return Status::Ok();
  }
  *dx = Tensor(DType::kFloat32, dy.shape());
  quant::TensorQuantizer* q = quantizer(static_cast<size_t>(i));
  QP_RETURN_IF_ERROR(q->Backward(x.f32(), dy.f32(), DimsOf(x), dx->f32()));
  const size_t src = static_cast<size_t>(source_[static_cast<size_t>(i)]);
  if (zp_learned_[src] && q->learning() && q->params() && q->params()->scales.size() == 1) {
    // The zero point's share of the LSQ backward (LSQ+): only clamped values depend on it.
    const quant::QParams p = q->params()->Channel(0);
    const double g = quant::LsqGradientScale(x.numel(), std::max(1, p.qmax - p.zero_point));
    QP_ASSIGN_OR_RETURN(quant::LsqGrads lg,
                        quant::LsqBackward(x.f32(), dy.f32(), x.numel(), p, g, nullptr,
                                           q->config().rounding));
    zp_grad_[src] += lg.grad_zero_point;
  }
  return Status::Ok();
}

bool FakeQuantHook::learns_zero_point(size_t i) const {
  return i < zp_learned_.size() && zp_learned_[static_cast<size_t>(source_[i])];
}

// Writes round(zp_value_[i]) (clamped to the integer range) into quantizer i's parameters.
Status FakeQuantHook::ApplyLearnedZeroPoint(size_t i) {
  quant::TensorQuantizer* q = quantizers_[i].get();
  if (!q || !q->params()) return Status::Ok();
  quant::TensorQParams p = *q->params();
  zp_value_[i] = std::min<double>(std::max<double>(zp_value_[i], p.qmin), p.qmax);
  const int32_t z = static_cast<int32_t>(std::nearbyint(zp_value_[i]));
  if (p.zero_points.size() == 1 && p.zero_points[0] == z) return Status::Ok();
  for (int32_t& zp : p.zero_points) zp = z;
  return q->SetParams(p);
}

Status FakeQuantHook::SetLearnedZeroPoints(const std::vector<double>& values) {
  if (values.size() != zp_value_.size())
    return InvalidArgument("fake-quant: ", values.size(), " learned zero points for ",
                           zp_value_.size(), " sites");
  for (size_t i = 0; i < values.size(); ++i) {
    if (!zp_learned_[i]) continue;
    zp_value_[i] = values[i];
    QP_RETURN_IF_ERROR(ApplyLearnedZeroPoint(i));
  }
  return Status::Ok();
}

Status FakeQuantHook::SetParams(const std::map<std::string, quant::TensorQParams>& params) {
  for (size_t i = 0; i < sites_.size(); ++i) {
    if (!quantizers_[i]) continue;
    auto it = params.find(sites_[i].tensor);
    if (it == params.end()) continue;
    quant::TensorQuantizer* q = quantizers_[i].get();
    if (q->config().learning == quant::RangeLearning::kPact) {
      const float alpha = it->second.Channel(0).RealMax();
      QP_RETURN_IF_ERROR(q->SetPactAlpha(alpha > 0 ? alpha : 1.0f));
    } else {
      QP_RETURN_IF_ERROR(q->SetParams(it->second));
      if (zp_learned_[i] && !it->second.zero_points.empty()) zp_value_[i] = it->second.zero_points[0];
    }
  }
  return Status::Ok();
}

std::map<std::string, quant::TensorQParams> FakeQuantHook::CurrentParams() const {
  std::map<std::string, quant::TensorQParams> out;
  for (size_t i = 0; i < sites_.size(); ++i) {
    const quant::TensorQuantizer* q = quantizer(i);
    if (q && q->params()) out[sites_[i].tensor] = *q->params();
  }
  return out;
}

Status FakeQuantHook::StepRanges(double lr, double zero_point_lr) {
  const double zlr = zero_point_lr >= 0 ? zero_point_lr : lr;
  for (size_t i = 0; i < quantizers_.size(); ++i) {
    quant::TensorQuantizer* q = quantizers_[i].get();
    if (!q || !q->learning()) continue;
    // Zero point first, with the scale its gradient was taken at: beta = -z s moves by
    // -zlr dL/dbeta = zlr dL/dz / s, i.e. z by -zlr dL/dz / s^2.
    const bool zp = zp_learned_[i] && q->params() && q->params()->scales.size() == 1;
    if (zp) {
      const double sc = q->params()->scales[0];
      const double z = zp_value_[i] - zlr * zp_grad_[i] / (sc * sc);
      if (!std::isfinite(z))
        return FailedPrecondition("learned zero point of '", q->config().name, "' is not finite");
      zp_value_[i] = z;
      zp_grad_[i] = 0.0;
    }
    QP_RETURN_IF_ERROR(q->StepRange(lr));
    if (zp) QP_RETURN_IF_ERROR(ApplyLearnedZeroPoint(i));
  }
  return Status::Ok();
}

void FakeQuantHook::ZeroGrads() {
  for (auto& q : quantizers_)
    if (q) q->ZeroGrad();
  std::fill(zp_grad_.begin(), zp_grad_.end(), 0.0);
}

void FakeQuantHook::FreezeObservers(bool frozen) {
  for (auto& q : quantizers_)
    if (q) q->set_observer_frozen(frozen);
}

}  // namespace qp::workflows
