// core/quant quantizers and the model state machine: the documented tables re-typed here as the
// oracle, a calibrate -> eval flow checked against direct observer math, atomic failed transitions,
// hooks order, and LSQ / PACT range learning against the gradient functions.
#include "core/quant/quantizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "core/quant/histogram.h"
#include "tests/test_util.h"

namespace qp::quant {
namespace {

using ::testing::HasSubstr;
using S = ModelQuantState;

constexpr S kStates[] = {
    S::kFloat, S::kCalibrateWeights, S::kCalibrateActivations, S::kCalibrateAll,
    S::kQat,   S::kQuantizedEval};

TEST(QuantStateMachine, TransitionTableAsDocumented) {
  // Rows: from; columns: to; order float, cal_w, cal_a, cal_all, qat, eval.
  const bool legal[6][6] = {
      {1, 1, 1, 1, 0, 0},  // float
      {1, 1, 1, 1, 1, 1},  // calibrate_weights
      {1, 1, 1, 1, 1, 1},  // calibrate_activations
      {1, 1, 1, 1, 1, 1},  // calibrate_all
      {1, 0, 0, 0, 1, 1},  // qat
      {1, 0, 0, 0, 1, 1},  // quantized_eval
  };
  for (int f = 0; f < 6; ++f) {
    for (int t = 0; t < 6; ++t) {
      EXPECT_EQ(IsLegalTransition(kStates[f], kStates[t]), legal[f][t])
          << StateName(kStates[f]) << " -> " << StateName(kStates[t]);
      Status s = CheckTransition(kStates[f], kStates[t]);
      EXPECT_EQ(s.ok(), legal[f][t]);
      if (!s.ok()) {
        EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
        EXPECT_THAT(s.message(), HasSubstr(std::string("from '") + StateName(kStates[f]) + "'"));
        EXPECT_THAT(s.message(), HasSubstr(std::string("to '") + StateName(kStates[t]) + "'"));
      }
    }
    EXPECT_EQ(*ParseState(StateName(kStates[f])), kStates[f]);
  }
  EXPECT_FALSE(ParseState("training").ok());
}

TEST(QuantStateMachine, RolePolicyAsDocumented) {
  // {weight observe, weight quantize, activation observe, activation quantize}
  const bool table[6][4] = {{0, 0, 0, 0}, {1, 0, 0, 0}, {0, 0, 1, 0},
                            {1, 0, 1, 0}, {1, 1, 1, 1}, {0, 1, 0, 1}};
  for (int s = 0; s < 6; ++s) {
    const RolePolicy w = PolicyFor(kStates[s], QuantRole::kWeight);
    const RolePolicy a = PolicyFor(kStates[s], QuantRole::kActivation);
    EXPECT_EQ(w.observe, table[s][0]) << StateName(kStates[s]);
    EXPECT_EQ(w.quantize, table[s][1]) << StateName(kStates[s]);
    EXPECT_EQ(a.observe, table[s][2]) << StateName(kStates[s]);
    EXPECT_EQ(a.quantize, table[s][3]) << StateName(kStates[s]);
  }
}

// A Quantizer written here that records the hook calls, to pin down Forward's contract.
class RecordingQuantizer : public Quantizer {
 public:
  bool observe = false, quantize = false;
  std::vector<std::string> calls;
  Status PreObserve(const float*, const Dims&) override {
    calls.push_back("pre");
    return Status::Ok();
  }
  Status Quantize(const float* x, const Dims&, float* y) override {
    calls.push_back("quantize");
    y[0] = x[0] + 1.0f;
    return Status::Ok();
  }
  Status PostObserve(const float*, const float*, const Dims&) override {
    calls.push_back("post");
    return Status::Ok();
  }
  bool observing() const override { return observe; }
  bool quantizing() const override { return quantize; }
};

TEST(QuantStateMachine, ForwardRunsTheHooksInOrder) {
  RecordingQuantizer r;
  float x = 2.0f, y = 0.0f;
  ASSERT_TRUE(r.Forward(&x, Dims{1}, &y).ok());
  EXPECT_EQ(r.calls, (std::vector<std::string>{"post"}));
  EXPECT_EQ(y, 2.0f);  // neither observing nor quantizing: identity
  r.calls.clear();
  r.observe = r.quantize = true;
  ASSERT_TRUE(r.Forward(&x, Dims{1}, &y).ok());
  EXPECT_EQ(r.calls, (std::vector<std::string>{"pre", "quantize", "post"}));
  EXPECT_EQ(y, 3.0f);
}

std::unique_ptr<TensorQuantizer> MakeQuantizer(const std::string& name, QuantRole role,
                                               std::unique_ptr<Observer> obs,
                                               RangeLearning learning = RangeLearning::kNone,
                                               QuantSpec spec = QuantSpec{}) {
  TensorQuantizerConfig c;
  c.name = name;
  c.role = role;
  c.spec = spec;
  c.learning = learning;
  auto q = TensorQuantizer::Create(c, std::move(obs));
  EXPECT_TRUE(q.ok()) << q.status().ToString();
  return std::move(*q);
}

TEST(QuantStateMachine, CalibrateThenEvaluateFollowsThePolicy) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(1601);
  std::normal_distribution<float> g(0.0f, 1.0f);
  const Dims wdims = {4, 6};
  const Dims adims = {2, 10};
  std::vector<float> w(24), a(20), y(24), ya(20);
  for (auto& v : w) v = g(rng);
  for (auto& v : a) v = 3.0f * g(rng);

