// Quantization analysis (see analysis.h).
#include "core/workflows/analysis.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <set>
#include <sstream>

#include "core/base/json.h"
#include "core/workflows/fake_quant.h"
#include "core/workflows/plan.h"
#include "core/workflows/simulate.h"

namespace qp::workflows {
namespace {

constexpr int64_t kEvalBatch = 256;

// Runs `fn(batch input)` over the dataset in batches and concatenates the first outputs.
template <typename Fn>
Result<Tensor> RunBatched(const Graph& graph, const data::Dataset& ds, Fn fn) {
  std::vector<float> out;
  int64_t cols = -1;
  for (int64_t start = 0; start < ds.size(); start += kEvalBatch) {
    const int64_t count = std::min(kEvalBatch, ds.size() - start);
    QP_ASSIGN_OR_RETURN(data::Dataset part, data::SliceDataset(ds, start, count));
    QP_ASSIGN_OR_RETURN(Tensor x, AdaptInput(graph, part.images));
    QP_ASSIGN_OR_RETURN(std::vector<Tensor> y, fn(x));
    if (y.empty() || y[0].rank() != 2 || y[0].dim(0) != count || y[0].dtype() != DType::kFloat32)
      return InvalidArgument("analysis: the model's first output must be float logits [N, classes]");
    cols = y[0].dim(1);
    out.insert(out.end(), y[0].f32(), y[0].f32() + y[0].numel());
  }
  if (cols < 0) return InvalidArgument("analysis: empty evaluation set");
  return Tensor::FromVector<float>({ds.size(), cols}, out);
}

double Top1(const Tensor& logits, const Tensor& labels) {
  const int64_t n = logits.dim(0), k = logits.dim(1);
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits.f32() + i * k;
    const int64_t best = std::max_element(row, row + k) - row;
    correct += best == labels.data<int64_t>()[i];
  }
  return n > 0 ? static_cast<double>(correct) / static_cast<double>(n) : 0.0;
}

// Quantized layers a user would name: fused activations (Relu after Conv/Gemm) go with their op,
// pass-through ops with their input.
std::vector<std::string> AnalysisLayers(const QuantPlan& plan) {
  std::set<std::string> fused;
  for (const Fusion& f : plan.fusions) fused.insert(f.activation);
  for (const Node& n : plan.graph.nodes)  // pass-through ops (Flatten, MaxPool) follow their input
    if (IsPassThroughOp(n.op_type)) fused.insert(n.name);
  std::vector<std::string> out;
  for (const std::string& l : plan.quantized_layers)
    if (!fused.count(l)) out.push_back(l);
  return out;
}

QuantConfig WithLayerSkipped(QuantConfig c, const std::string& layer, bool skip) {
  c.layers[layer].skip = skip;
  return c;
}

}  // namespace

double SqnrDb(const float* ref, const float* test, int64_t n) {
  double s = 0, e = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double r = ref[i], d = static_cast<double>(ref[i]) - test[i];
    s += r * r;
    e += d * d;
  }
  if (e == 0) return std::numeric_limits<double>::infinity();
  if (s == 0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(s / e);
}

