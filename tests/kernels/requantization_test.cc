// core/quant/requantization: the fp32 (XNNPACK) and Q31 (gemmlowp/TFLite) schemes against
// independent oracles (std::nearbyint, double arithmetic, std::round), plus bad-parameter Status.
#include "core/quant/requantization.h"

#include <cfenv>
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace qp::quant {
namespace {

TEST(Requantization, MagicBiasRoundingEqualsNearbyint) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  auto rng = qp::testing::Rng(1);
  std::uniform_real_distribution<float> d(-4194304.0f, 4194304.0f);
  for (int i = 0; i < 200000; ++i) {
    // Half the samples are exact ties (k + 0.5), where nearest-even matters.
    float x = d(rng);
    if (i & 1) x = std::floor(x) + 0.5f;
    ASSERT_EQ(MagicRoundFp32(x), static_cast<int32_t>(std::nearbyint(x))) << "x=" << x;
  }
  EXPECT_EQ(MagicRoundFp32(0.5f), 0);
  EXPECT_EQ(MagicRoundFp32(1.5f), 2);
  EXPECT_EQ(MagicRoundFp32(-2.5f), -2);
  EXPECT_EQ(MagicRoundFp32(-0.0f), 0);
}

TEST(Requantization, Fp32MatchesPlainFloatFormulaAndRealMath) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(2);
  std::uniform_int_distribution<int32_t> acc_d(-(1 << 20), 1 << 20);
  std::uniform_real_distribution<float> log_d(-20.0f, -5.0f);
  std::uniform_int_distribution<int> zp_d(-128, 127);
  for (int i = 0; i < 100000; ++i) {
    const int32_t acc = acc_d(rng);
    const float scale = std::exp2(log_d(rng));
    OutputQuant out;
    out.zero_point = zp_d(rng);
    out.qmin = -128;
    out.qmax = 127;
    if (i % 3 == 0) out.qmin = out.zero_point;  // ReLU
    const int32_t got = RequantizeFp32(acc, scale, out);
    // Oracle 1: the same float formula written the obvious way (nearbyint after the multiply).
    const float prod = static_cast<float>(acc) * scale;
    const long expect = std::min<long>(out.qmax, std::max<long>(out.qmin, std::lrint(prod) + out.zero_point));
    ASSERT_EQ(got, expect) << "acc=" << acc << " scale=" << scale << " zp=" << out.zero_point;
    // Oracle 2: real math. Unclamped outputs are within 0.5 + 1e-4 of acc*scale+zp: the only
    // errors besides the final rounding are <= 3 fp32 roundings of a value below 2^9.
    const double real = static_cast<double>(acc) * scale + out.zero_point;
    if (real > out.qmin && real < out.qmax) {
      ASSERT_LE(std::fabs(got - real), 0.5 + 1e-4);
    }
  }
}

TEST(Requantization, SaturatingRoundingDoublingHighMulMatchesDoubleRounding) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(3);
  std::uniform_int_distribution<int32_t> d(INT32_MIN, INT32_MAX);
  for (int i = 0; i < 100000; ++i) {
    const int32_t a = d(rng), b = d(rng);
    // (2*a*b) / 2^32 = a*b / 2^31 rounded to nearest, ties toward +infinity (gemmlowp's nudge
    // then truncating division); long double holds the 62-bit product exactly.
    const long double q = static_cast<long double>(a) * b / 2147483648.0L;
    const long double r = std::floor(q + 0.5L);
    ASSERT_EQ(SaturatingRoundingDoublingHighMul(a, b), static_cast<int64_t>(r)) << a << "*" << b;
  }
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(INT32_MIN, INT32_MIN), INT32_MAX);
}

TEST(Requantization, RoundingDivideByPotRoundsHalfAwayFromZero) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(4);
  std::uniform_int_distribution<int32_t> d(INT32_MIN, INT32_MAX);
  for (int i = 0; i < 100000; ++i) {
    const int32_t x = i < 64 ? (i - 32) : d(rng);
    const int e = i % 32;
    const double expect = std::round(static_cast<double>(x) / std::ldexp(1.0, e));
    ASSERT_EQ(RoundingDivideByPOT(x, e), static_cast<int64_t>(expect)) << x << " / 2^" << e;
  }
}

