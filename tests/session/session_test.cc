// Session facade: model info counts against hand arithmetic, inference against a plain-loop MLP
// written here, evaluation against a manual argmax, failed calls leaving the session unchanged,
// export/import round trips, and training steps.
#include "core/session/session.h"

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/session/data_spec.h"
#include "tests/test_util.h"

namespace qp {
namespace {

// The demo MLP computed directly from its initializers: Flatten, then Gemm (y = x W^T + b) with
// ReLU between layers. Double accumulation; the executor accumulates in float, so results agree
// to float rounding (relative 1e-5 over 784-term sums is generous for |x| <= 1 inputs).
std::vector<float> PlainMlp(const Graph& g, const std::vector<float>& x, int64_t batch) {
  std::vector<float> h = x;
  int64_t width = 784;
  const char* layers[3] = {"fc1", "fc2", "fc3"};
  for (int l = 0; l < 3; ++l) {
    const Tensor& w = g.initializers.at(std::string(layers[l]) + ".weight");
    const Tensor& b = g.initializers.at(std::string(layers[l]) + ".bias");
    const int64_t out = w.dim(0);
    std::vector<float> y(static_cast<size_t>(batch * out));
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t o = 0; o < out; ++o) {
        double acc = b.f32()[o];
        for (int64_t i = 0; i < width; ++i) acc += double(h[n * width + i]) * w.f32()[o * width + i];
        y[n * out + o] = l < 2 ? std::max(0.0f, float(acc)) : float(acc);
      }
    h = std::move(y);
    width = out;
  }
  return h;
}

std::vector<float> RandomImages(int64_t n, uint64_t salt) {
  auto rng = qp::testing::Rng(salt);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n * 784));
  for (float& f : v) f = u(rng);
  return v;
}

data::Dataset MakeData(const std::vector<float>& images, const std::vector<int64_t>& labels) {
  const int64_t n = static_cast<int64_t>(labels.size());
  Tensor x = Tensor::FromVector<float>({n, 1, 28, 28}, images);
  Tensor y = Tensor::FromVector<int64_t>({n}, labels);
  Result<data::Dataset> ds = data::MakeDataset(x, y, 10, "synthetic");
  EXPECT_TRUE(ds.ok()) << ds.status().ToString();
  return *ds;
}

TEST(Session, InfoCountsParamsAndMacsByHand) {
  Session s;
  ASSERT_TRUE(s.LoadDemoModel(DemoModel::kMlp, 1).ok());
  Result<ModelInfo> info = s.Info(/*batch=*/8);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->total_params, 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
  EXPECT_EQ(info->total_macs, 8 * (784 * 256 + 256 * 128 + 128 * 10));
  EXPECT_EQ(info->layers.back().output_shape, (Shape{8, 10}));

  ASSERT_TRUE(s.LoadDemoModel(DemoModel::kCnn, 1).ok());
  info = s.Info(1);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  // conv1: 28x28 outputs x 32 channels x (1 input channel x 3 x 3) weights.
  EXPECT_EQ(info->layers[0].macs, 28 * 28 * 32 * 9);
  EXPECT_EQ(info->layers[0].params, 32 * 9 + 32);
  EXPECT_EQ(info->op_counts.at("Conv"), 3);
}

TEST(Session, RunMatchesPlainLoopsAndInfersTheBatch) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  Session s;
  ASSERT_TRUE(s.LoadDemoModel(DemoModel::kMlp, 3).ok());
  const int64_t batch = 5;
  const std::vector<float> x = RandomImages(batch, 1);
  Result<std::vector<Tensor>> out = s.RunFloat(x.data(), x.size());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].shape(), (Shape{batch, 10}));
  const std::vector<float> want = PlainMlp(s.graph(), x, batch);
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR((*out)[0].f32()[i], want[i], 1e-5f * (1.f + std::fabs(want[i]))) << "index " << i;

  // 783 values are not a whole sample of 784.
  Result<std::vector<Tensor>> bad = s.RunFloat(x.data(), 783);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("not a whole number of samples of 784"), std::string::npos)
      << bad.status().message();
}

