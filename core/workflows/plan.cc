// Quantizer placement (see plan.h). The rules, as ONNX Runtime's QDQ quantizer applies them:
//  - a node runs quantized if its op is quantizable, the config does not skip it and, for
//    Conv/Gemm/MatMul, its weight is a float constant (Gemm: alpha = beta = 1, transA = 0);
//  - pass-through ops (MaxPool, Flatten, Reshape, Identity, ...) run quantized when their input is
//    quantized and reuse the input's parameters;
//  - a value gets one activation quantizer if its producer runs quantized or any quantized consumer
//    reads it as an activation; a fused op's own output gets none (the quantizer follows the Relu /
//    Clip); every consumer then reads the same dequantized value.
#include "core/workflows/plan.h"

#include <algorithm>
#include <map>
#include <set>
#include "core/workflows/node_attrs.h"

namespace qp::workflows {
namespace {


bool IsWeightOp(const std::string& op) { return op == "Conv" || op == "Gemm" || op == "MatMul"; }

// Input slots a quantized node reads as activations.
std::vector<size_t> ActivationSlots(const Node& n) {
  if (n.op_type == "Add") return {0, 1};
  return {0};
}

}  // namespace

bool IsQuantizableOp(const std::string& op) {
  return IsWeightOp(op) || op == "Add" || op == "AveragePool" || op == "GlobalAveragePool" ||
         IsPassThroughOp(op);
}

bool IsPassThroughOp(const std::string& op) {
  return op == "MaxPool" || op == "Flatten" || op == "Reshape" || op == "Identity" ||
         op == "Squeeze" || op == "Unsqueeze" || op == "Transpose";
}

const QuantSite* QuantPlan::FindSite(const std::string& tensor) const {
  const int i = SiteIndex(tensor);
  return i < 0 ? nullptr : &sites[static_cast<size_t>(i)];
}

int QuantPlan::SiteIndex(const std::string& tensor) const {
  for (size_t i = 0; i < sites.size(); ++i)
    if (sites[i].tensor == tensor) return static_cast<int>(i);
  return -1;
}

Result<QuantPlan> PlanQuantization(const Graph& g, const QuantConfig& config) {
  QP_RETURN_IF_ERROR(ValidateGraph(g));
  QP_RETURN_IF_ERROR(ValidateQuantConfig(config, &g));
  QP_ASSIGN_OR_RETURN(std::vector<size_t> order, TopologicalOrder(g));
  QuantPlan plan;
  plan.graph = g;
  plan.config = config;
  plan.fusions = FindFusions(g);

  std::map<std::string, std::string> fused_act_of;  // op node -> activation node
  std::map<std::string, std::string> fused_op_of;   // activation node -> op node
  std::set<std::string> fused_raw;                  // op outputs that get no quantizer
  for (const Fusion& f : plan.fusions) {
    fused_act_of[f.op] = f.activation;
    fused_op_of[f.activation] = f.op;
  }
  std::map<std::string, const Node*> producer;
  std::map<std::string, std::vector<const Node*>> consumers;
  for (size_t i : order) {
    const Node& n = g.nodes[i];
    for (const std::string& o : n.outputs)
      if (!o.empty()) producer[o] = &n;
    for (const std::string& in : n.inputs)
      if (!in.empty()) consumers[in].push_back(&n);
  }
  auto is_const = [&](const std::string& v) { return g.initializers.count(v) > 0; };

  // Which nodes run quantized, apart from pass-through ones (decided in order below).
  std::map<std::string, bool> quantized;
  for (const Node& n : g.nodes) {
    bool q = IsQuantizableOp(n.op_type) && !IsPassThroughOp(n.op_type) && !config.Skipped(n.name);
    if (q && IsWeightOp(n.op_type)) {
      q = n.inputs.size() >= 2 && is_const(n.inputs[1]) &&
          g.initializers.at(n.inputs[1]).dtype() == DType::kFloat32 && !is_const(n.inputs[0]);
      if (n.op_type == "Gemm")
        q = q && IntAttr(n, "transA", 0) == 0 && FloatAttr(n, "alpha", 1.f) == 1.f &&
            FloatAttr(n, "beta", 1.f) == 1.f;
      if (n.op_type == "MatMul") q = q && g.initializers.at(n.inputs[1]).rank() == 2;
    }
    if (q && n.op_type == "Add") q = !is_const(n.inputs[0]) && !is_const(n.inputs[1]);
    quantized[n.name] = q;
    if (config.Skipped(n.name)) plan.skipped_layers.push_back(n.name);
  }
  // The activation runs inside the fused kernel.
  for (const auto& [op, act] : fused_act_of) quantized[act] = quantized[op];
  for (const Fusion& f : plan.fusions)
    if (quantized[f.op])
      for (const Node& n : g.nodes)
        if (n.name == f.op) fused_raw.insert(n.outputs[0]);

  // Activation sites, decided value by value in topological order.
  std::map<std::string, int> site_of;
  // c reads v as a quantized activation: c runs quantized, or c is a pass-through op (not skipped)
  // whose output a quantized op reads (ORT quantizes Flatten(input) -> Gemm through the Flatten).
  auto reads_as_activation = [&](const Node& c, const std::string& v) {
    if (IsPassThroughOp(c.op_type)) {
      if (config.Skipped(c.name) || c.inputs.empty() || c.inputs[0] != v || c.outputs.empty())
        return false;
      for (const Node* cc : consumers[c.outputs[0]])
        if (quantized[cc->name] && !IsPassThroughOp(cc->op_type) && !fused_op_of.count(cc->name))
          return true;
      return false;
    }
    if (!quantized[c.name] || fused_op_of.count(c.name)) return false;
    for (size_t s : ActivationSlots(c))
      if (s < c.inputs.size() && c.inputs[s] == v) return true;
    return false;
  };
  auto add_activation = [&](const std::string& v, const std::string& owner, bool owner_quantized) {
    if (fused_raw.count(v) || site_of.count(v) || is_const(v)) return;
    std::string layer = owner_quantized ? owner : "";
    if (layer.empty() && config.layers.count(v)) layer = v;  // graph input named in the config
    if (layer.empty())
      for (const Node* c : consumers[v])
        if (reads_as_activation(*c, v)) {
          layer = c->name;
          break;
        }
    if (layer.empty()) return;  // nobody quantized touches it
    QuantSite s;
    s.tensor = v;
    s.layer = layer;
    s.role = quant::QuantRole::kActivation;
    const TensorQuantConfig& tc = config.ActivationsFor(layer);
    s.spec = tc.Spec();
    s.calibrator = tc.calibrator;
    s.percentile = tc.percentile;
    site_of[v] = static_cast<int>(plan.sites.size());
    plan.sites.push_back(std::move(s));
  };

  for (const ValueInfo& in : g.inputs) add_activation(in.name, in.name, false);
  std::set<std::string> weight_done;
  for (size_t i : order) {
    const Node& n = g.nodes[i];
    if (IsPassThroughOp(n.op_type) && !config.Skipped(n.name) && n.has_input(0) &&
        site_of.count(n.inputs[0]) && !n.outputs.empty())
      quantized[n.name] = true;
    // Inputs of a quantized node that are not yet quantized (e.g. produced by a float op).
    if (quantized[n.name] && !IsPassThroughOp(n.op_type) && !fused_op_of.count(n.name))
      for (size_t s : ActivationSlots(n))
        if (n.has_input(s) && !site_of.count(n.inputs[s])) {
          const Node* p = producer.count(n.inputs[s]) ? producer[n.inputs[s]] : nullptr;
          add_activation(n.inputs[s], p ? p->name : n.inputs[s], false);
        }
    if (quantized[n.name] && IsWeightOp(n.op_type) && !weight_done.count(n.inputs[1])) {
      weight_done.insert(n.inputs[1]);
      const TensorQuantConfig& tc = config.WeightsFor(n.name);
      QuantSite s;
      s.tensor = n.inputs[1];
      s.layer = n.name;
      s.role = quant::QuantRole::kWeight;
      s.spec = tc.Spec();
      s.calibrator = tc.calibrator;
      s.percentile = tc.percentile;
      if (tc.per_channel) {
        const bool trans_b = n.op_type == "Gemm" && IntAttr(n, "transB", 0) != 0;
        s.axis = n.op_type == "Conv" || trans_b ? 0 : 1;
      }
      site_of[s.tensor] = static_cast<int>(plan.sites.size());
      plan.sites.push_back(std::move(s));
    }
    if (!quantized[n.name] || n.outputs.empty() || n.outputs[0].empty()) {
      // A float node's output still gets a quantizer when a quantized consumer reads it.
      for (const std::string& o : n.outputs)
        if (!o.empty()) add_activation(o, n.name, false);
      continue;
    }
    if (IsPassThroughOp(n.op_type)) {
      const QuantSite src = plan.sites[static_cast<size_t>(site_of[n.inputs[0]])];
      QuantSite s = src;
      s.tensor = n.outputs[0];
      s.layer = n.name;
      s.shared_from = src.shared_from.empty() ? src.tensor : src.shared_from;
      site_of[s.tensor] = static_cast<int>(plan.sites.size());
      plan.sites.push_back(std::move(s));
      plan.quantized_layers.push_back(n.name);
      continue;
    }
    plan.quantized_layers.push_back(n.name);
    // A fused op's quantizer is placed at its activation's output, under the op's name.
    if (fused_op_of.count(n.name)) {
      add_activation(n.outputs[0], fused_op_of[n.name], true);
    } else if (!fused_act_of.count(n.name)) {
      add_activation(n.outputs[0], n.name, true);
    }
  }
  return plan;
}

Result<QuantPlan> PrepareAndPlan(const Graph& graph, const QuantConfig& config) {
  QP_ASSIGN_OR_RETURN(Graph prepared, PrepareForQuantization(graph));
  return PlanQuantization(prepared, config);
}

}  // namespace qp::workflows
