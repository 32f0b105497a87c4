// Every backward pass in core/train/backward.h against central finite differences of the ops.h
// forward (fd_check.h explains the step and the tolerance). BatchNormalization's training-mode
// forward lives in core/train, so it is also checked against a plain reimplementation and the
// ONNX inference formula (ops::BatchNormalization) fed with the batch statistics.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/graph/ops.h"
#include "core/train/backward.h"
#include "tests/test_util.h"
#include "tests/train/fd_check.h"

namespace qp::train {
namespace {

using ::qp::testing::Rng;
using ::qp::testing::SeedTrace;
using namespace ::qp::train::testing;  // NOLINT

struct ConvCase {
  const char* name;
  Shape x, w;
  ops::ConvAttrs attrs;
};

TEST(TrainBackward, ConvMatchesFiniteDifferences) {
  SCOPED_TRACE(SeedTrace());
  auto rng = Rng(101);
  auto attrs = [](std::vector<int64_t> s, std::vector<int64_t> d, std::vector<int64_t> p, int64_t g,
                  ops::AutoPad ap = ops::AutoPad::kNotSet) {
    ops::ConvAttrs a;
    a.strides = std::move(s);
    a.dilations = std::move(d);
    a.pads = std::move(p);
    a.group = g;
    a.auto_pad = ap;
    return a;
  };
  const std::vector<ConvCase> cases = {
      {"plain 3x3", {2, 3, 5, 5}, {4, 3, 3, 3}, attrs({}, {}, {}, 1)},
      {"stride 2, asymmetric pads", {1, 2, 6, 5}, {3, 2, 3, 2}, attrs({2, 2}, {}, {1, 0, 0, 2}, 1)},
      {"dilation 2", {1, 2, 7, 6}, {2, 2, 3, 2}, attrs({1, 1}, {2, 2}, {1, 1, 1, 1}, 1)},
      {"groups 2", {2, 4, 5, 4}, {6, 2, 2, 3}, attrs({1, 2}, {}, {0, 1, 1, 0}, 2)},
      {"depthwise", {1, 3, 6, 6}, {3, 1, 3, 3}, attrs({2, 1}, {1, 2}, {1, 2, 1, 2}, 3)},
      {"depthwise multiplier 2", {1, 2, 5, 5}, {4, 1, 3, 3}, attrs({}, {}, {1, 1, 1, 1}, 2)},
      {"auto_pad SAME_UPPER", {1, 2, 5, 6}, {2, 2, 2, 3}, attrs({2, 2}, {}, {}, 1, ops::AutoPad::kSameUpper)},
      {"1x1", {2, 3, 3, 4}, {5, 3, 1, 1}, attrs({}, {}, {}, 1)},
      {"1-D", {2, 3, 9}, {2, 3, 3}, attrs({2}, {2}, {2, 1}, 1)},
      {"3-D", {1, 2, 4, 3, 4}, {2, 2, 2, 2, 3}, attrs({1, 1, 2}, {}, {0, 1, 0, 1, 0, 1}, 1)},
  };
  for (const ConvCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<Tensor> in = {RandomTensor(c.x, rng), RandomTensor(c.w, rng),
                              RandomTensor({c.w[0]}, rng)};
    Forward f = [&](const std::vector<Tensor>& v) { return ops::Conv(v[0], v[1], &v[2], c.attrs); };
    Result<Tensor> y = f(in);
    ASSERT_TRUE(y.ok()) << y.status().ToString();
    const Tensor r = RandomTensor(y->shape(), rng);
    Result<ConvGrads> g = ConvBackward(in[0], in[1], r, c.attrs);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    ExpectGradMatchesFd(f, in, 0, r, g->dx, rng);
    ExpectGradMatchesFd(f, in, 1, r, g->dw, rng);
    ExpectGradMatchesFd(f, in, 2, r, g->db, rng);
    Result<ConvGrads> no_dx = ConvBackward(in[0], in[1], r, c.attrs, /*need_dx=*/false);
    ASSERT_TRUE(no_dx.ok());
    EXPECT_EQ(no_dx->dx.numel(), 0);
    EXPECT_EQ(std::memcmp(no_dx->dw.raw(), g->dw.raw(), g->dw.nbytes()), 0);
  }
  // dy of the wrong shape is an error, not a read out of bounds.
  EXPECT_FALSE(ConvBackward(RandomTensor({1, 1, 4, 4}, rng), RandomTensor({1, 1, 3, 3}, rng),
                            RandomTensor({1, 1, 3, 3}, rng), ops::ConvAttrs{})
                   .ok());
}

TEST(TrainBackward, GemmMatchesFiniteDifferencesForEveryTransposeAndBias) {
  SCOPED_TRACE(SeedTrace());
  auto rng = Rng(102);
  const int64_t m = 3, k = 4, n = 5;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (const Shape& cs : {Shape{n}, Shape{m, 1}, Shape{}, Shape{m, n}}) {
        SCOPED_TRACE(::testing::Message() << "transA " << ta << " transB " << tb << " C " << ShapeToString(cs));
        ops::GemmAttrs at;
        at.alpha = 0.7f;
        at.beta = -1.3f;
        at.trans_a = ta;
        at.trans_b = tb;
        std::vector<Tensor> in = {RandomTensor(ta ? Shape{k, m} : Shape{m, k}, rng),
                                  RandomTensor(tb ? Shape{n, k} : Shape{k, n}, rng), RandomTensor(cs, rng)};
        Forward f = [&](const std::vector<Tensor>& v) { return ops::Gemm(v[0], v[1], &v[2], at); };
        Result<Tensor> y = f(in);
        ASSERT_TRUE(y.ok()) << y.status().ToString();
        const Tensor r = RandomTensor(y->shape(), rng);
        Result<GemmGrads> g = GemmBackward(in[0], in[1], &in[2], r, at);
        ASSERT_TRUE(g.ok()) << g.status().ToString();
        for (size_t i = 0; i < 3; ++i) ExpectGradMatchesFd(f, in, i, r, i == 0 ? g->da : i == 1 ? g->db : g->dc, rng);
      }
}

TEST(TrainBackward, MatMulMatchesFiniteDifferencesWithBroadcastBatches) {
  SCOPED_TRACE(SeedTrace());
  auto rng = Rng(103);
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{3, 4}, {4, 2}}, {{2, 1, 3, 4}, {3, 4, 5}}, {{4}, {2, 4, 3}}, {{2, 3, 4}, {4}}, {{4}, {4}}};
  for (const auto& [as, bs] : cases) {
    SCOPED_TRACE(ShapeToString(as) + " x " + ShapeToString(bs));
    std::vector<Tensor> in = {RandomTensor(as, rng), RandomTensor(bs, rng)};
    Forward f = [](const std::vector<Tensor>& v) { return ops::MatMul(v[0], v[1]); };
    Result<Tensor> y = f(in);
    ASSERT_TRUE(y.ok()) << y.status().ToString();
    const Tensor r = RandomTensor(y->shape(), rng);
    Result<BinaryGrads> g = MatMulBackward(in[0], in[1], r);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    ExpectGradMatchesFd(f, in, 0, r, g->da, rng);
    ExpectGradMatchesFd(f, in, 1, r, g->db, rng);
  }
}

