// core/quant gradients: STE masks, LSQ and PACT against central finite differences of forward
// functions written here in double: of the real fake-quant where it is differentiable (saturated
// regions), and of the STE surrogate (round treated as identity) inside the range.
#include "core/quant/gradients.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tests/test_util.h"

namespace qp::quant {
namespace {

// Real fake-quant in double with a real-valued zero point (so d/dz exists).
double FqD(double x, double s, double z, double qmin, double qmax) {
  const double q = std::min(std::max(std::nearbyint(x / s) + z, qmin), qmax);
  return (q - z) * s;
}
// STE surrogate of LSQ's v^ = round(clip(v/s, -Qn, Qp)) * s: round(w) replaced by w + r0, with the
// rounding residual r0 frozen at (x0, s0); the clip comes before the rounding, as in the paper.
double SurrogateD(double x, double s, double z, double qmin, double qmax, double r0) {
  const double q = std::min(std::max(x / s + z, qmin), qmax) + r0;
  return (q - z) * s;
}
template <typename F>
double Central(F f, double v, double h) {
  return (f(v + h) - f(v - h)) / (2 * h);
}

TEST(QuantGradients, SteMaskIsClosedRangeAndMatchesClampDerivative) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  QParams p{0.05f, 7, 0, 255};
  const float lo = p.RealMin(), hi = p.RealMax();
  std::vector<float> x = {lo, hi, std::nextafter(lo, -1e9f), std::nextafter(hi, 1e9f), 0.0f, NAN};
  auto rng = qp::testing::Rng(1301);
  std::uniform_real_distribution<float> u(lo - 3.0f, hi + 3.0f);
  for (int i = 0; i < 200; ++i) x.push_back(u(rng));
  std::vector<float> gy(x.size()), gx(x.size());
  for (size_t i = 0; i < x.size(); ++i) gy[i] = 1.0f + static_cast<float>(i);
  int64_t passed = 0;
  ASSERT_TRUE(FakeQuantSteBackward(x.data(), gy.data(), x.size(), p, gx.data(), &passed).ok());
  EXPECT_EQ(gx[0], gy[0]);  // boundary convention: closed range
  EXPECT_EQ(gx[1], gy[1]);
  EXPECT_EQ(gx[2], 0.0f);
  EXPECT_EQ(gx[3], 0.0f);
  EXPECT_EQ(gx[4], gy[4]);
  EXPECT_EQ(gx[5], 0.0f);  // NaN
  int64_t count = 0;
  for (size_t i = 6; i < x.size(); ++i) {
    // Away from the ends (1e-3), the STE is the derivative of clamp(x, lo, hi).
    if (std::abs(x[i] - lo) < 1e-3 || std::abs(x[i] - hi) < 1e-3) continue;
    const double d = Central(
        [&](double v) { return std::min<double>(std::max<double>(v, lo), hi); }, x[i], 1e-4);
    EXPECT_NEAR(gx[i], gy[i] * d, 1e-6 * gy[i]) << x[i];
  }
  for (size_t i = 0; i < x.size(); ++i) count += (x[i] >= lo && x[i] <= hi);
  EXPECT_EQ(passed, count);
}

TEST(QuantGradients, LsqMatchesFiniteDifferences) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(1402);
  for (const QParams& p : {QParams{0.1f, 0, -8, 7}, QParams{0.02f, 100, 0, 255}}) {
    const double s = p.scale, z = p.zero_point, qmin = p.qmin, qmax = p.qmax;
    const double qn = z - qmin, qpos = qmax - z;
    std::uniform_real_distribution<double> uu(-qn - 6.0, qpos + 6.0);
    std::vector<float> x, gy;
    for (int i = 0; i < 300; ++i) {
      double u = uu(rng);
      // Keep clear of rounding ties and of the saturation points, where one-sided derivatives
      // differ.
      if (std::abs(u - std::floor(u) - 0.5) < 0.01 || std::abs(u + qn) < 0.05 ||
          std::abs(u - qpos) < 0.05) {
        continue;
      }
      x.push_back(static_cast<float>(u * s));
      gy.push_back(static_cast<float>(uu(rng)));
    }
    const int64_t n = static_cast<int64_t>(x.size());
    const double g = LsqGradientScale(n, static_cast<int32_t>(qpos));
    EXPECT_DOUBLE_EQ(g, 1.0 / std::sqrt(n * qpos));
    std::vector<float> gx(n);
    auto grads = LsqBackward(x.data(), gy.data(), n, p, g, gx.data());
    ASSERT_TRUE(grads.ok());
    double ds_ref = 0.0, dz_ref = 0.0;
    const double h = 1e-6 * s;
    for (int64_t i = 0; i < n; ++i) {
      const double xi = static_cast<double>(x[i]);
      const double u = xi / s;
      const bool inside = u > -qn && u < qpos;
      double ds;
      if (inside) {
        const double r0 = std::nearbyint(u) - u;
        ds = Central([&](double sv) { return SurrogateD(xi, sv, z, qmin, qmax, r0); }, s, h);
        const double dx =
            Central([&](double xv) { return SurrogateD(xv, s, z, qmin, qmax, r0); }, xi, 1e-6 * s);
        EXPECT_NEAR(gx[i], gy[i] * dx, 1e-5 * std::abs(gy[i]) + 1e-7) << "u=" << u;
      } else {
        ds = Central([&](double sv) { return FqD(xi, sv, z, qmin, qmax); }, s, h);
        const double dx =
            Central([&](double xv) { return FqD(xv, s, z, qmin, qmax); }, xi, 1e-6 * s);
        EXPECT_EQ(dx, 0.0);
        EXPECT_EQ(gx[i], 0.0f);
      }
      ds_ref += gy[i] * ds;
      // Zero point: the surrogate too (with a real-valued z the real function's inside slope is -s,
      // because round() is flat; the STE makes it 0, as LSQ+ does for its offset).
      const double r0 = inside ? std::nearbyint(u) - u : 0.0;
      dz_ref += gy[i] *
                Central([&](double zv) { return SurrogateD(xi, s, zv, qmin, qmax, r0); }, z, 1e-3);
    }
    // Central differences of piecewise-linear functions away from kinks are exact up to the
    // cancellation in (f(s+h) - f(s-h)) / 2h: ~1e-16 * |f| / h ~ 1e-9 relative per element.
    EXPECT_NEAR(grads->grad_scale, g * ds_ref, 1e-6 * (std::abs(g * ds_ref) + 1e-3));
    EXPECT_NEAR(grads->grad_zero_point, g * dz_ref, 1e-6 * (std::abs(g * dz_ref) + 1e-3));
  }
}

