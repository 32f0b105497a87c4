// Pooling: max pooling against a brute-force max written here, average and global average
// pooling against real math within one step; every variant of the three .inc lists against the
// scalar reference, bit-exact (geometries with padding, strides, dilation, channel tails, batch).
#include <cmath>

#include <gtest/gtest.h>

#include "kernels/qs8-pool/qs8-pool.h"
#include "tests/kernels/kernel_test_util.h"
#include "tests/test_util.h"

namespace qp::kernels {
namespace {

using qp::testing::kSentinel;

struct PoolCase {
  size_t batch, in_h, in_w;
  PoolGeometry g;
};

PoolGeometry Geo(size_t c, size_t k, size_t s, size_t pad, size_t dil = 1) {
  PoolGeometry g;
  g.channels = c;
  g.kernel_h = g.kernel_w = k;
  g.stride_h = g.stride_w = s;
  g.dilation_h = g.dilation_w = dil;
  g.pad_top = g.pad_left = g.pad_bottom = g.pad_right = pad;
  return g;
}

std::vector<PoolCase> Cases() {
  std::vector<PoolCase> cs = {
      {1, 8, 8, Geo(16, 2, 2, 0)},  {2, 7, 9, Geo(17, 3, 2, 1)}, {1, 6, 6, Geo(1, 3, 1, 1)},
      {1, 9, 7, Geo(33, 3, 3, 0)},  {1, 5, 5, Geo(8, 2, 1, 1)},  {3, 10, 10, Geo(24, 3, 2, 2, 2)},
      {1, 7, 7, Geo(40, 7, 1, 0)},  {1, 3, 4, Geo(15, 3, 1, 1)},
  };
  PoolGeometry asym = Geo(12, 3, 2, 0);
  asym.kernel_w = 2;
  asym.pad_top = 2;
  asym.pad_right = 1;
  asym.input_pixel_stride = 15;
  asym.output_pixel_stride = 13;
  cs.push_back({2, 6, 7, asym});
  return cs;
}

size_t OutSize(size_t in, size_t pa, size_t pb, size_t k, size_t s, size_t d) {
  return (in + pa + pb - d * (k - 1) - 1) / s + 1;
}

struct PoolBuffers {
  std::vector<int8_t> x;
  size_t out_h, out_w, in_stride, out_stride, out_elems;
};

PoolBuffers MakeBuffers(std::mt19937_64& rng, const PoolCase& c) {
  PoolBuffers b;
  const PoolGeometry& g = c.g;
  b.in_stride = g.input_pixel_stride ? g.input_pixel_stride : g.channels;
  b.out_stride = g.output_pixel_stride ? g.output_pixel_stride : g.channels;
  b.out_h = OutSize(c.in_h, g.pad_top, g.pad_bottom, g.kernel_h, g.stride_h, g.dilation_h);
  b.out_w = OutSize(c.in_w, g.pad_left, g.pad_right, g.kernel_w, g.stride_w, g.dilation_w);
  b.x = qp::testing::RandomInt8(rng, c.batch * c.in_h * c.in_w * b.in_stride);
  b.out_elems = c.batch * b.out_h * b.out_w * b.out_stride;
  return b;
}

// Visits (batch, oy, ox, channel) with the values inside the window (brute force, for oracles).
template <typename Fn>
void ForEachOutput(const PoolCase& c, const PoolBuffers& b, Fn fn) {
  const PoolGeometry& g = c.g;
  for (size_t n = 0; n < c.batch; ++n)
    for (size_t oy = 0; oy < b.out_h; ++oy)
      for (size_t ox = 0; ox < b.out_w; ++ox)
        for (size_t ch = 0; ch < g.channels; ++ch) {
          std::vector<int> vals;
          for (size_t ky = 0; ky < g.kernel_h; ++ky)
            for (size_t kx = 0; kx < g.kernel_w; ++kx) {
              const long iy = long(oy * g.stride_h + ky * g.dilation_h) - long(g.pad_top);
              const long ix = long(ox * g.stride_w + kx * g.dilation_w) - long(g.pad_left);
              if (iy < 0 || ix < 0 || iy >= long(c.in_h) || ix >= long(c.in_w)) continue;
              vals.push_back(b.x[((n * c.in_h + iy) * c.in_w + ix) * b.in_stride + ch]);
            }
          fn(((n * b.out_h + oy) * b.out_w + ox) * b.out_stride + ch, vals);
        }
}

Status CheckPadding(const PoolCase& c, const PoolBuffers& b, const std::vector<int8_t>& out) {
  for (size_t i = 0; i < out.size(); ++i) {
    const bool written = i < b.out_elems && i % b.out_stride < c.g.channels;
    if (!written && out[i] != kSentinel) return Internal("wrote padding element ", i);
  }
  return Status::Ok();
}

// ---- max pooling ----------------------------------------------------------------------------------

TEST(QS8MaxPoolScalar, EqualsBruteForceMaxWithClamp) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(40);
  for (const PoolCase& c : Cases()) {
    PoolBuffers b = MakeBuffers(rng, c);
    QS8MaxPoolParams p{c.g, -20, 100};
    QS8MaxPoolOp op;
    ASSERT_TRUE(QS8MaxPoolVariants().front().create(p, &op).ok());
    std::vector<int8_t> out(b.out_elems + b.out_stride, kSentinel);
    ASSERT_TRUE(QS8MaxPoolVariants().front().run(op, c.batch, c.in_h, c.in_w, b.x.data(), out.data()).ok());
    ASSERT_TRUE(CheckPadding(c, b, out).ok());
    ForEachOutput(c, b, [&](size_t idx, const std::vector<int>& v) {
      const int m = *std::max_element(v.begin(), v.end());
      ASSERT_EQ(out[idx], std::min(100, std::max(-20, m))) << idx;
    });
  }
}

template <typename Variant>
class PoolVariantTest : public ::testing::TestWithParam<Variant> {
 protected:
  void SetUp() override {
    if (!this->GetParam().available()) {
      GTEST_SKIP() << "ISA " << IsaName(this->GetParam().isa) << " is not compiled into this build";
    }
  }
};

class QS8MaxPoolVariantTest : public PoolVariantTest<QS8MaxPoolVariant> {};

TEST_P(QS8MaxPoolVariantTest, MatchesScalar) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(41);
  for (const PoolCase& c : Cases()) {
    for (auto [lo, hi] : {std::pair{-128, 127}, {0, 127}, {-50, -40}}) {
      PoolBuffers b = MakeBuffers(rng, c);
      QS8MaxPoolParams p{c.g, lo, hi};
      QS8MaxPoolOp ref, op;
      ASSERT_TRUE(QS8MaxPoolVariants().front().create(p, &ref).ok());
      ASSERT_TRUE(GetParam().create(p, &op).ok());
      std::vector<int8_t> want(b.out_elems + b.out_stride, kSentinel), got = want;
      ASSERT_TRUE(QS8MaxPoolVariants().front().run(ref, c.batch, c.in_h, c.in_w, b.x.data(), want.data()).ok());
      ASSERT_TRUE(GetParam().run(op, c.batch, c.in_h, c.in_w, b.x.data(), got.data()).ok());
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(int(got[i]), int(want[i])) << GetParam().name << " element " << i << " channels "
                                             << c.g.channels << " kernel " << c.g.kernel_h;
      }
    }
  }
}

