// qs8/qc8 GEMM: scalar reference vs real math (within one quantization step), then every variant
// of kernels/qs8-gemm/qs8-gemm.inc vs the scalar reference, bit-exact, on adversarial shapes.
#include "kernels/qs8-gemm/qs8-gemm.h"

#include <cmath>

#include <gtest/gtest.h>

#include "tests/kernels/kernel_test_util.h"
#include "tests/test_util.h"

namespace qp::kernels {
namespace {

using quant::RequantScheme;
using qp::testing::kSentinel;

struct GemmCase {
  size_t m, n, k;
  bool per_channel = false;
  RequantScheme scheme = RequantScheme::kFp32;
  int32_t za = 0, zo = 0, qmin = -128, qmax = 127;
  size_t a_pad = 0, c_pad = 0;  // extra row stride (strided buffers)
};

std::string Name(const GemmCase& c) {
  return qp::testing::Describe("m=", c.m, " n=", c.n, " k=", c.k, c.per_channel ? " qc8" : " qs8",
                               " ", quant::RequantSchemeName(c.scheme), " za=", c.za, " zo=", c.zo,
                               " clamp=[", c.qmin, ",", c.qmax, "] a_pad=", c.a_pad,
                               " c_pad=", c.c_pad);
}

struct GemmProblem {
  GemmCase c;
  std::vector<int8_t> a, w;
  std::vector<int32_t> bias;
  std::vector<float> w_scale;
  float in_scale = 0.02f, out_scale = 0;
  std::vector<quant::RequantChannel> rq;
  QS8GemmParams params;
};

// Scales chosen so the requantized outputs spread over roughly +-100 (exercising rounding and
// both clamps) whatever k is.
GemmProblem MakeProblem(std::mt19937_64& rng, const GemmCase& c) {
  GemmProblem p;
  p.c = c;
  const size_t a_stride = c.k + c.a_pad;
  p.a = qp::testing::RandomInt8(rng, c.m * a_stride);
  p.w = qp::testing::RandomInt8(rng, c.n * c.k, -127, 127);
  const int32_t bias_range = static_cast<int32_t>(2000 * std::sqrt(static_cast<double>(c.k)));
  p.bias = qp::testing::RandomInt32(rng, c.n, -bias_range, bias_range);
  std::uniform_real_distribution<float> ws(0.002f, 0.02f);
  p.w_scale.resize(c.per_channel ? c.n : 1);
  for (auto& s : p.w_scale) s = ws(rng);
  // acc has a standard deviation of about 5400 * sqrt(k); aim at 60 output steps.
  const float target = 60.0f / (5400.0f * std::sqrt(static_cast<float>(c.k)));
  p.out_scale = p.in_scale * 0.011f / target;
  for (float s : p.w_scale) {
    auto ch = quant::MakeRequantChannel(p.in_scale, s, p.out_scale);
    EXPECT_TRUE(ch.ok()) << ch.status().ToString();
    p.rq.push_back(*ch);
  }
  QS8GemmParams& q = p.params;
  q.n = c.n;
  q.k = c.k;
  q.a_stride = a_stride;
  q.c_stride = c.n + c.c_pad;
  q.weights = p.w.data();
  q.bias = p.bias.data();
  q.input_zero_point = c.za;
  q.requant = p.rq.data();
  q.per_channel = c.per_channel;
  q.output.scheme = c.scheme;
  q.output.zero_point = c.zo;
  q.output.qmin = c.qmin;
  q.output.qmax = c.qmax;
  return p;
}

// Runs a variant into a sentinel-filled buffer with one spare row; checks the sentinel survived
// outside the m x n region. Returns the create()/run() status.
Status RunVariant(const QS8GemmVariant& v, const GemmProblem& p, std::vector<int8_t>* c_out) {
  QS8GemmOp op;
  QP_RETURN_IF_ERROR(v.create(p.params, &op));
  const size_t c_stride = p.params.c_stride;
  c_out->assign((p.c.m + 1) * c_stride, kSentinel);
  QP_RETURN_IF_ERROR(v.run(op, p.c.m, p.a.data(), c_out->data()));
  for (size_t i = 0; i <= p.c.m; ++i) {
    for (size_t j = 0; j < c_stride; ++j) {
      if (i < p.c.m && j < p.c.n) continue;
      if ((*c_out)[i * c_stride + j] != kSentinel) {
        return Internal(v.name, " wrote outside the output at row ", i, " col ", j);
      }
    }
  }
  return Status::Ok();
}

const QS8GemmVariant& Scalar() { return QS8GemmVariants().front(); }

TEST(QS8GemmScalar, WithinOneQuantizationStepOfRealMath) {
  // The scalar sum is exact integer arithmetic; only the requantization rounds. With the fp32
  // scheme the result is the nearest integer to acc * scale up to three fp32 roundings of a
  // value below 2^9 (< 1e-4), and the scale differs from the double product by < 2^-23
  // relative; so each output is within 0.5 + 1e-3 of the real value (one step at most).
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(10);
  ASSERT_STREQ(Scalar().name, "scalar");
  for (bool pc : {false, true}) {
    for (RequantScheme scheme : {RequantScheme::kFp32, RequantScheme::kQ31}) {
      GemmCase c{5, 13, 77, pc, scheme, -7, 5};
      GemmProblem p = MakeProblem(rng, c);
      std::vector<int8_t> out;
      ASSERT_TRUE(RunVariant(Scalar(), p, &out).ok());
      for (size_t i = 0; i < c.m; ++i) {
        for (size_t j = 0; j < c.n; ++j) {
          double real = p.bias[j];
          for (size_t kk = 0; kk < c.k; ++kk) {
            real += static_cast<double>(p.a[i * p.params.a_stride + kk] - c.za) * p.w[j * c.k + kk];
          }
          const double ws = p.w_scale[pc ? j : 0];
          real = real * p.in_scale * ws / p.out_scale + c.zo;
          const double clamped = std::min(127.0, std::max(-128.0, real));
          EXPECT_LE(std::fabs(out[i * p.params.c_stride + j] - clamped), 0.5 + 1e-3)
              << Name(c) << " at (" << i << "," << j << ") real " << real;
        }
      }
    }
  }
}

class QS8GemmVariantTest : public ::testing::TestWithParam<QS8GemmVariant> {
 protected:
  void SetUp() override {
    if (!GetParam().available()) {
      GTEST_SKIP() << "ISA " << IsaName(GetParam().isa) << " is not compiled into this build";
    }
  }
  // Runs every case against the scalar oracle; counts cases the variant declines
  // (Unimplemented, e.g. XNNPACK with Q31) so a test cannot pass by declining everything.
  void CheckCases(const std::vector<GemmCase>& cases, uint64_t salt) {
    SCOPED_TRACE(qp::testing::SeedTrace());
    auto rng = qp::testing::Rng(salt);
    size_t checked = 0;
    for (const GemmCase& c : cases) {
      GemmProblem p = MakeProblem(rng, c);
      std::vector<int8_t> want, got;
      ASSERT_TRUE(RunVariant(Scalar(), p, &want).ok()) << Name(c);
      const Status s = RunVariant(GetParam(), p, &got);
      if (s.code() == StatusCode::kUnimplemented) continue;
      ASSERT_TRUE(s.ok()) << s.ToString() << " " << Name(c);
      ++checked;
      for (size_t idx = 0; idx < want.size(); ++idx) {
        ASSERT_EQ(static_cast<int>(got[idx]), static_cast<int>(want[idx]))
            << GetParam().name << " row " << idx / p.params.c_stride << " col "
            << idx % p.params.c_stride << " " << Name(c);
      }
    }
    EXPECT_GT(checked, cases.size() / 4) << GetParam().name << " declined most cases";
  }
};

TEST_P(QS8GemmVariantTest, MatchesScalarOnAdversarialShapes) {
  // m around the 4-row tile, n around the 2-channel tile, k below/at/above the 8-block.
  std::vector<GemmCase> cases;
  for (size_t m : {1, 2, 3, 4, 5, 8, 9}) {
    for (size_t n : {1, 2, 3, 7, 16, 17}) {
      for (size_t k : {1, 7, 8, 9, 16, 17, 40}) {
        GemmCase c{m, n, k};
        c.per_channel = (m + n + k) % 2;
        c.scheme = (m * n + k) % 3 == 0 ? RequantScheme::kQ31 : RequantScheme::kFp32;
        c.za = static_cast<int32_t>((k * 37) % 256) - 128;
        c.zo = static_cast<int32_t>((n * 53) % 200) - 100;
        c.a_pad = m % 3;
        c.c_pad = n % 2 ? 3 : 0;
        cases.push_back(c);
      }
    }
  }
  CheckCases(cases, 11);
}

TEST_P(QS8GemmVariantTest, MatchesScalarOnBothSchemesAndLayouts) {
  std::vector<GemmCase> cases;
  for (bool pc : {false, true}) {
    for (RequantScheme s : {RequantScheme::kFp32, RequantScheme::kQ31}) {
      cases.push_back(GemmCase{1, 64, 256, pc, s, 3, -4});     // GEMV
      cases.push_back(GemmCase{13, 33, 129, pc, s, -128, 127});  // tails everywhere
      cases.push_back(GemmCase{64, 32, 64, pc, s, 127, -128, -128, 127, 5, 7});
    }
  }
  CheckCases(cases, 12);
}

TEST_P(QS8GemmVariantTest, ZeroPointAndClampSweep) {
  std::vector<GemmCase> cases;
  const std::pair<int32_t, int32_t> clamps[] = {{-128, 127}, {0, 127}, {0, 6}, {-100, -99}, {-5, 90}};
  for (int32_t za : {-128, -1, 0, 1, 127}) {
    for (int32_t zo : {-128, -3, 0, 100, 127}) {
      for (auto [lo, hi] : clamps) {
        GemmCase c{5, 6, 19, za > 0, RequantScheme::kFp32, za, zo, lo, hi};
        if (zo % 2) c.scheme = RequantScheme::kQ31;
        cases.push_back(c);
      }
    }
  }
  CheckCases(cases, 13);
}

TEST_P(QS8GemmVariantTest, RejectsBadParametersLikeTheReference) {
  auto rng = qp::testing::Rng(14);
  GemmProblem p = MakeProblem(rng, GemmCase{2, 3, 4});
  QS8GemmOp op;
  QS8GemmParams bad = p.params;
  bad.k = 0;
  EXPECT_EQ(GetParam().create(bad, &op).code(), StatusCode::kOutOfRange);
  bad = p.params;
  bad.output.zero_point = 200;
  EXPECT_FALSE(GetParam().create(bad, &op).ok());
  bad = p.params;
  bad.output.qmin = 10;
  bad.output.qmax = 10;
  EXPECT_FALSE(GetParam().create(bad, &op).ok());
  quant::RequantChannel huge = p.rq[0];
  huge.scale = 300.0f;
  bad = p.params;
  bad.requant = &huge;
  const Status s = GetParam().create(bad, &op);
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange) << s.ToString();
  EXPECT_NE(s.message().find("300"), std::string::npos) << s.ToString();
}

TEST_P(QS8GemmVariantTest, LongExhaustiveShapeSweep) {
  std::vector<GemmCase> cases;
  for (size_t m = 1; m <= 12; ++m) {
    for (size_t n = 1; n <= 12; ++n) {
      for (size_t k = 1; k <= 33; k += 2) {
        for (int v = 0; v < 2; ++v) {
          GemmCase c{m, n, k, v == 1, v ? RequantScheme::kQ31 : RequantScheme::kFp32};
          c.za = static_cast<int32_t>((m * 31 + k) % 256) - 128;
          c.zo = static_cast<int32_t>((n * 17 + k) % 256) - 128;
          cases.push_back(c);
        }
      }
    }
  }
  CheckCases(cases, 15);
}

std::string VariantName(const ::testing::TestParamInfo<QS8GemmVariant>& info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Variants, QS8GemmVariantTest, ::testing::ValuesIn(QS8GemmVariants()),
                         VariantName);

}  // namespace
}  // namespace qp::kernels
