// Optimizers with PyTorch's update rules (torch.optim.SGD and Adam/AdamW, defaults as there) and
// learning-rate schedules (StepLR, cosine annealing, optional linear warmup) as closed forms of the
// step count. Everything is deterministic: no randomness, fixed evaluation order, state keyed by
// parameter name so reordering parameters cannot mix their moments.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/graph/tensor.h"

namespace qp::train {

// A trainable tensor, its gradient (same shape) and a stable name for the optimizer state.
struct ParamRef {
  std::string name;
  Tensor* value = nullptr;
  const Tensor* grad = nullptr;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update of every parameter with learning rate `lr`.
  virtual Status Step(const std::vector<ParamRef>& params, float lr) = 0;
  virtual void Reset() = 0;  // forget all state (momentum buffers, moments, step counts)
};

// torch.optim.SGD: g = grad + weight_decay * p; with momentum, buf = g on the first step, then
// buf = momentum * buf + (1 - dampening) * g; the step direction is g + momentum * buf (nesterov)
// or buf; p -= lr * direction. Nesterov needs momentum > 0 and dampening 0 (as PyTorch checks).
struct SgdOptions {
  float momentum = 0.f;
  float dampening = 0.f;
  float weight_decay = 0.f;
  bool nesterov = false;
};

// torch.optim.Adam (decoupled = false: weight decay added to the gradient) and AdamW (decoupled =
// true: p *= 1 - lr * weight_decay before the Adam step). m = b1 m + (1 - b1) g,
// v = b2 v + (1 - b2) g^2, p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
struct AdamOptions {
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.f;
  bool decoupled = false;
};

Result<std::unique_ptr<Optimizer>> MakeSgd(const SgdOptions& options);
Result<std::unique_ptr<Optimizer>> MakeAdam(const AdamOptions& options);

// Learning rate at optimizer step `step` (0-based):
//  kConstant: base_lr.
//  kStep:     base_lr * gamma^floor(t / step_size)               (torch StepLR)
//  kCosine:   min_lr + (base_lr - min_lr) * (1 + cos(pi * min(t, T) / T)) / 2, T = total_steps
//             (the closed form of torch CosineAnnealingLR with T_max = T, eta_min = min_lr)
// with t = step - warmup_steps. During warmup (step < warmup_steps) the rate rises linearly from
// base_lr * warmup_start_factor at step 0 towards base_lr (reached at step warmup_steps).
struct LrSchedule {
  enum class Kind { kConstant, kStep, kCosine };
  Kind kind = Kind::kConstant;
  float base_lr = 0.01f;
  int64_t step_size = 1000;  // kStep
  float gamma = 0.1f;        // kStep
  int64_t total_steps = 1;   // kCosine: T, the steps after warmup
  float min_lr = 0.f;        // kCosine
  int64_t warmup_steps = 0;
  float warmup_start_factor = 0.f;
};
Status ValidateSchedule(const LrSchedule& s);
float LearningRate(const LrSchedule& s, int64_t step);

}  // namespace qp::train