  auto wq =
      MakeQuantizer("fc.weight", QuantRole::kWeight, std::make_unique<PerChannelMinMaxObserver>(0),
                    RangeLearning::kNone, QuantSpec{8, true, true, Scheme::kSymmetric});
  auto hist = HistogramCalibrator::Create();
  auto aq = MakeQuantizer("fc.input", QuantRole::kActivation,
                          std::make_unique<HistogramCalibrator>(std::move(*hist)));
  QuantStateMachine m;
  m.Register(wq.get());
  m.Register(aq.get());

  // float: identity, nothing observed.
  ASSERT_TRUE(wq->Forward(w.data(), wdims, y.data()).ok());
  EXPECT_EQ(y, w);
  EXPECT_FALSE(wq->observer().has_data());
  // float -> qat is illegal and names both states.
  Status bad = m.TransitionTo(S::kQat);
  EXPECT_THAT(bad.message(), HasSubstr("from 'float' to 'qat'"));
  EXPECT_EQ(m.state(), S::kFloat);

  ASSERT_TRUE(m.TransitionTo(S::kCalibrateWeights).ok());
  ASSERT_TRUE(wq->Forward(w.data(), wdims, y.data()).ok());
  ASSERT_TRUE(aq->Forward(a.data(), adims, ya.data()).ok());
  EXPECT_EQ(y, w);  // calibration runs float
  EXPECT_EQ(ya, a);
  EXPECT_TRUE(wq->observer().has_data());
  EXPECT_FALSE(aq->observer().has_data());

  // Entering eval now fails atomically: the activation quantizer has seen nothing.
  Status fail = m.TransitionTo(S::kQuantizedEval);
  ASSERT_FALSE(fail.ok());
  EXPECT_THAT(fail.message(), HasSubstr("quantizer 'fc.input'"));
  EXPECT_EQ(m.state(), S::kCalibrateWeights);
  EXPECT_FALSE(wq->quantizing());

  ASSERT_TRUE(m.TransitionTo(S::kCalibrateActivations).ok());
  ASSERT_TRUE(aq->Forward(a.data(), adims, ya.data()).ok());
  ASSERT_TRUE(m.TransitionTo(S::kQuantizedEval).ok());
  EXPECT_TRUE(wq->quantizing() && aq->quantizing());
  EXPECT_FALSE(wq->observing() || aq->observing());

