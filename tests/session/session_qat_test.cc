// Session QAT calls: start from the calibrated model, step, finish into the session's quantized
// model; the finished model's simulated accuracy (QuantizedRunner + FakeQuantHook on the fp32 ops)
// equals the QAT trainer's own fake-quant evaluation (train::Trainer forward with the hook), two
// independent forward paths over the same weights and ranges. Replacing the train data ends QAT.
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/session/eval_job.h"
#include "core/session/session.h"
#include "tests/test_util.h"

namespace qp {
namespace {

data::Dataset Blobs(int64_t n, uint64_t salt) {
  // Ten classes, each a bright square at its own place: learnable by the MLP in a few steps.
  auto rng = qp::testing::Rng(salt);
  std::uniform_real_distribution<float> noise(0.f, 0.2f);
  std::vector<float> x(static_cast<size_t>(n * 784));
  std::vector<int64_t> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = i % 10;
    y[i] = c;
    for (int64_t p = 0; p < 784; ++p) x[i * 784 + p] = noise(rng);
    const int64_t r0 = (c / 5) * 14, c0 = (c % 5) * 5;
    for (int64_t r = r0; r < r0 + 8; ++r)
      for (int64_t q = c0; q < c0 + 5; ++q) x[i * 784 + r * 28 + q] = 0.9f;
  }
  Result<data::Dataset> ds = data::MakeDataset(Tensor::FromVector<float>({n, 1, 28, 28}, x),
                                               Tensor::FromVector<int64_t>({n}, y), 10, "blobs");
  EXPECT_TRUE(ds.ok()) << ds.status().ToString();
  return *ds;
}

void Calibrate(Session& s, const std::string& preset) {
  ASSERT_TRUE(s.SetQuantPreset(preset).ok());
  ASSERT_TRUE(s.StartCalibration().ok());
  for (;;) {
    Result<double> p = s.CalibrateStep();
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    if (*p >= 1.0) break;
  }
  ASSERT_TRUE(s.Quantize().ok());
}

TEST(SessionQat, StepsFinishIntoTheQuantizedModelAndBothForwardPathsAgree) {
  Session s;
  ASSERT_TRUE(s.LoadDemoModel(DemoModel::kMlp, 4).ok());
  const data::Dataset ds = Blobs(200, 21);
  for (DataRole r : {DataRole::kTrain, DataRole::kCalibration, DataRole::kTest}) ASSERT_TRUE(s.SetData(r, ds).ok());
  EXPECT_EQ(s.StartQat({}).code(), StatusCode::kFailedPrecondition) << "no quantized model yet";
  Calibrate(s, "w4a4");
  const quant::TensorQParams before = *s.quantized_model()->Params(s.quantized_model()->plan.sites.back().tensor);

  workflows::QatOptions o;
  o.method = workflows::QatMethod::kLsq;
  o.batch_size = 20;
  o.total_steps = 30;
  o.lr = 1e-3f;
  ASSERT_TRUE(s.StartQat(o).ok());
  ASSERT_NE(s.qat(), nullptr);
  EXPECT_EQ(s.qat()->state(), quant::ModelQuantState::kQat);
  for (int i = 0; i < 30; ++i) {
    Result<workflows::QatStepRecord> r = s.QatStep();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  EXPECT_EQ(s.qat()->history().size(), 30u);
  Result<EvalSummary> qat_eval = s.EvaluateQat(DataRole::kTest);
  ASSERT_TRUE(qat_eval.ok()) << qat_eval.status().ToString();

  ASSERT_TRUE(s.FinishQat().ok());
  EXPECT_EQ(s.qat(), nullptr) << "finishing ends QAT";
  const quant::TensorQParams after = *s.quantized_model()->Params(s.quantized_model()->plan.sites.back().tensor);
  EXPECT_NE(before.scales, after.scales) << "LSQ moved the last site's step size";

  Result<EvalJob> job = EvalJob::Start(s, DataRole::kTest, EvalTarget::kSimulated, -1, 50);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  while (!job->done()) ASSERT_TRUE(job->Step().ok());
  EXPECT_EQ(job->summary().samples, qat_eval->samples);
  // Same weights and ranges through two forward implementations; a value on a rounding boundary
  // may round differently after a different float summation order: allow 1 sample in 200.
  EXPECT_NEAR(job->summary().accuracy, qat_eval->accuracy, 1.0 / 200 + 1e-12);
}

TEST(SessionQat, NewTrainDataOrConfigEndsQat) {
  Session s;
  ASSERT_TRUE(s.LoadDemoModel(DemoModel::kMlp, 5).ok());
  const data::Dataset ds = Blobs(60, 22);
  for (DataRole r : {DataRole::kTrain, DataRole::kCalibration, DataRole::kTest}) ASSERT_TRUE(s.SetData(r, ds).ok());
  Calibrate(s, "int8");
  workflows::QatOptions o;
  o.batch_size = 20;
  ASSERT_TRUE(s.StartQat(o).ok());
  ASSERT_TRUE(s.QatStep().ok());
  ASSERT_TRUE(s.SetData(DataRole::kTrain, Blobs(40, 23)).ok());
  EXPECT_EQ(s.qat(), nullptr);
  EXPECT_EQ(s.QatStep().status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.quantized_model(), nullptr) << "the quantized model itself stays";

  ASSERT_TRUE(s.StartQat(o).ok());
  ASSERT_TRUE(s.SetQuantPreset("int8").ok());
  EXPECT_EQ(s.qat(), nullptr) << "a new config ends QAT";
}

}  // namespace
// Views (the playground's Model and Histograms tabs) recompute when quantized_generation() moves:
// it must move on every change of the quantized model and on nothing else.
TEST(SessionQat, QuantizedGenerationMovesExactlyWhenTheQuantizedModelChanges) {
  Session s;
  ASSERT_TRUE(s.LoadDemoModel(DemoModel::kMlp, 6).ok());
  const data::Dataset ds = Blobs(60, 24);
  for (DataRole r : {DataRole::kTrain, DataRole::kCalibration, DataRole::kTest}) ASSERT_TRUE(s.SetData(r, ds).ok());
  uint64_t g = s.quantized_generation();
  auto moved = [&] {
    const bool m = s.quantized_generation() != g;
    g = s.quantized_generation();
    return m;
  };
  Calibrate(s, "int8");  // a config (drops nothing yet) and Quantize
  EXPECT_TRUE(moved());
  ASSERT_TRUE(s.EvaluateQuantized(workflows::ExecMode::kInt8, DataRole::kTest).ok());
  EXPECT_FALSE(moved()) << "evaluating does not change the quantized model";
  workflows::QatOptions o;
  o.batch_size = 20;
  ASSERT_TRUE(s.StartQat(o).ok());
  ASSERT_TRUE(s.QatStep().ok());
  EXPECT_FALSE(moved()) << "QAT steps train a copy";
  ASSERT_TRUE(s.FinishQat().ok());
  EXPECT_TRUE(moved()) << "QAT finish replaces the quantized model";
  ASSERT_TRUE(s.SetQuantPreset("w4a8").ok());
  EXPECT_TRUE(moved()) << "a new config drops the quantized model";
  EXPECT_EQ(s.quantized_model(), nullptr);
  Calibrate(s, "int8");
  EXPECT_TRUE(moved());
  ASSERT_TRUE(s.LoadDemoModel(DemoModel::kMlp, 7).ok());
  EXPECT_TRUE(moved()) << "a new model drops the quantized model";
}

}  // namespace qp
