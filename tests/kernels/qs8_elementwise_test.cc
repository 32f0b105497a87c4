// Elementwise add and multiply: scalar vs real math within one step, and every variant of
// qs8-vadd.inc / qs8-vmul.inc vs the scalar reference, bit-exact, over all 256x256 input pairs,
// SIMD tails, broadcasts, zero points, clamps and scale ratios at the edges of the legal range.
#include <cmath>

#include <gtest/gtest.h>

#include "kernels/qs8-vadd/qs8-vadd.h"
#include "kernels/qs8-vmul/qs8-vmul.h"
#include "tests/kernels/kernel_test_util.h"
#include "tests/test_util.h"

namespace qp::kernels {
namespace {

using qp::testing::kSentinel;

// All 65536 (a, b) pairs, laid out so both operands walk every value.
void AllPairs(std::vector<int8_t>* a, std::vector<int8_t>* b) {
  a->resize(65536);
  b->resize(65536);
  for (int i = 0; i < 65536; ++i) {
    (*a)[i] = static_cast<int8_t>(i & 255);
    (*b)[i] = static_cast<int8_t>(i >> 8);
  }
}

struct AddCase {
  quant::AddScheme scheme;
  float sa, sb, sy;
  int32_t za, zb, zy, qmin, qmax;
};

std::vector<AddCase> AddCases() {
  using S = quant::AddScheme;
  return {
      {S::kXnnpackFixedPoint, 0.05f, 0.05f, 0.1f, 0, 0, 0, -128, 127},
      {S::kXnnpackFixedPoint, 0.013f, 0.4f, 0.09f, -128, 127, -5, -128, 127},
      {S::kXnnpackFixedPoint, 1.0f, 0.0011f, 1.0f, 17, -3, 100, -128, 127},   // ratio ~2^-10
      {S::kXnnpackFixedPoint, 25.0f, 0.2f, 0.1f, -7, 9, -128, -128, 127},    // ratio near 2^8
      {S::kXnnpackFixedPoint, 0.02f, 0.03f, 0.04f, 3, -3, -20, -20, 127},     // ReLU
      {S::kXnnpackFixedPoint, 0.02f, 0.03f, 0.01f, 0, 0, 0, -10, 10},         // narrow clamp
      {S::kFp32, 0.05f, 0.05f, 0.1f, 0, 0, 0, -128, 127},
      {S::kFp32, 0.013f, 0.4f, 0.09f, -128, 127, -5, -128, 127},
      {S::kFp32, 0.02f, 0.03f, 0.04f, 3, -3, -20, -20, 127},
  };
}

QS8AddParams MakeAdd(const AddCase& c) {
  QS8AddParams p;
  auto r = quant::MakeAddRequant(c.scheme, c.sa, c.za, c.sb, c.zb, c.sy);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  p.requant = *r;
  p.output.zero_point = c.zy;
  p.output.qmin = c.qmin;
  p.output.qmax = c.qmax;
  return p;
}

std::string Name(const AddCase& c) {
  return qp::testing::Describe(quant::AddSchemeName(c.scheme), " sa=", c.sa, " sb=", c.sb,
                               " sy=", c.sy, " za=", c.za, " zb=", c.zb, " zy=", c.zy, " clamp=[",
                               c.qmin, ",", c.qmax, "]");
}

TEST(QS8AddScalar, WithinOneQuantizationStepOfRealMath) {
  // Fixed point: each multiplier is rounded at 2^shift with shift >= 12 + ... ; for these ratios
  // (<= 4) shift >= 18, so each term errs by <= 255 * 2^-19 < 5e-4; fp32: two products and a sum
  // of values below 2^10 err by < 1e-4. Plus the final rounding (<= 0.5).
  std::vector<int8_t> a, b, y(65536);
  AllPairs(&a, &b);
  for (const AddCase& c : AddCases()) {
    if (c.sa / c.sy > 4 || c.sb / c.sy > 4) continue;
    QS8AddOp op;
    ASSERT_TRUE(QS8AddVariants().front().create(MakeAdd(c), &op).ok());
    ASSERT_TRUE(QS8AddVariants().front().run(op, a.size(), a.data(), b.data(), false, y.data()).ok());
    for (size_t i = 0; i < a.size(); ++i) {
      double real = (c.sa * (a[i] - c.za) + static_cast<double>(c.sb) * (b[i] - c.zb)) / c.sy + c.zy;
      real = std::min<double>(c.qmax, std::max<double>(c.qmin, real));
      ASSERT_LE(std::fabs(y[i] - real), 0.5 + 1e-3) << Name(c) << " a=" << int(a[i]) << " b=" << int(b[i]);
    }
  }
}

class QS8AddVariantTest : public ::testing::TestWithParam<QS8AddVariant> {
 protected:
  void SetUp() override {
    if (!GetParam().available()) {
      GTEST_SKIP() << "ISA " << IsaName(GetParam().isa) << " is not compiled into this build";
    }
  }
};

TEST_P(QS8AddVariantTest, MatchesScalarOnAllPairsTailsAndBroadcasts) {
  std::vector<int8_t> a, b;
  AllPairs(&a, &b);
  size_t checked = 0;
  const auto cases = AddCases();
  for (const AddCase& c : cases) {
    const QS8AddParams params = MakeAdd(c);
    QS8AddOp ref, op;
    ASSERT_TRUE(QS8AddVariants().front().create(params, &ref).ok());
    const Status s = GetParam().create(params, &op);
    if (s.code() == StatusCode::kUnimplemented) continue;
    ASSERT_TRUE(s.ok()) << s.ToString() << " " << Name(c);
    ++checked;
    for (size_t n : {size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{47}, size_t{65536}}) {
      for (bool bc : {false, true}) {
        // Offsets make the operands unaligned and vary the broadcast value.
        const size_t off = (n * 7) % 13;
        const size_t len = std::min(n, a.size() - off);
        std::vector<int8_t> want(len + 1, kSentinel), got(len + 1, kSentinel);
        ASSERT_TRUE(QS8AddVariants().front().run(ref, len, a.data() + off, b.data() + off, bc, want.data()).ok());
        ASSERT_TRUE(GetParam().run(op, len, a.data() + off, b.data() + off, bc, got.data()).ok());
        ASSERT_EQ(got[len], kSentinel) << GetParam().name << " wrote past n=" << len;
        for (size_t i = 0; i < len; ++i) {
          ASSERT_EQ(int(got[i]), int(want[i])) << GetParam().name << " index " << i << " n=" << len
                                               << " broadcast=" << bc << " " << Name(c);
        }
      }
    }
  }
  EXPECT_GE(checked, 3u) << GetParam().name << " declined most cases";
}

TEST_P(QS8AddVariantTest, LongRandomParameterSweep) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(30);
  std::uniform_real_distribution<float> log_s(-6.0f, 2.0f);
  std::uniform_int_distribution<int> z(-128, 127);
  std::vector<int8_t> a, b;
  AllPairs(&a, &b);
  std::vector<int8_t> want(a.size()), got(a.size());
  for (int t = 0; t < 200; ++t) {
    AddCase c{t % 2 ? quant::AddScheme::kFp32 : quant::AddScheme::kXnnpackFixedPoint,
              std::exp2(log_s(rng)), std::exp2(log_s(rng)), std::exp2(log_s(rng)), z(rng), z(rng),
              z(rng), -128, 127};
    auto r = quant::MakeAddRequant(c.scheme, c.sa, c.za, c.sb, c.zb, c.sy);
    if (!r.ok()) continue;  // ratio outside [2^-10, 2^8): rejected by every variant alike
    QS8AddOp ref, op;
    ASSERT_TRUE(QS8AddVariants().front().create(MakeAdd(c), &ref).ok());
    if (GetParam().create(MakeAdd(c), &op).code() == StatusCode::kUnimplemented) continue;
    ASSERT_TRUE(QS8AddVariants().front().run(ref, a.size(), a.data(), b.data(), false, want.data()).ok());
    ASSERT_TRUE(GetParam().run(op, a.size(), a.data(), b.data(), false, got.data()).ok());
    for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(int(got[i]), int(want[i])) << i << " " << Name(c);
  }
}

std::string AddName(const ::testing::TestParamInfo<QS8AddVariant>& i) { return i.param.name; }
INSTANTIATE_TEST_SUITE_P(Variants, QS8AddVariantTest, ::testing::ValuesIn(QS8AddVariants()), AddName);

TEST(QS8AddParams, BadScalesAreRejected) {
  EXPECT_FALSE(quant::MakeAddRequant(quant::AddScheme::kFp32, 0.0f, 0, 1.0f, 0, 1.0f).ok());
  EXPECT_FALSE(quant::MakeAddRequant(quant::AddScheme::kFp32, std::nanf(""), 0, 1.0f, 0, 1.0f).ok());
  auto r = quant::MakeAddRequant(quant::AddScheme::kXnnpackFixedPoint, 1000.0f, 0, 1.0f, 0, 1.0f);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("ratio"), std::string::npos) << r.status().ToString();
}

