// Session QAT calls: start from the calibrated model, step, finish into the session's quantized
// model; the finished model's simulated accuracy (QuantizedRunner + FakeQuantHook on the fp32 ops)
// equals the QAT trainer's own fake-quant evaluation (train::Trainer forward with the hook), two
// independent forward paths over the same weights and ranges. Replacing the train data ends QAT.
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/session/eval_job.h"
#include "core/session/session.h"
#include "core/session/session_io.h"
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

namespace qp {
namespace {

std::vector<float> RunAll(const Session& s, workflows::ExecMode mode, const Tensor& x) {
  Result<std::vector<Tensor>> y = s.RunQuantized(mode, x);
  EXPECT_TRUE(y.ok()) << y.status().ToString();
  if (!y.ok()) return {};
  const Tensor& t = (*y)[0];
  return std::vector<float>(t.f32(), t.f32() + t.numel());
}

// Autosave and session files keep a QAT-trained quantized model: SaveQuantizedModel's two parts
// restored over the same model and config in a fresh session give the same parameters and the
// same simulated and int8 outputs bit for bit (the int8 path re-derives everything from weights
// and parameters, so equal outputs mean equal state), not those of a fresh calibration.
TEST(SessionQuantizedSnapshot, QatTrainedModelRoundTripsIntoAFreshSession) {
  const data::Dataset ds = Blobs(80, 31);
  Session a;
  ASSERT_TRUE(a.LoadDemoModel(DemoModel::kCnn, 8).ok());
  for (DataRole r : {DataRole::kTrain, DataRole::kCalibration, DataRole::kTest}) ASSERT_TRUE(a.SetData(r, ds).ok());
  Calibrate(a, "int8");
  const std::vector<float> ptq_int8 = RunAll(a, workflows::ExecMode::kInt8, ds.images);
  workflows::QatOptions o;
  o.method = workflows::QatMethod::kLsq;
  o.batch_size = 20;
  o.lr = 1e-3f;
  ASSERT_TRUE(a.StartQat(o).ok());
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(a.QatStep().ok());
  ASSERT_TRUE(a.FinishQat().ok());
  Result<QuantizedSnapshot> snap = SaveQuantizedModel(a);
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();

  Session b;
  ASSERT_TRUE(b.LoadDemoModel(DemoModel::kCnn, 8).ok());
  EXPECT_EQ(RestoreQuantizedModel(b, snap->graph, snap->params).code(), StatusCode::kFailedPrecondition)
      << "no config yet";
  ASSERT_TRUE(b.SetQuantPreset("int8").ok());
  ASSERT_TRUE(RestoreQuantizedModel(b, snap->graph, snap->params).ok());
  ASSERT_NE(b.quantized_model(), nullptr);
  for (const workflows::QuantSite& site : a.quantized_model()->plan.sites) {
    const quant::TensorQParams* pa = a.quantized_model()->Params(site.tensor);
    const quant::TensorQParams* pb = b.quantized_model()->Params(site.tensor);
    ASSERT_TRUE(pa && pb) << site.tensor;
    EXPECT_EQ(pa->scales, pb->scales) << site.tensor;
    EXPECT_EQ(pa->zero_points, pb->zero_points) << site.tensor;
  }
  for (workflows::ExecMode mode : {workflows::ExecMode::kSimulated, workflows::ExecMode::kInt8}) {
    const std::vector<float> ya = RunAll(a, mode, ds.images), yb = RunAll(b, mode, ds.images);
    ASSERT_FALSE(ya.empty());
    EXPECT_EQ(ya, yb) << workflows::ExecModeName(mode);
  }
  EXPECT_NE(RunAll(b, workflows::ExecMode::kInt8, ds.images), ptq_int8) << "the QAT weights, not the PTQ ones";
}

// A snapshot that does not fit the current model or config, or whose parameters are corrupt, is
// refused with the site or weight named, and the session keeps its quantized model.
TEST(SessionQuantizedSnapshot, MismatchedOrCorruptSnapshotsAreRefused) {
  const data::Dataset ds = Blobs(60, 32);
  Session a;
  ASSERT_TRUE(a.LoadDemoModel(DemoModel::kMlp, 9).ok());
  for (DataRole r : {DataRole::kCalibration, DataRole::kTest}) ASSERT_TRUE(a.SetData(r, ds).ok());
  Calibrate(a, "int8");
  Result<QuantizedSnapshot> snap = SaveQuantizedModel(a);
  ASSERT_TRUE(snap.ok());
  const uint64_t gen = a.quantized_generation();
  auto refused = [&](Session& s, const std::string& graph, const std::string& params, const std::string& needle) {
    const uint64_t before = s.quantized_generation();
    Status st = RestoreQuantizedModel(s, graph, params);
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
    EXPECT_EQ(s.quantized_generation(), before) << "the session is unchanged";
  };
  auto replace = [](std::string text, const std::string& from, const std::string& to) {
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
  };
  // Another config (4-bit weights) than the one saved (8-bit).
  ASSERT_TRUE(a.SetQuantPreset("w4a8").ok());
  refused(a, snap->graph, snap->params, "was saved as 8-bit");
  ASSERT_TRUE(a.SetQuantPreset("int8").ok());
  // Another model.
  Session c;
  ASSERT_TRUE(c.LoadDemoModel(DemoModel::kCnn, 9).ok());
  ASSERT_TRUE(c.SetQuantPreset("int8").ok());
  refused(c, snap->graph, snap->params, "nodes");
  // Corrupt parameters and bytes.
  refused(a, snap->graph, replace(snap->params, "\"zero_points\": [\n        0", "\"zero_points\": [\n        300"),
          "zero points must be integers in [0, 255]");
  refused(a, snap->graph, replace(snap->params, "\"scales\": [\n        ", "\"scales\": [\n        -"), "scale");
  refused(a, snap->graph, "{\"sites\": []}", "no parameters for site");
  refused(a, snap->graph, "not json", "");
  refused(a, snap->graph.substr(0, snap->graph.size() / 2), snap->params, "");
  // The untouched snapshot restores.
  EXPECT_TRUE(RestoreQuantizedModel(a, snap->graph, snap->params).ok());
  EXPECT_NE(a.quantized_generation(), gen);
}

}  // namespace
}  // namespace qp
