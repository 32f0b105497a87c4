// Simulation, integer execution and their comparison (see simulate.h).
#include "core/workflows/simulate.h"


#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "core/data/metrics.h"
#include "core/graph/executor.h"
#include "core/workflows/fake_quant.h"
#include "core/workflows/qdq_export.h"

namespace qp::workflows {

const char* ExecModeName(ExecMode m) {
  switch (m) {
    case ExecMode::kFloat: return "float";
    case ExecMode::kSimulated: return "simulated";
    case ExecMode::kInt8: return "int8";
  }
  return "unknown";
}

Result<std::vector<Tensor>> RunWithHook(const Graph& graph, const std::vector<Tensor>& inputs,
                                        train::TensorHook* hook,
                                        std::map<std::string, Tensor>* values_out) {
  if (inputs.size() != graph.inputs.size())
    return InvalidArgument("run: ", inputs.size(), " inputs given; the model has ", graph.inputs.size());
  QP_ASSIGN_OR_RETURN(std::vector<size_t> order, TopologicalOrder(graph));
  std::map<std::string, Tensor> values;
  for (size_t i = 0; i < inputs.size(); ++i) values[graph.inputs[i].name] = inputs[i];
  auto lookup = [&](const std::string& name) -> const Tensor* {
    auto v = values.find(name);
    if (v != values.end()) return &v->second;
    auto c = graph.initializers.find(name);
    return c == graph.initializers.end() ? nullptr : &c->second;
  };
  for (size_t idx : order) {
    const Node& n = graph.nodes[idx];
    std::vector<const Tensor*> in(n.inputs.size(), nullptr);
    std::vector<Tensor> hooked(n.inputs.size());
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i].empty()) continue;
      in[i] = lookup(n.inputs[i]);
      if (!in[i]) return Internal("run: value '", n.inputs[i], "' missing at ", n.Describe());
      train::HookSite site{&n, false, static_cast<int>(i), n.inputs[i]};
      if (hook && hook->Applies(site)) {
        QP_RETURN_IF_ERROR(hook->Forward(site, *in[i], false, &hooked[i]));
        in[i] = &hooked[i];
      }
    }
    std::vector<Tensor> outs;
    QP_RETURN_IF_ERROR(RunNode(n, graph.opset, in, &outs));
    for (size_t j = 0; j < n.outputs.size() && j < outs.size(); ++j) {
      if (n.outputs[j].empty()) continue;
      train::HookSite site{&n, true, static_cast<int>(j), n.outputs[j]};
      if (hook && hook->Applies(site)) {
        Tensor y;
        QP_RETURN_IF_ERROR(hook->Forward(site, outs[j], false, &y));
        values[n.outputs[j]] = std::move(y);
      } else {
        values[n.outputs[j]] = std::move(outs[j]);
      }
    }
  }
  std::vector<Tensor> result;
  for (const ValueInfo& v : graph.outputs) {
    const Tensor* t = lookup(v.name);
    if (!t) return Internal("run: output '", v.name, "' was not computed");
    result.push_back(*t);
  }
  if (values_out) *values_out = std::move(values);
  return result;
}

Result<std::unique_ptr<QuantizedRunner>> QuantizedRunner::Create(const QuantizedModel& model,
                                                                 int8::Backend backend) {
  std::optional<int8::Int8PlanBuilder> builder;
  QP_ASSIGN_OR_RETURN(std::unique_ptr<QuantizedRunner> r, Prepare(model, backend, &builder));
  if (builder) {
    QP_ASSIGN_OR_RETURN(int8::Int8Executor e, builder->Finish());
    r->SetInt8Plan(std::move(e));
  }
  return r;
}

