// CompareJob (the Compare panel's stepped A vs B): its figures against the one-shot analysis calls
// on the same statistics and samples (EvaluateConfig for accuracy, PerLayerSqnr on one batch for
// SQNR), statistics reuse vs its own calibration pass, progress, and errors naming the side.
#include "core/workflows/compare.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/test_util.h"
#include "tests/workflows/workflow_fixtures.h"

namespace qp::workflows {
namespace {

using qp::testing::wf::BlobDataset;
using qp::testing::wf::Calibrate;
using qp::testing::wf::MakeMlp;
using qp::testing::wf::TrainFloat;

struct CWorld {
  data::Dataset train, test;
  Graph float_graph;
  QuantizedModel int8;
};

const CWorld& World() {
  static const CWorld* w = [] {
    auto* c = new CWorld();
    c->train = BlobDataset(1024, 31);
    c->test = BlobDataset(200, 32);
    c->float_graph = TrainFloat(MakeMlp(16, 48, 10, 3), c->train, 300);
    c->int8 = Calibrate(c->float_graph, *PresetConfig("int8"), c->train);
    return c;
  }();
  return *w;
}

std::unique_ptr<CompareJob> RunToEnd(Result<std::unique_ptr<CompareJob>> job, int* steps) {
  EXPECT_TRUE(job.ok()) << job.status().ToString();
  if (!job.ok()) return nullptr;
  double last = 0;
  *steps = 0;
  while (!(*job)->done()) {
    Result<double> p = (*job)->Step();
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    if (!p.ok()) return nullptr;
    EXPECT_GE(*p, last) << "progress never goes back";
    last = *p;
    ++*steps;
  }
  EXPECT_EQ(last, 1.0);
  EXPECT_FALSE((*job)->Step().ok()) << "a finished job refuses more steps";
  return std::move(job).value();
}

TEST(CompareJob, MatchesOneShotAnalysisWithReusedStats) {
  const CWorld& w = World();
  const QuantConfig a = *PresetConfig("int8"), b = *PresetConfig("w4a4");
  CompareOptions o;
  o.eval_samples = 150;
  o.sqnr_samples = 30;
  o.chunk = 7;  // does not divide either count: the last chunk is short
  o.sqnr_chunk = 4;
  int steps = 0;
  auto job = RunToEnd(CompareJob::Create(w.float_graph, a, b, &w.int8.stats, nullptr, &w.test, o), &steps);
  ASSERT_NE(job, nullptr);
  EXPECT_TRUE(job->reused_stats()) << "the int8 pass covers every site of both plans";
  // 6 preparation stages + 2 runs per evaluation chunk (22 chunks) + 4 per SQNR chunk (8 chunks).
  EXPECT_EQ(steps, 6 + 2 * 22 + 4 * 8);
  EXPECT_EQ(job->evaluated(), 150);

  // Oracle 1: accuracy of each configuration by EvaluateConfig on the same 150 samples and stats.
  Result<AnalysisContext> ctx = MakeAnalysisContext(w.float_graph, w.int8.stats, w.test, 150);
  ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
  Result<ConfigResult> ra = EvaluateConfig(*ctx, a), rb = EvaluateConfig(*ctx, b);
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_DOUBLE_EQ(job->accuracy_a(), ra->accuracy);
  EXPECT_DOUBLE_EQ(job->accuracy_b(), rb->accuracy);
  EXPECT_GT(job->accuracy_a(), job->accuracy_b()) << "8 bits beat 4 bits on this MLP";

  // Oracle 2: PerLayerSqnr over the 30 SQNR samples as one batch, per configuration.
  Result<data::Dataset> first = data::SliceDataset(w.test, 0, 30);
  ASSERT_TRUE(first.ok());
  Result<Tensor> x = AdaptInput(w.float_graph, first->images);
  ASSERT_TRUE(x.ok());
  std::map<std::string, LayerSqnr> want[2];
  for (int i = 0; i < 2; ++i) {
    Result<QuantPlan> plan = PrepareAndPlan(w.float_graph, i == 0 ? a : b);
    ASSERT_TRUE(plan.ok());
    Result<QuantizedModel> m = ComputeQuantizedModel(*plan, w.int8.stats);
    ASSERT_TRUE(m.ok());
    Result<std::vector<LayerSqnr>> rows = PerLayerSqnr(*m, *x);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    for (const LayerSqnr& r : *rows) want[i][r.tensor] = r;
  }
  ASSERT_EQ(job->rows().size(), want[0].size());
  int acts = 0, weights = 0;
  for (const CompareRow& r : job->rows()) {
    SCOPED_TRACE(r.tensor);
    ASSERT_TRUE(want[0].count(r.tensor) && want[1].count(r.tensor));
    EXPECT_EQ(r.bits_a, want[0][r.tensor].bits);
    EXPECT_EQ(r.bits_b, want[1][r.tensor].bits);
    EXPECT_NEAR(r.sqnr_a, want[0][r.tensor].fake_quant_db, 1e-6);
    EXPECT_NEAR(r.sqnr_b, want[1][r.tensor].fake_quant_db, 1e-6);
    EXPECT_GT(r.sqnr_a, r.sqnr_b) << "8 bits have the higher SQNR at every site";
    (r.role == quant::QuantRole::kWeight ? weights : acts)++;
  }
  EXPECT_GT(acts, 0);
  EXPECT_GT(weights, 0);
}

TEST(CompareJob, CalibratesWhenNoStatsAreGivenLikeAnEarlierPass) {
  const CWorld& w = World();
  const QuantConfig a = *PresetConfig("int8");
  QuantConfig b = *PresetConfig("w4a8");
  b.activations.calibrator = CalibMethod::kMse;
  CompareOptions o;
  o.eval_samples = 40;
  o.sqnr_samples = 8;
  o.chunk = 8;
  o.calibration.batch_size = 256;  // as the fixture's Calibrate pass: the whole train set
  int steps = 0;
  auto fresh = RunToEnd(CompareJob::Create(w.float_graph, a, b, nullptr, &w.train, &w.test, o), &steps);
  ASSERT_NE(fresh, nullptr);
  EXPECT_FALSE(fresh->reused_stats());
  EXPECT_EQ(steps, 1024 / 256 + 6 + 2 * 5 + 4 * 1);
  auto reused = RunToEnd(CompareJob::Create(w.float_graph, a, b, &w.int8.stats, nullptr, &w.test, o), &steps);
  ASSERT_NE(reused, nullptr);
  // The same data in the same batches: the same statistics, the same figures.
  EXPECT_DOUBLE_EQ(fresh->accuracy_a(), reused->accuracy_a());
  EXPECT_DOUBLE_EQ(fresh->accuracy_b(), reused->accuracy_b());
  ASSERT_EQ(fresh->rows().size(), reused->rows().size());
  for (size_t i = 0; i < fresh->rows().size(); ++i)
    EXPECT_NEAR(fresh->rows()[i].sqnr_b, reused->rows()[i].sqnr_b, 1e-9) << fresh->rows()[i].tensor;
}

TEST(CompareJob, ErrorsNameTheSideAndTheMissingInput) {
  const CWorld& w = World();
  QuantConfig bad = *PresetConfig("int8");
  bad.layers["no_such_layer"].skip = true;
  Result<std::unique_ptr<CompareJob>> j =
      CompareJob::Create(w.float_graph, *PresetConfig("int8"), bad, &w.int8.stats, nullptr, &w.test);
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.status().message().find("configuration B"), std::string::npos) << j.status().ToString();
  EXPECT_NE(j.status().message().find("no_such_layer"), std::string::npos) << j.status().ToString();
  j = CompareJob::Create(w.float_graph, *PresetConfig("int8"), *PresetConfig("w4a4"), nullptr, nullptr, &w.test);
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.status().message().find("no calibration data"), std::string::npos) << j.status().ToString();
  j = CompareJob::Create(w.float_graph, *PresetConfig("int8"), *PresetConfig("w4a4"), &w.int8.stats, nullptr, nullptr);
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.status().message().find("no evaluation data"), std::string::npos) << j.status().ToString();
}

}  // namespace
}  // namespace qp::workflows
