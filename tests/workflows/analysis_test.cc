// Analysis: SQNR against a direct computation, sensitivity rows against configurations built by
// hand, the sweep table (shape, progress, CSV/JSON, the range-precision effect with outliers),
// clipping vs rounding from the histogram, and the Pareto front against brute force.
#include "core/workflows/analysis.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/base/json.h"
#include "core/quant/quantize.h"
#include "tests/test_util.h"
#include "tests/workflows/workflow_fixtures.h"

namespace qp::workflows {
namespace {

using qp::testing::wf::BlobDataset;
using qp::testing::wf::Calibrate;
using qp::testing::wf::MakeMlp;
using qp::testing::wf::TrainFloat;

struct AWorld {
  data::Dataset train, test;
  Graph float_graph;
  QuantizedModel int8;  // preset int8, every layer quantized (its stats feed the analyses)
  AnalysisContext ctx;
};

const AWorld& World() {
  static const AWorld* w = [] {
    auto* a = new AWorld();
    a->train = BlobDataset(2048, 17);
    a->test = BlobDataset(512, 18);
    a->float_graph = TrainFloat(MakeMlp(16, 48, 10, 3), a->train, 300);
    a->int8 = Calibrate(a->float_graph, *PresetConfig("int8"), a->train);
    Result<AnalysisContext> c = MakeAnalysisContext(a->float_graph, a->int8.stats, a->test, 512);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (c.ok()) a->ctx = std::move(*c);
    return a;
  }();
  return *w;
}

TEST(Analysis, SqnrDefinition) {
  const float ref[] = {1, -2, 3, 0};
  const float test[] = {1.1f, -2, 2.9f, 0};
  const double want = 10 * std::log10((1 + 4 + 9) / (0.1 * 0.1 + 0.1 * 0.1));
  EXPECT_NEAR(SqnrDb(ref, test, 4), want, 1e-4);
  EXPECT_TRUE(std::isinf(SqnrDb(ref, ref, 4)));
}

TEST(Analysis, PerLayerSqnrMatchesDirectComputation) {
  const AWorld& w = World();
  Result<Tensor> x = AdaptInput(w.float_graph, w.test.images);
  ASSERT_TRUE(x.ok());
  Result<std::vector<LayerSqnr>> rows = PerLayerSqnr(w.int8, *x);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  int weights = 0, acts = 0;
  for (const LayerSqnr& r : *rows) {
    SCOPED_TRACE(r.tensor);
    if (r.role == quant::QuantRole::kWeight) {
      ++weights;
      // Oracle: per-channel fake-quant of the weight computed here with the quant library.
      const Tensor& wt = w.int8.plan.graph.initializers.at(r.tensor);
      const quant::TensorQParams& p = *w.int8.Params(r.tensor);
      ASSERT_TRUE(p.axis.has_value());
      double s = 0, e = 0;
      const int64_t rows_n = wt.dim(0), cols = wt.numel() / rows_n;
      for (int64_t c = 0; c < rows_n; ++c)
        for (int64_t i = 0; i < cols; ++i) {
          const float v = wt.f32()[c * cols + i];
          const float q = quant::FakeQuantValue(v, p.Channel(c));
          s += double(v) * v;
          e += (double(v) - q) * (double(v) - q);
        }
      EXPECT_NEAR(r.fake_quant_db, 10 * std::log10(s / e), 1e-6);
      EXPECT_NEAR(r.int8_db, r.fake_quant_db, 1e-9);
      EXPECT_GT(r.fake_quant_db, 30);  // 8-bit per channel: ~6 dB per bit minus the crest factor
    } else {
      ++acts;
      EXPECT_GT(r.fake_quant_db, 15) << "8-bit activations";
      // Integer kernels agree with the simulation to about a quantum: SQNRs within 3 dB.
      ASSERT_FALSE(std::isnan(r.int8_db));
      EXPECT_NEAR(r.int8_db, r.fake_quant_db, 3.0);
    }
  }
  EXPECT_EQ(weights, 3);
  EXPECT_GE(acts, 3);
}

TEST(Analysis, PerLayerSqnrWithoutInt8EqualsTheFakeQuantFigures) {
  const AWorld& w = World();
  Result<Tensor> x = AdaptInput(w.float_graph, w.test.images);
  ASSERT_TRUE(x.ok());
  Result<std::vector<LayerSqnr>> full = PerLayerSqnr(w.int8, *x);
  Result<std::vector<LayerSqnr>> fast = PerLayerSqnr(w.int8, *x, false);
  ASSERT_TRUE(full.ok() && fast.ok()) << fast.status().ToString();
  size_t matched = 0;
  for (const LayerSqnr& f : *fast) {
    SCOPED_TRACE(f.tensor);
    EXPECT_NE(f.tensor, w.int8.plan.graph.inputs[0].name);
    if (f.role == quant::QuantRole::kActivation) EXPECT_TRUE(std::isnan(f.int8_db));
    for (const LayerSqnr& r : *full)
      if (r.tensor == f.tensor) {
        EXPECT_NEAR(f.fake_quant_db, r.fake_quant_db, 1e-9);
        if (f.role == quant::QuantRole::kWeight) EXPECT_EQ(f.int8_db, r.int8_db);  // from the codes
        ++matched;
      }
  }
  EXPECT_EQ(matched, fast->size());
  EXPECT_GE(fast->size() + 1, full->size());  // at most the input's site left out
}

TEST(Analysis, SensitivityRowsEqualHandBuiltConfigs) {
  const AWorld& w = World();
  QuantConfig cfg = *PresetConfig("w3a3");
  Result<SensitivityReport> rep = LayerSensitivity(w.ctx, cfg);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  ASSERT_EQ(rep->rows.size(), 3u);
  std::printf("%s", SensitivityToString(*rep).c_str());
  // Ranked: non-decreasing "only" accuracy.
  for (size_t i = 1; i < rep->rows.size(); ++i)
    EXPECT_LE(rep->rows[i - 1].only.accuracy, rep->rows[i].only.accuracy);
  // Oracle for one row: the configuration built by hand, calibrated from scratch by the PTQ
  // pipeline and run by its QuantizedRunner.
  const SensitivityRow& row = rep->rows.front();
  QuantConfig only = cfg;
  for (const std::string l : {"fc1", "fc2", "fc3"})
    if (l != row.layer) only.layers[l].skip = true;
  QuantizedModel m = Calibrate(w.float_graph, only, w.train);
  Result<std::unique_ptr<QuantizedRunner>> r = QuantizedRunner::Create(m);
  ASSERT_TRUE(r.ok());
  Result<AccuracyResult> acc = EvaluateAccuracy(**r, ExecMode::kSimulated, w.test);
  ASSERT_TRUE(acc.ok());
  EXPECT_DOUBLE_EQ(row.only.accuracy, acc->accuracy);
  // Quantizing everything is no better than leaving one layer float (on the output SQNR).
  for (const SensitivityRow& s : rep->rows) EXPECT_GE(s.all_but.output_sqnr, rep->all.output_sqnr - 0.5);
}

TEST(Analysis, SweepTableProgressAndRangePrecisionEffect) {
  const AWorld& w = World();
  SweepOptions o;
  o.bits = {3, 4, 8};
  Result<std::unique_ptr<RangePrecisionSweep>> s = RangePrecisionSweep::Create(&w.ctx, *PresetConfig("int8"), o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->total(), 3u * 6u);
  double last = 0;
  while (!(*s)->done()) {
    Result<double> p = (*s)->Step();
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_GT(*p, last);
    last = *p;
  }
  EXPECT_EQ(last, 1.0);
  EXPECT_FALSE((*s)->Step().ok());
  const auto& rows = (*s)->rows();
  ASSERT_EQ(rows.size(), 18u);
  auto find = [&](int bits, const std::string& cal) -> const SweepRow& {
    for (const SweepRow& r : rows)
      if (r.bits == bits && r.calibrator == cal) return r;
    ADD_FAILURE() << bits << " " << cal;
    return rows[0];
  };
  const double float_acc = qp::testing::wf::FloatAccuracy(w.float_graph, w.ctx.eval);
  EXPECT_NEAR(find(8, "max").accuracy, float_acc, 0.02);
  // The data has rare 6x outliers: at 3-4 bits a clipped range beats max calibration.
  for (int b : {3, 4}) {
    const double best_clip = std::max({find(b, "mse").output_sqnr, find(b, "percentile_99.9").output_sqnr,
                                       find(b, "percentile_99.99").output_sqnr});
    EXPECT_GT(best_clip, find(b, "max").output_sqnr + 1.0) << b << " bits";
  }
  // CSV: header + one line per row, 6 columns; JSON parses back with the same rows.
  const std::string csv = SweepToCsv(rows);
  EXPECT_EQ(csv.rfind("scope,bits,calibrator,accuracy,output_sqnr_db,error\n", 0), 0u);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 19);
  Result<json::Value> j = json::Parse(SweepToJson(rows));
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  json::Cursor c(*j, "sweep");
  ASSERT_EQ(c["rows"].value().size(), 18u);
  EXPECT_EQ(*c["rows"].At(0).String("scope"), "all");
  EXPECT_DOUBLE_EQ(*c["rows"].At(5).Number("accuracy"), rows[5].accuracy);

