// QatTrainer (see qat.h).
#include "core/workflows/qat.h"

#include <cmath>
#include <limits>
#include <map>
#include <optional>

#include "core/quant/qparams.h"

namespace qp::workflows {

const char* QatMethodName(QatMethod m) {
  switch (m) {
    case QatMethod::kSte: return "ste";
    case QatMethod::kLsq: return "lsq";
    case QatMethod::kPact: return "pact";
    case QatMethod::kLsqPlus: return "lsq+";
  }
  return "?";
}

Result<QatMethod> ParseQatMethod(const std::string& name) {
  if (name == "ste") return QatMethod::kSte;
  if (name == "lsq") return QatMethod::kLsq;
  if (name == "pact") return QatMethod::kPact;
  if (name == "lsq+" || name == "lsqplus") return QatMethod::kLsqPlus;
  return InvalidArgument("qat: unknown method '", name, "'; expected ste, lsq, lsq+ or pact");
}

Status ValidateQatOptions(const QatOptions& o) {
  if (o.batch_size < 1) return InvalidArgument("qat: batch_size ", o.batch_size, "; must be >= 1");
  if (!(o.lr > 0.f) || !std::isfinite(o.lr))
    return InvalidArgument("qat: lr ", o.lr, "; must be finite and > 0");
  if (!(o.range_lr >= 0.f) || !std::isfinite(o.range_lr))
    return InvalidArgument("qat: range_lr ", o.range_lr, "; must be finite and >= 0");
  if (!std::isfinite(o.zero_point_lr))
    return InvalidArgument("qat: zero_point_lr ", o.zero_point_lr, "; must be finite (< 0: range_lr)");
  if (o.total_steps < 0) return InvalidArgument("qat: total_steps ", o.total_steps, "; must be >= 0");
  if (o.freeze_bn_step < -1)
    return InvalidArgument("qat: freeze_bn_step ", o.freeze_bn_step, "; must be >= -1 (-1: never)");
  if (o.freeze_observers_step < -1)
    return InvalidArgument("qat: freeze_observers_step ", o.freeze_observers_step,
                           "; must be >= -1 (-1: never)");
  return Status::Ok();
}

// Delegates to the FakeQuantHook and counts, per quantizer, how many values of each training
// forward fall outside the quantizer's range (the values the STE mask cuts off). The quantizers'
// own PostObserve statistics are not used: they are not updated on the quantize-only paths
// (learned ranges, pass-through sites).
class QatTrainer::ClipCountingHook : public train::TensorHook {
 public:
  explicit ClipCountingHook(std::shared_ptr<FakeQuantHook> inner) : inner_(std::move(inner)) {}

  void Track(const quant::TensorQuantizer* q, size_t index) { index_[q] = index; }
  void Reset(size_t n) {
    values_.assign(n, 0);
    clipped_.assign(n, 0);
  }
  const std::vector<int64_t>& values() const { return values_; }
  const std::vector<int64_t>& clipped() const { return clipped_; }

  bool Applies(const train::HookSite& site) const override { return inner_->Applies(site); }
  Status Forward(const train::HookSite& site, const Tensor& x, bool training, Tensor* y) override {
    QP_RETURN_IF_ERROR(inner_->Forward(site, x, training, y));
    if (!training || x.dtype() != DType::kFloat32 || x.numel() == 0) return Status::Ok();
    const quant::TensorQuantizer* q = inner_->FindQuantizer(site.value);
    if (!q || !q->quantizing() || !q->params()) return Status::Ok();
    auto it = index_.find(q);
    if (it == index_.end() || it->second >= values_.size()) return Status::Ok();
    const quant::TensorQParams& p = *q->params();
    const quant::Dims dims(x.shape().begin(), x.shape().end());
    Result<quant::AxisLayout> l = quant::MakeAxisLayout(dims, p.axis);
    if (!l.ok() || (p.axis && static_cast<int64_t>(p.scales.size()) != l->channels))
      return Status::Ok();
    int64_t clipped = 0;
    const float* v = x.f32();
    for (int64_t o = 0; o < l->outer; ++o) {
      for (int64_t c = 0; c < l->channels; ++c) {
        const quant::QParams qp = p.Channel(p.axis ? c : 0);
        const float lo = qp.RealMin(), hi = qp.RealMax();
        const int64_t off = (o * l->channels + c) * l->inner;
        for (int64_t i = off; i < off + l->inner; ++i) clipped += (v[i] < lo || v[i] > hi);
      }
    }
    values_[it->second] += x.numel();
    clipped_[it->second] += clipped;
    return Status::Ok();
  }
  Status Backward(const train::HookSite& site, const Tensor& x, const Tensor& dy, Tensor* dx) override {
    return inner_->Backward(site, x, dy, dx);
  }