// ---- Per-layer SQNR ---------------------------------------------------------------------------------
Result<std::vector<LayerSqnr>> PerLayerSqnr(const QuantizedModel& model, const Tensor& input, bool with_int8) {
  std::map<std::string, Tensor> float_values;
  QP_RETURN_IF_ERROR(RunWithHook(model.plan.graph, {input}, nullptr, &float_values).status());
  std::map<std::string, Tensor> sim, ints;
  if (with_int8) {
    QP_ASSIGN_OR_RETURN(std::unique_ptr<QuantizedRunner> runner, QuantizedRunner::Create(model));
    QP_ASSIGN_OR_RETURN(sim, runner->SimulatedSiteValues(input));
    if (runner->int8_executor()) {
      Result<std::map<std::string, Tensor>> r = runner->Int8SiteValues(input);
      if (r.ok()) ints = std::move(*r);
    }
  } else {
    // Every value after the fake-quant hook; a graph input's quantizer applies at its consumers'
    // inputs, so the input itself is not among them (its site is skipped below).
    QP_ASSIGN_OR_RETURN(std::shared_ptr<FakeQuantHook> hook, FakeQuantHook::FromQuantizedModel(model));
    QP_RETURN_IF_ERROR(RunWithHook(model.plan.graph, {input}, hook.get(), &sim).status());
  }
  std::vector<LayerSqnr> out;
  for (const QuantSite& s : model.plan.sites) {
    if (!s.shared_from.empty()) continue;
    const quant::TensorQParams* p = model.Params(s.tensor);
    if (!p) return NotFound("analysis: no parameters for site '", s.tensor, "'");
    LayerSqnr row;
    row.tensor = s.tensor;
    row.layer = s.layer;
    row.role = s.role;
    row.bits = s.spec.bits;
    if (s.role == quant::QuantRole::kWeight) {
      auto w = model.plan.graph.initializers.find(s.tensor);
      if (w == model.plan.graph.initializers.end() || w->second.dtype() != DType::kFloat32)
        return NotFound("analysis: weight '", s.tensor, "' is not a float initializer");
      const Tensor& wt = w->second;
      const quant::Dims dims(wt.shape().begin(), wt.shape().end());
      std::vector<float> fq(static_cast<size_t>(wt.numel()));
      QP_RETURN_IF_ERROR(quant::FakeQuant(wt.f32(), dims, *p, fq.data()));
      row.fake_quant_db = SqnrDb(wt.f32(), fq.data(), wt.numel());
      if (s.spec.bits == 8) {
        // The stored int8 codes, dequantized as the kernels' weights are.
        std::vector<int32_t> codes(static_cast<size_t>(wt.numel()));
        QP_RETURN_IF_ERROR(quant::Quantize(wt.f32(), dims, *p, codes.data()));
        std::vector<float> deq(codes.size());
        QP_RETURN_IF_ERROR(quant::Dequantize(codes.data(), dims, *p, deq.data()));
        row.int8_db = SqnrDb(wt.f32(), deq.data(), wt.numel());
      }
    } else {
      auto f = float_values.find(s.tensor);
      auto q = sim.find(s.tensor);
      if (!with_int8 && s.tensor == model.plan.graph.inputs[0].name) continue;
      if (f == float_values.end() && s.tensor == model.plan.graph.inputs[0].name) {
        // The graph input itself: float is the input.
        float_values[s.tensor] = input;
        f = float_values.find(s.tensor);
      }
      if (f == float_values.end() || q == sim.end() || f->second.numel() != q->second.numel())
        continue;  // not materialised on this path (e.g. fused away)
      row.fake_quant_db = SqnrDb(f->second.f32(), q->second.f32(), f->second.numel());
      auto i = ints.find(s.tensor);
      if (i != ints.end() && i->second.numel() == f->second.numel())
        row.int8_db = SqnrDb(f->second.f32(), i->second.f32(), f->second.numel());
    }
    out.push_back(row);
  }
  return out;
}

// ---- Context and one configuration --------------------------------------------------------------
Result<AnalysisContext> MakeAnalysisContext(const Graph& float_graph, const CalibrationStats& stats,
                                            const data::Dataset& eval, int64_t max_samples) {
  if (eval.size() == 0) return InvalidArgument("analysis: empty evaluation set");
  AnalysisContext ctx;
  ctx.float_graph = float_graph;
  ctx.stats = stats;
  if (max_samples > 0 && max_samples < eval.size()) {
    QP_ASSIGN_OR_RETURN(ctx.eval, data::SliceDataset(eval, 0, max_samples));
  } else {
    ctx.eval = eval;
  }
  QP_ASSIGN_OR_RETURN(ctx.float_logits, RunBatched(float_graph, ctx.eval, [&](const Tensor& x) {
                        return RunWithHook(ctx.float_graph, {x}, nullptr);
                      }));
  return ctx;
}

