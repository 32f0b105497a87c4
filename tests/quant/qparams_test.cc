// core/quant qparams: the seed examples (PyTorch quantize_per_tensor, NVIDIA tensor_quant), the
// integer ranges of every spec, PyTorch's min/max formulas re-derived in the test, and bad input.
#include "core/quant/qparams.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <random>

#include "core/quant/quantize.h"
#include "tests/test_util.h"

namespace qp::quant {
namespace {

using ::testing::HasSubstr;

// Seed 003 (PyTorch blog): torch.quantize_per_tensor([0.7, 0.5, -0.7], scale=0.25, zero_point=4,
// dtype=torch.quint8).int_repr() == [7, 6, 1], dequantized [0.75, 0.5, -0.75]; -1.5 saturates to 0.
TEST(QuantSeed, PyTorchQuantizePerTensorQuint8) {
  QParams p{0.25f, 4, 0, 255};
  const std::vector<float> x = {0.7f, 0.5f, -0.7f, -1.5f};
  std::vector<uint8_t> q(x.size());
  ASSERT_TRUE(QuantizeUint8(x.data(), 4, p, q.data()).ok());
  EXPECT_EQ(q, (std::vector<uint8_t>{7, 6, 1, 0}));
  std::vector<float> y(3);
  ASSERT_TRUE(DequantizeUint8(q.data(), 3, p, y.data()).ok());
  // Exact: (7-4)*0.25 etc. are dyadic rationals, exactly representable in float.
  EXPECT_EQ(y, (std::vector<float>{0.75f, 0.5f, -0.75f}));
  std::vector<int32_t> q32(3);
  ASSERT_TRUE(Quantize(x.data(), 3, p, q32.data()).ok());
  EXPECT_EQ(q32, (std::vector<int32_t>{7, 6, 1}));
}

// Seed 004 (pytorch-quantization docs): x = torch.rand(10) with seed 12345, printed to 4 decimals;
// tensor_quant(x, x.abs().max()) gives [126, 113, 127, 59, 11, 23, 47, 73, 43, 27] with (NVIDIA)
// scale 128.0057, and fake_tensor_quant gives the printed floats. The printed x are rounded, so
// the true amax is reconstructed from the printed scale: amax = 127 / 128.0057 (= 0.99214...,
// consistent with the printed 0.9921); x[2] is that amax.
TEST(QuantSeed, NvidiaTensorQuantInt8) {
  const float amax = 127.0f / 128.0057f;
  const std::vector<float> x = {0.9817f, 0.8796f, amax,    0.4611f, 0.0832f,
                                0.1784f, 0.3674f, 0.5676f, 0.3376f, 0.2119f};
  QuantSpec spec;  // int8 symmetric, full range (pytorch-quantization's default)
  auto p = ParamsFromAmax(amax, spec);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  // NVIDIA scale = 127 / amax is the reciprocal of our step. Tolerance 1e-4: the step amax/127 and
  // its reciprocal are each rounded to float (2 roundings of 6e-8 relative ~ 2e-5 absolute here).
  EXPECT_NEAR(NvidiaScaleFromStep(p->scale), 128.0057, 1e-4);
  EXPECT_EQ(p->zero_point, 0);
  std::vector<int32_t> q(x.size());
  ASSERT_TRUE(Quantize(x.data(), 10, *p, q.data()).ok());
  // The printed x are within 5e-5 of the true ones: 5e-5 * 128 = 0.0064 codes, and no x * 128.0057
  // is within 0.01 of a .5 tie, so the integers are exact.
  EXPECT_EQ(q, (std::vector<int32_t>{126, 113, 127, 59, 11, 23, 47, 73, 43, 27}));
  std::vector<float> fq(x.size());
  ASSERT_TRUE(FakeQuant(x.data(), 10, *p, fq.data()).ok());
  const std::vector<float> printed = {0.9843f, 0.8828f, 0.9921f, 0.4609f, 0.0859f,
                                      0.1797f, 0.3672f, 0.5703f, 0.3359f, 0.2109f};
  for (size_t i = 0; i < x.size(); ++i) {
    // Printed to 4 decimals: |true - printed| <= 5e-5, plus float rounding (< 1e-6).
    EXPECT_NEAR(fq[i], printed[i], 5.1e-5) << "index " << i;
  }
}

TEST(QuantQParams, IntegerRangesOfEverySpec) {
  for (int bits = kMinBits; bits <= kMaxBits; ++bits) {
    for (bool is_signed : {true, false}) {
      for (bool narrow : {false, true}) {
        QuantSpec spec{bits, is_signed, narrow, Scheme::kAffine};
        auto r = IntegerRange(spec);
        ASSERT_TRUE(r.ok());
        const double levels = std::pow(2.0, bits);
        const double qmin = (is_signed ? -levels / 2 : 0.0) + (narrow ? 1 : 0);
        const double qmax = is_signed ? levels / 2 - 1 : levels - 1;
        EXPECT_EQ(r->qmin, qmin) << SpecToString(spec);
        EXPECT_EQ(r->qmax, qmax) << SpecToString(spec);
      }
    }
  }
}

TEST(QuantQParams, BitsOutsideTwoToSixteenAreRejected) {
  for (int bits : {1, 17, 0, -3}) {
    QuantSpec spec;
    spec.bits = bits;
    auto r = IntegerRange(spec);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kOutOfRange);
    EXPECT_THAT(r.status().message(), HasSubstr("bits is " + std::to_string(bits)));
    EXPECT_THAT(r.status().message(), HasSubstr("[2, 16]"));
    EXPECT_FALSE(ParamsFromMinMax(-1.0f, 1.0f, spec).ok());
    EXPECT_FALSE(ParamsFromAmax(1.0f, spec).ok());
  }
}

TEST(QuantQParams, BadRangesAreRejected) {
  QuantSpec spec;
  spec.scheme = Scheme::kAffine;
  auto r = ParamsFromMinMax(2.0f, 1.0f, spec);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("min 2 > max 1"));
  EXPECT_FALSE(ParamsFromMinMax(NAN, 1.0f, spec).ok());
  EXPECT_FALSE(ParamsFromMinMax(0.0f, INFINITY, spec).ok());
  EXPECT_THAT(ParamsFromAmax(-1.0f, spec).status().message(), HasSubstr(">= 0"));
  EXPECT_FALSE(ParamsFromAmax(NAN, spec).ok());
  EXPECT_FALSE(ValidateQParams(QParams{0.0f, 0, -128, 127}).ok());
  EXPECT_FALSE(ValidateQParams(QParams{1.0f, 200, -128, 127}).ok());
  EXPECT_FALSE(ValidateQParams(QParams{1.0f, 0, 5, 5}).ok());
}

