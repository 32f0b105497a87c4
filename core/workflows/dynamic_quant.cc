// Dynamic quantization (see dynamic_quant.h).
#include "core/workflows/dynamic_quant.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/graph/executor.h"
#include "core/quant/observers.h"
#include "core/quant/quantize.h"
#include "core/workflows/node_attrs.h"

namespace qp::workflows {

Result<std::unique_ptr<DynamicQuantizedModel>> DynamicQuantizedModel::Create(
    const Graph& graph, const DynamicQuantOptions& options) {
  QP_RETURN_IF_ERROR(ValidateGraph(graph));
  std::set<std::string> names;
  for (const Node& n : graph.nodes) names.insert(n.name);
  for (const std::string& s : options.skip)
    if (!names.count(s))
      return NotFound("dynamic quantization: skip names '", s, "', which is not a node of graph '",
                      graph.name, "'");
  auto m = std::unique_ptr<DynamicQuantizedModel>(new DynamicQuantizedModel());
  m->graph_ = graph;
  QP_ASSIGN_OR_RETURN(m->order_, TopologicalOrder(m->graph_));
  const std::set<std::string> skip(options.skip.begin(), options.skip.end());
  for (const Node& n : m->graph_.nodes) {
    if (skip.count(n.name) || (n.op_type != "Gemm" && n.op_type != "MatMul")) continue;
    if (n.inputs.size() < 2 || !m->graph_.initializers.count(n.inputs[1])) continue;
    const Tensor& w = m->graph_.initializers.at(n.inputs[1]);
    if (w.dtype() != DType::kFloat32 || w.rank() != 2) continue;
    bool trans_b = false;
    if (n.op_type == "Gemm") {
      if (IntAttr(n, "transA", 0) != 0 || FloatAttr(n, "alpha", 1.f) != 1.f ||
          FloatAttr(n, "beta", 1.f) != 1.f)
        continue;
      trans_b = IntAttr(n, "transB", 0) != 0;
    }
    const Tensor* bias = nullptr;
    if (n.op_type == "Gemm" && n.has_input(2)) {
      auto it = m->graph_.initializers.find(n.inputs[2]);
      if (it == m->graph_.initializers.end() || it->second.dtype() != DType::kFloat32) continue;
      bias = &it->second;
    }
    const int64_t k = trans_b ? w.dim(1) : w.dim(0), nout = trans_b ? w.dim(0) : w.dim(1);
    if (bias && bias->numel() != nout && bias->numel() != 1) continue;
    // Weights as [K, N], column n = output n; symmetric int8, narrow range (MatMulInteger style).
    Tensor wt(DType::kFloat32, {k, nout});
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < nout; ++j)
        wt.f32()[i * nout + j] = trans_b ? w.f32()[j * k + i] : w.f32()[i * nout + j];
    QP_RETURN_IF_ERROR(quant::CheckFinite(wt.f32(), wt.numel(), "weight '" + n.inputs[1] + "'"));
    quant::QuantSpec spec;
    spec.bits = 8;
    spec.is_signed = true;
    spec.narrow_range = true;
    spec.scheme = quant::Scheme::kSymmetric;
    std::vector<float> amax(static_cast<size_t>(options.per_channel ? nout : 1), 0.f);
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < nout; ++j) {
        float& a = amax[options.per_channel ? static_cast<size_t>(j) : 0];
        a = std::max(a, std::fabs(wt.f32()[i * nout + j]));
      }
    Layer L;
    if (options.per_channel) {
      QP_ASSIGN_OR_RETURN(L.params, quant::ParamsFromAmaxPerAxis(amax, 1, spec));
    } else {
      QP_ASSIGN_OR_RETURN(quant::QParams p, quant::ParamsFromAmax(amax[0], spec));
      L.params = quant::TensorQParams::PerTensor(p);
    }
    std::vector<int32_t> codes(static_cast<size_t>(wt.numel()));
    QP_RETURN_IF_ERROR(quant::Quantize(wt.f32(), quant::Dims{k, nout}, L.params, codes.data()));
    L.wq = Tensor(DType::kInt8, {k, nout});
    for (int64_t i = 0; i < wt.numel(); ++i)
      L.wq.data<int8_t>()[i] = static_cast<int8_t>(codes[static_cast<size_t>(i)]);
    L.bias = bias;
    m->by_node_[n.name] = std::move(L);
    m->layers_.push_back(n.name);
  }
  return m;
}

