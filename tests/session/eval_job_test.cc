// EvalJob: evaluation in chunks equals a plain argmax/cross-entropy loop written here over the
// outputs of one whole-batch run, for the float model and the quantized targets; a model change
// mid-job is refused instead of mixing two models in one figure.
#include "core/session/eval_job.h"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace qp {
namespace {

data::Dataset Synthetic(int64_t n, uint64_t salt) {
  auto rng = qp::testing::Rng(salt);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> x(static_cast<size_t>(n * 784));
  for (float& f : x) f = u(rng);
  std::vector<int64_t> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<int64_t>(rng() % 10);
  Result<data::Dataset> ds = data::MakeDataset(Tensor::FromVector<float>({n, 1, 28, 28}, x),
                                               Tensor::FromVector<int64_t>({n}, y), 10, "synthetic");
  EXPECT_TRUE(ds.ok()) << ds.status().ToString();
  return *ds;
}

// The oracle: top-1 and mean cross-entropy from logits of the whole set, plain loops.
void Oracle(const Tensor& logits, const Tensor& labels, int64_t* correct, double* loss) {
  const int64_t n = labels.numel(), c = logits.numel() / n;
  *correct = 0;
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* r = logits.f32() + i * c;
    int64_t arg = 0;
    for (int64_t k = 1; k < c; ++k) if (r[k] > r[arg]) arg = k;
    const int64_t label = labels.data<int64_t>()[i];
    *correct += arg == label;
    double z = 0;
    for (int64_t k = 0; k < c; ++k) z += std::exp(double(r[k]) - double(r[arg]));
    sum += std::log(z) + r[arg] - r[label];
  }
  *loss = sum / n;
}

EvalSummary RunToEnd(EvalJob& job) {
  int steps = 0;
  while (!job.done()) {
    Result<double> p = job.Step();
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    if (!p.ok()) break;
    ++steps;
  }
  EXPECT_GT(steps, 1) << "the job must take several steps";
  return job.summary();
}

TEST(EvalJob, ChunkedFloatEvaluationEqualsOneBatchOracle) {
  Session s;
  ASSERT_TRUE(s.LoadDemoModel(DemoModel::kCnn, 5).ok());
  data::Dataset ds = Synthetic(53, 11);  // 53 = 7 chunks of 8 with a tail of 5
  ASSERT_TRUE(s.SetData(DataRole::kTest, ds).ok());
  Result<std::vector<Tensor>> all = s.Run(ds.images);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  int64_t correct = 0;
  double loss = 0;
  Oracle((*all)[0], ds.labels, &correct, &loss);

  Result<EvalJob> job = EvalJob::Start(s, DataRole::kTest, EvalTarget::kModel, -1, 8);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_DOUBLE_EQ(job->progress(), 0.0);
  const EvalSummary got = RunToEnd(*job);
  EXPECT_EQ(got.samples, 53);
  EXPECT_EQ(got.correct, correct);
  // Per-sample losses are summed in another grouping: double rounding only.
  EXPECT_NEAR(got.loss, loss, 1e-9 * std::max(1.0, loss));
  EXPECT_FALSE(job->Step().ok()) << "stepping a finished job is an error";
}

TEST(EvalJob, QuantizedTargetsMatchTheirOneBatchRuns) {
  Session s;
  ASSERT_TRUE(s.LoadDemoModel(DemoModel::kMlp, 2).ok());
  data::Dataset ds = Synthetic(40, 12);
  ASSERT_TRUE(s.SetData(DataRole::kCalibration, ds).ok());
  ASSERT_TRUE(s.SetData(DataRole::kTest, ds).ok());
  ASSERT_FALSE(EvalJob::Start(s, DataRole::kTest, EvalTarget::kInt8).ok())
      << "no quantized model yet: refused";
  ASSERT_TRUE(s.SetQuantPreset("int8").ok());
  ASSERT_TRUE(s.StartCalibration().ok());
  while (s.calibrating()) {
    Result<double> p = s.CalibrateStep();
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    if (*p >= 1.0) break;
  }
  ASSERT_TRUE(s.Quantize().ok());
  const std::pair<EvalTarget, workflows::ExecMode> targets[] = {
      {EvalTarget::kQuantFloat, workflows::ExecMode::kFloat},
      {EvalTarget::kSimulated, workflows::ExecMode::kSimulated},
      {EvalTarget::kInt8, workflows::ExecMode::kInt8}};
  for (const auto& [target, mode] : targets) {
    Result<Tensor> x = workflows::AdaptInput(s.quantized_model()->plan.graph, ds.images);
    ASSERT_TRUE(x.ok()) << x.status().ToString();
    Result<std::vector<Tensor>> all = s.RunQuantized(mode, *x);
    ASSERT_TRUE(all.ok()) << EvalTargetName(target) << ": " << all.status().ToString();
    int64_t correct = 0;
    double loss = 0;
    Oracle((*all)[0], ds.labels, &correct, &loss);
    Result<EvalJob> job = EvalJob::Start(s, DataRole::kTest, target, -1, 16);
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    const EvalSummary got = RunToEnd(*job);
    EXPECT_EQ(got.correct, correct) << EvalTargetName(target);
    EXPECT_NEAR(got.loss, loss, 1e-9 * std::max(1.0, loss)) << EvalTargetName(target);
  }
}

TEST(EvalJob, ModelChangeMidJobIsRefused) {
  Session s;
  ASSERT_TRUE(s.LoadDemoModel(DemoModel::kMlp, 1).ok());
  ASSERT_TRUE(s.SetData(DataRole::kTest, Synthetic(20, 13)).ok());
  Result<EvalJob> job = EvalJob::Start(s, DataRole::kTest, EvalTarget::kModel, -1, 5);
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(job->Step().ok());
  ASSERT_TRUE(s.LoadDemoModel(DemoModel::kMlp, 2).ok());
  Result<double> p = job->Step();
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("model changed"), std::string::npos) << p.status().ToString();
  EXPECT_EQ(job->summary().samples, 5) << "the refused step adds nothing";
  EXPECT_FALSE(EvalJob::Start(s, DataRole::kTrain, EvalTarget::kModel).ok()) << "no train data";
}

}  // namespace
}  // namespace qp