TEST(TrainBackward, BinaryOpsReduceGradientsOverBroadcastDims) {
  SCOPED_TRACE(SeedTrace());
  auto rng = Rng(104);
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{2, 3, 4}, {2, 3, 4}}, {{2, 3, 4}, {3, 1}}, {{1, 4}, {3, 1}}, {{2, 3}, {}}, {{5}, {2, 1, 5}}};
  for (ops::BinaryOp op : {ops::BinaryOp::kAdd, ops::BinaryOp::kSub, ops::BinaryOp::kMul, ops::BinaryOp::kDiv})
    for (const auto& [as, bs] : shapes) {
      SCOPED_TRACE(::testing::Message() << "op " << static_cast<int>(op) << " " << ShapeToString(as) << " "
                                        << ShapeToString(bs));
      // Div's b stays in |b| >= 0.5 so 1/b is smooth over the step.
      std::vector<Tensor> in = {RandomTensor(as, rng), AwayFromZero(bs, rng)};
      for (int64_t i = 0; i < in[1].numel(); ++i) in[1].f32()[i] = std::copysign(0.5f + std::fabs(in[1].f32()[i]), in[1].f32()[i]);
      Forward f = [op](const std::vector<Tensor>& v) { return ops::Binary(op, v[0], v[1]); };
      Result<Tensor> y = f(in);
      ASSERT_TRUE(y.ok()) << y.status().ToString();
      const Tensor r = RandomTensor(y->shape(), rng);
      Result<BinaryGrads> g = BinaryBackward(op, in[0], in[1], r);
      ASSERT_TRUE(g.ok()) << g.status().ToString();
      ExpectGradMatchesFd(f, in, 0, r, g->da, rng);
      ExpectGradMatchesFd(f, in, 1, r, g->db, rng);
    }
}