TEST(QuantQParams, AllZeroAndTinyRangesGiveFinitePositiveScale) {
  for (Scheme scheme : {Scheme::kAffine, Scheme::kSymmetric}) {
    for (bool is_signed : {true, false}) {
      QuantSpec spec{8, is_signed, false, scheme};
      for (float v : {0.0f, 1e-42f, -1e-42f, FLT_MIN}) {
        auto p = ParamsFromMinMax(std::min(v, 0.0f), std::max(v, 0.0f), spec);
        ASSERT_TRUE(p.ok());
        EXPECT_TRUE(std::isfinite(p->scale) && p->scale > 0.0f) << SpecToString(spec) << " v=" << v;
        EXPECT_TRUE(ValidateQParams(*p).ok());
        EXPECT_EQ(FakeQuantValue(0.0f, *p), 0.0f);
      }
      auto a = ParamsFromAmax(0.0f, spec);
      ASSERT_TRUE(a.ok());
      EXPECT_TRUE(std::isfinite(a->scale) && a->scale > 0.0f);
    }
  }
  // Huge ranges stay finite too (hi - lo would overflow float).
  QuantSpec affine{8, false, false, Scheme::kAffine};
  auto p = ParamsFromMinMax(-FLT_MAX, FLT_MAX, affine);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(std::isfinite(p->scale));
}