TEST(QuantGradients, LsqSaturationPointsUseTheOneSidedDerivativeThatHolds) {
  // At u = Qp exactly, y(s) = Qp * s on both sides (round(u) = Qp just inside), so dy/ds = Qp.
  QParams p{0.25f, 0, -128, 127};
  const float x = 127 * 0.25f;
  const float gy = 1.0f;
  float gx = 0.0f;
  auto r = LsqBackward(&x, &gy, 1, p, 1.0, &gx);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->grad_scale, 127.0);
  EXPECT_EQ(gx, 1.0f);  // closed STE range
  const double left = (FqD(x, 0.25, 0, -128, 127) - FqD(x, 0.25 - 1e-7, 0, -128, 127)) / 1e-7;
  const double right = (FqD(x, 0.25 + 1e-7, 0, -128, 127) - FqD(x, 0.25, 0, -128, 127)) / 1e-7;
  EXPECT_NEAR(left, 127.0, 1e-6);
  EXPECT_NEAR(right, 127.0, 1e-6);
  EXPECT_FALSE(LsqBackward(&x, &gy, 1, QParams{0.0f, 0, -128, 127}, 1.0, &gx).ok());
}

TEST(QuantGradients, PactMatchesFiniteDifferences) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(1503);
  std::uniform_real_distribution<float> u(-4.0f, 4.0f);
  for (bool is_signed : {false, true}) {
    const float alpha = 2.5f;
    const int bits = 4;
    std::vector<float> x, gy;
    for (int i = 0; i < 400; ++i) {
      const float v = u(rng);
      if (std::abs(std::abs(v) - alpha) < 1e-2 || std::abs(v) < 1e-2) continue;  // kinks
      x.push_back(v);
      gy.push_back(u(rng));
    }
    std::vector<float> gx(x.size()), y(x.size());
    auto ga = PactBackward(x.data(), gy.data(), x.size(), alpha, is_signed, gx.data());
    ASSERT_TRUE(ga.ok());
    ASSERT_TRUE(PactForward(x.data(), x.size(), alpha, bits, is_signed, y.data()).ok());
    const double levels = is_signed ? 7.0 : 15.0;
    auto pact_d = [&](double xv, double a) {  // real PACT forward in double
      const double c = std::min(std::max(xv, is_signed ? -a : 0.0), a);
      return std::nearbyint(c * levels / a) * a / levels;
    };
    auto clip_d = [&](double xv, double a) {
      return std::min(std::max(xv, is_signed ? -a : 0.0), a);
    };
    double ga_ref = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
      // Forward agrees with the double version within float rounding of the step (1e-6).
      EXPECT_NEAR(y[i], pact_d(x[i], alpha), 1e-6);
      const bool clipped = x[i] >= alpha || (is_signed && x[i] <= -alpha);
      double da;
      if (clipped) {
        // Saturated: y = +-alpha exactly, so the real function's derivative exists and is +-1.
        da = Central([&](double a) { return pact_d(x[i], a); }, alpha, 1e-5);
      } else {
        // Inside: the paper's STE makes y_q follow clip(x, ., alpha), whose alpha-derivative is 0.
        da = Central([&](double a) { return clip_d(x[i], a); }, alpha, 1e-5);
      }
      ga_ref += gy[i] * da;
      const double dx = Central([&](double xv) { return clip_d(xv, alpha); }, x[i], 1e-5);
      EXPECT_NEAR(gx[i], gy[i] * dx, 1e-6) << x[i];
    }
    // Per-element FD error ~1e-16 / 1e-5 = 1e-11, summed over 400 elements.
    EXPECT_NEAR(*ga, ga_ref, 1e-6) << "signed " << is_signed;
  }
  float x = 1.0f, g = 1.0f;
  EXPECT_FALSE(PactBackward(&x, &g, 1, 0.0f, false, nullptr).ok());
  EXPECT_FALSE(PactParams(-1.0f, 8).ok());
}

}  // namespace
}  // namespace qp::quant
