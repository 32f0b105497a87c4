// ModelInfo: parameter and MAC counts per layer (see model_info.h for the conventions).
#include "core/session/model_info.h"

#include <cstdio>
#include <set>

#include "core/graph/executor.h"

namespace qp {
namespace {

// Shape of a value from the inferred graph: inputs, initializers, then node outputs.
const Shape* ShapeOf(const Graph& g, const std::string& name) {
  for (const ValueInfo& v : g.inputs)
    if (v.name == name) return v.has_shape ? &v.shape : nullptr;
  auto init = g.initializers.find(name);
  if (init != g.initializers.end()) return &init->second.shape();
  // Inferred shapes first: a declared graph output may keep its symbolic batch dim.
  auto inferred = g.value_info.find(name);
  if (inferred != g.value_info.end()) return inferred->second.has_shape ? &inferred->second.shape : nullptr;
  const ValueInfo* vi = g.FindValueInfo(name);
  return vi && vi->has_shape ? &vi->shape : nullptr;
}

int64_t KnownNumel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) return -1;
    n *= d;
  }
  return n;
}

// Index of the weight input of the ops whose MACs we count, or -1.
int WeightInput(const std::string& op) {
  if (op == "Conv" || op == "ConvInteger" || op == "Gemm" || op == "MatMul" ||
      op == "MatMulInteger")
    return 1;
  if (op == "QLinearConv" || op == "QLinearMatMul") return 3;
  return -1;
}

int64_t CountMacs(const Graph& g, const Node& n, const Shape* out) {
  const int w_idx = WeightInput(n.op_type);
  if (w_idx < 0 || !out || !n.has_input(static_cast<size_t>(w_idx))) return 0;
  const int64_t out_numel = KnownNumel(*out);
  if (out_numel < 0) return 0;
  const Shape* w = ShapeOf(g, n.inputs[static_cast<size_t>(w_idx)]);
  if (!w || w->empty()) return 0;
  const std::string& op = n.op_type;
  if (op == "Conv" || op == "ConvInteger" || op == "QLinearConv") {
    // Each output element uses (Cin / group) * kH * kW weights: all of W's dims but the first.
    const int64_t w_numel = KnownNumel(*w);
    if (w_numel <= 0 || (*w)[0] <= 0) return 0;
    return out_numel * (w_numel / (*w)[0]);
  }
  // Gemm / MatMul family: K is the reduced dim of the first operand.
  const Shape* a = ShapeOf(g, n.inputs[0]);
  if (!a || a->empty()) return 0;
  int64_t k = a->back();
  if (op == "Gemm") {
    const Attribute* ta = n.attr("transA");
    if (ta && ta->i != 0 && a->size() == 2) k = (*a)[0];
  }
  return k > 0 ? out_numel * k : 0;
}

}  // namespace

Result<ModelInfo> DescribeGraph(const Graph& graph, int64_t batch) {
  if (batch < 1) return InvalidArgument("model info: batch ", batch, " must be >= 1");
  QP_RETURN_IF_ERROR(ValidateGraph(graph));
  Graph g = graph;
  for (ValueInfo& v : g.inputs)
    if (v.has_shape && !v.shape.empty() && v.shape[0] == kDynamicDim) v.shape[0] = batch;
  QP_RETURN_IF_ERROR(InferShapes(&g).WithContext("model info"));
  QP_ASSIGN_OR_RETURN(std::vector<size_t> order, TopologicalOrder(g));

  ModelInfo info;
  info.name = graph.name;
  info.producer = graph.producer;
  info.opset = graph.opset;
  info.inputs = graph.inputs;
  info.outputs = graph.outputs;
  info.batch = batch;
  for (const auto& [name, t] : g.initializers) info.total_params += t.numel();
  for (size_t idx : order) {
    const Node& n = g.nodes[idx];
    LayerInfo L;
    L.name = n.name.empty() && !n.outputs.empty() ? n.outputs[0] : n.name;
    L.op = n.op_type;
    L.inputs = n.inputs;
    L.outputs = n.outputs;
    const Shape* out = n.outputs.empty() ? nullptr : ShapeOf(g, n.outputs[0]);
    if (out) L.output_shape = *out;
    std::set<std::string> seen;
    for (const std::string& in : n.inputs) {
      auto it = g.initializers.find(in);
      if (!in.empty() && it != g.initializers.end() && seen.insert(in).second) L.params += it->second.numel();
    }
    L.macs = CountMacs(g, n, out);
    info.total_macs += L.macs;
    info.op_counts[n.op_type]++;
    info.layers.push_back(std::move(L));
  }
  return info;
}

std::string FormatModelInfo(const ModelInfo& info) {
  std::string s;
  char line[512];
  std::snprintf(line, sizeof line, "model '%s' (opset %lld%s%s)\n", info.name.c_str(),
                static_cast<long long>(info.opset), info.producer.empty() ? "" : ", producer ",
                info.producer.c_str());
  s += line;
  auto dims = [](const ValueInfo& v) {
    if (!v.has_shape) return std::string("?");
    std::string d = "[";
    for (size_t i = 0; i < v.shape.size(); ++i) {
      if (i) d += ", ";
      d += v.shape[i] < 0 ? (i < v.dim_names.size() && !v.dim_names[i].empty() ? v.dim_names[i] : "?")
                          : std::to_string(v.shape[i]);
    }
    return d + "]";
  };
  for (const ValueInfo& v : info.inputs)
    s += "  input  " + v.name + " " + DTypeName(v.dtype) + " " + dims(v) + "\n";
  for (const ValueInfo& v : info.outputs)
    s += "  output " + v.name + " " + DTypeName(v.dtype) + " " + dims(v) + "\n";
  std::snprintf(line, sizeof line, "\n%-28s %-20s %-22s %12s %14s\n", "layer", "op",
                ("output (batch " + std::to_string(info.batch) + ")").c_str(), "params", "MACs");
  s += line;
  for (const LayerInfo& L : info.layers) {
    std::snprintf(line, sizeof line, "%-28.28s %-20.20s %-22.22s %12lld %14lld\n", L.name.c_str(),
                  L.op.c_str(), ShapeToString(L.output_shape).c_str(),
                  static_cast<long long>(L.params), static_cast<long long>(L.macs));
    s += line;
  }
  std::string ops;
  for (const auto& [op, count] : info.op_counts) ops += (ops.empty() ? "" : ", ") + op + " x" + std::to_string(count);
  std::snprintf(line, sizeof line, "\n%zu nodes (%s)\nparameters: %lld\nMACs per batch of %lld: %lld\n",
                info.layers.size(), ops.c_str(), static_cast<long long>(info.total_params),
                static_cast<long long>(info.batch), static_cast<long long>(info.total_macs));
  s += line;
  return s;
}

}  // namespace qp
