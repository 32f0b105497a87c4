// LSQ+ (learned zero point) in QAT: the zero-point gradient of quant::LsqBackward against central
// finite differences of a smooth surrogate computed in plain float math (the fake-quant forward
// with a real-valued zero point, which is what the STE through the zero point's rounding
// differentiates); in a QatTrainer, the gradient points the way the loss falls when the zero point
// is moved by whole steps; a short LSQ+ run moves a zero point and lowers the loss, and the model
// it finishes with has integer zero points in range and runs on the int8 kernels within one
// quantum of its simulation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/data/dataset.h"
#include "core/quant/gradients.h"
#include "core/workflows/qat.h"
#include "core/workflows/simulate.h"
#include "tests/test_util.h"
#include "tests/workflows/workflow_fixtures.h"

namespace qp::workflows {
namespace {

using qp::testing::wf::Calibrate;

// The fake-quant forward written out in double with a real zero point z (the surrogate):
// y = s * (clamp(round(x / s) + z, qmin, qmax) - z).
double SurrogateY(double x, double s, double z, int qmin, int qmax) {
  const double q = std::nearbyint(x / s) + z;
  return s * (std::min<double>(std::max<double>(q, qmin), qmax) - z);
}

TEST(QatLsqPlus, ZeroPointGradientMatchesFiniteDifferencesOfSurrogate) {
  data::SplitMix64 r(qp::testing::Seed());
  for (int trial = 0; trial < 6; ++trial) {
    SCOPED_TRACE(qp::testing::SeedTrace() + " trial " + std::to_string(trial));
    quant::QParams p;
    p.qmin = trial % 2 ? -8 : 0;  // s4 or u4 affine
    p.qmax = trial % 2 ? 7 : 15;
    p.zero_point = p.qmin + 2 + static_cast<int32_t>(r.Below(10));
    p.scale = 0.05f + 0.2f * r.Uniform01();
    // Values spread over and beyond the range; codes exactly at a clamp end are avoided (there
    // the surrogate has a kink and a central difference is no derivative).
    std::vector<float> x, t;
    while (x.size() < 400) {
      // Codes from qmin - 4 to qmax + 4.
      const double u = (p.qmin - p.zero_point - 4) + (p.qmax - p.qmin + 8) * r.Uniform01();
      const double code = std::nearbyint(u) + p.zero_point;
      if (code == p.qmin || code == p.qmax) continue;
      x.push_back(static_cast<float>(u * p.scale));
      t.push_back(static_cast<float>(p.scale * (8.0 * r.Uniform01() - 4.0)));
    }
    const int64_t n = static_cast<int64_t>(x.size());
    // L(z) = 0.5 sum (y(z) - t)^2, so dL/dy = y - t at the integer zero point.
    auto loss = [&](double z) {
      double l = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double d = SurrogateY(x[i], p.scale, z, p.qmin, p.qmax) - t[i];
        l += 0.5 * d * d;
      }
      return l;
    };
    std::vector<float> gy(x.size());
    for (int64_t i = 0; i < n; ++i)
      gy[i] = static_cast<float>(SurrogateY(x[i], p.scale, p.zero_point, p.qmin, p.qmax) - t[i]);
    const double g = 0.25;  // a gradient scale other than 1: it must multiply
    Result<quant::LsqGrads> est = quant::LsqBackward(x.data(), gy.data(), n, p, g, nullptr);
    ASSERT_TRUE(est.ok()) << est.status().ToString();
    const double h = 1e-3;
    const double fd = (loss(p.zero_point + h) - loss(p.zero_point - h)) / (2 * h);
    ASSERT_GT(std::fabs(fd), 1e-3) << "surrogate too flat to judge";
    EXPECT_NEAR(est->grad_zero_point, g * fd, 1e-4 * std::max(1.0, std::fabs(g * fd)))
        << "estimator " << est->grad_zero_point << " vs finite difference x g " << g * fd;
  }
}

using World = qp::testing::wf::BlobWorld;
const World& GetWorld() { return qp::testing::wf::QatBlobWorld(); }

// The logits (fc3_out) are the one affine site whose zero point is not pinned at qmin by a ReLU.
const char kLogits[] = "fc3_out";

QuantizedModel PtqWithLogitsAt(int bits) {
  Result<QuantConfig> cfg = PresetConfig("int8");
  EXPECT_TRUE(cfg.ok());
  Result<QuantPlan> plan = PrepareAndPlan(GetWorld().float_graph, *cfg);
  EXPECT_TRUE(plan.ok());
  const QuantSite* site = plan->FindSite(kLogits);
  EXPECT_NE(site, nullptr);
  if (!site) return {};
  LayerQuantConfig lc;
  lc.activations = cfg->ActivationsFor(site->layer);
  lc.activations->bits = bits;
  lc.activations->calibrator = CalibMethod::kMse;  // a tight range: every code is in use
  cfg->layers[site->layer] = lc;
  return Calibrate(GetWorld().float_graph, *cfg, GetWorld().train);
}

// Loss on a fixed batch as a function of the (integer) zero point of the logits: moving it by
// whole steps away from the calibrated one, the estimator's gradient points back, and one
// StepRanges step along it (lr chosen to move z by about one step) lowers the loss.
TEST(QatLsqPlus, ZeroPointGradientPointsWhereTheLossFalls) {
  const World& s = GetWorld();
  Result<data::Dataset> part = data::SliceDataset(s.train, 0, 1024);
  ASSERT_TRUE(part.ok());
  Result<Tensor> x = AdaptInput(s.float_graph, part->images);
  ASSERT_TRUE(x.ok());
  QatOptions o;
  o.method = QatMethod::kLsqPlus;
  o.learn_weight_scales = false;
  Result<std::unique_ptr<QatTrainer>> t = QatTrainer::Create(PtqWithLogitsAt(3), &s.train, o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  QatTrainer& q = **t;
  FakeQuantHook& hook = q.hook();
  quant::TensorQuantizer* tq = hook.FindQuantizer(kLogits);
  ASSERT_NE(tq, nullptr);
  ASSERT_TRUE(tq->learning());
  // The hook's own index of the site.
  size_t site = 0;
  while (site < hook.num_sites() && hook.site(site).tensor != kLogits) ++site;
  ASSERT_TRUE(hook.learns_zero_point(site));
  const int32_t z0 = tq->params()->zero_points[0];
  std::vector<double> zs = hook.learned_zero_points();
  auto set_z = [&](double z) {
    zs[site] = z;
    ASSERT_TRUE(hook.SetLearnedZeroPoints(zs).ok());
  };
  auto loss_at = [&](double z) {
    set_z(z);
    Result<train::Gradients> g = q.trainer().ComputeGradients(*x, part->labels);
    EXPECT_TRUE(g.ok());
    hook.ZeroGrads();
    return g.ok() ? g->loss : 0.0;
  };
  // Raising z lowers the top of the range [(qmin - z) s, (qmax - z) s]: the largest logits, which
  // decide the loss, get clipped. (Lowering it clips only very negative logits, which the loss
  // hardly sees, so the loss is flat there.)
  int checked = 0, lower = 0;
  for (int offset : {1, 2}) {
    const int32_t z = std::clamp(z0 + offset, tq->params()->qmin + 1, tq->params()->qmax - 1);
    if (z == z0) continue;
    SCOPED_TRACE("zero point " + std::to_string(z) + " (calibrated " + std::to_string(z0) + ")");
    const double fd = (loss_at(z + 1) - loss_at(z - 1)) / 2.0;
    set_z(z);
    hook.ZeroGrads();
    Result<train::Gradients> g = q.trainer().ComputeGradients(*x, part->labels);
    ASSERT_TRUE(g.ok());
    const double est = hook.zero_point_grads()[site];
    ASSERT_GT(std::fabs(fd), 1e-4) << "loss too flat in z to judge";
    EXPECT_GT(est * fd, 0) << "estimator " << est << " vs finite difference " << fd;
    const double sc = tq->params()->scales[0];
    // z -= lr * grad / s^2 (see FakeQuantHook::StepRanges): move it by about 1.2 steps.
    const double lr = 1.2 * sc * sc / std::fabs(est);
    // Only the zero point moves: every scale gradient is dropped first.
    for (size_t i = 0; i < hook.num_sites(); ++i) hook.quantizer(i)->ZeroGrad();
    ASSERT_TRUE(hook.StepRanges(0.0, lr).ok());
    EXPECT_EQ(tq->params()->scales[0], sc);
    const int32_t z1 = tq->params()->zero_points[0];
    // Other sites' zero points had gradients too: put them back, only the logits' one is judged.
    std::vector<double> now = hook.learned_zero_points();
    for (size_t j = 0; j < now.size(); ++j)
      if (j != site) now[j] = zs[j];
    ASSERT_TRUE(hook.SetLearnedZeroPoints(now).ok());
    zs = now;
    std::printf("[ lsq+ ] z %d: L(z-1) %.6f L(z) %.6f L(z+1) %.6f -> z %d\n", z, loss_at(z - 1),
                g->loss, loss_at(z + 1), z1);
    EXPECT_EQ(z1 > z, fd < 0) << "moved to " << z1;
    EXPECT_NE(z1, z);
    const double after = loss_at(z1);
    EXPECT_LE(after, g->loss + 1e-9);
    lower += after < g->loss;
    ++checked;
  }
  EXPECT_EQ(checked, 2);
  EXPECT_GE(lower, 1);
}

// Zero points of the finished model are integers in [qmin, qmax] equal to the rounded learned ones.
void ExpectIntegerZeroPoints(const QatTrainer& t, const QuantizedModel& m) {
  for (size_t k = 0; k < t.site_names().size(); ++k) {
    const quant::TensorQParams& p = m.params.at(t.site_names()[k]);
    for (int32_t z : p.zero_points) {
      EXPECT_GE(z, p.qmin) << t.site_names()[k];
      EXPECT_LE(z, p.qmax) << t.site_names()[k];
    }
    if (t.history().empty()) continue;
    const QatStepRecord& last = t.history().back();
    if (p.zero_points.size() == 1)
      EXPECT_EQ(p.zero_points[0], static_cast<int32_t>(std::nearbyint(
                                      std::clamp<double>(last.site_zero_point[k], p.qmin, p.qmax))))
          << t.site_names()[k];
  }
}

TEST(QatLsqPlus, ShortRunMovesZeroPointLowersLossAndExportsIntegers) {
  const World& s = GetWorld();
  // Logits at 3 bits (MSE range), started from a zero point raised by two steps (the largest
  // logits clip): LSQ+ must bring it back (a fixed zero point cannot).
  QuantizedModel start = PtqWithLogitsAt(3);
  quant::TensorQParams& lp = start.params.at(kLogits);
  const int32_t calibrated = lp.zero_points[0];
  lp.zero_points[0] = std::min(lp.qmax - 1, calibrated + 2);
  ASSERT_GE(lp.zero_points[0], calibrated + 1);
  // Weights (almost) and scales frozen: otherwise the weights learn to shift the logits down
  // under the clipped range faster than the zero point moves, and the test would not isolate it.
  QatOptions o;
  o.method = QatMethod::kLsqPlus;
  o.learn_weight_scales = false;
  o.lr = 1e-7f;
  o.range_lr = 0.f;
  o.zero_point_lr = 300.f;
  o.total_steps = 200;
  Result<std::unique_ptr<QatTrainer>> t = QatTrainer::Create(start, &s.train, o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  for (int i = 0; i < 200; ++i) ASSERT_TRUE((*t)->Step().ok());
  const auto& h = (*t)->history();
  const size_t k =
      std::find((*t)->site_names().begin(), (*t)->site_names().end(), std::string(kLogits)) -
      (*t)->site_names().begin();
  ASSERT_LT(k, (*t)->site_names().size());
  const double z_first = h.front().site_zero_point[k], z_last = h.back().site_zero_point[k];
  std::printf(
      "[ lsq+ ] logits zero point: calibrated %d, start %d, after step 1 %.3f, after 200 %.3f\n",
      calibrated, lp.zero_points[0], z_first, z_last);
  EXPECT_LT(z_last, lp.zero_points[0] - 0.5);  // moved back towards the calibrated one
  EXPECT_GE(z_last, calibrated - 1.5);
  double early = 0, late = 0;
  for (int i = 0; i < 40; ++i) {
    early += h[static_cast<size_t>(i)].loss;
    late += h[h.size() - 1 - static_cast<size_t>(i)].loss;
  }
  EXPECT_LT(late, early * 0.9);
  Result<QuantizedModel> done = (*t)->Finish();
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  ExpectIntegerZeroPoints(**t, *done);
  // Plain LSQ from the same start keeps the displaced zero point.
  QatOptions lsq = o;
  lsq.method = QatMethod::kLsq;
  lsq.total_steps = 20;
  Result<std::unique_ptr<QatTrainer>> t2 = QatTrainer::Create(start, &s.train, lsq);
  ASSERT_TRUE(t2.ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE((*t2)->Step().ok());
  EXPECT_EQ((*t2)->history().back().site_zero_point[k], lp.zero_points[0]);
}

// int8 (every site 8-bit, so the integer kernels run it): after LSQ+ steps the simulation and the
// int8 execution differ by at most one quantum per layer.
TEST(QatLsqPlus, Int8ModelAfterLsqPlusMatchesKernelsWithinOneQuantum) {
  const World& s = GetWorld();
  QuantizedModel start = PtqWithLogitsAt(8);
  quant::TensorQParams& lp = start.params.at(kLogits);
  lp.zero_points[0] =
      lp.qmax - (lp.qmax - lp.zero_points[0]) / 8;  // top clipped: something to learn
  QatOptions o;
  o.method = QatMethod::kLsqPlus;
  o.lr = 1e-4f;
  o.range_lr = 1e-2f;
  o.zero_point_lr = 300.f;
  o.total_steps = 60;
  Result<std::unique_ptr<QatTrainer>> t = QatTrainer::Create(start, &s.train, o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  for (int i = 0; i < 60; ++i) ASSERT_TRUE((*t)->Step().ok());
  Result<QuantizedModel> done = (*t)->Finish();
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  ExpectIntegerZeroPoints(**t, *done);
  EXPECT_NE(done->params.at(kLogits).zero_points[0], lp.zero_points[0])
      << "zero point did not move";
  Result<std::unique_ptr<QuantizedRunner>> r = QuantizedRunner::Create(*done);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Result<data::Dataset> probe = data::SliceDataset(s.test, 0, 256);
  ASSERT_TRUE(probe.ok());
  Result<SimIntReport> rep = CompareSimulatedToInt8(**r, probe->images);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  ASSERT_GE(rep->sites.size(), 3u);
  for (const SiteDiff& d : rep->sites) {
    EXPECT_LE(d.isolated_max_quanta, 1.0 + 1e-3) << d.tensor << "\n" << SimIntReportToString(*rep);
    EXPECT_GE(d.frac_within_one, 0.999) << d.tensor << "\n" << SimIntReportToString(*rep);
  }
}

TEST(QatLsqPlus, MethodNameRoundTrips) {
  EXPECT_EQ(*ParseQatMethod("lsq+"), QatMethod::kLsqPlus);
  EXPECT_EQ(*ParseQatMethod("lsqplus"), QatMethod::kLsqPlus);
  EXPECT_STREQ(QatMethodName(QatMethod::kLsqPlus), "lsq+");
  Result<QatMethod> bad = ParseQatMethod("lsq++");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("lsq+"), std::string::npos);
}

}  // namespace
}  // namespace qp::workflows
