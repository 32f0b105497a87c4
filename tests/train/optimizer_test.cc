// Optimizers and learning-rate schedules against hand computations (the numbers in the comments
// were worked out on paper from the PyTorch update rules quoted in core/train/optimizer.h).
#include <gtest/gtest.h>

#include <cmath>

#include "core/train/optimizer.h"

namespace qp::train {
namespace {

// Runs `steps` updates of a single scalar parameter p0 with the given gradient sequence.
std::vector<float> RunSteps(Optimizer& opt, float p0, const std::vector<float>& grads, float lr) {
  Tensor p = Tensor::FromVector<float>({1}, {p0});
  Tensor g(DType::kFloat32, {1});
  std::vector<float> out;
  for (float gv : grads) {
    g.f32()[0] = gv;
    EXPECT_TRUE(opt.Step({{"p", &p, &g}}, lr).ok());
    out.push_back(p.f32()[0]);
  }
  return out;
}

// Float32 updates of O(1) values: each step rounds to ~6e-8 relative; 1e-6 covers 3 steps.
constexpr double kTol = 1e-6;

TEST(TrainOptimizer, SgdMatchesHandComputations) {
  {
    // Momentum 0.9, lr 0.1, grad 1: buf 1, 1.9, 2.71 -> p 0.9, 0.71, 0.439.
    auto opt = MakeSgd({0.9f, 0.f, 0.f, false});
    ASSERT_TRUE(opt.ok());
    auto p = RunSteps(**opt, 1.f, {1, 1, 1}, 0.1f);
    EXPECT_NEAR(p[0], 0.9, kTol);
    EXPECT_NEAR(p[1], 0.71, kTol);
    EXPECT_NEAR(p[2], 0.439, kTol);
  }
  {
    // Nesterov: step 1 buf 1, d = 1 + 0.9 = 1.9 -> 0.81; step 2 buf 1.9, d = 1 + 1.71 -> 0.539.
    auto opt = MakeSgd({0.9f, 0.f, 0.f, true});
    ASSERT_TRUE(opt.ok());
    auto p = RunSteps(**opt, 1.f, {1, 1}, 0.1f);
    EXPECT_NEAR(p[0], 0.81, kTol);
    EXPECT_NEAR(p[1], 0.539, kTol);
  }
  {
    // Weight decay 0.1, no momentum: d = 1 + 0.1 * 1 = 1.1 -> 0.89; d = 1 + 0.089 -> 0.7811.
    auto opt = MakeSgd({0.f, 0.f, 0.1f, false});
    ASSERT_TRUE(opt.ok());
    auto p = RunSteps(**opt, 1.f, {1, 1}, 0.1f);
    EXPECT_NEAR(p[0], 0.89, kTol);
    EXPECT_NEAR(p[1], 0.7811, kTol);
  }
  {
    // Dampening 0.5 (the first step is undamped, as in PyTorch): buf 1 -> 0.9; buf 0.9 + 0.5 = 1.4 -> 0.76.
    auto opt = MakeSgd({0.9f, 0.5f, 0.f, false});
    ASSERT_TRUE(opt.ok());
    auto p = RunSteps(**opt, 1.f, {1, 1}, 0.1f);
    EXPECT_NEAR(p[0], 0.9, kTol);
    EXPECT_NEAR(p[1], 0.76, kTol);
    // Reset forgets the buffer: the next step is a first step again.
    (*opt)->Reset();
    auto q = RunSteps(**opt, 1.f, {1}, 0.1f);
    EXPECT_NEAR(q[0], 0.9, kTol);
  }
  EXPECT_FALSE(MakeSgd({0.f, 0.f, 0.f, true}).ok());    // nesterov without momentum
  EXPECT_FALSE(MakeSgd({0.9f, 0.1f, 0.f, true}).ok());  // nesterov with dampening
  EXPECT_FALSE(MakeSgd({-0.1f, 0.f, 0.f, false}).ok());
}

TEST(TrainOptimizer, AdamMatchesHandComputations) {
  {
    // lr 0.1, grads 1 then -2. Step 1: m 0.1, v 0.001, m^ 1, v^ 1 -> p = 1 - 0.1 = 0.9.
    // Step 2: m = 0.09 - 0.2 = -0.11, v = 0.000999 + 0.004 = 0.004999, bias corrections 0.19 and
    // 0.001999 -> m^ = -0.5789474, sqrt(v^) = 1.5813763 -> p = 0.9 + 0.1 * 0.3661023 = 0.9366102.
    auto opt = MakeAdam({});
    ASSERT_TRUE(opt.ok());
    auto p = RunSteps(**opt, 1.f, {1, -2}, 0.1f);
    EXPECT_NEAR(p[0], 0.9, kTol);
    EXPECT_NEAR(p[1], 0.9366102, 2e-6);
  }
  {
    // Adam with L2 weight decay 0.5: step 1 d = 1 + 0.5 = 1.5, but the first Adam step is
    // lr * sign-like 1.5 / 1.5 = 0.1 regardless of scale -> 0.9.
    // AdamW decoupled 0.5: p *= 1 - 0.1 * 0.5 = 0.95 first, then -0.1 -> 0.85.
    AdamOptions l2;
    l2.weight_decay = 0.5f;
    auto a = MakeAdam(l2);
    ASSERT_TRUE(a.ok());
    EXPECT_NEAR(RunSteps(**a, 1.f, {1}, 0.1f)[0], 0.9, kTol);
    AdamOptions w = l2;
    w.decoupled = true;
    auto aw = MakeAdam(w);
    ASSERT_TRUE(aw.ok());
    EXPECT_NEAR(RunSteps(**aw, 1.f, {1}, 0.1f)[0], 0.85, kTol);
  }
  EXPECT_FALSE(MakeAdam({1.f, 0.999f, 1e-8f, 0.f, false}).ok());
  EXPECT_FALSE(MakeAdam({0.9f, 0.999f, 0.f, 0.f, false}).ok());
}

TEST(TrainOptimizer, StateIsPerParameterNameAndShapesAreChecked) {
  // Two parameters with different gradients keep separate momentum buffers: each must equal a
  // run of that parameter alone.
  auto both = MakeSgd({0.9f, 0.f, 0.f, false});
  ASSERT_TRUE(both.ok());
  Tensor a = Tensor::FromVector<float>({2}, {1, 2}), b = Tensor::FromVector<float>({1}, {3});
  Tensor ga = Tensor::FromVector<float>({2}, {1, -1}), gb = Tensor::FromVector<float>({1}, {0.5f});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*both)->Step({{"a", &a, &ga}, {"b", &b, &gb}}, 0.1f).ok());
  auto alone = MakeSgd({0.9f, 0.f, 0.f, false});
  std::vector<float> pb = RunSteps(**alone, 3.f, {0.5f, 0.5f, 0.5f}, 0.1f);
  EXPECT_EQ(b.f32()[0], pb[2]);
  EXPECT_NEAR(a.f32()[0], 1 - 0.1 * (1 + 1.9 + 2.71), kTol);
  Tensor wrong(DType::kFloat32, {3});
  EXPECT_FALSE((*both)->Step({{"a", &a, &wrong}}, 0.1f).ok());
}

