// core/quant observers: MinMax against brute force, EMA against hand computation, per-channel
// against per-tensor on gathered slices, and bad input (NaN/Inf with count + first index, empty).
#include "core/quant/observers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "tests/test_util.h"

namespace qp::quant {
namespace {

using ::testing::HasSubstr;

TEST(QuantObservers, NonFiniteInputIsRejectedWithCountAndFirstIndex) {
  std::vector<float> x(20, 1.0f);
  x[5] = NAN;
  x[9] = INFINITY;
  x[11] = -INFINITY;
  MinMaxObserver mm;
  ASSERT_TRUE(mm.Observe(std::vector<float>{-2.0f, 3.0f}.data(), 2).ok());
  Status s = mm.Observe(x.data(), 20);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("observer 'minmax'"));
  EXPECT_THAT(s.message(), HasSubstr("3 of 20 values are not finite"));
  EXPECT_THAT(s.message(), HasSubstr("first at index 5"));
  // Nothing was recorded from the rejected call.
  EXPECT_EQ(mm.min(), -2.0f);
  EXPECT_EQ(mm.max(), 3.0f);

  auto ema = MovingAverageMinMaxObserver::Create();
  ASSERT_TRUE(ema.ok());
  std::vector<float> y(7, 0.5f);
  y[6] = -INFINITY;
  Status e = ema->Observe(y.data(), 7);
  EXPECT_THAT(e.message(), HasSubstr("1 of 7 values are not finite"));
  EXPECT_THAT(e.message(), HasSubstr("first at index 6"));
  EXPECT_FALSE(ema->has_data());

  PerChannelMinMaxObserver pc(1);
  Status p = pc.Observe(x.data(), Dims{4, 5});
  EXPECT_THAT(p.message(), HasSubstr("first at index 5"));
  EXPECT_FALSE(pc.has_data());
}

TEST(QuantObservers, EmptyTensorsAndMissingDataAreErrors) {
  MinMaxObserver mm;
  auto q = mm.ComputeQParams(QuantSpec{});
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), StatusCode::kFailedPrecondition);
  float dummy = 0.0f;
  Status s = mm.Observe(&dummy, 0);
  EXPECT_THAT(s.message(), HasSubstr("empty tensor"));
  EXPECT_FALSE(mm.Observe(&dummy, Dims{3, 0}).ok());
  PerChannelMinMaxObserver pc(2);
  Status a = pc.Observe(&dummy, Dims{1, 1});
  EXPECT_EQ(a.code(), StatusCode::kOutOfRange);
  EXPECT_THAT(a.message(), HasSubstr("axis 2 does not exist"));
  EXPECT_FALSE(MovingAverageMinMaxObserver::Create(EmaOptions{1.0, false}).ok());
  EXPECT_FALSE(MovingAverageMinMaxObserver::Create(EmaOptions{-0.1, true}).ok());
}

TEST(QuantObservers, AllZeroTensorGivesFinitePositiveScale) {
  std::vector<float> z(64, 0.0f);
  MinMaxObserver mm;
  ASSERT_TRUE(mm.Observe(z.data(), 64).ok());
  for (Scheme scheme : {Scheme::kAffine, Scheme::kSymmetric}) {
    auto q = mm.ComputeQParams(QuantSpec{8, true, false, scheme});
    ASSERT_TRUE(q.ok());
    EXPECT_TRUE(std::isfinite(q->scales[0]) && q->scales[0] > 0.0f);
  }
}

TEST(QuantObservers, MinMaxMatchesBruteForceOverBatches) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(404);
  std::normal_distribution<float> g(0.5f, 2.0f);
  MinMaxObserver mm;
  std::vector<float> all;
  for (int b = 0; b < 5; ++b) {
    std::vector<float> x(100 + b * 37);
    for (auto& v : x) v = g(rng);
    all.insert(all.end(), x.begin(), x.end());
    ASSERT_TRUE(mm.Observe(x.data(), Dims{static_cast<int64_t>(x.size())}).ok());
  }
  EXPECT_EQ(mm.min(), *std::min_element(all.begin(), all.end()));
  EXPECT_EQ(mm.max(), *std::max_element(all.begin(), all.end()));
  QuantSpec spec{8, false, false, Scheme::kAffine};
  auto q = mm.ComputeQParams(spec);
  auto ref = ParamsFromMinMax(mm.min(), mm.max(), spec);
  ASSERT_TRUE(q.ok() && ref.ok());
  EXPECT_EQ(q->scales[0], ref->scale);
  EXPECT_EQ(q->zero_points[0], ref->zero_point);
}