namespace {
// What one configuration's simulation needs: the plan's graph and the calibrated fake-quant hook
// (QuantizedRunner would also lower an int8 graph, which the analyses never run).
struct PreparedConfig {
  Graph graph;
  std::shared_ptr<FakeQuantHook> hook;
};
Result<PreparedConfig> PrepareConfig(const AnalysisContext& ctx, const QuantConfig& config) {
  QP_ASSIGN_OR_RETURN(QuantPlan plan, PrepareAndPlan(ctx.float_graph, config));
  QP_ASSIGN_OR_RETURN(QuantizedModel model, ComputeQuantizedModel(plan, ctx.stats));
  PreparedConfig p;
  QP_ASSIGN_OR_RETURN(p.hook, FakeQuantHook::FromQuantizedModel(model));
  p.graph = std::move(model.plan.graph);
  return p;
}

Result<ConfigResult> ScoreLogits(const AnalysisContext& ctx, const Tensor& logits) {
  if (logits.numel() != ctx.float_logits.numel())
    return Internal("analysis: simulated logits ", logits.numel(), " vs float ", ctx.float_logits.numel());
  ConfigResult r;
  r.accuracy = Top1(logits, ctx.eval.labels);
  r.output_sqnr = SqnrDb(ctx.float_logits.f32(), logits.f32(), logits.numel());
  return r;
}
}  // namespace

Result<std::unique_ptr<AnalysisContextBuilder>> AnalysisContextBuilder::Start(
    const Graph& float_graph, const CalibrationStats& stats, const data::Dataset& eval, int64_t max_samples,
    int64_t chunk) {
  if (eval.size() == 0) return InvalidArgument("analysis: empty evaluation set");
  if (chunk < 1) return InvalidArgument("analysis: evaluation chunk ", chunk, " must be >= 1 sample");
  std::unique_ptr<AnalysisContextBuilder> b(new AnalysisContextBuilder());
  b->ctx_.float_graph = float_graph;
  b->ctx_.stats = stats;
  if (max_samples > 0 && max_samples < eval.size()) {
    QP_ASSIGN_OR_RETURN(b->ctx_.eval, data::SliceDataset(eval, 0, max_samples));
  } else {
    b->ctx_.eval = eval;
  }
  b->chunk_ = chunk;
  return b;
}

double AnalysisContextBuilder::progress() const {
  return ctx_.eval.size() > 0 ? static_cast<double>(next_) / static_cast<double>(ctx_.eval.size()) : 1.0;
}

Status AnalysisContextBuilder::Step() {
  if (done()) return FailedPrecondition("analysis: context already built");
  const int64_t count = std::min(chunk_, ctx_.eval.size() - next_);
  QP_ASSIGN_OR_RETURN(data::Dataset part, data::SliceDataset(ctx_.eval, next_, count));
  QP_ASSIGN_OR_RETURN(Tensor y, RunBatched(ctx_.float_graph, part, [&](const Tensor& x) {
                        return RunWithHook(ctx_.float_graph, {x}, nullptr);
                      }));
  logits_.insert(logits_.end(), y.f32(), y.f32() + y.numel());
  next_ += count;
  return Status::Ok();
}

Result<AnalysisContext> AnalysisContextBuilder::Take() {
  if (!done() || taken_) return FailedPrecondition("analysis: context not complete (or already taken)");
  const int64_t n = ctx_.eval.size();
  ctx_.float_logits = Tensor::FromVector<float>({n, static_cast<int64_t>(logits_.size()) / n}, logits_);
  taken_ = true;
  return std::move(ctx_);
}

Result<ConfigResult> EvaluateConfig(const AnalysisContext& ctx, const QuantConfig& config) {
  QP_ASSIGN_OR_RETURN(PreparedConfig p, PrepareConfig(ctx, config));
  QP_ASSIGN_OR_RETURN(Tensor logits, RunBatched(p.graph, ctx.eval, [&](const Tensor& x) {
                        return RunWithHook(p.graph, {x}, p.hook.get());
                      }));
  return ScoreLogits(ctx, logits);
}

