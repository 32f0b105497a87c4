// The published quantization results (models/README.md) asserted with margins, on the trained demo
// models (models/*.onnx) and Fashion-MNIST, calibrated as `qplay quantize` does (the first 8
// batches of 64 training images). Skipped when the data or the models are missing. Fast ones run in
// the normal suite; the QAT ones (tens of CPU-minutes) are named *Long* and run only with
// QP_LONG=1.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "core/session/data_spec.h"
#include "core/session/session.h"
#include "core/workflows/analysis.h"
#include "core/workflows/qat.h"
#include "core/workflows/quant_config.h"
#include "core/workflows/simulate.h"
#include "tests/test_util.h"

namespace qp::workflows {
namespace {

struct FashionMnist {
  Status status = Status::Ok();
  data::Dataset train, test;
};

const FashionMnist& Data() {
  static const FashionMnist* d = [] {
    auto* f = new FashionMnist();
    Result<data::Dataset> train = LoadDataSpec("fashion-mnist:train");
    Result<data::Dataset> test = LoadDataSpec("fashion-mnist:test");
    if (!train.ok() || !test.ok()) {
      f->status = train.ok() ? test.status() : train.status();
    } else {
      f->train = std::move(*train);
      f->test = std::move(*test);
    }
    return f;
  }();
  return *d;
}

// Loads models/NAME.onnx, sets `preset` (a name or a JSON config), calibrates on 8 x 64 training
// images, tests on the first `test_samples` test images. False (and the reason) when something is
// missing.
bool Calibrated(const std::string& name, const std::string& preset, int64_t test_samples,
                Session* s, std::string* why) {
  const FashionMnist& d = Data();
  if (!d.status.ok()) {
    *why = "Fashion-MNIST not available: " + d.status.ToString();
    return false;
  }
  const std::string path = testing::SourceDir() + "/models/" + name + ".onnx";
  if (Status st = s->LoadModelFile(path); !st.ok()) {
    *why = "no trained model " + path + ": " + st.ToString();
    return false;
  }
  EXPECT_TRUE(s->SetData(DataRole::kCalibration, d.train).ok());
  EXPECT_TRUE(s->SetData(DataRole::kTest, *data::SliceDataset(d.test, 0, test_samples)).ok());
  // A preset name, or a JSON config (as `qplay --config`).
  EXPECT_TRUE((preset[0] == '{' ? s->SetQuantConfig(preset) : s->SetQuantPreset(preset)).ok());
  CalibrationOptions co;
  co.batch_size = 64;
  co.max_batches = 8;
  EXPECT_TRUE(s->StartCalibration(co).ok());
  while (s->calibration_progress() < 1.0) {
    Result<double> p = s->CalibrateStep();
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    if (!p.ok()) return false;
  }
  Status q = s->Quantize();
  EXPECT_TRUE(q.ok()) << q.ToString();
  return q.ok();
}

// Int8 PTQ (ORT preset: weights s8 per channel, activations u8 min/max) stays within half a point
// of fp32 on 1,000 test images, on the int8 kernels (measured on the full 10,000: cnn +0.02, mlp
// -0.14, mobilenet see models/README.md).
class WorkflowResults : public ::testing::TestWithParam<const char*> {};

TEST_P(WorkflowResults, Int8PtqWithinHalfAPointOfFp32) {
  Session s;
  std::string why;
  if (!Calibrated(GetParam(), "int8", 1000, &s, &why)) {
    if (!HasFailure()) GTEST_SKIP() << why;
    return;
  }
  auto f = s.EvaluateQuantized(ExecMode::kFloat);
  auto q = s.EvaluateQuantized(ExecMode::kInt8);
  ASSERT_TRUE(f.ok() && q.ok());
  std::printf("[ %s ] fp32 %.4f int8 %.4f on %lld test images\n", GetParam(), f->accuracy,
              q->accuracy, static_cast<long long>(f->samples));
  EXPECT_EQ(f->samples, 1000);
  EXPECT_GT(f->accuracy, 0.85);
  EXPECT_LE(std::fabs(q->accuracy - f->accuracy), 0.005);
}

INSTANTIATE_TEST_SUITE_P(Models, WorkflowResults, ::testing::Values("mlp", "cnn", "mobilenet"),
                         [](const ::testing::TestParamInfo<const char*>& i) {
                           return std::string(i.param);
                         });

// The TorchQuant range x precision result on the CNN: at W3A3 (weights per-channel max), MSE and
// percentile 99.99 activation calibration beat max calibration by at least 5 points on 1,000 test
// images (measured: about 25 points).
TEST(WorkflowResultsCnn, W3A3ClippedCalibrationBeatsMax) {
  Session s;
  std::string why;
  if (!Calibrated("cnn", "w3a3", 1000, &s, &why)) {
    if (!HasFailure()) GTEST_SKIP() << why;
    return;
  }
  const QuantizedModel& m = *s.quantized_model();
  Result<AnalysisContext> ctx =
      MakeAnalysisContext(m.plan.graph, m.stats, *s.dataset(DataRole::kTest), -1);
  ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
  auto accuracy = [&](CalibMethod method) {
    QuantConfig c = m.plan.config;
    c.activations.calibrator = method;
    c.activations.percentile = 99.99;
    Result<ConfigResult> r = EvaluateConfig(*ctx, c);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->accuracy : 0.0;
  };
  const double max = accuracy(CalibMethod::kMax);
  const double mse = accuracy(CalibMethod::kMse);
  const double pct = accuracy(CalibMethod::kPercentile);
  std::printf("[ cnn w3a3 ] max %.4f  percentile 99.99 %.4f  mse %.4f\n", max, pct, mse);
  EXPECT_GE(mse, max + 0.05);
  EXPECT_GE(pct, max + 0.05);
}

// LSQ QAT at W4A4 as `qplay qat --config W4A4_MSE --method lsq --epochs 2` runs it (weights and
// activations MSE-calibrated, Adam lr 1e-4 with cosine over two epochs of 64, range lr 1e-2,
// seed 1), simulated accuracy on the full 10,000 test images. Measured: cnn 91.39% -> 91.90%
// (fp32 93.39%: 1.49 points, the published 1.5-point target met by one image), mlp 84.27% ->
// 85.75% (fp32 89.62%). Asserted with margin: QAT gains at least 0.25 points on its PTQ start
// and, on the CNN, ends within 1.75 points of fp32 (the previous LSQ result's gap).
constexpr const char* kW4A4Mse =
    R"({"preset": "w4a4", "weights": {"calibrator": "mse"}, "activations": {"calibrator": "mse"}})";

void QatTwoEpochs(const char* name, double max_gap) {
  Session s;
  std::string why;
  if (!Calibrated(name, kW4A4Mse, 10000, &s, &why)) {
    if (!::testing::Test::HasFailure()) GTEST_SKIP() << why;
    return;
  }
  const QuantizedModel start = *s.quantized_model();
  auto f = s.EvaluateQuantized(ExecMode::kFloat);
  auto ptq = s.EvaluateQuantized(ExecMode::kSimulated);
  ASSERT_TRUE(f.ok() && ptq.ok());
  QatOptions o;
  o.method = QatMethod::kLsq;
  o.batch_size = 64;
  o.seed = 1;
  o.lr = 1e-4f;
  o.range_lr = 1e-2f;
  const int64_t per_epoch = (Data().train.size() + 63) / 64;
  o.total_steps = 2 * per_epoch;
  Result<std::unique_ptr<QatTrainer>> t = QatTrainer::Create(start, &Data().train, o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  for (int64_t i = 0; i < o.total_steps; ++i) {
    Result<QatStepRecord> r = (*t)->Step();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  Result<QuantizedModel> done = (*t)->Finish();
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  Result<std::unique_ptr<QuantizedRunner>> runner = QuantizedRunner::Create(*done);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  Result<AccuracyResult> qat = EvaluateAccuracy(**runner, ExecMode::kSimulated, Data().test);
  ASSERT_TRUE(qat.ok()) << qat.status().ToString();
  std::printf("[ %s w4a4 lsq 2 epochs ] fp32 %.4f  ptq %.4f  qat %.4f (%lld test images)\n", name,
              f->accuracy, ptq->accuracy, qat->accuracy, static_cast<long long>(qat->samples));
  EXPECT_EQ(qat->samples, 10000);
  EXPECT_GE(qat->accuracy, ptq->accuracy + 0.0025);
  if (max_gap > 0) {
    EXPECT_LE(f->accuracy - qat->accuracy, max_gap);
  }
}

TEST(WorkflowResultsLong, CnnW4A4LsqTwoEpochs) { QatTwoEpochs("cnn", 0.0175); }
TEST(WorkflowResultsLong, MlpW4A4LsqTwoEpochs) { QatTwoEpochs("mlp", -1); }

}  // namespace
}  // namespace qp::workflows