TEST(TrainBackward, ActivationsMatchFiniteDifferencesAwayFromKinks) {
  SCOPED_TRACE(SeedTrace());
  auto rng = Rng(105);
  const Shape s = {3, 17};
  using Back = std::function<Result<Tensor>(const Tensor&, const Tensor&)>;
  struct Case {
    const char* name;
    Forward f;
    Back b;
    Tensor x;
  };
  // HardSwish/HardSigmoid/Clip inputs avoid their kinks by more than h: spread over [-5, 5] then
  // nudged out of +-0.1 bands around each kink.
  auto spread = [&](std::vector<float> kinks) {
    Tensor t = RandomTensor(s, rng, -5.f, 5.f);
    for (int64_t i = 0; i < t.numel(); ++i)
      for (float k : kinks)
        if (std::fabs(t.f32()[i] - k) < 0.1f) t.f32()[i] = k + (t.f32()[i] < k ? -0.1f : 0.1f);
    return t;
  };
  const float hs_alpha = 0.2f, hs_beta = 0.5f;
  std::vector<Case> cases = {
      {"Relu", [](auto& v) { return ops::Relu(v[0]); }, ReluBackward, AwayFromZero(s, rng)},
      {"LeakyRelu", [](auto& v) { return ops::LeakyRelu(v[0], 0.1f); },
       [](const Tensor& x, const Tensor& d) { return LeakyReluBackward(x, d, 0.1f); }, AwayFromZero(s, rng)},
      {"Clip (ReLU6)", [](auto& v) { return ops::ClipF(v[0], 0.f, 6.f); },
       [](const Tensor& x, const Tensor& d) { return ClipBackward(x, d, 0.f, 6.f); }, spread({0.f, 6.f})},
      {"Sigmoid", [](auto& v) { return ops::Sigmoid(v[0]); }, SigmoidBackward, RandomTensor(s, rng, -4, 4)},
      {"Tanh", [](auto& v) { return ops::Tanh(v[0]); }, TanhBackward, RandomTensor(s, rng, -3, 3)},
      {"HardSwish", [](auto& v) { return ops::HardSwish(v[0]); }, HardSwishBackward, spread({-3.f, 3.f})},
      {"HardSigmoid", [&](auto& v) { return ops::HardSigmoid(v[0], hs_alpha, hs_beta); },
       [&](const Tensor& x, const Tensor& d) { return HardSigmoidBackward(x, d, hs_alpha, hs_beta); },
       spread({-2.5f, 2.5f})},
  };
  for (Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<Tensor> in = {c.x};
    const Tensor r = RandomTensor(s, rng);
    Result<Tensor> g = c.b(in[0], r);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    ExpectGradMatchesFd(c.f, in, 0, r, *g, rng);
  }
}

// Distinct values 0.05 apart in random order: a +-h = 1e-2 step never changes which input is the
// maximum of a window, so MaxPool is differentiable at every checked point.
Tensor DistinctValues(const Shape& shape, std::mt19937_64& rng) {
  Tensor t(DType::kFloat32, shape);
  std::vector<int64_t> perm(static_cast<size_t>(t.numel()));
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = 0.05f * static_cast<float>(perm[i]) - 2.f;
  return t;
}