Result<std::unique_ptr<ConfigEvaluation>> ConfigEvaluation::Start(const AnalysisContext* ctx,
                                                                  const QuantConfig& config, int64_t chunk) {
  if (!ctx) return InvalidArgument("analysis: no analysis context");
  if (chunk < 1) return InvalidArgument("analysis: evaluation chunk ", chunk, " must be >= 1 sample");
  std::unique_ptr<ConfigEvaluation> e(new ConfigEvaluation());
  e->ctx_ = ctx;
  e->chunk_ = chunk;
  QP_ASSIGN_OR_RETURN(PreparedConfig p, PrepareConfig(*ctx, config));
  e->graph_ = std::move(p.graph);
  e->hook_ = std::move(p.hook);
  e->logits_.reserve(static_cast<size_t>(ctx->float_logits.numel()));
  return e;
}

double ConfigEvaluation::progress() const {
  const int64_t n = ctx_->eval.size();
  return n > 0 ? static_cast<double>(next_) / static_cast<double>(n) : 1.0;
}

Status ConfigEvaluation::Step() {
  if (done()) return FailedPrecondition("analysis: evaluation already done");
  const int64_t count = std::min(chunk_, ctx_->eval.size() - next_);
  QP_ASSIGN_OR_RETURN(data::Dataset part, data::SliceDataset(ctx_->eval, next_, count));
  QP_ASSIGN_OR_RETURN(Tensor logits, RunBatched(graph_, part, [&](const Tensor& x) {
                        return RunWithHook(graph_, {x}, hook_.get());
                      }));
  logits_.insert(logits_.end(), logits.f32(), logits.f32() + logits.numel());
  next_ += count;
  if (done()) {
    const int64_t cols = ctx_->eval.size() > 0 ? static_cast<int64_t>(logits_.size()) / ctx_->eval.size() : 0;
    const Tensor all = Tensor::FromVector<float>({ctx_->eval.size(), cols}, logits_);
    QP_ASSIGN_OR_RETURN(result_, ScoreLogits(*ctx_, all));
    logits_.clear();
    logits_.shrink_to_fit();
  }
  return Status::Ok();
}

// ---- Sensitivity -----------------------------------------------------------------------------------
Result<SensitivityReport> LayerSensitivity(const AnalysisContext& ctx, const QuantConfig& config,
                                           RankBy rank) {
  QP_ASSIGN_OR_RETURN(QuantPlan plan, PrepareAndPlan(ctx.float_graph, config));
  SensitivityReport rep;
  rep.float_accuracy = Top1(ctx.float_logits, ctx.eval.labels);
  QP_ASSIGN_OR_RETURN(rep.all, EvaluateConfig(ctx, config));
  const std::vector<std::string> layers = AnalysisLayers(plan);
  for (const std::string& l : layers) {
    SensitivityRow row;
    row.layer = l;
    QuantConfig only = config;
    for (const std::string& other : layers)
      if (other != l) only = WithLayerSkipped(std::move(only), other, true);
    Result<ConfigResult> o = EvaluateConfig(ctx, only);
    if (!o.ok()) return o.status().WithContext("sensitivity: only '" + l + "'");
    row.only = *o;
    Result<ConfigResult> a = EvaluateConfig(ctx, WithLayerSkipped(config, l, true));
    if (!a.ok()) return a.status().WithContext("sensitivity: all but '" + l + "'");
    row.all_but = *a;
    rep.rows.push_back(row);
  }
  auto key = [&](const ConfigResult& c) { return rank == RankBy::kAccuracy ? c.accuracy : c.output_sqnr; };
  std::stable_sort(rep.rows.begin(), rep.rows.end(), [&](const SensitivityRow& a, const SensitivityRow& b) {
    if (key(a.only) != key(b.only)) return key(a.only) < key(b.only);
    return key(a.all_but) > key(b.all_but);
  });
  return rep;
}