// ---- multiply -------------------------------------------------------------------------------------

struct MulCase {
  quant::RequantScheme scheme;
  float sa, sb, sy;
  int32_t za, zb, zy, qmin, qmax;
};

std::vector<MulCase> MulCases() {
  using S = quant::RequantScheme;
  return {
      {S::kFp32, 0.05f, 0.05f, 0.1f, 0, 0, 0, -128, 127},
      {S::kFp32, 0.013f, 0.4f, 0.9f, -128, 127, -5, -128, 127},
      {S::kFp32, 0.002f, 0.01f, 1.0f, 1, -1, 50, -128, 127},  // ratio near 2^-16
      {S::kFp32, 0.5f, 0.5f, 0.002f, -3, 4, 0, 0, 127},       // large ratio, ReLU
      {S::kQ31, 0.05f, 0.05f, 0.1f, 0, 0, 0, -128, 127},
      {S::kQ31, 0.013f, 0.4f, 0.9f, -128, 127, -5, -30, 30},
  };
}

QS8MulParams MakeMul(const MulCase& c) {
  QS8MulParams p;
  auto r = quant::MakeMulRequant(c.sa, c.sb, c.sy);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  p.requant = *r;
  p.a_zero_point = c.za;
  p.b_zero_point = c.zb;
  p.output.scheme = c.scheme;
  p.output.zero_point = c.zy;
  p.output.qmin = c.qmin;
  p.output.qmax = c.qmax;
  return p;
}