std::string MaxName(const ::testing::TestParamInfo<QS8MaxPoolVariant>& i) { return i.param.name; }
INSTANTIATE_TEST_SUITE_P(Variants, QS8MaxPoolVariantTest, ::testing::ValuesIn(QS8MaxPoolVariants()), MaxName);

// ---- average pooling ------------------------------------------------------------------------------

QS8AvgPoolParams AvgParams(const PoolGeometry& g, bool include_pad, quant::RequantScheme scheme,
                           int32_t zx, int32_t zy, int32_t lo = -128, int32_t hi = 127) {
  QS8AvgPoolParams p;
  p.geometry = g;
  p.count_include_pad = include_pad;
  p.input_zero_point = zx;
  p.input_scale = 0.05f;
  p.output_scale = 0.031f;
  p.output.scheme = scheme;
  p.output.zero_point = zy;
  p.output.qmin = lo;
  p.output.qmax = hi;
  return p;
}

TEST(QS8AvgPoolScalar, WithinOneQuantizationStepOfRealMath) {
  // Exact integer sum; fp32: scale = ratio / count rounded twice (< 2^-23 relative), product and
  // rounding of a value below 2^8: within 0.5 + 1e-3 of the real mean.
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(42);
  for (const PoolCase& c : Cases()) {
    for (bool include_pad : {false, true}) {
      PoolBuffers b = MakeBuffers(rng, c);
      QS8AvgPoolParams p = AvgParams(c.g, include_pad, quant::RequantScheme::kFp32, 7, -9);
      QS8AvgPoolOp op;
      ASSERT_TRUE(QS8AvgPoolVariants().front().create(p, &op).ok());
      std::vector<int8_t> out(b.out_elems + b.out_stride, kSentinel);
      ASSERT_TRUE(QS8AvgPoolVariants().front().run(op, c.batch, c.in_h, c.in_w, b.x.data(), out.data()).ok());
      ASSERT_TRUE(CheckPadding(c, b, out).ok());
      ForEachOutput(c, b, [&](size_t idx, const std::vector<int>& v) {
        double sum = 0;
        for (int x : v) sum += x - 7;
        const double count = include_pad ? double(c.g.kernel_h * c.g.kernel_w) : double(v.size());
        double real = sum / count * 0.05 / 0.031 - 9;
        real = std::min(127.0, std::max(-128.0, real));
        ASSERT_LE(std::fabs(out[idx] - real), 0.5 + 1e-3) << idx << " include_pad=" << include_pad;
      });
    }
  }
}