 private:
  std::shared_ptr<FakeQuantHook> inner_;
  std::map<const quant::TensorQuantizer*, size_t> index_;
  std::vector<int64_t> values_, clipped_;
};

std::vector<quant::TensorQuantizer*> QatTrainer::OwnQuantizers() {
  std::vector<quant::TensorQuantizer*> out;
  for (size_t i : site_index_) out.push_back(hook_->quantizer(i));
  return out;
}

Status QatTrainer::Transition(quant::ModelQuantState to) {
  const quant::ModelQuantState from = hook_->state();
  // PACT quantizers hold an alpha set by hand, not observer statistics: leaving a calibrate state
  // would re-finalize them from their (empty) observers. They sit the transition out disabled and
  // keep their alpha.
  std::vector<quant::TensorQuantizer*> pact;
  if (quant::IsLegalTransition(from, to)) {
    for (quant::TensorQuantizer* q : OwnQuantizers())
      if (q->config().learning == quant::RangeLearning::kPact && q->enabled()) pact.push_back(q);
  }
  for (quant::TensorQuantizer* q : pact) q->set_enabled(false);
  Status s = hook_->TransitionTo(to);
  for (quant::TensorQuantizer* q : pact) q->set_enabled(true);
  if (!s.ok()) return s.WithContext("qat");
  if (from != to) transitions_.push_back({trainer_ ? trainer_->steps() : 0, from, to});
  return Status::Ok();
}

Result<std::unique_ptr<QatTrainer>> QatTrainer::Create(const QuantizedModel& start,
                                                       const data::Dataset* train,
                                                       const QatOptions& options) {
  QP_RETURN_IF_ERROR(ValidateQatOptions(options));
  if (!train || train->size() == 0) return InvalidArgument("qat: empty training dataset");
  std::unique_ptr<QatTrainer> t(new QatTrainer());
  t->start_ = start;
  t->options_ = options;

  FakeQuantOptions fo;
  const bool lsq = options.method == QatMethod::kLsq || options.method == QatMethod::kLsqPlus;
  fo.weight_learning = lsq && options.learn_weight_scales ? quant::RangeLearning::kLsq
                                                          : quant::RangeLearning::kNone;
  fo.activation_learning = lsq                                  ? quant::RangeLearning::kLsq
                           : options.method == QatMethod::kPact ? quant::RangeLearning::kPact
                                                                : quant::RangeLearning::kNone;
  fo.learn_zero_point = options.method == QatMethod::kLsqPlus;
  if (options.method == QatMethod::kPact) {
    // PACT clips to [0, alpha] (unsigned) or [-alpha, alpha] (signed): an unsigned site whose
    // calibrated range reaches below zero (not a ReLU output, e.g. the logits) would lose its
    // negative values, so it keeps its calibrated range (STE) instead.
    for (const QuantSite& s : start.plan.sites) {
      if (s.role != quant::QuantRole::kActivation || s.spec.is_signed) continue;
      auto p = start.params.find(s.tensor);
      if (p != start.params.end() && p->second.Channel(0).RealMin() < 0.f)
        fo.site_learning[s.tensor] = quant::RangeLearning::kNone;
    }
  }
  Result<std::shared_ptr<FakeQuantHook>> hook = FakeQuantHook::Create(start.plan, fo);
  if (!hook.ok()) return hook.status().WithContext("qat");
  t->hook_ = *hook;
  for (size_t i = 0; i < start.plan.sites.size(); ++i) {
    const QuantSite& s = start.plan.sites[i];
    if (!s.shared_from.empty()) continue;
    if (!start.params.count(s.tensor))
      return InvalidArgument("qat: the model has no calibrated parameters for site '", s.tensor,
                             "' (layer '", s.layer, "'); calibrate first");
    t->site_names_.push_back(s.tensor);
    t->site_index_.push_back(i);
  }
  QP_RETURN_IF_ERROR(t->hook_->SetParams(start.params).WithContext("qat"));
  if (lsq && options.learn_weight_scales && options.lsq_weight_init)
    QP_RETURN_IF_ERROR(t->LsqWeightInit());

  train::TrainerOptions to;
  to.batch_size = options.batch_size;
  to.seed = options.seed;
  to.optimizer = options.optimizer;
  const int64_t per_epoch = (train->size() + options.batch_size - 1) / options.batch_size;
  t->total_steps_ = options.total_steps > 0 ? options.total_steps : per_epoch;
  to.schedule.base_lr = options.lr;
  if (options.cosine) {
    to.schedule.kind = train::LrSchedule::Kind::kCosine;
    to.schedule.total_steps = t->total_steps_;
  }
  to.bn_batch_statistics = options.freeze_bn_step != 0;
  Result<std::unique_ptr<train::Trainer>> tr = train::Trainer::Create(start.plan.graph, train, to);
  if (!tr.ok()) return tr.status().WithContext("qat");
  t->trainer_ = std::move(*tr);

  t->counter_ = std::make_shared<ClipCountingHook>(t->hook_);
  for (size_t k = 0; k < t->site_index_.size(); ++k)
    t->counter_->Track(t->hook_->quantizer(t->site_index_[k]), k);
  t->trainer_->SetHook(t->counter_);

  // The calibrated parameters are the start: float -> calibrate_all -> qat.
  QP_RETURN_IF_ERROR(t->Transition(quant::ModelQuantState::kCalibrateAll));
  QP_RETURN_IF_ERROR(t->Transition(quant::ModelQuantState::kQat));
  return t;
}

// LSQ's initial step size per weight channel: 2 mean|w_c| / sqrt(Qp) (Esser et al. 2019, sec. 2.1).
Status QatTrainer::LsqWeightInit() {
  for (size_t k = 0; k < site_index_.size(); ++k) {
    const QuantSite& s = start_.plan.sites[site_index_[k]];
    if (s.role != quant::QuantRole::kWeight) continue;
    quant::TensorQuantizer* q = hook_->quantizer(site_index_[k]);
    auto w = start_.plan.graph.initializers.find(s.tensor);
    if (!q->params() || w == start_.plan.graph.initializers.end() ||
        w->second.dtype() != DType::kFloat32)
      continue;
    quant::TensorQParams p = *q->params();
    const quant::Dims dims(w->second.shape().begin(), w->second.shape().end());
    QP_ASSIGN_OR_RETURN(quant::AxisLayout l, quant::MakeAxisLayout(dims, p.axis));
    if (static_cast<int64_t>(p.scales.size()) != l.channels) continue;
    std::vector<double> sum(p.scales.size(), 0.0);
    const float* v = w->second.f32();
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t c = 0; c < l.channels; ++c)
        for (int64_t i = 0; i < l.inner; ++i)
          sum[static_cast<size_t>(c)] += std::fabs(v[(o * l.channels + c) * l.inner + i]);
    for (size_t c = 0; c < p.scales.size(); ++c) {
      const double mean = sum[c] / static_cast<double>(l.outer * l.inner);
      const int32_t qp = std::max(1, p.qmax - p.zero_points[c]);
      const double sc = 2.0 * mean / std::sqrt(static_cast<double>(qp));
      if (sc > 0 && std::isfinite(sc)) p.scales[c] = static_cast<float>(sc);
    }
    QP_RETURN_IF_ERROR(q->SetParams(p).WithContext("qat: LSQ init of '" + s.tensor + "'"));
  }
  return Status::Ok();
}

