// PTQ workflow tests: BatchNorm folding against the unfolded fp32 graph, configs and presets,
// quantizer placement that lowers completely onto the int8 executor, simulation vs integer
// execution, the QDQ layouts, dynamic quantization vs float, and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/graph/executor.h"
#include "core/int8/int8_executor.h"
#include "core/session/data_spec.h"
#include "core/session/demo_models.h"
#include "core/session/session.h"
#include "core/workflows/calibrate.h"
#include "core/workflows/dynamic_quant.h"
#include "core/workflows/plan.h"
#include "core/workflows/prepare.h"
#include "core/workflows/qdq_export.h"
#include "core/workflows/quant_config.h"
#include "core/workflows/simulate.h"
#include "tests/test_util.h"

namespace qp::workflows {
namespace {

// Synthetic "images": smooth random blobs in [0, 1] so activations have structure.
data::Dataset SyntheticData(int64_t n, uint64_t salt) {
  auto rng = testing::Rng(salt);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  data::Dataset ds;
  ds.images = Tensor(DType::kFloat32, {n, 1, 28, 28});
  ds.labels = Tensor(DType::kInt64, {n});
  ds.num_classes = 10;
  for (int64_t i = 0; i < n; ++i) {
    const float cx = 4 + 20 * u(rng), cy = 4 + 20 * u(rng), r = 3 + 6 * u(rng);
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) {
        const float d = std::hypot(x - cx, y - cy);
        ds.images.f32()[i * 784 + y * 28 + x] = std::min(1.f, std::max(0.f, 1.f - d / r + 0.2f * u(rng)));
      }
    ds.labels.data<int64_t>()[i] = static_cast<int64_t>(u(rng) * 10) % 10;
  }
  return ds;
}

QuantizedModel Calibrated(DemoModel m, const std::string& preset, const data::Dataset& ds) {
  Result<Graph> g = BuildDemoModel(m, testing::Seed());
  EXPECT_TRUE(g.ok());
  Result<QuantConfig> c = PresetConfig(preset);
  EXPECT_TRUE(c.ok());
  Result<QuantPlan> plan = PrepareAndPlan(*g, *c);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  CalibrationOptions o;
  o.batch_size = 32;
  auto cal = Calibrator::Create(*plan, &ds, o);
  EXPECT_TRUE(cal.ok()) << cal.status().ToString();
  while (!(*cal)->done()) {
    Result<double> p = (*cal)->Step();
    EXPECT_TRUE(p.ok()) << p.status().ToString();
  }
  Result<QuantizedModel> qm = (*cal)->Finish();
  EXPECT_TRUE(qm.ok()) << qm.status().ToString();
  return *qm;
}

// Random BatchNorm statistics so folding has something to do (InitializeParameters gives 1/0/0/1).
Graph WithRandomBatchNorms(Graph g, uint64_t salt) {
  auto rng = testing::Rng(salt);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  for (const Node& n : g.nodes) {
    if (n.op_type != "BatchNormalization") continue;
    Tensor& scale = g.initializers[n.inputs[1]];
    Tensor& bias = g.initializers[n.inputs[2]];
    Tensor& mean = g.initializers[n.inputs[3]];
    Tensor& var = g.initializers[n.inputs[4]];
    for (int64_t c = 0; c < scale.numel(); ++c) {
      scale.f32()[c] = 0.5f + u(rng);
      bias.f32()[c] = u(rng) - 0.5f;
      mean.f32()[c] = 0.2f * (u(rng) - 0.5f);
      var.f32()[c] = 0.05f + u(rng);
    }
  }
  return g;
}

TEST(WorkflowsPtq, BatchNormFoldMatchesUnfoldedFp32) {
  SCOPED_TRACE(testing::SeedTrace());
  data::Dataset ds = SyntheticData(16, 2);
  for (DemoModel m : {DemoModel::kCnn, DemoModel::kMobileNet}) {
    SCOPED_TRACE(DemoModelName(m));
    Result<Graph> g = BuildDemoModel(m, testing::Seed());
    ASSERT_TRUE(g.ok());
    Graph orig = WithRandomBatchNorms(*g, 3);
    PrepareReport report;
    Result<Graph> folded = PrepareForQuantization(orig, &report);
    ASSERT_TRUE(folded.ok()) << folded.status().ToString();
    int bns = 0, left = 0;
    for (const Node& n : orig.nodes) bns += n.op_type == "BatchNormalization";
    for (const Node& n : folded->nodes) left += n.op_type == "BatchNormalization";
    EXPECT_EQ(left, 0);
    EXPECT_EQ(static_cast<int>(report.folded_batchnorms.size()), bns);
    auto e1 = Executor::Create(orig);
    auto e2 = Executor::Create(*folded);
    ASSERT_TRUE(e1.ok() && e2.ok());
    auto y1 = e1->Run(std::vector<Tensor>{ds.images});
    auto y2 = e2->Run(std::vector<Tensor>{ds.images});
    ASSERT_TRUE(y1.ok() && y2.ok());
    // Folding is exact in real arithmetic; float rounding of W*g/sqrt(var+eps) and a different
    // summation of the same products differ by a few ulps of the largest output: 1e-5 relative.
    float mx = 0;
    for (int64_t i = 0; i < (*y1)[0].numel(); ++i) mx = std::max(mx, std::fabs((*y1)[0].f32()[i]));
    ASSERT_GT(mx, 0.f);
    for (int64_t i = 0; i < (*y1)[0].numel(); ++i)
      ASSERT_NEAR((*y1)[0].f32()[i], (*y2)[0].f32()[i], 1e-5f * mx) << "output " << i;
  }
}

TEST(WorkflowsPtq, FusionsPlaceNoQuantizerBetweenOpAndActivation) {
  Result<Graph> g = BuildDemoModel(DemoModel::kMobileNet, testing::Seed());
  ASSERT_TRUE(g.ok());
  Result<QuantPlan> plan = PrepareAndPlan(*g, *PresetConfig("int8"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_FALSE(plan->fusions.empty());
  for (const Fusion& f : plan->fusions) {
    const Node* op = nullptr;
    for (const Node& n : plan->graph.nodes)
      if (n.name == f.op) op = &n;
    ASSERT_NE(op, nullptr);
    EXPECT_EQ(plan->FindSite(op->outputs[0]), nullptr) << f.op << " output is quantized before " << f.activation;
    const QuantSite* s = plan->FindSite(f.output);
    ASSERT_NE(s, nullptr) << f.output;
    EXPECT_EQ(s->layer, f.op);
  }
  // Every tensor has at most one site.
  std::set<std::string> seen;
  for (const QuantSite& s : plan->sites) EXPECT_TRUE(seen.insert(s.tensor).second) << s.tensor;
}

TEST(WorkflowsPtq, ConfigParseErrorsNameTheProblem) {
  Result<Graph> g = BuildDemoModel(DemoModel::kCnn, testing::Seed());
  ASSERT_TRUE(g.ok());
  struct Case {
    const char* json;
    const char* needle;
  } cases[] = {
      {R"({"layers": {"conv9": {"skip": true}}})", "conv9"},
      {R"({"weights": {"bits": 9}})", "bits is 9"},
      {R"({"activations": {"bits": 1}})", "bits is 1"},
      {R"({"weights": {"bitz": 4}})", "unknown key 'bitz'"},
      {R"({"activations": {"calibrator": "minmax", "symmetric": true}})", "minmax"},
      {R"({"activations": {"per_channel": true}})", "per_channel"},
      {R"({"weights": {"calibrator": "kl"}})", "calibrator 'kl'"},
      {R"({"weights": {"calibrator": "entropy", "per_channel": true}})", "entropy"},
      {R"({"preset": "int5"})", "int5"},
      {R"({"activations": {"calibrator": "percentile", "percentile": 0}})", "percentile"},
      {R"({"weights": {"bits": "8"}})", "expected integer"},
      {"{\"weights\": {\n  \"bits\": 8,,}}", "line 2"},
  };
  for (const Case& c : cases) {
    Result<QuantConfig> r = ParseQuantConfig(c.json, &*g);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos)
        << c.json << " -> " << r.status().ToString();
  }
}

TEST(WorkflowsPtq, ConfigRoundTripsAndPresets) {
  Result<Graph> g = BuildDemoModel(DemoModel::kCnn, testing::Seed());
  ASSERT_TRUE(g.ok());
  for (const std::string& p : PresetNames()) {
    Result<QuantConfig> c = PresetConfig(p);
    ASSERT_TRUE(c.ok()) << p;
    EXPECT_TRUE(ValidateQuantConfig(*c, &*g).ok()) << p;
    c->layers["conv2"].weights = c->weights;
    c->layers["conv2"].weights->bits = 5;
    c->layers["fc1"].skip = true;
    Result<QuantConfig> back = ParseQuantConfig(QuantConfigToJson(*c), &*g);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(*back == *c) << QuantConfigToJson(*c) << "\nvs\n" << QuantConfigToJson(*back);
  }
  Result<QuantConfig> parsed =
      ParseQuantConfig(R"({"preset": "w4a4", "layers": {"fc2": {"weights": {"bits": 8}}}})", &*g);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->WeightsFor("conv1").bits, 4);
  EXPECT_EQ(parsed->WeightsFor("fc2").bits, 8);
  EXPECT_TRUE(parsed->WeightsFor("fc2").per_channel);  // other fields from the preset
  EXPECT_EQ(parsed->ActivationsFor("conv1").bits, 4);
  EXPECT_FALSE(PresetConfig("int9").ok());
}

class WorkflowsPtqModels : public ::testing::TestWithParam<DemoModel> {};

// The plan places quantizers so that the ORT-layout QDQ graph lowers with no fp32 fallback node, and
// the fake-quant simulation agrees with the integer kernels at every activation site.
TEST_P(WorkflowsPtqModels, QdqGraphLowersCompletelyAndMatchesSimulation) {
  SCOPED_TRACE(testing::SeedTrace());
  const DemoModel m = GetParam();
  data::Dataset ds = SyntheticData(24, 1);
  Result<data::Dataset> probe = data::SliceDataset(ds, 0, 8);
  ASSERT_TRUE(probe.ok());
  for (const char* preset : {"int8", "trt_w8a8"}) {
    SCOPED_TRACE(preset);
    QuantizedModel qm = Calibrated(m, preset, ds);
    Result<Graph> qdq = BuildQdqGraph(qm, QdqLayout::kOrt);
    ASSERT_TRUE(qdq.ok()) << qdq.status().ToString();
    Result<int8::Int8Executor> e = int8::Int8Executor::Create(*qdq);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    EXPECT_EQ(e->fallback_nodes(), 0) << e->Summary();
    auto r = QuantizedRunner::Create(qm);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    Result<SimIntReport> rep = CompareSimulatedToInt8(**r, probe->images);
    ASSERT_TRUE(rep.ok()) << rep.status().ToString();
    ASSERT_GE(rep->sites.size(), 4u);
    for (const SiteDiff& d : rep->sites) {
      // Per layer (int8 inputs): float vs int32 accumulation and requantization differ by at most
      // one rounding step. End to end a one-step difference may propagate, so the bound there is
      // on the fraction within one quantum.
      EXPECT_LE(d.isolated_max_quanta, 1.0 + 1e-3) << d.tensor << "\n" << SimIntReportToString(*rep);
      EXPECT_GE(d.frac_within_one, 0.999) << d.tensor << "\n" << SimIntReportToString(*rep);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Demo, WorkflowsPtqModels,
                         ::testing::Values(DemoModel::kMlp, DemoModel::kCnn, DemoModel::kMobileNet),
                         [](const ::testing::TestParamInfo<DemoModel>& i) {
                           return std::string(DemoModelName(i.param));
                         });

TEST(WorkflowsPtq, TensorRtLayoutHasZeroPointsZeroAndNarrowWeights) {
  data::Dataset ds = SyntheticData(32, 4);
  QuantizedModel qm = Calibrated(DemoModel::kCnn, "trt_w8a8", ds);
  Result<Graph> g = BuildQdqGraph(qm, QdqLayout::kTensorRt);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  int weight_q = 0, act_q = 0;
  for (const Node& n : g->nodes) {
    if (n.op_type != "QuantizeLinear" && n.op_type != "DequantizeLinear") continue;
    const Tensor& zp = g->initializers.at(n.inputs[2]);
    ASSERT_EQ(zp.dtype(), DType::kInt8) << n.name;
    for (int64_t i = 0; i < zp.numel(); ++i) EXPECT_EQ(zp.data<int8_t>()[i], 0) << n.name;
    if (n.op_type != "QuantizeLinear") continue;
    auto w = g->initializers.find(n.inputs[0]);
    if (w == g->initializers.end()) {
      ++act_q;
      continue;
    }
    ++weight_q;
    // Quantize the float weight as QuantizeLinear would: every code must lie in [-127, 127].
    const Tensor& s = g->initializers.at(n.inputs[1]);
    const int64_t ch = s.numel(), inner = w->second.numel() / w->second.dim(0);
    for (int64_t i = 0; i < w->second.numel(); ++i) {
      const float sc = s.f32()[ch == 1 ? 0 : i / inner];
      const float q = std::nearbyint(w->second.f32()[i] / sc);
      ASSERT_GE(q, -127.f) << n.name << " " << i;
      ASSERT_LE(q, 127.f) << n.name << " " << i;
    }
  }
  EXPECT_EQ(weight_q, 5);
  EXPECT_GE(act_q, 5);
  Result<int8::Int8Executor> e = int8::Int8Executor::Create(*g);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->fallback_nodes(), 0) << e->Summary();
  // ORT-style activations (u8 affine) cannot take the TensorRT layout.
  QuantizedModel u8 = Calibrated(DemoModel::kCnn, "int8", ds);
  EXPECT_FALSE(BuildQdqGraph(u8, QdqLayout::kTensorRt).ok());
}

TEST(WorkflowsPtq, LowBitExportIsRefusedNamingTheLayer) {
  data::Dataset ds = SyntheticData(16, 5);
  QuantizedModel qm = Calibrated(DemoModel::kMlp, "w4a8", ds);
  Result<Graph> g = BuildQdqGraph(qm, QdqLayout::kOrt);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("fc1"), std::string::npos) << g.status().ToString();
  EXPECT_NE(g.status().message().find("opset 21"), std::string::npos) << g.status().ToString();
  // Simulation still works at 4 bits, and differs from float.
  auto r = QuantizedRunner::Create(qm);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto sim = (*r)->Run(ExecMode::kSimulated, ds.images);
  auto flt = (*r)->Run(ExecMode::kFloat, ds.images);
  ASSERT_TRUE(sim.ok() && flt.ok());
  double diff = 0;
  for (int64_t i = 0; i < (*sim)[0].numel(); ++i) diff += std::fabs((*sim)[0].f32()[i] - (*flt)[0].f32()[i]);
  EXPECT_GT(diff, 0);
  EXPECT_FALSE((*r)->Run(ExecMode::kInt8, ds.images).ok());
}

TEST(WorkflowsPtq, OneHistogramServesEveryCalibrator) {
  data::Dataset ds = SyntheticData(48, 6);
  Result<Graph> g = BuildDemoModel(DemoModel::kCnn, testing::Seed());
  ASSERT_TRUE(g.ok());
  QuantConfig c = *PresetConfig("trt_w8a8");
  auto plan = PrepareAndPlan(*g, c);
  ASSERT_TRUE(plan.ok());
  CalibrationOptions o;
  o.batch_size = 16;
  auto cal = Calibrator::Create(*plan, &ds, o);
  ASSERT_TRUE(cal.ok());
  EXPECT_EQ((*cal)->total_batches(), 3);
  double last = 0;
  while (!(*cal)->done()) {
    Result<double> p = (*cal)->Step();
    ASSERT_TRUE(p.ok());
    EXPECT_GT(*p, last);
    last = *p;
  }
  EXPECT_DOUBLE_EQ(last, 1.0);
  EXPECT_FALSE((*cal)->Step().ok());
  // Max calibration from the same stats = the exact largest |x| seen (float executor oracle).
  c.activations.calibrator = CalibMethod::kMax;
  auto plan_max = PlanQuantization(plan->graph, c);
  ASSERT_TRUE(plan_max.ok());
  auto qm = ComputeQuantizedModel(*plan_max, (*cal)->stats());
  ASSERT_TRUE(qm.ok()) << qm.status().ToString();
  Graph probe = plan->graph;
  ValueInfo v;
  v.name = "relu2.out";
  v.has_shape = false;
  probe.outputs.push_back(v);
  auto e = Executor::Create(probe);
  ASSERT_TRUE(e.ok());
  auto outs = e->Run(std::vector<Tensor>{ds.images});
  ASSERT_TRUE(outs.ok());
  float mx = 0;
  int64_t arg = 0;
  const Tensor& t = outs->back();
  const int64_t per = t.numel() / 48;
  for (int64_t i = 0; i < t.numel(); ++i)
    if (std::fabs(t.f32()[i]) > mx) mx = std::fabs(t.f32()[i]), arg = i / per;
  EXPECT_FLOAT_EQ(qm->amax.at("relu2.out"), mx);
  EXPECT_FLOAT_EQ(qm->Params("relu2.out")->scales[0], mx / 127.f);
  // Outlier attribution: the sample with the largest |x| comes first.
  ASSERT_FALSE(qm->stats.outliers.at("relu2.out").empty());
  EXPECT_EQ(qm->stats.outliers.at("relu2.out")[0].sample, arg);
  // Percentile <= max; the percentile model from the first plan uses a smaller amax.
  auto qp = ComputeQuantizedModel(*plan, (*cal)->stats());
  ASSERT_TRUE(qp.ok());
  EXPECT_LE(qp->amax.at("relu2.out"), mx);
}

TEST(WorkflowsPtq, DynamicQuantizationCloseToFloat) {
  SCOPED_TRACE(testing::SeedTrace());
  data::Dataset ds = SyntheticData(32, 7);
  Result<Graph> g = BuildDemoModel(DemoModel::kMlp, testing::Seed());
  ASSERT_TRUE(g.ok());
  auto dq = DynamicQuantizedModel::Create(*g);
  ASSERT_TRUE(dq.ok()) << dq.status().ToString();
  EXPECT_EQ((*dq)->quantized_layers().size(), 3u);
  auto e = Executor::Create(*g);
  ASSERT_TRUE(e.ok());
  auto yf = e->Run(std::vector<Tensor>{ds.images});
  auto yq = (*dq)->Run({ds.images});
  ASSERT_TRUE(yf.ok() && yq.ok()) << yq.status().ToString();
  // Oracle: float. Per layer the error is bounded by the activation step (<= range/255) and the
  // weight step (amax/127) times the fan-in; over three layers a few percent of the output range.
  float range = 0, maxdiff = 0;
  int agree = 0;
  for (int64_t i = 0; i < (*yf)[0].numel(); ++i) {
    range = std::max(range, std::fabs((*yf)[0].f32()[i]));
    maxdiff = std::max(maxdiff, std::fabs((*yf)[0].f32()[i] - (*yq)[0].f32()[i]));
  }
  for (int64_t r = 0; r < 32; ++r) {
    const float* a = (*yf)[0].f32() + r * 10;
    const float* b = (*yq)[0].f32() + r * 10;
    agree += std::max_element(a, a + 10) - a == std::max_element(b, b + 10) - b;
  }
  EXPECT_GT(maxdiff, 0.f);  // it did quantize
  EXPECT_LT(maxdiff, 0.05f * range);
  EXPECT_GE(agree, 28);
  DynamicQuantOptions bad;
  bad.skip = {"nope"};
  EXPECT_FALSE(DynamicQuantizedModel::Create(*g, bad).ok());
}

// Session: a failed step leaves the session as it was.
TEST(WorkflowsPtq, SessionBadInputLeavesStateUnchanged) {
  Session s;
  ASSERT_TRUE(s.LoadDemoModel(DemoModel::kCnn, testing::Seed()).ok());
  EXPECT_FALSE(s.StartCalibration().ok());  // no config yet
  ASSERT_TRUE(s.SetQuantPreset("int8").ok());
  const std::string before = QuantConfigToJson(*s.quant_config());
  // Config naming a missing layer: error, config unchanged.
  Status st = s.SetQuantConfig(std::string(R"({"layers": {"conv7": {"skip": true}}})"));
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("conv7"), std::string::npos) << st.ToString();
  EXPECT_EQ(QuantConfigToJson(*s.quant_config()), before);
  // No calibration data.
  EXPECT_FALSE(s.StartCalibration().ok());
  // Wrong sample shape.
  data::Dataset wrong;
  wrong.images = Tensor(DType::kFloat32, {4, 1, 10, 10});
  wrong.labels = Tensor(DType::kInt64, {4});
  wrong.num_classes = 10;
  ASSERT_TRUE(s.SetData(DataRole::kCalibration, wrong).ok());
  st = s.StartCalibration();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("100 values"), std::string::npos) << st.ToString();
  EXPECT_FALSE(s.calibrating());
  // Empty calibration set is refused by SetData already; the Calibrator refuses it too.
  data::Dataset empty;
  empty.images = Tensor(DType::kFloat32, {0, 1, 28, 28});
  empty.labels = Tensor(DType::kInt64, {0});
  EXPECT_FALSE(s.SetData(DataRole::kCalibration, empty).ok());
  EXPECT_FALSE(Calibrator::Create(*s.quant_plan(), &empty).ok());
  // NaN in the second batch: the step fails, the first batch's statistics stay, Quantize works.
  data::Dataset ds = SyntheticData(8, 8);
  ds.images.f32()[5 * 784 + 17] = std::nanf("");
  ASSERT_TRUE(s.SetData(DataRole::kCalibration, ds).ok());
  CalibrationOptions o;
  o.batch_size = 4;
  ASSERT_TRUE(s.StartCalibration(o).ok());
  ASSERT_TRUE(s.CalibrateStep().ok());
  Result<double> bad = s.CalibrateStep();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("samples 4..7"), std::string::npos) << bad.status().ToString();
  EXPECT_DOUBLE_EQ(s.calibration_progress(), 0.5);
  EXPECT_FALSE(s.ExportQdq(QdqLayout::kOrt).ok());  // not quantized yet
  ASSERT_TRUE(s.Quantize().ok());
  ASSERT_NE(s.quantized_model(), nullptr);
  Result<std::string> onnx = s.ExportQdq(QdqLayout::kOrt);
  ASSERT_TRUE(onnx.ok()) << onnx.status().ToString();
  EXPECT_GT(onnx->size(), 1000u);
  // A failed config change keeps the quantized model.
  EXPECT_FALSE(s.SetQuantPreset("nope").ok());
  EXPECT_NE(s.quantized_model(), nullptr);
  // Changing the model clears quantization.
  ASSERT_TRUE(s.LoadDemoModel(DemoModel::kMlp, testing::Seed()).ok());
  EXPECT_EQ(s.quantized_model(), nullptr);
  EXPECT_EQ(s.quant_config(), nullptr);
}

