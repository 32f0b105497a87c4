// Quantize / dequantize / uint8<->int8 conversion: the scalar reference against ONNX
// QuantizeLinear's definition (ties to even, saturation) and the real value of each code; every
// variant of qs8-quant.inc against the scalar reference bit for bit (ties, +-inf, NaN, tails).
#include <cmath>
#include <cstring>
#include <limits>

#include <gtest/gtest.h>

#include "kernels/qs8-quant/qs8-quant.h"
#include "tests/kernels/kernel_test_util.h"
#include "tests/test_util.h"

namespace qp::kernels {
namespace {

QS8QuantParams Params(QuantKind kind, float scale, int32_t zp) {
  QS8QuantParams p;
  p.kind = kind;
  p.qparams.scale = scale;
  p.qparams.zero_point = zp;
  const bool u8 = kind == QuantKind::kQuantizeU8 || kind == QuantKind::kDequantizeU8;
  p.qparams.qmin = u8 ? 0 : -128;
  p.qparams.qmax = u8 ? 255 : 127;
  return p;
}

Status RunQuant(const QS8QuantVariant& v, const QS8QuantParams& p, size_t n, const void* x, void* y) {
  QS8QuantOp op;
  QP_RETURN_IF_ERROR(v.create(p, &op));
  return v.run(op, n, x, y);
}

const QS8QuantVariant& Scalar() { return QS8QuantVariants().front(); }

TEST(QS8QuantScalar, FollowsOnnxQuantizeLinear) {
  const float s = 0.5f;
  // x / s = 2.5, 3.5, -2.5, 1000 (saturates), -1000, and NaN.
  const float x[] = {1.25f, 1.75f, -1.25f, 500.0f, -500.0f, std::nanf(""),
                     std::numeric_limits<float>::infinity()};
  int8_t y[7];
  ASSERT_TRUE(RunQuant(Scalar(), Params(QuantKind::kQuantizeS8, s, 3), 7, x, y).ok());
  const int expect[] = {2 + 3, 4 + 3, -2 + 3, 127, -128, 3, 127};
  for (int i = 0; i < 7; ++i) EXPECT_EQ(y[i], expect[i]) << "x=" << x[i];
  uint8_t u[7];
  ASSERT_TRUE(RunQuant(Scalar(), Params(QuantKind::kQuantizeU8, s, 128), 7, x, u).ok());
  const int expect_u[] = {130, 132, 126, 255, 0, 128, 255};
  for (int i = 0; i < 7; ++i) EXPECT_EQ(u[i], expect_u[i]) << "x=" << x[i];
}

TEST(QS8QuantScalar, ConversionPreservesTheRealValueOfEveryCode) {
  // u8 code q with zero point z and s8 code q - 128 with zero point z - 128 dequantize to the
  // same real number, for every code and zero point.
  std::vector<uint8_t> u(256);
  for (int i = 0; i < 256; ++i) u[i] = static_cast<uint8_t>(i);
  std::vector<int8_t> s(256);
  std::vector<uint8_t> back(256);
  ASSERT_TRUE(RunQuant(Scalar(), Params(QuantKind::kConvertU8ToS8, 1, 0), 256, u.data(), s.data()).ok());
  ASSERT_TRUE(RunQuant(Scalar(), Params(QuantKind::kConvertS8ToU8, 1, 0), 256, s.data(), back.data()).ok());
  EXPECT_EQ(u, back);
  for (int32_t z = 0; z < 256; z += 17) {
    const int32_t z8 = ConvertedZeroPoint(QuantKind::kConvertU8ToS8, z);
    std::vector<float> fu(256), fs(256);
    ASSERT_TRUE(RunQuant(Scalar(), Params(QuantKind::kDequantizeU8, 0.037f, z), 256, u.data(), fu.data()).ok());
    ASSERT_TRUE(RunQuant(Scalar(), Params(QuantKind::kDequantizeS8, 0.037f, z8), 256, s.data(), fs.data()).ok());
    for (int i = 0; i < 256; ++i) {
      ASSERT_EQ(fu[i], fs[i]) << "code " << i << " zp " << z;
      ASSERT_EQ(fu[i], static_cast<float>(i - z) * 0.037f);
    }
  }
}

TEST(QS8QuantScalar, RejectsZeroPointsOutsideTheType) {
  QS8QuantOp op;
  EXPECT_FALSE(Scalar().create(Params(QuantKind::kQuantizeS8, 0.1f, 200), &op).ok());
  QS8QuantParams p = Params(QuantKind::kQuantizeU8, 0.1f, 10);
  p.qparams.qmin = -5;
  EXPECT_FALSE(Scalar().create(p, &op).ok());
  EXPECT_FALSE(Scalar().create(Params(QuantKind::kDequantizeS8, -1.0f, 0), &op).ok());
}

class QS8QuantVariantTest : public ::testing::TestWithParam<QS8QuantVariant> {
 protected:
  void SetUp() override {
    if (!GetParam().available()) {
      GTEST_SKIP() << "ISA " << IsaName(GetParam().isa) << " is not compiled into this build";
    }
  }
};

TEST_P(QS8QuantVariantTest, MatchesScalarBitForBit) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(50);
  std::uniform_real_distribution<float> d(-300.0f, 300.0f);
  const float scale = 0.75f;
  std::vector<float> x(1000);
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = d(rng);
    if (i % 3 == 0) x[i] = (std::floor(x[i]) + 0.5f) * scale;  // exact ties of x / scale
  }
  x[5] = std::nanf("");
  x[6] = std::numeric_limits<float>::infinity();
  x[7] = -std::numeric_limits<float>::infinity();
  x[8] = std::numeric_limits<float>::denorm_min();
  x[9] = -0.0f;
  auto codes = qp::testing::RandomInt8(rng, 1000);
  for (QuantKind kind : {QuantKind::kQuantizeS8, QuantKind::kQuantizeU8, QuantKind::kDequantizeS8,
                         QuantKind::kDequantizeU8, QuantKind::kConvertU8ToS8,
                         QuantKind::kConvertS8ToU8}) {
    const bool u8 = kind == QuantKind::kQuantizeU8 || kind == QuantKind::kDequantizeU8;
    const QS8QuantParams p = Params(kind, scale, u8 ? 77 : -9);
    const bool from_float = kind == QuantKind::kQuantizeS8 || kind == QuantKind::kQuantizeU8;
    const bool to_float = kind == QuantKind::kDequantizeS8 || kind == QuantKind::kDequantizeU8;
    const void* in = from_float ? static_cast<const void*>(x.data()) : codes.data();
    const size_t out_size = to_float ? 4 : 1;
    for (size_t n : {size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{33}, size_t{1000}}) {
      std::vector<uint8_t> want(n * out_size + 1, 0x5A), got(n * out_size + 1, 0x5A);
      ASSERT_TRUE(RunQuant(Scalar(), p, n, in, want.data()).ok());
      ASSERT_TRUE(RunQuant(GetParam(), p, n, in, got.data()).ok());
      ASSERT_EQ(got.back(), 0x5A) << GetParam().name << " wrote past n=" << n;
      for (size_t i = 0; i < n * out_size; ++i) {
        ASSERT_EQ(int(got[i]), int(want[i])) << GetParam().name << " " << QuantKindName(kind)
                                             << " byte " << i << " n=" << n << " input "
                                             << (from_float ? x[i / out_size] : codes[i / out_size]);
      }
    }
  }
}

std::string QuantName(const ::testing::TestParamInfo<QS8QuantVariant>& i) { return i.param.name; }
INSTANTIATE_TEST_SUITE_P(Variants, QS8QuantVariantTest, ::testing::ValuesIn(QS8QuantVariants()), QuantName);

}  // namespace
}  // namespace qp::kernels