  // Weight output == per-channel fake-quant with params from brute-force row min/max.
  std::vector<float> mins(4), maxs(4);
  for (int r = 0; r < 4; ++r) {
    mins[r] = *std::min_element(w.begin() + r * 6, w.begin() + r * 6 + 6);
    maxs[r] = *std::max_element(w.begin() + r * 6, w.begin() + r * 6 + 6);
  }
  auto ref = ParamsFromMinMaxPerAxis(mins, maxs, 0, QuantSpec{8, true, true, Scheme::kSymmetric});
  ASSERT_TRUE(wq->Forward(w.data(), wdims, y.data()).ok());
  for (int i = 0; i < 24; ++i) EXPECT_EQ(y[i], FakeQuantValue(w[i], ref->Channel(i / 6))) << i;
  // Activation: percentile amax of |a| (the calibrator's default method) as a symmetric int8 range.
  ASSERT_TRUE(aq->Forward(a.data(), adims, ya.data()).ok());
  const auto& ap = *aq->params();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(ya[i], FakeQuantValue(a[i], ap.Channel(0)));
  EXPECT_EQ(aq->stats().values, 20);

  EXPECT_THAT(m.TransitionTo(S::kCalibrateAll).message(), HasSubstr("from 'quantized_eval'"));
  ASSERT_TRUE(m.TransitionTo(S::kQat).ok());
  ASSERT_TRUE(m.TransitionTo(S::kFloat).ok());
  ASSERT_TRUE(wq->Forward(w.data(), wdims, y.data()).ok());
  EXPECT_EQ(y, w);
}

TEST(QuantStateMachine, DisabledAndFrozenQuantizers) {
  auto q = MakeQuantizer("skip", QuantRole::kActivation, std::make_unique<MinMaxObserver>());
  q->set_enabled(false);
  QuantStateMachine m;
  m.Register(q.get());
  ASSERT_TRUE(m.TransitionTo(S::kCalibrateAll).ok());
  std::vector<float> x = {1.0f, -2.0f, 0.3f}, y(3);
  ASSERT_TRUE(q->Forward(x.data(), Dims{3}, y.data()).ok());
  EXPECT_FALSE(q->observer().has_data());
  ASSERT_TRUE(m.TransitionTo(S::kQuantizedEval).ok());  // disabled: needs no params
  ASSERT_TRUE(q->Forward(x.data(), Dims{3}, y.data()).ok());
  EXPECT_EQ(y, x);

  auto f = MakeQuantizer("frozen", QuantRole::kActivation, std::make_unique<MinMaxObserver>());
  QuantStateMachine m2;
  m2.Register(f.get());
  ASSERT_TRUE(m2.TransitionTo(S::kCalibrateActivations).ok());
  ASSERT_TRUE(f->Forward(x.data(), Dims{3}, y.data()).ok());
  ASSERT_TRUE(m2.TransitionTo(S::kQat).ok());
  const float scale_before = f->params()->scales[0];
  std::vector<float> wide = {50.0f, -60.0f};
  std::vector<float> wy(2);
  f->set_observer_frozen(true);
  ASSERT_TRUE(f->Forward(wide.data(), Dims{2}, wy.data()).ok());
  EXPECT_EQ(f->params()->scales[0], scale_before);
  EXPECT_EQ(f->stats().clipped, 2);  // both outside the calibrated range
  f->set_observer_frozen(false);     // QAT observers follow the data when not frozen
  ASSERT_TRUE(f->Forward(wide.data(), Dims{2}, wy.data()).ok());
  EXPECT_GT(f->params()->scales[0], scale_before);
}

TEST(QuantStateMachine, LsqAndPactLearnTheirRange) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  auto rng = qp::testing::Rng(1702);
  std::normal_distribution<float> g(0.0f, 1.0f);
  const Dims dims = {3, 8};
  std::vector<float> x(24), gy(24), gx(24), y(24);
  for (auto& v : x) v = 2.0f * g(rng);
  for (auto& v : gy) v = g(rng);