Result<std::unique_ptr<QuantizedRunner>> QuantizedRunner::Prepare(const QuantizedModel& model, int8::Backend backend,
                                                                  std::optional<int8::Int8PlanBuilder>* int8_plan) {
  int8_plan->reset();
  auto r = std::unique_ptr<QuantizedRunner>(new QuantizedRunner());
  r->model_ = model;
  QP_ASSIGN_OR_RETURN(std::shared_ptr<FakeQuantHook> hook, FakeQuantHook::FromQuantizedModel(model));
  r->hook_ = hook;
  r->num_outputs_ = model.plan.graph.outputs.size();
  bool all8 = true;
  for (const QuantSite& s : model.plan.sites) all8 = all8 && s.spec.bits == 8;
  if (all8) {
    Result<Graph> qdq = BuildQdqGraph(model, QdqLayout::kOrt);
    if (qdq.ok()) {
      Graph g = std::move(qdq).value();
      std::set<std::string> outs;
      for (const ValueInfo& v : g.outputs) outs.insert(v.name);
      for (const QuantSite& s : model.plan.sites) {
        if (s.role != quant::QuantRole::kActivation) continue;
        const std::string dq = outs.count(s.tensor) ? s.tensor : s.tensor + "_DequantizeLinear_Output";
        r->int8_site_outputs_.push_back(s.tensor);
        if (outs.count(dq)) continue;
        ValueInfo v;
        v.name = dq;
        v.has_shape = false;
        g.outputs.push_back(v);
        outs.insert(dq);
      }
      int8::Int8Options o;
      o.backend = backend;
      QP_ASSIGN_OR_RETURN(int8::Int8PlanBuilder b, int8::Int8PlanBuilder::Start(std::move(g), o));
      int8_plan->emplace(std::move(b));
    }
  }
  return r;
}

Result<std::vector<Tensor>> QuantizedRunner::Run(ExecMode mode, const Tensor& input) const {
  QP_ASSIGN_OR_RETURN(Tensor x, AdaptInput(model_.plan.graph, input));
  switch (mode) {
    case ExecMode::kFloat: return RunWithHook(model_.plan.graph, {x}, nullptr);
    case ExecMode::kSimulated: return RunWithHook(model_.plan.graph, {x}, hook_.get());
    case ExecMode::kInt8: {
      if (!int8_) {
        for (const QuantSite& s : model_.plan.sites)
          if (s.spec.bits != 8)
            return FailedPrecondition("int8 execution: site '", s.tensor, "' of layer '", s.layer,
                                      "' is ", s.spec.bits, "-bit; the int8 kernels need 8 bits "
                                      "everywhere (use simulation for other widths)");
        return FailedPrecondition("int8 execution: the QDQ graph could not be built");
      }
      QP_ASSIGN_OR_RETURN(std::vector<Tensor> outs, int8_->Run(std::vector<Tensor>{x}));
      outs.resize(num_outputs_);
      return outs;
    }
  }
  return InvalidArgument("run: unknown mode");
}

namespace {

// Wraps the fake-quant hook: after a site's fake-quant, the value is replaced by a forced one.
class ForcingHook : public train::TensorHook {
 public:
  ForcingHook(train::TensorHook* inner, const std::map<std::string, Tensor>* forced,
              std::map<std::string, Tensor>* own)
      : inner_(inner), forced_(forced), own_(own) {}
  bool Applies(const train::HookSite& s) const override {
    return inner_->Applies(s) || (s.output && forced_->count(s.value));
  }
  Status Forward(const train::HookSite& s, const Tensor& x, bool training, Tensor* y) override {
    if (inner_->Applies(s)) {
      QP_RETURN_IF_ERROR(inner_->Forward(s, x, training, y));
    } else {
      *y = x;
    }
    if (s.output) {
      auto it = forced_->find(s.value);
      if (it != forced_->end() && it->second.numel() == y->numel()) {
        (*own_)[s.value] = *y;  // this layer's own simulated output, before consumers see `forced`
        *y = it->second.Reshaped(y->shape());
      }
    }
    return Status::Ok();
  }
  Status Backward(const train::HookSite&, const Tensor&, const Tensor& dy, Tensor* dx) override {
    *dx = dy;
    return Status::Ok();
  }