// The exported bytes, loaded as a model file, run on the int8 kernels with no fp32 fallback (the
// Session builds int8 plans from the graph before the fp32 executor folds DequantizeLinear).
TEST(WorkflowsPtq, ExportedQdqFileRunsOnInt8Kernels) {
  Session s;
  ASSERT_TRUE(s.LoadDemoModel(DemoModel::kCnn, testing::Seed()).ok());
  data::Dataset ds = SyntheticData(16, 10);
  ASSERT_TRUE(s.SetData(DataRole::kCalibration, ds).ok());
  ASSERT_TRUE(s.SetQuantPreset("int8").ok());
  ASSERT_TRUE(s.StartCalibration().ok());
  ASSERT_TRUE(s.CalibrateStep().ok());
  ASSERT_TRUE(s.Quantize().ok());
  for (QdqLayout layout : {QdqLayout::kOrt}) {
    Result<std::string> bytes = s.ExportQdq(layout);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    Session t;
    ASSERT_TRUE(t.LoadModel(bytes->data(), bytes->size(), "cnn.qdq.onnx").ok());
    RunOptions run;
    run.int8 = true;
    run.backend = int8::Backend::kScalar;
    Result<const int8::Int8Executor*> plan = t.Int8Plan(run);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    EXPECT_EQ((*plan)->fallback_nodes(), 0) << (*plan)->Summary();
    EXPECT_GE((*plan)->int8_kernel_steps(), 5) << (*plan)->Summary();
    // And its outputs are the session's own int8 execution of the quantized model.
    auto a = t.Run(ds.images, run);
    auto b = s.RunQuantized(ExecMode::kInt8, ds.images, run);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ((*a)[0].numel(), (*b)[0].numel());
    for (int64_t i = 0; i < (*a)[0].numel(); ++i) ASSERT_EQ((*a)[0].f32()[i], (*b)[0].f32()[i]) << i;
  }
}

