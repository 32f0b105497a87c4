// BatchNorm folding and fusion detection (see prepare.h).
#include "core/workflows/prepare.h"

#include <cmath>
#include <map>
#include "core/workflows/node_attrs.h"

namespace qp::workflows {
namespace {

// Consumers of every value: (node index, input slot).
std::map<std::string, std::vector<std::pair<size_t, size_t>>> Consumers(const Graph& g) {
  std::map<std::string, std::vector<std::pair<size_t, size_t>>> c;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (size_t s = 0; s < g.nodes[i].inputs.size(); ++s)
      if (!g.nodes[i].inputs[s].empty()) c[g.nodes[i].inputs[s]].push_back({i, s});
  return c;
}

bool IsGraphOutput(const Graph& g, const std::string& v) {
  for (const ValueInfo& o : g.outputs)
    if (o.name == v) return true;
  return false;
}


const Tensor* ConstF32(const Graph& g, const std::string& name) {
  auto it = g.initializers.find(name);
  if (it == g.initializers.end() || it->second.dtype() != DType::kFloat32) return nullptr;
  return &it->second;
}

}  // namespace

Result<Graph> PrepareForQuantization(const Graph& graph, PrepareReport* report) {
  QP_RETURN_IF_ERROR(ValidateGraph(graph));
  Graph g = graph;
  bool changed = true;
  while (changed) {
    changed = false;
    auto consumers = Consumers(g);
    for (size_t bi = 0; bi < g.nodes.size(); ++bi) {
      const Node& bn = g.nodes[bi];
      if (bn.op_type != "BatchNormalization" || bn.inputs.size() < 5) continue;
      // The producer of X must be a Conv / Gemm whose output feeds only this BN.
      const std::string& x = bn.inputs[0];
      size_t pi = g.nodes.size();
      for (size_t i = 0; i < g.nodes.size(); ++i)
        if (!g.nodes[i].outputs.empty() && g.nodes[i].outputs[0] == x) pi = i;
      if (pi == g.nodes.size()) continue;
      Node& prod = g.nodes[pi];
      const bool conv = prod.op_type == "Conv";
      const bool gemm = prod.op_type == "Gemm" && IntAttr(prod, "transA", 0) == 0 &&
                        FloatAttr(prod, "alpha", 1.f) == 1.f && FloatAttr(prod, "beta", 1.f) == 1.f;
      if (!conv && !gemm) continue;
      if (consumers[x].size() != 1 || IsGraphOutput(g, x)) continue;
      if (prod.inputs.size() < 2) continue;
      const Tensor* w = ConstF32(g, prod.inputs[1]);
      if (!w || w->rank() < 2) continue;
      const bool trans_b = gemm && IntAttr(prod, "transB", 0) != 0;
      // Output channel axis of the weight: 0 for Conv and Gemm transB=1, 1 for Gemm transB=0.
      const int axis = conv || trans_b ? 0 : 1;
      if (gemm && w->rank() != 2) continue;
      const int64_t cout = w->dim(axis);
      const Tensor* p[4];
      for (int k = 0; k < 4; ++k) {
        p[k] = ConstF32(g, bn.inputs[static_cast<size_t>(k) + 1]);
        if (!p[k])
          return InvalidArgument("prepare: ", bn.Describe(), " input ", k + 1, " '",
                                 bn.inputs[static_cast<size_t>(k) + 1],
                                 "' is not a float32 constant; BatchNorm folding needs constant "
                                 "statistics and affine parameters");
        if (p[k]->numel() != cout)
          return InvalidArgument("prepare: ", bn.Describe(), " parameter '",
                                 bn.inputs[static_cast<size_t>(k) + 1], "' has ", p[k]->numel(),
                                 " values; the preceding ", prod.Describe(), " has ", cout,
                                 " output channels");
      }
      const double eps = FloatAttr(bn, "epsilon", 1e-5f);
      std::vector<double> mul(static_cast<size_t>(cout)), add(static_cast<size_t>(cout));
      for (int64_t c = 0; c < cout; ++c) {
        const double var = p[3]->f32()[c];
        if (!(var + eps > 0) || !std::isfinite(var))
          return InvalidArgument("prepare: ", bn.Describe(), " channel ", c, ": var + epsilon = ",
                                 var + eps, "; it must be finite and > 0");
        mul[static_cast<size_t>(c)] = p[0]->f32()[c] / std::sqrt(var + eps);
        add[static_cast<size_t>(c)] = p[1]->f32()[c] - p[2]->f32()[c] * mul[static_cast<size_t>(c)];
      }
      // New weight and bias under fresh names (the originals may be shared).
      Tensor nw = *w;
      float* wd = nw.f32();
      if (axis == 0) {
        const int64_t inner = nw.numel() / cout;
        for (int64_t c = 0; c < cout; ++c)
          for (int64_t i = 0; i < inner; ++i)
            wd[c * inner + i] = static_cast<float>(wd[c * inner + i] * mul[static_cast<size_t>(c)]);
      } else {
        const int64_t rows = nw.dim(0);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < cout; ++c)
            wd[r * cout + c] = static_cast<float>(wd[r * cout + c] * mul[static_cast<size_t>(c)]);
      }
      Tensor nb(DType::kFloat32, {cout});
      const Tensor* ob = prod.has_input(2) ? ConstF32(g, prod.inputs[2]) : nullptr;
      if (prod.has_input(2) && (!ob || ob->numel() != cout)) continue;  // non-constant bias: keep BN
      for (int64_t c = 0; c < cout; ++c) {
        const double b = ob ? ob->f32()[c] : 0.0;
        nb.f32()[c] = static_cast<float>(b * mul[static_cast<size_t>(c)] + add[static_cast<size_t>(c)]);
      }
      const std::string wname = prod.name + ".weight_folded";
      const std::string bname = prod.name + ".bias_folded";
      g.initializers[wname] = std::move(nw);
      g.initializers[bname] = std::move(nb);
      prod.inputs[1] = wname;
      if (prod.inputs.size() < 3) prod.inputs.resize(3);
      prod.inputs[2] = bname;
      prod.outputs[0] = bn.outputs[0];
      if (report) report->folded_batchnorms.push_back(bn.name + " -> " + prod.name);
      g.value_info.erase(x);
      g.nodes.erase(g.nodes.begin() + static_cast<std::ptrdiff_t>(bi));
      changed = true;
      break;
    }
  }
  // Drop initializers nothing uses any more (the unfolded weights and BN parameters).
  auto consumers = Consumers(g);
  for (auto it = g.initializers.begin(); it != g.initializers.end();) {
    if (!consumers.count(it->first) && !IsGraphOutput(g, it->first))
      it = g.initializers.erase(it);
    else
      ++it;
  }
  QP_RETURN_IF_ERROR(ValidateGraph(g));
  return g;
}