Status QatTrainer::TrackWeightRanges() {
  for (size_t k = 0; k < site_index_.size(); ++k) {
    const QuantSite& s = start_.plan.sites[site_index_[k]];
    if (s.role != quant::QuantRole::kWeight) continue;
    quant::TensorQuantizer* q = hook_->quantizer(site_index_[k]);
    if (q->config().learning != quant::RangeLearning::kNone) continue;
    const Tensor* w = trainer_->FindParameter(s.tensor);
    if (!w) continue;
    Result<quant::TensorQParams> p = WeightParams(s, *w);
    if (!p.ok()) return p.status().WithContext("qat: weight '" + s.tensor + "'");
    QP_RETURN_IF_ERROR(q->SetParams(*p));
  }
  return Status::Ok();
}

struct QatTrainer::StepSnapshot {
  int64_t step = 0;
  std::vector<quant::TensorQuantizer*> qs;
  std::vector<std::optional<quant::TensorQParams>> params;
  std::vector<float> alpha;
  std::map<std::string, Tensor> weights;
  std::vector<double> zero_points;
  bool bn_batch_statistics = false;
  bool bn_frozen = false;
  bool obs_frozen = false;
};

QatTrainer::QatTrainer() = default;
QatTrainer::~QatTrainer() = default;

bool QatTrainer::step_in_progress() const { return pending_ != nullptr; }