// Trained models (models/*.onnx, when present) on real data (Fashion-MNIST, when installed and
// readable in this build): int8 PTQ with the ORT preset stays within 2 points of fp32 on 200 test
// images (calibrated on 128 other test images), and the int8 kernels and the simulation make the
// same top-1 decision on all but a few of them.
TEST(WorkflowsPtq, TrainedModelsKeepAccuracyOnFashionMnist) {
  Result<data::Dataset> test = LoadDataSpec("fashion-mnist:test");
  if (!test.ok()) GTEST_SKIP() << "Fashion-MNIST not available: " << test.status().ToString();
  int ran = 0;
  for (const char* name : {"mlp", "cnn", "mobilenet"}) {
    const std::string path = testing::SourceDir() + "/models/" + name + ".onnx";
    Session s;
    if (!s.LoadModelFile(path).ok()) continue;
    SCOPED_TRACE(name);
    ++ran;
    ASSERT_TRUE(s.SetData(DataRole::kCalibration, *data::SliceDataset(*test, 5000, 128)).ok());
    ASSERT_TRUE(s.SetData(DataRole::kTest, *data::SliceDataset(*test, 0, 200)).ok());
    ASSERT_TRUE(s.SetQuantPreset("int8").ok());
    ASSERT_TRUE(s.StartCalibration().ok());
    while (s.calibration_progress() < 1.0) ASSERT_TRUE(s.CalibrateStep().ok());
    ASSERT_TRUE(s.Quantize().ok());
    auto f = s.EvaluateQuantized(ExecMode::kFloat);
    auto q = s.EvaluateQuantized(ExecMode::kInt8);
    auto sim = s.EvaluateQuantized(ExecMode::kSimulated);
    ASSERT_TRUE(f.ok() && q.ok() && sim.ok());
    EXPECT_GT(f->accuracy, 0.8);
    EXPECT_LE(std::fabs(q->accuracy - f->accuracy), 0.02);
    EXPECT_LE(std::abs(q->correct - sim->correct), 2);
  }
  if (ran == 0) GTEST_SKIP() << "no trained model in models/";
}