std::vector<Fusion> FindFusions(const Graph& g) {
  std::vector<Fusion> out;
  auto consumers = Consumers(g);
  for (const Node& n : g.nodes) {
    if (n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "MatMul" && n.op_type != "Add")
      continue;
    if (n.outputs.empty() || IsGraphOutput(g, n.outputs[0])) continue;
    const auto& cs = consumers[n.outputs[0]];
    if (cs.size() != 1) continue;
    const Node& a = g.nodes[cs[0].first];
    bool act = a.op_type == "Relu";
    if (a.op_type == "Clip") {
      // Clip(0, max > 0) with constant bounds (opset 11+ inputs) or attributes (opset 6).
      auto bound = [&](size_t slot, const char* attr, float def) -> std::pair<bool, float> {
        if (a.has_input(slot)) {
          const Tensor* t = ConstF32(g, a.inputs[slot]);
          if (!t || t->numel() != 1) return {false, 0.f};
          return {true, t->f32()[0]};
        }
        return {true, FloatAttr(a, attr, def)};
      };
      auto lo = bound(1, "min", -3.4e38f), hi = bound(2, "max", 3.4e38f);
      act = lo.first && hi.first && lo.second == 0.f && hi.second > 0.f;
    }
    if (act) out.push_back({n.name, a.name, a.outputs[0]});
  }
  return out;
}

}  // namespace qp::workflows