std::string SensitivityToString(const SensitivityReport& r) {
  std::ostringstream os;
  char buf[256];
  std::snprintf(buf, sizeof(buf), "float accuracy %.4f; all quantized: accuracy %.4f, output SQNR %.2f dB\n",
                r.float_accuracy, r.all.accuracy, r.all.output_sqnr);
  os << buf;
  std::snprintf(buf, sizeof(buf), "%-24s %12s %12s %14s %14s\n", "layer (most sensitive first)",
                "only acc", "only SQNR", "all-but acc", "all-but SQNR");
  os << buf;
  for (const SensitivityRow& row : r.rows) {
    std::snprintf(buf, sizeof(buf), "%-24s %12.4f %12.2f %14.4f %14.2f\n", row.layer.c_str(),
                  row.only.accuracy, row.only.output_sqnr, row.all_but.accuracy, row.all_but.output_sqnr);
    os << buf;
  }
  return os.str();
}

// ---- Sweep ------------------------------------------------------------------------------------------
std::string CalibChoice::Name() const {
  if (method != CalibMethod::kPercentile) return CalibMethodName(method);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "percentile_%g", percentile);
  return buf;
}

std::vector<CalibChoice> DefaultSweepCalibrators() {
  return {{CalibMethod::kMax, 99.99},        {CalibMethod::kPercentile, 99.9},
          {CalibMethod::kPercentile, 99.99}, {CalibMethod::kPercentile, 99.999},
          {CalibMethod::kMse, 99.99},        {CalibMethod::kEntropy, 99.99}};
}

namespace {
void ApplyChoice(TensorQuantConfig* w, TensorQuantConfig* a, int bits, const CalibChoice& c) {
  w->bits = bits;
  a->bits = bits;
  a->calibrator = c.method;
  a->percentile = c.percentile;
  // minmax needs an affine spec; the histogram methods work for both.
  if (c.method == CalibMethod::kMinMax) a->symmetric = false;
}
}  // namespace

Result<std::unique_ptr<RangePrecisionSweep>> RangePrecisionSweep::Create(const AnalysisContext* ctx,
                                                                         const QuantConfig& base,
                                                                         const SweepOptions& options) {
  if (!ctx) return InvalidArgument("sweep: no analysis context");
  if (options.bits.empty() || options.calibrators.empty())
    return InvalidArgument("sweep: needs at least one bit width and one calibrator");
  for (int b : options.bits)
    if (b < 2 || b > 8) return OutOfRange("sweep: bits ", b, " outside [2, 8]");
  if (!options.global && !options.per_layer)
    return InvalidArgument("sweep: neither global nor per-layer rows requested");
  std::unique_ptr<RangePrecisionSweep> s(new RangePrecisionSweep());
  s->ctx_ = ctx;
  s->base_ = base;
  QP_ASSIGN_OR_RETURN(QuantPlan plan, PrepareAndPlan(ctx->float_graph, base));
  s->layers_ = AnalysisLayers(plan);
  if (options.global)
    for (int b : options.bits)
      for (const CalibChoice& c : options.calibrators) s->jobs_.push_back({"all", b, c});
  if (options.per_layer)
    for (const std::string& l : s->layers_)
      for (int b : options.bits)
        for (const CalibChoice& c : options.calibrators) s->jobs_.push_back({l, b, c});
  return s;
}

double RangePrecisionSweep::progress() const {
  if (jobs_.empty()) return 1.0;
  const double partial = current_ ? current_->progress() : 0.0;
  return (static_cast<double>(next_) + partial) / static_cast<double>(jobs_.size());
}

Status RangePrecisionSweep::set_chunk_samples(int64_t n) {
  if (n < 0) return InvalidArgument("sweep: chunk of ", n, " samples (0 = whole configurations)");
  chunk_samples_ = n;
  return Status::Ok();
}