 private:
  train::TensorHook* inner_;
  const std::map<std::string, Tensor>* forced_;
  std::map<std::string, Tensor>* own_;
};

}  // namespace

Result<std::map<std::string, Tensor>> QuantizedRunner::SimulatedSiteValues(const Tensor& input) const {
  static const std::map<std::string, Tensor> none;
  return SimulatedSiteValues(input, none);
}

Result<std::map<std::string, Tensor>> QuantizedRunner::SimulatedSiteValues(
    const Tensor& input, const std::map<std::string, Tensor>& forced) const {
  QP_ASSIGN_OR_RETURN(Tensor x, AdaptInput(model_.plan.graph, input));
  std::map<std::string, Tensor> values;
  std::map<std::string, Tensor> own;
  ForcingHook hook(hook_.get(), &forced, &own);
  QP_RETURN_IF_ERROR(RunWithHook(model_.plan.graph, {x}, &hook, &values).status());
  for (auto& [name, t] : own) values[name] = std::move(t);
  std::set<std::string> graph_inputs;
  for (const ValueInfo& v : model_.plan.graph.inputs) graph_inputs.insert(v.name);
  std::map<std::string, Tensor> out;
  for (const QuantSite& s : model_.plan.sites) {
    if (s.role != quant::QuantRole::kActivation) continue;
    auto it = values.find(s.tensor);
    if (it == values.end()) continue;
    Tensor t = it->second;
    // Graph-input sites are quantized at their consumers' inputs: apply the same fake-quant here.
    if (graph_inputs.count(s.tensor)) {
      const quant::TensorQParams* p = model_.Params(s.tensor);
      quant::Dims d(t.shape().begin(), t.shape().end());
      QP_RETURN_IF_ERROR(quant::FakeQuant(it->second.f32(), d, *p, t.f32()));
    }
    out[s.tensor] = std::move(t);
  }
  return out;
}

Result<std::map<std::string, Tensor>> QuantizedRunner::Int8SiteValues(const Tensor& input) const {
  if (!int8_) return FailedPrecondition("int8 execution: the model has sites that are not 8-bit");
  QP_ASSIGN_OR_RETURN(Tensor x, AdaptInput(model_.plan.graph, input));
  QP_ASSIGN_OR_RETURN(std::vector<Tensor> outs, int8_->Run(std::vector<Tensor>{x}));
  std::map<std::string, Tensor> out;
  // Extra outputs follow the graph outputs, skipping sites that are graph outputs themselves.
  std::set<std::string> graph_outs;
  for (const ValueInfo& v : model_.plan.graph.outputs) graph_outs.insert(v.name);
  size_t k = num_outputs_;
  for (const std::string& t : int8_site_outputs_) {
    if (graph_outs.count(t)) {
      for (size_t i = 0; i < model_.plan.graph.outputs.size(); ++i)
        if (model_.plan.graph.outputs[i].name == t) out[t] = outs[i];
      continue;
    }
    if (k < outs.size()) out[t] = outs[k++];
  }
  return out;
}

