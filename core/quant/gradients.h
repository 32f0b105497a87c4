// Backward passes of fake-quant: the straight-through estimator (STE), LSQ (Esser et al. 2019,
// "Learned Step Size Quantization", incl. LSQ+ style zero-point gradient) and PACT (Choi et al.
// 2018). Must match the papers' formulas and pytorch-quantization's STE (|x| <= amax passes).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/base/status.h"
#include "core/quant/qparams.h"
#include "core/quant/quantize.h"

namespace qp::quant {

// ---- STE ----------------------------------------------------------------------------------------
// d FakeQuant(x) / dx is taken as 1 where x is inside the representable range and 0 outside.
// Boundary convention: the range is CLOSED, [RealMin, RealMax] = [(qmin-zp)*s, (qmax-zp)*s]; x
// equal to an end passes (as pytorch-quantization's |x| <= amax and TensorFlow's fake_quant).
// PyTorch's fake_quantize backward instead tests the rounded code (q in [qmin, qmax] before
// clamping), which also passes up to half a step beyond the ends. NaN never passes.
inline bool SteMaskValue(float x, const QParams& p) { return x >= p.RealMin() && x <= p.RealMax(); }

// grad_x[i] = mask(x[i]) ? grad_y[i] : 0. `passed` (optional) receives the number of passing
// values, so a UI can show the clipped fraction. In-place (grad_x == grad_y) is allowed.
Status FakeQuantSteBackward(const float* x, const float* grad_y, int64_t n, const QParams& p,
                            float* grad_x, int64_t* passed = nullptr);
Status FakeQuantSteBackward(const float* x, const float* grad_y, const Dims& dims,
                            const TensorQParams& p, float* grad_x, int64_t* passed = nullptr);

// ---- LSQ ----------------------------------------------------------------------------------------
// Forward is FakeQuant with QParams p (scale s, zero point z). With u = x / s, Qn = z - qmin,
// Qp = qmax - z (Qn = 2^(b-1), Qp = 2^(b-1) - 1 for signed full range; 0 and 2^b - 1 unsigned):
//   dy/ds = -Qn                  if u <= -Qn
//         = Qp                   if u >= Qp
//         = round(u) - u         otherwise (round as `mode`; the STE treats d round(u)/du as 1)
//   dy/dx = 1 if -Qn <= u <= Qp else 0 (the closed STE range above)
//   dy/dz = -s if u < -Qn or u > Qp else 0  (LSQ+ offset gradient expressed for the integer zero
//           point: in saturation y = (qmin - z) s or (qmax - z) s)
// grad_scale = g * sum_i grad_y[i] dy_i/ds, grad_zero_point = g * sum_i grad_y[i] dy_i/dz, where g
// is LSQ's gradient scale, usually LsqGradientScale(N, Qp): 1 / sqrt(N * Qp) with N the number of
// elements of a weight tensor (or features per sample for activations).
inline double LsqGradientScale(int64_t num_elements, int32_t qp) {
  return 1.0 / std::sqrt(static_cast<double>(num_elements) * static_cast<double>(qp));
}

struct LsqGrads {
  double grad_scale = 0.0;
  double grad_zero_point = 0.0;
};

// grad_x may be null when only the parameter gradients are wanted.
Result<LsqGrads> LsqBackward(const float* x, const float* grad_y, int64_t n, const QParams& p,
                             double gradient_scale, float* grad_x,
                             RoundingMode mode = RoundingMode::kHalfToEven);

// ---- PACT ---------------------------------------------------------------------------------------
// Forward: y = FakeQuant(clip(x, 0, alpha)) with PactParams(alpha, bits): unsigned, zp = 0,
// scale = alpha / (2^bits - 1). Signed variant (symmetric PACT): clip(x, -alpha, alpha), scale =
// alpha / (2^(bits-1) - 1).
// Backward (the paper's STE through the quantizer):
//   dy/dalpha = 1 if x >= alpha; -1 if signed and x <= -alpha; else 0
//   dy/dx     = 1 if 0 <= x < alpha (signed: -alpha < x < alpha); else 0
// grad_alpha = sum_i grad_y[i] dy_i/dalpha.
Result<QParams> PactParams(float alpha, int bits, bool is_signed = false);
Status PactForward(const float* x, int64_t n, float alpha, int bits, bool is_signed, float* y);
Result<double> PactBackward(const float* x, const float* grad_y, int64_t n, float alpha,
                            bool is_signed, float* grad_x);

}  // namespace qp::quant