QuantConfig RangePrecisionSweep::JobConfig(const Job& j) const {
  QuantConfig cfg = base_;
  if (j.scope == "all") {
    ApplyChoice(&cfg.weights, &cfg.activations, j.bits, j.calib);
    for (auto& [name, lc] : cfg.layers) {
      TensorQuantConfig w = cfg.WeightsFor(name), a = cfg.ActivationsFor(name);
      ApplyChoice(&w, &a, j.bits, j.calib);
      if (lc.weights) lc.weights = w;
      if (lc.activations) lc.activations = a;
    }
  } else {
    TensorQuantConfig w = base_.WeightsFor(j.scope), a = base_.ActivationsFor(j.scope);
    ApplyChoice(&w, &a, j.bits, j.calib);
    cfg.layers[j.scope].weights = w;
    cfg.layers[j.scope].activations = a;
  }
  return cfg;
}

void RangePrecisionSweep::FinishJob(const Result<ConfigResult>& r) {
  const Job& j = jobs_[next_];
  SweepRow row;
  row.scope = j.scope;
  row.bits = j.bits;
  row.calibrator = j.calib.Name();
  if (r.ok()) {
    row.accuracy = r->accuracy;
    row.output_sqnr = r->output_sqnr;
  } else {
    row.accuracy = std::nan("");
    row.output_sqnr = std::nan("");
    row.error = r.status().ToString();
  }
  rows_.push_back(row);
  current_.reset();
  ++next_;
}

Result<double> RangePrecisionSweep::Step() {
  if (done()) return FailedPrecondition("sweep: already done (", jobs_.size(), " configurations)");
  const Job& j = jobs_[next_];
  if (chunk_samples_ == 0) {
    FinishJob(EvaluateConfig(*ctx_, JobConfig(j)));
    return progress();
  }
  // Chunked: the first call plans and computes parameters, each later call simulates a chunk.
  // A configuration the math refuses becomes a row with its error, as in the one-shot path.
  if (!current_) {
    Result<std::unique_ptr<ConfigEvaluation>> e = ConfigEvaluation::Start(ctx_, JobConfig(j), chunk_samples_);
    if (!e.ok()) {
      FinishJob(e.status());
      return progress();
    }
    current_ = std::move(*e);
    return progress();
  }
  const Status st = current_->Step();
  if (!st.ok()) {
    FinishJob(st);
  } else if (current_->done()) {
    FinishJob(current_->result());
  }
  return progress();
}

std::string SweepToCsv(const std::vector<SweepRow>& rows) {
  std::ostringstream os;
  os << "scope,bits,calibrator,accuracy,output_sqnr_db,error\n";
  char buf[64];
  for (const SweepRow& r : rows) {
    std::string err = r.error;
    for (char& c : err)
      if (c == '"') c = '\'';
    os << r.scope << ',' << r.bits << ',' << r.calibrator << ',';
    std::snprintf(buf, sizeof(buf), "%.6f,%.4f", r.accuracy, r.output_sqnr);
    os << (r.error.empty() ? std::string(buf) : std::string(",")) << ','
       << (err.empty() ? "" : "\"" + err + "\"") << '\n';
  }
  return os.str();
}

std::string SweepToJson(const std::vector<SweepRow>& rows) {
  json::Value root = json::Value::Object();
  json::Value arr = json::Value::Array();
  for (const SweepRow& r : rows) {
    json::Value v = json::Value::Object();
    v.Set("scope", r.scope);
    v.Set("bits", r.bits);
    v.Set("calibrator", r.calibrator);
    v.Set("accuracy", r.accuracy);  // NaN (failed configuration) is written as null
    v.Set("output_sqnr_db", r.output_sqnr);
    if (!r.error.empty()) v.Set("error", r.error);
    arr.Append(std::move(v));
  }
  root.Set("rows", std::move(arr));
  json::WriteOptions o;
  o.indent = 1;
  return json::Write(root, o);
}

