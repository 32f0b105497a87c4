// MinMax / moving-average MinMax observers, per tensor and per channel (contracts in observers.h).
#include "core/quant/observers.h"

#include <algorithm>
#include <cmath>

namespace qp::quant {
namespace {

Status CheckNotEmpty(int64_t n, const std::string& what) {
  if (n <= 0) {
    return InvalidArgument(what, ": empty tensor (", n,
                           " elements); an observer needs at least one value");
  }
  return Status::Ok();
}

Result<int64_t> CountOf(const Dims& dims) {
  QP_ASSIGN_OR_RETURN(AxisLayout l, MakeAxisLayout(dims, std::nullopt));
  return l.size();
}

// Min and max of n finite values (precondition: n > 0, CheckFinite passed).
void BatchMinMax(const float* x, int64_t n, float* mn, float* mx) {
  float lo = x[0], hi = x[0];
  for (int64_t i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  *mn = lo;
  *mx = hi;
}

std::string Quoted(const std::string& name) { return "observer '" + name + "'"; }

// Resolves a per-channel observer's axis against the first tensor and checks later ones.
Status ResolveChannelAxis(const Dims& dims, int axis, int* resolved, size_t* rank,
                          size_t channels_so_far, const std::string& what) {
  QP_ASSIGN_OR_RETURN(int a, NormalizeAxis(axis, static_cast<int>(dims.size())));
  if (*resolved >= 0) {
    if (dims.size() != *rank || a != *resolved) {
      return InvalidArgument(what, ": tensor of rank ", dims.size(), " after tensors of rank ",
                             *rank, "; a per-channel observer needs one layout");
    }
    if (static_cast<size_t>(dims[static_cast<size_t>(a)]) != channels_so_far) {
      return InvalidArgument(what, ": axis ", a, " has ", dims[static_cast<size_t>(a)],
                             " channels after ", channels_so_far,
                             "; the channel count must not change");
    }
  }
  *resolved = a;
  *rank = dims.size();
  return Status::Ok();
}

}  // namespace

Status CheckFinite(const float* x, int64_t n, const std::string& what) {
  // Branch-free count first (the common case is all finite); a second pass finds the first index.
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) bad += !(std::fabs(x[i]) <= 3.40282347e38f);
  if (bad == 0) return Status::Ok();
  int64_t first = 0;
  while (std::fabs(x[first]) <= 3.40282347e38f) ++first;
  return InvalidArgument(what, ": ", bad, " of ", n,
                         " values are not finite (NaN or Inf), first at index ", first, " (",
                         x[first], "); observers accept finite values only");
}

// ---- MinMaxObserver -----------------------------------------------------------------------------

Status MinMaxObserver::Observe(const float* x, int64_t n) {
  QP_RETURN_IF_ERROR(CheckNotEmpty(n, Quoted(Name())));
  QP_RETURN_IF_ERROR(CheckFinite(x, n, Quoted(Name())));
  float mn, mx;
  BatchMinMax(x, n, &mn, &mx);
  min_ = has_data_ ? std::min(min_, mn) : mn;
  max_ = has_data_ ? std::max(max_, mx) : mx;
  has_data_ = true;
  return Status::Ok();
}

Status MinMaxObserver::Observe(const float* x, const Dims& dims) {
  QP_ASSIGN_OR_RETURN(int64_t n, CountOf(dims));
  return Observe(x, n);
}

Result<TensorQParams> MinMaxObserver::ComputeQParams(const QuantSpec& spec) const {
  if (!has_data_) return FailedPrecondition(Quoted(Name()), ": no data observed yet");
  QP_ASSIGN_OR_RETURN(QParams p, ParamsFromMinMax(min_, max_, spec));
  return TensorQParams::PerTensor(p);
}

// ---- MovingAverageMinMaxObserver ----------------------------------------------------------------

namespace {
Status CheckEma(const EmaOptions& o) {
  if (!(o.momentum >= 0.0 && o.momentum < 1.0)) {
    return InvalidArgument("EMA momentum is ", o.momentum, "; it must be in [0, 1)");
  }
  return Status::Ok();
}

// One EMA step on the running sum s (see EmaOptions): `first` seeds s when not bias-correcting.
void EmaUpdate(const EmaOptions& o, bool first, double batch, double* s) {
  if (!o.bias_correction && first) {
    *s = batch;
  } else {
    *s = o.momentum * *s + (1.0 - o.momentum) * batch;
  }
}

float EmaRead(const EmaOptions& o, double s, double decay_pow) {
  return static_cast<float>(o.bias_correction ? s / (1.0 - decay_pow) : s);
}
}  // namespace

Result<MovingAverageMinMaxObserver> MovingAverageMinMaxObserver::Create(const EmaOptions& options) {
  QP_RETURN_IF_ERROR(CheckEma(options));
  return MovingAverageMinMaxObserver(options);
}

void MovingAverageMinMaxObserver::Reset() {
  steps_ = 0;
  s_min_ = s_max_ = 0.0;
  decay_pow_ = 1.0;
}

Status MovingAverageMinMaxObserver::Observe(const float* x, int64_t n) {
  QP_RETURN_IF_ERROR(CheckNotEmpty(n, Quoted(Name())));
  QP_RETURN_IF_ERROR(CheckFinite(x, n, Quoted(Name())));
  float mn, mx;
  BatchMinMax(x, n, &mn, &mx);
  EmaUpdate(options_, steps_ == 0, mn, &s_min_);
  EmaUpdate(options_, steps_ == 0, mx, &s_max_);
  decay_pow_ *= options_.momentum;
  ++steps_;
  return Status::Ok();
}

Status MovingAverageMinMaxObserver::Observe(const float* x, const Dims& dims) {
  QP_ASSIGN_OR_RETURN(int64_t n, CountOf(dims));
  return Observe(x, n);
}

float MovingAverageMinMaxObserver::min() const { return EmaRead(options_, s_min_, decay_pow_); }
float MovingAverageMinMaxObserver::max() const { return EmaRead(options_, s_max_, decay_pow_); }

Result<TensorQParams> MovingAverageMinMaxObserver::ComputeQParams(const QuantSpec& spec) const {
  if (steps_ == 0) return FailedPrecondition(Quoted(Name()), ": no data observed yet");
  QP_ASSIGN_OR_RETURN(QParams p, ParamsFromMinMax(min(), max(), spec));
  return TensorQParams::PerTensor(p);
}

// ---- Per channel --------------------------------------------------------------------------------

Status ChannelMinMax(const float* x, const Dims& dims, int axis, std::vector<float>* mins,
                     std::vector<float>* maxs, const std::string& what) {
  QP_ASSIGN_OR_RETURN(AxisLayout l, MakeAxisLayout(dims, axis));
  QP_RETURN_IF_ERROR(CheckNotEmpty(l.size(), what));
  QP_RETURN_IF_ERROR(CheckFinite(x, l.size(), what));
  mins->assign(static_cast<size_t>(l.channels), 0.0f);
  maxs->assign(static_cast<size_t>(l.channels), 0.0f);
  for (int64_t o = 0; o < l.outer; ++o) {
    for (int64_t c = 0; c < l.channels; ++c) {
      float mn, mx;
      BatchMinMax(x + (o * l.channels + c) * l.inner, l.inner, &mn, &mx);
      float& cm = (*mins)[static_cast<size_t>(c)];
      float& cx = (*maxs)[static_cast<size_t>(c)];
      cm = o == 0 ? mn : std::min(cm, mn);
      cx = o == 0 ? mx : std::max(cx, mx);
    }
  }
  return Status::Ok();
}

Status PerChannelMinMaxObserver::Observe(const float* x, const Dims& dims) {
  const std::string what = Quoted(Name());
  int resolved = resolved_axis_;
  size_t rank = rank_;
  QP_RETURN_IF_ERROR(ResolveChannelAxis(dims, axis_, &resolved, &rank, mins_.size(), what));
  std::vector<float> mn, mx;
  QP_RETURN_IF_ERROR(ChannelMinMax(x, dims, resolved, &mn, &mx, what));
  if (mins_.empty()) {
    mins_ = std::move(mn);
    maxs_ = std::move(mx);
  } else {
    for (size_t c = 0; c < mins_.size(); ++c) {
      mins_[c] = std::min(mins_[c], mn[c]);
      maxs_[c] = std::max(maxs_[c], mx[c]);
    }
  }
  resolved_axis_ = resolved;
  rank_ = rank;
  return Status::Ok();
}

void PerChannelMinMaxObserver::Reset() {
  mins_.clear();
  maxs_.clear();
  resolved_axis_ = -1;
  rank_ = 0;
}

Result<TensorQParams> PerChannelMinMaxObserver::ComputeQParams(const QuantSpec& spec) const {
  if (mins_.empty()) return FailedPrecondition(Quoted(Name()), ": no data observed yet");
  return ParamsFromMinMaxPerAxis(mins_, maxs_, resolved_axis_, spec);
}

Result<PerChannelMovingAverageMinMaxObserver> PerChannelMovingAverageMinMaxObserver::Create(
    int axis, const EmaOptions& options) {
  QP_RETURN_IF_ERROR(CheckEma(options));
  return PerChannelMovingAverageMinMaxObserver(axis, options);
}

Status PerChannelMovingAverageMinMaxObserver::Observe(const float* x, const Dims& dims) {
  const std::string what = Quoted(Name());
  int resolved = resolved_axis_;
  size_t rank = rank_;
  QP_RETURN_IF_ERROR(ResolveChannelAxis(dims, axis_, &resolved, &rank, s_min_.size(), what));
  std::vector<float> mn, mx;
  QP_RETURN_IF_ERROR(ChannelMinMax(x, dims, resolved, &mn, &mx, what));
  if (steps_ == 0) {
    s_min_.assign(mn.size(), 0.0);
    s_max_.assign(mn.size(), 0.0);
  }
  for (size_t c = 0; c < mn.size(); ++c) {
    EmaUpdate(options_, steps_ == 0, mn[c], &s_min_[c]);
    EmaUpdate(options_, steps_ == 0, mx[c], &s_max_[c]);
  }
  decay_pow_ *= options_.momentum;
  ++steps_;
  resolved_axis_ = resolved;
  rank_ = rank;
  return Status::Ok();
}

void PerChannelMovingAverageMinMaxObserver::Reset() {
  steps_ = 0;
  decay_pow_ = 1.0;
  s_min_.clear();
  s_max_.clear();
  resolved_axis_ = -1;
  rank_ = 0;
}

std::vector<float> PerChannelMovingAverageMinMaxObserver::mins() const {
  std::vector<float> r(s_min_.size());
  for (size_t c = 0; c < r.size(); ++c) r[c] = EmaRead(options_, s_min_[c], decay_pow_);
  return r;
}

std::vector<float> PerChannelMovingAverageMinMaxObserver::maxs() const {
  std::vector<float> r(s_max_.size());
  for (size_t c = 0; c < r.size(); ++c) r[c] = EmaRead(options_, s_max_[c], decay_pow_);
  return r;
}

Result<TensorQParams> PerChannelMovingAverageMinMaxObserver::ComputeQParams(
    const QuantSpec& spec) const {
  if (steps_ == 0) return FailedPrecondition(Quoted(Name()), ": no data observed yet");
  return ParamsFromMinMaxPerAxis(mins(), maxs(), resolved_axis_, spec);
}

}  // namespace qp::quant