  // LSQ per channel (axis 0): accumulated gradient == LsqBackward per row with g = 1/sqrt(8 * Qp).
  auto lsq = MakeQuantizer("w", QuantRole::kWeight, std::make_unique<PerChannelMinMaxObserver>(0),
                           RangeLearning::kLsq, QuantSpec{4, true, false, Scheme::kSymmetric});
  QuantStateMachine m;
  m.Register(lsq.get());
  ASSERT_TRUE(m.TransitionTo(S::kCalibrateWeights).ok());
  ASSERT_TRUE(lsq->Forward(x.data(), dims, y.data()).ok());
  ASSERT_TRUE(m.TransitionTo(S::kQat).ok());
  EXPECT_TRUE(lsq->learning());
  EXPECT_FALSE(lsq->observing());  // a learned range is not overwritten by the observer
  const TensorQParams before = *lsq->params();
  ASSERT_TRUE(lsq->Backward(x.data(), gy.data(), dims, gx.data()).ok());
  for (int c = 0; c < 3; ++c) {
    std::vector<float> gxr(8);
    auto r = LsqBackward(x.data() + 8 * c, gy.data() + 8 * c, 8, before.Channel(c),
                         1.0 / std::sqrt(8.0 * 7.0), gxr.data());
    ASSERT_TRUE(r.ok());
    // Same sums in the same order: the only difference is where g is applied (1 ulp of double).
    EXPECT_NEAR(lsq->range_grads()[c], r->grad_scale, 1e-12 * (1 + std::abs(r->grad_scale)));
    for (int i = 0; i < 8; ++i) EXPECT_EQ(gx[8 * c + i], gxr[i]);
  }
  const std::vector<double> grads = lsq->range_grads();
  ASSERT_TRUE(lsq->StepRange(0.01).ok());
  for (int c = 0; c < 3; ++c) {
    EXPECT_FLOAT_EQ(lsq->params()->scales[c],
                    static_cast<float>(before.scales[c] - 0.01 * grads[c]));
  }
  EXPECT_EQ(lsq->range_grads()[0], 0.0);

  // PACT: alpha starts at the calibrated amax; grad == PactBackward; one SGD step.
  auto pact = MakeQuantizer("relu", QuantRole::kActivation, std::make_unique<MinMaxObserver>(),
                            RangeLearning::kPact, QuantSpec{4, false, false, Scheme::kSymmetric});
  QuantStateMachine m2;
  m2.Register(pact.get());
  ASSERT_TRUE(m2.TransitionTo(S::kCalibrateActivations).ok());
  ASSERT_TRUE(pact->Forward(x.data(), dims, y.data()).ok());
  ASSERT_TRUE(m2.TransitionTo(S::kQat).ok());
  const float amax = *std::max_element(x.begin(), x.end());
  EXPECT_NEAR(pact->pact_alpha(), amax, 1e-6 * amax);  // RealMax = 15 * (amax / 15) in float
  ASSERT_TRUE(pact->SetPactAlpha(1.0f).ok());
  ASSERT_TRUE(pact->Forward(x.data(), dims, y.data()).ok());
  std::vector<float> ref(24);
  ASSERT_TRUE(PactForward(x.data(), 24, 1.0f, 4, false, ref.data()).ok());
  EXPECT_EQ(y, ref);
  ASSERT_TRUE(pact->Backward(x.data(), gy.data(), dims, gx.data()).ok());
  auto ga = PactBackward(x.data(), gy.data(), 24, 1.0f, false, nullptr);
  EXPECT_EQ(pact->range_grads()[0], *ga);
  ASSERT_TRUE(pact->StepRange(0.1).ok());
  EXPECT_FLOAT_EQ(pact->pact_alpha(), static_cast<float>(1.0 - 0.1 * *ga));

  // PACT needs one clip value.
  TensorQuantizerConfig c;
  c.learning = RangeLearning::kPact;
  EXPECT_FALSE(TensorQuantizer::Create(c, std::make_unique<PerChannelMinMaxObserver>(0)).ok());
}

}  // namespace
}  // namespace qp::quant