TEST(TrainBackward, PoolingMatchesFiniteDifferences) {
  SCOPED_TRACE(SeedTrace());
  auto rng = Rng(106);
  auto pa = [](std::vector<int64_t> k, std::vector<int64_t> s, std::vector<int64_t> p, bool ceil,
               bool include_pad, std::vector<int64_t> d = {}) {
    ops::PoolAttrs a;
    a.kernel_shape = std::move(k);
    a.strides = std::move(s);
    a.pads = std::move(p);
    a.ceil_mode = ceil;
    a.count_include_pad = include_pad;
    a.dilations = std::move(d);
    return a;
  };
  const std::vector<std::pair<const char*, ops::PoolAttrs>> cases = {
      {"2x2 s2", pa({2, 2}, {2, 2}, {}, false, false)},
      {"3x3 s2 asymmetric pads", pa({3, 3}, {2, 2}, {1, 0, 0, 1}, false, false)},
      {"3x3 s2 pads include_pad", pa({3, 3}, {2, 2}, {1, 1, 1, 1}, false, true)},
      {"3x2 s2 ceil", pa({3, 2}, {2, 2}, {}, true, false)},
      {"3x2 s2 ceil include_pad", pa({3, 2}, {2, 2}, {0, 1, 0, 1}, true, true)},
      {"2x2 dilation 2 (MaxPool)", pa({2, 2}, {1, 1}, {}, false, false, {2, 2})},
  };
  for (const auto& c : cases) {
    const ops::PoolAttrs& attrs = c.second;  // a named reference: clang 14 cannot capture bindings
    SCOPED_TRACE(c.first);
    // 6 x 7 with stride 2 makes ceil-mode windows run past the padded end (the divisor rule).
    std::vector<Tensor> in = {DistinctValues({2, 2, 6, 7}, rng)};
    Forward fmax = [&](const std::vector<Tensor>& v) { return ops::MaxPool(v[0], attrs); };
    Result<Tensor> ym = fmax(in);
    ASSERT_TRUE(ym.ok()) << ym.status().ToString();
    const Tensor r = RandomTensor(ym->shape(), rng);
    Result<Tensor> gm = MaxPoolBackward(in[0], r, attrs);
    ASSERT_TRUE(gm.ok()) << gm.status().ToString();
    ExpectGradMatchesFd(fmax, in, 0, r, *gm, rng);
    if (!attrs.dilations.empty()) continue;  // AveragePool has no dilations
    Forward favg = [&](const std::vector<Tensor>& v) { return ops::AveragePool(v[0], attrs); };
    Result<Tensor> ga = AveragePoolBackward(in[0], r, attrs);
    ASSERT_TRUE(ga.ok()) << ga.status().ToString();
    ExpectGradMatchesFd(favg, in, 0, r, *ga, rng);
  }
  std::vector<Tensor> in = {RandomTensor({2, 3, 4, 5}, rng)};
  Forward fg = [](const std::vector<Tensor>& v) { return ops::GlobalAveragePool(v[0]); };
  const Tensor r = RandomTensor({2, 3, 1, 1}, rng);
  Result<Tensor> gg = GlobalAveragePoolBackward(in[0], r);
  ASSERT_TRUE(gg.ok());
  ExpectGradMatchesFd(fg, in, 0, r, *gg, rng);
}

