// Calibration and parameter computation (see calibrate.h).
#include "core/workflows/calibrate.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/base/json.h"

namespace qp::workflows {

const quant::TensorQParams* QuantizedModel::Params(const std::string& tensor) const {
  auto it = params.find(tensor);
  return it == params.end() ? nullptr : &it->second;
}

namespace {

quant::AmaxMethod ToAmax(CalibMethod m) {
  switch (m) {
    case CalibMethod::kPercentile: return quant::AmaxMethod::kPercentile;
    case CalibMethod::kMse: return quant::AmaxMethod::kMse;
    case CalibMethod::kEntropy: return quant::AmaxMethod::kEntropy;
    default: return quant::AmaxMethod::kMax;
  }
}

quant::AmaxOptions AmaxOptionsFor(const QuantSite& s) {
  quant::AmaxOptions o;
  o.bits = s.spec.bits;
  o.is_unsigned = !s.spec.is_signed;
  o.percentile = s.percentile;
  return o;
}

std::string SiteWhat(const QuantSite& s) {
  return std::string(quant::QuantRoleName(s.role)) + " '" + s.tensor + "' (layer '" + s.layer + "')";
}

}  // namespace

Result<quant::TensorQParams> WeightParams(const QuantSite& site, const Tensor& w) {
  if (w.dtype() != DType::kFloat32)
    return InvalidArgument("weight '", site.tensor, "' is ", DTypeName(w.dtype()), "; expected float32");
  const float* x = w.f32();
  const int64_t n = w.numel();
  QP_RETURN_IF_ERROR(quant::CheckFinite(x, n, "weight '" + site.tensor + "'"));
  if (n == 0) return InvalidArgument("weight '", site.tensor, "' is empty");
  const quant::Dims dims(w.shape().begin(), w.shape().end());
  const bool affine_minmax = site.calibrator == CalibMethod::kMinMax;
  if (site.axis) {
    if (site.calibrator == CalibMethod::kMax || affine_minmax) {
      std::vector<float> mins, maxs;
      QP_RETURN_IF_ERROR(quant::ChannelMinMax(x, dims, *site.axis, &mins, &maxs, site.tensor));
      if (site.spec.scheme == quant::Scheme::kAffine)
        return quant::ParamsFromMinMaxPerAxis(mins, maxs, *site.axis, site.spec);
      std::vector<float> amax(mins.size());
      for (size_t c = 0; c < mins.size(); ++c) amax[c] = std::max(-mins[c], maxs[c]);
      if (!site.spec.is_signed)
        for (size_t c = 0; c < mins.size(); ++c) amax[c] = std::max(maxs[c], 0.f);
      return quant::ParamsFromAmaxPerAxis(amax, *site.axis, site.spec);
    }
    quant::HistogramOptions ho;
    ho.method = ToAmax(site.calibrator);
    ho.amax = AmaxOptionsFor(site);
    QP_ASSIGN_OR_RETURN(quant::PerChannelHistogramCalibrator cal,
                        quant::PerChannelHistogramCalibrator::Create(*site.axis, ho));
    QP_RETURN_IF_ERROR(cal.Observe(x, dims));
    return cal.ComputeQParams(site.spec);
  }
  if (site.calibrator == CalibMethod::kMax || affine_minmax) {
    quant::MinMaxObserver mm;
    QP_RETURN_IF_ERROR(mm.Observe(x, n));
    return mm.ComputeQParams(site.spec);
  }
  quant::HistogramOptions ho;
  ho.method = ToAmax(site.calibrator);
  ho.amax = AmaxOptionsFor(site);
  QP_ASSIGN_OR_RETURN(quant::HistogramCalibrator cal, quant::HistogramCalibrator::Create(ho));
  QP_RETURN_IF_ERROR(cal.Observe(x, n));
  return cal.ComputeQParams(site.spec);
}

Result<QuantizedModel> ComputeQuantizedModel(const QuantPlan& plan, const CalibrationStats& stats) {
  QuantizedModel m;
  m.plan = plan;
  m.stats = stats;
  for (const QuantSite& s : plan.sites) {
    if (!s.shared_from.empty()) continue;
    if (s.role == quant::QuantRole::kWeight) {
      auto it = plan.graph.initializers.find(s.tensor);
      if (it == plan.graph.initializers.end())
        return NotFound(SiteWhat(s), ": no initializer of that name");
      Result<quant::TensorQParams> p = WeightParams(s, it->second);
      if (!p.ok()) return p.status().WithContext(SiteWhat(s));
      m.params[s.tensor] = *p;
      continue;
    }
    auto h = stats.histograms.find(s.tensor);
    if (h == stats.histograms.end() || !h->second.has_data())
      return FailedPrecondition(SiteWhat(s), ": no calibration statistics; calibrate at least one "
                                "batch first");
    const quant::HistogramCalibrator& cal = h->second;
    Result<quant::TensorQParams> p = quant::TensorQParams{};
    if (s.calibrator == CalibMethod::kMinMax) {
      Result<quant::QParams> q = quant::ParamsFromMinMax(cal.min(), cal.max(), s.spec);
      if (!q.ok()) return q.status().WithContext(SiteWhat(s));
      p = quant::TensorQParams::PerTensor(*q);
      m.amax[s.tensor] = std::max(-cal.min(), cal.max());
    } else {
      Result<float> amax = cal.ComputeAmax(ToAmax(s.calibrator), AmaxOptionsFor(s));
      if (!amax.ok()) return amax.status().WithContext(SiteWhat(s));
      m.amax[s.tensor] = *amax;
      Result<quant::QParams> q = s.spec.scheme == quant::Scheme::kSymmetric
                                     ? quant::ParamsFromAmax(*amax, s.spec)
                                     : quant::ParamsFromMinMax(std::max(cal.min(), -*amax),
                                                               std::min(cal.max(), *amax), s.spec);
      if (!q.ok()) return q.status().WithContext(SiteWhat(s));
      p = quant::TensorQParams::PerTensor(*q);
    }
    m.params[s.tensor] = *p;
  }
  for (const QuantSite& s : plan.sites)
    if (!s.shared_from.empty()) {
      auto it = m.params.find(s.shared_from);
      if (it == m.params.end())
        return Internal(SiteWhat(s), ": its source site '", s.shared_from, "' has no parameters");
      m.params[s.tensor] = it->second;
      if (m.amax.count(s.shared_from)) m.amax[s.tensor] = m.amax[s.shared_from];
    }
  return m;
}

Result<Tensor> AdaptInput(const Graph& graph, const Tensor& images) {
  if (graph.inputs.empty()) return InvalidArgument("model has no input");
  const ValueInfo& in = graph.inputs[0];
  if (images.dtype() != DType::kFloat32 || images.rank() < 1)
    return InvalidArgument("data: images must be float32 [N, ...], got ", DTypeName(images.dtype()),
                           " ", ShapeToString(images.shape()));
  const int64_t n = images.dim(0);
  const int64_t per = n > 0 ? images.numel() / n : 0;
  if (!in.has_shape || in.shape.size() < 2) return images;
  int64_t model_per = 1;
  for (size_t i = 1; i < in.shape.size(); ++i) {
    if (in.shape[i] < 0) return images;  // unknown dims: feed as is, the executor checks
    model_per *= in.shape[i];
  }
  if (model_per != per)
    return InvalidArgument("data: one sample ", ShapeToString(Shape(images.shape().begin() + 1,
                                                                    images.shape().end())),
                           " has ", per, " values but input '", in.name, "' of shape ",
                           ShapeToString(in.shape), " takes ", model_per, " per sample");
  Shape s = in.shape;
  s[0] = n;
  return images.Reshaped(s);
}

Result<std::unique_ptr<Calibrator>> Calibrator::Create(const QuantPlan& plan, const data::Dataset* data,
                                                       const CalibrationOptions& options) {
  if (!data || data->size() <= 0)
    return InvalidArgument("calibration: the calibration set is empty; it needs at least one sample");
  if (options.batch_size < 1)
    return InvalidArgument("calibration: batch_size ", options.batch_size, " must be >= 1");
  if (options.max_batches < 0)
    return InvalidArgument("calibration: max_batches ", options.max_batches, " must be >= 0");
  if (options.top_k < 0 || options.top_k > 1000)
    return InvalidArgument("calibration: top_k ", options.top_k, " must be in [0, 1000]");
  if (data->images.dtype() != DType::kFloat32 || data->images.rank() < 2 ||
      data->images.dim(0) != data->size())
    return InvalidArgument("calibration: images must be float32 [N, ...] with N = ", data->size());
  // Shape check on one sample before anything runs.
  {
    Tensor one(DType::kFloat32, Shape{1});
    Shape s = data->images.shape();
    s[0] = 1;
    one = Tensor(DType::kFloat32, s);
    Result<Tensor> a = AdaptInput(plan.graph, one);
    if (!a.ok()) return a.status().WithContext("calibration");
  }
  auto c = std::unique_ptr<Calibrator>(new Calibrator());
  c->plan_ = plan;
  c->data_ = data;
  c->options_ = options;
  c->probe_ = plan.graph;
  std::set<std::string> outs;
  for (const ValueInfo& v : c->probe_.outputs) outs.insert(v.name);
  std::set<std::string> inputs;
  for (const ValueInfo& v : c->probe_.inputs) inputs.insert(v.name);
  quant::HistogramOptions ho;
  ho.num_bins = options.num_bins;
  for (const QuantSite& s : plan.sites) {
    if (s.role != quant::QuantRole::kActivation || !s.shared_from.empty()) continue;
    QP_ASSIGN_OR_RETURN(quant::HistogramCalibrator h, quant::HistogramCalibrator::Create(ho));
    c->stats_.histograms.emplace(s.tensor, std::move(h));
    c->probe_outputs_.push_back(s.tensor);
    if (!outs.count(s.tensor) && !inputs.count(s.tensor)) {
      ValueInfo v;
      v.name = s.tensor;
      v.has_shape = false;
      c->probe_.outputs.push_back(v);
      outs.insert(s.tensor);
    }
  }
  QP_ASSIGN_OR_RETURN(Executor e, Executor::Create(c->probe_));
  c->executor_ = std::make_unique<Executor>(std::move(e));
  const int64_t batches = (data->size() + options.batch_size - 1) / options.batch_size;
  c->total_batches_ = options.max_batches > 0 ? std::min(batches, options.max_batches) : batches;
  return c;
}

double Calibrator::progress() const {
  return total_batches_ ? static_cast<double>(stats_.batches) / total_batches_ : 1.0;
}
bool Calibrator::done() const { return stats_.batches >= total_batches_; }

Result<double> Calibrator::Step() {
  if (cancelled_) return FailedPrecondition("calibration: cancelled");
  if (done()) return FailedPrecondition("calibration: all ", total_batches_, " batches are done");
  const int64_t start = next_sample_;
  const int64_t count = std::min(options_.batch_size, data_->size() - start);
  QP_ASSIGN_OR_RETURN(data::Dataset batch, data::SliceDataset(*data_, start, count));
  Status finite = data::CheckFinite(batch.images, "calibration images",
                                    batch.images.numel() / std::max<int64_t>(count, 1));
  if (!finite.ok())
    return finite.WithContext("calibration batch of samples " + std::to_string(start) + ".." +
                              std::to_string(start + count - 1));
  QP_ASSIGN_OR_RETURN(Tensor x, AdaptInput(plan_.graph, batch.images));
  std::map<std::string, Tensor> values;
  values[plan_.graph.inputs[0].name] = x;
  QP_ASSIGN_OR_RETURN(std::vector<Tensor> outs, executor_->Run(std::vector<Tensor>{x}));
  for (size_t i = 0; i < probe_.outputs.size() && i < outs.size(); ++i)
    values[probe_.outputs[i].name] = std::move(outs[i]);
  // Observe into copies so a failing site leaves the statistics as they were.
  CalibrationStats next = stats_;
  for (const std::string& t : probe_outputs_) {
    auto v = values.find(t);
    if (v == values.end()) return Internal("calibration: site '", t, "' was not computed");
    const Tensor& y = v->second;
    if (y.dtype() != DType::kFloat32 || y.numel() == 0) continue;
    Status s = next.histograms.at(t).Observe(y.f32(), y.numel());
    if (!s.ok())
      return s.WithContext("calibration: activation '" + t + "' on samples " +
                           std::to_string(start) + ".." + std::to_string(start + count - 1));
    // Outlier attribution: per-sample max |x|, merged into the top-k list.
    if (options_.top_k > 0 && y.rank() >= 1 && y.dim(0) == count) {
      const int64_t per = y.numel() / count;
      std::vector<OutlierSample>& top = next.outliers[t];
      for (int64_t i = 0; i < count; ++i) {
        float m = 0.f;
        const float* p = y.f32() + i * per;
        for (int64_t k = 0; k < per; ++k) m = std::max(m, std::fabs(p[k]));
        top.push_back({start + i, m});
      }
      std::stable_sort(top.begin(), top.end(), [](const OutlierSample& a, const OutlierSample& b) {
        return a.max_abs > b.max_abs;
      });
      if (top.size() > static_cast<size_t>(options_.top_k)) top.resize(static_cast<size_t>(options_.top_k));
    }
  }
  next.samples += count;
  next.batches += 1;
  stats_ = std::move(next);
  next_sample_ = start + count;
  return progress();
}

Result<QuantizedModel> Calibrator::Finish() const {
  if (stats_.batches == 0)
    return FailedPrecondition("calibration: no batch has been calibrated yet; call Step() at least once");
  return ComputeQuantizedModel(plan_, stats_);
}

std::string QuantParamsToJson(const QuantizedModel& model) {
  json::Value root = json::Value::Object();
  root.Set("graph", model.plan.graph.name);
  root.Set("calibration_samples", model.stats.samples);
  json::Value sites = json::Value::Array();
  for (const QuantSite& s : model.plan.sites) {
    json::Value v = json::Value::Object();
    v.Set("tensor", s.tensor);
    v.Set("layer", s.layer);
    v.Set("role", quant::QuantRoleName(s.role));
    v.Set("bits", s.spec.bits);
    v.Set("signed", s.spec.is_signed);
    v.Set("symmetric", s.spec.scheme == quant::Scheme::kSymmetric);
    v.Set("narrow_range", s.spec.narrow_range);
    v.Set("calibrator", CalibMethodName(s.calibrator));
    if (!s.shared_from.empty()) v.Set("shared_from", s.shared_from);
    const quant::TensorQParams* p = model.Params(s.tensor);
    if (p) {
      if (p->axis) v.Set("axis", *p->axis);
      json::Value sc = json::Value::Array(), zp = json::Value::Array();
      for (float f : p->scales) sc.Append(f);
      for (int32_t z : p->zero_points) zp.Append(z);
      v.Set("scales", std::move(sc));
      v.Set("zero_points", std::move(zp));
      v.Set("qmin", p->qmin);
      v.Set("qmax", p->qmax);
    }
    auto a = model.amax.find(s.tensor);
    if (a != model.amax.end()) v.Set("amax", a->second);
    auto o = model.stats.outliers.find(s.tensor);
    if (o != model.stats.outliers.end()) {
      json::Value arr = json::Value::Array();
      for (const OutlierSample& os : o->second) {
        json::Value e = json::Value::Object();
        e.Set("sample", os.sample);
        e.Set("max_abs", os.max_abs);
        arr.Append(std::move(e));
      }
      v.Set("outliers", std::move(arr));
    }
    sites.Append(std::move(v));
  }
  root.Set("sites", std::move(sites));
  json::WriteOptions o;
  o.indent = 2;
  return json::Write(root, o);
}

}  // namespace qp::workflows