class QS8AvgPoolVariantTest : public PoolVariantTest<QS8AvgPoolVariant> {};

TEST_P(QS8AvgPoolVariantTest, MatchesScalar) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(43);
  int i = 0;
  for (const PoolCase& c : Cases()) {
    for (bool include_pad : {false, true}) {
      ++i;
      PoolBuffers b = MakeBuffers(rng, c);
      QS8AvgPoolParams p = AvgParams(c.g, include_pad, i % 3 ? quant::RequantScheme::kFp32 : quant::RequantScheme::kQ31,
                                     (i * 37) % 256 - 128, (i * 91) % 256 - 128, i % 4 ? -128 : 0, 127);
      QS8AvgPoolOp ref, op;
      ASSERT_TRUE(QS8AvgPoolVariants().front().create(p, &ref).ok());
      ASSERT_TRUE(GetParam().create(p, &op).ok());
      std::vector<int8_t> want(b.out_elems + b.out_stride, kSentinel), got = want;
      ASSERT_TRUE(QS8AvgPoolVariants().front().run(ref, c.batch, c.in_h, c.in_w, b.x.data(), want.data()).ok());
      ASSERT_TRUE(GetParam().run(op, c.batch, c.in_h, c.in_w, b.x.data(), got.data()).ok());
      for (size_t j = 0; j < want.size(); ++j) {
        ASSERT_EQ(int(got[j]), int(want[j])) << GetParam().name << " element " << j << " channels "
                                             << c.g.channels << " include_pad " << include_pad;
      }
    }
  }
}

std::string AvgName(const ::testing::TestParamInfo<QS8AvgPoolVariant>& i) { return i.param.name; }
INSTANTIATE_TEST_SUITE_P(Variants, QS8AvgPoolVariantTest, ::testing::ValuesIn(QS8AvgPoolVariants()), AvgName);

TEST(QS8PoolParams, BadGeometryAndScalesAreRejected) {
  QS8MaxPoolOp mop;
  PoolGeometry g = Geo(4, 2, 2, 2);  // padding as large as the window
  EXPECT_EQ(QS8MaxPoolVariants().front().create({g, -128, 127}, &mop).code(), StatusCode::kInvalidArgument);
  QS8AvgPoolOp aop;
  QS8AvgPoolParams p = AvgParams(Geo(4, 2, 2, 0), false, quant::RequantScheme::kFp32, 0, 0);
  p.output_scale = -1.0f;
  EXPECT_FALSE(QS8AvgPoolVariants().front().create(p, &aop).ok());
  p.output_scale = 1e-6f;  // ratio 5e4 is outside [2^-8, 2^8)
  EXPECT_EQ(QS8AvgPoolVariants().front().create(p, &aop).code(), StatusCode::kOutOfRange);
}