TEST(Session, CorruptModelKeepsThePreviousOne) {
  Session s;
  ASSERT_TRUE(s.LoadDemoModel(DemoModel::kMlp, 3).ok());
  const std::string garbage = "\x0a\xff\xff\xff\xff\x0f not a model";
  Status st = s.LoadModel(garbage.data(), garbage.size(), "bad.onnx");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("bad.onnx"), std::string::npos) << st.message();
  ASSERT_TRUE(s.has_model());
  EXPECT_EQ(s.model_name(), "mlp");
  EXPECT_EQ(s.model_generation(), 1u) << "a failed load must not count as a model change";
  const std::vector<float> x = RandomImages(1, 2);
  EXPECT_TRUE(s.RunFloat(x.data(), x.size()).ok());

  ASSERT_TRUE(s.LoadDemoModel(DemoModel::kCnn, 3).ok());
  EXPECT_EQ(s.model_generation(), 2u);

  Session empty;
  EXPECT_EQ(empty.model_generation(), 0u);
  EXPECT_EQ(empty.RunFloat(x.data(), x.size()).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(empty.Info().status().code(), StatusCode::kFailedPrecondition);
}

TEST(Session, ExportImportRoundTripIsBitExact) {
  Session a;
  ASSERT_TRUE(a.LoadDemoModel(DemoModel::kMobileNet, 5).ok());
  Result<std::string> bytes = a.ExportOnnx();
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  Session b;
  ASSERT_TRUE(b.LoadModel(bytes->data(), bytes->size(), "mobilenet.onnx").ok());
  const std::vector<float> x = RandomImages(2, 3);
  Result<std::vector<Tensor>> ya = a.RunFloat(x.data(), x.size());
  Result<std::vector<Tensor>> yb = b.RunFloat(x.data(), x.size());
  ASSERT_TRUE(ya.ok() && yb.ok());
  ASSERT_EQ((*ya)[0].numel(), (*yb)[0].numel());
  for (int64_t i = 0; i < (*ya)[0].numel(); ++i) EXPECT_EQ((*ya)[0].f32()[i], (*yb)[0].f32()[i]) << i;
}

TEST(Session, EvaluateCountsTopOneAgainstManualArgmax) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  Session s;
  ASSERT_TRUE(s.LoadDemoModel(DemoModel::kMlp, 4).ok());
  const int64_t n = 37;  // not a multiple of the batch below
  const std::vector<float> x = RandomImages(n, 4);
  const std::vector<float> logits = PlainMlp(s.graph(), x, n);
  std::vector<int64_t> labels(n);
  int64_t expect_correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = &logits[i * 10];
    const int64_t arg = std::max_element(row, row + 10) - row;
    labels[i] = i % 3 == 0 ? arg : (arg + 1) % 10;  // a known mix of right and wrong labels
    expect_correct += labels[i] == arg;
  }
  ASSERT_TRUE(s.SetData(DataRole::kTest, MakeData(x, labels)).ok());
  Result<EvalSummary> e = s.Evaluate(DataRole::kTest, -1, /*batch=*/8);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->samples, n);
  EXPECT_EQ(e->correct, expect_correct);
  EXPECT_EQ(s.Evaluate(DataRole::kCalibration).status().code(), StatusCode::kFailedPrecondition);
}