TEST(Requantization, Q31RepresentsTheRealMultiplier) {
  for (double real : {1e-9, 0.0001234, 0.25, 0.5, 0.999999999, 1.0, 3.75, 200.0}) {
    auto ch = Q31FromReal(real);
    ASSERT_TRUE(ch.ok()) << ch.status().ToString();
    EXPECT_GE(ch->multiplier, INT32_C(1) << 30);
    const double back = ch->multiplier * std::ldexp(1.0, ch->shift - 31);
    EXPECT_LE(std::fabs(back - real) / real, std::ldexp(1.0, -31)) << real;
  }
  for (double bad : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity(), 1e-12}) {
    EXPECT_FALSE(Q31FromReal(bad).ok()) << bad;
  }
}

TEST(Requantization, Q31AndFp32AgreeWithinOneStep) {
  // Both round the same real product; they differ only at near-ties (half away from zero vs
  // half to even, 31-bit vs 24-bit multiplier), so by at most one quantization step.
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(5);
  std::uniform_int_distribution<int32_t> acc_d(-(1 << 22), 1 << 22);
  std::uniform_real_distribution<float> s_d(0.001f, 0.5f);
  int differ = 0;
  for (int i = 0; i < 50000; ++i) {
    auto ch = MakeRequantChannel(s_d(rng), s_d(rng) * 0.01f, s_d(rng) * 20.0f);
    ASSERT_TRUE(ch.ok()) << ch.status().ToString();
    OutputQuant out;
    out.zero_point = 3;
    const int32_t acc = acc_d(rng) / 64;
    const int32_t f = RequantizeFp32(acc, ch->scale, out);
    const int32_t q = RequantizeQ31(acc, ch->multiplier, ch->shift, out);
    ASSERT_LE(std::abs(f - q), 1) << "acc=" << acc;
    differ += f != q;
  }
  EXPECT_LT(differ, 500);  // ties are rare: far below 1% of random samples
}

TEST(Requantization, BadScalesAndRangesAreRejectedWithAMessage) {
  const float denormal = std::numeric_limits<float>::denorm_min();
  for (float bad : {0.0f, -1.0f, std::nanf(""), std::numeric_limits<float>::infinity(), denormal}) {
    auto r = Fp32ConvScale(bad, 0.5f, 0.5f);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("input scale"), std::string::npos) << r.status().ToString();
  }
  EXPECT_EQ(Fp32ConvScale(1.0f, 1.0f, 1.0f / 512).status().code(), StatusCode::kOutOfRange);
  EXPECT_FALSE(MakeOutputQuant(RequantScheme::kFp32, 128).ok());
  EXPECT_FALSE(MakeOutputQuant(RequantScheme::kFp32, 0, 10, 10).ok());
  EXPECT_FALSE(MakeOutputQuant(RequantScheme::kFp32, 0, -129, 10).ok());
  EXPECT_TRUE(MakeOutputQuant(RequantScheme::kQ31, 0, 0, 6).ok());
  EXPECT_FALSE(MakeAddFixedPoint(1024.0f, 0.5f, 0, 0).ok());
  EXPECT_FALSE(MakeAddFixedPoint(0.5f, 0.0001f, 0, 0).ok());
}

TEST(Requantization, FixedPointAddIsWithinOneStepOfRealMath) {
  // Each multiplier is rounded to an integer at 2^shift (shift >= 18 for ratios <= 4), so each of
  // the two terms errs by <= 255 * 2^-19 < 5e-4; then the final half-up rounding adds <= 0.5.
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(6);
  std::uniform_real_distribution<float> r_d(0.01f, 4.0f);
  std::uniform_int_distribution<int> v_d(-128, 127);
  for (int i = 0; i < 2000; ++i) {
    const float ra = r_d(rng), rb = r_d(rng);
    const int za = v_d(rng), zb = v_d(rng);
    auto p = MakeAddFixedPoint(ra, rb, za, zb);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    OutputQuant out;
    out.zero_point = v_d(rng);
    for (int j = 0; j < 50; ++j) {
      const int a = v_d(rng), b = v_d(rng);
      const double real = (a - za) * static_cast<double>(ra) + (b - zb) * static_cast<double>(rb) +
                          out.zero_point;
      const int32_t got = AddFixedPointApply(a, b, *p, out);
      if (real > -128 && real < 127) {
        ASSERT_LE(std::fabs(got - real), 0.5 + 2e-3) << a << "," << b;
      }
    }
  }
}

}  // namespace
}  // namespace qp::quant