Status QatTrainer::Restore(const StepSnapshot& snap, const Status& why) {
  trainer_->CancelStep();
  for (const auto& [name, value] : snap.weights)
    if (Tensor* p = trainer_->FindParameter(name)) *p = value;
  for (size_t i = 0; i < snap.qs.size(); ++i) {
    Status s = Status::Ok();
    if (snap.qs[i]->config().learning == quant::RangeLearning::kPact) {
      if (snap.alpha[i] > 0) s = snap.qs[i]->SetPactAlpha(snap.alpha[i]);
    } else if (snap.params[i]) {
      s = snap.qs[i]->SetParams(*snap.params[i]);
    }
    if (!s.ok()) return Internal("qat: restoring after a failed step: ", s.message());
  }
  if (Status s = hook_->SetLearnedZeroPoints(snap.zero_points); !s.ok())
    return Internal("qat: restoring after a failed step: ", s.message());
  hook_->ZeroGrads();
  trainer_->set_bn_batch_statistics(snap.bn_batch_statistics);
  return why.WithContext(internal::StrCat("qat step ", snap.step));
}

Status QatTrainer::BeginStep() {
  // Snapshot of everything a step changes, restored if it fails.
  auto snap = std::make_unique<StepSnapshot>();
  snap->step = trainer_->steps();
  snap->qs = OwnQuantizers();
  for (quant::TensorQuantizer* q : snap->qs) {
    snap->params.push_back(q->params());
    snap->alpha.push_back(q->pact_alpha());
  }
  for (const std::string& name : trainer_->parameter_names())
    if (const Tensor* p = trainer_->FindParameter(name)) snap->weights[name] = *p;
  snap->bn_batch_statistics = trainer_->bn_batch_statistics();
  snap->zero_points = hook_->learned_zero_points();

  const int64_t step = snap->step;
  snap->bn_frozen = options_.freeze_bn_step >= 0 && step >= options_.freeze_bn_step;
  snap->obs_frozen = options_.freeze_observers_step >= 0 && step >= options_.freeze_observers_step;
  trainer_->set_bn_batch_statistics(!snap->bn_frozen);
  hook_->FreezeObservers(snap->obs_frozen);
  if (!snap->obs_frozen) {
    Status s = TrackWeightRanges();
    if (!s.ok()) return Restore(*snap, s);
  }
  counter_->Reset(snap->qs.size());
  if (Status s = trainer_->BeginStep(); !s.ok()) return Restore(*snap, s);
  pending_ = std::move(snap);
  return Status::Ok();
}

Result<QatStepRecord> QatTrainer::Step() {
  for (;;) {
    QP_ASSIGN_OR_RETURN(std::optional<QatStepRecord> done,
                        AdvanceStep(std::numeric_limits<int64_t>::max()));
    if (done) return *done;
  }
}

Status QatTrainer::CompletePendingStep() {
  while (pending_) QP_RETURN_IF_ERROR(AdvanceStep(std::numeric_limits<int64_t>::max()).status());
  return Status::Ok();
}