// Three batches with known extremes, momentum 0.9, computed by hand from the documented rules.
TEST(QuantObservers, MovingAverageMatchesHandComputation) {
  const std::vector<std::vector<float>> batches = {{-1.0f, 2.0f}, {-3.0f, 1.0f}, {-2.0f, 4.0f}};
  auto plain = MovingAverageMinMaxObserver::Create(EmaOptions{0.9, false});
  auto corrected = MovingAverageMinMaxObserver::Create(EmaOptions{0.9, true});
  ASSERT_TRUE(plain.ok() && corrected.ok());
  for (const auto& b : batches) {
    ASSERT_TRUE(plain->Observe(b.data(), 2).ok());
    ASSERT_TRUE(corrected->Observe(b.data(), 2).ok());
  }
  // PyTorch rule: first batch sets it, then est += 0.1 * (batch - est).
  const double pmin = (-1.0 * 0.9 + 0.1 * -3.0) * 0.9 + 0.1 * -2.0;  // -1.28
  const double pmax = (2.0 * 0.9 + 0.1 * 1.0) * 0.9 + 0.1 * 4.0;     //  2.11
  // TorchQuant rule: s_t = 0.9 s_{t-1} + 0.1 b_t from s_0 = 0, divided by 1 - 0.9^3 = 0.271.
  const double s_min = ((0.1 * -1.0) * 0.9 + 0.1 * -3.0) * 0.9 + 0.1 * -2.0;
  const double s_max = ((0.1 * 2.0) * 0.9 + 0.1 * 1.0) * 0.9 + 0.1 * 4.0;
  // Tolerance: the observer keeps doubles and rounds once to float (half an ulp, < 3e-7 here).
  EXPECT_NEAR(plain->min(), pmin, 3e-7);
  EXPECT_NEAR(plain->max(), pmax, 3e-7);
  EXPECT_NEAR(corrected->min(), s_min / 0.271, 3e-7);
  EXPECT_NEAR(corrected->max(), s_max / 0.271, 3e-7);
  EXPECT_EQ(plain->steps(), 3);
  // After one batch the bias-corrected estimate is exactly that batch (s_1 / (1 - m) = b_1).
  auto one = MovingAverageMinMaxObserver::Create(EmaOptions{0.99, true});
  ASSERT_TRUE(one->Observe(batches[1].data(), 2).ok());
  EXPECT_NEAR(one->min(), -3.0f, 3e-6);  // 0.01 * -3 / 0.01 in double, then float
}

// Per-channel min/max and EMA equal their per-tensor versions fed the gathered slice.
TEST(QuantObservers, PerChannelEqualsPerTensorOnSlices) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(505);
  std::uniform_real_distribution<float> u(-4.0f, 4.0f);
  const Dims dims = {3, 4, 5};
  for (int axis : {0, 1, 2, -1, -3}) {
    const int a = axis < 0 ? axis + 3 : axis;
    PerChannelMinMaxObserver pc(axis);
    auto pe = PerChannelMovingAverageMinMaxObserver::Create(axis, EmaOptions{0.8, true});
    ASSERT_TRUE(pe.ok());
    std::vector<MinMaxObserver> ref(dims[a]);
    std::vector<MovingAverageMinMaxObserver> ref_ema;
    for (int64_t c = 0; c < dims[a]; ++c) {
      ref_ema.push_back(*MovingAverageMinMaxObserver::Create(EmaOptions{0.8, true}));
    }
    for (int batch = 0; batch < 3; ++batch) {
      std::vector<float> x(60);
      for (auto& v : x) v = u(rng);
      ASSERT_TRUE(pc.Observe(x.data(), dims).ok());
      ASSERT_TRUE(pe->Observe(x.data(), dims).ok());
      for (int64_t c = 0; c < dims[a]; ++c) {
        std::vector<float> slice;
        for (int i0 = 0; i0 < 3; ++i0)
          for (int i1 = 0; i1 < 4; ++i1)
            for (int i2 = 0; i2 < 5; ++i2) {
              const int idx[3] = {i0, i1, i2};
              if (idx[a] == c) slice.push_back(x[(i0 * 4 + i1) * 5 + i2]);
            }
        ASSERT_TRUE(ref[c].Observe(slice.data(), slice.size()).ok());
        ASSERT_TRUE(ref_ema[c].Observe(slice.data(), slice.size()).ok());
      }
    }
    auto q = pc.ComputeQParams(QuantSpec{8, true, false, Scheme::kAffine});
    ASSERT_TRUE(q.ok());
    EXPECT_EQ(*q->axis, a);
    for (int64_t c = 0; c < dims[a]; ++c) {
      EXPECT_EQ(pc.mins()[c], ref[c].min());
      EXPECT_EQ(pc.maxs()[c], ref[c].max());
      EXPECT_EQ(pe->mins()[c], ref_ema[c].min());
      EXPECT_EQ(pe->maxs()[c], ref_ema[c].max());
      auto rq =
          ParamsFromMinMax(ref[c].min(), ref[c].max(), QuantSpec{8, true, false, Scheme::kAffine});
      EXPECT_EQ(q->scales[c], rq->scale);
      EXPECT_EQ(q->zero_points[c], rq->zero_point);
    }
    // The layout may not change between batches.
    std::vector<float> other(60, 0.0f);
    EXPECT_FALSE(pc.Observe(other.data(), Dims{60}).ok());
  }
}

}  // namespace
}  // namespace qp::quant