// ---- Clip analysis ----------------------------------------------------------------------------------
Result<TensorClipReport> AnalyzeTensorClip(const CalibrationStats& stats, const std::string& tensor,
                                           float amax, int bits, bool is_unsigned) {
  auto h = stats.histograms.find(tensor);
  if (h == stats.histograms.end())
    return NotFound("analysis: no calibration statistics for tensor '", tensor, "'");
  TensorClipReport r;
  r.tensor = tensor;
  r.amax = amax;
  r.bits = bits;
  Result<quant::ErrorSplit> e = quant::HistogramErrorSplit(h->second.histogram(), amax, bits, is_unsigned);
  if (!e.ok()) return e.status().WithContext("analysis: tensor '" + tensor + "'");
  r.split = *e;
  auto o = stats.outliers.find(tensor);
  if (o != stats.outliers.end()) r.outliers = o->second;
  return r;
}

Result<std::vector<std::pair<std::string, float>>> CalibratorThresholds(const CalibrationStats& stats,
                                                                        const std::string& tensor,
                                                                        int bits, bool is_unsigned) {
  auto h = stats.histograms.find(tensor);
  if (h == stats.histograms.end())
    return NotFound("analysis: no calibration statistics for tensor '", tensor, "'");
  std::vector<std::pair<std::string, float>> out;
  for (const CalibChoice& c : DefaultSweepCalibrators()) {
    quant::AmaxOptions o;
    o.bits = bits;
    o.is_unsigned = is_unsigned;
    o.percentile = c.percentile;
    quant::AmaxMethod m = quant::AmaxMethod::kMax;
    if (c.method == CalibMethod::kPercentile) m = quant::AmaxMethod::kPercentile;
    else if (c.method == CalibMethod::kMse) m = quant::AmaxMethod::kMse;
    else if (c.method == CalibMethod::kEntropy) m = quant::AmaxMethod::kEntropy;
    Result<float> a = quant::ComputeAmax(h->second.histogram(), m, o);
    if (!a.ok()) return a.status().WithContext("analysis: tensor '" + tensor + "', calibrator " + c.Name());
    out.emplace_back(c.Name(), *a);
  }
  return out;
}

Status AddWeightClipStats(const QuantizedModel& model, const QuantSite& s, int num_bins,
                          CalibrationStats* out) {
  if (s.role != quant::QuantRole::kWeight || !s.shared_from.empty()) return Status::Ok();
  auto w = model.plan.graph.initializers.find(s.tensor);
  if (w == model.plan.graph.initializers.end()) return Status::Ok();
  if (w->second.dtype() != DType::kFloat32)
    return InvalidArgument("analysis: weight '", s.tensor, "' is not float32");
  quant::HistogramOptions ho;
  ho.num_bins = num_bins;
  QP_ASSIGN_OR_RETURN(quant::HistogramCalibrator cal, quant::HistogramCalibrator::Create(ho));
  const Tensor& t = w->second;
  QP_RETURN_IF_ERROR(cal.Observe(t.f32(), t.numel()));
  // The largest elements stand in for "samples" (a weight has no calibration data).
  std::vector<OutlierSample> top;
  for (int64_t i = 0; i < t.numel(); ++i) {
    const float a = std::fabs(t.f32()[i]);
    if (top.size() < 5 || a > top.back().max_abs) {
      if (top.size() == 5) top.pop_back();
      OutlierSample o{i, a};
      top.insert(std::upper_bound(top.begin(), top.end(), o,
                                  [](const OutlierSample& x, const OutlierSample& y) { return x.max_abs > y.max_abs; }),
                 o);
    }
  }
  out->histograms.erase(s.tensor);
  out->histograms.emplace(s.tensor, std::move(cal));
  out->outliers[s.tensor] = std::move(top);
  out->samples = 1;
  out->batches = 1;
  return Status::Ok();
}

Result<CalibrationStats> WeightClipStats(const QuantizedModel& model, int num_bins) {
  CalibrationStats out;
  for (const QuantSite& s : model.plan.sites) QP_RETURN_IF_ERROR(AddWeightClipStats(model, s, num_bins, &out));
  out.samples = 1;
  out.batches = 1;
  return out;
}

