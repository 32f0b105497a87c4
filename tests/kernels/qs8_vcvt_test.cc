// Requantizing copy (qs8-vcvt, the per-input step of a concatenation with its own scales): the
// scalar reference against real math within half a step, and every variant of qs8-vcvt.inc
// against the scalar bit-exact over all 256 input values, row tails, strides, zero points, clamps,
// both schemes and the identity case, with the bytes between the written bands holding a sentinel.
#include <cmath>

#include <gtest/gtest.h>

#include "kernels/qs8-vcvt/qs8-vcvt.h"
#include "tests/kernels/kernel_test_util.h"
#include "tests/test_util.h"

namespace qp::kernels {
namespace {

using qp::testing::kSentinel;

struct CvtCase {
  quant::RequantScheme scheme;
  float sx, sy;
  int32_t zx, zy, qmin, qmax;
};

std::vector<CvtCase> CvtCases() {
  using S = quant::RequantScheme;
  return {
      {S::kFp32, 0.05f, 0.1f, 0, 0, -128, 127},
      {S::kFp32, 0.013f, 0.09f, -128, -5, -128, 127},
      {S::kFp32, 0.4f, 0.0031f, 17, 100, -128, 127},    // ratio ~129: saturates both ways
      {S::kFp32, 0.02f, 0.04f, 3, -20, -20, 127},       // ReLU-style clamp
      {S::kFp32, 0.02f, 0.01f, 0, 0, -10, 10},          // narrow clamp
      {S::kFp32, 0.0625f, 0.0625f, 7, 7, -128, 127},    // identity (the SIMD copy path)
      {S::kFp32, 0.0625f, 0.0625f, 7, -9, -128, 127},   // same scale, zero point moves
      {S::kFp32, 0.3f, 0.2f, -1, 2, -128, 127},         // ratio 1.5: ties at odd x - zx
      {S::kQ31, 0.05f, 0.1f, 0, 0, -128, 127},
      {S::kQ31, 0.013f, 0.09f, -128, -5, -30, 127},
  };
}

QS8CvtParams MakeCvt(const CvtCase& c) {
  auto out = quant::MakeOutputQuant(c.scheme, c.zy, c.qmin, c.qmax);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  auto p = MakeQS8CvtParams(c.sx, c.zx, c.sy, *out);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return *p;
}

std::string Name(const CvtCase& c) {
  return qp::testing::Describe(quant::RequantSchemeName(c.scheme), " sx=", c.sx, " sy=", c.sy,
                               " zx=", c.zx, " zy=", c.zy, " clamp=[", c.qmin, ",", c.qmax, "]");
}

std::vector<int8_t> AllValues() {
  std::vector<int8_t> v(256);
  for (int i = 0; i < 256; ++i) v[static_cast<size_t>(i)] = static_cast<int8_t>(i - 128);
  return v;
}

TEST(QS8CvtScalar, WithinHalfAStepOfRealMath) {
  // fp32: the ratio sx / sy is one correctly rounded float (relative error 2^-24) and the product
  // with |x - zx| <= 255 adds another 2^-24; both are far below 1e-3 of a step, so the result is the
  // real value rounded (<= 0.5 away). Q31 keeps 31 bits of the ratio but rounds twice (gemmlowp):
  // the doubling high multiply rounds to 2^-right of a step before RoundingDivideByPOT rounds
  // again, so it may be up to 0.5 * 2^-right further (e.g. 0.4333 -> 0.5 -> 1).
  const std::vector<int8_t> x = AllValues();
  std::vector<int8_t> y(256);
  for (const CvtCase& c : CvtCases()) {
    QS8CvtOp op;
    const QS8CvtParams params = MakeCvt(c);
    ASSERT_TRUE(QS8CvtVariants().front().create(params, &op).ok());
    ASSERT_TRUE(QS8CvtVariants().front().run(op, 1, 256, x.data(), 256, y.data(), 256).ok());
    const int right = params.requant.shift < 0 ? -params.requant.shift : 0;
    const double tol = 0.5 + 1e-3 + (c.scheme == quant::RequantScheme::kQ31 ? 0.5 * std::ldexp(1.0, -right) : 0.0);
    for (size_t i = 0; i < 256; ++i) {
      double real = static_cast<double>(c.sx) * (x[i] - c.zx) / c.sy + c.zy;
      real = std::min<double>(c.qmax, std::max<double>(c.qmin, real));
      ASSERT_LE(std::fabs(y[i] - real), tol) << Name(c) << " x=" << int(x[i]);
    }
  }
}

class QS8CvtVariantTest : public ::testing::TestWithParam<QS8CvtVariant> {
 protected:
  void SetUp() override {
    if (!GetParam().available()) {
      GTEST_SKIP() << "ISA " << IsaName(GetParam().isa) << " is not compiled into this build";
    }
  }
};

// Runs ref and variant on rows x cols taken from `src` (row stride xs) into a sentinel-filled
// output of row stride ys at column offset `off`, and compares every byte.
void CheckShape(const QS8CvtVariant& v, const QS8CvtOp& ref, const QS8CvtOp& op,
                const std::vector<int8_t>& src, size_t rows, size_t cols, size_t xs, size_t ys,
                size_t off, const std::string& what) {
  const size_t total = rows * ys;
  std::vector<int8_t> want(total, kSentinel), got(total, kSentinel);
  ASSERT_TRUE(QS8CvtVariants().front().run(ref, rows, cols, src.data(), xs, want.data() + off, ys).ok());
  ASSERT_TRUE(v.run(op, rows, cols, src.data(), xs, got.data() + off, ys).ok());
  for (size_t i = 0; i < total; ++i) {
    const size_t r = i / ys, c = i % ys;
    const bool written = r < rows && c >= off && c < off + cols;
    if (!written) {
      ASSERT_EQ(int(got[i]), int(kSentinel)) << v.name << " wrote outside its band at row " << r << " col " << c
                                             << " (" << rows << "x" << cols << ", off " << off << ") " << what;
    }
    ASSERT_EQ(int(got[i]), int(want[i])) << v.name << " row " << r << " col " << c << " (" << rows << "x"
                                         << cols << " x_stride " << xs << " y_stride " << ys << " off " << off
                                         << ") " << what;
  }
}

TEST_P(QS8CvtVariantTest, MatchesScalarOnAllValuesTailsAndStrides) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(41);
  // Every int8 value, then random data, so wide shapes see all values at every lane.
  std::vector<int8_t> src = AllValues();
  const std::vector<int8_t> more = qp::testing::RandomInt8(rng, 4096);
  src.insert(src.end(), more.begin(), more.end());
  size_t checked = 0;
  for (const CvtCase& c : CvtCases()) {
    const QS8CvtParams params = MakeCvt(c);
    QS8CvtOp ref, op;
    ASSERT_TRUE(QS8CvtVariants().front().create(params, &ref).ok());
    const Status s = GetParam().create(params, &op);
    if (s.code() == StatusCode::kUnimplemented) continue;
    ASSERT_TRUE(s.ok()) << s.ToString() << " " << Name(c);
    ++checked;
    CheckShape(GetParam(), ref, op, src, 1, 256, 256, 256, 0, Name(c));
    for (size_t cols : {size_t{1}, size_t{7}, size_t{15}, size_t{16}, size_t{17}, size_t{31}, size_t{33}, size_t{96}}) {
      for (size_t rows : {size_t{1}, size_t{3}}) {
        // Concat-like bands: x rows packed or strided, output band at an odd offset of a wider row.
        CheckShape(GetParam(), ref, op, src, rows, cols, cols, cols, 0, Name(c));
        CheckShape(GetParam(), ref, op, src, rows, cols, cols + 5, cols + 13, 3, Name(c));
      }
    }
  }
  EXPECT_EQ(checked, CvtCases().size()) << GetParam().name << " declined cases";
}

TEST_P(QS8CvtVariantTest, LongRandomParameterSweep) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(42);
  std::uniform_real_distribution<float> log_s(-8.0f, 2.0f);
  std::uniform_int_distribution<int> z(-128, 127);
  const std::vector<int8_t> x = AllValues();
  std::vector<int8_t> want(256), got(256);
  for (int t = 0; t < 2000; ++t) {
    const CvtCase c{t % 2 ? quant::RequantScheme::kQ31 : quant::RequantScheme::kFp32, std::exp2(log_s(rng)),
                    std::exp2(log_s(rng)), z(rng), z(rng), -128, 127};
    auto out = quant::MakeOutputQuant(c.scheme, c.zy);
    ASSERT_TRUE(out.ok());
    auto params = MakeQS8CvtParams(c.sx, c.zx, c.sy, *out);
    if (!params.ok()) continue;  // ratio outside the fp32 scheme's range: rejected alike
    QS8CvtOp ref, op;
    ASSERT_TRUE(QS8CvtVariants().front().create(*params, &ref).ok());
    ASSERT_TRUE(GetParam().create(*params, &op).ok());
    ASSERT_TRUE(QS8CvtVariants().front().run(ref, 1, 256, x.data(), 256, want.data(), 256).ok());
    ASSERT_TRUE(GetParam().run(op, 1, 256, x.data(), 256, got.data(), 256).ok());
    for (size_t i = 0; i < 256; ++i) ASSERT_EQ(int(got[i]), int(want[i])) << i << " " << Name(c);
  }
}

std::string CvtName(const ::testing::TestParamInfo<QS8CvtVariant>& i) { return i.param.name; }
INSTANTIATE_TEST_SUITE_P(Variants, QS8CvtVariantTest, ::testing::ValuesIn(QS8CvtVariants()), CvtName);

TEST(QS8CvtParams, BadParametersAreRejected) {
  const quant::OutputQuant out;
  EXPECT_FALSE(MakeQS8CvtParams(0.0f, 0, 1.0f, out).ok());
  EXPECT_FALSE(MakeQS8CvtParams(std::nanf(""), 0, 1.0f, out).ok());
  EXPECT_FALSE(MakeQS8CvtParams(1.0f, 0, -1.0f, out).ok());
  auto r = MakeQS8CvtParams(1.0f, 200, 1.0f, out);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("zero point"), std::string::npos) << r.status().ToString();
  EXPECT_FALSE(MakeQS8CvtParams(1000.0f, 0, 1.0f, out).ok());  // ratio above the fp32 range
}

}  // namespace
}  // namespace qp::kernels
