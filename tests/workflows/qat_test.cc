// QAT over ptq's plan/hook: LSQ and PACT range gradients point the way central finite differences
// of the loss do; W4A4 QAT beats its PTQ start (measured by ptq's QuantizedRunner, not by the
// trainer itself); the state machine's transitions are visible; no-backward ops and failed steps
// give errors and leave everything as it was.
#include "core/workflows/qat.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/data/dataset.h"
#include "core/train/trainer.h"
#include "core/workflows/calibrate.h"
#include "core/workflows/plan.h"
#include "core/workflows/quant_config.h"
#include "core/workflows/simulate.h"
#include "tests/workflows/workflow_fixtures.h"

namespace qp::workflows {
namespace {

using qp::testing::wf::Calibrate;
using qp::testing::wf::MakeMlp;

using World = qp::testing::wf::BlobWorld;
const World& GetWorld() { return qp::testing::wf::QatBlobWorld(); }

QuantizedModel Ptq(const std::string& preset) {
  const World& s = GetWorld();
  Result<QuantConfig> cfg = PresetConfig(preset);
  EXPECT_TRUE(cfg.ok());
  return Calibrate(s.float_graph, *cfg, s.train);
}

double SimAccuracy(const QuantizedModel& m, const data::Dataset& ds) {
  Result<std::unique_ptr<QuantizedRunner>> r = QuantizedRunner::Create(m);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return -1;
  Result<AccuracyResult> a = EvaluateAccuracy(**r, ExecMode::kSimulated, ds);
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  return a.ok() ? a->accuracy : -1;
}

TEST(Qat, StateMachineTransitionsAreVisible) {
  const World& s = GetWorld();
  QatOptions o;
  o.method = QatMethod::kLsq;
  Result<std::unique_ptr<QatTrainer>> t = QatTrainer::Create(Ptq("w4a4"), &s.train, o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  QatTrainer& q = **t;
  EXPECT_EQ(q.state(), quant::ModelQuantState::kQat);
  ASSERT_EQ(q.transitions().size(), 2u);
  EXPECT_EQ(q.transitions()[0].from, quant::ModelQuantState::kFloat);
  EXPECT_EQ(q.transitions()[0].to, quant::ModelQuantState::kCalibrateAll);
  EXPECT_EQ(q.transitions()[1].to, quant::ModelQuantState::kQat);
  ASSERT_TRUE(q.Step().ok());
  ASSERT_TRUE(q.Evaluate(s.test, 128).ok());
  EXPECT_EQ(q.state(), quant::ModelQuantState::kQat);  // back after evaluating
  ASSERT_EQ(q.transitions().size(), 4u);
  EXPECT_EQ(q.transitions()[2].to, quant::ModelQuantState::kQuantizedEval);
  EXPECT_EQ(q.transitions()[2].step, 1);
  Result<QuantizedModel> m = q.Finish();
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(q.state(), quant::ModelQuantState::kQuantizedEval);
  Result<QatStepRecord> after = q.Step();
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(after.status().message().find("finished"), std::string::npos);
  // Every site has parameters and the learned ones are those of the quantizers.
  EXPECT_EQ(m->params.size(), m->plan.sites.size());
}

// d(loss)/d(range) by central differences of the simulated loss on 1024 training samples vs the
// estimator's gradient, for one hidden activation at 3 bits (everything else int8, so the loss is
// dominated by that site), at ranges deliberately too small (a tenth of the calibrated one: clipping dominates, the loss falls
// as the range grows) and, for LSQ, too large (rounding dominates). PACT's alpha gradient only sees
// clipped values, so it is checked where clipping dominates.
void CheckRangeGradientSign(QatMethod method) {
  const World& s = GetWorld();
  Result<data::Dataset> part = data::SliceDataset(s.train, 0, 1024);
  ASSERT_TRUE(part.ok());
  Result<Tensor> x = AdaptInput(s.float_graph, part->images);
  ASSERT_TRUE(x.ok());
  const bool pact = method == QatMethod::kPact;
  int checked = 0;
  for (const std::string tensor : {"relu1_out", "relu2_out"}) {
    Result<QuantConfig> cfg = PresetConfig("int8");
    ASSERT_TRUE(cfg.ok());
    Result<QuantPlan> plan = PrepareAndPlan(s.float_graph, *cfg);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    const QuantSite* site = plan->FindSite(tensor);
    ASSERT_NE(site, nullptr) << tensor;
    LayerQuantConfig lc;
    lc.activations = cfg->ActivationsFor(site->layer);
    lc.activations->bits = 3;
    cfg->layers[site->layer] = lc;
    // The graph input follows its first consumer's layer config: keep it at 8 bits.
    if (site->layer == plan->FindSite("x")->layer) {
      LayerQuantConfig in;
      in.activations = cfg->activations;
      cfg->layers["x"] = in;
    }
    QatOptions o;
    o.method = method;
    o.learn_weight_scales = false;
    Result<std::unique_ptr<QatTrainer>> t = QatTrainer::Create(Calibrate(s.float_graph, *cfg, s.train), &s.train, o);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    QatTrainer& q = **t;
    quant::TensorQuantizer* tq = q.hook().FindQuantizer(tensor);
    ASSERT_NE(tq, nullptr);
    ASSERT_TRUE(tq->learning()) << tensor;
    const float base = pact ? tq->pact_alpha() : tq->params()->scales[0];
    auto set = [&](float v) {
      if (pact) {
        ASSERT_TRUE(tq->SetPactAlpha(v).ok());
      } else {
        quant::TensorQParams p = *tq->params();
        p.scales[0] = v;
        ASSERT_TRUE(tq->SetParams(p).ok());
      }
    };
    auto loss_at = [&](float v) {
      set(v);
      Result<train::Gradients> g = q.trainer().ComputeGradients(*x, part->labels);
      EXPECT_TRUE(g.ok());
      q.hook().ZeroGrads();
      return g.ok() ? g->loss : 0.0;
    };
    std::vector<float> factors = {0.1f};
    if (!pact) factors.push_back(3.0f);
    for (float factor : factors) {
      SCOPED_TRACE(tensor + " factor " + std::to_string(factor));
      const float r0 = base * factor;
      const float h = 0.05f * r0;
      const double fd = (loss_at(r0 + h) - loss_at(r0 - h)) / (2.0 * h);
      set(r0);
      q.hook().ZeroGrads();
      Result<train::Gradients> g = q.trainer().ComputeGradients(*x, part->labels);
      ASSERT_TRUE(g.ok());
      const double est = tq->range_grads()[0];
      ASSERT_GT(std::fabs(fd) * h, 5e-5) << "finite difference too flat to judge: " << fd;
      EXPECT_GT(est * fd, 0) << "estimator " << est << " vs finite difference " << fd;
      // One step against the estimator's gradient (5% of the range) lowers the loss.
      const double before = g->loss;
      const double lr = 0.05 * r0 / std::max(1e-12, std::fabs(est));
      ASSERT_TRUE(tq->StepRange(lr).ok());
      const float r1 = pact ? tq->pact_alpha() : tq->params()->scales[0];
      EXPECT_EQ(r1 > r0, fd < 0);
      EXPECT_LT(loss_at(r1), before);
      ++checked;
    }
  }
  EXPECT_EQ(checked, pact ? 2 : 4);
}

TEST(Qat, LsqScaleGradientFollowsFiniteDifferences) { CheckRangeGradientSign(QatMethod::kLsq); }
TEST(Qat, PactAlphaGradientFollowsFiniteDifferences) { CheckRangeGradientSign(QatMethod::kPact); }

TEST(Qat, W4A4QatImprovesOnPtqStart) {
  const World& s = GetWorld();
  QuantizedModel start = Ptq("w4a4");
  const double float_acc = qp::testing::wf::FloatAccuracy(s.float_graph, s.test);
  const double ptq_acc = SimAccuracy(start, s.test);
  for (QatMethod m : {QatMethod::kLsq, QatMethod::kPact, QatMethod::kSte}) {
    SCOPED_TRACE(QatMethodName(m));
    QatOptions o;
    o.method = m;
    o.lr = 5e-3f;
    o.range_lr = 1e-2f;
    o.total_steps = 300;
    o.freeze_observers_step = 250;
    Result<std::unique_ptr<QatTrainer>> t = QatTrainer::Create(start, &s.train, o);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    for (int i = 0; i < 300; ++i) {
      Result<QatStepRecord> r = (*t)->Step();
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
    Result<QuantizedModel> done = (*t)->Finish();
    ASSERT_TRUE(done.ok()) << done.status().ToString();
    const double qat_acc = SimAccuracy(*done, s.test);
    std::printf("[ qat %s ] float %.4f  w4a4 ptq %.4f  qat %.4f\n", QatMethodName(m), float_acc,
                ptq_acc, qat_acc);
    EXPECT_GT(qat_acc, ptq_acc + 0.015);  // measured +2.5 to +2.7 points
    // History: one record per step, ranges and clip fractions for every site.
    const auto& h = (*t)->history();
    ASSERT_EQ(h.size(), 300u);
    EXPECT_EQ(h.back().site_range.size(), (*t)->site_names().size());
    EXPECT_TRUE(h[260].observers_frozen);
    EXPECT_FALSE(h[10].observers_frozen);
    for (const QatStepRecord& r : h) {
      ASSERT_GE(r.clip_fraction, 0.0);
      ASSERT_LE(r.clip_fraction, 1.0);
    }
    // Cosine schedule: full rate at step 0, (nearly) zero at the end.
    EXPECT_FLOAT_EQ(h[0].lr, o.lr);
    EXPECT_LT(h.back().lr, o.lr * 0.01f);
  }
}

TEST(Qat, OpWithoutBackwardIsAClearError) {
  // fc1 -> Softmax -> fc2: a Softmax inside the graph has a forward but no backward.
  Graph g = MakeMlp(16, 8, 10, 2);
  for (Node& n : g.nodes) {
    if (n.op_type == "Relu") {
      n.op_type = "Softmax";
      n.attrs["axis"] = Attribute::Int(1);
    }
  }
  const World& s = GetWorld();
  Result<QuantConfig> cfg = PresetConfig("int8");
  ASSERT_TRUE(cfg.ok());
  QuantizedModel m = Calibrate(g, *cfg, s.train);
  Result<std::unique_ptr<QatTrainer>> t = QatTrainer::Create(m, &s.train, QatOptions());
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(t.status().message().find("qat: "), std::string::npos) << t.status().message();
  EXPECT_NE(t.status().message().find("no backward for op Softmax"), std::string::npos)
      << t.status().message();
}

TEST(Qat, BadOptionsAndMissingParams) {
  const World& s = GetWorld();
  QatOptions o;
  o.lr = -1;
  EXPECT_EQ(QatTrainer::Create(Ptq("w4a4"), &s.train, o).status().message(),
            "qat: lr -1; must be finite and > 0");
  QuantizedModel m = Ptq("w4a4");
  const std::string victim = m.plan.sites[1].tensor;
  m.params.erase(victim);
  Result<std::unique_ptr<QatTrainer>> t = QatTrainer::Create(m, &s.train, QatOptions());
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("no calibrated parameters for site '" + victim + "'"),
            std::string::npos)
      << t.status().message();
  EXPECT_FALSE(ParseQatMethod("dorefa").ok());
  EXPECT_EQ(*ParseQatMethod("pact"), QatMethod::kPact);
}

TEST(Qat, FailedStepLeavesTrainerAsBefore) {
  const World& s = GetWorld();
  data::Dataset data = s.train;  // our own copy: poisoned below
  QatOptions o;
  o.method = QatMethod::kSte;  // observing quantizers reject NaN
  Result<std::unique_ptr<QatTrainer>> t = QatTrainer::Create(Ptq("w4a4"), &data, o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  QatTrainer& q = **t;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(q.Step().ok());
  const Graph before_graph = q.float_graph();
  const auto before_params = q.hook().CurrentParams();
  const size_t before_history = q.history().size();
  const int64_t before_steps = q.steps();

  Tensor clean = data.images;
  for (int64_t i = 0; i < data.images.numel(); i += 16) data.images.f32()[i] = std::nanf("");
  Result<QatStepRecord> r = q.Step();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("qat step 3"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("not finite"), std::string::npos) << r.status().message();

  EXPECT_EQ(q.steps(), before_steps);
  EXPECT_EQ(q.history().size(), before_history);
  EXPECT_EQ(q.state(), quant::ModelQuantState::kQat);
  for (const auto& [name, w] : before_graph.initializers) {
    const Tensor& now = q.float_graph().initializers.at(name);
    ASSERT_EQ(now.numel(), w.numel());
    if (w.dtype() != DType::kFloat32) continue;
    for (int64_t i = 0; i < w.numel(); ++i) ASSERT_EQ(now.f32()[i], w.f32()[i]) << name;
  }
  const auto after_params = q.hook().CurrentParams();
  ASSERT_EQ(after_params.size(), before_params.size());
  for (const auto& [name, p] : before_params) {
    EXPECT_EQ(after_params.at(name).scales, p.scales) << name;
    EXPECT_EQ(after_params.at(name).zero_points, p.zero_points) << name;
  }
  data.images = clean;
  EXPECT_TRUE(q.Step().ok());
  EXPECT_EQ(q.steps(), before_steps + 1);
}

// QAT steps spread over AdvanceStep calls (one node pass each, as the playground does under its
// frame budget) equal whole steps: the same records (loss, clip fractions, site ranges) and the
// same weights and quantization parameters, for LSQ (learned ranges) and PACT. An Evaluate in
// the middle of a step completes it first.
TEST(Qat, SteppedQatEqualsWholeSteps) {
  for (QatMethod method : {QatMethod::kLsq, QatMethod::kPact}) {
    SCOPED_TRACE(QatMethodName(method));
    const World& s = GetWorld();
    QatOptions o;
    o.method = method;
    o.batch_size = 32;
    auto whole = QatTrainer::Create(Ptq("w4a4"), &s.train, o);
    auto stepped = QatTrainer::Create(Ptq("w4a4"), &s.train, o);
    ASSERT_TRUE(whole.ok() && stepped.ok());
    QatTrainer& a = **whole;
    QatTrainer& b = **stepped;
    for (int step = 0; step < 4; ++step) {
      ASSERT_TRUE(a.Step().ok());
      std::optional<QatStepRecord> rec;
      int calls = 0;
      while (!rec) {
        Result<std::optional<QatStepRecord>> r = b.AdvanceStep(1);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        rec = *r;
        ASSERT_LT(++calls, 1000);
      }
      EXPECT_EQ(calls, b.trainer().node_passes_per_step());
    }
    // Half a step, then Evaluate: the step completes before the evaluation.
    ASSERT_TRUE(a.Step().ok());
    ASSERT_TRUE(b.AdvanceStep(2).ok());
    EXPECT_TRUE(b.step_in_progress());
    Result<train::EvalResult> ea = a.Evaluate(s.test, 256);
    Result<train::EvalResult> eb = b.Evaluate(s.test, 256);
    ASSERT_TRUE(ea.ok() && eb.ok());
    EXPECT_FALSE(b.step_in_progress());
    EXPECT_EQ(ea->accuracy, eb->accuracy);
    EXPECT_EQ(ea->loss, eb->loss);

    ASSERT_EQ(a.history().size(), 5u);
    ASSERT_EQ(b.history().size(), 5u);
    for (size_t i = 0; i < 5; ++i) {
      EXPECT_EQ(a.history()[i].loss, b.history()[i].loss) << i;
      EXPECT_EQ(a.history()[i].clip_fraction, b.history()[i].clip_fraction) << i;
      EXPECT_EQ(a.history()[i].site_range, b.history()[i].site_range) << i;
      EXPECT_EQ(a.history()[i].site_clip, b.history()[i].site_clip) << i;
    }
    for (const auto& [name, w] : a.float_graph().initializers) {
      const Tensor& wb = b.float_graph().initializers.at(name);
      if (w.dtype() != DType::kFloat32) continue;
      for (int64_t i = 0; i < w.numel(); ++i) ASSERT_EQ(w.f32()[i], wb.f32()[i]) << name;
    }
    const auto pa = a.hook().CurrentParams(), pb = b.hook().CurrentParams();
    for (const auto& [name, p] : pa) EXPECT_EQ(pb.at(name).scales, p.scales) << name;
  }
}

}  // namespace
}  // namespace qp::workflows
