// Observers: statistics collected from float tensors that become quantization parameters.
// MinMax and moving-average MinMax must match PyTorch's MinMaxObserver /
// MovingAverageMinMaxObserver (and, with bias correction, TorchQuant's ExpAvgMinMax); per-channel
// variants reduce all but one axis.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/quant/qparams.h"

namespace qp::quant {

// OK if all n values are finite. Otherwise InvalidArgument naming `what`, the number of NaN/Inf
// values and the first bad index and value: "observer 'minmax': 3 of 100 values are not finite
// (NaN or Inf), first at index 17 (nan); observers accept finite values only".
Status CheckFinite(const float* x, int64_t n, const std::string& what);

// The interface every observer/calibrator offers to a TensorQuantizer (quantizer.h).
// Observe rejects empty tensors and non-finite values (nothing is recorded from a rejected call).
// ComputeQParams is FailedPrecondition before any successful Observe.
class Observer {
 public:
  virtual ~Observer() = default;
  virtual std::string Name() const = 0;
  virtual Status Observe(const float* x, const Dims& dims) = 0;
  virtual Result<TensorQParams> ComputeQParams(const QuantSpec& spec) const = 0;
  virtual bool has_data() const = 0;
  virtual void Reset() = 0;
  virtual std::unique_ptr<Observer> Clone() const = 0;
};

// Running minimum and maximum over everything observed (PyTorch MinMaxObserver).
class MinMaxObserver : public Observer {
 public:
  std::string Name() const override { return "minmax"; }
  Status Observe(const float* x, int64_t n);
  Status Observe(const float* x, const Dims& dims) override;
  // ParamsFromMinMax(min, max, spec), per tensor.
  Result<TensorQParams> ComputeQParams(const QuantSpec& spec) const override;
  bool has_data() const override { return has_data_; }
  void Reset() override { has_data_ = false; }
  std::unique_ptr<Observer> Clone() const override {
    return std::make_unique<MinMaxObserver>(*this);
  }
  float min() const { return min_; }
  float max() const { return max_; }

 private:
  bool has_data_ = false;
  float min_ = 0.0f;
  float max_ = 0.0f;
};

// Exponential moving average of each batch's min and max. With b = batch value, m = momentum:
//   bias_correction = false (PyTorch, averaging_constant = 1 - m): the first batch sets the
//     estimate, later ones do est = m * est + (1 - m) * b.
//   bias_correction = true (TorchQuant ExpAvgMinMax, Adam style): s_0 = 0, s_t = m * s_{t-1} +
//     (1 - m) * b_t, est_t = s_t / (1 - m^t), so early estimates are not pulled towards 0.
// Arithmetic is in double; the estimate is rounded to float when read.
struct EmaOptions {
  double momentum = 0.99;  // in [0, 1); PyTorch's default averaging_constant 0.01
  bool bias_correction = false;
};

class MovingAverageMinMaxObserver : public Observer {
 public:
  // InvalidArgument unless 0 <= momentum < 1.
  static Result<MovingAverageMinMaxObserver> Create(const EmaOptions& options = {});
  std::string Name() const override { return "ema_minmax"; }
  Status Observe(const float* x, int64_t n);
  Status Observe(const float* x, const Dims& dims) override;
  Result<TensorQParams> ComputeQParams(const QuantSpec& spec) const override;
  bool has_data() const override { return steps_ > 0; }
  void Reset() override;
  std::unique_ptr<Observer> Clone() const override {
    return std::make_unique<MovingAverageMinMaxObserver>(*this);
  }
  float min() const;
  float max() const;
  int64_t steps() const { return steps_; }
  const EmaOptions& options() const { return options_; }

 private:
  explicit MovingAverageMinMaxObserver(const EmaOptions& o) : options_(o) {}
  EmaOptions options_;
  int64_t steps_ = 0;
  double s_min_ = 0.0, s_max_ = 0.0;
  double decay_pow_ = 1.0;  // momentum^steps
};

// Per-channel min/max along `axis` of a row-major tensor (every other axis is reduced).
// Returns mins[c], maxs[c]. Errors: axis out of range, empty tensor, non-finite values.
Status ChannelMinMax(const float* x, const Dims& dims, int axis, std::vector<float>* mins,
                     std::vector<float>* maxs, const std::string& what);

// Per-channel MinMax (PyTorch PerChannelMinMaxObserver). The axis may be negative; it is resolved
// against the first observed tensor, and later tensors must have the same rank and channel count.
class PerChannelMinMaxObserver : public Observer {
 public:
  explicit PerChannelMinMaxObserver(int axis) : axis_(axis) {}
  std::string Name() const override { return "per_channel_minmax"; }
  Status Observe(const float* x, const Dims& dims) override;
  Result<TensorQParams> ComputeQParams(const QuantSpec& spec) const override;
  bool has_data() const override { return !mins_.empty(); }
  void Reset() override;
  std::unique_ptr<Observer> Clone() const override {
    return std::make_unique<PerChannelMinMaxObserver>(*this);
  }
  const std::vector<float>& mins() const { return mins_; }
  const std::vector<float>& maxs() const { return maxs_; }
  int axis() const { return axis_; }

 private:
  int axis_;
  int resolved_axis_ = -1;
  size_t rank_ = 0;
  std::vector<float> mins_, maxs_;
};

// Per-channel EMA of min/max, same update rule as MovingAverageMinMaxObserver per channel.
class PerChannelMovingAverageMinMaxObserver : public Observer {
 public:
  static Result<PerChannelMovingAverageMinMaxObserver> Create(int axis,
                                                              const EmaOptions& options = {});
  std::string Name() const override { return "per_channel_ema_minmax"; }
  Status Observe(const float* x, const Dims& dims) override;
  Result<TensorQParams> ComputeQParams(const QuantSpec& spec) const override;
  bool has_data() const override { return steps_ > 0; }
  void Reset() override;
  std::unique_ptr<Observer> Clone() const override {
    return std::make_unique<PerChannelMovingAverageMinMaxObserver>(*this);
  }
  std::vector<float> mins() const;
  std::vector<float> maxs() const;
  int64_t steps() const { return steps_; }

 private:
  PerChannelMovingAverageMinMaxObserver(int axis, const EmaOptions& o) : axis_(axis), options_(o) {}
  int axis_;
  EmaOptions options_;
  int resolved_axis_ = -1;
  size_t rank_ = 0;
  int64_t steps_ = 0;
  double decay_pow_ = 1.0;
  std::vector<double> s_min_, s_max_;
};

}  // namespace qp::quant
