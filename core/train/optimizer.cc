// SGD / Adam / AdamW and the learning-rate schedules (see optimizer.h). Per-element updates are
// float32 as in PyTorch; the bias corrections 1 - beta^t are computed in double.
#include "core/train/optimizer.h"

#include <algorithm>
#include <cmath>

namespace qp::train {
namespace {

Status CheckParam(const ParamRef& p, const char* opt) {
  if (!p.value || !p.grad) return InvalidArgument(opt, ": parameter '", p.name, "' has no value or gradient");
  if (p.value->dtype() != DType::kFloat32 || p.grad->dtype() != DType::kFloat32 ||
      p.value->shape() != p.grad->shape())
    return InvalidArgument(opt, ": parameter '", p.name, "' ", ShapeToString(p.value->shape()),
                           " and its gradient ", ShapeToString(p.grad->shape()),
                           " must be float32 of the same shape");
  return Status::Ok();
}

class Sgd final : public Optimizer {
 public:
  explicit Sgd(const SgdOptions& o) : o_(o) {}
  Status Step(const std::vector<ParamRef>& params, float lr) override {
    for (const ParamRef& p : params) QP_RETURN_IF_ERROR(CheckParam(p, "SGD"));
    for (const ParamRef& p : params) {
      float* w = p.value->f32();
      const float* g = p.grad->f32();
      const int64_t n = p.value->numel();
      if (o_.momentum == 0.f) {
        for (int64_t i = 0; i < n; ++i) w[i] -= lr * (g[i] + o_.weight_decay * w[i]);
        continue;
      }
      auto it = buf_.find(p.name);
      const bool first = it == buf_.end();
      if (first) it = buf_.emplace(p.name, Tensor(DType::kFloat32, p.value->shape())).first;
      if (it->second.shape() != p.value->shape())
        return FailedPrecondition("SGD: parameter '", p.name, "' changed shape between steps");
      float* b = it->second.f32();
      for (int64_t i = 0; i < n; ++i) {
        const float d = g[i] + o_.weight_decay * w[i];
        b[i] = first ? d : o_.momentum * b[i] + (1.f - o_.dampening) * d;
        w[i] -= lr * (o_.nesterov ? d + o_.momentum * b[i] : b[i]);
      }
    }
    return Status::Ok();
  }
  void Reset() override { buf_.clear(); }

 private:
  SgdOptions o_;
  std::map<std::string, Tensor> buf_;
};

class Adam final : public Optimizer {
 public:
  explicit Adam(const AdamOptions& o) : o_(o) {}
  Status Step(const std::vector<ParamRef>& params, float lr) override {
    for (const ParamRef& p : params) QP_RETURN_IF_ERROR(CheckParam(p, "Adam"));
    for (const ParamRef& p : params) {
      State& s = state_[p.name];
      if (s.step == 0) {
        s.m = Tensor(DType::kFloat32, p.value->shape());
        s.v = Tensor(DType::kFloat32, p.value->shape());
      } else if (s.m.shape() != p.value->shape()) {
        return FailedPrecondition("Adam: parameter '", p.name, "' changed shape between steps");
      }
      ++s.step;
      const double bc1 = 1.0 - std::pow(static_cast<double>(o_.beta1), static_cast<double>(s.step));
      const double bc2 = 1.0 - std::pow(static_cast<double>(o_.beta2), static_cast<double>(s.step));
      const float step_size = static_cast<float>(lr / bc1);
      const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
      float* w = p.value->f32();
      const float* g = p.grad->f32();
      float* m = s.m.f32();
      float* v = s.v.f32();
      for (int64_t i = 0; i < p.value->numel(); ++i) {
        float d = g[i];
        if (o_.decoupled) w[i] *= 1.f - lr * o_.weight_decay;
        else d += o_.weight_decay * w[i];
        m[i] = o_.beta1 * m[i] + (1.f - o_.beta1) * d;
        v[i] = o_.beta2 * v[i] + (1.f - o_.beta2) * d * d;
        w[i] -= step_size * m[i] / (std::sqrt(v[i]) / bc2_sqrt + o_.eps);
      }
    }
    return Status::Ok();
  }
  void Reset() override { state_.clear(); }