Result<SimIntReport> CompareSimulatedToInt8(const QuantizedRunner& runner, const Tensor& input) {
  QP_ASSIGN_OR_RETURN(auto sim, runner.SimulatedSiteValues(input));
  QP_ASSIGN_OR_RETURN(auto itg, runner.Int8SiteValues(input));
  QP_ASSIGN_OR_RETURN(auto iso, runner.SimulatedSiteValues(input, itg));
  SimIntReport r;
  r.samples = input.rank() > 0 ? input.dim(0) : 0;
  for (const QuantSite& s : runner.model().plan.sites) {
    if (s.role != quant::QuantRole::kActivation) continue;
    auto a = sim.find(s.tensor);
    auto b = itg.find(s.tensor);
    if (a == sim.end() || b == itg.end()) continue;
    if (a->second.numel() != b->second.numel())
      return Internal("sim vs int8: site '", s.tensor, "' has ", a->second.numel(), " vs ",
                      b->second.numel(), " values");
    const quant::TensorQParams* p = runner.model().Params(s.tensor);
    SiteDiff d;
    d.tensor = s.tensor;
    d.layer = s.layer;
    d.scale = p ? p->scales[0] : 1.0;
    d.count = a->second.numel();
    double sum = 0;
    int64_t within = 0;
    for (int64_t i = 0; i < d.count; ++i) {
      const double q = std::fabs(static_cast<double>(a->second.f32()[i]) - b->second.f32()[i]) / d.scale;
      d.max_quanta = std::max(d.max_quanta, q);
      sum += q;
      within += q <= 1.0 + 1e-3;
    }
    d.mean_quanta = d.count ? sum / d.count : 0;
    auto c = iso.find(s.tensor);
    if (c != iso.end() && c->second.numel() == d.count) {
      double isum = 0;
      for (int64_t i = 0; i < d.count; ++i) {
        const double q = std::fabs(static_cast<double>(c->second.f32()[i]) - b->second.f32()[i]) / d.scale;
        d.isolated_max_quanta = std::max(d.isolated_max_quanta, q);
        isum += q;
      }
      d.isolated_mean_quanta = d.count ? isum / d.count : 0;
    }
    d.frac_within_one = d.count ? static_cast<double>(within) / d.count : 1;
    r.sites.push_back(d);
  }
  return r;
}

std::string SimIntReportToString(const SimIntReport& report) {
  std::ostringstream os;
  os << "simulation vs int8 per activation site (" << report.samples
     << " samples; quanta = |diff| / scale; iso = layer fed the int8 inputs)\n";
  char line[256];
  std::snprintf(line, sizeof(line), "%-28s %-20s %11s %8s %8s %8s %8s %8s\n", "tensor", "layer",
                "scale", "max", "mean", "<=1q", "iso.max", "iso.mean");
  os << line;
  for (const SiteDiff& d : report.sites) {
    std::snprintf(line, sizeof(line), "%-28s %-20s %11.5g %8.3f %8.4f %7.2f%% %8.3f %8.4f\n",
                  d.tensor.c_str(), d.layer.c_str(), d.scale, d.max_quanta, d.mean_quanta,
                  100.0 * d.frac_within_one, d.isolated_max_quanta, d.isolated_mean_quanta);
    os << line;
  }
  return os.str();
}

Result<AccuracyResult> EvaluateAccuracy(const QuantizedRunner& runner, ExecMode mode,
                                        const data::Dataset& ds, int64_t max_samples, int64_t batch) {
  if (batch < 1) return InvalidArgument("evaluate: batch ", batch, " must be >= 1");
  if (ds.size() <= 0) return InvalidArgument("evaluate: the dataset is empty");
  const int64_t n = max_samples > 0 ? std::min(max_samples, ds.size()) : ds.size();
  AccuracyResult r;
  double loss_sum = 0;
  for (int64_t start = 0; start < n; start += batch) {
    const int64_t count = std::min(batch, n - start);
    QP_ASSIGN_OR_RETURN(data::Dataset b, data::SliceDataset(ds, start, count));
    QP_ASSIGN_OR_RETURN(std::vector<Tensor> outs, runner.Run(mode, b.images));
    QP_RETURN_IF_ERROR(data::AccumulateTopOne(outs[0], b.labels.data<int64_t>(), count, ds.num_classes,
                                              &r.correct, &loss_sum));
    r.samples += count;
  }
  r.accuracy = r.samples ? static_cast<double>(r.correct) / r.samples : 0;
  r.loss = r.samples ? loss_sum / r.samples : 0;
  return r;
}

}  // namespace qp::workflows