TEST(TrainBackward, BatchNormTrainingForwardMatchesOnnxDefinition) {
  SCOPED_TRACE(SeedTrace());
  auto rng = Rng(107);
  const Tensor x = RandomTensor({4, 3, 2, 5}, rng, -2, 3);
  const Tensor scale = RandomTensor({3}, rng, 0.5, 1.5), bias = RandomTensor({3}, rng);
  const Tensor rm = RandomTensor({3}, rng), rv = RandomTensor({3}, rng, 0.5, 2);
  const float eps = 1e-5f, momentum = 0.9f;
  Result<BatchNormTrainOutput> o = BatchNormTrainForward(x, scale, bias, rm, rv, eps, momentum);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  for (int64_t c = 0; c < 3; ++c) {
    // Plain statistics in double over N and the spatial dims.
    double s = 0, s2 = 0;
    for (int64_t n = 0; n < 4; ++n)
      for (int64_t i = 0; i < 10; ++i) s += x.f32()[(n * 3 + c) * 10 + i];
    const double mean = s / 40;
    for (int64_t n = 0; n < 4; ++n)
      for (int64_t i = 0; i < 10; ++i) s2 += std::pow(x.f32()[(n * 3 + c) * 10 + i] - mean, 2);
    const double var = s2 / 40;  // ONNX: population (biased) variance
    // float32 statistics of 40 O(1) values: relative error ~1e-7; 1e-5 is generous.
    EXPECT_NEAR(o->batch_mean.f32()[c], mean, 1e-5);
    EXPECT_NEAR(o->batch_var.f32()[c], var, 1e-5);
    EXPECT_NEAR(o->running_mean.f32()[c], rm.f32()[c] * 0.9 + mean * 0.1, 1e-5);
    EXPECT_NEAR(o->running_var.f32()[c], rv.f32()[c] * 0.9 + var * 0.1, 1e-5);
  }
  // y is the inference formula evaluated with the batch statistics.
  Result<Tensor> ref = ops::BatchNormalization(x, scale, bias, o->batch_mean, o->batch_var, eps);
  ASSERT_TRUE(ref.ok());
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_NEAR(o->y.f32()[i], ref->f32()[i], 1e-5) << i;
}

TEST(TrainBackward, BatchNormTrainingBackwardMatchesFiniteDifferences) {
  SCOPED_TRACE(SeedTrace());
  auto rng = Rng(108);
  for (const Shape& s : {Shape{4, 3, 2, 3}, Shape{6, 4}}) {
    SCOPED_TRACE(ShapeToString(s));
    const int64_t c = s[1];
    std::vector<Tensor> in = {RandomTensor(s, rng, -2, 2), RandomTensor({c}, rng, 0.5, 1.5),
                              RandomTensor({c}, rng)};
    const Tensor rm(DType::kFloat32, {c}), rv(DType::kFloat32, {c});
    Forward f = [&](const std::vector<Tensor>& v) -> Result<Tensor> {
      QP_ASSIGN_OR_RETURN(BatchNormTrainOutput o, BatchNormTrainForward(v[0], v[1], v[2], rm, rv, 1e-5f, 0.9f));
      return o.y;
    };
    Result<BatchNormTrainOutput> o = BatchNormTrainForward(in[0], in[1], in[2], rm, rv, 1e-5f, 0.9f);
    ASSERT_TRUE(o.ok());
    const Tensor r = RandomTensor(s, rng);
    Result<BatchNormGrads> g = BatchNormTrainBackward(in[0], in[1], o->batch_mean, o->inv_std, r);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    ExpectGradMatchesFd(f, in, 0, r, g->dx, rng);
    ExpectGradMatchesFd(f, in, 1, r, g->dscale, rng);
    ExpectGradMatchesFd(f, in, 2, r, g->dbias, rng);
  }
}

TEST(TrainBackward, BatchNormFrozenBackwardMatchesFiniteDifferences) {
  SCOPED_TRACE(SeedTrace());
  auto rng = Rng(111);
  const Shape s = {3, 4, 2, 2};
  std::vector<Tensor> in = {RandomTensor(s, rng, -2, 2), RandomTensor({4}, rng, 0.5, 1.5), RandomTensor({4}, rng)};
  const Tensor mean = RandomTensor({4}, rng), var = RandomTensor({4}, rng, 0.5, 2);
  Forward f = [&](const std::vector<Tensor>& v) { return ops::BatchNormalization(v[0], v[1], v[2], mean, var, 1e-5f); };
  const Tensor r = RandomTensor(s, rng);
  Result<BatchNormGrads> g = BatchNormEvalBackward(in[0], in[1], mean, var, 1e-5f, r);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ExpectGradMatchesFd(f, in, 0, r, g->dx, rng);
  ExpectGradMatchesFd(f, in, 1, r, g->dscale, rng);
  ExpectGradMatchesFd(f, in, 2, r, g->dbias, rng);
}