// PyTorch's _calculate_qparams, re-derived here in double from its documented formulas, for
// random ranges and specs; and the properties every choice must have (0.0 exact, range covered).
TEST(QuantQParams, MinMaxMatchesPyTorchFormulasAndCoversTheRange) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(101);
  std::uniform_real_distribution<float> u(-10.0f, 10.0f);
  std::uniform_int_distribution<int> bits_d(kMinBits, kMaxBits);
  for (int trial = 0; trial < 2000; ++trial) {
    QuantSpec spec{bits_d(rng), rng() % 2 == 0, rng() % 2 == 0,
                   rng() % 2 == 0 ? Scheme::kAffine : Scheme::kSymmetric};
    float a = u(rng), b = u(rng);
    if (trial % 7 == 0) a = std::abs(a);  // all-positive ranges (post-ReLU)
    const float mn = std::min(a, b), mx = std::max(a, b);
    auto p = ParamsFromMinMax(mn, mx, spec);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    ASSERT_TRUE(ValidateQParams(*p).ok());
    SCOPED_TRACE(SpecToString(spec) + " min=" + std::to_string(mn) + " max=" + std::to_string(mx));
    const double lo = std::min<double>(mn, 0.0), hi = std::max<double>(mx, 0.0);
    const double levels = std::pow(2.0, spec.bits);
    const double qmin = (spec.is_signed ? -levels / 2 : 0.0) + (spec.narrow_range ? 1 : 0);
    const double qmax = spec.is_signed ? levels / 2 - 1 : levels - 1;
    // 0.0 is exactly representable.
    EXPECT_EQ(DequantizeValue(QuantizeValue(0.0f, *p), *p), 0.0f);
    if (spec.scheme == Scheme::kAffine) {
      // Relative 1e-6: float subtraction + division vs the double formula (2 roundings).
      EXPECT_NEAR(p->scale, (hi - lo) / (qmax - qmin), 1e-6 * p->scale);
      // The grid is shifted by the rounded zero point by at most half a step (+ float slack).
      EXPECT_LE(std::abs(p->RealMin() - lo), 0.5 * p->scale + 1e-5 * (hi - lo));
    } else {
      const double amax = spec.is_signed ? std::max(-lo, hi) : hi;
      const double bound = spec.is_signed ? levels / 2 - 1 : qmax - qmin;
      // amax == 0 (unsigned and an all-negative range) takes the documented fallback scale 1.
      EXPECT_NEAR(p->scale, amax > 0 ? amax / bound : 1.0, 1e-6 * p->scale);
      EXPECT_EQ(p->zero_point, spec.is_signed ? 0 : qmin);
      EXPECT_GE(p->RealMax(), amax * (1 - 1e-6));
    }
  }
}

TEST(QuantQParams, PerAxisCountsAndAxesAreChecked) {
  QuantSpec spec;
  auto bad = ParamsFromMinMaxPerAxis({-1.0f, -2.0f}, {1.0f}, 0, spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("2 mins and 1 maxs"));
  auto chan = ParamsFromMinMaxPerAxis({-1.0f, 3.0f}, {1.0f, 2.0f}, 0, spec);
  ASSERT_FALSE(chan.ok());
  EXPECT_THAT(chan.status().message(), HasSubstr("channel 1"));
  auto ok = ParamsFromAmaxPerAxis({1.0f, 2.0f, 0.0f}, 1, spec);
  ASSERT_TRUE(ok.ok());
  Dims dims = {4, 3, 5};
  EXPECT_TRUE(ValidateTensorQParams(*ok, &dims).ok());
  Dims wrong = {4, 2, 5};
  EXPECT_THAT(ValidateTensorQParams(*ok, &wrong).message(), HasSubstr("has extent 2"));
  auto ax = NormalizeAxis(3, 3);
  ASSERT_FALSE(ax.ok());
  EXPECT_EQ(ax.status().code(), StatusCode::kOutOfRange);
  EXPECT_THAT(ax.status().message(), HasSubstr("axis 3 does not exist in a rank-3 tensor"));
  EXPECT_EQ(*NormalizeAxis(-1, 3), 2);
  EXPECT_EQ(*NormalizeAxis(-3, 3), 0);
  EXPECT_FALSE(NormalizeAxis(-4, 3).ok());
  EXPECT_FALSE(MakeAxisLayout({2, -1}, std::nullopt).ok());
  auto l = MakeAxisLayout({2, 3, 4, 5}, -2);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->outer, 6);
  EXPECT_EQ(l->channels, 4);
  EXPECT_EQ(l->inner, 5);
}

}  // namespace
}  // namespace qp::quant
