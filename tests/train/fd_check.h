// Central finite-difference oracle for the backward tests.
// For a forward F (the ops.h function under test) and a random upstream gradient R, the scalar
// L(x) = sum_j R_j F(x)_j has dL/dx = backward(R). We compare each analytic entry with
// (L(x + h e_i) - L(x - h e_i)) / 2h, L accumulated in double.
// Step and tolerance: inputs and R are O(1) and F is evaluated in float32. For an op that is
// linear in x (Conv, Gemm, MatMul, pooling, layout) the difference quotient is exact up to float32
// rounding of the outputs: |error| <~ sqrt(#outputs) * 2^-24 * max|R y| / h ~ 1e-4 for h = 1e-2 and
// ~100 outputs. For smooth nonlinear ops the truncation error is h^2/6 * |F'''| ~ 2e-5. Kinks are
// kept farther than h from every input by the tests. A tolerance of 2e-3 absolute + 1e-2 relative
// therefore has > 10x headroom while a wrong formula (a missing factor, a transposed index, a
// dropped broadcast sum) produces errors of order 1e-1 and fails.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "core/graph/tensor.h"

namespace qp::train::testing {

using Forward = std::function<Result<Tensor>(const std::vector<Tensor>&)>;

inline Tensor RandomTensor(const Shape& shape, std::mt19937_64& rng, float lo = -1.f, float hi = 1.f) {
  Tensor t(DType::kFloat32, shape);
  std::uniform_real_distribution<float> u(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = u(rng);
  return t;
}

// Values with |v| in [0.1, 1] and a random sign: farther than h = 1e-2 from a kink at 0.
inline Tensor AwayFromZero(const Shape& shape, std::mt19937_64& rng) {
  Tensor t(DType::kFloat32, shape);
  std::uniform_real_distribution<float> u(0.1f, 1.f);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = (rng() & 1) ? u(rng) : -u(rng);
  return t;
}

inline double Objective(const Forward& f, const std::vector<Tensor>& in, const Tensor& r) {
  Result<Tensor> y = f(in);
  EXPECT_TRUE(y.ok()) << y.status().ToString();
  if (!y.ok()) return 0;
  EXPECT_EQ(y->numel(), r.numel());
  double l = 0;
  for (int64_t j = 0; j < r.numel(); ++j) l += static_cast<double>(r.f32()[j]) * y->f32()[j];
  return l;
}

// Checks `grad` (analytic dL/d inputs[which]) at up to `max_checks` entries (all if fewer).
inline void ExpectGradMatchesFd(const Forward& f, std::vector<Tensor> in, size_t which, const Tensor& r,
                                const Tensor& grad, std::mt19937_64& rng, double h = 1e-2,
                                int max_checks = 64) {
  ASSERT_EQ(grad.shape(), in[which].shape()) << "input " << which;
  const int64_t n = in[which].numel();
  std::vector<int64_t> idx;
  if (n <= max_checks) {
    for (int64_t i = 0; i < n; ++i) idx.push_back(i);
  } else {
    for (int k = 0; k < max_checks; ++k) idx.push_back(static_cast<int64_t>(rng() % static_cast<uint64_t>(n)));
  }
  for (int64_t i : idx) {
    float* p = in[which].f32() + i;
    const float saved = *p;
    *p = saved + static_cast<float>(h);
    const double lp = Objective(f, in, r);
    *p = saved - static_cast<float>(h);
    const double lm = Objective(f, in, r);
    *p = saved;
    // The actual step is the float difference of the two perturbed values.
    const double step = static_cast<double>(saved + static_cast<float>(h)) - (saved - static_cast<float>(h));
    const double num = (lp - lm) / step;
    const double ana = grad.f32()[i];
    EXPECT_NEAR(ana, num, 2e-3 + 1e-2 * std::fabs(num)) << "input " << which << " flat index " << i;
  }
}

}  // namespace qp::train::testing
