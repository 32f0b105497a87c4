// QDQ graph construction (see qdq_export.h). Naming follows ONNX Runtime's quantizer:
// "<t>_quantized", "<t>_scale", "<t>_zero_point", "<t>_DequantizeLinear_Output".
#include "core/workflows/qdq_export.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/onnx/onnx.h"

namespace qp::workflows {

const char* QdqLayoutName(QdqLayout l) { return l == QdqLayout::kOrt ? "ort" : "trt"; }

Result<QdqLayout> ParseQdqLayout(const std::string& name) {
  if (name == "ort") return QdqLayout::kOrt;
  if (name == "trt" || name == "tensorrt") return QdqLayout::kTensorRt;
  return InvalidArgument("QDQ layout '", name, "' is not known; choose ort or trt");
}

namespace {

Node MakeNode(const std::string& name, const std::string& op, std::vector<std::string> in,
              std::vector<std::string> out) {
  Node n;
  n.name = name;
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

Tensor ZeroPoints(bool is_signed, const quant::TensorQParams& p) {
  const bool per_axis = p.axis.has_value();
  Shape shape = per_axis ? Shape{p.num_channels()} : Shape{};
  Tensor t(is_signed ? DType::kInt8 : DType::kUInt8, shape);
  for (int64_t c = 0; c < p.num_channels() && c < t.numel(); ++c) {
    if (is_signed)
      t.data<int8_t>()[c] = static_cast<int8_t>(p.zero_points[static_cast<size_t>(c)]);
    else
      t.data<uint8_t>()[c] = static_cast<uint8_t>(p.zero_points[static_cast<size_t>(c)]);
  }
  return t;
}

Tensor Scales(const quant::TensorQParams& p) {
  if (!p.axis) return Tensor::Scalar(p.scales[0]);
  return Tensor::FromVector<float>({p.num_channels()}, p.scales);
}

}  // namespace

Result<Graph> BuildQdqGraph(const QuantizedModel& model, QdqLayout layout) {
  const QuantPlan& plan = model.plan;
  const Graph& src = plan.graph;
  // Everything must be 8-bit: opset 13 has no narrower integer types.
  for (const QuantSite& s : plan.sites) {
    if (s.spec.bits != 8)
      return Unimplemented("QDQ export: ", quant::QuantRoleName(s.role), " '", s.tensor,
                           "' of layer '", s.layer, "' is ", s.spec.bits,
                           "-bit; opset 13 QDQ stores only 8-bit integers (4-bit needs opset 21's "
                           "int4 types, not supported here)");
    if (s.role == quant::QuantRole::kWeight &&
        (!s.spec.is_signed || s.spec.scheme != quant::Scheme::kSymmetric))
      return InvalidArgument("QDQ export: weight '", s.tensor, "' of layer '", s.layer, "' is ",
                             quant::SpecToString(s.spec), "; the int8 kernels need signed "
                             "symmetric weights (zero point 0)");
    if (layout == QdqLayout::kTensorRt && s.role == quant::QuantRole::kActivation &&
        (!s.spec.is_signed || s.spec.scheme != quant::Scheme::kSymmetric))
      return InvalidArgument("QDQ export (TensorRT layout): activation '", s.tensor, "' of layer '",
                             s.layer, "' is ", quant::SpecToString(s.spec),
                             "; TensorRT needs signed symmetric activations (zero point 0); use "
                             "the trt_w8a8 preset");
    if (!model.Params(s.tensor))
      return FailedPrecondition("QDQ export: site '", s.tensor, "' has no parameters");
  }
  QP_ASSIGN_OR_RETURN(std::vector<size_t> order, TopologicalOrder(src));
  Graph g;
  g.name = src.name + "_qdq";
  g.opset = std::max<int64_t>(src.opset, 13);
  g.ir_version = src.ir_version;
  g.producer = "qplay";
  g.inputs = src.inputs;
  g.outputs = src.outputs;
  g.initializers = src.initializers;
  std::set<std::string> outputs;
  for (const ValueInfo& v : src.outputs) outputs.insert(v.name);
  std::set<std::string> quantized(plan.quantized_layers.begin(), plan.quantized_layers.end());

  std::map<std::string, std::string> remap;  // value -> what consumers read instead
  std::map<std::string, std::string> rename_output;  // graph output produced under another name
  std::vector<Node> head;  // Q/DQ of inputs and weights, before the first node

  auto add_activation_qdq = [&](const QuantSite& s, const std::string& from, std::vector<Node>* out,
                                const std::string& dq_out) {
    const quant::TensorQParams& p = *model.Params(s.tensor);
    const std::string sn = s.tensor + "_scale", zn = s.tensor + "_zero_point";
    g.initializers[sn] = Tensor::Scalar(p.scales[0]);
    g.initializers[zn] = ZeroPoints(s.spec.is_signed, p);
    out->push_back(MakeNode(s.tensor + "_QuantizeLinear", "QuantizeLinear", {from, sn, zn},
                            {s.tensor + "_quantized"}));
    out->push_back(MakeNode(s.tensor + "_DequantizeLinear", "DequantizeLinear",
                            {s.tensor + "_quantized", sn, zn}, {dq_out}));
  };

  // Weights.
  for (const QuantSite& s : plan.sites) {
    if (s.role != quant::QuantRole::kWeight) continue;
    const quant::TensorQParams& p = *model.Params(s.tensor);
    const Tensor& w = src.initializers.at(s.tensor);
    const std::string sn = s.tensor + "_scale", zn = s.tensor + "_zero_point";
    g.initializers[sn] = Scales(p);
    g.initializers[zn] = ZeroPoints(true, p);
    const std::string dq = s.tensor + "_DequantizeLinear_Output";
    Node d;
    if (layout == QdqLayout::kOrt) {
      const quant::Dims dims(w.shape().begin(), w.shape().end());
      std::vector<int32_t> codes(static_cast<size_t>(w.numel()));
      QP_RETURN_IF_ERROR(quant::Quantize(w.f32(), dims, p, codes.data()));
      Tensor q(DType::kInt8, w.shape());
      for (int64_t i = 0; i < w.numel(); ++i)
        q.data<int8_t>()[i] = static_cast<int8_t>(codes[static_cast<size_t>(i)]);
      g.initializers[s.tensor + "_quantized"] = std::move(q);
      d = MakeNode(s.tensor + "_DequantizeLinear", "DequantizeLinear",
                   {s.tensor + "_quantized", sn, zn}, {dq});
    } else {
      head.push_back(MakeNode(s.tensor + "_QuantizeLinear", "QuantizeLinear", {s.tensor, sn, zn},
                              {s.tensor + "_quantized"}));
      if (p.axis) head.back().attrs["axis"] = Attribute::Int(*p.axis);
      d = MakeNode(s.tensor + "_DequantizeLinear", "DequantizeLinear",
                   {s.tensor + "_quantized", sn, zn}, {dq});
    }
    if (p.axis) d.attrs["axis"] = Attribute::Int(*p.axis);
    head.push_back(std::move(d));
    remap[s.tensor] = dq;
  }
  // Biases of quantized Conv / Gemm (ORT layout): int32 at input scale x weight scale.
  if (layout == QdqLayout::kOrt) {
    for (const Node& n : src.nodes) {
      if (!quantized.count(n.name) || (n.op_type != "Conv" && n.op_type != "Gemm") ||
          !n.has_input(2) || !src.initializers.count(n.inputs[2]))
        continue;
      const QuantSite* ws = plan.FindSite(n.inputs[1]);
      const QuantSite* xs = plan.FindSite(n.inputs[0]);
      if (!ws || !xs) continue;
      const quant::TensorQParams& wp = *model.Params(ws->tensor);
      const float sx = model.Params(xs->tensor)->scales[0];
      const Tensor& b = src.initializers.at(n.inputs[2]);
      if (b.dtype() != DType::kFloat32) continue;
      const int64_t c = b.numel();
      if (wp.axis && wp.num_channels() != c)
        return InvalidArgument("QDQ export: ", n.Describe(), " bias has ", c, " values but the weight has ",
                               wp.num_channels(), " channel scales");
      Tensor bq(DType::kInt32, {c}), bs(DType::kFloat32, {c}), bz(DType::kInt32, {c});
      for (int64_t i = 0; i < c; ++i) {
        const float s = sx * wp.scales[wp.axis ? static_cast<size_t>(i) : 0];
        bs.f32()[i] = s;
        double q = std::nearbyint(static_cast<double>(b.f32()[i]) / s);
        q = std::min(std::max(q, -2147483648.0), 2147483647.0);
        bq.data<int32_t>()[i] = static_cast<int32_t>(q);
      }
      const std::string base = n.inputs[2] + (n.name.empty() ? "" : "_" + n.name);
      g.initializers[base + "_quantized"] = std::move(bq);
      g.initializers[base + "_quantized_scale"] = std::move(bs);
      g.initializers[base + "_quantized_zero_point"] = std::move(bz);
      Node d = MakeNode(base + "_DequantizeLinear", "DequantizeLinear",
                        {base + "_quantized", base + "_quantized_scale", base + "_quantized_zero_point"},
                        {base + "_DequantizeLinear_Output"});
      d.attrs["axis"] = Attribute::Int(0);
      head.push_back(std::move(d));
      remap["bias:" + n.name] = base + "_DequantizeLinear_Output";
    }
  }
  // Graph inputs.
  for (const ValueInfo& in : src.inputs) {
    const QuantSite* s = plan.FindSite(in.name);
    if (!s) continue;
    add_activation_qdq(*s, in.name, &head, in.name + "_DequantizeLinear_Output");
    remap[in.name] = in.name + "_DequantizeLinear_Output";
  }
  g.nodes = head;
  for (size_t i : order) {
    Node n = src.nodes[i];
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      if (k == 2 && remap.count("bias:" + n.name)) {
        n.inputs[k] = remap["bias:" + n.name];
        continue;
      }
      auto it = remap.find(n.inputs[k]);
      if (it != remap.end()) n.inputs[k] = it->second;
    }
    std::vector<Node> after;
    for (std::string& o : n.outputs) {
      if (o.empty()) continue;
      const QuantSite* s = plan.FindSite(o);
      if (!s || s->role != quant::QuantRole::kActivation) continue;
      if (outputs.count(o)) {
        // Keep the graph output's name on the dequantized value.
        const std::string raw = o + "_float";
        add_activation_qdq(*s, raw, &after, o);
        o = raw;
      } else {
        add_activation_qdq(*s, o, &after, o + "_DequantizeLinear_Output");
        remap[o] = o + "_DequantizeLinear_Output";
      }
    }
    g.nodes.push_back(std::move(n));
    for (Node& a : after) g.nodes.push_back(std::move(a));
  }
  // Drop initializers nothing reads any more (the float weights and biases in the ORT layout).
  std::set<std::string> used;
  for (const Node& n : g.nodes)
    for (const std::string& in : n.inputs) used.insert(in);
  for (auto it = g.initializers.begin(); it != g.initializers.end();)
    it = used.count(it->first) || outputs.count(it->first) ? std::next(it) : g.initializers.erase(it);
  QP_RETURN_IF_ERROR(ValidateGraph(g));
  return g;
}

Result<std::string> ExportQdqOnnx(const QuantizedModel& model, QdqLayout layout) {
  QP_ASSIGN_OR_RETURN(Graph g, BuildQdqGraph(model, layout));
  return onnx::ExportModel(g);
}

}  // namespace qp::workflows