// ---- Mixed precision ----------------------------------------------------------------------------------
Result<std::vector<std::map<std::string, int>>> EnumerateBitChoices(
    const std::vector<std::string>& layers, const std::vector<int>& bit_options, size_t max_points) {
  if (bit_options.empty()) return InvalidArgument("mixed precision: no bit options");
  for (int b : bit_options)
    if (b < 2 || b > 8) return OutOfRange("mixed precision: bits ", b, " outside [2, 8]");
  double total = 1;
  for (size_t i = 0; i < layers.size(); ++i) total *= static_cast<double>(bit_options.size());
  if (total > static_cast<double>(max_points))
    return ResourceExhausted("mixed precision: ", bit_options.size(), "^", layers.size(), " = ", total,
                             " combinations exceed the cap of ", max_points);
  std::vector<std::map<std::string, int>> out;
  std::vector<size_t> idx(layers.size(), 0);
  while (true) {
    std::map<std::string, int> c;
    for (size_t i = 0; i < layers.size(); ++i) c[layers[i]] = bit_options[idx[i]];
    out.push_back(std::move(c));
    size_t k = 0;
    while (k < idx.size() && ++idx[k] == bit_options.size()) idx[k++] = 0;
    if (k == idx.size()) break;
  }
  return out;
}

std::vector<size_t> ParetoFront(const std::vector<std::pair<int64_t, double>>& pts) {
  std::vector<size_t> order(pts.size());
  std::iota(order.begin(), order.end(), size_t{0});
  auto acc = [&](size_t i) {
    return std::isnan(pts[i].second) ? -std::numeric_limits<double>::infinity() : pts[i].second;
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (pts[a].first != pts[b].first) return pts[a].first < pts[b].first;
    return acc(a) > acc(b);
  });
  std::vector<size_t> front;
  double best_smaller = -std::numeric_limits<double>::infinity();
  bool any = false;
  for (size_t g = 0; g < order.size();) {
    size_t e = g;
    while (e < order.size() && pts[order[e]].first == pts[order[g]].first) ++e;
    const double gmax = acc(order[g]);
    if (!any || gmax > best_smaller)
      for (size_t i = g; i < e && acc(order[i]) == gmax; ++i) front.push_back(order[i]);
    if (!any || gmax > best_smaller) best_smaller = gmax;
    any = true;
    g = e;
  }
  std::sort(front.begin(), front.end());
  return front;
}

Result<std::vector<MixedPoint>> MixedPrecisionWhatIf(const AnalysisContext& ctx, const QuantConfig& base,
                                                     const std::vector<std::map<std::string, int>>& choices) {
  std::vector<MixedPoint> out;
  for (const auto& choice : choices) {
    QuantConfig cfg = base;
    for (const auto& [layer, bits] : choice) {
      TensorQuantConfig w = base.WeightsFor(layer);
      w.bits = bits;
      cfg.layers[layer].weights = w;
    }
    QP_ASSIGN_OR_RETURN(QuantPlan plan, PrepareAndPlan(ctx.float_graph, cfg));
    MixedPoint p;
    p.weight_bits = choice;
    for (const Node& n : plan.graph.nodes) {
      if ((n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "MatMul") || !n.has_input(1)) continue;
      auto w = plan.graph.initializers.find(n.inputs[1]);
      if (w == plan.graph.initializers.end()) continue;
      const QuantSite* s = plan.FindSite(n.inputs[1]);
      p.size_bits += w->second.numel() * (s ? s->spec.bits : 32);
    }
    QP_ASSIGN_OR_RETURN(ConfigResult r, EvaluateConfig(ctx, cfg));
    p.accuracy = r.accuracy;
    p.output_sqnr = r.output_sqnr;
    out.push_back(std::move(p));
  }
  std::vector<std::pair<int64_t, double>> pts;
  for (const MixedPoint& p : out) pts.emplace_back(p.size_bits, p.accuracy);
  for (size_t i : ParetoFront(pts)) out[i].pareto = true;
  return out;
}

}  // namespace qp::workflows