const quant::TensorQParams* DynamicQuantizedModel::WeightParams(const std::string& layer) const {
  auto it = by_node_.find(layer);
  return it == by_node_.end() ? nullptr : &it->second.params;
}

Result<std::vector<Tensor>> DynamicQuantizedModel::Run(const std::vector<Tensor>& inputs) const {
  if (inputs.size() != graph_.inputs.size())
    return InvalidArgument("dynamic quantized run: ", inputs.size(), " inputs given; the model has ",
                           graph_.inputs.size());
  std::map<std::string, Tensor> values;
  for (size_t i = 0; i < inputs.size(); ++i) values[graph_.inputs[i].name] = inputs[i];
  auto lookup = [&](const std::string& name) -> const Tensor* {
    auto v = values.find(name);
    if (v != values.end()) return &v->second;
    auto c = graph_.initializers.find(name);
    return c == graph_.initializers.end() ? nullptr : &c->second;
  };
  Node dql;
  dql.op_type = "DynamicQuantizeLinear";
  dql.inputs = {"x"};
  dql.outputs = {"y", "y_scale", "y_zero_point"};
  for (size_t idx : order_) {
    const Node& n = graph_.nodes[idx];
    std::vector<const Tensor*> in(n.inputs.size(), nullptr);
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i].empty()) continue;
      in[i] = lookup(n.inputs[i]);
      if (!in[i]) return Internal("dynamic quantized run: value '", n.inputs[i], "' missing at ", n.Describe());
    }
    std::vector<Tensor> outs;
    auto layer = by_node_.find(n.name);
    if (layer == by_node_.end()) {
      QP_RETURN_IF_ERROR(RunNode(n, graph_.opset, in, &outs));
    } else {
      const Layer& L = layer->second;
      const Tensor& x = *in[0];
      const int64_t k = L.wq.dim(0), nout = L.wq.dim(1);
      if (x.dtype() != DType::kFloat32 || x.rank() < 1 || x.shape().back() != k)
        return InvalidArgument("dynamic quantized run: ", n.Describe(), " input ",
                               ShapeToString(x.shape()), " does not end in K = ", k);
      // The activation's quantization as ONNX DynamicQuantizeLinear defines it (uint8, affine,
      // range extended to 0, round half to even).
      std::vector<Tensor> q;
      dql.name = n.name + ".dynamic_quantize";
      QP_RETURN_IF_ERROR(RunNode(dql, graph_.opset, {&x}, &q));
      const float sx = q[1].f32()[0];
      const int32_t zx = q[2].data<uint8_t>()[0];
      const int64_t m = x.numel() / k;
      Shape shape = x.shape();
      shape.back() = nout;
      Tensor y(DType::kFloat32, shape);
      const uint8_t* xq = q[0].data<uint8_t>();
      const int8_t* wq = L.wq.data<int8_t>();
      std::vector<int32_t> acc(static_cast<size_t>(nout));
      for (int64_t r = 0; r < m; ++r) {
        std::fill(acc.begin(), acc.end(), 0);
        for (int64_t i = 0; i < k; ++i) {
          const int32_t a = static_cast<int32_t>(xq[r * k + i]) - zx;
          if (a == 0) continue;
          const int8_t* wr = wq + i * nout;
          for (int64_t j = 0; j < nout; ++j) acc[static_cast<size_t>(j)] += a * wr[j];
        }
        for (int64_t j = 0; j < nout; ++j) {
          const float sw = L.params.scales[L.params.axis ? static_cast<size_t>(j) : 0];
          float v = static_cast<float>(acc[static_cast<size_t>(j)]) * (sx * sw);
          if (L.bias) v += L.bias->f32()[L.bias->numel() == 1 ? 0 : j];
          y.f32()[r * nout + j] = v;
        }
      }
      outs.push_back(std::move(y));
    }
    for (size_t j = 0; j < n.outputs.size() && j < outs.size(); ++j)
      if (!n.outputs[j].empty()) values[n.outputs[j]] = std::move(outs[j]);
  }
  std::vector<Tensor> result;
  for (const ValueInfo& v : graph_.outputs) {
    const Tensor* t = lookup(v.name);
    if (!t) return Internal("dynamic quantized run: output '", v.name, "' was not computed");
    result.push_back(*t);
  }
  return result;
}

}  // namespace qp::workflows