TEST(TrainBackward, LayoutOpsMatchFiniteDifferences) {
  SCOPED_TRACE(SeedTrace());
  auto rng = Rng(109);
  std::vector<Tensor> in = {RandomTensor({2, 3, 4}, rng)};
  {
    Forward f = [](const std::vector<Tensor>& v) { return ops::Flatten(v[0], 2); };
    const Tensor r = RandomTensor({6, 4}, rng);
    Result<Tensor> g = ReshapeBackward(r, in[0].shape());
    ASSERT_TRUE(g.ok());
    ExpectGradMatchesFd(f, in, 0, r, *g, rng);
  }
  {
    Forward f = [](const std::vector<Tensor>& v) { return ops::Reshape(v[0], {4, -1}, false); };
    const Tensor r = RandomTensor({4, 6}, rng);
    Result<Tensor> g = ReshapeBackward(r, in[0].shape());
    ASSERT_TRUE(g.ok());
    ExpectGradMatchesFd(f, in, 0, r, *g, rng);
  }
  for (const std::vector<int64_t>& perm : {std::vector<int64_t>{2, 0, 1}, std::vector<int64_t>{}}) {
    Forward f = [&](const std::vector<Tensor>& v) { return ops::Transpose(v[0], perm); };
    Result<Tensor> y = f(in);
    ASSERT_TRUE(y.ok());
    const Tensor r = RandomTensor(y->shape(), rng);
    Result<Tensor> g = TransposeBackward(r, perm);
    ASSERT_TRUE(g.ok());
    ExpectGradMatchesFd(f, in, 0, r, *g, rng);
  }
  {
    std::vector<Tensor> parts = {RandomTensor({2, 1, 4}, rng), RandomTensor({2, 3, 4}, rng),
                                 RandomTensor({2, 2, 4}, rng)};
    Forward f = [](const std::vector<Tensor>& v) { return ops::Concat({&v[0], &v[1], &v[2]}, -2); };
    const Tensor r = RandomTensor({2, 6, 4}, rng);
    Result<std::vector<Tensor>> g = ConcatBackward(r, {parts[0].shape(), parts[1].shape(), parts[2].shape()}, -2);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    for (size_t i = 0; i < 3; ++i) ExpectGradMatchesFd(f, parts, i, r, (*g)[i], rng);
  }
}

TEST(TrainBackward, SoftmaxCrossEntropyMatchesPlainMathAndFiniteDifferences) {
  SCOPED_TRACE(SeedTrace());
  auto rng = Rng(110);
  Tensor logits = RandomTensor({5, 7}, rng, -3, 3);
  logits.f32()[3] = 80.f;  // exp(80) overflows float32: the max shift must handle it
  const Tensor labels = Tensor::FromVector<int64_t>({5}, {0, 6, 3, 3, 1});
  Result<LossOutput> o = SoftmaxCrossEntropy(logits, labels);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  double want = 0;
  int64_t correct = 0;
  for (int64_t i = 0; i < 5; ++i) {
    const float* z = logits.f32() + i * 7;
    const double zmax = *std::max_element(z, z + 7);
    double sum = 0;
    for (int j = 0; j < 7; ++j) sum += std::exp(z[j] - zmax);
    want += -(z[labels.data<int64_t>()[i]] - zmax - std::log(sum));
    correct += (std::max_element(z, z + 7) - z) == labels.data<int64_t>()[i];
  }
  EXPECT_NEAR(o->loss, want / 5, 1e-9 * std::max(1.0, want));
  EXPECT_EQ(o->correct, correct);
  // Finite differences of the loss itself (R = 1).
  logits.f32()[3] = 2.f;
  o = SoftmaxCrossEntropy(logits, labels);
  ASSERT_TRUE(o.ok());
  Forward f = [&](const std::vector<Tensor>& v) -> Result<Tensor> {
    QP_ASSIGN_OR_RETURN(LossOutput l, SoftmaxCrossEntropy(v[0], labels));
    return Tensor::Scalar(static_cast<float>(l.loss));
  };
  ExpectGradMatchesFd(f, {logits}, 0, Tensor::Scalar(1.f), o->dlogits, rng);
  EXPECT_FALSE(SoftmaxCrossEntropy(logits, Tensor::FromVector<int64_t>({5}, {0, 7, 0, 0, 0})).ok());
}

}  // namespace
}  // namespace qp::train
