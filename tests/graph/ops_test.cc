// ops.h forwards against plain reimplementations inside this test (direct convolution loops,
// triple-loop matmul, numpy-style index arithmetic), on random shapes from the seeded Rng.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/graph/ops.h"
#include "tests/test_util.h"

namespace qp {
namespace {

Tensor RandomTensor(Shape s, std::mt19937_64& rng, float lo = -1.f, float hi = 1.f) {
  Tensor t(DType::kFloat32, std::move(s));
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = d(rng);
  return t;
}

// Float sums of K products in another order differ by at most ~K * eps * sum|terms|; inputs are in
// [-1, 1], so 1e-5 relative to sum|terms| (bounded by K) is a safe, still tight, bound.
void ExpectNear(const std::vector<double>& want, const Tensor& got, double k, const std::string& what) {
  ASSERT_EQ(static_cast<int64_t>(want.size()), got.numel()) << what;
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(want[i], got.f32()[i], 1e-5 * std::max(1.0, k)) << what << " index " << i;
}

// Direct convolution, 2-D, with groups, strides, dilations and explicit (asymmetric) pads.
std::vector<double> NaiveConv2D(const Tensor& x, const Tensor& w, const Tensor* b, int64_t group,
                                std::array<int64_t, 2> s, std::array<int64_t, 2> d,
                                std::array<int64_t, 4> pads, Shape* out_shape) {
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
  const int64_t m = w.dim(0), cg = w.dim(1), kh = w.dim(2), kw = w.dim(3);
  const int64_t oh = (h + pads[0] + pads[2] - ((kh - 1) * d[0] + 1)) / s[0] + 1;
  const int64_t ow = (wd + pads[1] + pads[3] - ((kw - 1) * d[1] + 1)) / s[1] + 1;
  *out_shape = {n, m, oh, ow};
  std::vector<double> y(n * m * oh * ow, 0.0);
  const int64_t mg = m / group;
  (void)c;
  for (int64_t in = 0; in < n; ++in)
    for (int64_t om = 0; om < m; ++om)
      for (int64_t y0 = 0; y0 < oh; ++y0)
        for (int64_t x0 = 0; x0 < ow; ++x0) {
          double acc = b ? b->f32()[om] : 0.0;
          const int64_t g = om / mg;
          for (int64_t ic = 0; ic < cg; ++ic)
            for (int64_t ky = 0; ky < kh; ++ky)
              for (int64_t kx = 0; kx < kw; ++kx) {
                const int64_t iy = y0 * s[0] - pads[0] + ky * d[0];
                const int64_t ix = x0 * s[1] - pads[1] + kx * d[1];
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                acc += double(x.f32()[((in * x.dim(1) + g * cg + ic) * h + iy) * wd + ix]) *
                       w.f32()[((om * cg + ic) * kh + ky) * kw + kx];
              }
          y[((in * m + om) * oh + y0) * ow + x0] = acc;
        }
  return y;
}

TEST(GraphOps, ConvMatchesDirectLoopsOnRandomGeometries) {
  SCOPED_TRACE(testing::SeedTrace());
  auto rng = testing::Rng(1);
  std::uniform_int_distribution<int> u(0, 1000);
  for (int iter = 0; iter < 40; ++iter) {
    const int64_t group = std::vector<int64_t>{1, 1, 2, 3}[u(rng) % 4];
    const bool depthwise = u(rng) % 4 == 0;
    const int64_t cg = depthwise ? 1 : 1 + u(rng) % 3;
    const int64_t g = depthwise ? 2 + u(rng) % 4 : group;
    const int64_t c = cg * g, m = g * (depthwise ? 1 : 1 + u(rng) % 3);
    const int64_t kh = 1 + u(rng) % 3, kw = 1 + u(rng) % 3;
    const std::array<int64_t, 2> s = {1 + u(rng) % 2, 1 + u(rng) % 3};
    const std::array<int64_t, 2> d = {1 + u(rng) % 2, 1 + u(rng) % 2};
    const std::array<int64_t, 4> pads = {u(rng) % 3, u(rng) % 2, u(rng) % 2, u(rng) % 3};
    const int64_t h = (kh - 1) * d[0] + 1 + u(rng) % 6, wd = (kw - 1) * d[1] + 1 + u(rng) % 7;
    Tensor x = RandomTensor({1 + u(rng) % 2, c, h, wd}, rng);
    Tensor w = RandomTensor({m, cg, kh, kw}, rng);
    Tensor b = RandomTensor({m}, rng);
    const bool with_bias = u(rng) % 2;
    ops::ConvAttrs a;
    a.group = g;
    a.strides = {s[0], s[1]};
    a.dilations = {d[0], d[1]};
    a.pads = {pads[0], pads[1], pads[2], pads[3]};
    Shape want_shape;
    std::vector<double> want = NaiveConv2D(x, w, with_bias ? &b : nullptr, g, s, d, pads, &want_shape);
    Result<Tensor> y = ops::Conv(x, w, with_bias ? &b : nullptr, a);
    ASSERT_TRUE(y.ok()) << y.status().ToString();
    ASSERT_EQ(y->shape(), want_shape) << "iter " << iter;
    ExpectNear(want, *y, double(cg * kh * kw), "conv iter " + std::to_string(iter));
  }
}

TEST(GraphOps, ConvAutoPadSameMatchesExplicitPads) {
  // SAME_UPPER with k=4, s=1 on width 7: total pad 3, begin 1, end 2 (ONNX spec); SAME_LOWER flips.
  auto rng = testing::Rng(2);
  Tensor x = RandomTensor({1, 2, 5, 7}, rng);
  Tensor w = RandomTensor({3, 2, 4, 4}, rng);
  for (auto [mode, pads] : {std::pair{ops::AutoPad::kSameUpper, std::vector<int64_t>{1, 1, 2, 2}},
                            std::pair{ops::AutoPad::kSameLower, std::vector<int64_t>{2, 2, 1, 1}}}) {
    ops::ConvAttrs a1, a2;
    a1.auto_pad = mode;
    a2.pads = pads;
    Result<Tensor> y1 = ops::Conv(x, w, nullptr, a1), y2 = ops::Conv(x, w, nullptr, a2);
    ASSERT_TRUE(y1.ok() && y2.ok());
    ASSERT_EQ(y1->shape(), (Shape{1, 3, 5, 7}));
    for (int64_t i = 0; i < y1->numel(); ++i) ASSERT_EQ(y1->f32()[i], y2->f32()[i]);
  }
}

TEST(GraphOps, MatMulBroadcastsBatchesLikeNumpy) {
  SCOPED_TRACE(testing::SeedTrace());
  auto rng = testing::Rng(3);
  Tensor a = RandomTensor({2, 1, 3, 5}, rng), b = RandomTensor({4, 5, 6}, rng);
  Result<Tensor> y = ops::MatMul(a, b);
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  ASSERT_EQ(y->shape(), (Shape{2, 4, 3, 6}));
  std::vector<double> want;
  for (int i0 = 0; i0 < 2; ++i0)
    for (int i1 = 0; i1 < 4; ++i1)
      for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 6; ++c) {
          double acc = 0;
          for (int k = 0; k < 5; ++k) acc += double(a.f32()[(i0 * 3 + r) * 5 + k]) * b.f32()[(i1 * 5 + k) * 6 + c];
          want.push_back(acc);
        }
  ExpectNear(want, *y, 5, "matmul");
  // 1-D operands are promoted and the added dim removed.
  Tensor v = RandomTensor({5}, rng);
  Result<Tensor> yv = ops::MatMul(v, b);
  ASSERT_TRUE(yv.ok());
  EXPECT_EQ(yv->shape(), (Shape{4, 6}));
}

TEST(GraphOps, GemmAllAttributesAgainstLoops) {
  SCOPED_TRACE(testing::SeedTrace());
  auto rng = testing::Rng(4);
  // A' = A^T [7 x 9], B' = B^T [9 x 70] (N spans GemmF32's 4-row and column blocks), C [1, 70].
  Tensor a = RandomTensor({9, 7}, rng), b = RandomTensor({70, 9}, rng), c = RandomTensor({1, 70}, rng);
  ops::GemmAttrs at{0.5f, -2.f, true, true};
  Result<Tensor> y = ops::Gemm(a, b, &c, at);
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  std::vector<double> want;
  for (int i = 0; i < 7; ++i)
    for (int j = 0; j < 70; ++j) {
      double acc = 0;
      for (int k = 0; k < 9; ++k) acc += double(a.f32()[k * 7 + i]) * b.f32()[j * 9 + k];
      want.push_back(0.5 * acc - 2.0 * c.f32()[j]);
    }
  ExpectNear(want, *y, 9, "gemm");
  Tensor bad = RandomTensor({3, 70}, rng);
  EXPECT_FALSE(ops::Gemm(a, b, &bad, at).ok()) << "C [3, 70] must not broadcast to [7, 70]";
}

TEST(GraphOps, BinaryBroadcastAndIntegerDivision) {
  Tensor a = Tensor::FromVector<float>({2, 3, 1}, {1, 2, 3, 4, 5, 6});
  Tensor b = Tensor::FromVector<float>({1, 4}, {10, 20, 30, 40});
  Result<Tensor> y = ops::Sub(a, b);
  ASSERT_TRUE(y.ok());
  ASSERT_EQ(y->shape(), (Shape{2, 3, 4}));
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_EQ(y->f32()[i * 4 + j], float(i + 1) - float(10 * (j + 1)));
  Tensor p = Tensor::FromVector<int32_t>({3}, {7, -7, 9}), q = Tensor::FromVector<int32_t>({3}, {2, 2, 0});
  EXPECT_FALSE(ops::Div(p, q).ok()) << "integer division by zero must be an error";
  Tensor q2 = Tensor::FromVector<int32_t>({3}, {2, 2, 4});
  Result<Tensor> r = ops::Div(p, q2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data<int32_t>()[1], -3) << "C++ / ONNX integer Div truncates toward zero";
  EXPECT_FALSE(ops::Add(a, Tensor::FromVector<float>({4, 2}, std::vector<float>(8))).ok());
}

TEST(GraphOps, SoftmaxLegacyCoercesTo2D) {
  // Opset < 13 normalizes over all dims from axis on; opset 13 over the axis only.
  auto rng = testing::Rng(5);
  Tensor x = RandomTensor({2, 3, 4}, rng, -3, 3);
  Result<Tensor> legacy = ops::Softmax(x, 1, true), axis = ops::Softmax(x, 1, false);
  ASSERT_TRUE(legacy.ok() && axis.ok());
  for (int n = 0; n < 2; ++n) {
    double sum = 0, denom = 0;
    for (int i = 0; i < 12; ++i) denom += std::exp(double(x.f32()[n * 12 + i]));
    for (int i = 0; i < 12; ++i) {
      sum += legacy->f32()[n * 12 + i];
      EXPECT_NEAR(legacy->f32()[n * 12 + i], std::exp(double(x.f32()[n * 12 + i])) / denom, 1e-6);
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
    for (int k = 0; k < 4; ++k) {
      double s = 0;
      for (int c = 0; c < 3; ++c) s += axis->f32()[n * 12 + c * 4 + k];
      EXPECT_NEAR(s, 1.0, 1e-5);
    }
  }
  Result<Tensor> ls = ops::LogSoftmax(x, -1);
  ASSERT_TRUE(ls.ok());
  Result<Tensor> sm = ops::Softmax(x, -1);
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_NEAR(std::exp(ls->f32()[i]), sm->f32()[i], 1e-6);
}

TEST(GraphOps, PadModesMatchNumpy) {
  Tensor x = Tensor::FromVector<float>({1, 3}, {1, 2, 3});
  // numpy.pad([1,2,3], (2,3), mode): reflect -> 3 2 1 2 3 2 1 2; edge -> 1 1 1 2 3 3 3 3.
  Result<Tensor> r = ops::Pad(x, {0, 2, 0, 3}, ops::PadMode::kReflect, 0);
  Result<Tensor> e = ops::Pad(x, {0, 2, 0, 3}, ops::PadMode::kEdge, 0);
  Result<Tensor> c = ops::Pad(x, {0, 1, 0, -1}, ops::PadMode::kConstant, 9);
  ASSERT_TRUE(r.ok() && e.ok() && c.ok());
  EXPECT_EQ(r->ToFloatVector(), (std::vector<float>{3, 2, 1, 2, 3, 2, 1, 2}));
  EXPECT_EQ(e->ToFloatVector(), (std::vector<float>{1, 1, 1, 2, 3, 3, 3, 3}));
  EXPECT_EQ(c->ToFloatVector(), (std::vector<float>{9, 1, 2})) << "negative pads crop";
}

TEST(GraphOps, PoolCeilModeAndCountIncludePad) {
  // 1x1x5 input, k=2, s=2, pads [1, 1], count_include_pad: windows [-1,1) [1,3) [3,5) -> / 2.
  Tensor x = Tensor::FromVector<float>({1, 1, 5}, {1, 2, 3, 4, 5});
  ops::PoolAttrs a;
  a.kernel_shape = {2};
  a.strides = {2};
  a.pads = {1, 1};
  a.count_include_pad = true;
  Result<Tensor> y = ops::AveragePool(x, a);
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(y->ToFloatVector(), (std::vector<float>{0.5f, 2.5f, 4.5f}));
  a.count_include_pad = false;
  y = ops::AveragePool(x, a);
  EXPECT_EQ(y->ToFloatVector(), (std::vector<float>{1.f, 2.5f, 4.5f}));
  // ceil_mode without pads: k=2, s=2 on 5 -> 3 windows, the last one partial.
  ops::PoolAttrs m;
  m.kernel_shape = {2};
  m.strides = {2};
  m.ceil_mode = true;
  Result<Tensor> mp = ops::MaxPool(x, m);
  ASSERT_TRUE(mp.ok());
  EXPECT_EQ(mp->ToFloatVector(), (std::vector<float>{2, 4, 5}));
}

TEST(GraphOps, LayoutOpsRejectBadAxes) {
  Tensor x(DType::kFloat32, {2, 1, 3});
  EXPECT_FALSE(ops::Squeeze(x, {0}).ok()) << "dim 0 has size 2";
  EXPECT_FALSE(ops::Transpose(x, {0, 0, 1}).ok());
  EXPECT_FALSE(ops::Flatten(x, 4).ok());
  EXPECT_FALSE(ops::Reshape(x, {-1, -1}, false).ok());
  EXPECT_FALSE(ops::Reshape(x, {4, 2}, false).ok());
  Result<Tensor> r = ops::Reshape(x, {0, -1}, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->shape(), (Shape{2, 3}));
  Result<Tensor> u = ops::Unsqueeze(x, {-1, 0});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->shape(), (Shape{1, 2, 1, 3, 1}));
}

}  // namespace
}  // namespace qp