TEST(TrainSchedule, StepCosineAndWarmupMatchClosedForms) {
  LrSchedule st;
  st.kind = LrSchedule::Kind::kStep;
  st.base_lr = 0.1f;
  st.step_size = 3;
  st.gamma = 0.5f;
  ASSERT_TRUE(ValidateSchedule(st).ok());
  const double want_step[] = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025};
  for (int i = 0; i < 7; ++i) EXPECT_NEAR(LearningRate(st, i), want_step[i], 1e-8) << i;

  LrSchedule co;
  co.kind = LrSchedule::Kind::kCosine;
  co.base_lr = 1.f;
  co.total_steps = 4;
  // (1 + cos(pi t / 4)) / 2 for t = 0..4, then held at min_lr.
  const double want_cos[] = {1.0, 0.8535534, 0.5, 0.1464466, 0.0, 0.0};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(LearningRate(co, i), want_cos[i], 1e-6) << i;
  co.min_lr = 0.2f;
  EXPECT_NEAR(LearningRate(co, 2), 0.6, 1e-6);

  // Warmup 2 steps from 0: 0, 0.5, then the cosine from its start.
  co.min_lr = 0.f;
  co.warmup_steps = 2;
  EXPECT_NEAR(LearningRate(co, 0), 0.0, 1e-8);
  EXPECT_NEAR(LearningRate(co, 1), 0.5, 1e-7);
  EXPECT_NEAR(LearningRate(co, 2), 1.0, 1e-7);
  EXPECT_NEAR(LearningRate(co, 4), 0.5, 1e-6);

  LrSchedule bad = st;
  bad.step_size = 0;
  EXPECT_FALSE(ValidateSchedule(bad).ok());
  bad = co;
  bad.total_steps = 0;
  EXPECT_FALSE(ValidateSchedule(bad).ok());
  bad = co;
  bad.base_lr = std::nanf("");
  EXPECT_FALSE(ValidateSchedule(bad).ok());
}

}  // namespace
}  // namespace qp::train
