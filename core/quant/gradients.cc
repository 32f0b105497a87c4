// STE, LSQ and PACT backward passes (formulas and boundary conventions in gradients.h).
#include "core/quant/gradients.h"

#include <algorithm>

namespace qp::quant {
namespace {
Status CheckCount(int64_t n) {
  if (n < 0) return InvalidArgument("element count is ", n, "; it must be >= 0");
  return Status::Ok();
}
}  // namespace

Status FakeQuantSteBackward(const float* x, const float* grad_y, int64_t n, const QParams& p,
                            float* grad_x, int64_t* passed) {
  QP_RETURN_IF_ERROR(CheckCount(n));
  QP_RETURN_IF_ERROR(ValidateQParams(p));
  const float lo = p.RealMin(), hi = p.RealMax();
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool pass = x[i] >= lo && x[i] <= hi;
    count += pass;
    grad_x[i] = pass ? grad_y[i] : 0.0f;
  }
  if (passed) *passed = count;
  return Status::Ok();
}

Status FakeQuantSteBackward(const float* x, const float* grad_y, const Dims& dims,
                            const TensorQParams& p, float* grad_x, int64_t* passed) {
  QP_RETURN_IF_ERROR(ValidateTensorQParams(p, &dims));
  QP_ASSIGN_OR_RETURN(AxisLayout l, MakeAxisLayout(dims, p.axis));
  int64_t total = 0;
  for (int64_t o = 0; o < l.outer; ++o) {
    for (int64_t c = 0; c < l.channels; ++c) {
      const int64_t off = (o * l.channels + c) * l.inner;
      int64_t k = 0;
      QP_RETURN_IF_ERROR(FakeQuantSteBackward(x + off, grad_y + off, l.inner,
                                              p.Channel(p.axis ? c : 0), grad_x + off, &k));
      total += k;
    }
  }
  if (passed) *passed = total;
  return Status::Ok();
}

Result<LsqGrads> LsqBackward(const float* x, const float* grad_y, int64_t n, const QParams& p,
                             double gradient_scale, float* grad_x, RoundingMode mode) {
  QP_RETURN_IF_ERROR(CheckCount(n));
  QP_RETURN_IF_ERROR(ValidateQParams(p));
  if (!std::isfinite(gradient_scale)) {
    return InvalidArgument("LSQ gradient scale is ", gradient_scale, "; it must be finite");
  }
  const double qn = static_cast<double>(p.zero_point) - p.qmin;
  const double qp = static_cast<double>(p.qmax) - p.zero_point;
  double gs = 0.0, gz = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double u = static_cast<double>(x[i]) / p.scale;
    const double g = grad_y[i];
    double ds, dx = 0.0, dz = 0.0;
    if (u <= -qn) {
      ds = -qn;
      if (u < -qn)
        dz = -static_cast<double>(p.scale);
      else
        dx = 1.0;
    } else if (u >= qp) {
      ds = qp;
      if (u > qp)
        dz = -static_cast<double>(p.scale);
      else
        dx = 1.0;
    } else {
      ds = static_cast<double>(RoundValue(static_cast<float>(u), mode)) - u;
      dx = 1.0;
    }
    gs += g * ds;
    gz += g * dz;
    if (grad_x) grad_x[i] = static_cast<float>(g * dx);
  }
  LsqGrads r;
  r.grad_scale = gradient_scale * gs;
  r.grad_zero_point = gradient_scale * gz;
  return r;
}

Result<QParams> PactParams(float alpha, int bits, bool is_signed) {
  if (!std::isfinite(alpha) || !(alpha > 0.0f)) {
    return InvalidArgument("PACT alpha is ", alpha, "; it must be finite and > 0");
  }
  QuantSpec spec{bits, is_signed, is_signed,
                 Scheme::kSymmetric};  // signed: narrow, [-alpha, alpha]
  return ParamsFromAmax(alpha, spec);
}

Status PactForward(const float* x, int64_t n, float alpha, int bits, bool is_signed, float* y) {
  QP_RETURN_IF_ERROR(CheckCount(n));
  QP_ASSIGN_OR_RETURN(QParams p, PactParams(alpha, bits, is_signed));
  const float lo = is_signed ? -alpha : 0.0f;
  for (int64_t i = 0; i < n; ++i) y[i] = FakeQuantValue(std::clamp(x[i], lo, alpha), p);
  return Status::Ok();
}

Result<double> PactBackward(const float* x, const float* grad_y, int64_t n, float alpha,
                            bool is_signed, float* grad_x) {
  QP_RETURN_IF_ERROR(CheckCount(n));
  if (!std::isfinite(alpha) || !(alpha > 0.0f)) {
    return InvalidArgument("PACT alpha is ", alpha, "; it must be finite and > 0");
  }
  double ga = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    float dx = 0.0f;
    if (x[i] >= alpha) {
      ga += grad_y[i];
    } else if (is_signed && x[i] <= -alpha) {
      ga -= grad_y[i];
    } else if (is_signed || x[i] >= 0.0f) {
      dx = 1.0f;
    }
    if (grad_x) grad_x[i] = dx * grad_y[i];
  }
  return ga;
}

}  // namespace qp::quant