Result<std::optional<QatStepRecord>> QatTrainer::AdvanceStep(int64_t max_nodes) {
  if (finished_)
    return FailedPrecondition("qat: training is finished (state '", quant::StateName(state()),
                              "'); create a new QatTrainer to continue");
  if (!pending_) QP_RETURN_IF_ERROR(BeginStep());
  Result<std::optional<train::StepResult>> r = trainer_->AdvanceStep(max_nodes);
  if (!r.ok()) {
    std::unique_ptr<StepSnapshot> snap = std::move(pending_);
    return Restore(*snap, r.status());
  }
  if (!r->has_value()) return std::optional<QatStepRecord>();
  std::unique_ptr<StepSnapshot> snap = std::move(pending_);
  const train::StepResult& done = **r;
  const int64_t step = snap->step;
  const std::vector<quant::TensorQuantizer*>& qs = snap->qs;
  auto restore = [&](const Status& why) { return Restore(*snap, why); };
  const float factor = options_.cosine ? train::LearningRate([&] {
    train::LrSchedule s;
    s.kind = train::LrSchedule::Kind::kCosine;
    s.base_lr = 1.0f;
    s.total_steps = total_steps_;
    return s;
  }(), step) : 1.0f;
  const float range_lr = options_.range_lr * factor;
  const float zero_point_lr =
      (options_.zero_point_lr >= 0.f ? options_.zero_point_lr : options_.range_lr) * factor;
  Status rs = hook_->StepRanges(range_lr, zero_point_lr);
  if (!rs.ok()) return restore(rs);
  for (quant::TensorQuantizer* q : qs) {
    if (q->learning() && q->config().learning == quant::RangeLearning::kPact &&
        !std::isfinite(q->pact_alpha()))
      return restore(FailedPrecondition("PACT alpha of '", q->config().name, "' is not finite"));
  }

  QatStepRecord rec;
  rec.step = done.step;
  rec.epoch = done.epoch;
  rec.loss = done.loss;
  rec.accuracy = done.accuracy;
  rec.lr = done.lr;
  rec.range_lr = range_lr;
  rec.zero_point_lr = zero_point_lr;
  rec.bn_frozen = snap->bn_frozen;
  rec.observers_frozen = snap->obs_frozen;
  int64_t values = 0, clipped = 0;
  for (size_t k = 0; k < qs.size(); ++k) {
    const quant::TensorQuantizer* q = qs[k];
    float range = 0.f;
    if (q->config().learning == quant::RangeLearning::kPact) {
      range = q->pact_alpha();
    } else if (q->params() && !q->params()->scales.empty()) {
      double sum = 0;
      for (float sc : q->params()->scales) sum += sc;
      range = static_cast<float>(sum / static_cast<double>(q->params()->scales.size()));
    }
    rec.site_range.push_back(range);
    float zp = 0.f;
    if (hook_->learns_zero_point(site_index_[k])) {
      zp = static_cast<float>(hook_->learned_zero_points()[site_index_[k]]);
    } else if (q->params() && !q->params()->zero_points.empty()) {
      double sum = 0;
      for (int32_t z : q->params()->zero_points) sum += z;
      zp = static_cast<float>(sum / static_cast<double>(q->params()->zero_points.size()));
    }
    rec.site_zero_point.push_back(zp);
    const int64_t v = counter_->values()[k], c = counter_->clipped()[k];
    rec.site_clip.push_back(v > 0 ? static_cast<double>(c) / static_cast<double>(v) : 0.0);
    values += v;
    clipped += c;
  }
  rec.clip_fraction = values > 0 ? static_cast<double>(clipped) / static_cast<double>(values) : 0.0;
  history_.push_back(rec);
  return std::optional<QatStepRecord>(std::move(rec));
}

Result<train::EvalResult> QatTrainer::Evaluate(const data::Dataset& ds, int64_t max_samples) {
  data::Dataset part;
  const data::Dataset* use = &ds;
  if (max_samples > 0 && max_samples < ds.size()) {
    QP_ASSIGN_OR_RETURN(part, data::SliceDataset(ds, 0, max_samples));
    use = &part;
  }
  if (finished_) return trainer_->Evaluate(*use);
  QP_RETURN_IF_ERROR(CompletePendingStep());  // its clip counts must not see the evaluation
  QP_RETURN_IF_ERROR(Transition(quant::ModelQuantState::kQuantizedEval));
  Result<train::EvalResult> r = trainer_->Evaluate(*use);
  QP_RETURN_IF_ERROR(Transition(quant::ModelQuantState::kQat));
  return r;
}

Result<QuantizedModel> QatTrainer::Finish() {
  if (!finished_) {
    QP_RETURN_IF_ERROR(CompletePendingStep());
    const int64_t step = trainer_->steps();
    const bool obs_frozen =
        options_.freeze_observers_step >= 0 && step >= options_.freeze_observers_step;
    if (!obs_frozen) QP_RETURN_IF_ERROR(TrackWeightRanges());
    QP_RETURN_IF_ERROR(Transition(quant::ModelQuantState::kQuantizedEval));
    finished_ = true;
  }
  QuantizedModel out;
  out.plan = start_.plan;
  out.plan.graph = trainer_->graph();
  out.params = hook_->CurrentParams();
  for (const QuantSite& s : out.plan.sites) {
    auto it = out.params.find(s.tensor);
    if (it == out.params.end())
      return Internal("qat: no parameters for site '", s.tensor, "' after training");
    if (s.role == quant::QuantRole::kActivation) {
      const quant::QParams p = it->second.Channel(0);
      out.amax[s.tensor] = std::max(std::fabs(p.RealMin()), std::fabs(p.RealMax()));
    }
  }
  return out;
}

}  // namespace qp::workflows