 private:
  struct State {
    int64_t step = 0;
    Tensor m, v;
  };
  AdamOptions o_;
  std::map<std::string, State> state_;
};

}  // namespace

Result<std::unique_ptr<Optimizer>> MakeSgd(const SgdOptions& o) {
  if (!(o.momentum >= 0.f)) return InvalidArgument("SGD momentum ", o.momentum, "; must be >= 0");
  if (!(o.weight_decay >= 0.f)) return InvalidArgument("SGD weight_decay ", o.weight_decay, "; must be >= 0");
  if (!(o.dampening >= 0.f && o.dampening <= 1.f))
    return InvalidArgument("SGD dampening ", o.dampening, "; must be in [0, 1]");
  if (o.nesterov && (o.momentum <= 0.f || o.dampening != 0.f))
    return InvalidArgument("SGD nesterov needs momentum > 0 and dampening 0 (momentum ", o.momentum,
                           ", dampening ", o.dampening, ")");
  return std::unique_ptr<Optimizer>(new Sgd(o));
}

Result<std::unique_ptr<Optimizer>> MakeAdam(const AdamOptions& o) {
  if (!(o.beta1 >= 0.f && o.beta1 < 1.f) || !(o.beta2 >= 0.f && o.beta2 < 1.f))
    return InvalidArgument("Adam betas (", o.beta1, ", ", o.beta2, "); each must be in [0, 1)");
  if (!(o.eps > 0.f)) return InvalidArgument("Adam eps ", o.eps, "; must be > 0");
  if (!(o.weight_decay >= 0.f)) return InvalidArgument("Adam weight_decay ", o.weight_decay, "; must be >= 0");
  return std::unique_ptr<Optimizer>(new Adam(o));
}

Status ValidateSchedule(const LrSchedule& s) {
  if (!(s.base_lr > 0.f) || !std::isfinite(s.base_lr))
    return InvalidArgument("learning rate ", s.base_lr, "; must be finite and > 0");
  if (s.warmup_steps < 0) return InvalidArgument("warmup_steps ", s.warmup_steps, "; must be >= 0");
  if (!(s.warmup_start_factor >= 0.f && s.warmup_start_factor <= 1.f))
    return InvalidArgument("warmup_start_factor ", s.warmup_start_factor, "; must be in [0, 1]");
  if (s.kind == LrSchedule::Kind::kStep) {
    if (s.step_size < 1) return InvalidArgument("step schedule step_size ", s.step_size, "; must be >= 1");
    if (!(s.gamma > 0.f && s.gamma <= 1.f)) return InvalidArgument("step schedule gamma ", s.gamma, "; must be in (0, 1]");
  }
  if (s.kind == LrSchedule::Kind::kCosine) {
    if (s.total_steps < 1) return InvalidArgument("cosine schedule total_steps ", s.total_steps, "; must be >= 1");
    if (!(s.min_lr >= 0.f && s.min_lr <= s.base_lr))
      return InvalidArgument("cosine schedule min_lr ", s.min_lr, "; must be in [0, base_lr]");
  }
  return Status::Ok();
}

float LearningRate(const LrSchedule& s, int64_t step) {
  if (step < s.warmup_steps) {
    const double f = s.warmup_start_factor +
                     (1.0 - s.warmup_start_factor) * static_cast<double>(step) / static_cast<double>(s.warmup_steps);
    return static_cast<float>(s.base_lr * f);
  }
  const int64_t t = step - s.warmup_steps;
  switch (s.kind) {
    case LrSchedule::Kind::kConstant: return s.base_lr;
    case LrSchedule::Kind::kStep:
      return static_cast<float>(s.base_lr * std::pow(static_cast<double>(s.gamma), static_cast<double>(t / s.step_size)));
    case LrSchedule::Kind::kCosine: {
      const double pi = 3.14159265358979323846;
      const double tc = static_cast<double>(std::min(t, s.total_steps));
      return static_cast<float>(s.min_lr + (s.base_lr - s.min_lr) * 0.5 *
                                               (1.0 + std::cos(pi * tc / static_cast<double>(s.total_steps))));
    }
  }
  return s.base_lr;
}

}  // namespace qp::train