// ---- global average pooling -----------------------------------------------------------------------

QS8GlobalAvgPoolParams GapParams(size_t channels, size_t width, size_t stride, quant::RequantScheme s,
                                 int32_t zx, int32_t zy, int32_t lo = -128, int32_t hi = 127) {
  QS8GlobalAvgPoolParams p;
  p.channels = channels;
  p.width = width;
  p.input_pixel_stride = stride;
  p.input_zero_point = zx;
  p.input_output_ratio = 0.05f / 0.02f;
  p.requant = *quant::MakeAvgPoolRequant(0.05f / 0.02f, 1.0f, width);
  p.output.scheme = s;
  p.output.zero_point = zy;
  p.output.qmin = lo;
  p.output.qmax = hi;
  return p;
}

TEST(QS8GlobalAvgPoolScalar, WithinOneQuantizationStepOfRealMath) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(44);
  for (size_t width : {1, 7, 49, 196}) {
    const size_t channels = 13;
    auto x = qp::testing::RandomInt8(rng, 2 * width * channels);
    QS8GlobalAvgPoolOp op;
    ASSERT_TRUE(QS8GlobalAvgPoolVariants().front().create(GapParams(channels, width, 0, quant::RequantScheme::kFp32, -5, 3), &op).ok());
    std::vector<int8_t> out(2 * channels);
    ASSERT_TRUE(QS8GlobalAvgPoolVariants().front().run(op, 2, x.data(), out.data()).ok());
    for (size_t b = 0; b < 2; ++b)
      for (size_t c = 0; c < channels; ++c) {
        double sum = 0;
        for (size_t i = 0; i < width; ++i) sum += x[(b * width + i) * channels + c] + 5;
        const double real = std::min(127.0, std::max(-128.0, sum / width * 2.5 + 3));
        ASSERT_LE(std::fabs(out[b * channels + c] - real), 0.5 + 1e-3) << "width " << width;
      }
  }
}

class QS8GlobalAvgPoolVariantTest : public PoolVariantTest<QS8GlobalAvgPoolVariant> {};

TEST_P(QS8GlobalAvgPoolVariantTest, MatchesScalar) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(45);
  size_t checked = 0, total = 0;
  int i = 0;
  for (size_t channels : {1, 7, 8, 9, 16, 33, 1280}) {
    for (size_t width : {1, 3, 49}) {
      ++i;
      ++total;
      const size_t stride = channels + (i % 3 == 0 ? 4 : 0);
      const size_t batch = 1 + i % 2;
      auto x = qp::testing::RandomInt8(rng, batch * width * stride);
      QS8GlobalAvgPoolParams p = GapParams(channels, width, stride,
                                           i % 4 == 3 ? quant::RequantScheme::kQ31 : quant::RequantScheme::kFp32,
                                           (i * 41) % 256 - 128, (i * 13) % 256 - 128, i % 5 ? -128 : 0, 127);
      QS8GlobalAvgPoolOp ref, op;
      ASSERT_TRUE(QS8GlobalAvgPoolVariants().front().create(p, &ref).ok());
      const Status s = GetParam().create(p, &op);
      if (s.code() == StatusCode::kUnimplemented) continue;
      ASSERT_TRUE(s.ok()) << s.ToString();
      ++checked;
      std::vector<int8_t> want(batch * channels + 1, kSentinel), got = want;
      ASSERT_TRUE(QS8GlobalAvgPoolVariants().front().run(ref, batch, x.data(), want.data()).ok());
      ASSERT_TRUE(GetParam().run(op, batch, x.data(), got.data()).ok());
      for (size_t j = 0; j < want.size(); ++j) {
        ASSERT_EQ(int(got[j]), int(want[j])) << GetParam().name << " element " << j << " channels "
                                             << channels << " width " << width;
      }
    }
  }
  EXPECT_GT(checked, total / 2);
}

std::string GapName(const ::testing::TestParamInfo<QS8GlobalAvgPoolVariant>& i) { return i.param.name; }
INSTANTIATE_TEST_SUITE_P(Variants, QS8GlobalAvgPoolVariantTest,
                         ::testing::ValuesIn(QS8GlobalAvgPoolVariants()), GapName);

}  // namespace
}  // namespace qp::kernels