TEST(WorkflowsPtq, SessionEvaluatesFloatSimulatedAndInt8) {
  Session s;
  ASSERT_TRUE(s.LoadDemoModel(DemoModel::kMlp, testing::Seed()).ok());
  data::Dataset ds = SyntheticData(64, 9);
  ASSERT_TRUE(s.SetData(DataRole::kCalibration, ds).ok());
  ASSERT_TRUE(s.SetData(DataRole::kTest, ds).ok());
  ASSERT_TRUE(s.SetQuantPreset("int8").ok());
  ASSERT_TRUE(s.StartCalibration().ok());
  while (s.calibrating() && s.calibration_progress() < 1.0) ASSERT_TRUE(s.CalibrateStep().ok());
  ASSERT_TRUE(s.Quantize().ok());
  auto f = s.EvaluateQuantized(ExecMode::kFloat);
  auto sim = s.EvaluateQuantized(ExecMode::kSimulated);
  auto i8 = s.EvaluateQuantized(ExecMode::kInt8);
  auto ref = s.Evaluate(DataRole::kTest);
  ASSERT_TRUE(f.ok() && sim.ok() && i8.ok() && ref.ok());
  EXPECT_EQ(f->correct, ref->correct);  // prepared float graph == the model
  EXPECT_EQ(sim->samples, 64);
  auto rep = s.SimIntReport(DataRole::kTest, 32);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_EQ(rep->samples, 32);
  auto js = s.QuantParamsJson();
  ASSERT_TRUE(js.ok());
  EXPECT_NE(js->find("\"fc1.weight\""), std::string::npos);
}

}  // namespace
}  // namespace qp::workflows