// The memory guard: the per-sample estimate is the sum of the MLP's values counted by hand; a run,
// calibration, QAT or training batch over the budget is a ResourceExhausted error naming the
// batch and the largest batch that fits, and the session keeps working; an evaluation picks a
// batch that fits and counts exactly what the unconstrained one does.
TEST(Session, BatchesOverTheMemoryBudgetAreRefusedOrSplit) {
  SCOPED_TRACE(qp::testing::SeedTrace());
  Session s;
  ASSERT_TRUE(s.LoadDemoModel(DemoModel::kMlp, 4).ok());
  // The demo MLP: input [N,1,28,28] -> Flatten 784 -> Gemm 256 -> Relu -> Gemm 128 -> Relu ->
  // Gemm 10 (core/session/demo_models.h). By hand, the most held at once is the input plus the
  // Flatten output plus the first Gemm's output (the input is the caller's and stays):
  // 784 + 784 + 256 floats; training keeps all nine values, three times over.
  int64_t all = 784;
  for (const auto& [name, v] : s.graph().value_info) {
    int64_t k = 1;
    for (int64_t d : v.shape) k *= d > 0 ? d : 1;
    all += k;
  }
  const int64_t widest = s.graph().initializers.at("fc1.weight").dim(0);
  EXPECT_EQ(s.activation_bytes_per_sample(), 4 * (784 + 784 + widest));
  EXPECT_EQ(s.activation_bytes_per_sample(/*training=*/true), 3 * 4 * all);
  const int64_t expect = s.activation_bytes_per_sample();

  const int64_t n = 40;
  const std::vector<float> x = RandomImages(n, 5);
  std::vector<int64_t> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[i] = i % 10;
  for (DataRole r : {DataRole::kTest, DataRole::kCalibration, DataRole::kTrain})
    ASSERT_TRUE(s.SetData(r, MakeData(x, labels)).ok());
  Result<EvalSummary> full = s.Evaluate(DataRole::kTest, -1, 64);
  ASSERT_TRUE(full.ok());

  s.set_work_budget_bytes(10 * expect);  // 10 samples fit
  EXPECT_EQ(s.FittingBatch(64), 10);
  Result<std::vector<Tensor>> big = s.RunFloat(x.data(), x.size());
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(big.status().message().find("a batch of 40"), std::string::npos) << big.status().message();
  EXPECT_NE(big.status().message().find("the largest batch that fits is 10"), std::string::npos) << big.status().message();
  EXPECT_TRUE(s.RunFloat(x.data(), 10 * 784).ok()) << "10 samples fit";
  Result<EvalSummary> split = s.Evaluate(DataRole::kTest, -1, 64);
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  EXPECT_EQ(split->correct, full->correct);
  EXPECT_EQ(split->samples, n);
  workflows::CalibrationOptions co;
  co.batch_size = 32;
  ASSERT_TRUE(s.SetQuantPreset("int8").ok());
  EXPECT_EQ(s.StartCalibration(co).code(), StatusCode::kResourceExhausted);
  co.batch_size = 8;
  ASSERT_TRUE(s.StartCalibration(co).ok());
  while (s.calibrating()) {
    Result<double> p = s.CalibrateStep();
    ASSERT_TRUE(p.ok());
    if (*p >= 1.0) break;
  }
  ASSERT_TRUE(s.Quantize().ok());
  workflows::QatOptions qo;
  const int64_t train_fit = 10 * expect / s.activation_bytes_per_sample(true);
  qo.batch_size = train_fit + 1;
  Status q = s.StartQat(qo);
  EXPECT_EQ(q.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(q.message().find("gradient"), std::string::npos) << q.message();
  qo.batch_size = std::max<int64_t>(1, train_fit);
  EXPECT_TRUE(s.StartQat(qo).ok());
  train::TrainerOptions to;
  to.batch_size = 16;
  EXPECT_EQ(s.StartTraining(to).code(), StatusCode::kResourceExhausted);
  Tensor in(DType::kFloat32, {20, 1, 28, 28});
  EXPECT_EQ(s.RunQuantized(workflows::ExecMode::kInt8, in).status().code(), StatusCode::kResourceExhausted);
}

TEST(Session, TrainingStepsThenCommitChangesTheModel) {
  Session s;
  ASSERT_TRUE(s.LoadDemoModel(DemoModel::kMlp, 6).ok());
  EXPECT_EQ(s.StartTraining({}).code(), StatusCode::kFailedPrecondition);  // no train data yet
  const int64_t n = 64;
  const std::vector<float> x = RandomImages(n, 6);
  std::vector<int64_t> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[i] = i % 10;
  ASSERT_TRUE(s.SetData(DataRole::kTrain, MakeData(x, labels)).ok());
  train::TrainerOptions o;
  o.batch_size = 16;
  o.optimizer = train::TrainerOptions::Opt::kAdam;
  o.schedule.base_lr = 1e-3f;
  ASSERT_TRUE(s.StartTraining(o).ok());
  const float before = s.graph().initializers.at("fc1.weight").f32()[0];
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(s.TrainStep().ok());
  EXPECT_EQ(s.training_history().size(), 8u);
  // Memorising 64 random images: the loss after 2 epochs is below the first step's.
  EXPECT_LT(s.training_history().back().loss, s.training_history().front().loss);
  ASSERT_TRUE(s.CommitTraining().ok());
  EXPECT_FALSE(s.training());
  EXPECT_NE(s.graph().initializers.at("fc1.weight").f32()[0], before);
  EXPECT_EQ(s.TrainStep().status().code(), StatusCode::kFailedPrecondition);
}

TEST(Session, DataSpecErrorsNameTheSpecAndTheRule) {
  Result<data::Dataset> a = LoadDataSpec("fashion-mnist:validation");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("'train' or 'test'"), std::string::npos);
  Result<data::Dataset> b = LoadDataSpec("csv:x.csv");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("unknown kind 'csv'"), std::string::npos);
  Result<data::Dataset> c = LoadDataSpec("npy:only_one.npy");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("npy:IMAGES:LABELS"), std::string::npos);
  Session s;
  EXPECT_EQ(s.SetData(DataRole::kTest, data::Dataset{}).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace qp