TEST(QS8MulScalar, WithinOneQuantizationStepOfRealMath) {
  // The product is exact; fp32 requantization of a value below 2^9 errs by < 1e-4 besides the
  // final rounding. Q31 rounds twice (the doubling high mul at 2^-31 relative, then the shift by
  // -shift bits), so its first rounding adds up to 0.5 * 2^shift output steps.
  std::vector<int8_t> a, b, y(65536);
  AllPairs(&a, &b);
  for (const MulCase& c : MulCases()) {
    QS8MulOp op;
    ASSERT_TRUE(QS8MulVariants().front().create(MakeMul(c), &op).ok());
    ASSERT_TRUE(QS8MulVariants().front().run(op, a.size(), a.data(), b.data(), false, y.data()).ok());
    const QS8MulParams params = MakeMul(c);
    const double tol = 0.5 + 1e-3 +
                       (c.scheme == quant::RequantScheme::kQ31 ? std::ldexp(0.5, params.requant.shift) : 0.0);
    for (size_t i = 0; i < a.size(); ++i) {
      double real = static_cast<double>(c.sa) * (a[i] - c.za) * c.sb * (b[i] - c.zb) / c.sy + c.zy;
      real = std::min<double>(c.qmax, std::max<double>(c.qmin, real));
      ASSERT_LE(std::fabs(y[i] - real), tol) << "a=" << int(a[i]) << " b=" << int(b[i]);
    }
  }
}

class QS8MulVariantTest : public ::testing::TestWithParam<QS8MulVariant> {
 protected:
  void SetUp() override {
    if (!GetParam().available()) {
      GTEST_SKIP() << "ISA " << IsaName(GetParam().isa) << " is not compiled into this build";
    }
  }
};

TEST_P(QS8MulVariantTest, MatchesScalarOnAllPairsTailsAndBroadcasts) {
  std::vector<int8_t> a, b;
  AllPairs(&a, &b);
  size_t checked = 0;
  for (const MulCase& c : MulCases()) {
    const QS8MulParams params = MakeMul(c);
    QS8MulOp ref, op;
    ASSERT_TRUE(QS8MulVariants().front().create(params, &ref).ok());
    const Status s = GetParam().create(params, &op);
    if (s.code() == StatusCode::kUnimplemented) continue;
    ASSERT_TRUE(s.ok()) << s.ToString();
    ++checked;
    for (size_t n : {size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{47}, size_t{65536}}) {
      for (bool bc : {false, true}) {
        const size_t off = (n * 5) % 11;
        const size_t len = std::min(n, a.size() - off);
        std::vector<int8_t> want(len + 1, kSentinel), got(len + 1, kSentinel);
        ASSERT_TRUE(QS8MulVariants().front().run(ref, len, a.data() + off, b.data() + off, bc, want.data()).ok());
        ASSERT_TRUE(GetParam().run(op, len, a.data() + off, b.data() + off, bc, got.data()).ok());
        ASSERT_EQ(got[len], kSentinel) << GetParam().name << " wrote past n=" << len;
        for (size_t i = 0; i < len; ++i) {
          ASSERT_EQ(int(got[i]), int(want[i])) << GetParam().name << " index " << i << " n=" << len
                                               << " broadcast=" << bc << " scale " << c.sa * c.sb / c.sy;
        }
      }
    }
  }
  EXPECT_GE(checked, 3u);
}

std::string MulName(const ::testing::TestParamInfo<QS8MulVariant>& i) { return i.param.name; }
INSTANTIATE_TEST_SUITE_P(Variants, QS8MulVariantTest, ::testing::ValuesIn(QS8MulVariants()), MulName);

}  // namespace
}  // namespace qp::kernels