  SweepOptions bad;
  bad.bits = {1};
  EXPECT_EQ(RangePrecisionSweep::Create(&w.ctx, *PresetConfig("int8"), bad).status().code(),
            StatusCode::kOutOfRange);
}

TEST(Analysis, PerLayerSweepRowsNameTheLayer) {
  const AWorld& w = World();
  SweepOptions o;
  o.bits = {4};
  o.calibrators = {{CalibMethod::kMax, 99.99}};
  o.global = false;
  o.per_layer = true;
  Result<std::unique_ptr<RangePrecisionSweep>> s = RangePrecisionSweep::Create(&w.ctx, *PresetConfig("int8"), o);
  ASSERT_TRUE(s.ok());
  while (!(*s)->done()) ASSERT_TRUE((*s)->Step().ok());
  ASSERT_EQ((*s)->rows().size(), 3u);
  EXPECT_EQ((*s)->rows()[0].scope, "fc1");
  EXPECT_EQ((*s)->rows()[2].scope, "fc3");
}

TEST(Analysis, ChunkedSweepEqualsOneShot) {
  // The playground steps a configuration in sample chunks to stay within a frame; the rows must
  // be those of whole-configuration steps. 7 samples per chunk does not divide the 512 samples.
  const AWorld& w = World();
  SweepOptions o;
  o.bits = {2, 4, 8};
  o.calibrators = {{CalibMethod::kMax, 99.99}, {CalibMethod::kEntropy, 99.99}, {CalibMethod::kMse, 99.99}};
  o.per_layer = true;
  auto run = [&](int64_t chunk, int* steps) {
    Result<std::unique_ptr<RangePrecisionSweep>> s = RangePrecisionSweep::Create(&w.ctx, *PresetConfig("int8"), o);
    EXPECT_TRUE(s.ok());
    EXPECT_TRUE((*s)->set_chunk_samples(chunk).ok());
    double last = 0;
    *steps = 0;
    while (!(*s)->done()) {
      Result<double> p = (*s)->Step();
      EXPECT_TRUE(p.ok()) << p.status().ToString();
      EXPECT_GE(*p, last);
      EXPECT_LE(*p, 1.0);
      last = *p;
      ++*steps;
    }
    EXPECT_EQ(last, 1.0);
    return (*s)->rows();
  };
  int one_steps = 0, chunk_steps = 0;
  const std::vector<SweepRow> one = run(0, &one_steps);
  const std::vector<SweepRow> chunked = run(7, &chunk_steps);
  ASSERT_EQ(one.size(), chunked.size());
  EXPECT_EQ(one_steps, static_cast<int>(one.size()));
  EXPECT_GT(chunk_steps, one_steps * 10);  // ceil(512 / 7) + 1 steps per evaluable configuration
  for (size_t i = 0; i < one.size(); ++i) {
    SCOPED_TRACE(one[i].scope + " " + std::to_string(one[i].bits) + " " + one[i].calibrator);
    EXPECT_EQ(chunked[i].scope, one[i].scope);
    EXPECT_EQ(chunked[i].calibrator, one[i].calibrator);
    EXPECT_EQ(chunked[i].error, one[i].error);
    if (!one[i].error.empty()) continue;
    EXPECT_EQ(chunked[i].accuracy, one[i].accuracy);
    EXPECT_NEAR(chunked[i].output_sqnr, one[i].output_sqnr, 1e-9);
  }
  Result<std::unique_ptr<RangePrecisionSweep>> s = RangePrecisionSweep::Create(&w.ctx, *PresetConfig("int8"), o);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->set_chunk_samples(-1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ConfigEvaluation::Start(&w.ctx, *PresetConfig("int8"), 0).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(Analysis, SteppedContextEqualsOneShot) {
  const AWorld& w = World();
  Result<std::unique_ptr<AnalysisContextBuilder>> b =
      AnalysisContextBuilder::Start(w.float_graph, w.int8.stats, w.test, 100, 9);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_FALSE((*b)->Take().ok());  // not complete yet
  int steps = 0;
  while (!(*b)->done()) {
    ASSERT_TRUE((*b)->Step().ok());
    ++steps;
  }
  EXPECT_EQ(steps, 12);  // ceil(100 / 9)
  Result<AnalysisContext> stepped = (*b)->Take();
  ASSERT_TRUE(stepped.ok()) << stepped.status().ToString();
  Result<AnalysisContext> one = MakeAnalysisContext(w.float_graph, w.int8.stats, w.test, 100);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(stepped->float_logits.shape(), one->float_logits.shape());
  for (int64_t i = 0; i < one->float_logits.numel(); ++i)
    ASSERT_EQ(stepped->float_logits.f32()[i], one->float_logits.f32()[i]) << i;
  EXPECT_EQ(stepped->eval.size(), 100);
  EXPECT_EQ(AnalysisContextBuilder::Start(w.float_graph, w.int8.stats, w.test, 100, 0).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(Analysis, CalibratorThresholdsMatchTheQuantLibrary) {
  const AWorld& w = World();
  const std::string t = "relu1_out";
  Result<std::vector<std::pair<std::string, float>>> th = CalibratorThresholds(w.int8.stats, t, 4, true);
  ASSERT_TRUE(th.ok()) << th.status().ToString();
  ASSERT_EQ(th->size(), 6u);
  const quant::Histogram& h = w.int8.stats.histograms.at(t).histogram();
  quant::AmaxOptions o;
  o.bits = 4;
  o.is_unsigned = true;
  EXPECT_EQ((*th)[0].first, "max");
  EXPECT_EQ((*th)[0].second, h.max_abs);
  o.percentile = 99.9;
  EXPECT_EQ((*th)[1].first, "percentile_99.9");
  EXPECT_EQ((*th)[1].second, *quant::ComputeAmax(h, quant::AmaxMethod::kPercentile, o));
  EXPECT_EQ((*th)[4].first, "mse");
  EXPECT_EQ((*th)[4].second, *quant::ComputeAmax(h, quant::AmaxMethod::kMse, o));
  EXPECT_EQ((*th)[5].first, "entropy");
  EXPECT_EQ((*th)[5].second, *quant::ComputeAmax(h, quant::AmaxMethod::kEntropy, o));
  // Tighter percentiles clip more; a percentile is a bin's upper edge, so it may pass the exact
  // max by less than one bin.
  EXPECT_LE((*th)[1].second, (*th)[2].second);
  EXPECT_LE((*th)[2].second, (*th)[3].second);
  EXPECT_LT((*th)[3].second, (*th)[0].second + h.bin_width());
  EXPECT_EQ(CalibratorThresholds(w.int8.stats, "nope", 8).status().code(), StatusCode::kNotFound);
}

TEST(Analysis, WeightClipStatsHoldEveryWeightElement) {
  const AWorld& w = World();
  Result<CalibrationStats> ws = WeightClipStats(w.int8);
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  int weights = 0;
  for (const QuantSite& s : w.int8.plan.sites) {
    if (s.role != quant::QuantRole::kWeight) continue;
    ++weights;
    SCOPED_TRACE(s.tensor);
    const Tensor& t = w.int8.plan.graph.initializers.at(s.tensor);
    float amax = 0;
    int64_t arg = 0;
    for (int64_t i = 0; i < t.numel(); ++i)
      if (std::fabs(t.f32()[i]) > amax) {
        amax = std::fabs(t.f32()[i]);
        arg = i;
      }
    const quant::Histogram& h = ws->histograms.at(s.tensor).histogram();
    EXPECT_EQ(h.total(), t.numel());
    EXPECT_EQ(h.max_abs, amax);
    ASSERT_EQ(ws->outliers.at(s.tensor).size(), 5u);
    EXPECT_EQ(ws->outliers.at(s.tensor)[0].sample, arg);
    EXPECT_GE(ws->outliers.at(s.tensor)[0].max_abs, ws->outliers.at(s.tensor)[4].max_abs);
    // Clipping at half the max clips the largest element.
    Result<TensorClipReport> r = AnalyzeTensorClip(*ws, s.tensor, amax * 0.5f, 8);
    ASSERT_TRUE(r.ok());
    EXPECT_GE(r->split.clipped_count, 1);
  }
  EXPECT_EQ(weights, 3);
}

TEST(Analysis, ClipVersusRoundingAndOutliers) {
  const AWorld& w = World();
  const std::string t = "relu1_out";
  Result<TensorClipReport> wide = AnalyzeTensorClip(w.int8.stats, t, 1e6f, 4, true);
  ASSERT_TRUE(wide.ok()) << wide.status().ToString();
  EXPECT_EQ(wide->split.clipping, 0.0);
  EXPECT_GT(wide->split.rounding, 0.0);
  const float amax = w.int8.stats.histograms.at(t).histogram().max_abs * 0.1f;
  Result<TensorClipReport> narrow = AnalyzeTensorClip(w.int8.stats, t, amax, 4, true);
  ASSERT_TRUE(narrow.ok());
  EXPECT_GT(narrow->split.clipping, 0.0);
  EXPECT_LT(narrow->split.rounding, wide->split.rounding);
  // Outlier attribution: the recorded samples really hold the largest |x| at that site.
  ASSERT_FALSE(narrow->outliers.empty());
  EXPECT_FLOAT_EQ(narrow->outliers[0].max_abs, w.int8.stats.histograms.at(t).histogram().max_abs);
  Result<TensorClipReport> missing = AnalyzeTensorClip(w.int8.stats, "nope", 1, 8);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(Analysis, ParetoFrontMatchesBruteForce) {
  std::mt19937_64 rng = qp::testing::Rng(7);
  SCOPED_TRACE(qp::testing::SeedTrace());
  for (int trial = 0; trial < 300; ++trial) {
    const size_t n = 1 + rng() % 30;
    std::vector<std::pair<int64_t, double>> pts;
    for (size_t i = 0; i < n; ++i)  // small ranges so ties happen
      pts.emplace_back(static_cast<int64_t>(rng() % 8), static_cast<double>(rng() % 6) / 5.0);
    std::vector<size_t> want;
    for (size_t i = 0; i < n; ++i) {
      bool dominated = false;
      for (size_t j = 0; j < n; ++j)
        dominated = dominated || (pts[j].first <= pts[i].first && pts[j].second >= pts[i].second &&
                                  (pts[j].first < pts[i].first || pts[j].second > pts[i].second));
      if (!dominated) want.push_back(i);
    }
    ASSERT_EQ(ParetoFront(pts), want) << "trial " << trial;
  }
}

TEST(Analysis, MixedPrecisionWhatIf) {
  const AWorld& w = World();
  Result<std::vector<std::map<std::string, int>>> choices =
      EnumerateBitChoices({"fc1", "fc2", "fc3"}, {2, 4, 8});
  ASSERT_TRUE(choices.ok());
  ASSERT_EQ(choices->size(), 27u);
  Result<std::vector<MixedPoint>> pts = MixedPrecisionWhatIf(w.ctx, *PresetConfig("int8"), *choices);
  ASSERT_TRUE(pts.ok()) << pts.status().ToString();
  // Size oracle: elements of each weight x its bits.
  const int64_t n1 = 48 * 16, n2 = 48 * 48, n3 = 10 * 48;
  for (const MixedPoint& p : *pts)
    EXPECT_EQ(p.size_bits, n1 * p.weight_bits.at("fc1") + n2 * p.weight_bits.at("fc2") +
                               n3 * p.weight_bits.at("fc3"));
  // The all-2-bit point is the smallest, hence Pareto; all-8-bit is at least as accurate as any
  // point of its size.
  EXPECT_TRUE((*pts)[0].pareto);
  int front = 0;
  for (const MixedPoint& p : *pts) front += p.pareto;
  EXPECT_GE(front, 2);
  EXPECT_FALSE(EnumerateBitChoices({"a", "b", "c"}, {2, 3, 4, 5}, 10).ok());
}

}  // namespace
}  // namespace qp::workflows
